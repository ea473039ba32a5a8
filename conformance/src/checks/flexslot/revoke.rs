//! FX-REVOKE-1 (RFC 7009) and FX-INTRO-1 (RFC 7662). Revocation answers 200 whatever the
//! token, so it is never an oracle of validity; only bad client credentials (401) and a
//! missing `token` (400) are errors. Introspection answers 200 `{"active": false}` for
//! anything not live and `{"active": true, …}` for a live token; its only HTTP errors are
//! client authentication's. Clients authenticate as at `/token`.

use profile::Level;
use serde_json::Value;

use super::{roles, token_error, web_tokens};
use crate::check::{Check, Ctx};
use crate::client::{Req, Resp};
use crate::kit::flows;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};
use contract_client::families::flexslot::basic_authorization;

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "FX-REVOKE-1/live-and-already-revoked-tokens-answer-200",
            "Revoking a live access token answers 200, and revoking it again answers 200 too",
            run!(revoke_twice),
        ),
        Check::new(
            "FX-REVOKE-1/unknown-token-answers-200",
            "Revoking an unknown token answers 200, with or without token_type_hint",
            run!(revoke_unknown),
        ),
        Check::new(
            "FX-REVOKE-1/bad-client-credentials-are-invalid-client",
            "A wrong secret at /revoke is 401 invalid_client",
            run!(revoke_bad_client),
        ),
        Check::new(
            "FX-REVOKE-1/missing-token-is-invalid-request",
            "A revocation without `token` is 400 invalid_request",
            run!(revoke_missing),
        ),
        Check::new(
            "FX-INTRO-1/live-token-is-active",
            "Introspecting a live access token answers 200 {\"active\": true, ...}",
            run!(live),
        ),
        Check::new(
            "FX-INTRO-1/live-token-carries-scope-client-id-exp-sub-token-type",
            "A live token's introspection carries scope, client_id, exp, sub and token_type (RFC 7662 §2.2)",
            run!(live_members),
        )
        .part(Level::Should),
        Check::new(
            "FX-INTRO-1/unknown-revoked-and-rotated-tokens-are-inactive",
            "Unknown, revoked and rotated tokens introspect as 200 {\"active\": false}; a revoked access token and a rotated refresh token introspected live first",
            run!(inactive),
        ),
        Check::new(
            "FX-INTRO-1/inactive-answer-carries-only-active",
            "An unknown or revoked token's introspection carries no member but `active` (RFC 7662 §2.2)",
            run!(inactive_members),
        )
        .part(Level::Should),
        Check::new(
            "FX-INTRO-1/bad-client-credentials-are-invalid-client",
            "A wrong secret at /introspect is 401 invalid_client: the only HTTP error",
            run!(introspect_bad_client),
        ),
    ]
}

/// A 200 revocation answer (RFC 7009 §2.2: the body is not read).
fn revoked_200(r: &Resp, what: &str) -> CheckResult {
    ensure!(
        r.status() == 200,
        r,
        "revoking {what} answered {}, expected 200 (RFC 7009 §2.2)",
        r.status()
    );
    Ok(())
}

async fn revoke_twice(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (t, _) = web_tokens(ctx, &roles).await?;
    let pairs = [
        ("token", t.access.as_str()),
        ("token_type_hint", "access_token"),
    ];
    let r = flows::post_as(ctx, "revoke", &web, &pairs).await?;
    revoked_200(&r, "a live access token")?;
    let r = flows::post_as(ctx, "revoke", &web, &pairs).await?;
    revoked_200(&r, "an already revoked access token")
}

async fn revoke_unknown(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    for hint in [None, Some("refresh_token")] {
        let mut pairs = vec![("token", "conformance-unknown-token")];
        if let Some(h) = hint {
            pairs.push(("token_type_hint", h));
        }
        let r = flows::post_as(ctx, "revoke", &web, &pairs).await?;
        revoked_200(&r, "an unknown token")?;
    }
    Ok(())
}

/// A form POST to `endpoint` with `token`, authenticated with a wrong secret.
fn wrong_secret_req(ctx: &Ctx, endpoint: &str, client_id: &str) -> Req {
    Req::post(ctx.path(endpoint))
        .header(
            "authorization",
            basic_authorization(client_id, "conformance-wrong-secret"),
        )
        .client(client_id)
        .form([("token", "conformance-unknown-token")])
}

async fn revoke_bad_client(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let r = ctx
        .send(wrong_secret_req(ctx, "revoke", &web.client_id))
        .await?;
    // Judged only where client secrets are checked at all (FX-TOKEN-3).
    ctx.error_as("FX-TOKEN-3", &r, "invalid_client").map(drop)
}

async fn revoke_missing(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let r = flows::post_as(ctx, "revoke", &web, &[("token_type_hint", "access_token")]).await?;
    token_error(ctx, &r, "invalid_request")
}

/// Introspects `token` as `app`: the 200 body.
async fn introspect(
    ctx: &mut Ctx,
    app: &profile::App,
    token: &str,
) -> Result<(Resp, Value), Problem> {
    let r = flows::post_as(ctx, "introspect", app, &[("token", token)]).await?;
    let body = ctx.ok_json(&r)?;
    ensure!(
        body.get("active").is_some_and(Value::is_boolean),
        r,
        "the introspection answer has no boolean `active` (RFC 7662 §2.2): {body}"
    );
    Ok((r, body))
}

