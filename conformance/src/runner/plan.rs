//! The plan of a run, made before anything is sent: which checks run and in what order
//! (concurrent, exclusive, exhausting last), which are skipped and why, the request
//! budgets against a target without clock control, and the real-time waits with
//! `--allow-slow`. It knows no check's assertions and sends nothing.

use std::collections::HashMap;

use profile::LimitKey;
use serde::Serialize;

use crate::check::{Check, Env, Schedule};
pub use crate::kit::time::human_duration;

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

/// Why `c` cannot run against this target at all, decided before it sends anything: it
/// needs test controls the target lacks, or real time without `--allow-slow`.
fn skipped_before_it_runs(env: &Env, c: &Check) -> Option<String> {
    if let Some(why) = c.needs_controls.filter(|_| !env.controls) {
        return Some(format!("needs the reference server's test controls {why}"));
    }
    if !env.controls && !env.allow_slow && c.waits_secs > 0 && !c.waits_shortened {
        return Some(format!(
            "needs {} of real time: the target has no clock control; run with --allow-slow to wait",
            human_duration(c.waits_secs)
        ));
    }
    None
}

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
        // A check decides to skip before it sends anything: what it needs of the target
        // is declared on it.
        if let Some(why) = skipped_before_it_runs(env, &c) {
            skipped.push((c, why));
            continue;
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
            notes.push(format!(
                "{} waits up to {} of real time with --allow-slow; {} without",
                c.id,
                human_duration(c.waits_secs),
                human_duration(planned_wait(env, &c))
            ));
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
    let loopback = env
        .http
        .base
        .host_str()
        .is_some_and(|h| h == "127.0.0.1" || h == "localhost");
    // Loopback (the in-process server, a server started by hand): about 4 ms a check,
    // plus 0.24 ms for each request a check that exhausts a rate limit sends (its limit's
    // N), as measured on the project's 2-core machine for all three families (issue 23
    // item 7; docs/conformance.md, "Benchmark").
    let expected_secs = if loopback {
        run.iter()
            .map(|c| {
                let exhausted = c.exhausts.and_then(|l| env.profile.rate_limit(l));
                0.004 + exhausted.map_or(0.0, |l| f64::from(l.max) * 0.000_24)
            })
            .sum::<f64>()
    } else {
        concurrent * 0.5 / 4.0 + serial * 0.5 * 3.0
    } + waits as f64;
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
