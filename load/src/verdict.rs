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
            windows.push(judge_key_window(&facts, log, w, room, &mine));
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

fn judge_key_window(
    facts: &RunFacts,
    log: &ConductorLog,
    window: usize,
    room: u32,
    observations: &[&Observation],
) -> KeyWindow {
    let mut problems = Vec::new();
    let mut statuses = BTreeMap::new();
    let (mut offered, mut admitted, mut refused, mut noise, mut noise_refused) = (0, 0, 0, 0, 0);
    let mut malformed: BTreeMap<String, u32> = BTreeMap::new();
    let mut server_errors = 0;
    let mut transport: BTreeMap<String, u32> = BTreeMap::new();
    let mut wrong_noise: BTreeMap<u16, u32> = BTreeMap::new();
    let probe = |kind: RequestKind| {
        observations
            .iter()
            .find(|o| o.kind == kind)
            .map(|o| o.outcome.clone())
    };

    for o in observations {
        match &o.outcome {
            Outcome::Refused {
                problem: Some(p), ..
            } => *malformed.entry(p.clone()).or_default() += 1,
            Outcome::ServerError { .. } => server_errors += 1,
            Outcome::Transport { error } => *transport.entry(error.clone()).or_default() += 1,
            _ => {}
        }
        let in_burst = matches!(
            o.kind,
            RequestKind::Within | RequestKind::Edge | RequestKind::Over
        );
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
        if !in_burst {
            continue;
        }
        offered += 1;
        let status = match &o.outcome {
            Outcome::Admitted { status } | Outcome::ServerError { status } => *status,
            Outcome::Refused { .. } => 429,
            Outcome::Transport { .. } => 0,
        };
        *statuses.entry(status).or_default() += 1;
        match &o.outcome {
            Outcome::Admitted { .. } => admitted += 1,
            Outcome::Refused { .. } => refused += 1,
            _ => {}
        }
    }

    if admitted != room {
        problems.push(format!(
            "admitted {admitted} of {offered} where the window had room for exactly {room}"
        ));
    }
    for (p, n) in &malformed {
        problems.push(format!("{n} refusal(s) with {p}"));
    }
    if server_errors > 0 {
        problems.push(format!("{server_errors} server error(s) (5xx)"));
    }
    for (e, n) in &transport {
        problems.push(format!("{n} transport error(s): {e}"));
    }
    if noise_refused > 0 {
        problems.push(format!(
            "{noise_refused} of {noise} requests that failed authentication were refused with \
             429; they must not count against a user (PP-RATE-4)"
        ));
    }
    for (status, n) in &wrong_noise {
        problems.push(format!(
            "{n} request(s) with a failing bearer token answered {status}, not {}",
            facts.noise_status
        ));
    }

    let first_refusal = probe(RequestKind::FirstRefusal);
    let first_retry_after = match &first_refusal {
        Some(Outcome::Refused { retry_after, .. }) => *retry_after,
        _ => None,
    };
    match &first_refusal {
        None => problems.push("no request was sent after the burst".into()),
        Some(o) if o.is_admitted() => problems.push(format!(
            "a request after the burst was admitted ({}): the window had room for more than {room}",
            o.describe()
        )),
        Some(Outcome::Refused { .. }) => {}
        Some(o) => problems.push(format!("the request after the burst got {}", o.describe())),
    }

    let not_before = probe(RequestKind::NotBefore);
    let placed = log.not_before_after.get(window).copied().flatten();
    let first_sent = observations
        .iter()
        .find(|o| o.kind == RequestKind::FirstRefusal)
        .map(|o| o.sent_secs);
    let not_before_answered = observations
        .iter()
        .find(|o| o.kind == RequestKind::NotBefore)
        .map(|o| o.answered_secs);
    let mut notes = Vec::new();
    match (&not_before, placed, first_retry_after) {
        (Some(o @ Outcome::Admitted { .. }), Some(after), Some(r)) => {
            // The oldest admission had more than r - 1 s to go when the first refusal
            // arrived; at most `after` s of moved clock and the real time between sending
            // that refusal and reading this answer have passed since.
            let real = match (first_sent, not_before_answered) {
                (Some(a), Some(b)) => (b - a).max(0.0),
                _ => f64::INFINITY,
            };
            let passed = match facts.clock {
                ClockMode::Controlled => after + real,
                ClockMode::Real => real,
            };
            if (r as f64 - 1.0) - passed > 0.0 {
                problems.push(format!(
                    "admitted ({}) {after:.1} s after a refusal that said Retry-After {r}: \
                     admission resumed before the window allowed",
                    o.describe()
                ));
            } else {
                notes.push(format!(
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
                problems.push(format!(
                    "Retry-After grew: {r} s, then {r2} s once {after:.1} s had passed"
                ));
            }
        }
        (Some(Outcome::Refused { .. }), _, _) => {}
        (Some(o), _, _) => problems.push(format!("the not-before request got {}", o.describe())),
        (None, Some(_), _) => problems.push("no not-before request was sent".into()),
        (None, None, _) => {}
    }
    let reached = log.resume_reached.get(window).copied().unwrap_or(false);
    let resume = probe(RequestKind::Resume);
    match (&resume, reached) {
        (Some(o), _) if o.is_admitted() => {}
        (Some(o), _) => problems.push(format!(
            "still {} after Retry-After ({}) had passed: admission did not resume when the \
             window allowed",
            o.describe(),
            first_retry_after.map_or("none".into(), |r| format!("{r} s"))
        )),
        (None, true) => problems.push("no resume request was sent".into()),
        (None, false) => {}
    }
    if first_refusal.is_some() && first_retry_after.is_none() && !reached {
        problems.push("resumption could not be checked: the refusal had no Retry-After".into());
    }
    let complete = first_refusal.is_some() && resume.is_some();
    for (status, n) in &statuses {
        if *status != facts.admitted_status && *status != 429 && *status < 500 && *status > 0 {
            notes.push(format!(
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
        first_refusal,
        not_before,
        resume,
        complete,
        problems,
        notes,
    }
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
    fn malformed_refusals_and_server_errors_fail() {
        let mut o = good();
        o[2] = obs(
            RequestKind::Over,
            Outcome::Refused {
                retry_after: None,
                problem: Some("no Retry-After".into()),
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
