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
use crate::outcome::{Problem, Seen, Support, cited_clauses};
use crate::passing::{self, Belongs, Role};
use crate::snapshot::SnapshotStatus;

/// Runs one check to a report; a panic or a hang becomes an error, never the run's end.
pub async fn run_one(env: Arc<Env>, check: Check, opts: Arc<RunOptions>) -> CheckReport {
    let started = Instant::now();
    let task_env = env.clone();
    // The timeout covers the real-time waits the check plans (--allow-slow).
    let timeout = opts.check_timeout + Duration::from_secs(planned_wait(&env, &check));
    let task_check = check.clone();
    let task = tokio::spawn(async move {
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
        let own = ctx.own_clause();
        let rendered = ctx
            .transcript
            .render_all(&mut ctx.redactor, &ctx.env.profile);
        // A format problem of another clause (a request id, PP-ERR-2) is seen in passing;
        // the check's own fails it.
        for (at, p) in rendered.problems {
            let owner = match &p {
                Problem::Fail { message, .. } => crate::outcome::leading_clause(message)
                    .and_then(|c| ctx.env.profile.clause(c))
                    .map(|c| crate::check::intern(c.id.clone())),
                _ => None,
            };
            match owner.filter(|c| *c != own) {
                Some(clause) => {
                    if let Some((_, x)) = rendered.starts.get(at) {
                        ctx.mark(x, clause);
                    }
                    ctx.saw(p.of_clause(clause));
                }
                None if result.is_ok() => result = Err(p),
                None => {}
            }
        }
        let starts: Vec<Start> = rendered
            .starts
            .iter()
            .map(|(line, x)| Start {
                line: *line,
                support: Support::from_exchange(x, &rid_header),
                role: ctx.role_of(x),
            })
            .collect();
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
            transcript: rendered.text,
            starts,
            usage: ctx.usage.clone(),
            last,
            elapsed: Duration::ZERO,
            over_admission,
            seen: ctx.take_seen(),
        }
    });
    // A run that ends early (its target stopped answering) aborts this future; the
    // check's own task ends with it rather than waiting out its requests.
    let _abort_with_the_run = AbortOnDrop(task.abort_handle());
    let joined = task.await;
    let mut ran = joined.unwrap_or_else(|e| Ran {
        result: Err(Problem::error(format!("the check panicked: {e}"))),
        ..Ran::empty()
    });
    ran.elapsed = started.elapsed();
    finish(&env, &opts, &check, ran)
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One rendered exchange of a transcript: the line (0-based) it starts at, its support
/// fields and the role it plays in the check.
struct Start {
    line: usize,
    support: Support,
    role: Role,
}

/// What running a check produced, before the verdict.
pub(super) struct Ran {
    result: Result<(), Problem>,
    transcript: String,
    /// Every rendered exchange of the transcript, in order.
    starts: Vec<Start>,
    usage: BTreeMap<String, u32>,
    /// The support fields of the check's last exchange.
    last: Option<Support>,
    elapsed: Duration,
    /// The check saw a limit admit more than N in one window: it fails PP-RATE-1.
    over_admission: bool,
    /// Differences seen on the way that belong to other clauses.
    seen: Vec<Seen>,
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
            seen: Vec::new(),
        }
    }

    pub(super) fn skipped(reason: String) -> Ran {
        Ran {
            result: Err(Problem::skip(reason)),
            ..Ran::empty()
        }
    }
}

/// The exchange a transcript line (1-based) belongs to: the last one that starts at or
/// before it (none, for a note before any request).
fn exchange_at_line(starts: &[Start], line: usize) -> Option<&Start> {
    let lines: Vec<usize> = starts.iter().map(|s| s.line).collect();
    passing::exchange_at(&lines, line).map(|i| &starts[i])
}

/// The support fields of the exchange a transcript line (1-based) belongs to (the first
/// exchange, for a note before any request).
fn support_at_line(starts: &[Start], line: usize) -> Option<Support> {
    exchange_at_line(starts, line)
        .or(starts.first())
        .map(|s| s.support.clone())
}

/// A snapshot's differences split: those in the check's own exchanges (the first one's
/// line), and those in answers it passed through or judged for another clause, as seen.
fn split_differences(
    env: &Env,
    own_clause: &str,
    starts: &[Start],
    differences: &[(usize, String)],
) -> (Option<usize>, Vec<Seen>) {
    let mut first_own = None;
    let mut seen = Vec::new();
    for (line, what) in differences {
        let at = exchange_at_line(starts, *line);
        let place = at.map_or((Role::Own, "", 0), |s| {
            (s.role, s.support.endpoint.as_str(), s.support.status)
        });
        match passing::attribute(own_clause, place, what, env.dialect, &env.profile) {
            Belongs::Own => {
                first_own.get_or_insert(*line);
            }
            Belongs::To(clause) => {
                let place = at.map_or_else(String::new, |s| {
                    format!(
                        " in the answer to {} {}",
                        s.support.method, s.support.endpoint
                    )
                });
                seen.push(Seen {
                    clause: clause.to_owned(),
                    message: format!(
                        "{clause}: the transcript differs from the snapshot{place}: {what}"
                    ),
                    support: at.map(|s| s.support.clone()),
                });
            }
        }
    }
    (first_own, seen)
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
        mut seen,
    } = ran;
    let mut snapshot = SnapshotStatus::NotCompared;
    let mut blocked_by = None;
    let (mut status, mut message, mut support) = match result {
        Ok(()) => (Status::Pass, None, None),
        // A difference of another clause the check could not go past (no token to go on
        // with): not this check's failure; an error that names the clause whose checks
        // fail for it (issue 18 item 4).
        Err(Problem::Fail {
            message,
            support,
            owner: Some(clause),
        }) if clause != check.clause && !over_admission => {
            let support = support.map(|b| *b);
            seen.push(Seen {
                clause: clause.to_owned(),
                message: message.clone(),
                support: support.clone(),
            });
            blocked_by = Some(clause.to_owned());
            (
                Status::Error,
                Some(format!(
                    "not judged: the check could not go on past a difference that belongs to {clause} ({message}); {clause}'s checks judge it"
                )),
                support,
            )
        }
        Err(Problem::Fail {
            message, support, ..
        }) => (Status::Fail, Some(message), support.map(|b| *b)),
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
                differences,
                ..
            } => {
                // Differences in answers the check passed through belong to the clauses
                // that name them; only its own fail it.
                let (first_own, passed) = if differences.is_empty() {
                    (Some(*first_differing_line), Vec::new())
                } else {
                    split_differences(env, check.clause, &starts, differences)
                };
                seen.extend(passed);
                if let Some(line) = first_own {
                    // Support needs the request whose exchange differs, not the check's last.
                    status = Status::Fail;
                    support = support_at_line(&starts, line).or(last);
                    message = Some(
                        "the transcript differs from the committed spec snapshot (the diff follows)"
                            .into(),
                    );
                }
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
        seen,
        blocked_by,
    }
}
