//! Time as the target sees it, for the checks of time (lifetimes, Retry-After, reopening),
//! and durations as a person reads them.
//! With test controls a reading is the server's own clock (`POST /__test/clock/advance`
//! by 0 s answers `now`: the contract's control, so any target that has them serves it);
//! without them it is the real time measured here, which differs from the
//! server's by a constant and so measures the same intervals. Expectations are computed
//! from readings taken around requests, never from the assumption that no time passed
//! between them: every request may take tens of milliseconds on a real network.

use std::sync::OnceLock;
use std::time::Instant;

use crate::check::Ctx;
use crate::client::Req;
use crate::outcome::{CheckResult, Problem};

/// A reading in seconds on the target's time line (see the module comment).
pub async fn now(ctx: &mut Ctx) -> Result<f64, Problem> {
    if !ctx.env.controls {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        return Ok(EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64());
    }
    let ex = ctx
        .http
        .execute(
            Req::post("/__test/clock/advance")
                .json(serde_json::json!({ "seconds": 0 }))
                .driver(),
        )
        .await?;
    let reading = serde_json::from_str::<serde_json::Value>(&ex.body)
        .ok()
        .and_then(|v| v.get("now").and_then(|n| n.as_str()).map(str::to_owned))
        .and_then(|n| chrono::DateTime::parse_from_rfc3339(&n).ok());
    match reading {
        Some(at) if ex.status == 200 => Ok(at.timestamp_millis() as f64 / 1000.0),
        _ => Err(Problem::error(format!(
            "the test control POST /__test/clock/advance answered {} without an RFC 3339 `now`: {}",
            ex.status, ex.body
        ))),
    }
}

/// Moves time on until a reading would be at least `target`: the server's clock with
/// test controls, real time with `--allow-slow`, otherwise the check is skipped with the
/// time it would take. `note` goes into the transcript instead of the computed seconds,
/// which depend on the network and would make the snapshot unstable.
pub async fn advance_until(ctx: &mut Ctx, target: f64, note: &str) -> CheckResult {
    let reading = now(ctx).await?;
    // Whole milliseconds: the server's clock moves in them.
    let secs = ((target - reading) * 1000.0).ceil().max(0.0) / 1000.0;
    ctx.advance_quietly(secs).await?;
    ctx.note(note);
    Ok(())
}

/// Fails with an error when a request meant to land before `deadline` may have landed
/// after it (answered after the deadline): the network was too slow to decide.
pub async fn landed_before(ctx: &mut Ctx, deadline: f64, what: &str) -> CheckResult {
    let after = now(ctx).await?;
    if after >= deadline {
        return Err(Problem::error(format!(
            "{what} was answered {:.3} s after the moment it had to reach the target by, so this run cannot tell; the network is too slow for this check (rerun it)",
            after - deadline
        )));
    }
    Ok(())
}

/// A lifetime (of a code, a device code, a token) that started when something was issued
/// between two readings: its end is known to lie between them plus its length.
pub struct Lifetime {
    pub issued_no_earlier: f64,
    pub issued_no_later: f64,
    pub secs: u64,
    /// What lives, for the transcript's notes: `code`, `access token`.
    pub what: &'static str,
}

impl Lifetime {
    fn ends_no_earlier(&self) -> f64 {
        self.issued_no_earlier + self.secs as f64
    }

    /// Moves time to one second before the lifetime can have ended.
    pub async fn to_just_before_its_end(&self, ctx: &mut Ctx) -> CheckResult {
        let note = format!(
            "clock moved to 1 s before the {}'s lifetime ends",
            self.what
        );
        advance_until(ctx, self.ends_no_earlier() - 1.0, &note).await
    }

    /// After a request meant for just before the end was refused: an error, not a
    /// verdict, when it may have landed after the end.
    pub async fn landed_before_its_end(&self, ctx: &mut Ctx, request: &str) -> CheckResult {
        let what = format!("{request} before the {}'s end", self.what);
        landed_before(ctx, self.ends_no_earlier(), &what).await
    }

    /// Moves time to one second after the lifetime has surely ended.
    pub async fn to_just_after_its_end(&self, ctx: &mut Ctx) -> CheckResult {
        let note = format!("clock moved to 1 s after the {}'s lifetime ends", self.what);
        advance_until(ctx, self.issued_no_later + self.secs as f64 + 1.0, &note).await
    }
}

/// `2 h 14 min`, `3 min 20 s`, `45 s`, `1 min`, `30 d`: the two largest units, a zero
/// second one left out.
pub fn human_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let (big, small) = if d > 0 {
        ((d, "d"), (h, "h"))
    } else if h > 0 {
        ((h, "h"), (m, "min"))
    } else if m > 0 {
        ((m, "min"), (s, "s"))
    } else {
        return format!("{s} s");
    };
    if small.0 == 0 {
        format!("{} {}", big.0, big.1)
    } else {
        format!("{} {} {} {}", big.0, big.1, small.0, small.1)
    }
}
