//! PP-TOKEN: the token endpoint: code redemption, grant errors, bodies, client auth.

use profile::Level;
use serde_json::{Value, json};

use super::roles;
use crate::check::{Check, Ctx};
use crate::client::{Req, Resp};
use crate::kit::flows::{self, with_auth};
use crate::kit::time;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "PP-TOKEN-1/code-redemption-answers-a-bearer-token-pair",
            "Redeeming a code answers access_token, token_type Bearer, expires_in, refresh_token and scope",
            run!(token_pair),
        )
        .budget("token", 1),
        Check::new(
            "PP-TOKEN-2/unknown-code-and-refresh-token-are-invalid-grant",
            "An unknown code or refresh token is 400 invalid_grant",
            run!(unknown_grants),
        )
        .budget("token", 2),
        Check::new(
            "PP-TOKEN-3/other-grant-types-are-unsupported",
            "password, client_credentials and made-up grant types are 400 unsupported_grant_type",
            run!(unsupported_grant),
        )
        .budget("token", 3),
        Check::new(
            "PP-TOKEN-3/missing-fields-are-invalid-request",
            "A missing grant_type, code, redirect_uri or code_verifier is 400 invalid_request",
            run!(missing_fields),
        )
        .budget("token", 4),
        Check::new(
            "PP-TOKEN-4/json-bodies-are-accepted",
            "Every OAuth endpoint (token, device code, device token, refresh) accepts an application/json body",
            run!(json_body),
        )
        .budget("device-code", 1)
        .budget("device-token", 1)
        .budget("refresh", 1)
        .budget("token", 2),
        Check::new(
            "PP-TOKEN-4/other-content-types-are-invalid-request",
            "A text/plain body at any OAuth endpoint is 400 invalid_request",
            run!(other_content_type),
        )
        .budget("device-code", 1)
        .budget("device-token", 1)
        .budget("refresh", 1)
        .budget("token", 1),
        Check::new(
            "PP-TOKEN-4/token-responses-carry-no-store",
            "Every token response (code, refresh, device token, auth/refresh) carries Cache-Control: no-store (RFC 6749 §5.1)",
            run!(no_store),
        )
        .budget("device-code", 1)
        .budget("device-token", 1)
        .budget("refresh", 1)
        .budget("token", 2)
        .part(Level::Should),
        Check::new(
            "PP-TOKEN-4/access-tokens-live-the-documented-lifetime",
            "expires_in is the profile's access-token lifetime, and the token works until just before it ends",
            run!(access_lifetime),
        )
        .budget("token", 1)
        .exclusive()
        .waits(3599),
        Check::new(
            "PP-TOKEN-5/wrong-basic-credentials-are-invalid-client-with-a-basic-challenge",
            "Wrong HTTP Basic credentials are 401 invalid_client with WWW-Authenticate: Basic (RFC 6749 §5.2)",
            run!(wrong_basic),
        )
        .budget("token", 1),
        Check::new(
            "PP-TOKEN-5/http-basic-client-authentication",
            "A confidential client may authenticate with HTTP Basic",
            run!(basic_auth),
        )
        .budget("token", 1),
        Check::new(
            "PP-TOKEN-5/basic-and-body-credentials-together-are-invalid-request",
            "HTTP Basic and body credentials at once are 400 invalid_request",
            run!(basic_and_body),
        )
        .budget("token", 1),
    ]
}

async fn token_pair(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let r = flows::redeem_new_code(ctx, &web, None).await?;
    let body = ctx.ok_json(&r)?;
    let keys = ["access_token", "refresh_token", "scope"];
    crate::kit::members::require_strings(ctx, &r, &body, &keys, "the token response")?;
    ensure!(
        body.get("token_type")
            .and_then(Value::as_str)
            .is_some_and(|t| super::FREEDOMS.same("token_type", "Bearer", t)),
        r,
        "token_type is {:?}, expected Bearer",
        body.get("token_type")
    );
    ensure!(
        body.get("expires_in")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 0),
        r,
        "expires_in is {:?}, expected a positive number",
        body.get("expires_in")
    );
    Ok(())
}

async fn unknown_grants(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let r = flows::redeem(
        ctx,
        &web,
        "conformance-unknown-code",
        &web.redirect_uris[0],
        "conformance-verifier-0123456789-0123456789-0123456789",
    )
    .await?;
    ctx.error(&r, "invalid_grant")?;
    let r = flows::refresh_at_token(ctx, &web, "conformance-unknown-refresh", None).await?;
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}

