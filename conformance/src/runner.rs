//! Plans and runs checks, and emits one stream of [`Event`]s that every reporter reads.
//! Concurrent checks run side by side (each with its own client, cookie jar and, against
//! a loopback target, its own source address), holding the named locks they declare;
//! exclusive checks run alone; rate-exhausting checks run alone and last. Against a
//! target without clock control, a request budget per rate limit keeps ordinary checks
//! from tripping a limit. This module must not know what any check asserts.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use profile::{Level, LimitKey};
use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};

use crate::check::{Check, Ctx, Env, Schedule};
use crate::client::Req;
use crate::expected::Expected;
use crate::outcome::{Problem, Support};
use crate::snapshot::{SnapshotStatus, SnapshotStore};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// The check could not reach a verdict (transport failure, timeout).
    Error,
    Skip,
    /// Failed, as the expected-deviations file says it will.
    ExpectedFail,
    /// Listed as an expected deviation, but passed: the file is out of date.
    UnexpectedPass,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::Skip => "skip",
            Status::ExpectedFail => "expected-fail",
            Status::UnexpectedPass => "UNEXPECTED-PASS",
        }
    }
    /// Whether this status makes a gating check non-conformant.
    pub fn is_bad(self) -> bool {
        matches!(self, Status::Fail | Status::Error | Status::UnexpectedPass)
    }
}

/// The result of one check, as every report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub id: String,
    pub clause: String,
    pub level: Level,
    pub area: String,
    pub title: String,
    pub status: Status,
    pub message: Option<String>,
    /// The support fields of the exchange the failure is about (seed 000).
    pub support: Option<Support>,
    pub snapshot: SnapshotStatus,
    pub duration_ms: u64,
    /// The redacted transcript.
    pub transcript: String,
    /// Requests sent per rate limit.
    pub usage: BTreeMap<String, u32>,
}

/// Printed before the run starts.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub checks: usize,
    pub expected_secs: f64,
    pub notes: Vec<String>,
    /// Every real-time wait the run plans (`--allow-slow`): what waits and for how long.
    pub waits: Vec<PlannedWait>,
    pub waits_total_secs: u64,
}

/// One wait of the plan: a check's own waits, or a wait before it starts.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedWait {
    /// A check id, or [`BEFORE_THE_FIRST_CHECK`].
    pub what: String,
    pub secs: u64,
}

/// The name of the wait before any check, while a limit spent before the run reopens.
pub const BEFORE_THE_FIRST_CHECK: &str = "before the first check";

impl Plan {
    /// The plan's waits as lines for the terminal and the reports, in human units; the
    /// same lines go into the run report's notes so the figures agree.
    pub fn wait_lines(&self) -> Vec<String> {
        if self.waits.is_empty() {
            return Vec::new();
        }
        let mut lines: Vec<String> = self
            .waits
            .iter()
            .map(|w| format!("waits {}: {}", human_duration(w.secs), w.what))
            .collect();
        lines.push(format!(
            "real-time waits in total: {}",
            human_duration(self.waits_total_secs)
        ));
        lines
    }
}

#[derive(Debug, Clone)]
pub enum Event {
    Planned(Plan),
    Started {
        id: String,
    },
    Finished(Box<CheckReport>),
    /// Once a second while real-time waits are under way: what waits, seconds left.
    Waiting(Vec<(String, u64)>),
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

/// The real time a check plans to wait inside its run, which its timeout must cover.
pub fn planned_wait(env: &Env, check: &Check) -> u64 {
    if env.controls || check.waits_secs == 0 {
        0
    } else if env.allow_slow {
        check.waits_secs
    } else if check.waits_shortened {
        check.waits_secs.min(crate::check::SHORTENED_WAIT_SECS)
    } else {
        0
    }
}

pub struct RunOptions {
    pub concurrency: usize,
    pub check_timeout: Duration,
    pub snapshots: SnapshotStore,
    pub expected: Expected,
}

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub profile: String,
    pub target: String,
    pub driver: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub gate: Vec<Level>,
    /// What a reader must know about the run as a whole (e.g. why snapshots were not
    /// compared); every report shows them.
    pub notes: Vec<String>,
    pub checks: Vec<CheckReport>,
}

