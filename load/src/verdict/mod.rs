//! The verdict: does each limit hold, per key and per window? Judged only from what
//! was seen: the times at which each request was sent and answered, on the attack's
//! timeline (real time plus the clock moved), and what came back.
//!
//! - PP-RATE-1 (MUST): from a window's first request, at most N admitted within one
//!   window's length; the same after its first admission has left; no refusal while
//!   fewer than N can have been admitted in the window's length before it.
//! - PP-RATE-2 (MUST, Retry-After DECIDED): every refusal a well-formed 429
//!   `rate_limited` with its request id.
//! - PP-RATE-3 (DECIDED): at most N in *any* span of the window's length (a fixed window
//!   fails this, not PP-RATE-1); Retry-After is the time until the oldest admission
//!   leaves, rounded up; still refused just before, admitted once it has passed.
//! - PP-RATE-4 (DECIDED): requests whose authentication fails are not counted.
//!
//! Where the times cannot tell two cases apart (a burst that outlasts the window, answers
//! that arrive late, requests cancelled at the deadline), the check is not judged, with
//! the reason, and never a failure.
//!
//! The clause ids are the family's ([`Clauses`]); punchplay's are quoted above.
//!
//! - this file: the verdict's shape and a limit's verdict from its keys' windows;
//! - [`key_window`]: one key in one window ([`seen`]: its requests), from [`spans`] (what was admitted within
//!   which span), [`probes`] (the first refusal, Retry-After, not-before, resume) and
//!   [`tally`] (what the responses add up to); [`findings`] collects what they find.

mod findings;
mod key_window;
mod probes;
mod seen;
mod spans;
mod tally;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::observe::Outcome;

pub use crate::families::Clauses;
use crate::window::{ConductorLog, Observation};

/// How a key's window behaved: as PP-RATE-3's sliding window, as a fixed one, or the
/// times could not tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    Sliding,
    Fixed,
    NotTold,
}

/// The span of one window's length that surely held the most admissions.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Busiest {
    pub admitted: usize,
    /// Seconds from the window's first request.
    pub from_secs: f64,
    pub to_secs: f64,
}

/// One key in one window.
#[derive(Debug, Clone, Serialize)]
pub struct KeyWindow {
    pub window: usize,
    /// Counted requests (those not failing authentication) sent in the window.
    pub offered: u32,
    pub admitted: u32,
    pub refused: u32,
    /// Refusals that carried a Retry-After.
    pub refused_with_retry_after: u32,
    /// Requests in flight when the run time ended.
    pub cancelled: u32,
    /// Responses by status (0 for a transport error).
    pub statuses: BTreeMap<u16, u32>,
    /// Requests with a failing bearer token, and how many of them got 429.
    pub noise: u32,
    pub noise_refused: u32,
    /// Admitted within one window's length of the window's first request.
    pub first_span_admitted: u32,
    /// Admitted after the window's first admission had left it (resume and slide),
    /// within the next window's length.
    pub second_span_admitted: u32,
    pub busiest: Busiest,
    pub kind: WindowKind,
    pub first_refusal: Option<Outcome>,
    /// When the oldest admission was due to leave the window, in seconds from the first
    /// refusal (earliest, latest): what its Retry-After must round up.
    pub oldest_leaves_in: Option<(f64, f64)>,
    pub not_before: Option<Outcome>,
    pub resume: Option<Outcome>,
    /// Whether the counts of this window could be judged, and if not, why.
    pub judged: bool,
    pub not_judged: Vec<String>,
    /// Every step of the window was taken and judged.
    pub complete: bool,
    pub problems: Vec<String>,
    /// What is only noted: DECIDED differences against a deployment, checks that could
    /// not be judged.
    pub notes: Vec<String>,
    /// Server errors (5xx) and transport errors in the window, for the terminal table
    /// (`verdict.json` has them under `problems`).
    #[serde(skip)]
    pub errors: u32,
}

impl KeyWindow {
    pub fn holds(&self) -> bool {
        self.problems.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyVerdict {
    pub key: String,
    pub holds: bool,
    pub windows: Vec<KeyWindow>,
}

/// Whether the server's clock was moved between windows or waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockMode {
    Controlled,
    Real,
}

/// A limit's verdict in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No problem, and at least one window judged for every key.
    Holds,
    /// At least one problem.
    DoesNotHold,
    /// No problem, but no window could be judged.
    NotJudged,
}

#[derive(Debug, Clone, Serialize)]
pub struct LimitVerdict {
    pub limit: String,
    pub method: String,
    pub path: String,
    pub max: u32,
    pub window_secs: u64,
    pub key_kind: String,
    pub clock: ClockMode,
    pub users: usize,
    pub windows_requested: usize,
    /// Requests offered per key and burst beyond its room.
    pub extra: u32,
    /// Windows opened.
    pub windows_opened: usize,
    /// Windows whose counts were judged for every key.
    pub windows_judged: usize,
    /// Windows judged completely (every step, every key).
    pub windows_checked: usize,
    pub requests: usize,
    pub cancelled: usize,
    pub wall_secs: f64,
    /// Seconds the clock was moved (controlled) or waited (real) between steps.
    pub seconds_passed: f64,
    pub status: Status,
    pub holds: bool,
    /// Problems of the run as a whole (the per-key ones are under `keys`).
    pub problems: Vec<String>,
    /// Why the limit is NOT JUDGED, when it is (issue 23 item 1: every NOT JUDGED names
    /// its reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_judged: Option<String>,
    pub keys: Vec<KeyVerdict>,
    pub reports: Vec<String>,
}

