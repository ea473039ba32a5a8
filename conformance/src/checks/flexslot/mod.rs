//! Flexslot's checks (seed 004, FX-*), one file per area: `authorize.rs` (FX-AUTHZ),
//! `token.rs` (FX-TOKEN-1..7), `refresh.rs` (rotation, idle expiry, grant configuration,
//! the race: FX-TOKEN-4/5/8), `resource.rs` (FX-RS-1), `revoke.rs` (FX-REVOKE-1,
//! FX-INTRO-1). [`checks`] is the family's suite in report order. The helpers below are
//! shared by those files: the apps the checks act as (picked by trait from the
//! credentials, never by fixture id), the flows with flexslot's client authentication
//! (HTTP Basic for confidential clients), and the RFC readers' verdicts.
//!
//! What a conformant deployment may do differently and still pass: extension members,
//! `error_uri`, any `error_description` wording, other realms and extra challenge
//! parameters, extra headers, any token format, 302 or 303 for redirects. Flexslot has no
//! rate limits, so no check has a budget.

use std::sync::Arc;

use contract_client::families::flexslot::{
    self as fx, Challenge, RedirectAnswer, TokenError, header_values,
};
use contract_client::flows::{self as client_flows, ClientAuth, FlowError};
use profile::{App, AppKind, Identities, Profile, User};
use serde_json::{Value, json};

use crate::check::{Check, Ctx, Env};
use crate::client::{Req, Resp};
use crate::drivers::AsUser;
use crate::ensure;
use crate::outcome::{CheckResult, Problem};
use crate::redact::Redactor;

pub mod authorize;
pub mod members;
pub mod refresh;
pub mod resource;
pub mod revoke;
pub mod token;

/// Every flexslot check, in report order.
pub fn checks(_profile: &Profile) -> Vec<Check> {
    let mut v = Vec::new();
    v.extend(authorize::checks());
    v.extend(token::checks());
    v.extend(refresh::checks());
    v.extend(resource::checks());
    v.extend(revoke::checks());
    v
}

// --- the apps and users the checks act as ---

/// The apps and users of the credentials, by trait (issue 9: "apps by trait").
#[derive(Debug, Clone)]
pub struct FxRoles {
    /// Confidential, enabled, with a redirect URI, configured for both grants.
    pub web: App,
    /// Public, enabled, with a redirect URI, configured for the code grant.
    pub spa: Option<App>,
    /// Confidential, enabled, with a redirect URI, the code grant but not refresh_token.
    pub codeonly: Option<App>,
    /// Disabled.
    pub disabled: Option<App>,
    pub user: User,
}

impl FxRoles {
    pub fn pick(ids: &Identities) -> Result<FxRoles, String> {
        let usable = |a: &&App| a.active && !a.redirect_uris.is_empty();
        let both =
            |a: &&App| a.allows_grant("authorization_code") && a.allows_grant("refresh_token");
        let web = ids
            .apps
            .iter()
            .filter(usable)
            .find(|a| a.kind == AppKind::Confidential && a.secret.is_some() && both(a))
            .cloned()
            .ok_or("the credentials need an enabled confidential app with a secret, a redirect URI and both grant types (authorization_code, refresh_token)")?;
        let spa = ids
            .apps
            .iter()
            .filter(usable)
            .find(|a| a.kind == AppKind::Public && a.allows_grant("authorization_code"))
            .cloned();
        let codeonly = ids
            .apps
            .iter()
            .filter(usable)
            .find(|a| {
                a.kind == AppKind::Confidential
                    && a.secret.is_some()
                    && a.allows_grant("authorization_code")
                    && !a.allows_grant("refresh_token")
            })
            .cloned();
        let disabled = ids.apps.iter().find(|a| !a.active).cloned();
        let user = ids
            .users
            .first()
            .cloned()
            .ok_or("the credentials need at least one test user")?;
        Ok(FxRoles {
            web,
            spa,
            codeonly,
            disabled,
            user,
        })
    }