async fn unsupported_grant(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let username = roles(ctx)?.user.username.clone();
    let token = ctx.path("token");
    for gt in ["password", "client_credentials", "urn:conformance:made-up"] {
        let r = ctx
            .send(Req::post(&token).form(with_auth(
                &web,
                &[
                    ("grant_type", gt),
                    ("username", username.as_str()),
                    ("password", "x"),
                ],
            )))
            .await?;
        ctx.error(&r, "unsupported_grant_type")?;
    }
    Ok(())
}

async fn missing_fields(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let token = ctx.path("token");
    let redirect = web.redirect_uris[0].clone();
    let v = "conformance-verifier-0123456789-0123456789-0123456789";
    let cases: [&[(&str, &str)]; 4] = [
        &[
            ("code", "c"),
            ("redirect_uri", &redirect),
            ("code_verifier", v),
        ],
        &[
            ("grant_type", "authorization_code"),
            ("redirect_uri", &redirect),
            ("code_verifier", v),
        ],
        &[
            ("grant_type", "authorization_code"),
            ("code", "c"),
            ("code_verifier", v),
        ],
        &[
            ("grant_type", "authorization_code"),
            ("code", "c"),
            ("redirect_uri", &redirect),
        ],
    ];
    for pairs in cases {
        let r = ctx
            .send(Req::post(&token).form(with_auth(&web, pairs)))
            .await?;
        ctx.error(&r, "invalid_request")?;
    }
    Ok(())
}

async fn json_body(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let tv = roles(ctx)?.tv.clone();
    let with_client = |app: &profile::App, mut body: Value| {
        for (k, v) in contract_client::flows::ClientAuth::of_app(app).params() {
            body[k] = Value::String(v);
        }
        body
    };
    // The token endpoint: code redemption, then refresh.
    let pkce = flows::pkce(ctx);
    let code = flows::authorize_code(ctx, &web, &pkce, None).await?;
    let body = with_client(
        &web,
        json!({"grant_type": "authorization_code", "code": code, "redirect_uri": web.redirect_uris[0], "code_verifier": pkce.verifier}),
    );
    let r = ctx.send(Req::post(ctx.path("token")).json(body)).await?;
    let b = ctx.ok_json(&r)?;
    let t = flows::Tokens::from(&r, &b)?;
    let body = with_client(
        &web,
        json!({"grant_type": "refresh_token", "refresh_token": t.refresh}),
    );
    let r = ctx.send(Req::post(ctx.path("token")).json(body)).await?;
    ctx.ok_json(&r)?;
    // The device endpoints and the device refresh endpoint.
    let r = ctx
        .send(Req::post(ctx.path("device_code")).json(with_client(&tv, json!({}))))
        .await?;
    let dc = flows::DeviceCode::read(r)?;
    let device_code = dc.device_code.clone();
    flows::device_decide(ctx, &dc, true).await?;
    if !ctx.env.driver.is_immediate() {
        return Err(crate::outcome::Problem::skip(
            "needs an immediate approval driver",
        ));
    }
    let r = ctx
        .send(
            Req::post(ctx.path("device_token"))
                .json(with_client(&tv, json!({"device_code": device_code}))),
        )
        .await?;
    let b = ctx.ok_json(&r)?;
    let t = flows::Tokens::from(&r, &b)?;
    let r = ctx
        .send(
            Req::post(ctx.path("refresh"))
                .json(with_client(&tv, json!({"refresh_token": t.refresh}))),
        )
        .await?;
    ctx.ok_json(&r)?;
    Ok(())
}

async fn other_content_type(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let tv = roles(ctx)?.tv.clone();
    let cases = [
        (
            "token",
            web.client_id.clone(),
            format!(
                "grant_type=refresh_token&refresh_token=x&client_id={}",
                web.client_id
            ),
        ),
        (
            "device_code",
            tv.client_id.clone(),
            format!("client_id={}", tv.client_id),
        ),
        (
            "device_token",
            tv.client_id.clone(),
            format!("client_id={}&device_code=x", tv.client_id),
        ),
        (
            "refresh",
            tv.client_id.clone(),
            format!("client_id={}&refresh_token=x", tv.client_id),
        ),
    ];
    for (endpoint, client, text) in cases {
        let r = ctx
            .send(
                Req::post(ctx.path(endpoint))
                    .client(&client)
                    .raw("text/plain", text),
            )
            .await?;
        ctx.error(&r, "invalid_request")?;
    }
    Ok(())
}

