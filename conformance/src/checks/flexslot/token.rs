//! FX-TOKEN-1..7 at `/token`: the content type, missing parameters, client
//! authentication (HTTP Basic for confidential clients, `client_id` for public ones, the
//! Basic challenge), codes (single use, 60 s, PKCE), grant types and scope. Every error is
//! read as RFC 6749 §5.2 says (`token_error`).

use profile::Level;
use serde_json::json;

use super::{
    FxRoles, disabled_or_skip, read_tokens, roles, spa_or_skip, token_error, token_error_one_of,
    web_tokens,
};
use crate::check::{Check, Ctx};
use crate::client::{Req, Resp};
use crate::free;
use crate::kit::flows;
use crate::outcome::CheckResult;
use crate::{ensure, run};
use contract_client::families::flexslot::basic_authorization;
use contract_client::flows::ClientAuth;

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "FX-TOKEN-1/other-content-types-are-invalid-request",
            "A token request as JSON or text/plain is 400 invalid_request with {error, error_description}",
            run!(content_types),
        ),
        Check::new(
            "FX-TOKEN-1/error-bodies-carry-an-error-description",
            "A token endpoint error body carries a string error_description besides error (SHOULD, RFC 6749 §5.2)",
            run!(error_description),
        )
        .part(Level::Should),
        Check::new(
            "FX-TOKEN-2/missing-parameters-are-invalid-request",
            "A missing grant_type, code, redirect_uri or refresh_token is 400 invalid_request",
            run!(missing_parameters),
        ),
        Check::new(
            "FX-TOKEN-2/redirect-uri-differing-from-authorize-is-invalid-request-or-invalid-grant",
            "A redirect_uri at /token that differs from the one sent to /authorize is 400 invalid_request or invalid_grant",
            run!(redirect_differs),
        ),
        Check::new(
            "FX-TOKEN-3/confidential-client-redeems-with-http-basic",
            "A confidential client redeems a code with HTTP Basic: 200 with access_token, token_type Bearer (any case) and refresh_token",
            run!(basic_redeems),
        ),
        Check::new(
            "FX-TOKEN-3/token-answer-carries-expires-in",
            "A token answer carries a numeric expires_in (RECOMMENDED, RFC 6749 §5.1)",
            run!(expires_in),
        )
        .part(Level::Should),
        Check::new(
            "FX-TOKEN-3/public-client-redeems-with-client-id",
            "A public client redeems a code with client_id in the body",
            run!(public_redeems),
        ),
        Check::new(
            "FX-TOKEN-3/wrong-secret-or-unknown-client-is-invalid-client",
            "A wrong secret or an unknown client_id in HTTP Basic is 401 invalid_client",
            run!(wrong_credentials),
        ),
        Check::new(
            "FX-TOKEN-3/disabled-client-is-invalid-client",
            "A disabled client with its right secret is 401 invalid_client",
            run!(disabled),
        ),
        Check::new(
            "FX-TOKEN-3/confidential-client-without-basic-is-invalid-client",
            "A confidential client sending client_id and client_secret in the body is 401 invalid_client",
            run!(body_credentials),
        ),
        Check::new(
            "FX-TOKEN-3/public-client-without-client-id-is-invalid-client",
            "A token request with no client authentication at all is 401 invalid_client",
            run!(no_client_id),
        ),
        Check::new(
            "FX-TOKEN-3/basic-failure-carries-a-basic-challenge",
            "A 401 after HTTP Basic carries WWW-Authenticate: Basic (RFC 6749 §5.2)",
            run!(basic_challenge),
        )
        .part(Level::Should),
        Check::new(
            "FX-TOKEN-4/code-redeemed-twice-is-invalid-grant",
            "A code already used is 400 invalid_grant",
            run!(code_twice),
        ),
        Check::new(
            "FX-TOKEN-4/code-older-than-its-lifetime-is-invalid-grant",
            "A code older than 60 s is 400 invalid_grant",
            run!(code_expires),
        )
        .exclusive()
        .waits(61),
        Check::new(
            "FX-TOKEN-4/verifier-not-hashing-to-the-challenge-is-invalid-grant",
            "A code_verifier that does not hash to the code_challenge is 400 invalid_grant",
            run!(wrong_verifier),
        ),
        Check::new(
            "FX-TOKEN-6/password-client-credentials-and-others-are-unsupported-grant-type",
            "grant_type password, client_credentials or anything but the two supported is 400 unsupported_grant_type",
            run!(unsupported_grants),
        ),
        Check::new(
            "FX-TOKEN-7/refresh-asking-a-scope-not-allowed-is-invalid-scope",
            "A scope unknown or not allowed to the client at /token is 400 invalid_scope",
            run!(invalid_scope),
        ),
    ]
}

