//! The OAuth steps checks are built from, for every family: authorization code + PKCE,
//! the device flow, refresh, bearer calls and form posts to the OAuth endpoints. Each is
//! the client crate's flow or request (`contract_client::flows`) sent through the check's
//! [`Ctx`], so every step is in the transcript; approvals go through the run's driver as
//! the credentials' first user; a client authenticates as its family's dialect says
//! (body parameters, or HTTP Basic for a confidential client); and the flows' failures
//! become the suite's [`Problem`]s. Steps assert only what every caller needs (a 200
//! where tokens are expected); the checks assert their clause.
//!
//! A step whose answer the check does not get back (the approval on the way to a code,
//! the redemption on the way to a token) is passed through ([`Step`]): the exchanges it
//! records are [`crate::passing::Role::Passing`], so a difference there is reported
//! under the clause that names it, and a step that cannot go on (no token) fails the
//! clause the family names for the step, not the check's (issue 18 item 4).

use std::sync::Arc;

use contract_client::flows::{self as client_flows, ClientAuth, FlowError};
use profile::App;
use rand::Rng as _;
use serde_json::Value;
use url::Url;

use crate::check::Ctx;
use crate::client::{Req, Resp};
use crate::drivers::AsUser;
use crate::outcome::{CheckResult, Problem};
use crate::passing::Step;

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

/// A failure of a passed-through step, as the clause the family names for the step
/// owns it (a failure that already names its owner keeps it).
fn of_step(ctx: &Ctx, step: Step, p: Problem) -> Problem {
    match (&p, ctx.step_clause(step)) {
        (Problem::Fail { owner: None, .. }, Some(clause)) => p.of_clause(clause),
        _ => p,
    }
}

/// Runs `f` as the flow step `step`: what it records is passed through, and a failure it
/// cannot go on from belongs to the step's clause.
macro_rules! passing {
    ($ctx:expr, $step:expr, $body:expr) => {{
        $ctx.step_started($step);
        let result = $body;
        $ctx.step_ended();
        result.map_err(|p| of_step($ctx, $step, p))
    }};
}

fn resp(ctx: &Ctx, ex: contract_client::Exchange) -> Resp {
    Resp {
        ex: Arc::new(ex),
        request_id_header: ctx
            .profile()
            .request_id()
            .map(|f| f.header.clone())
            .unwrap_or_default(),
        target: Some(Arc::new(ctx.env.http.base.clone())),
    }
}

/// A random `state`, registered for redaction.
pub fn state(ctx: &mut Ctx) -> String {
    let s: String = format!("st{:016x}", rand::rng().random::<u64>());
    ctx.volatile(&s, "state");
    s
}

/// Form pairs: the given ones followed by the app's client authentication as body
/// parameters (PP-APP-2), whatever the family's own way.
pub fn with_auth(app: &App, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    ClientAuth::of_app(app).with(pairs)
}

/// A form POST to a named endpoint of the profile carrying `pairs` and `app`'s client
/// authentication, the family's way.
pub fn authenticated(ctx: &Ctx, endpoint: &str, app: &App, pairs: &[(&str, &str)]) -> Req {
    let req = Req::post(ctx.path(endpoint));
    ctx.env
        .dialect
        .authenticate(req, &ClientAuth::of_app(app), pairs)
}

/// Sends [`authenticated`].
pub async fn post_as(
    ctx: &mut Ctx,
    endpoint: &str,
    app: &App,
    pairs: &[(&str, &str)],
) -> Result<Resp, Problem> {
    let req = authenticated(ctx, endpoint, app, pairs);
    ctx.send(req).await
}

/// An authorize path with its query, parameters in the given order.
pub fn authorize_path(ctx: &Ctx, params: &[(&str, &str)]) -> String {
    client_flows::authorize_path(ctx.profile(), params)
}

/// The app's first registered redirect URI.
pub fn redirect_of(app: &App) -> String {
    app.redirect_uris.first().cloned().unwrap_or_default()
}

