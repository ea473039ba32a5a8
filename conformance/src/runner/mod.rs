//! Plans and runs checks, and emits one stream of [`Event`]s that every reporter reads.
//! Concurrent checks run side by side (each with its own client, cookie jar and, against
//! a loopback target, its own source address), holding the named locks they declare;
//! exclusive checks run alone; rate-exhausting checks run alone and last. Against a
//! target without clock control, a request budget per rate limit keeps ordinary checks
//! from tripping a limit. This module must not know what any check asserts.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore};

use crate::check::{Check, Env, Schedule};

mod events;
pub mod liveness;
pub mod plan;
pub mod roots;
mod verdict;

pub use events::Incomplete;
pub use events::RootCause;
pub use events::{CheckReport, Event, RunReport, Status};
pub use verdict::run_one;
use verdict::{Ran, finish};

use crate::client::Req;
use crate::expected::Expected;
use crate::outcome::{Problem, Support};
use crate::snapshot::SnapshotStore;
pub use plan::{
    BEFORE_THE_FIRST_CHECK, Plan, PlannedWait, human_duration, plan, plan_with, planned_wait,
};

pub struct RunOptions {
    pub concurrency: usize,
    pub check_timeout: Duration,
    pub snapshots: SnapshotStore,
    pub expected: Expected,
}

