//! One check run to a report: its context, its run under the check's timeout, the
//! over-admission watch on what a limiter let through, its transcript rendered and
//! redacted, and the verdict: the snapshot compared on a pass, an expected deviation
//! applied, a 429 that stopped an ordinary check turned into an error. It knows no
//! check's assertions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use profile::Level;

use super::RunOptions;
use super::events::{CheckReport, Status};
use super::plan::planned_wait;
use crate::check::{Check, Ctx, Env, Schedule};
use crate::outcome::{Problem, Support, cited_clauses};
use crate::snapshot::SnapshotStatus;

/// Runs one check to a report; a panic or a hang becomes an error, never the run's end.
pub async fn run_one(env: Arc<Env>, check: Check, opts: Arc<RunOptions>) -> CheckReport {
    let started = Instant::now();
    let task_env = env.clone();
    // The timeout covers the real-time waits the check plans (--allow-slow).
    let timeout = opts.check_timeout + Duration::from_secs(planned_wait(&env, &check));
    let task_check = check.clone();
    let joined = tokio::spawn(async move {
        let check = task_check;
        let mut ctx = match Ctx::new(task_env, check.id) {
            Ok(c) => c,
            Err(p) => {
                return Ran {
                    result: Err(p),
                    ..Ran::empty()
                };
            }
        };
        let mut result = match tokio::time::timeout(timeout, (check.run)(&mut ctx)).await {
            Ok(r) => r,
            Err(_) => Err(Problem::error(format!(
                "the check did not finish within {} s; raise it with --check-timeout",
                timeout.as_secs()
            ))),
        };
        // More than N admitted in one window fails the family's limit clause (PP-RATE-1,
        // MUST) wherever it is seen, whatever this check's own clause and verdict.
        let over_admitted = ctx.env.dialect.over_admission_clause().and_then(|clause| {
            crate::kit::rate::over_admission(clause, &ctx.env.profile, &ctx.admitted)
        });
        let over_admission = over_admitted.is_some();
        if let Some(p) = over_admitted {
            result = Err(p);
        }
        let rid_header = ctx
            .env
            .profile
            .request_id()
            .map(|f| f.header.clone())
            .unwrap_or_default();
        let (text, starts) = match ctx
            .transcript
            .render_with_starts(&mut ctx.redactor, &ctx.env.profile)
        {
            Ok((text, starts)) => (
                text,
                starts
                    .iter()
                    .map(|(line, x)| (*line, Support::from_exchange(x, &rid_header)))
                    .collect(),
            ),
            Err(p) => {
                if result.is_ok() {
                    result = Err(p);
                }
                (String::new(), Vec::new())
            }
        };
        let last = ctx
            .transcript
            .exchanges()
            .filter(|x| !x.req.driver)
            .last()
            .or(ctx.transcript.exchanges().last())
            .map(|x| Support::from_exchange(x, &rid_header));
        if let Err(Problem::Fail {
            support: support @ None,
            ..
        }) = &mut result
        {
            *support = last.clone().map(Box::new);
        }
        Ran {
            result,
            transcript: text,
            starts,
            usage: ctx.usage,
            last,
            elapsed: Duration::ZERO,
            over_admission,
        }
    })
    .await;
    let mut ran = joined.unwrap_or_else(|e| Ran {
        result: Err(Problem::error(format!("the check panicked: {e}"))),
        ..Ran::empty()
    });
    ran.elapsed = started.elapsed();
    finish(&env, &opts, &check, ran)
}

/// What running a check produced, before the verdict.
pub(super) struct Ran {
    result: Result<(), Problem>,
    transcript: String,
    /// For every exchange in the transcript, the line (0-based) it starts at and its
    /// support fields.
    starts: Vec<(usize, Support)>,
    usage: BTreeMap<String, u32>,
    /// The support fields of the check's last exchange.
    last: Option<Support>,
    elapsed: Duration,
    /// The check saw a limit admit more than N in one window: it fails PP-RATE-1.
    over_admission: bool,
}

impl Ran {
    fn empty() -> Ran {
        Ran {
            result: Ok(()),
            transcript: String::new(),
            starts: Vec::new(),
            usage: BTreeMap::new(),
            last: None,
            elapsed: Duration::ZERO,
            over_admission: false,
        }
    }

    pub(super) fn skipped(reason: String) -> Ran {
        Ran {
            result: Err(Problem::skip(reason)),
            ..Ran::empty()
        }
    }
}

/// The support fields of the exchange a transcript line (1-based) belongs to: the last
/// one that starts at or before it (the first, for a note before any request).
fn support_at_line(starts: &[(usize, Support)], line: usize) -> Option<Support> {
    let index = line.saturating_sub(1);
    starts
        .iter()
        .rev()
        .find(|(start, _)| *start <= index)
        .or(starts.first())
        .map(|(_, s)| s.clone())
}