impl RunReport {
    /// Counts by level and status.
    pub fn counts(&self, level: Level) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for c in self.checks.iter().filter(|c| c.level == level) {
            *m.entry(c.status.as_str()).or_insert(0) += 1;
        }
        m
    }
    pub fn conformant(&self) -> bool {
        !self
            .checks
            .iter()
            .any(|c| self.gate.contains(&c.level) && c.status.is_bad())
    }
}

/// Orders checks and decides, against a target without clock control, which ones the
/// rate-limit budget admits. Answers the run order, the checks skipped for budget and
/// the plan to print.
pub fn plan(env: &Env, checks: Vec<Check>) -> (Vec<Check>, Vec<(Check, String)>, Plan) {
    plan_with(env, checks, &[])
}

/// [`plan`], knowing the limits that traffic before the run still spends (limit name,
/// seconds until it reopens): their checks wait (`--allow-slow`) or are skipped with the
/// time left (issue 10 item 4).
pub fn plan_with(
    env: &Env,
    checks: Vec<Check>,
    spent: &[(String, u64)],
) -> (Vec<Check>, Vec<(Check, String)>, Plan) {
    let mut ordered = checks;
    ordered.sort_by_key(|c| c.schedule);
    let mut notes = Vec::new();
    let mut skipped = Vec::new();
    let mut run = Vec::new();
    // Remaining budget per globally shared limit key.
    let mut remaining: HashMap<&str, i64> = HashMap::new();
    for l in &env.profile.rate_limits {
        let per_check =
            env.loopback_sources && matches!(l.key, LimitKey::Ip | LimitKey::ClientAndIp);
        if !per_check && !env.controls {
            remaining.insert(l.name.as_str(), i64::from(l.max) - 1);
        }
    }
    let mut planned_waits: Vec<PlannedWait> = Vec::new();
    let wait_before_all = spent.iter().map(|(_, s)| *s).max().unwrap_or(0);
    if env.allow_slow && wait_before_all > 0 {
        planned_waits.push(PlannedWait {
            what: BEFORE_THE_FIRST_CHECK.to_owned(),
            secs: wait_before_all,
        });
        for (limit, secs) in spent {
            notes.push(format!(
                "the `{limit}` limit is still spent by traffic before this run; it reopens in {}: the run waits for it",
                human_duration(*secs)
            ));
        }
    }
    let mut exhausted: HashMap<String, &'static str> = HashMap::new();
    let mut deferred: HashMap<&str, i64> = HashMap::new();
    let mut deferred_checks = Vec::new();
    for c in ordered {
        if c.schedule == Schedule::Exhausting && !deferred_checks.is_empty() {
            run.append(&mut deferred_checks);
        }
        if !env.allow_slow
            && let Some((limit, secs)) = spent.iter().find(|(limit, _)| {
                c.exhausts == Some(limit.as_str())
                    || c.budget.iter().any(|(n, k)| n == limit && *k > 0)
            })
        {
            let key = env
                .profile
                .rate_limit(limit)
                .map_or("shared", |l| l.key.as_str());
            let reason = format!(
                "the `{limit}` limit ({key} key) is still spent by traffic before this run: it reopens in {} ({secs} s); rerun then, or with --allow-slow to wait",
                human_duration(*secs)
            );
            skipped.push((c, reason));
            continue;
        }
        if c.schedule != Schedule::Exhausting {
            let over: Vec<String> = c
                .budget
                .iter()
                .filter(|(name, n)| {
                    remaining
                        .get(name)
                        .is_some_and(|left| *left < i64::from(*n))
                })
                .map(|(name, _)| (*name).to_owned())
                .collect();
            if !over.is_empty() {
                let secs: u64 = over
                    .iter()
                    .filter_map(|n| env.profile.rate_limit(n))
                    .map(|l| l.window_secs)
                    .max()
                    .unwrap_or(0);
                if !env.allow_slow {
                    let reason = format!(
                        "the run's request budget for the `{}` rate limit is spent; running this check would trip the limit \
                         (it reopens after up to {secs} s: run with --allow-slow to wait, or run it on its own with --only)",
                        over.join("`, `")
                    );
                    skipped.push((c, reason));
                    continue;
                }
                // Deferred: after the concurrent checks, alone, once the window has passed.
                let mut c = c;
                c.schedule = Schedule::Exclusive;
                let fits = c.budget.iter().all(|(name, n)| {
                    deferred
                        .get(name)
                        .is_some_and(|left| *left >= i64::from(*n))
                });
                if !fits {
                    c.wait_before = secs;
                    for l in &env.profile.rate_limits {
                        if remaining.contains_key(l.name.as_str()) {
                            deferred.insert(l.name.as_str(), i64::from(l.max) - 1);
                        }
                    }
                }
                for (name, n) in &c.budget {
                    if let Some(left) = deferred.get_mut(name) {
                        *left -= i64::from(*n);
                    }
                }
                deferred_checks.push(c);
                continue;
            }
            for (name, n) in &c.budget {
                if let Some(left) = remaining.get_mut(name) {
                    *left -= i64::from(*n);
                }
            }
        }
        // Against a target without clock control, a limit whose key all checks share
        // can be exhausted once per window: a later exhausting check on it waits the
        // window out (--allow-slow) or is skipped.
        let mut c = c;
        if c.schedule == Schedule::Exhausting
            && !env.controls
            && let Some(limit) = c.exhausts.and_then(|n| env.profile.rate_limit(n))
        {
            let per_check =
                env.loopback_sources && matches!(limit.key, LimitKey::Ip | LimitKey::ClientAndIp);
            if !per_check {
                if let Some(first) = exhausted.get(limit.name.as_str()) {
                    if env.allow_slow {
                        c.wait_before = limit.window_secs;
                    } else {
                        let reason = format!(
                            "{first} already exhausts the `{}` limit ({} key) in this run; it reopens after {} s: run with --allow-slow to wait, or run this check alone with --only",
                            limit.name,
                            limit.key.as_str(),
                            limit.window_secs
                        );
                        skipped.push((c, reason));
                        continue;
                    }
                } else {
                    exhausted.insert(limit.name.clone(), c.id);
                }
            }
        }
        if !env.controls && c.waits_secs > 0 && !env.allow_slow {
            notes.push(if c.waits_shortened {
                format!(
                    "{} waits up to {} of real time with --allow-slow; {} without",
                    c.id,
                    human_duration(c.waits_secs),
                    human_duration(planned_wait(env, &c))
                )
            } else {
                format!(
                    "{} needs {} of real time: skipped without --allow-slow",
                    c.id,
                    human_duration(c.waits_secs)
                )
            });
        }
        run.push(c);
    }
    run.append(&mut deferred_checks);
    for c in &run {
        if c.wait_before > 0 {
            planned_waits.push(PlannedWait {
                what: format!("before {} (a rate-limit window reopens)", c.id),
                secs: c.wait_before,
            });
        }
        let own = planned_wait(env, c);
        if own > 0 {
            planned_waits.push(PlannedWait {
                what: c.id.to_owned(),
                secs: own,
            });
        }
    }
    let waits: u64 = planned_waits.iter().map(|w| w.secs).sum();
    for (c, why) in &skipped {
        notes.push(format!("{}: {why}", c.id));
    }
    let concurrent = run
        .iter()
        .filter(|c| c.schedule == Schedule::Concurrent)
        .count() as f64;
    let serial = run.len() as f64 - concurrent;
    let per_check = if env
        .http
        .base
        .host_str()
        .is_some_and(|h| h == "127.0.0.1" || h == "localhost")
    {
        0.02
    } else {
        0.5
    };
    let expected_secs = concurrent * per_check / 4.0 + serial * per_check * 3.0 + waits as f64;
    let mut plan = Plan {
        checks: run.len() + skipped.len(),
        expected_secs,
        notes,
        waits: planned_waits,
        waits_total_secs: waits,
    };
    let lines = plan.wait_lines();
    plan.notes.extend(lines);
    (run, skipped, plan)
}