async fn no_store(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let r = flows::redeem_new_code(ctx, &web, None).await?;
    let body = ctx.ok_json(&r)?;
    carries_no_store(&r, "token response")?;
    let t = flows::Tokens::from(&r, &body)?;
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, None).await?;
    ctx.ok_json(&r)?;
    carries_no_store(&r, "refresh response")?;
    // The device flow's token responses too.
    let tv = roles(ctx)?.tv.clone();
    let dc = flows::device_start(ctx, &tv, None).await?;
    flows::device_decide(ctx, &dc, true).await?;
    let r = flows::poll_until_decided(ctx, &tv, &dc).await?;
    let body = ctx.ok_json(&r)?;
    carries_no_store(&r, "device token response")?;
    let t = flows::Tokens::from(&r, &body)?;
    let r = super::refresh_device(ctx, &tv, &t.refresh).await?;
    ctx.ok_json(&r)?;
    carries_no_store(&r, "auth/refresh response")?;
    Ok(())
}

/// PP-TOKEN-4: "The authorization server MUST include the HTTP "Cache-Control" response
/// header field with a value of "no-store" in any response containing tokens" (RFC 6749
/// §5.1). `what` names the response in the failure.
fn carries_no_store(r: &Resp, what: &str) -> Result<(), Problem> {
    let cc = r.header("cache-control").unwrap_or("").to_ascii_lowercase();
    ensure!(
        cc.split(',').any(|d| d.trim() == "no-store"),
        r,
        "the {what}'s Cache-Control is {cc:?}, expected no-store"
    );
    Ok(())
}

async fn access_lifetime(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    // The token is issued after this reading of the target's clock.
    let issued_no_earlier = time::now(ctx).await?;
    let r = flows::redeem_new_code(ctx, &web, None).await?;
    let body = ctx.ok_json(&r)?;
    let lifetime = ctx.env.profile.lifetimes.access_token;
    ensure!(
        body.get("expires_in").and_then(Value::as_u64) == Some(lifetime),
        r,
        "expires_in is {:?}, the profile says {lifetime}",
        body.get("expires_in")
    );
    let t = flows::Tokens::from(&r, &body)?;
    let life = time::Lifetime {
        issued_no_earlier,
        issued_no_later: time::now(ctx).await?,
        secs: lifetime,
        what: "access token",
    };
    life.to_just_before_its_end(ctx).await?;
    let r = flows::me(ctx, &t.access).await?;
    if r.status() != 200 {
        life.landed_before_its_end(ctx, "the request").await?;
    }
    ensure!(
        r.status() == 200,
        r,
        "one second before its {lifetime} s lifetime ends, the access token answers {}",
        r.status()
    );
    Ok(())
}

async fn wrong_basic(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let token = ctx.path("token");
    let r = ctx
        .send(
            Req::post(token)
                .client(&web.client_id)
                .basic(&web.client_id, "conformance-wrong-secret")
                .form([
                    ("grant_type", "refresh_token"),
                    ("refresh_token", "conformance-unknown-refresh"),
                ]),
        )
        .await?;
    // The refusal of a wrong secret is PP-APP-3's; the Basic challenge is this check's.
    ctx.error_as("PP-APP-3", &r, "invalid_client")?;
    let challenge = r.header("www-authenticate").unwrap_or("");
    ensure!(
        challenge.to_ascii_lowercase().starts_with("basic"),
        r,
        "invalid_client after HTTP Basic carries WWW-Authenticate {challenge:?}, expected a Basic challenge"
    );
    Ok(())
}

async fn basic_auth(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let secret = super::client_secret(&web);
    let pkce = flows::pkce(ctx);
    let code = flows::authorize_code(ctx, &web, &pkce, None).await?;
    let token = ctx.path("token");
    let r = ctx
        .send(
            Req::post(token)
                .client(&web.client_id)
                .basic(&web.client_id, &secret)
                .form([
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", web.redirect_uris[0].as_str()),
                    ("code_verifier", pkce.verifier.as_str()),
                ]),
        )
        .await?;
    ctx.ok_json(&r)?;
    Ok(())
}

async fn basic_and_body(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let secret = super::client_secret(&web);
    let token = ctx.path("token");
    let r = ctx
        .send(
            Req::post(token)
                .basic(&web.client_id, &secret)
                .form(with_auth(
                    &web,
                    &[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", "conformance-unknown-refresh"),
                    ],
                )),
        )
        .await?;
    ctx.error(&r, "invalid_request")?;
    Ok(())
}