    /// The role an app plays in placeholders: `web`, `spa`, `codeonly`, `disabled`, or
    /// `app<N>` (its place in the file).
    fn app_role(&self, ids: &Identities, app: &App) -> String {
        [
            ("web", Some(&self.web)),
            ("spa", self.spa.as_ref()),
            ("codeonly", self.codeonly.as_ref()),
            ("disabled", self.disabled.as_ref()),
        ]
        .iter()
        .find(|(_, a)| a.is_some_and(|a| a.client_id == app.client_id))
        .map(|(role, _)| (*role).to_owned())
        .unwrap_or_else(|| {
            let n = ids.apps.iter().position(|a| a.client_id == app.client_id);
            format!("app{}", n.map_or(0, |n| n + 1))
        })
    }
}

/// Registers the credentials' identities under role placeholders, so that a snapshot
/// recorded with one deployment's apps and users gates another's.
pub fn redact_identities(env: &Env, redactor: &mut Redactor) {
    let Ok(roles) = FxRoles::pick(&env.ids) else {
        return;
    };
    for app in &env.ids.apps {
        let role = roles.app_role(&env.ids, app);
        if let Some(s) = &app.secret {
            redactor.register_named(s.expose(), &format!("[secret:{role}]"));
            // As HTTP Basic carries it, form-encoded (RFC 6749 §2.3.1).
            let encoded: String =
                url::form_urlencoded::byte_serialize(s.expose().as_bytes()).collect();
            redactor.register_named(&encoded, &format!("[secret:{role}]"));
        }
        redactor.register_identity(&app.client_id, &format!("[client:{role}]"));
        redactor.register_identity(&app.name, &format!("[app-name:{role}]"));
        for uri in &app.redirect_uris {
            redactor.register_identity(uri, "[redirect-uri]");
        }
    }
    for (n, user) in env.ids.users.iter().enumerate() {
        let role = if n == 0 {
            "primary".to_owned()
        } else {
            format!("user{}", n + 1)
        };
        if let Some(p) = &user.password {
            redactor.register_named(p.expose(), &format!("[password:{role}]"));
        }
        redactor.register_identity(&user.username, &format!("[user:{role}]"));
        redactor.register_identity(&user.display_name, &format!("[display-name:{role}]"));
    }
}

/// The roles of this run's credentials.
pub fn roles(ctx: &Ctx) -> Result<FxRoles, Problem> {
    FxRoles::pick(&ctx.env.ids).map_err(Problem::error)
}

pub fn spa_or_skip(r: &FxRoles) -> Result<App, Problem> {
    r.spa
        .clone()
        .ok_or_else(|| Problem::skip("needs an enabled public app with a redirect URI"))
}

pub fn codeonly_or_skip(r: &FxRoles) -> Result<App, Problem> {
    r.codeonly.clone().ok_or_else(|| {
        Problem::skip("needs an enabled confidential app configured for authorization_code only")
    })
}

pub fn disabled_or_skip(r: &FxRoles) -> Result<App, Problem> {
    r.disabled
        .clone()
        .ok_or_else(|| Problem::skip("needs a disabled app in the credentials"))
}

pub fn redirect_of(app: &App) -> String {
    app.redirect_uris.first().cloned().unwrap_or_default()
}

// --- what a transcript pins ---

/// Introspection members a transcript keeps: `active` and FX-INTRO-1's SHOULD list. The
/// rest (`iat`, `username`, RFC 7662's other optional members) is the deployment's own.
const PINNED_INTROSPECTION: &[&str] = &["active", "scope", "client_id", "exp", "sub", "token_type"];

/// The exchange as its snapshot pins it: only what the contract says of the answer. A
/// resource answer's body and content type are the deployment's (RFC 6750 §3 needs only
/// the status and the challenge; the contract names no body for `me`); `Cache-Control`
/// is pinned only on a 200 token answer (RFC 6749 §5.1); introspection keeps the members
/// FX-INTRO-1 lists; a challenge keeps its scheme and `error` ([`pinned_challenges`]).
/// Checks judge the whole answer; only the transcript is trimmed.
fn pinned(
    profile: &Profile,
    check_id: &str,
    mut ex: contract_client::Exchange,
) -> contract_client::Exchange {
    let route = ex.req.route().to_owned();
    // FX-TOKEN-3's Basic challenge is a SHOULD: pinned in its own check only.
    if route != profile.path("me") && !check_id.contains("basic-challenge") {
        ex.headers.retain(|(k, _)| k != "www-authenticate");
    }
    let token_200 = route == profile.path("token") && ex.status == 200;
    if !token_200 {
        ex.headers.retain(|(k, _)| k != "cache-control");
    }
    if route == profile.path("me") {
        ex.headers.retain(|(k, _)| k != "content-type");
        ex.body.clear();
    }
    for (name, value) in &mut ex.headers {
        if name == "www-authenticate" {
            *value = pinned_challenges(value);
        }
    }
    if route == profile.path("introspect")
        && let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(&ex.body)
    {
        body.retain(|k, _| PINNED_INTROSPECTION.contains(&k.as_str()));
        ex.body = Value::Object(body).to_string();
    }
    ex
}