/// The standard authorize request of an app (PP-AUTHZ-1: code, S256, then `scope` and
/// `state` when given).
pub fn standard_authorize(
    ctx: &Ctx,
    app: &App,
    pkce: &Pkce,
    scope: Option<&str>,
    state: Option<&str>,
) -> String {
    let redirect = redirect_of(app);
    client_flows::standard_authorize(ctx.profile(), &app.client_id, &redirect, pkce, scope, state)
}

/// The authorize request of an approval of `app`: the standard one asking for the app's
/// own scopes ([`app_scopes`]), with `state` when given.
pub fn approval_path(ctx: &Ctx, app: &App, pkce: &Pkce, state: Option<&str>) -> String {
    standard_authorize(ctx, app, pkce, app_scopes(app).as_deref(), state)
}

/// The standard authorize request with another `client_id` or `redirect_uri` than an
/// app's own (an unknown client, a redirect URI that is not registered exactly).
pub fn authorize_as(
    ctx: &Ctx,
    client_id: &str,
    redirect_uri: &str,
    pkce: &Pkce,
    state: Option<&str>,
) -> String {
    client_flows::standard_authorize(ctx.profile(), client_id, redirect_uri, pkce, None, state)
}

/// The scope set of a space-separated `scope` (RFC 6749 §3.3), sorted.
pub fn scope_set(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split_whitespace().map(str::to_owned).collect();
    v.sort();
    v.dedup();
    v
}

/// A query parameter of a URL.
pub fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Has the run's approver decide an authorize request through the run's driver: the
/// URL the browser is sent to.
pub async fn decide(ctx: &mut Ctx, path: &str, approve: bool) -> Result<Url, Problem> {
    let env = ctx.env.clone();
    decide_as(ctx, path, env.approver()?, approve).await
}

/// [`decide`] as another user of the credentials.
pub async fn decide_as(
    ctx: &mut Ctx,
    path: &str,
    user: &profile::User,
    approve: bool,
) -> Result<Url, Problem> {
    let driver = ctx.env.driver.clone();
    driver.authorize(ctx, path, user, approve).await
}

/// The scopes an approval for `app` asks for: the ones the credentials allow it, as
/// `scope` (RFC 6749 §3.3: a client that wants a scope sends it; what a server does with
/// an authorization request without one is a check of its own). `None` for an app the
/// credentials allow no scope.
pub fn app_scopes(app: &App) -> Option<String> {
    (!app.allowed_scopes.is_empty()).then(|| app.allowed_scopes.join(" "))
}

/// Authorizes `app` as the run's approver and returns the code from the redirect; the
/// request asks for `scope`, or for the app's own scopes ([`app_scopes`]) when `None`.
/// The approval is passed through ([`Step::Approval`]).
pub async fn authorize_code(
    ctx: &mut Ctx,
    app: &App,
    pkce: &Pkce,
    scope: Option<&str>,
) -> Result<String, Problem> {
    let scope = scope.map(str::to_owned).or_else(|| app_scopes(app));
    passing!(
        ctx,
        Step::Approval,
        approve(ctx, app, pkce, scope.as_deref()).await
    )
}

/// [`authorize_code`] with no `scope` at all: what a server grants without one is
/// PP-SCOPE-2's and EN-TOKEN-4's to judge, and FX-AUTHZ-1's (RFC 6749 §3.3).
pub async fn authorize_code_without_scope(
    ctx: &mut Ctx,
    app: &App,
    pkce: &Pkce,
) -> Result<String, Problem> {
    passing!(ctx, Step::Approval, approve(ctx, app, pkce, None).await)
}

async fn approve(
    ctx: &mut Ctx,
    app: &App,
    pkce: &Pkce,
    scope: Option<&str>,
) -> Result<String, Problem> {
    let env = ctx.env.clone();
    let approver = AsUser {
        driver: &env.driver,
        user: env.approver()?,
    };
    let auth = ClientAuth::of_app(app);
    client_flows::authorize_code(
        ctx,
        &approver,
        &env.profile,
        &auth,
        &redirect_of(app),
        pkce,
        scope,
    )
    .await
    .map_err(|e| problem(ctx, e))
}