/// Orders checks and decides, against a target without clock control, which ones the
/// rate-limit budget admits. Answers the run order, the checks skipped for budget and
/// the plan to print.
/// Runs `checks` against the environment's target and reports each result to `sink`.
pub async fn run(
    env: Arc<Env>,
    checks: Vec<Check>,
    opts: RunOptions,
    mut sink: impl FnMut(&Event),
) -> RunReport {
    let started_at = chrono::Utc::now();
    let started = Instant::now();
    let family = crate::checks::family(env.profile.family);
    let spent = match family.rate() {
        Some(rate) => crate::kit::rate::spent_before_the_run(&env, rate).await,
        None => Vec::new(),
    };
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
    // Every check the run may start, to report the ones a stopped target leaves unfinished.
    let scheduled: Vec<Check> = order.clone();
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
    // What a stopped target ends: every task, the concurrent ones included.
    let mut aborts: Vec<tokio::task::AbortHandle> =
        handles.iter().map(|h| h.abort_handle()).collect();
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
    aborts.extend(handles.iter().map(|h| h.abort_handle()));
    drop(tx);
    // A check that met no answer at all has the target probed once (one probe at a time,
    // the next unanswered report waiting for it): nothing answering ends the run
    // INCOMPLETE (issue 23 item 1).
    let (probe_tx, mut probe_rx) =
        tokio::sync::mpsc::unbounded_channel::<(Support, String, Result<(), String>)>();
    let mut probing = false;
    let mut suspect: Option<(Support, String)> = None;
    let mut stopped: Option<(Support, String, String)> = None;
    let mut all_finished = false;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        if !probing && let Some((support, check)) = suspect.take() {
            probing = true;
            let env = env.clone();
            let probe_tx = probe_tx.clone();
            tokio::spawn(async move {
                let answered = liveness::probe(&env).await;
                let _ = probe_tx.send((support, check, answered));
            });
        }
        // The last checks' errors may wait on a probe after every check has finished.
        if all_finished && !probing {
            break;
        }
        tokio::select! {
            ev = rx.recv(), if !all_finished => {
                let Some(ev) = ev else {
                    all_finished = true;
                    continue;
                };
                if let Event::Finished(r) = &ev {
                    if suspect.is_none()
                        && let Some(support) = liveness::unanswered(r)
                    {
                        suspect = Some((support.clone(), r.id.clone()));
                    }
                    reports.push((**r).clone());
                }
                sink(&ev);
            }
            Some((support, check, answered)) = probe_rx.recv() => {
                probing = false;
                if let Err(probe) = answered {
                    stopped = Some((support, check, probe));
                    break;
                }
            }
            _ = tick.tick() => {
                let waiting = waiting_event(&env);
                if matches!(&waiting, Event::Waiting(w) if !w.is_empty()) {
                    sink(&waiting);
                }
            }
        }
    }
    let incomplete = match stopped {
        None => {
            for h in handles {
                let _ = h.await;
            }
            None
        }
        Some((support, check, probe)) => {
            for a in &aborts {
                a.abort();
            }
            // What finished while the probe ran is kept.
            while let Ok(ev) = rx.try_recv() {
                if let Event::Finished(r) = &ev {
                    reports.push((**r).clone());
                }
                sink(&ev);
            }
            Some(Box::new(liveness::stop(
                &env,
                &opts,
                &scheduled,
                &mut reports,
                started_at,
                support,
                check,
                probe,
                &mut sink,
            )))
        }
    };
    reports.sort_by(|a, b| a.id.cmp(&b.id));
    let root_causes = roots::resolve(&mut reports);
    let mut notes = run_notes;
    let unchecked = crate::checks::clauses_without_checks(&env.profile);
    if !unchecked.is_empty() {
        notes.push(format!(
            "clauses of the profile the suite has no check for (not run, not counted): {}",
            unchecked.join("; ")
        ));
    }
    notes.extend(crate::kit::rate::limits_without_recipe(
        &env.profile,
        family.rate(),
    ));
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
        root_causes,
        incomplete,
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
    let [unknown_path, protected_path] = crate::checks::probe_paths(&env.profile);
    let unknown = ask(unknown_path).await?;
    let (json, first) = answered(&unknown);
    if json {
        return Ok(());
    }
    // One unknown route answered by a gateway's page is not yet the whole target.
    let me = ask(protected_path).await?;
    let (json, second) = answered(&me);
    if json {
        return Ok(());
    }
    Err(format!(
        "{} does not speak the contract: {first} and {second}, where the contract's errors are JSON; check --target and the profile's paths",
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
        assert!(skipped.iter().all(|(_, why)| why.contains("--allow-slow")
            || why.contains("budget")
            || why.contains("test controls")));
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
    fn against_a_remote_target_the_enterprise_limit_is_exhausted_once_and_budgets_hold() {
        let b = profile::builtin::find("enterprise").expect("built in");
        let http = HttpOptions {
            base: url::Url::parse("https://api.staging.example.invalid").expect("a URL"),
            timeout: Duration::from_secs(1),
            request_id_header: String::new(),
        };
        let env = Env::new(
            b.profile(),
            b.identities(),
            http,
            false,
            Driver::Pages,
            false,
        )
        .expect("an enterprise environment");
        let (run, skipped, _) = plan(&env, crate::checks::all(&env.profile));
        let limit = env.profile.rate_limit("api").expect("the /api limit");
        let exhausting = run.iter().filter(|c| c.exhausts == Some("api")).count();
        assert_eq!(
            exhausting, 1,
            "one exhausting check per window on a shared key"
        );
        let spent: u32 = run
            .iter()
            .filter(|c| c.schedule != Schedule::Exhausting)
            .flat_map(|c| c.budget.iter())
            .filter(|(n, _)| *n == "api")
            .map(|(_, n)| n)
            .sum();
        assert!(
            spent < limit.max,
            "ordinary checks spend {spent} of {}",
            limit.max
        );
        assert!(
            skipped.iter().all(|(c, why)| (c.exhausts == Some("api")
                && why.contains("--allow-slow"))
                || c.needs_controls.is_some()
                || c.waits_secs > 0),
            "{:?}",
            skipped.iter().map(|(c, w)| (c.id, w)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn with_allow_slow_the_second_exhausting_check_waits_the_window() {
        let env = deployment_env(true);
        let (run, skipped, plan) = plan(&env, crate::checks::all(&env.profile));
        // Only what --allow-slow cannot give: the test controls.
        assert!(
            skipped.iter().all(|(c, _)| c.needs_controls.is_some()),
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

    async fn waits_two_seconds(ctx: &mut crate::check::Ctx) -> crate::outcome::CheckResult {
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