impl LimitVerdict {
    /// A limit that was not run, NOT JUDGED for `why`.
    pub fn not_run(limit: &profile::RateLimit, why: String) -> LimitVerdict {
        LimitVerdict {
            limit: limit.name.clone(),
            method: limit.method.clone(),
            path: String::new(),
            max: limit.max,
            window_secs: limit.window_secs,
            key_kind: limit.key.as_str().to_owned(),
            clock: ClockMode::Real,
            users: 0,
            windows_requested: 0,
            extra: 0,
            windows_opened: 0,
            windows_judged: 0,
            windows_checked: 0,
            requests: 0,
            cancelled: 0,
            wall_secs: 0.0,
            seconds_passed: 0.0,
            status: Status::NotJudged,
            holds: false,
            problems: Vec::new(),
            not_judged: Some(why),
            keys: Vec::new(),
            reports: Vec::new(),
        }
    }
}

/// The facts of one limit's run that are not observations.
#[derive(Debug, Clone)]
pub struct RunFacts {
    /// Which clauses the findings quote.
    pub clauses: Clauses,
    pub limit: String,
    pub method: String,
    pub path: String,
    pub max: u32,
    pub window_secs: u64,
    pub key_kind: String,
    pub key_labels: Vec<String>,
    pub clock: ClockMode,
    pub users: usize,
    pub windows_requested: usize,
    pub extra: u32,
    pub noise_status: u16,
    /// The status an admitted request of the scenario answers with.
    pub admitted_status: u16,
    /// The status of a refusal.
    pub refused_status: u16,
    /// Whether DECIDED clauses fail the verdict (the reference server, `--strict`) or
    /// are only noted (a deployment).
    pub decided_fails: bool,
    pub wall_secs: f64,
    pub reports: Vec<String>,
    /// A problem that kept the attack from running as planned (goose failed, say).
    pub attack_problem: Option<String>,
}

pub fn judge(facts: RunFacts, log: &ConductorLog, observations: &[Observation]) -> LimitVerdict {
    let windows_opened = log.windows.len();
    let mut keys = Vec::new();
    for (k, label) in facts.key_labels.iter().enumerate() {
        let of_key: Vec<&Observation> = observations.iter().filter(|o| o.key == k).collect();
        let windows: Vec<KeyWindow> = log
            .windows
            .iter()
            .enumerate()
            .map(|(w, wlog)| {
                let mine: Vec<&Observation> =
                    of_key.iter().copied().filter(|o| o.window == w).collect();
                key_window::judge(&facts, w, wlog, &mine, &of_key)
            })
            .collect();
        keys.push(KeyVerdict {
            key: label.clone(),
            holds: windows.iter().all(KeyWindow::holds),
            windows,
        });
    }
    let every_key = |w: usize, f: fn(&KeyWindow) -> bool| keys.iter().all(|k| f(&k.windows[w]));
    let windows_judged = (0..windows_opened)
        .filter(|&w| every_key(w, |kw| kw.judged))
        .count();
    let windows_checked = (0..windows_opened)
        .filter(|&w| every_key(w, |kw| kw.judged && kw.complete))
        .count();

    let mut problems = Vec::new();
    if let Some(p) = &facts.attack_problem {
        problems.push(p.clone());
    }
    if let (Some(why), false) = (&log.stopped_early, log.deadline_reached) {
        problems.push(format!("the attack stopped early: {why}"));
    }
    // With a moved clock every requested window must have been taken through all its
    // steps; one whose counts could not be judged is noted, not failed.
    if facts.clock == ClockMode::Controlled
        && windows_checked + (windows_opened - windows_judged) < facts.windows_requested
        && !log.deadline_reached
    {
        problems.push(format!(
            "only {windows_checked} of {} windows were checked completely",
            facts.windows_requested
        ));
    }
    let status = if !problems.is_empty() || keys.iter().any(|k| !k.holds) {
        Status::DoesNotHold
    } else if windows_judged == 0 {
        Status::NotJudged
    } else {
        Status::Holds
    };
    let not_judged = (status == Status::NotJudged).then(|| not_judged_reason(&facts, log, &keys));
    LimitVerdict {
        limit: facts.limit,
        method: facts.method,
        path: facts.path,
        max: facts.max,
        window_secs: facts.window_secs,
        key_kind: facts.key_kind,
        clock: facts.clock,
        users: facts.users,
        windows_requested: facts.windows_requested,
        extra: facts.extra,
        windows_opened,
        windows_judged,
        windows_checked,
        requests: observations.len(),
        cancelled: observations
            .iter()
            .filter(|o| o.outcome == Outcome::Cancelled)
            .count(),
        wall_secs: facts.wall_secs,
        seconds_passed: log.seconds_passed,
        status,
        holds: status == Status::Holds,
        problems,
        not_judged,
        keys,
        reports: facts.reports,
    }
}

/// Why no window of a limit could be judged, in one sentence.
fn not_judged_reason(facts: &RunFacts, log: &ConductorLog, keys: &[KeyVerdict]) -> String {
    if log.windows.is_empty() {
        return match &log.stopped_early {
            Some(why) if log.deadline_reached => format!(
                "no window was opened: {why} (one {} s window needs {} s of real time; give a longer --run-time)",
                facts.window_secs,
                facts.window_secs + 1
            ),
            Some(why) => format!("no window was opened: {why}"),
            None => "no window was opened".into(),
        };
    }
    // The first reason a key window gives, with how many said the same.
    let reasons: Vec<&String> = keys
        .iter()
        .flat_map(|k| k.windows.iter().flat_map(|w| w.not_judged.iter()))
        .collect();
    match reasons.first() {
        Some(first) => format!(
            "no window could be judged: {first}{}",
            if reasons.len() > 1 {
                format!(" (and {} more reasons like it)", reasons.len() - 1)
            } else {
                String::new()
            }
        ),
        None => "no window could be judged".into(),
    }
}

#[cfg(test)]
mod tests;