/// Redeems a code at the token endpoint (PP-TOKEN-1, RFC 6749 §4.1.3).
pub async fn redeem(
    ctx: &mut Ctx,
    app: &App,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Resp, Problem> {
    let req = authenticated(
        ctx,
        "token",
        app,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
    );
    ctx.send(req).await
}

/// An access token, a refresh token and their scope: a token pair.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    /// `scope` as answered; empty when the answer has none ([`Tokens::scope_answered`]).
    pub scope: String,
    /// Whether the answer carried `scope` at all.
    pub scope_answered: bool,
}

impl Tokens {
    /// Reads a token pair from a 200 answer's body.
    pub fn from(resp: &Resp, body: &Value) -> Result<Tokens, Problem> {
        let t = client_flows::Tokens::from_body(body).map_err(|why| resp.fail(why))?;
        Ok(Tokens::of(t, body.get("scope").is_some()))
    }

    /// Reads a token pair from an answer, failing unless it is a 200 with one.
    pub fn read(resp: &Resp) -> Result<Tokens, Problem> {
        let t = client_flows::Tokens::read(&resp.ex).map_err(|why| resp.fail(why))?;
        let answered =
            serde_json::from_str::<Value>(resp.body()).is_ok_and(|b| b.get("scope").is_some());
        Ok(Tokens::of(t, answered))
    }

    fn of(t: client_flows::Tokens, scope_answered: bool) -> Tokens {
        Tokens {
            access: t.access,
            refresh: t.refresh,
            scope: t.scope,
            scope_answered,
        }
    }
}

/// The scope a token answer granted, for a check that judges what was granted (PP-SCOPE-1,
/// PP-SCOPE-2, PP-REFRESH-5): an answer without `scope` cannot tell, and that is the
/// clause's that names `scope` in token answers (PP-SCOPE-4), which the check cannot go
/// past. `resp` is the answer the tokens came in.
pub fn granted_scope<'t>(ctx: &Ctx, resp: &Resp, t: &'t Tokens) -> Result<&'t str, Problem> {
    if t.scope_answered {
        return Ok(&t.scope);
    }
    let p = resp.fail("the token answer carries no `scope`, so what it granted cannot be told");
    Err(
        match ctx
            .env
            .dialect
            .named_by(ctx.profile(), resp.ex.req.route(), "scope")
        {
            Some(clause) => p.of_clause(clause),
            None => p,
        },
    )
}

