//! PP-REFRESH: refresh at both endpoints, rotation, replay, races, scope and idle expiry.

use super::roles;
use crate::check::{Check, Ctx};
use crate::client::Resp;
use crate::kit::flows::{self, Tokens};
use crate::kit::race;
use crate::outcome::CheckResult;
use crate::{ensure, run};

use super::scope_set;

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "PP-REFRESH-1/browser-app-refreshes-at-the-token-endpoint",
            "grant_type=refresh_token at the token endpoint answers a new token pair",
            run!(browser_refresh),
        )
        .budget("token", 2),
        Check::new(
            "PP-REFRESH-1/device-app-refreshes-at-auth-refresh",
            "POST auth/refresh answers a new token pair for a device-flow app",
            run!(device_refresh),
        )
        .budget("device-code", 1)
        .budget("device-token", 1)
        .budget("refresh", 1),
        Check::new(
            "PP-REFRESH-2/spent-refresh-token-is-invalid-grant",
            "After a refresh, the old refresh token is invalid_grant",
            run!(spent),
        )
        .budget("token", 3),
        Check::new(
            "PP-REFRESH-3/replay-revokes-the-grant",
            "Replaying a spent refresh token revokes the newest refresh token and the access tokens",
            run!(replay),
        )
        .budget("token", 4),
        Check::new(
            "PP-REFRESH-4/concurrent-refreshes-exactly-one-wins",
            "Of concurrent refreshes with one token, exactly one succeeds",
            run!(race),
        )
        .budget("token", 5),
        Check::new(
            "PP-REFRESH-5/narrower-scope-allowed-wider-refused",
            "A refresh may narrow the scope and never widen it",
            run!(scope_rules),
        )
        .budget("token", 3),
        Check::new(
            "PP-REFRESH-5/refresh-token-idles-out",
            "A refresh token unused for its idle lifetime is invalid_grant",
            run!(idle),
        )
        .budget("token", 2)
        .exclusive()
        .waits(2_592_001),
    ]
}

async fn browser_refresh(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let t = flows::code_tokens(ctx, &web, None).await?;
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, None).await?;
    rotated(ctx, &t, &r).await
}

async fn device_refresh(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let t = flows::device_tokens(ctx, &tv, None).await?;
    let r = super::refresh_device(ctx, &tv, &t.refresh).await?;
    rotated(ctx, &t, &r).await
}

/// The refresh answer `r` carries an access and a refresh token other than `t`'s, and the
/// new access token works (PP-REFRESH-1).
async fn rotated(ctx: &mut Ctx, t: &Tokens, r: &Resp) -> CheckResult {
    let body = ctx.ok_json(r)?;
    let n = Tokens::from(r, &body)?;
    ensure!(
        n.access != t.access && n.refresh != t.refresh,
        r,
        "the refresh answered the same tokens again"
    );
    let r = flows::me(ctx, &n.access).await?;
    ctx.ok_json(&r)?;
    Ok(())
}

async fn spent(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let t = flows::code_tokens(ctx, &web, None).await?;
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, None).await?;
    ctx.ok_json(&r)?;
    // Reused at once, as a client without a mutex would (client observation calls it
    // `concurrent-refresh`): what a server's reuse grace (fault `refresh_race`) honours.
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, None).await?;
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}

async fn replay(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let t = flows::code_tokens(ctx, &web, None).await?;
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, None).await?;
    let body = ctx.ok_json(&r)?;
    let newest = Tokens::from(&r, &body)?;
    flows::pace_replay(ctx).await?;
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, None).await?;
    // A replay is refused at all only where refresh tokens rotate (PP-REFRESH-2).
    ctx.error_as("PP-REFRESH-2", &r, "invalid_grant")?;
    for (which, access) in [("newest", &newest.access), ("first", &t.access)] {
        let r = flows::me(ctx, access).await?;
        ensure!(
            r.status() == 401,
            r,
            "after a replay, the grant's {which} access token still answers {}",
            r.status()
        );
        ctx.error(&r, "invalid_token")?;
    }
    let r = flows::refresh_at_token(ctx, &web, &newest.refresh, None).await?;
    ensure!(
        r.status() == 400,
        r,
        "after a replay, the grant's newest refresh token still answers {}",
        r.status()
    );
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}

async fn race(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let t = flows::code_tokens(ctx, &web, None).await?;
    // Recorded successes first, so the snapshot does not depend on timing.
    let resps = race::refreshes(ctx, &web, &t.refresh, 4).await?;
    let winners = resps.iter().filter(|r| r.status() == 200).count();
    let last = resps.last().expect("four answers");
    // A race is judged only where a spent token is refused at all (PP-REFRESH-2).
    if winners != 1 {
        let p = last.fail(format!(
            "{winners} of 4 concurrent refreshes with one token succeeded, expected exactly 1"
        ));
        return Err(p.presuming("PP-REFRESH-2"));
    }
    for r in &resps[1..] {
        ctx.error(r, "invalid_grant")?;
    }
    Ok(())
}

async fn scope_rules(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let two = ctx.env.profile.scopes.known[..2].join(" ");
    let one = ctx.env.profile.scopes.known[0].clone();
    let t = flows::code_tokens(ctx, &web, Some(&two)).await?;
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, Some(&one)).await?;
    let body = ctx.ok_json(&r)?;
    let n = Tokens::from(&r, &body)?;
    let granted = flows::granted_scope(ctx, &r, &n)?;
    ensure!(
        scope_set(granted) == scope_set(&one),
        r,
        "a refresh narrowed to `{one}` answered scope `{granted}`"
    );
    let all = ctx.all_scopes();
    let r = flows::refresh_at_token(ctx, &web, &n.refresh, Some(&all)).await?;
    ensure!(
        r.status() != 200,
        r,
        "a refresh asking for `{all}` on a `{one}` grant was granted"
    );
    ctx.error(&r, "invalid_scope")?;
    Ok(())
}

async fn idle(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let t = flows::code_tokens(ctx, &web, None).await?;
    let idle = ctx.env.profile.lifetimes.refresh_token_idle;
    ctx.advance(idle as f64 + 1.0).await?;
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, None).await?;
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}
