//! Refresh at `/token`: rotation and replay (FX-TOKEN-4, RFC 9700 §4.14.2), idle expiry
//! (FX-TOKEN-4), the client's grant configuration (FX-TOKEN-5) and the concurrent race
//! (FX-TOKEN-8).

use super::{
    FxTokens, code_tokens, codeonly_or_skip, read_tokens, restore_grant_types, roles,
    set_grant_types, token_error, web_tokens,
};
use crate::check::{Check, Ctx};
use crate::client::Resp;
use crate::kit::{flows, race};
use crate::outcome::CheckResult;
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "FX-TOKEN-4/rotated-refresh-token-is-invalid-grant",
            "A refresh answers a new pair that works; the old refresh token is then 400 invalid_grant",
            run!(rotated),
        ),
        Check::new(
            "FX-TOKEN-4/replaying-a-rotated-refresh-token-revokes-the-grant",
            "After a replay, the grant's newest refresh token is invalid_grant and its access tokens invalid_token",
            run!(replay),
        ),
        Check::new(
            "FX-TOKEN-4/refresh-token-idle-for-its-lifetime-is-invalid-grant",
            "A refresh token unused for 30 days is 400 invalid_grant",
            run!(idle),
        )
        .exclusive()
        .waits(2_592_001),
        Check::new(
            "FX-TOKEN-5/client-without-the-refresh-grant-is-unauthorized-client",
            "A client configured for authorization_code only, sending refresh_token, is 400 unauthorized_client",
            run!(code_only),
        ),
        Check::new(
            "FX-TOKEN-5/grant-type-disabled-after-issue-is-unauthorized-client",
            "A client whose refresh_token grant was disabled after tokens were issued gets 400 unauthorized_client",
            run!(disabled_after_issue),
        )
        .needs_test_controls("to change a client's grant types (partner admin)")
        .exclusive(),
        Check::new(
            "FX-TOKEN-8/concurrent-refreshes-one-wins-and-the-grant-is-revoked",
            "Of two concurrent refreshes with one token one succeeds, the other is invalid_grant, and the winner's tokens are revoked",
            run!(race),
        ),
    ]
}

/// The refresh answer `r` is a new pair other than `t`'s.
fn new_pair(
    r: &Resp,
    t: &FxTokens,
    old_refresh: &str,
) -> Result<(FxTokens, String), crate::outcome::Problem> {
    let n = read_tokens(r)?;
    let refresh = n.refresh.clone().ok_or_else(|| {
        r.fail("FX-TOKEN-4: the refresh answer has no new `refresh_token` (rotation)")
    })?;
    ensure!(
        n.access != t.access && refresh != old_refresh,
        r,
        "the refresh answered the same tokens again"
    );
    Ok((n, refresh))
}

/// The grant of `access`/`refresh` is revoked: the access token is 401 at the resource
/// and the refresh token invalid_grant.
async fn revoked(
    ctx: &mut Ctx,
    app: &profile::App,
    access: &str,
    refresh_token: &str,
    why: &str,
) -> CheckResult {
    let r = flows::me(ctx, access).await?;
    ensure!(
        r.status() == 401,
        r,
        "{why}: the grant's access token still answers {}",
        r.status()
    );
    let r = flows::refresh_at_token(ctx, app, refresh_token, None).await?;
    ensure!(
        r.status() != 200,
        r,
        "{why}: the grant's newest refresh token still refreshes"
    );
    token_error(ctx, &r, "invalid_grant")
}

/// The web app's tokens, refreshed once: the app, the spent refresh token, the new pair
/// and its refresh token.
async fn refreshed_once(
    ctx: &mut Ctx,
) -> Result<(profile::App, String, FxTokens, String), crate::outcome::Problem> {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (t, old) = web_tokens(ctx, &roles).await?;
    let r = flows::refresh_at_token(ctx, &web, &old, None).await?;
    let (n, newest) = new_pair(&r, &t, &old)?;
    Ok((web, old, n, newest))
}

async fn rotated(ctx: &mut Ctx) -> CheckResult {
    let (web, old, n, _) = refreshed_once(ctx).await?;
    let r = flows::me(ctx, &n.access).await?;
    ensure!(
        r.status() == 200,
        r,
        "the refreshed access token answers {}",
        r.status()
    );
    // Reused at once, as a client without a mutex would (client observation calls it
    // `concurrent-refresh`): what a server's reuse grace (fault `refresh_race`) honours.
    let r = flows::refresh_at_token(ctx, &web, &old, None).await?;
    token_error(ctx, &r, "invalid_grant")
}

async fn replay(ctx: &mut Ctx) -> CheckResult {
    let (web, old, n, newest) = refreshed_once(ctx).await?;
    flows::pace_replay(ctx).await?;
    let r = flows::refresh_at_token(ctx, &web, &old, None).await?;
    token_error(ctx, &r, "invalid_grant")?;
    revoked(ctx, &web, &n.access, &newest, "after a replay").await
}

async fn idle(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (_, refresh_token) = web_tokens(ctx, &roles).await?;
    let idle = ctx.profile().lifetimes.refresh_token_idle;
    ctx.advance(idle as f64 + 1.0).await?;
    let r = flows::refresh_at_token(ctx, &web, &refresh_token, None).await?;
    token_error(ctx, &r, "invalid_grant")
}

async fn code_only(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let app = codeonly_or_skip(&roles)?;
    let t = code_tokens(ctx, &app, None).await?;
    // A refresh token it should not have been given, else one made up: the grant type is
    // refused before the token is looked at.
    let token = t
        .refresh
        .unwrap_or_else(|| "conformance-unknown-refresh".to_owned());
    let r = flows::refresh_at_token(ctx, &app, &token, None).await?;
    token_error(ctx, &r, "unauthorized_client")
}

async fn disabled_after_issue(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (_, refresh_token) = web_tokens(ctx, &roles).await?;
    set_grant_types(ctx, &web, &["authorization_code"]).await?;
    let result = async {
        let r = flows::refresh_at_token(ctx, &web, &refresh_token, None).await?;
        token_error(ctx, &r, "unauthorized_client")
    }
    .await;
    restore_grant_types(ctx, &web).await?;
    result
}

async fn race(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (_, refresh_token) = web_tokens(ctx, &roles).await?;
    // Successes first, so the transcript does not depend on which request won.
    let resps = race::refreshes(ctx, &web, &refresh_token, 2).await?;
    let winners = resps.iter().filter(|r| r.status() == 200).count();
    // A race is judged only where a rotated token is refused at all, and the grant's
    // revocation only where a replay revokes it (FX-TOKEN-4).
    if winners != 1 {
        let p = resps[1].fail(format!(
            "{winners} of 2 concurrent refreshes with one token succeeded, expected exactly 1"
        ));
        return Err(p.presuming("FX-TOKEN-4"));
    }
    token_error(ctx, &resps[1], "invalid_grant")?;
    let n = read_tokens(&resps[0])?;
    let newest = n
        .refresh
        .clone()
        .ok_or_else(|| resps[0].fail("the winning refresh answered no `refresh_token`"))?;
    revoked(
        ctx,
        &web,
        &n.access,
        &newest,
        "after the losing refresh (a replay)",
    )
    .await
    .map_err(|p| p.presuming("FX-TOKEN-4"))
}