/// Authorizes `app` for a new code (PKCE S256, the user approving, `scope` or the app's
/// own scopes) and redeems it at its first redirect URI: the token response as it came,
/// for checks that look at it.
pub async fn redeem_new_code(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<Resp, Problem> {
    let pkce = pkce(ctx);
    let code = authorize_code(ctx, app, &pkce, scope).await?;
    redeem(ctx, app, &code, &redirect_of(app), &pkce.verifier).await
}

/// The full authorization-code flow for `app` as the run's approver: a token pair. The
/// redemption is passed through ([`Step::CodeRedemption`]); a check that judges the
/// token answer itself uses [`redeem_new_code`].
pub async fn code_tokens(ctx: &mut Ctx, app: &App, scope: Option<&str>) -> Result<Tokens, Problem> {
    let pkce = pkce(ctx);
    let code = authorize_code(ctx, app, &pkce, scope).await?;
    redeemed_tokens(ctx, app, &code, &pkce).await
}

/// The full authorization-code flow for `app` with no `scope` in the request.
pub async fn code_tokens_without_scope(ctx: &mut Ctx, app: &App) -> Result<Tokens, Problem> {
    let pkce = pkce(ctx);
    let code = authorize_code_without_scope(ctx, app, &pkce).await?;
    redeemed_tokens(ctx, app, &code, &pkce).await
}

/// Redeems `code` as a step passed through: the token pair.
async fn redeemed_tokens(
    ctx: &mut Ctx,
    app: &App,
    code: &str,
    pkce: &Pkce,
) -> Result<Tokens, Problem> {
    passing!(ctx, Step::CodeRedemption, {
        match redeem(ctx, app, code, &redirect_of(app), &pkce.verifier).await {
            Ok(r) => Tokens::read(&r),
            Err(p) => Err(p),
        }
    })
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
    /// Reads a device-code answer (PP-DEVICE-1, RFC 8628 §3.2) sent by the check itself.
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

/// The device authorization request (RFC 8628 §3.1).
pub async fn device_start(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<DeviceCode, Problem> {
    let req = client_flows::device_start_req(ctx.profile(), &ClientAuth::of_app(app), scope);
    let resp = ctx.send(req).await?;
    DeviceCode::read(resp)
}

/// One poll of the device token endpoint (RFC 8628 §3.4).
pub async fn device_poll(ctx: &mut Ctx, app: &App, device_code: &str) -> Result<Resp, Problem> {
    let req = client_flows::device_poll_req(ctx.profile(), &ClientAuth::of_app(app), device_code);
    ctx.send(req).await
}

/// Lets a device code's `interval` pass before it is polled again (RFC 8628 §3.5,
/// PP-DEVICE-1): the client-observation rule `device-poll-interval` (issue 22) is broken
/// only by checks that mean to. With test controls the target's clock moves (quietly: no
/// time passes); without them nothing waits, and the rule tolerates one early poll per
/// device code.
pub async fn pace_device_poll(ctx: &mut Ctx) -> CheckResult {
    if !ctx.env.controls {
        return Ok(());
    }
    let interval = ctx.env.profile.lifetimes.device_poll_interval as f64;
    ctx.advance_quietly(interval).await
}

/// How long after a refresh token's rotating use a check replays it: more than the one
/// second within which the reference server's client observation judges two uses a race
/// (`concurrent-refresh`) rather than a replay (`refresh-replay`, issue 22).
const REPLAY_AFTER_SECS: f64 = 1.1;

/// Lets more than a second pass before a check replays a rotated refresh token, so the
/// replay is judged a replay, as the check means, not a race. With test controls the
/// target's clock moves (quietly); without them the check waits for real.
pub async fn pace_replay(ctx: &mut Ctx) -> CheckResult {
    if ctx.env.controls {
        ctx.advance_quietly(REPLAY_AFTER_SECS).await
    } else {
        tokio::time::sleep(std::time::Duration::from_secs_f64(REPLAY_AFTER_SECS)).await;
        Ok(())
    }
}

/// The run's approver decides a device code through the run's driver.
pub async fn device_decide(ctx: &mut Ctx, dc: &DeviceCode, approve: bool) -> Result<(), Problem> {
    let env = ctx.env.clone();
    let user = env.approver()?;
    env.driver
        .device(ctx, &dc.user_code, &dc.complete, user, approve)
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

/// The full device flow for `app` as the run's approver: a token pair. Each step is
/// passed through: the device code ([`Step::DeviceCode`]), then the approval and the
/// polls ([`Step::DeviceToken`]).
pub async fn device_tokens(
    ctx: &mut Ctx,
    app: &App,
    scope: Option<&str>,
) -> Result<Tokens, Problem> {
    let dc = passing!(ctx, Step::DeviceCode, device_start(ctx, app, scope).await)?;
    passing!(ctx, Step::DeviceToken, {
        match device_decide(ctx, &dc, true).await {
            Ok(()) => match poll_until_decided(ctx, app, &dc).await {
                Ok(r) => Tokens::read(&r),
                Err(p) => Err(p),
            },
            Err(p) => Err(p),
        }
    })
}

/// `grant_type=refresh_token` at the token endpoint (PP-REFRESH-1, RFC 6749 §6), with
/// `scope` when given.
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
    let req = authenticated(ctx, "token", app, &pairs);
    ctx.send(req).await
}

/// `GET` a named endpoint of the profile with a bearer token (`me`).
pub async fn bearer_get(ctx: &mut Ctx, endpoint: &str, access: &str) -> Result<Resp, Problem> {
    let req = client_flows::bearer_req(ctx.profile(), endpoint, access);
    ctx.send(req).await
}

/// `GET me` with a bearer token.
pub async fn me(ctx: &mut Ctx, access: &str) -> Result<Resp, Problem> {
    bearer_get(ctx, "me", access).await
}