/// Runs `checks` against the environment's target and reports each result to `sink`.
pub async fn run(
    env: Arc<Env>,
    checks: Vec<Check>,
    opts: RunOptions,
    mut sink: impl FnMut(&Event),
) -> RunReport {
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let spent = crate::checks::rate::spent_before_the_run(&env).await;
    let (order, skipped, plan) = plan_with(&env, checks, &spent);
    let run_notes = plan.wait_lines();
    let wait_before_all = plan
        .waits
        .iter()
        .find(|w| w.what == BEFORE_THE_FIRST_CHECK)
        .map_or(0, |w| w.secs);
    sink(&Event::Planned(plan));
    let opts = Arc::new(opts);
    let mut reports = Vec::new();
    for (c, why) in skipped {
        let r = finish(&env, &opts, &c, Ran::skipped(why));
        sink(&Event::Finished(Box::new(r.clone())));
        reports.push(r);
    }

    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut locks: HashMap<&'static str, Arc<Mutex<()>>> = HashMap::new();
    for c in &order {
        for l in &c.locks {
            locks.entry(*l).or_default();
        }
    }
    if wait_before_all > 0 {
        let wait = Duration::from_secs(wait_before_all);
        env.wait_started(BEFORE_THE_FIRST_CHECK, Instant::now() + wait);
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                _ = tick.tick() => sink(&waiting_event(&env)),
            }
        }
        env.wait_ended(BEFORE_THE_FIRST_CHECK);
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let mut handles = Vec::new();
    let (concurrent, serial): (Vec<Check>, Vec<Check>) = order
        .into_iter()
        .partition(|c| c.schedule == Schedule::Concurrent);
    for check in concurrent {
        let env = env.clone();
        let opts = opts.clone();
        let permits = permits.clone();
        let mut mine: Vec<(&'static str, Arc<Mutex<()>>)> =
            check.locks.iter().map(|l| (*l, locks[l].clone())).collect();
        mine.sort_by_key(|(n, _)| *n);
        let tx = tx.clone();
        handles.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let mut guards = Vec::new();
            for (_, m) in &mine {
                guards.push(m.clone().lock_owned().await);
            }
            let _ = tx.send(Event::Started {
                id: check.id.to_owned(),
            });
            let r = run_one(env, check, opts).await;
            drop(guards);
            let _ = tx.send(Event::Finished(Box::new(r)));
        }));
    }
    let serial_env = env.clone();
    let serial_opts = opts.clone();
    let serial_tx = tx.clone();
    let concurrent_handles = std::mem::take(&mut handles);
    handles.push(tokio::spawn(async move {
        // Exclusive and exhausting checks: after every concurrent one, one at a time.
        for h in concurrent_handles {
            let _ = h.await;
        }
        for check in serial {
            if check.wait_before > 0 {
                // A rate-limit window reopens; the progress counts it down.
                let wait = Duration::from_secs(check.wait_before);
                serial_env.wait_started(check.id, Instant::now() + wait);
                tokio::time::sleep(wait).await;
                serial_env.wait_ended(check.id);
            }
            let _ = serial_tx.send(Event::Started {
                id: check.id.to_owned(),
            });
            let r = run_one(serial_env.clone(), check, serial_opts.clone()).await;
            let _ = serial_tx.send(Event::Finished(Box::new(r)));
        }
    }));
    drop(tx);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            ev = rx.recv() => {
                let Some(ev) = ev else { break };
                if let Event::Finished(r) = &ev {
                    reports.push((**r).clone());
                }
                sink(&ev);
            }
            _ = tick.tick() => {
                let waiting = waiting_event(&env);
                if matches!(&waiting, Event::Waiting(w) if !w.is_empty()) {
                    sink(&waiting);
                }
            }
        }
    }
    for h in handles {
        let _ = h.await;
    }
    reports.sort_by(|a, b| a.id.cmp(&b.id));
    let mut notes = run_notes;
    notes.extend(crate::snapshot::extensions_note(
        reports.iter().map(|r| &r.snapshot),
    ));
    RunReport {
        profile: env.profile.name.clone(),
        target: env.http.base.to_string(),
        driver: env.driver.name().to_owned(),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        duration_ms: started.elapsed().as_millis() as u64,
        gate: Vec::new(),
        notes,
        checks: reports,
    }
}

