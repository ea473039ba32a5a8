//! Whether the target still answers, once a check met no answer at all (issue 23 item 1).
//! One probe on a fresh connection tells a target that stopped answering (refused, reset
//! before any answer, timed out: the run ends INCOMPLETE, exit 2) from one that answers
//! (any HTTP status, or bytes that are not HTTP: the check's error stands and gates, as a
//! 5xx or a malformed answer does). This module owns the probe and the end of a stopped
//! run (what becomes unfinished, what the reports say); the runner decides when to ask.

use std::time::Duration;

use super::RunOptions;
use super::events::{CheckReport, Event, Incomplete, Status};
use super::verdict::{Ran, finish};
use crate::check::{Check, Env};
use crate::outcome::Support;

/// How long the probe waits for a connection and an answer: a target that answers at
/// all does so well within it, and a run that lost its target ends within seconds.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The unanswered request of a check that errored without any answer: its support, whose
/// status is 0 when no response came (a transport failure).
pub fn unanswered(r: &CheckReport) -> Option<&Support> {
    if r.status != Status::Error {
        return None;
    }
    r.support.as_ref().filter(|s| s.status == 0)
}

/// Asks the target's base URL once on a fresh connection: `Ok` when anything answers
/// (whatever the status or bytes), `Err` saying what was met when nothing does.
pub async fn probe(env: &Env) -> Result<(), String> {
    let url = env.http.base.to_string();
    let client = crate::client::access()
        .apply(reqwest::Client::builder())
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(PROBE_TIMEOUT)
        .timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| format!("could not build the probe's client: {e}"))?;
    match client.get(&url).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.is_connect() || e.is_timeout() => Err(format!(
            "GET {url}: {}",
            contract_client::access::explain(&e, &url)
        )),
        // Something answered, if not with HTTP: the deployment's own error, which the
        // checks judge as they do today.
        Err(_) => Ok(()),
    }
}

/// Whether a report met its unanswered request at or after `since` (RFC 3339): the stop
/// cut it short, rather than an earlier, one-off failure the probe found answered.
pub fn cut_by_stop(r: &CheckReport, since: &chrono::DateTime<chrono::Utc>) -> bool {
    unanswered(r)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s.timestamp).ok())
        .is_some_and(|at| at.with_timezone(&chrono::Utc) >= *since)
}

/// Ends a run whose target stopped answering: the checks the stop cut short (an
/// unanswered request at or after it) and the ones never started become `unfinished`;
/// every verdict reached before is kept. Answers where and when the target stopped.
#[allow(clippy::too_many_arguments)]
pub(super) fn stop(
    env: &Env,
    opts: &RunOptions,
    scheduled: &[Check],
    reports: &mut Vec<CheckReport>,
    started_at: chrono::DateTime<chrono::Utc>,
    support: Support,
    check: String,
    probe: String,
    sink: &mut impl FnMut(&Event),
) -> Incomplete {
    let since = chrono::DateTime::parse_from_rfc3339(&support.timestamp)
        .map_or_else(|_| chrono::Utc::now(), |t| t.with_timezone(&chrono::Utc));
    let after_ms = (since - started_at).num_milliseconds().max(0) as u64;
    let error = support
        .body
        .strip_prefix("(no response: ")
        .and_then(|b| b.strip_suffix(')'))
        .unwrap_or(&support.body)
        .to_owned();
    let why = format!(
        "unfinished: the target stopped answering {:.1} s into the run ({} {}: {error})",
        after_ms as f64 / 1000.0,
        support.method,
        support.endpoint
    );
    for r in reports.iter_mut() {
        if cut_by_stop(r, &since) {
            r.status = Status::Unfinished;
            r.message = Some(format!(
                "{why}; this check met it: {}",
                r.message.as_deref().unwrap_or_default()
            ));
        }
    }
    for c in scheduled {
        if reports.iter().any(|r| r.id == c.id) {
            continue;
        }
        let mut r = finish(env, opts, c, Ran::skipped(String::new()));
        r.status = Status::Unfinished;
        r.message = Some(format!("{why}; this check had not finished"));
        sink(&Event::Finished(Box::new(r.clone())));
        reports.push(r);
    }
    let unfinished = reports
        .iter()
        .filter(|r| r.status == Status::Unfinished)
        .count();
    Incomplete {
        stopped_at: since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        after_ms,
        check,
        method: support.method,
        endpoint: support.endpoint,
        error,
        probe,
        reached: reports.len() - unfinished,
        unfinished,
    }
}
