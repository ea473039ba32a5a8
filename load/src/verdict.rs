//! The verdict: does each limit hold, per key and per window, exactly?
//!
//! Judged from the observations alone (PP-RATE-1..4):
//! - a window admits exactly its room: the limit, less the resumed request carried over
//!   from the previous window; not one more, not one less;
//! - every refusal is a well-formed 429 `rate_limited` with Retry-After and a request id
//!   (PP-RATE-2, PP-ERR-2);
//! - no 5xx, no transport errors;
//! - requests whose authentication fails are not counted against a user (PP-RATE-4);
//! - after the burst a request is refused, and still refused shortly before Retry-After
//!   has passed; once it has, a request is admitted (PP-RATE-3).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::observe::{Outcome, RequestKind};
use crate::window::{ConductorLog, Observation};

/// One key in one window.
#[derive(Debug, Clone, Serialize)]
pub struct KeyWindow {
    pub window: usize,
    /// What the window had room for.
    pub room: u32,
    /// Counted requests offered in the burst.
    pub offered: u32,
    pub admitted: u32,
    pub refused: u32,
    /// Burst responses by status.
    pub statuses: BTreeMap<u16, u32>,
    /// Requests with a failing bearer token, and how many of them got 429.
    pub noise: u32,
    pub noise_refused: u32,
    pub first_refusal: Option<Outcome>,
    /// When the oldest request in the window was due to leave it, in seconds from the
    /// first refusal (earliest, latest): what its Retry-After must round up.
    pub oldest_leaves_in: Option<(f64, f64)>,
    pub not_before: Option<Outcome>,
    pub resume: Option<Outcome>,
    /// Every probe this window needs was sent.
    pub complete: bool,
    pub problems: Vec<String>,
    /// Checks that could not be judged, and why.
    pub notes: Vec<String>,
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
    /// Requests offered per key and window beyond the limit.
    pub extra: u32,
    /// Windows whose burst was judged for every key.
    pub bursts_checked: usize,
    /// Windows judged completely (burst, first refusal, not before, resume) for every key.
    pub windows_checked: usize,
    pub requests: usize,
    pub wall_secs: f64,
    /// Seconds the clock was moved (controlled) or waited (real) between steps.
    pub seconds_passed: f64,
    pub holds: bool,
    /// Problems of the run as a whole (the per-key ones are under `keys`).
    pub problems: Vec<String>,
    pub keys: Vec<KeyVerdict>,
    pub reports: Vec<String>,
}

/// The facts of one limit's run that are not observations.
#[derive(Debug, Clone)]
pub struct RunFacts {
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
    /// Whether DECIDED clauses fail the verdict (the reference server) or are only noted
    /// (a deployment).
    pub decided_fails: bool,
    pub wall_secs: f64,
    pub reports: Vec<String>,
    /// A problem that kept the attack from running as planned (goose failed, say).
    pub attack_problem: Option<String>,
}

pub fn judge(facts: RunFacts, log: &ConductorLog, observations: &[Observation]) -> LimitVerdict {
    let windows_opened = log.rooms.len();
    let mut keys = Vec::new();
    for (k, label) in facts.key_labels.iter().enumerate() {
        let mut windows = Vec::new();
        for w in 0..windows_opened {
            let room = log.rooms[w][k];
            let mine: Vec<&Observation> = observations
                .iter()
                .filter(|o| o.window == w && o.key == k)
                .collect();
            // The request carried into this window, when there is one: the previous
            // window's admitted resume request.
            let carried = (room < facts.max && w > 0)
                .then(|| {
                    observations.iter().find(|o| {
                        o.window == w - 1
                            && o.key == k
                            && o.kind == RequestKind::Resume
                            && o.outcome.is_admitted()
                    })
                })
                .flatten();
            windows.push(judge_key_window(&facts, log, w, room, &mine, carried));
        }
        let holds = windows.iter().all(KeyWindow::holds);
        keys.push(KeyVerdict {
            key: label.clone(),
            holds,
            windows,
        });
    }
    let complete_in = |w: usize| keys.iter().all(|k| k.windows[w].complete);
    let windows_checked = (0..windows_opened).filter(|&w| complete_in(w)).count();
    let bursts_checked = windows_opened;

    let mut problems = Vec::new();
    if let Some(p) = &facts.attack_problem {
        problems.push(p.clone());
    }
    match (&log.stopped_early, log.deadline_reached) {
        (Some(why), false) => problems.push(format!("the attack stopped early: {why}")),
        (Some(_), true) if bursts_checked == 0 => problems.push(
            "the run time ended before a single window was observed; raise --run-time".into(),
        ),
        _ => {}
    }
    if facts.clock == ClockMode::Controlled && windows_checked < facts.windows_requested {
        problems.push(format!(
            "only {windows_checked} of {} windows were checked completely",
            facts.windows_requested
        ));
    }
    let holds = problems.is_empty() && keys.iter().all(|k| k.holds) && bursts_checked > 0;
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
        bursts_checked,
        windows_checked,
        requests: observations.len(),
        wall_secs: facts.wall_secs,
        seconds_passed: log.seconds_passed,
        holds,
        problems,
        keys,
        reports: facts.reports,
    }
}

