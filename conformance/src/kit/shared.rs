//! A deployment that other clients use at the same time (issue 18 item 7a): two CI runs
//! gating on one staging deployment act as the same test users. A check judges only its
//! own traffic; where another client's traffic spoils an attempt (the user's state changed
//! under it), the check makes it again, a bounded number of times, and errors with
//! "interfered" when it never gets an undisturbed one. It never fails for it.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::check::Ctx;
use crate::outcome::{CheckResult, Problem};

/// How many attempts a check makes before it says another client interfered.
const ATTEMPTS: u32 = 10;

/// What an interfered error's message starts with.
pub const INTERFERED: &str = "interfered";

/// The error of a check that another client's traffic kept from a verdict; `what` names
/// what it saw.
pub fn interfered(what: impl std::fmt::Display) -> Problem {
    Problem::error(format!(
        "{INTERFERED}: {what}; another client of the same user acted during the check, so it cannot be judged (it never failed); rerun it when the deployment is quiet"
    ))
}

/// Whether a problem is [`interfered`]'s.
pub fn is_interfered(p: &Problem) -> bool {
    matches!(p, Problem::Error { message, .. } if message.starts_with(INTERFERED))
}

/// Runs `attempt` until another client does not interfere with it (at most [`ATTEMPTS`],
/// a random pause between them, longer each time, so that runs sharing a user fall out of
/// step): the verdict is that attempt's. An interfered attempt leaves nothing in the
/// transcript (its requests still count).
pub async fn alone<F>(ctx: &mut Ctx, attempt: F) -> CheckResult
where
    F: for<'a> Fn(&'a mut Ctx) -> Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>,
{
    let mut n = 1;
    loop {
        let start = ctx.checkpoint();
        match attempt(ctx).await {
            Err(p) if is_interfered(&p) && n < ATTEMPTS => {
                ctx.rewind(start);
                let pause = 20 + rand::random::<u64>() % (100 * u64::from(n));
                n += 1;
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            other => return other,
        }
    }
}
