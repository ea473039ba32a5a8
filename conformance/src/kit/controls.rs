//! The reference server's test controls (CONTRACT.md, "The reference server's test
//! controls"), as checks use them: a check that needs one is skipped against a target
//! without them, saying what it would have done; driver traffic, so no snapshot shows it.

use serde_json::{Value, json};

use crate::check::Ctx;
use crate::client::Req;
use crate::outcome::{CheckResult, Problem};

/// `POST path` with `body` to a test control, failing with its answer; a skip saying
/// `why` it was needed when the target has none.
pub async fn control(ctx: &mut Ctx, path: &str, body: Value, why: &str) -> CheckResult {
    if !ctx.env.controls {
        return Err(Problem::skip(format!(
            "needs the reference server's test controls {why}"
        )));
    }
    let r = ctx.send(Req::post(path).json(body).driver()).await?;
    if r.status() != 200 {
        return Err(Problem::error(format!(
            "the test control POST {path} answered {}: {}",
            r.status(),
            r.body()
        )));
    }
    Ok(())
}

/// Makes the authorize and token endpoints fail as `mode` names (`server_error`,
/// `temporarily_unavailable`) or work again (`normal`); noted in the transcript.
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
