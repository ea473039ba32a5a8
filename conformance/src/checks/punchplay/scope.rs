//! PP-SCOPE: the four scopes, defaults, refusals, and `scope` in responses.

use serde_json::Value;

use super::roles;
use super::{error_redirect, scope_set, spa_or_skip};
use crate::check::{Check, Ctx};
use crate::client::Req;
use crate::kit::flows::{self, authorize_path, with_auth};
use crate::outcome::CheckResult;
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "PP-SCOPE-1/every-documented-scope-is-grantable",
            "A request for all four scopes, space-separated, is granted all four",
            run!(all_scopes),
        )
        .budget("token", 1),
        Check::new(
            "PP-SCOPE-2/omitted-scope-grants-allowed-scopes",
            "A request without scope is granted the app's allowed_scopes",
            run!(omitted_scope),
        )
        .budget("token", 1),
        Check::new(
            "PP-SCOPE-3/authorize-outside-allowed-scopes-redirects-invalid-scope",
            "At the authorize step, a scope the app is not allowed is an invalid_scope redirect",
            run!(authorize_invalid_scope),
        ),
        Check::new(
            "PP-SCOPE-3/device-code-with-unknown-scope-is-invalid-scope",
            "An unknown scope, or one outside the app's allowed_scopes, at the device endpoint is 400 invalid_scope",
            run!(device_unknown_scope),
        )
        .budget("device-code", 2),
        Check::new(
            "PP-SCOPE-4/token-and-device-responses-carry-the-granted-scope",
            "Token and device-code responses carry `scope`, the set attached to the tokens",
            run!(responses_carry_scope),
        )
        .budget("device-code", 1)
        .budget("device-token", 1)
        .budget("token", 1),
    ]
}

async fn all_scopes(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let all = ctx.all_scopes();
    let t = flows::code_tokens(ctx, &web, Some(&all)).await?;
    let resp = ctx.last_response()?;
    let granted = flows::granted_scope(ctx, &resp, &t)?;
    ensure!(
        scope_set(granted) == scope_set(&all),
        resp,
        "asked for `{all}`, granted `{granted}`"
    );
    Ok(())
}

async fn omitted_scope(ctx: &mut Ctx) -> CheckResult {
    // The narrow app: with every scope allowed, "the app's allowed scopes" and "every
    // scope" could not be told apart.
    let app = spa_or_skip(ctx)?;
    let t = flows::code_tokens_without_scope(ctx, &app).await?;
    let resp = ctx.last_response()?;
    let granted = flows::granted_scope(ctx, &resp, &t)?;
    ensure!(
        scope_set(granted) == scope_set(&app.allowed_scopes.join(" ")),
        resp,
        "without `scope`, granted `{granted}`; the app's allowed_scopes are `{}`",
        app.allowed_scopes.join(" ")
    );
    Ok(())
}

async fn authorize_invalid_scope(ctx: &mut Ctx) -> CheckResult {
    let app = spa_or_skip(ctx)?;
    let outside = ctx
        .env
        .profile
        .scopes
        .known
        .iter()
        .find(|s| !app.allowed_scopes.contains(s))
        .cloned()
        .unwrap_or_default();
    let pkce = flows::pkce(ctx);
    let state = flows::state(ctx);
    let redirect = app.redirect_uris[0].clone();
    for scope in [outside.as_str(), "profile:read telepathy:read"] {
        let path = authorize_path(
            ctx,
            &[
                ("response_type", "code"),
                ("client_id", &app.client_id),
                ("redirect_uri", &redirect),
                ("code_challenge", &pkce.challenge),
                ("code_challenge_method", "S256"),
                ("scope", scope),
                ("state", &state),
            ],
        );
        let r = ctx.send(Req::get(path)).await?;
        error_redirect(ctx, &r, &redirect, "invalid_scope", &state)?;
    }
    Ok(())
}

async fn device_unknown_scope(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let spa = spa_or_skip(ctx)?;
    let path = ctx.path("device_code");
    let r = ctx
        .send(Req::post(path).form(with_auth(&tv, &[("scope", "profile:read telepathy:read")])))
        .await?;
    ctx.error(&r, "invalid_scope")?;
    // A known scope outside the app's allowed_scopes is refused the same way.
    if let Some(outside) = ctx
        .env
        .profile
        .scopes
        .known
        .iter()
        .find(|s| !spa.allowed_scopes.contains(s))
        .cloned()
    {
        let path = ctx.path("device_code");
        let r = ctx
            .send(Req::post(path).form(with_auth(&spa, &[("scope", outside.as_str())])))
            .await?;
        ctx.error(&r, "invalid_scope")?;
    }
    Ok(())
}

async fn responses_carry_scope(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let narrow = ctx.env.profile.scopes.known[..2].join(" ");
    let dc = flows::device_start(ctx, &tv, Some(&narrow)).await?;
    let got = dc
        .body
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("(missing)")
        .to_owned();
    ensure!(
        scope_set(&got) == scope_set(&narrow),
        dc.resp,
        "the device-code response's scope is `{got}`, asked for `{narrow}`"
    );
    flows::device_decide(ctx, &dc, true).await?;
    let r = flows::poll_until_decided(ctx, &tv, &dc).await?;
    let body = ctx.ok_json(&r)?;
    let got = body
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("(missing)");
    ensure!(
        scope_set(got) == scope_set(&narrow),
        r,
        "the device token response's scope is `{got}`, asked for `{narrow}`"
    );
    let web = roles(ctx)?.web.clone();
    let one = ctx.env.profile.scopes.known[0].clone();
    let t = flows::code_tokens(ctx, &web, Some(&one)).await?;
    let resp = ctx.last_response()?;
    ensure!(
        scope_set(&t.scope) == scope_set(&one),
        resp,
        "the token response's scope is `{}`, asked for `{one}`",
        t.scope
    );
    Ok(())
}