pub(super) fn finish(env: &Env, opts: &RunOptions, check: &Check, ran: Ran) -> CheckReport {
    let Ran {
        result,
        transcript,
        starts,
        usage,
        last,
        elapsed,
        over_admission,
    } = ran;
    let mut snapshot = SnapshotStatus::NotCompared;
    let (mut status, mut message, mut support) = match result {
        Ok(()) => (Status::Pass, None, None),
        Err(Problem::Fail { message, support }) => {
            (Status::Fail, Some(message), support.map(|b| *b))
        }
        Err(Problem::Error { message, support }) => {
            (Status::Error, Some(message), support.map(|b| *b))
        }
        Err(Problem::Skip { reason }) => (Status::Skip, Some(reason), None),
    };
    if status == Status::Fail
        && check.schedule != Schedule::Exhausting
        && let Some(sup) = support.as_ref().filter(|s| s.status == 429)
    {
        status = Status::Error;
        message = Some(format!(
            "the target rate-limited this check (429 at {} {}): traffic before it spent a limit's budget, so it could not reach a verdict; rerun once the limit's window has passed ({})",
            sup.method,
            sup.endpoint,
            message.unwrap_or_default()
        ));
    }
    if status == Status::Pass {
        snapshot = opts.snapshots.check(
            check.id,
            &check.snapshot_name(),
            &transcript,
            env.dialect.free(),
        );
        match &snapshot {
            SnapshotStatus::Mismatched {
                first_differing_line,
                ..
            } => {
                // Support needs the request whose exchange differs, not the check's last.
                status = Status::Fail;
                support = support_at_line(&starts, *first_differing_line).or(last);
                message = Some(
                    "the transcript differs from the committed spec snapshot (the diff follows)"
                        .into(),
                );
            }
            SnapshotStatus::Missing => {
                status = Status::Fail;
                support = last;
                message = Some(format!(
                    "no committed spec snapshot at {}; review the transcript and run with --update-snapshots",
                    opts.snapshots.path_for(&check.snapshot_name()).display()
                ));
            }
            _ => {}
        }
    }
    // Every failure cites a clause of the family that runs (issue 18 item 7): a message
    // the check wrote without one (a flow step's, a snapshot's) gets the check's clause.
    if status == Status::Fail
        && let Some(m) = message.as_mut()
        && !cited_clauses(m)
            .iter()
            .any(|id| env.profile.clause(id).is_some())
    {
        let clause = if over_admission {
            env.dialect.over_admission_clause().unwrap_or(check.clause)
        } else {
            check.clause
        };
        *m = format!("{clause}: {m}");
    }
    if let Some(deviation) = opts.expected.deviation(check.id) {
        let reason = &deviation.reason;
        // What the failure says: its message and what the snapshot comparison found.
        let said = match &snapshot {
            SnapshotStatus::Mismatched { diff, .. } => {
                format!("{}\n{diff}", message.as_deref().unwrap_or_default())
            }
            _ => message.clone().unwrap_or_default(),
        };
        match status {
            Status::Fail | Status::Error if deviation.matches(&said) => {
                status = Status::ExpectedFail;
                message = Some(format!(
                    "{} (expected: {reason})",
                    message.unwrap_or_default()
                ));
            }
            // Another failure of a listed check is a new one: the entry names its own.
            Status::Fail | Status::Error => {
                message = Some(format!(
                    "{} (the expected deviation of this check is a failure saying {:?}; this is another)",
                    message.unwrap_or_default(),
                    deviation.failure
                ));
            }
            Status::Pass => {
                status = Status::UnexpectedPass;
                message = Some(format!(
                    "listed as an expected deviation ({reason}) but passed: remove it from the expected file"
                ));
                support = None;
            }
            _ => {}
        }
    }
    // An over-admission is a failure of the family's limit clause (PP-RATE-1, EN-RATE-1:
    // MUST), reported under that clause.
    let (clause, level) = if over_admission {
        let over = env.dialect.over_admission_clause().unwrap_or(check.clause);
        let level = env.profile.clause(over).map_or(Level::Must, |c| c.level);
        (over, level)
    } else {
        (check.clause, check.level(&env.profile))
    };
    CheckReport {
        id: check.id.to_owned(),
        clause: clause.to_owned(),
        level,
        area: check.area().to_owned(),
        title: check.title.to_owned(),
        status,
        message,
        support,
        snapshot,
        duration_ms: elapsed.as_millis() as u64,
        transcript,
        usage,
    }
}