/// A `WWW-Authenticate` value with only what FX-RS-1 and FX-TOKEN-3 pin: each scheme and
/// its `error` (`realm`, kept, is never compared; `error_description` and `scope` are the
/// deployment's wording and choice, RFC 6750 §3). A value that does not parse is kept.
fn pinned_challenges(value: &str) -> String {
    let Ok(challenges) = Challenge::parse_all(value) else {
        return value.to_owned();
    };
    challenges
        .iter()
        .map(|c| {
            let params: Vec<String> = c
                .params
                .iter()
                .filter(|(k, _)| k == "realm" || k == "error")
                .map(|(k, v)| format!("{k}=\"{v}\""))
                .collect();
            if params.is_empty() {
                c.scheme.clone()
            } else {
                format!("{} {}", c.scheme, params.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records an exchange as its snapshot pins it ([`pinned`]); answers the whole answer,
/// which is what the checks judge and failures quote.
pub fn record(ctx: &mut Ctx, ex: contract_client::Exchange) -> Resp {
    let trimmed = pinned(ctx.profile(), ctx.check_id, ex.clone());
    ctx.record(trimmed);
    Resp {
        ex: Arc::new(ex),
        request_id_header: String::new(),
    }
}

/// Sends a request and records it as its snapshot pins it.
pub async fn send(ctx: &mut Ctx, req: Req) -> Result<Resp, Problem> {
    let ex = ctx.exchange(req).await?;
    Ok(record(ctx, ex))
}

// --- flows with flexslot's client authentication ---

fn problem(ctx: &Ctx, e: FlowError<Problem>) -> Problem {
    match e {
        FlowError::Transport(p) => p,
        FlowError::Answer { exchange, why } => resp(ctx, *exchange).fail(why),
        FlowError::Flow(why) => Problem::fail(why),
    }
}

fn resp(_ctx: &Ctx, ex: contract_client::Exchange) -> Resp {
    Resp {
        ex: Arc::new(ex),
        request_id_header: String::new(),
    }
}

/// A fresh PKCE pair and `state`, registered for redaction.
pub fn pkce(ctx: &mut Ctx) -> contract_client::Pkce {
    client_flows::new_pkce(ctx)
}

pub fn state(ctx: &mut Ctx) -> String {
    crate::flows::state(ctx)
}

/// The standard authorize request of `app` (code, S256) with `scope` and `state`.
pub fn authorize_path(
    ctx: &Ctx,
    app: &App,
    pkce: &contract_client::Pkce,
    scope: Option<&str>,
    state: Option<&str>,
) -> String {
    let redirect = redirect_of(app);
    client_flows::standard_authorize(ctx.profile(), &app.client_id, &redirect, pkce, scope, state)
}

/// The primary user approves `app` through the run's driver: the code of the redirect.
pub async fn approve(
    ctx: &mut Ctx,
    roles: &FxRoles,
    app: &App,
    pkce: &contract_client::Pkce,
    scope: Option<&str>,
) -> Result<String, Problem> {
    let env = ctx.env.clone();
    let approver = AsUser {
        driver: &env.driver,
        user: &roles.user,
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

/// The primary user decides an authorize request through the run's driver: the
/// redirect as read by an RFC client.
pub async fn decide(
    ctx: &mut Ctx,
    roles: &FxRoles,
    path: &str,
    approve: bool,
) -> Result<RedirectAnswer, Problem> {
    let driver = ctx.env.driver.clone();
    let url = driver.authorize(ctx, path, &roles.user, approve).await?;
    RedirectAnswer::read(url.as_str())
        .ok_or_else(|| Problem::fail(format!("the decision redirects to {url}, not a URL")))
}

/// Redeems a code with flexslot's client authentication (Basic for a confidential app).
pub async fn redeem(
    ctx: &mut Ctx,
    app: &App,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Result<Resp, Problem> {
    let req = fx::redeem_req(
        ctx.profile(),
        &ClientAuth::of_app(app),
        code,
        redirect_uri,
        verifier,
    );
    send(ctx, req).await
}

/// Tokens of a 200 token answer: `refresh` only when the app was given one.
#[derive(Debug, Clone)]
pub struct FxTokens {
    pub access: String,
    pub refresh: Option<String>,
    pub scope: String,
}

/// Reads a 200 token answer (RFC 6749 §5.1): `access_token`, `token_type` Bearer (case
/// insensitive, RFC 6749 §7.1), an optional `refresh_token` and `scope`.
pub fn read_tokens(r: &Resp) -> Result<FxTokens, Problem> {
    ensure!(
        r.status() == 200,
        r,
        "expected 200 with tokens, got {}: {}",
        r.status(),
        r.body()
    );
    let body = r.json()?;
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let access =
        s("access_token").ok_or_else(|| r.fail("the token answer has no string `access_token`"))?;
    ensure!(
        s("token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer")),
        r,
        "the token answer's `token_type` is {:?}, not Bearer (RFC 6749 §5.1)",
        body.get("token_type")
    );
    Ok(FxTokens {
        access,
        refresh: s("refresh_token"),
        scope: s("scope").unwrap_or_default(),
    })
}

/// The whole code flow for `app` (approved by the primary user): the token answer.
pub async fn redeem_new_code(
    ctx: &mut Ctx,
    roles: &FxRoles,
    app: &App,
    scope: Option<&str>,
) -> Result<Resp, Problem> {
    let pkce = pkce(ctx);
    let code = approve(ctx, roles, app, &pkce, scope).await?;
    redeem(ctx, app, &code, &redirect_of(app), &pkce.verifier).await
}

/// The whole code flow for `app`: its tokens.
pub async fn code_tokens(
    ctx: &mut Ctx,
    roles: &FxRoles,
    app: &App,
    scope: Option<&str>,
) -> Result<FxTokens, Problem> {
    let r = redeem_new_code(ctx, roles, app, scope).await?;
    read_tokens(&r)
}

/// The code flow for the web app, whose tokens must include a refresh token.
pub async fn web_tokens(ctx: &mut Ctx, roles: &FxRoles) -> Result<(FxTokens, String), Problem> {
    let r = redeem_new_code(ctx, roles, &roles.web, None).await?;
    let t = read_tokens(&r)?;
    let refresh = t.refresh.clone().ok_or_else(|| {
        r.fail("the token answer of a client configured for refresh_token has no `refresh_token`")
    })?;
    Ok((t, refresh))
}

/// A refresh at the token endpoint with flexslot's client authentication.
pub async fn refresh(ctx: &mut Ctx, app: &App, refresh: &str) -> Result<Resp, Problem> {
    let req = fx::refresh_req(ctx.profile(), &ClientAuth::of_app(app), refresh);
    send(ctx, req).await
}

/// A form POST to `endpoint` (`token`, `revoke`, `introspect`) authenticated as `app`.
pub async fn post_as(
    ctx: &mut Ctx,
    endpoint: &str,
    app: &App,
    pairs: &[(&str, &str)],
) -> Result<Resp, Problem> {
    let req = fx::endpoint_req(ctx.profile(), endpoint, &ClientAuth::of_app(app), pairs);
    send(ctx, req).await
}

/// `GET me` with a bearer token.
pub async fn me(ctx: &mut Ctx, access: &str) -> Result<Resp, Problem> {
    send(ctx, client_flows::bearer_req(ctx.profile(), "me", access)).await
}

// --- verdicts ---

/// The answer is the profile's status for `code` with an RFC 6749 §5.2 body naming it,
/// `error_description` included (FX-TOKEN-1: errors are `{error, error_description}`).
pub fn token_error(ctx: &Ctx, r: &Resp, code: &str) -> Result<(), Problem> {
    let status = ctx.profile().status_of(code);
    let e = TokenError::of_exchange(&r.ex);
    ensure!(
        r.status() == status && e.error.as_deref() == Some(code),
        r,
        "expected {status} `{code}`, got {} {}",
        r.status(),
        e.error.as_deref().map_or_else(
            || "without an `error` member".to_owned(),
            |c| format!("`{c}`")
        )
    );
    if let Some(p) = e.problem() {
        return Err(r.fail(format!("FX-TOKEN-1: {p}")));
    }
    ensure!(
        e.error_description.is_some(),
        r,
        "FX-TOKEN-1: the error body has no string `error_description`: {}",
        r.body()
    );
    Ok(())
}

/// The answer is a redirect (302 or 303) to `redirect_uri` with `error=code`, the
/// `state` sent and no `code` (RFC 6749 §4.1.2.1, FX-AUTHZ-1).
pub fn error_redirect(r: &Resp, redirect_uri: &str, code: &str, state: &str) -> CheckResult {
    ensure!(
        matches!(r.status(), 302 | 303),
        r,
        "expected a 302 error redirect with `{code}`, got {}",
        r.status()
    );
    let loc = r.location()?;
    let a = RedirectAnswer::read(loc.as_str())
        .ok_or_else(|| r.fail(format!("Location {loc} is not a URL")))?;
    redirect_says(&a, redirect_uri, code, state).map_err(|why| r.fail(why))
}

/// What is wrong with the redirect `a` as an error redirect to `redirect_uri` with
/// `error=code`, `state` and no `code`, if anything. A caller pins it to the answer it
/// came in, when it has one (a command or a person may have followed the redirect).
pub fn redirect_says(
    a: &RedirectAnswer,
    redirect_uri: &str,
    code: &str,
    state: &str,
) -> Result<(), String> {
    if a.base != redirect_uri {
        return Err(format!(
            "the error redirect goes to {}, not the registered {redirect_uri}",
            a.base
        ));
    }
    if a.error.as_deref() != Some(code) {
        return Err(format!(
            "the error redirect carries error={:?}, expected `{code}`",
            a.error
        ));
    }
    if a.state.as_deref() != Some(state) {
        return Err(format!(
            "FX-AUTHZ-1: the error redirect does not echo `state` (got {:?})",
            a.state
        ));
    }
    if a.code.is_some() {
        return Err("an error redirect carries a `code` as well".to_owned());
    }
    Ok(())
}

/// The resource server's challenges of `scheme` in the answer (RFC 6750 §3).
pub fn challenge(r: &Resp, scheme: &str) -> Result<Challenge, Problem> {
    let values = header_values(&r.ex, "www-authenticate");
    Challenge::find(values.iter().copied(), scheme)
        .map_err(|e| {
            r.fail(format!(
                "WWW-Authenticate does not parse (RFC 7235 §4.1): {e}"
            ))
        })?
        .ok_or_else(|| {
            r.fail(format!(
                "the {} answer has no `WWW-Authenticate: {scheme}` challenge (got {values:?})",
                r.status()
            ))
        })
}

/// Sets the server's mode through the test control, or skips saying why.
pub async fn set_mode(ctx: &mut Ctx, mode: &str) -> CheckResult {
    control(
        ctx,
        "/__test/mode",
        json!({ "mode": mode }),
        "to make the server fail on purpose",
    )
    .await?;
    ctx.note(format!("server mode: {mode}"));
    Ok(())
}

/// Sets the grant types a client is configured for through the test control.
pub async fn set_grant_types(ctx: &mut Ctx, app: &App, grants: &[&str]) -> CheckResult {
    grant_types_control(ctx, app, grants).await?;
    ctx.note(format!("client grant types set to {grants:?}"));
    Ok(())
}

/// Gives a client back the grant types of the credentials file (none listed: both).
pub async fn restore_grant_types(ctx: &mut Ctx, app: &App) -> CheckResult {
    let grants: Vec<&str> = if app.grant_types.is_empty() {
        vec!["authorization_code", "refresh_token"]
    } else {
        app.grant_types.iter().map(String::as_str).collect()
    };
    grant_types_control(ctx, app, &grants).await?;
    ctx.note("client grant types restored");
    Ok(())
}

async fn grant_types_control(ctx: &mut Ctx, app: &App, grants: &[&str]) -> CheckResult {
    control(
        ctx,
        &format!("/__test/apps/{}/grant-types", app.client_id),
        json!({ "grant_types": grants }),
        "to change a client's grant types (partner admin)",
    )
    .await
}

async fn control(ctx: &mut Ctx, path: &str, body: Value, why: &str) -> CheckResult {
    if !ctx.env.controls {
        return Err(Problem::skip(format!(
            "needs the reference server's test controls {why}"
        )));
    }
    let r = ctx.send(Req::post(path).json(body).driver()).await?;
    if r.status() != 200 {
        return Err(Problem::error(format!(
            "the test control {path} answered {}: {}",
            r.status(),
            r.body()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flexslot() -> Profile {
        profile::builtin::find("flexslot")
            .expect("built in")
            .profile()
    }

    fn exchange(
        req: Req,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> contract_client::Exchange {
        contract_client::Exchange {
            req,
            at: chrono::Utc::now(),
            elapsed: std::time::Duration::ZERO,
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_owned(),
        }
    }

    #[test]
    fn a_challenge_keeps_its_scheme_realm_and_error_only() {
        assert_eq!(
            pinned_challenges(
                r#"bearer error_description="a, b", scope="profile", error=invalid_token, realm="x""#
            ),
            r#"bearer error="invalid_token", realm="x""#
        );
        assert_eq!(pinned_challenges("Bearer"), "Bearer");
        assert_eq!(pinned_challenges(r#"Bearer a="open"#), r#"Bearer a="open"#);
    }

    #[test]
    fn transcripts_keep_what_the_contract_pins_of_an_answer() {
        let p = flexslot();
        let json = ("content-type", "application/json");
        let no_store = ("cache-control", "no-store");
        let challenge = (
            "www-authenticate",
            r#"Bearer realm="x", error="invalid_token", error_description="d""#,
        );
        let me = pinned(
            &p,
            "FX-RS-1/x",
            exchange(
                Req::get(p.path("me")),
                401,
                &[json, no_store, challenge],
                r#"{"error":"invalid_token"}"#,
            ),
        );
        assert_eq!(me.body, "");
        assert_eq!(
            me.headers,
            vec![(
                "www-authenticate".to_owned(),
                r#"Bearer realm="x", error="invalid_token""#.to_owned()
            )]
        );
        let basic = ("www-authenticate", r#"Basic realm="x""#);
        let token_401 = exchange(
            Req::post(p.path("token")),
            401,
            &[json, no_store, basic],
            "{}",
        );
        let elsewhere = pinned(&p, "FX-TOKEN-3/wrong-secret", token_401.clone());
        assert_eq!(
            elsewhere.headers,
            vec![("content-type".to_owned(), "application/json".to_owned())]
        );
        let own = pinned(
            &p,
            "FX-TOKEN-3/basic-failure-carries-a-basic-challenge",
            token_401,
        );
        assert!(own.header("www-authenticate").is_some());
        let token_200 = pinned(
            &p,
            "x",
            exchange(Req::post(p.path("token")), 200, &[json, no_store], "{}"),
        );
        assert_eq!(token_200.header("cache-control"), Some("no-store"));
        let intro = pinned(
            &p,
            "x",
            exchange(
                Req::post(p.path("introspect")),
                200,
                &[json],
                r#"{"active":true,"iat":1,"username":"u","exp":2,"client_id":"c","x":1}"#,
            ),
        );
        assert_eq!(
            intro.json().unwrap(),
            json!({"active": true, "exp": 2, "client_id": "c"})
        );
    }

    #[test]
    fn roles_come_from_traits_not_fixture_ids() {
        let ids = profile::builtin::find("flexslot").unwrap().identities();
        let r = FxRoles::pick(&ids).unwrap();
        assert_eq!(r.web.client_id, "fx-web");
        assert_eq!(r.spa.unwrap().client_id, "fx-spa");
        assert_eq!(r.codeonly.unwrap().client_id, "fx-codeonly");
        assert_eq!(r.disabled.unwrap().client_id, "fx-disabled");
        let mut renamed = ids.clone();
        for (i, a) in renamed.apps.iter_mut().enumerate() {
            a.client_id = format!("partner-client-{i}");
        }
        renamed.apps.reverse();
        let r = FxRoles::pick(&renamed).unwrap();
        assert!(r.web.allows_grant("refresh_token") && r.web.kind == AppKind::Confidential);
        assert!(!r.codeonly.unwrap().allows_grant("refresh_token"));
    }
}
