//! What a check is: an id that names its clause (`PP-REFRESH-3/replay-revokes-the-grant`),
//! which is also its test name, snapshot name and report row; the function that runs it;
//! and the facts the runner plans with before anything is sent, all declared on the check
//! itself: when it may run (alongside others, alone, alone and last), the locks it
//! holds, its request budget per rate limit and the real time it waits. The context a
//! check runs in is [`crate::ctx::Ctx`]; what a run shares, [`crate::env::Env`].

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use profile::{Level, Profile};

use crate::outcome::CheckResult;

pub use crate::ctx::{Admission, Ctx, str_of};
pub use crate::env::Env;

/// What runs a check: an async function of its context. A check made from data (one per
/// rate limit of the profile) carries that data in the closure.
pub type RunFn = Arc<
    dyn for<'a> Fn(&'a mut Ctx) -> Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>
        + Send
        + Sync,
>;

/// A [`RunFn`] from a closure; [`run!`](crate::run) wraps a plain `async fn`.
pub fn run_fn<F>(f: F) -> RunFn
where
    F: for<'a> Fn(&'a mut Ctx) -> Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>
        + Send
        + Sync
        + 'static,
{
    Arc::new(f)
}

/// Wraps an `async fn(&mut Ctx) -> CheckResult` as a [`RunFn`].
#[macro_export]
macro_rules! run {
    ($f:path) => {
        $crate::check::run_fn(|ctx| Box::pin($f(ctx)))
    };
}

/// How long a check that [`Check::waits_or_shortens`] waits without `--allow-slow`.
pub const SHORTENED_WAIT_SECS: u64 = 10;

/// When a check may run relative to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Schedule {
    /// Alongside other concurrent checks (holding its locks).
    Concurrent,
    /// Alone: it moves the server's clock or otherwise disturbs every other check.
    Exclusive,
    /// Alone and last: it exhausts a rate limit.
    Exhausting,
}

#[derive(Clone)]
pub struct Check {
    pub id: &'static str,
    pub clause: &'static str,
    /// The level of the part of the clause this check tests, when it differs from the
    /// clause's headline level (PP-APP-3's public-client secret is DECIDED).
    pub part: Option<Level>,
    pub title: &'static str,
    pub schedule: Schedule,
    /// Named resources held while running (`playback:user`: the primary user's now-playing).
    pub locks: Vec<&'static str>,
    /// Requests this check may send to each rate-limited endpoint, by limit name: what
    /// the runner plans with against a target without clock control. `tests/checks.rs`
    /// fails a check that sends more than it declares.
    pub budget: Vec<(&'static str, u32)>,
    /// Seconds the check waits for when the target has no clock control.
    pub waits_secs: u64,
    /// Without `--allow-slow` the check still runs, waiting less (it watches a window for
    /// as long as it can), instead of being skipped.
    pub waits_shortened: bool,
    /// The rate limit an exhausting check spends.
    pub exhausts: Option<&'static str>,
    /// Seconds the runner waits before this check (set by the plan, `--allow-slow`).
    pub wait_before: u64,
    /// Why the check needs the reference server's test controls, if it does: against a
    /// target without them the plan skips it before it sends anything.
    pub needs_controls: Option<&'static str>,
    pub run: RunFn,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("id", &self.id)
            .field("schedule", &self.schedule)
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

impl Check {
    pub fn new(id: &'static str, title: &'static str, run: RunFn) -> Check {
        let clause = id.split('/').next().unwrap_or(id);
        Check {
            id,
            clause,
            part: None,
            title,
            schedule: Schedule::Concurrent,
            locks: Vec::new(),
            budget: Vec::new(),
            waits_secs: 0,
            waits_shortened: false,
            exhausts: None,
            wait_before: 0,
            needs_controls: None,
            run,
        }
    }
    pub fn part(mut self, level: Level) -> Check {
        self.part = Some(level);
        self
    }
    pub fn exclusive(mut self) -> Check {
        self.schedule = Schedule::Exclusive;
        self
    }
    /// Runs alone and last, because it spends the whole `limit`.
    pub fn exhausting(mut self, limit: &'static str) -> Check {
        self.schedule = Schedule::Exhausting;
        self.exhausts = Some(limit);
        self
    }
    pub fn lock(mut self, name: &'static str) -> Check {
        self.locks.push(name);
        self
    }
    /// May send up to `requests` that the rate limit named `limit` counts.
    pub fn budget(mut self, limit: &'static str, requests: u32) -> Check {
        self.budget.push((limit, requests));
        self
    }
    /// Needs the reference server's test controls `why` ("to make the server fail on
    /// purpose"): skipped before it runs against a target without them.
    pub fn needs_test_controls(mut self, why: &'static str) -> Check {
        self.needs_controls = Some(why);
        self
    }
    /// Waits `secs` of real time where the target has no clock control: skipped before
    /// it runs without `--allow-slow`.
    pub fn waits(mut self, secs: u64) -> Check {
        self.waits_secs = secs;
        self
    }
    /// Waits `secs` with `--allow-slow`, and at most [`SHORTENED_WAIT_SECS`] without it.
    pub fn waits_or_shortens(mut self, secs: u64) -> Check {
        self.waits_secs = secs;
        self.waits_shortened = true;
        self
    }
    /// The level this check gates at: its part's level, else the clause's.
    pub fn level(&self, profile: &Profile) -> Level {
        self.part
            .or_else(|| profile.clause(self.clause).map(|c| c.level))
            .unwrap_or(Level::Must)
    }
    /// `PP-REFRESH` for `PP-REFRESH-3/...`.
    pub fn area(&self) -> &'static str {
        self.clause.rsplit_once('-').map_or(self.clause, |(a, _)| a)
    }
    /// The snapshot file stem: `/` becomes `__`, as insta names files.
    pub fn snapshot_name(&self) -> String {
        self.id.replace('/', "__")
    }
}

/// An id or name made at run time (a check per rate limit of the profile) as the
/// `&'static str` every check id is. Interned: listing the suite again leaks nothing
/// more, and the table holds at most one entry per id a profile can make.
pub fn intern(text: String) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(known) = seen.get(text.as_str()) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    seen.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_made_twice_is_one_string() {
        let a = intern("PP-RATE-1/x-admits-the-documented-number".to_owned());
        let b = intern("PP-RATE-1/x-admits-the-documented-number".to_owned());
        assert!(std::ptr::eq(a, b));
    }
}