/// Bogus grant fields: the requests below fail before any grant is looked up.
const BOGUS_CODE: &[(&str, &str)] = &[
    ("grant_type", "authorization_code"),
    ("code", "conformance-unknown-code"),
    ("redirect_uri", "http://127.0.0.1:9/conformance"),
    (
        "code_verifier",
        "conformance-verifier-conformance-verifier-0123456789",
    ),
];

async fn content_types(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let auth = ClientAuth::of_app(&web);
    let secret = auth.secret.clone().unwrap_or_default();
    let basic = basic_authorization(&auth.client_id, &secret);
    let fields: serde_json::Map<String, serde_json::Value> = BOGUS_CODE
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let path = ctx.path("token");
    let as_json = Req::post(&path)
        .header("authorization", basic.clone())
        .json(serde_json::Value::Object(fields));
    let r = ctx.send(as_json).await?;
    token_error(ctx, &r, "invalid_request")?;
    let text = BOGUS_CODE
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let as_text = Req::post(&path)
        .header("authorization", basic)
        .raw("text/plain", text);
    let r = ctx.send(as_text).await?;
    token_error(ctx, &r, "invalid_request")
}

async fn missing_parameters(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    // No grant_type at all.
    let r = flows::post_as(ctx, "token", &web, &BOGUS_CODE[1..]).await?;
    token_error(ctx, &r, "invalid_request")?;
    // authorization_code without code.
    let r = flows::post_as(
        ctx,
        "token",
        &web,
        &[BOGUS_CODE[0], BOGUS_CODE[2], BOGUS_CODE[3]],
    )
    .await?;
    token_error(ctx, &r, "invalid_request")?;
    // refresh_token without refresh_token.
    let r = flows::post_as(ctx, "token", &web, &[("grant_type", "refresh_token")]).await?;
    token_error(ctx, &r, "invalid_request")?;
    // authorization_code with a live code but no redirect_uri.
    let pkce = flows::pkce(ctx);
    let code = flows::authorize_code(ctx, &web, &pkce, None).await?;
    let r = flows::post_as(
        ctx,
        "token",
        &web,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &pkce.verifier),
        ],
    )
    .await?;
    token_error(ctx, &r, "invalid_request")?;
    Ok(())
}

async fn redirect_differs(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let pkce = flows::pkce(ctx);
    let code = flows::authorize_code(ctx, &web, &pkce, None).await?;
    let other = format!("{}/other", flows::redirect_of(&web).trim_end_matches('/'));
    let r = flows::redeem(ctx, &web, &code, &other, &pkce.verifier).await?;
    // FX-TOKEN-2: seed 004 lists this cause under both codes, RFC 6749 §5.2 under
    // invalid_grant; the snapshot frees the same two (free::RFC_6749.one_of).
    let codes = free::RFC_6749
        .one_of("error", ctx.check_id)
        .unwrap_or(&["invalid_request"]);
    token_error_one_of(ctx, &r, codes).map(drop)
}

/// The web app's code flow: a token answer with a refresh token (`scope` may be left
/// out, equal to the one asked for: RFC 6749 §5.1).
async fn basic_redeems(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let r = flows::redeem_new_code(ctx, &web, None).await?;
    let t = read_tokens(&r)?;
    ensure!(
        t.refresh.is_some(),
        r,
        "a client configured for refresh_token got no `refresh_token`"
    );
    Ok(())
}

/// RFC 6749 §5.1: `expires_in` is RECOMMENDED, so a token answer without it fails here,
/// at SHOULD, and nowhere else.
async fn expires_in(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let r = flows::redeem_new_code(ctx, &web, None).await?;
    read_tokens(&r)?;
    let body = r.json()?;
    ensure!(
        body.get("expires_in")
            .and_then(serde_json::Value::as_u64)
            .is_some(),
        r,
        "FX-TOKEN-3: the token answer has no numeric `expires_in` (RECOMMENDED, RFC 6749 §5.1)"
    );
    Ok(())
}

/// FX-TOKEN-1's SHOULD: an error body carries `error_description` (RFC 6749 §5.2 makes
/// it optional, so only this check asks for it). Whichever RFC 6749 §5.2 code the error
/// has is the business of the code's clause (FX-TOKEN-2, FX-TOKEN-6), not this one's.
async fn error_description(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let without_grant_type = flows::post_as(ctx, "token", &web, &BOGUS_CODE[1..]).await?;
    let unsupported = flows::post_as(ctx, "token", &web, &[("grant_type", "password")]).await?;
    let codes = free::RFC_6749
        .one_of("error", ctx.check_id)
        .unwrap_or(free::TOKEN_ERRORS);
    for r in [without_grant_type, unsupported] {
        let code = token_error_one_of(ctx, &r, codes)?;
        ensure!(
            r.json()?
                .get("error_description")
                .is_some_and(serde_json::Value::is_string),
            r,
            "FX-TOKEN-1: the `{code}` body has no string `error_description` (SHOULD)"
        );
    }
    Ok(())
}

