//! The OAuth steps checks are built from, as the suite calls them: each is the client
//! crate's flow (`contract_client::flows`) sent through the check's [`Ctx`], so every step
//! is in the transcript, with the run's driver approving as the primary user and the
//! flow's failures turned into the suite's [`Problem`]s. Steps assert only what every
//! caller needs (a 200 where tokens are expected); the checks assert their clause.

use std::sync::Arc;

use contract_client::flows::{self as client_flows, ClientAuth, FlowError};
use profile::{App, User};
use rand::Rng as _;
use serde_json::Value;
use url::Url;

use crate::check::Ctx;
use crate::client::{Req, Resp};
use crate::drivers::AsUser;
use crate::outcome::Problem;

pub use contract_client::Pkce;
pub use contract_client::pkce::s256;

/// A fresh PKCE pair, registered for redaction.
pub fn pkce(ctx: &mut Ctx) -> Pkce {
    client_flows::new_pkce(ctx)
}

/// A flow's failure as a check's problem: the transport's (and driver's) own, or a
/// failure pinned to the answer the flow could not go on from.
fn problem(ctx: &Ctx, e: FlowError<Problem>) -> Problem {
    match e {
        FlowError::Transport(p) => p,
        FlowError::Answer { exchange, why } => resp(ctx, *exchange).fail(why),
        FlowError::Flow(why) => Problem::fail(why),
    }
}

fn resp(ctx: &Ctx, ex: contract_client::Exchange) -> Resp {
    Resp {
        ex: Arc::new(ex),
        request_id_header: ctx
            .profile()
            .request_id()
            .map(|f| f.header.clone())
            .unwrap_or_default(),
    }
}