/// What a window's checks found: failures, and what is only noted. A DECIDED clause
/// fails only when `strict` (against the reference server); against a deployment it is
/// informational (CONTRACT.md, "Levels").
struct Findings {
    strict: bool,
    problems: Vec<String>,
    notes: Vec<String>,
}

impl Findings {
    fn must(&mut self, clause: &str, text: String) {
        self.problems.push(format!("{clause}: {text}"));
    }

    fn decided(&mut self, clause: &str, text: String) {
        if self.strict {
            self.problems.push(format!("{clause}: {text}"));
        } else {
            self.notes.push(format!(
                "{clause} (DECIDED, informational against a deployment): {text}"
            ));
        }
    }

    fn note(&mut self, text: String) {
        self.notes.push(text);
    }
}

fn judge_key_window(
    facts: &RunFacts,
    log: &ConductorLog,
    window: usize,
    room: u32,
    observations: &[&Observation],
    carried: Option<&Observation>,
) -> KeyWindow {
    let mut found = Findings {
        strict: facts.decided_fails,
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let mut statuses = BTreeMap::new();
    let (mut offered, mut admitted, mut refused, mut noise, mut noise_refused) = (0, 0, 0, 0, 0);
    let mut malformed: BTreeMap<String, u32> = BTreeMap::new();
    let mut malformed_decided: BTreeMap<String, u32> = BTreeMap::new();
    let mut server_errors = 0;
    let mut transport: BTreeMap<String, u32> = BTreeMap::new();
    let mut wrong_noise: BTreeMap<u16, u32> = BTreeMap::new();
    let find = |kind: RequestKind| observations.iter().find(|o| o.kind == kind).copied();

    for o in observations {
        match &o.outcome {
            Outcome::Refused {
                problem,
                decided_problem,
                ..
            } => {
                if let Some(p) = problem {
                    *malformed.entry(p.clone()).or_default() += 1;
                }
                if let Some(p) = decided_problem {
                    *malformed_decided.entry(p.clone()).or_default() += 1;
                }
            }
            Outcome::ServerError { .. } => server_errors += 1,
            Outcome::Transport { error } => *transport.entry(error.clone()).or_default() += 1,
            Outcome::Admitted { .. } => {}
        }
        if o.kind == RequestKind::Noise {
            noise += 1;
            match &o.outcome {
                Outcome::Refused { .. } => noise_refused += 1,
                Outcome::Admitted { status } if *status != facts.noise_status => {
                    *wrong_noise.entry(*status).or_default() += 1;
                }
                _ => {}
            }
        }
        if !matches!(
            o.kind,
            RequestKind::Within | RequestKind::Edge | RequestKind::Over
        ) {
            continue;
        }
        offered += 1;
        let status = match &o.outcome {
            Outcome::Admitted { status } | Outcome::ServerError { status } => *status,
            Outcome::Refused { .. } => facts.refused_status,
            Outcome::Transport { .. } => 0,
        };
        *statuses.entry(status).or_default() += 1;
        match &o.outcome {
            Outcome::Admitted { .. } => admitted += 1,
            Outcome::Refused { .. } => refused += 1,
            _ => {}
        }
    }

    // PP-RATE-1: N per window, exactly. A window that starts empty is the documented
    // limit itself; one that holds a request carried over counts on sliding windows
    // (PP-RATE-3, DECIDED).
    if admitted != room {
        let text = format!(
            "admitted {admitted} of {offered} where the window had room for exactly {room}"
        );
        if room == facts.max {
            found.must("PP-RATE-1", text);
        } else {
            found.decided("PP-RATE-3", text);
        }
    }
    for (p, n) in &malformed {
        found.must("PP-RATE-2", format!("{n} refusal(s) with {p}"));
    }
    for (p, n) in &malformed_decided {
        found.decided("PP-RATE-2", format!("{n} refusal(s) with {p}"));
    }
    if server_errors > 0 {
        found.must(
            "PP-ERR-3",
            format!("{server_errors} server error(s) (5xx) under load"),
        );
    }
    for (e, n) in &transport {
        found.must("transport", format!("{n} transport error(s): {e}"));
    }
    if noise_refused > 0 {
        found.decided(
            "PP-RATE-4",
            format!(
                "{noise_refused} of {noise} requests that failed authentication were refused \
                 with 429; they must not count against a user"
            ),
        );
    }
    for (status, n) in &wrong_noise {
        found.note(format!(
            "{n} request(s) with a failing bearer token answered {status}, not {}: check the \
             tokens, these may have counted",
            facts.noise_status
        ));
    }

    let first_refusal = find(RequestKind::FirstRefusal);
    let first_retry_after = match first_refusal.map(|o| &o.outcome) {
        Some(Outcome::Refused { retry_after, .. }) => *retry_after,
        _ => None,
    };
    match first_refusal.map(|o| &o.outcome) {
        None => found.must("load", "no request was sent after the burst".into()),
        Some(o) if o.is_admitted() => {
            let text = format!(
                "a request after the burst was admitted ({}): the window had room for more \
                 than {room}",
                o.describe()
            );
            if room == facts.max {
                found.must("PP-RATE-1", text);
            } else {
                found.decided("PP-RATE-3", text);
            }
        }
        Some(Outcome::Refused { .. }) => {}
        Some(o) => found.must(
            "PP-ERR-3",
            format!("the request after the burst got {}", o.describe()),
        ),
    }
    let oldest_leaves = first_refusal
        .and_then(|p1| oldest_leaves_in(facts, log, window, observations, carried, p1));
    if let (Some(r), Some((low, high))) = (first_retry_after, oldest_leaves) {
        // PP-RATE-3: "Retry-After is the time until the oldest admitted request leaves
        // the window, rounded up." The server's clock counts milliseconds: allow one.
        let least = ((low - 0.002).ceil() as i64).max(1);
        let most = ((high + 0.002).ceil() as i64).max(1);
        if (r as i64) < least || (r as i64) > most {
            found.decided(
                "PP-RATE-3",
                format!(
                    "Retry-After {r} s, but the oldest admitted request leaves the window in \
                     {low:.2}..{high:.2} s, so it should be {least}..{most}"
                ),
            );
        }
    }

    let not_before = find(RequestKind::NotBefore);
    let placed = log.not_before_after.get(window).copied().flatten();
    match (not_before.map(|o| &o.outcome), placed, first_retry_after) {
        (Some(o @ Outcome::Admitted { .. }), Some(after), Some(r)) => {
            // The oldest admission had more than r - 1 s to go when the first refusal
            // arrived; at most `after` s of moved clock and the real time between sending
            // that refusal and reading this answer have passed since.
            let real = match (first_refusal, not_before) {
                (Some(a), Some(b)) => (b.answered_secs - a.sent_secs).max(0.0),
                _ => f64::INFINITY,
            };
            let passed = match facts.clock {
                ClockMode::Controlled => after + real,
                ClockMode::Real => real,
            };
            if (r as f64 - 1.0) - passed > 0.0 {
                found.decided(
                    "PP-RATE-3",
                    format!(
                        "admitted ({}) {after:.1} s after a refusal that said Retry-After {r}: \
                         admission resumed before the window allowed",
                        o.describe()
                    ),
                );
            } else {
                found.note(format!(
                    "the not-before request came {passed:.2} s after the first refusal, too \
                     late to tell an early admission from a timely one"
                ));
            }
        }
        (
            Some(Outcome::Refused {
                retry_after: Some(r2),
                ..
            }),
            Some(after),
            Some(r),
        ) => {
            let bound = (r as f64 - after).ceil() as u64;
            if *r2 > bound {
                found.decided(
                    "PP-RATE-3",
                    format!("Retry-After grew: {r} s, then {r2} s once {after:.1} s had passed"),
                );
            }
        }
        (Some(Outcome::Refused { .. }), _, _) => {}
        (Some(o), _, _) => found.must(
            "PP-ERR-3",
            format!("the not-before request got {}", o.describe()),
        ),
        (None, Some(_), _) => found.must("load", "no not-before request was sent".into()),
        (None, None, _) => {}
    }
    let reached = log.resume_reached.get(window).copied().unwrap_or(false);
    let resume = find(RequestKind::Resume);
    match (resume.map(|o| &o.outcome), reached) {
        (Some(o), _) if o.is_admitted() => {}
        (Some(o), _) => found.decided(
            "PP-RATE-3",
            format!(
                "still {} after Retry-After ({}) had passed: admission did not resume when \
                 the window allowed",
                o.describe(),
                first_retry_after.map_or("none".into(), |r| format!("{r} s"))
            ),
        ),
        (None, true) => found.must("load", "no resume request was sent".into()),
        (None, false) => {}
    }
    if first_refusal.is_some() && first_retry_after.is_none() && !reached {
        found.note("resumption could not be checked: the refusal had no Retry-After".into());
    }
    let complete = first_refusal.is_some() && resume.is_some();
    for (status, n) in &statuses {
        if *status != facts.admitted_status
            && *status != facts.refused_status
            && *status < 500
            && *status > 0
        {
            found.note(format!(
                "{n} admitted request(s) answered {status}, not {}: they count against the \
                 limit all the same (PP-RATE-3), but check the credentials",
                facts.admitted_status
            ));
        }
    }
    KeyWindow {
        window,
        room,
        offered,
        admitted,
        refused,
        statuses,
        noise,
        noise_refused,
        first_refusal: first_refusal.map(|o| o.outcome.clone()),
        oldest_leaves_in: oldest_leaves,
        not_before: not_before.map(|o| o.outcome.clone()),
        resume: resume.map(|o| o.outcome.clone()),
        complete,
        problems: found.problems,
        notes: found.notes,
    }
}

/// When the oldest request in the key's window leaves it, seen from the first refusal:
/// the earliest and latest seconds it can have to go, from the client's send and answer
/// times and the seconds the clock was moved in between. `None` when there is nothing to
/// tell it by.
fn oldest_leaves_in(
    facts: &RunFacts,
    log: &ConductorLog,
    window: usize,
    observations: &[&Observation],
    carried: Option<&Observation>,
    first_refusal: &Observation,
) -> Option<(f64, f64)> {
    let (earliest, latest, moved) = match carried {
        // The carried request was admitted between its send and its answer; the clock was
        // moved by the drain since.
        Some(c) => (
            c.sent_secs,
            c.answered_secs,
            match facts.clock {
                ClockMode::Controlled => log.drains.get(window.checked_sub(1)?).copied()?,
                ClockMode::Real => 0.0,
            },
        ),
        // The burst's first admission: no earlier than its first send, no later than its
        // first admitted answer; the clock did not move during the burst.
        None => {
            let burst = observations.iter().filter(|o| {
                matches!(
                    o.kind,
                    RequestKind::Within | RequestKind::Edge | RequestKind::Over
                )
            });
            let earliest = burst.clone().map(|o| o.sent_secs).reduce(f64::min)?;
            let latest = burst
                .filter(|o| o.outcome.is_admitted())
                .map(|o| o.answered_secs)
                .reduce(f64::min)?;
            (earliest, latest, 0.0)
        }
    };
    let window_secs = facts.window_secs as f64;
    let low = window_secs - moved - (first_refusal.answered_secs - earliest);
    let high = window_secs - moved - (first_refusal.sent_secs - latest);
    Some((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> RunFacts {
        RunFacts {
            limit: "public-user".into(),
            method: "GET".into(),
            path: "/api/public/v1/users/{username}".into(),
            max: 2,
            window_secs: 60,
            key_kind: "IP".into(),
            key_labels: vec!["127.0.0.2".into()],
            clock: ClockMode::Controlled,
            users: 64,
            windows_requested: 1,
            extra: 1,
            noise_status: 401,
            admitted_status: 200,
            refused_status: 429,
            decided_fails: true,
            wall_secs: 1.0,
            reports: vec![],
            attack_problem: None,
        }
    }

    fn obs(kind: RequestKind, outcome: Outcome) -> Observation {
        Observation {
            window: 0,
            key: 0,
            kind,
            outcome,
            sent_secs: 1.0,
            answered_secs: 1.01,
        }
    }

    fn ok() -> Outcome {
        Outcome::Admitted { status: 200 }
    }

    fn no(r: u64) -> Outcome {
        Outcome::Refused {
            retry_after: Some(r),
            problem: None,
            decided_problem: None,
        }
    }

    fn log() -> ConductorLog {
        ConductorLog {
            rooms: vec![vec![2]],
            not_before_after: vec![Some(58.5)],
            resume_reached: vec![true],
            ..ConductorLog::default()
        }
    }

    fn good() -> Vec<Observation> {
        vec![
            obs(RequestKind::Within, ok()),
            obs(RequestKind::Edge, ok()),
            obs(RequestKind::Over, no(60)),
            obs(RequestKind::FirstRefusal, no(60)),
            obs(RequestKind::NotBefore, no(2)),
            obs(RequestKind::Resume, ok()),
        ]
    }

    #[test]
    fn an_exact_window_holds() {
        let v = judge(facts(), &log(), &good());
        assert!(v.holds, "{:#?}", v.keys);
        assert_eq!(v.windows_checked, 1);
    }

    #[test]
    fn one_admission_too_many_fails() {
        let mut o = good();
        o[2] = obs(RequestKind::Over, ok());
        let v = judge(facts(), &log(), &o);
        assert!(!v.holds);
        assert!(
            v.keys[0].windows[0].problems[0].contains("admitted 3 of 3"),
            "{:?}",
            v.keys[0].windows[0].problems
        );
    }

    #[test]
    fn early_admission_and_missed_resumption_fail() {
        let mut o = good();
        o[4] = obs(RequestKind::NotBefore, ok());
        o[5] = obs(RequestKind::Resume, no(60));
        let v = judge(facts(), &log(), &o);
        let problems = &v.keys[0].windows[0].problems;
        assert!(
            problems
                .iter()
                .any(|p| p.contains("before the window allowed")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("did not resume")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_not_before_request_sent_too_late_is_not_judged() {
        let mut o = good();
        o[4] = Observation {
            answered_secs: 3.0,
            ..obs(RequestKind::NotBefore, ok())
        };
        let v = judge(facts(), &log(), &o);
        let w = &v.keys[0].windows[0];
        assert!(w.holds(), "{:?}", w.problems);
        assert!(w.notes[0].contains("too late"), "{:?}", w.notes);
    }

    #[test]
    fn a_retry_after_that_is_not_the_oldest_admissions_time_to_go_fails() {
        let mut o = good();
        o[3] = obs(RequestKind::FirstRefusal, no(30));
        let v = judge(facts(), &log(), &o);
        let p = &v.keys[0].windows[0].problems;
        assert!(
            p.iter()
                .any(|p| p.contains("Retry-After 30 s") && p.contains("60..61")),
            "{p:?}"
        );
    }

    #[test]
    fn against_a_deployment_decided_clauses_are_noted_and_musts_still_fail() {
        let mut f = facts();
        f.decided_fails = false;
        let mut o = good();
        o[3] = obs(RequestKind::FirstRefusal, no(30));
        o[5] = obs(RequestKind::Resume, no(1));
        let v = judge(f.clone(), &log(), &o);
        let w = &v.keys[0].windows[0];
        assert!(v.holds, "{:?}", w.problems);
        assert!(w.notes.len() >= 2, "{:?}", w.notes);
        assert!(w.notes.iter().all(|n| n.contains("DECIDED, informational")));

        o[2] = obs(RequestKind::Over, ok());
        let v = judge(f, &log(), &o);
        assert!(!v.holds);
        assert!(v.keys[0].windows[0].problems[0].starts_with("PP-RATE-1: admitted 3"));
    }

    #[test]
    fn malformed_refusals_and_server_errors_fail() {
        let mut o = good();
        o[2] = obs(
            RequestKind::Over,
            Outcome::Refused {
                retry_after: None,
                problem: None,
                decided_problem: Some("no Retry-After".into()),
            },
        );
        o.push(obs(RequestKind::Over, Outcome::ServerError { status: 500 }));
        let v = judge(facts(), &log(), &o);
        let problems = &v.keys[0].windows[0].problems;
        assert!(
            problems.iter().any(|p| p.contains("no Retry-After")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.contains("5xx")), "{problems:?}");
    }

    #[test]
    fn a_missing_window_fails_a_controlled_run() {
        let mut f = facts();
        f.windows_requested = 3;
        let v = judge(f, &log(), &good());
        assert!(!v.holds);
        assert!(v.problems[0].contains("1 of 3"));
    }
}
