//! Where PP-API checks start, and how they share the user with other clients: an access
//! token of the web app, media ids of this run's own, and the test that another client's
//! traffic did not change the user's now-playing under a check (issue 18 item 7a). Two
//! runs at once against one deployment act as the same user; each check judges only its
//! own items, and an attempt another client's playback spoiled is made again
//! ([`crate::kit::shared`]). Shared by the request checks (`api/mod.rs`) and the stream
//! checks (`api/stream.rs`).

use serde_json::Value;

use crate::check::Ctx;
use crate::checks::punchplay::roles;
use crate::client::Resp;
use crate::ensure;
use crate::kit::flows;
pub use crate::kit::shared::{alone, interfered};
use crate::outcome::{CheckResult, Problem};

/// Checks that move the primary user's now-playing hold this lock.
pub const PLAYBACK: &str = "playback:user";

pub async fn token(ctx: &mut Ctx, scope: Option<&str>) -> Result<String, Problem> {
    let web = roles(ctx)?.web.clone();
    Ok(flows::code_tokens(ctx, &web, scope).await?.access)
}

/// A media id of this run's own: `stem` and a random suffix, so that another run's items
/// (on the same user) are never taken for this check's. Transcripts show it as `stem`,
/// so the committed snapshots hold for every run.
pub fn media(ctx: &mut Ctx, stem: &str) -> String {
    let id = format!("{stem}-{:016x}", rand::random::<u64>());
    ctx.redactor.register_named(&id, stem);
    id
}

/// Errors with "interfered" when `answer` (a playback answer's `now_playing`, or
/// now-playing itself) shows an item that is none of `ours`: another client's, which the
/// check must not judge (nor its snapshot pin).
pub fn not_foreign(r: &Resp, answer: &Value, ours: &[&str]) -> CheckResult {
    let np = answer.get("now_playing").unwrap_or(answer);
    match np.pointer("/media/id").and_then(Value::as_str) {
        Some(id) if !ours.contains(&id) => Err(interfered(format!(
            "{} {} shows now-playing `{id}`, an item this check did not play",
            r.ex.req.method,
            r.ex.req.route()
        ))),
        _ => Ok(()),
    }
}

/// `verdict` on `answer` (a playback answer, or now-playing), unless `answer` shows
/// another client's item, or it failed where `answer` shows a change applied after this
/// check's last event (sent at `sent_at`): then "interfered". Another client's traffic
/// that leaves the answer as expected changes nothing.
pub fn judged(
    r: &Resp,
    answer: &Value,
    (ours, sent_at): (&[&str], &str),
    verdict: CheckResult,
) -> CheckResult {
    not_foreign(r, answer, ours)?;
    match verdict {
        Ok(()) => Ok(()),
        Err(p) => {
            changed_after(answer, sent_at)?;
            Err(p)
        }
    }
}

/// Errors with "interfered" when `answer` was changed after `sent_at` by an event this
/// check did not send.
pub fn changed_after(answer: &Value, sent_at: &str) -> CheckResult {
    let np = answer.get("now_playing").unwrap_or(answer);
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    let updated = np.get("updated_at").and_then(Value::as_str).and_then(at);
    match (updated, at(sent_at)) {
        (Some(u), Some(s)) if u > s => Err(interfered(format!(
            "now-playing was changed at {u} by an event this check did not send (its last was at {s})"
        ))),
        _ => Ok(()),
    }
}

/// The `occurred_at` a playback body carries.
pub fn sent_at(body: &Value) -> String {
    body.get("occurred_at")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
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
