//! The OAuth steps checks are built from: PKCE pairs, authorize URLs, code redemption,
//! the device flow, refresh, and bearer calls. Each sends through the check's [`Ctx`], so
//! every step is in the transcript. Steps assert only what every caller needs (a 200
//! where tokens are expected); the checks assert their clause.

use std::time::Duration;

use profile::{App, AppKind, User};
use rand::Rng as _;
use serde_json::Value;
use sha2::Digest as _;
use url::Url;

use crate::check::{Ctx, str_of};
use crate::client::{Req, Resp};
use crate::drivers::enc;
use crate::outcome::Problem;

/// A PKCE verifier and its S256 challenge (RFC 7636).
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new(ctx: &mut Ctx) -> Pkce {
        const UNRESERVED: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
        let mut rng = rand::rng();
        let verifier: String = (0..64)
            .map(|_| UNRESERVED[rng.random_range(0..UNRESERVED.len())] as char)
            .collect();
        let challenge = s256(&verifier);
        ctx.volatile(&verifier, "code-verifier");
        ctx.volatile(&challenge, "code-challenge");
        Pkce {
            verifier,
            challenge,
        }
    }
}

pub fn s256(verifier: &str) -> String {
    let digest = sha2::Sha256::digest(verifier.as_bytes());
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, digest)
}

/// A random `state`, registered for redaction.
pub fn state(ctx: &mut Ctx) -> String {
    let s: String = format!("st{:016x}", rand::rng().random::<u64>());
    ctx.volatile(&s, "state");
    s
}

/// The client-authentication parameters of an app: `client_id`, plus `client_secret`
/// for a confidential app (PP-APP-2).
pub fn client_auth(app: &App) -> Vec<(String, String)> {
    let mut p = vec![("client_id".to_owned(), app.client_id.clone())];
    if app.kind == AppKind::Confidential
        && let Some(s) = &app.secret
    {
        p.push(("client_secret".to_owned(), s.expose().to_owned()));
    }
    p
}

/// Form pairs: the given ones followed by the app's client authentication.
pub fn with_auth(app: &App, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    v.extend(client_auth(app));
    v
}

/// An authorize path with its query, parameters in the given order.
pub fn authorize_path(ctx: &Ctx, params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    format!("{}?{}", ctx.path("authorize"), q.join("&"))
}