async fn public_redeems(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let spa = spa_or_skip(&roles)?;
    let r = flows::redeem_new_code(ctx, &spa, None).await?;
    read_tokens(&r)?;
    Ok(())
}

/// A token request authenticated with Basic as `id`:`secret` (form-encoded).
fn basic_req(ctx: &Ctx, id: &str, secret: &str) -> Req {
    Req::post(ctx.path("token"))
        .header("authorization", basic_authorization(id, secret))
        .client(id)
        .form(BOGUS_CODE.iter().copied())
}

/// The web app's id with a wrong secret in HTTP Basic: 401 invalid_client.
async fn wrong_secret(ctx: &mut Ctx) -> Result<Resp, crate::outcome::Problem> {
    let web = roles(ctx)?.web;
    let r = ctx
        .send(basic_req(ctx, &web.client_id, "conformance-wrong-secret"))
        .await?;
    token_error(ctx, &r, "invalid_client")?;
    Ok(r)
}

async fn wrong_credentials(ctx: &mut Ctx) -> CheckResult {
    wrong_secret(ctx).await?;
    let r = ctx
        .send(basic_req(ctx, "conformance-no-such-client", "whatever"))
        .await?;
    token_error(ctx, &r, "invalid_client")
}

async fn disabled(ctx: &mut Ctx) -> CheckResult {
    let app = disabled_or_skip(&roles(ctx)?)?;
    let r = flows::post_as(ctx, "token", &app, BOGUS_CODE).await?;
    token_error(ctx, &r, "invalid_client")
}

async fn body_credentials(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    // The shared flows' way: client_id and client_secret as body parameters.
    let pairs = ClientAuth::of_app(&web).with(BOGUS_CODE);
    let r = ctx.send(Req::post(ctx.path("token")).form(pairs)).await?;
    token_error(ctx, &r, "invalid_client")
}

async fn no_client_id(ctx: &mut Ctx) -> CheckResult {
    let r = ctx
        .send(Req::post(ctx.path("token")).form(BOGUS_CODE.iter().copied()))
        .await?;
    token_error(ctx, &r, "invalid_client")
}

async fn basic_challenge(ctx: &mut Ctx) -> CheckResult {
    let r = wrong_secret(ctx).await?;
    super::challenge(&r, "Basic")?;
    Ok(())
}

/// A fresh code of the web app and its verifier.
async fn fresh_code(
    ctx: &mut Ctx,
    roles: &FxRoles,
) -> Result<(String, String), crate::outcome::Problem> {
    let pkce = flows::pkce(ctx);
    let code = flows::authorize_code(ctx, &roles.web, &pkce, None).await?;
    Ok((code, pkce.verifier))
}

async fn code_twice(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (code, verifier) = fresh_code(ctx, &roles).await?;
    let redirect = flows::redirect_of(&web);
    let r = flows::redeem(ctx, &web, &code, &redirect, &verifier).await?;
    read_tokens(&r)?;
    let r = flows::redeem(ctx, &web, &code, &redirect, &verifier).await?;
    token_error(ctx, &r, "invalid_grant")
}

async fn code_expires(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (code, verifier) = fresh_code(ctx, &roles).await?;
    let lifetime = ctx.profile().lifetimes.authorization_code;
    ctx.advance(lifetime as f64 + 1.0).await?;
    let r = flows::redeem(ctx, &web, &code, &flows::redirect_of(&web), &verifier).await?;
    token_error(ctx, &r, "invalid_grant")
}

async fn wrong_verifier(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (code, _) = fresh_code(ctx, &roles).await?;
    let other = flows::pkce(ctx);
    let r = flows::redeem(ctx, &web, &code, &flows::redirect_of(&web), &other.verifier).await?;
    token_error(ctx, &r, "invalid_grant")
}

async fn unsupported_grants(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let user = ctx.env.ids.users.first().cloned();
    let username = user
        .as_ref()
        .map_or("alice", |u| u.username.as_str())
        .to_owned();
    let cases: [&[(&str, &str)]; 3] = [
        &[
            ("grant_type", "password"),
            ("username", &username),
            ("password", "conformance-not-the-password"),
        ],
        &[("grant_type", "client_credentials")],
        &[("grant_type", "urn:example:conformance-unknown-grant")],
    ];
    for pairs in cases {
        let r = flows::post_as(ctx, "token", &web, pairs).await?;
        token_error(ctx, &r, "unsupported_grant_type")?;
    }
    Ok(())
}

async fn invalid_scope(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (_, refresh) = web_tokens(ctx, &roles).await?;
    let r = flows::post_as(
        ctx,
        "token",
        &web,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("scope", "conformance-unknown-scope"),
        ],
    )
    .await?;
    token_error(ctx, &r, "invalid_scope")
}