/// The waits under way, for the countdown.
fn waiting_event(env: &Env) -> Event {
    Event::Waiting(
        env.waits_left()
            .into_iter()
            .map(|(what, left)| (what.to_owned(), left))
            .collect(),
    )
}

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
        // More than N admitted in one window fails PP-RATE-1 (MUST) wherever it is seen,
        // whatever this check's own clause and verdict.
        let over_admitted = crate::checks::rate::over_admission(&ctx.env.profile, &ctx.admitted);
        let over_admission = over_admitted.is_some();
        if let Some(p) = over_admitted {
            result = Err(p);
        }
        let rid_header = ctx.env.profile.expect_punchplay().request_id.header.clone();
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
struct Ran {
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

    fn skipped(reason: String) -> Ran {
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

fn finish(env: &Env, opts: &RunOptions, check: &Check, ran: Ran) -> CheckReport {
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
        snapshot = opts
            .snapshots
            .check(check.id, &check.snapshot_name(), &transcript);
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
    if let Some(reason) = opts.expected.reason(check.id) {
        match status {
            Status::Fail | Status::Error => {
                status = Status::ExpectedFail;
                message = Some(format!(
                    "{} (expected: {reason})",
                    message.unwrap_or_default()
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
    // An over-admission is a PP-RATE-1 (MUST) failure, reported under that clause.
    let (clause, level) = if over_admission {
        let level = env
            .profile
            .clause(OVER_ADMISSION_CLAUSE)
            .map_or(Level::Must, |c| c.level);
        (OVER_ADMISSION_CLAUSE, level)
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

/// The clause an over-admission breaks, wherever it is seen.
const OVER_ADMISSION_CLAUSE: &str = "PP-RATE-1";

/// Asks the target an unknown platform route, to tell "cannot run" (exit 2) from
/// "non-conformant": no HTTP answer, or no JSON from either that route or the `me`
/// endpoint without a token (PP-ERR-1: every platform error body is JSON), means the
/// target does not speak the contract at all (an HTML page for everything, a wrong URL).
pub async fn probe(env: &Env) -> Result<(), String> {
    let http = crate::client::Http::new(env.http.clone(), None).map_err(|p| format!("{p:?}"))?;
    let ask = |path: String| {
        let http = &http;
        async move {
            match http.execute(Req::get(&path)).await {
                Ok(ex) => Ok((path, ex)),
                Err(Problem::Error { message, .. }) => Err(message),
                Err(other) => Err(format!("{other:?}")),
            }
        }
    };
    let answered = |(path, ex): &(String, crate::client::Exchange)| {
        let ct = ex.header("content-type").unwrap_or("no content type");
        (
            ct.to_ascii_lowercase().contains("json"),
            format!("GET {path} answered {} {ct}", ex.status),
        )
    };
    let unknown = ask(format!(
        "{}/conformance-probe",
        env.profile.path("platform_api")
    ))
    .await?;
    let (json, first) = answered(&unknown);
    if json {
        return Ok(());
    }
    // One unknown route answered by a gateway's page is not yet the whole target.
    let me = ask(env.profile.path("me").to_owned()).await?;
    let (json, second) = answered(&me);
    if json {
        return Ok(());
    }
    Err(format!(
        "{} does not speak the contract: {first} and {second}, where the platform answers JSON (PP-ERR-1); check --target and the profile's paths",
        env.http.base
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::HttpOptions;
    use crate::drivers::Driver;
    use profile::{Identities, Profile};

    fn deployment_env(allow_slow: bool) -> Env {
        let http = HttpOptions {
            base: url::Url::parse("https://staging.example.invalid").expect("a URL"),
            timeout: Duration::from_secs(1),
            request_id_header: "X-PunchPlay-Request-Id".into(),
        };
        Env::new(
            Profile::punchplay(),
            Identities::punchplay(),
            http,
            false,
            Driver::Pages,
            allow_slow,
        )
        .expect("roles")
    }

    #[test]
    fn without_clock_control_a_shared_limit_is_exhausted_once_and_budgets_hold() {
        let env = deployment_env(false);
        let all = crate::checks::all(&env.profile);
        let (run, skipped, plan) = plan(&env, all);
        // Every IP key is shared against a remote target: one exhausting check per limit runs.
        for limit in &env.profile.rate_limits {
            let running = run
                .iter()
                .filter(|c| c.exhausts == Some(limit.name.as_str()))
                .count();
            assert_eq!(
                running, 1,
                "{} exhausting checks run for `{}`",
                running, limit.name
            );
        }
        // Ordinary checks stay within every limit's budget.
        for limit in &env.profile.rate_limits {
            let spent: u32 = run
                .iter()
                .filter(|c| c.schedule != Schedule::Exhausting)
                .flat_map(|c| c.budget.iter())
                .filter(|(n, _)| *n == limit.name)
                .map(|(_, n)| n)
                .sum();
            assert!(
                spent < limit.max,
                "ordinary checks spend {spent} of `{}`'s {}",
                limit.name,
                limit.max
            );
        }
        assert!(
            skipped
                .iter()
                .all(|(_, why)| why.contains("--allow-slow") || why.contains("budget"))
        );
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("PP-API-1/expired-access-token-is-invalid-token"))
        );
        // Exhausting checks come last.
        let first_exhausting = run
            .iter()
            .position(|c| c.schedule == Schedule::Exhausting)
            .expect("some");
        assert!(
            run[first_exhausting..]
                .iter()
                .all(|c| c.schedule == Schedule::Exhausting)
        );
    }

    #[test]
    fn with_allow_slow_the_second_exhausting_check_waits_the_window() {
        let env = deployment_env(true);
        let (run, skipped, plan) = plan(&env, crate::checks::all(&env.profile));
        assert!(
            skipped.is_empty(),
            "{:?}",
            skipped.iter().map(|(c, _)| c.id).collect::<Vec<_>>()
        );
        let waiting = run
            .iter()
            .find(|c| c.id == "PP-RATE-2/refresh-refusal-is-rate-limited-with-request-id")
            .expect("listed");
        assert_eq!(waiting.wait_before, 3600);
        assert!(plan.expected_secs > 3600.0);
    }

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(200), "3 min 20 s");
        assert_eq!(human_duration(8040), "2 h 14 min");
        assert_eq!(human_duration(60), "1 min");
        assert_eq!(human_duration(0), "0 s");
        assert_eq!(human_duration(2_592_001), "30 d");
        assert_eq!(human_duration(90_000), "1 d 1 h");
    }

    #[test]
    fn with_allow_slow_the_plan_lists_every_wait_and_their_total() {
        let env = deployment_env(true);
        let (run, _, plan) = plan(&env, crate::checks::all(&env.profile));
        for c in &run {
            if c.waits_secs > 0 {
                assert!(
                    plan.waits
                        .iter()
                        .any(|w| w.what == c.id && w.secs == c.waits_secs),
                    "{} waits {} s but the plan does not list it",
                    c.id,
                    c.waits_secs
                );
            }
            if c.wait_before > 0 {
                assert!(plan.waits.iter().any(|w| w.what.contains(c.id)));
            }
        }
        let total: u64 = plan.waits.iter().map(|w| w.secs).sum();
        assert_eq!(plan.waits_total_secs, total);
        let line = format!("real-time waits in total: {}", human_duration(total));
        assert!(plan.notes.contains(&line), "{:#?}", plan.notes);
        assert_eq!(plan.wait_lines().last(), Some(&line));
        assert!(plan.expected_secs >= total as f64);
    }

    async fn waits_two_seconds(ctx: &mut Ctx) -> crate::outcome::CheckResult {
        ctx.advance(2.0).await
    }

    fn one_second_timeout() -> Arc<RunOptions> {
        Arc::new(RunOptions {
            concurrency: 1,
            check_timeout: Duration::from_secs(1),
            snapshots: SnapshotStore {
                dir: std::env::temp_dir(),
                mode: crate::snapshot::SnapshotMode::Off,
            },
            expected: Expected::default(),
        })
    }

    #[tokio::test]
    async fn a_checks_timeout_covers_the_waits_it_planned() {
        let env = Arc::new(deployment_env(true));
        let planned = Check::new(
            "PP-RATE-3/test-waits",
            "waits",
            crate::run!(waits_two_seconds),
        )
        .waits(2);
        let r = run_one(env.clone(), planned, one_second_timeout()).await;
        assert_eq!(r.status, Status::Pass, "{:?}", r.message);
        // The same wait, undeclared, is cut by the one-second timeout.
        let unplanned = Check::new(
            "PP-RATE-3/test-waits",
            "waits",
            crate::run!(waits_two_seconds),
        );
        let r = run_one(env, unplanned, one_second_timeout()).await;
        assert_eq!(r.status, Status::Error, "{:?}", r.message);
    }
}