/// The standard authorize request of an app (PP-AUTHZ-1).
pub fn standard_authorize(
    ctx: &Ctx,
    app: &App,
    pkce: &Pkce,
    scope: Option<&str>,
    state: Option<&str>,
) -> String {
    let redirect = app
        .redirect_uris
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let mut p = vec![
        ("response_type", "code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", redirect),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(s) = scope {
        p.push(("scope", s));
    }
    if let Some(s) = state {
        p.push(("state", s));
    }
    authorize_path(ctx, &p)
}

/// A query parameter of a URL.
pub fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Has the primary user approve (or deny) through the run's driver.
pub async fn decide(ctx: &mut Ctx, path: &str, user: &User, approve: bool) -> Result<Url, Problem> {
    let driver = ctx.env.driver.clone();
    driver.authorize(ctx, path, user, approve).await
}

/// Authorizes `app` as the primary user and returns the code from the redirect.
pub async fn authorize_code(
    ctx: &mut Ctx,
    app: &App,
    pkce: &Pkce,
    scope: Option<&str>,
) -> Result<String, Problem> {
    let path = standard_authorize(ctx, app, pkce, scope, None);
    let user = ctx.env.roles.user.clone();
    let loc = decide(ctx, &path, &user, true).await?;
    let code = query(&loc, "code").ok_or_else(|| {
        Problem::fail(format!(
            "PP-AUTHZ-3: the approval redirect {loc} carries no `code`"
        ))
    })?;
    ctx.volatile(&code, "code");
    Ok(code)
}

/// Redeems a code at the token endpoint (PP-TOKEN-1).
pub async fn redeem(
    ctx: &mut Ctx,
    app: &App,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Resp, Problem> {
    let form = with_auth(
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
    );
    let token = ctx.path("token");
    ctx.send(Req::post(token).form(form)).await
}

/// An access token, a refresh token and their scope.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub scope: String,
}

impl Tokens {
    pub fn from(resp: &Resp, body: &Value) -> Result<Tokens, Problem> {
        Ok(Tokens {
            access: str_of(resp, body, "access_token")?.to_owned(),
            refresh: str_of(resp, body, "refresh_token")?.to_owned(),
            scope: body
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

/// Authorizes `app` for a new code (PKCE S256, the user approving) and redeems it at its
/// first redirect URI: the token response as it came, for checks that look at it.
pub async fn redeem_new_code(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<Resp, Problem> {
    let pkce = Pkce::new(ctx);
    let code = authorize_code(ctx, app, &pkce, scope).await?;
    let redirect = app.redirect_uris.first().cloned().unwrap_or_default();
    redeem(ctx, app, &code, &redirect, &pkce.verifier).await
}

/// The full authorization-code flow for `app` as the primary user.
pub async fn code_tokens(ctx: &mut Ctx, app: &App, scope: Option<&str>) -> Result<Tokens, Problem> {
    let r = redeem_new_code(ctx, app, scope).await?;
    let body = ctx.ok_json(&r)?;
    Tokens::from(&r, &body)
}

/// A device-code response.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub complete: String,
    pub body: Value,
    pub resp: Resp,
}

pub async fn device_start(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<DeviceCode, Problem> {
    let mut pairs = vec![];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    let form = with_auth(app, &pairs);
    let path = ctx.path("device_code");
    let r = ctx.send(Req::post(path).form(form)).await?;
    let body = ctx.ok_json(&r)?;
    Ok(DeviceCode {
        device_code: str_of(&r, &body, "device_code")?.to_owned(),
        user_code: str_of(&r, &body, "user_code")?.to_owned(),
        complete: str_of(&r, &body, "verification_uri_complete")?.to_owned(),
        body: body.clone(),
        resp: r,
    })
}

pub async fn device_poll(ctx: &mut Ctx, app: &App, device_code: &str) -> Result<Resp, Problem> {
    let form = with_auth(app, &[("device_code", device_code)]);
    let path = ctx.path("device_token");
    ctx.send(Req::post(path).form(form)).await
}

pub async fn device_decide(ctx: &mut Ctx, dc: &DeviceCode, approve: bool) -> Result<(), Problem> {
    let driver = ctx.env.driver.clone();
    let user = ctx.env.roles.user.clone();
    driver
        .device(ctx, &dc.user_code, &dc.complete, &user, approve)
        .await
}

/// Polls until the answer is no longer `authorization_pending` (bounded by the code's
/// lifetime; immediate drivers decide before the first poll).
pub async fn poll_until_decided(
    ctx: &mut Ctx,
    app: &App,
    dc: &DeviceCode,
) -> Result<Resp, Problem> {
    if ctx.env.driver.is_immediate() {
        return device_poll(ctx, app, &dc.device_code).await;
    }
    let interval = dc
        .body
        .get("interval")
        .and_then(Value::as_u64)
        .unwrap_or(ctx.profile().lifetimes.device_poll_interval)
        .max(1);
    let lifetime = dc
        .body
        .get("expires_in")
        .and_then(Value::as_u64)
        .unwrap_or(ctx.profile().lifetimes.device_code);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(lifetime);
    loop {
        let r = device_poll_unrecorded(ctx, app, &dc.device_code).await?;
        if r.error_code().as_deref() != Some("authorization_pending")
            || tokio::time::Instant::now() > deadline
        {
            eprintln!();
            return Ok(ctx.record(r.ex.as_ref().clone()));
        }
        crate::drivers::countdown_line(
            deadline.saturating_duration_since(tokio::time::Instant::now()),
        );
        tokio::time::sleep(Duration::from_secs(interval)).await;
    }
}

async fn device_poll_unrecorded(
    ctx: &mut Ctx,
    app: &App,
    device_code: &str,
) -> Result<Resp, Problem> {
    let form = with_auth(app, &[("device_code", device_code)]);
    let path = ctx.path("device_token");
    let ex = ctx.exchange(Req::post(path).form(form)).await?;
    Ok(Resp {
        ex: std::sync::Arc::new(ex),
        request_id_header: ctx.profile().expect_punchplay().request_id.header.clone(),
    })
}

/// The full device flow for `app` as the primary user.
pub async fn device_tokens(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<Tokens, Problem> {
    let dc = device_start(ctx, app, scope).await?;
    device_decide(ctx, &dc, true).await?;
    let r = poll_until_decided(ctx, app, &dc).await?;
    let body = ctx.ok_json(&r)?;
    Tokens::from(&r, &body)
}

/// `grant_type=refresh_token` at the token endpoint (browser apps, PP-REFRESH-1).
pub async fn refresh_at_token(
    ctx: &mut Ctx,
    app: &App,
    refresh: &str,
    scope: Option<&str>,
) -> Result<Resp, Problem> {
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    let form = with_auth(app, &pairs);
    let path = ctx.path("token");
    ctx.send(Req::post(path).form(form)).await
}

/// `POST auth/refresh` (device-flow apps, PP-REFRESH-1).
pub fn refresh_device_req(ctx: &Ctx, app: &App, refresh: &str) -> Req {
    Req::post(ctx.path("refresh")).form(with_auth(app, &[("refresh_token", refresh)]))
}

pub async fn refresh_device(ctx: &mut Ctx, app: &App, refresh: &str) -> Result<Resp, Problem> {
    let req = refresh_device_req(ctx, app, refresh);
    ctx.send(req).await
}

/// `GET me` with a bearer token.
pub async fn me(ctx: &mut Ctx, access: &str) -> Result<Resp, Problem> {
    let path = ctx.path("me");
    ctx.send(Req::get(path).bearer(access)).await
}

/// A playback event body (PP-API-3) for media `id` at a fresh `occurred_at`.
pub fn playback_body(ctx: &Ctx, media_id: &str, position_ms: u64) -> Value {
    serde_json::json!({
        "media": {"id": media_id, "type": "episode", "title": "Pilot", "show": "Conformance Street", "season": 1, "episode": 1},
        "position_ms": position_ms,
        "duration_ms": 1_800_000,
        "occurred_at": ctx.env.occurred_at(),
    })
}

pub async fn playback(
    ctx: &mut Ctx,
    access: &str,
    action: &str,
    body: Value,
) -> Result<Resp, Problem> {
    let path = ctx.path_with("playback", &[("action", action)]);
    ctx.send(Req::post(path).bearer(access).json(body)).await
}