/// A live access token of the web app, introspected: the answer, its body and the app's
/// client id. Fails unless the token is active.
async fn introspect_live(ctx: &mut Ctx) -> Result<(Resp, Value, String), Problem> {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (t, _) = web_tokens(ctx, &roles).await?;
    let (r, body) = introspect(ctx, &web, &t.access).await?;
    ensure!(
        body["active"] == true,
        r,
        "a live access token introspects as {body}"
    );
    Ok((r, body, web.client_id))
}

async fn live(ctx: &mut Ctx) -> CheckResult {
    introspect_live(ctx).await.map(drop)
}

async fn live_members(ctx: &mut Ctx) -> CheckResult {
    let (r, body, client_id) = introspect_live(ctx).await?;
    for member in ["scope", "client_id", "sub", "token_type"] {
        ensure!(
            body.get(member).is_some_and(Value::is_string),
            r,
            "the live token's introspection has no string `{member}`"
        );
    }
    ensure!(
        body.get("exp").is_some_and(Value::is_u64),
        r,
        "the live token's introspection has no integer `exp`"
    );
    ensure!(
        body["client_id"] == client_id.as_str(),
        r,
        "the introspection names client_id {}, not the client the token was issued to",
        body["client_id"]
    );
    Ok(())
}

/// `token` introspects as `{"active": false}`.
async fn not_active(ctx: &mut Ctx, app: &profile::App, token: &str, what: &str) -> CheckResult {
    let (r, body) = introspect(ctx, app, token).await?;
    ensure!(
        body["active"] == false,
        r,
        "{what} introspects as active: {body}"
    );
    Ok(())
}

/// `token` introspects as `{"active": true, …}`.
async fn active(ctx: &mut Ctx, app: &profile::App, token: &str, what: &str) -> CheckResult {
    let (r, body) = introspect(ctx, app, token).await?;
    ensure!(body["active"] == true, r, "{what} introspects as {body}");
    Ok(())
}

/// Each token is introspected live before it is revoked or rotated, so that an answer
/// kept from before (a cache by token) shows. The rotation is another grant's: revoking
/// an access token may revoke its grant's refresh tokens too (RFC 7009 §2.1).
async fn inactive(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    not_active(ctx, &web, "conformance-unknown-token", "an unknown token").await?;
    let (t, _) = web_tokens(ctx, &roles).await?;
    active(ctx, &web, &t.access, "a live access token").await?;
    let r = flows::post_as(ctx, "revoke", &web, &[("token", &t.access)]).await?;
    revoked_200(&r, "a live access token")?;
    not_active(ctx, &web, &t.access, "a revoked access token").await?;
    let (_, old) = web_tokens(ctx, &roles).await?;
    active(ctx, &web, &old, "a live refresh token").await?;
    let r = flows::refresh_at_token(ctx, &web, &old, None).await?;
    ensure!(r.status() == 200, r, "refreshing answered {}", r.status());
    not_active(ctx, &web, &old, "a rotated refresh token").await
}

/// What RFC 7662 §2.2 defines an introspection answer to tell of a token. FX-INTRO-1's
/// SHOULD ("no member but `active`") is RFC 7662 §2.2's "SHOULD NOT include any additional
/// information about an inactive token": these members are that information. A member
/// outside them (a gateway's `x_gateway`) says nothing of the token and is an extension
/// member, which the contract's Levels paragraph leaves free at every level.
const TOKEN_INFORMATION: &[&str] = &[
    "scope",
    "client_id",
    "username",
    "token_type",
    "exp",
    "iat",
    "nbf",
    "sub",
    "aud",
    "iss",
    "jti",
];

/// FX-INTRO-1's SHOULD (RFC 7662 §2.2): an inactive answer says nothing of the token.
async fn inactive_members(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (t, _) = web_tokens(ctx, &roles).await?;
    let r = flows::post_as(ctx, "revoke", &web, &[("token", &t.access)]).await?;
    revoked_200(&r, "a live access token")?;
    for (token, what) in [
        ("conformance-unknown-token", "an unknown token"),
        (t.access.as_str(), "a revoked access token"),
    ] {
        let (r, body) = introspect(ctx, &web, token).await?;
        ensure!(
            body["active"] == false,
            r,
            "{what} introspects as active: {body}"
        );
        let told: Vec<&String> = body
            .as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| TOKEN_INFORMATION.contains(&k.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        ensure!(
            told.is_empty(),
            r,
            "FX-INTRO-1: the introspection of {what} carries {told:?} besides `active` (SHOULD not, RFC 7662 §2.2)"
        );
    }
    Ok(())
}

async fn introspect_bad_client(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let r = ctx
        .send(wrong_secret_req(ctx, "introspect", &web.client_id))
        .await?;
    // Judged only where client secrets are checked at all (FX-TOKEN-3).
    ctx.error_as("FX-TOKEN-3", &r, "invalid_client").map(drop)
}