/// The steps a flow step sends through: the check's context, with the run's driver
/// approving as the primary user.
async fn with_driver<T>(
    ctx: &mut Ctx,
    step: impl AsyncFnOnce(&mut Ctx, &AsUser<'_>, &profile::Profile) -> Result<T, FlowError<Problem>>,
) -> Result<T, Problem> {
    let env = ctx.env.clone();
    let approver = AsUser {
        driver: &env.driver,
        user: &env.roles.user,
    };
    step(ctx, &approver, &env.profile)
        .await
        .map_err(|e| problem(ctx, e))
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
    ClientAuth::of_app(app).params()
}

/// Form pairs: the given ones followed by the app's client authentication.
pub fn with_auth(app: &App, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    ClientAuth::of_app(app).with(pairs)
}

/// An authorize path with its query, parameters in the given order.
pub fn authorize_path(ctx: &Ctx, params: &[(&str, &str)]) -> String {
    client_flows::authorize_path(ctx.profile(), params)
}

fn first_redirect(app: &App) -> &str {
    app.redirect_uris
        .first()
        .map(String::as_str)
        .unwrap_or_default()
}

/// The standard authorize request of an app (PP-AUTHZ-1).
pub fn standard_authorize(
    ctx: &Ctx,
    app: &App,
    pkce: &Pkce,
    scope: Option<&str>,
    state: Option<&str>,
) -> String {
    let redirect = first_redirect(app);
    client_flows::standard_authorize(ctx.profile(), &app.client_id, redirect, pkce, scope, state)
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
    let auth = ClientAuth::of_app(app);
    with_driver(ctx, async |ctx, approver, profile| {
        client_flows::authorize_code(
            ctx,
            approver,
            profile,
            &auth,
            first_redirect(app),
            pkce,
            scope,
        )
        .await
    })
    .await
}

/// Redeems a code at the token endpoint (PP-TOKEN-1).
pub async fn redeem(
    ctx: &mut Ctx,
    app: &App,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Resp, Problem> {
    let req = client_flows::redeem_req(
        ctx.profile(),
        &ClientAuth::of_app(app),
        code,
        redirect_uri,
        verifier,
    );
    ctx.send(req).await
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
        let t = client_flows::Tokens::from_body(body).map_err(|why| resp.fail(why))?;
        Ok(Tokens::of(t))
    }

    fn of(t: client_flows::Tokens) -> Tokens {
        Tokens {
            access: t.access,
            refresh: t.refresh,
            scope: t.scope,
        }
    }
}

/// Authorizes `app` for a new code (PKCE S256, the user approving) and redeems it at its
/// first redirect URI: the token response as it came, for checks that look at it.
pub async fn redeem_new_code(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<Resp, Problem> {
    let auth = ClientAuth::of_app(app);
    let ex = with_driver(ctx, async |ctx, approver, profile| {
        client_flows::redeem_new_code(ctx, approver, profile, &auth, first_redirect(app), scope)
            .await
    })
    .await?;
    Ok(resp(ctx, ex))
}

/// The full authorization-code flow for `app` as the primary user.
pub async fn code_tokens(ctx: &mut Ctx, app: &App, scope: Option<&str>) -> Result<Tokens, Problem> {
    let auth = ClientAuth::of_app(app);
    let t = with_driver(ctx, async |ctx, approver, profile| {
        client_flows::code_tokens(ctx, approver, profile, &auth, first_redirect(app), scope).await
    })
    .await?;
    Ok(Tokens::of(t))
}

/// A device-code response.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub complete: String,
    pub body: Value,
    pub resp: Resp,
    code: client_flows::DeviceCode,
}

impl DeviceCode {
    /// Reads a device-code answer (PP-DEVICE-1) sent by the check itself.
    pub fn read(resp: Resp) -> Result<DeviceCode, Problem> {
        let code = client_flows::DeviceCode::read(&resp.ex).map_err(|why| resp.fail(why))?;
        Ok(DeviceCode {
            device_code: code.device_code.clone(),
            user_code: code.user_code.clone(),
            complete: code.verification_uri_complete.clone(),
            body: code.body.clone(),
            resp,
            code,
        })
    }
}

pub async fn device_start(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<DeviceCode, Problem> {
    let req = client_flows::device_start_req(ctx.profile(), &ClientAuth::of_app(app), scope);
    let resp = ctx.send(req).await?;
    DeviceCode::read(resp)
}

pub async fn device_poll(ctx: &mut Ctx, app: &App, device_code: &str) -> Result<Resp, Problem> {
    let req = client_flows::device_poll_req(ctx.profile(), &ClientAuth::of_app(app), device_code);
    ctx.send(req).await
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
    let immediate = ctx.env.driver.is_immediate();
    let auth = ClientAuth::of_app(app);
    let env = ctx.env.clone();
    let ex = client_flows::poll_until_decided(
        ctx,
        &env.profile,
        &auth,
        &dc.code,
        immediate,
        crate::drivers::countdown_line,
    )
    .await?;
    if !immediate {
        eprintln!();
    }
    Ok(resp(ctx, ex))
}

/// The full device flow for `app` as the primary user.
pub async fn device_tokens(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<Tokens, Problem> {
    let auth = ClientAuth::of_app(app);
    let t = with_driver(ctx, async |ctx, approver, profile| {
        client_flows::device_tokens(ctx, approver, profile, &auth, scope).await
    })
    .await?;
    Ok(Tokens::of(t))
}

/// `grant_type=refresh_token` at the token endpoint (browser apps, PP-REFRESH-1).
pub async fn refresh_at_token(
    ctx: &mut Ctx,
    app: &App,
    refresh: &str,
    scope: Option<&str>,
) -> Result<Resp, Problem> {
    let auth = ClientAuth::of_app(app);
    let req = client_flows::refresh_at_token_req(ctx.profile(), &auth, refresh, scope);
    ctx.send(req).await
}

/// `POST auth/refresh` (device-flow apps, PP-REFRESH-1).
pub fn refresh_device_req(ctx: &Ctx, app: &App, refresh: &str) -> Req {
    client_flows::refresh_req(ctx.profile(), &ClientAuth::of_app(app), refresh)
}

pub async fn refresh_device(ctx: &mut Ctx, app: &App, refresh: &str) -> Result<Resp, Problem> {
    let req = refresh_device_req(ctx, app, refresh);
    ctx.send(req).await
}

/// `GET me` with a bearer token.
pub async fn me(ctx: &mut Ctx, access: &str) -> Result<Resp, Problem> {
    let req = client_flows::bearer_req(ctx.profile(), "me", access);
    ctx.send(req).await
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
