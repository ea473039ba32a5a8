//! Where PP-API checks start: an access token of the web app, the user's now-playing
//! brought to idle first, and the now-playing state an answer must show. Shared by the
//! request checks (`api/mod.rs`) and the stream checks (`api/stream.rs`).

use serde_json::Value;

use super::playback_body;
use crate::check::Ctx;
use crate::checks::punchplay::roles;
use crate::client::{Req, Resp};
use crate::ensure;
use crate::kit::flows;
use crate::outcome::{CheckResult, Problem};

/// Checks that move the primary user's now-playing hold this lock.
pub const PLAYBACK: &str = "playback:user";

pub async fn token(ctx: &mut Ctx, scope: Option<&str>) -> Result<String, Problem> {
    let web = roles(ctx)?.web.clone();
    Ok(flows::code_tokens(ctx, &web, scope).await?.access)
}

/// Where a playback check starts: a fresh access token for the test user, whose
/// now-playing is brought to idle first.
pub async fn idle_token(ctx: &mut Ctx) -> Result<String, Problem> {
    let access = token(ctx, None).await?;
    idle_baseline(ctx, &access).await?;
    Ok(access)
}

/// Brings the user's now-playing to idle without recording it (a baseline, not a claim):
/// stops whatever is playing, with its own media.
async fn idle_baseline(ctx: &mut Ctx, access: &str) -> CheckResult {
    let np = ctx
        .exchange(Req::get(ctx.path("now_playing")).bearer(access))
        .await?;
    let current: Value = serde_json::from_str(&np.body).unwrap_or(Value::Null);
    let state = current
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or("idle");
    if state != "idle"
        && let Some(media) = current.get("media").filter(|m| m.is_object())
    {
        let mut body = playback_body(ctx, "conformance-baseline", 0);
        body["media"] = media.clone();
        let path = ctx.path_with("playback", &[("action", "stop")]);
        ctx.exchange(Req::post(path).bearer(access).json(body))
            .await?;
    }
    Ok(())
}

pub fn expect_state(r: &Resp, body: &Value, state: &str) -> CheckResult {
    let np = body.get("now_playing").unwrap_or(body);
    ensure!(
        np.get("state").and_then(Value::as_str) == Some(state),
        r,
        "now_playing.state is {:?}, expected {state:?}",
        np.get("state")
    );
    Ok(())
}
