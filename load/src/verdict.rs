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

use std::collections::BTreeMap;

use profile::sliding::{Admission, busiest_span};
use serde::Serialize;

use crate::observe::Outcome;
use crate::window::{ConductorLog, Observation, Step, WindowLog};

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
                judge_key_window(&facts, w, wlog, &mine, &of_key)
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

/// Seconds, for messages: `2.31 s`.
fn secs(x: f64) -> String {
    format!("{x:.2} s")
}

fn judge_key_window(
    facts: &RunFacts,
    window: usize,
    wlog: &WindowLog,
    mine: &[&Observation],
    of_key: &[&Observation],
) -> KeyWindow {
    let mut found = Findings {
        strict: facts.decided_fails,
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let w = facts.window_secs as f64;
    let max = facts.max;
    let tally = Tally::of(facts, mine);
    tally.findings(facts, &mut found);

    let counted: Vec<&Observation> = mine.iter().copied().filter(|o| o.counted()).collect();
    let admitted: Vec<&Observation> = counted
        .iter()
        .copied()
        .filter(|o| o.outcome.is_admitted())
        .collect();
    let find = |step: Step| mine.iter().copied().find(|o| o.step == step);
    let first_sent = counted.iter().map(|o| o.sent_secs).reduce(f64::min);
    let first_answered_admission = admitted.iter().map(|o| o.answered_secs).reduce(f64::min);

    // PP-RATE-1: from the window's first request (the window began empty), at most N
    // admitted within its length; and again once its first admission has left, within
    // the next length. Both hold for a sliding window and for a fixed one that starts at
    // a key's first request; a bucket that refills, an off-by-one or a fixed window
    // whose boundary falls inside the first span admits more.
    let (mut first_span, mut second_span) = (0, 0);
    if let Some(s0) = first_sent {
        let inside: Vec<&&Observation> = admitted
            .iter()
            .filter(|o| o.answered_secs < s0 + w)
            .collect();
        first_span = inside.len() as u32;
        if first_span > max {
            let last = inside.iter().map(|o| o.answered_secs).fold(s0, f64::max);
            found.must(
                "PP-RATE-1",
                format!(
                    "admitted {first_span} within {} of the window's first request, where the \
                     limit is {max} per {} s",
                    secs(last - s0),
                    facts.window_secs
                ),
            );
        }
        if let Some(a0) = first_answered_admission {
            let later: Vec<&&Observation> = admitted
                .iter()
                .filter(|o| o.sent_secs >= a0 + w && o.answered_secs < s0 + 2.0 * w)
                .collect();
            second_span = later.len() as u32;
            if second_span > max {
                found.must(
                    "PP-RATE-1",
                    format!(
                        "admitted {second_span} once the window's first admission had left it, \
                         within one window's length, where the limit is {max} per {} s",
                        facts.window_secs
                    ),
                );
            }
        }
    }

    // PP-RATE-3 (DECIDED): at most N in any span of the window's length.
    let admissions: Vec<Admission> = admitted
        .iter()
        .map(|o| Admission {
            sent: o.sent_secs,
            answered: o.answered_secs,
        })
        .collect();
    let span = busiest_span(&admissions, w);
    let origin = first_sent.unwrap_or(0.0);
    let busiest = Busiest {
        admitted: span.admitted,
        from_secs: span.start - origin,
        to_secs: span.last_sent - origin,
    };
    let mut kind = WindowKind::NotTold;
    if span.admitted > max as usize {
        if first_span <= max && second_span <= max {
            kind = WindowKind::Fixed;
            found.decided(
                "PP-RATE-3",
                format!(
                    "a fixed window, not a sliding one: {} admitted between {} and {} of the \
                     window, within one span of {} s, where a sliding window admits {max}; \
                     never more than {max} from the start of a window",
                    span.admitted,
                    secs(busiest.from_secs),
                    secs(busiest.to_secs),
                    facts.window_secs
                ),
            );
        }
    } else if wlog.reached(Step::Slide) {
        // A fixed window would have shown if enough of the slide was answered within one
        // window's length of the burst's first admission to take the span past N.
        let burst_began = admitted
            .iter()
            .filter(|o| o.step == Step::Burst)
            .map(|o| o.sent_secs)
            .reduce(f64::min);
        if let Some(b) = burst_began {
            let kept = admitted
                .iter()
                .filter(|o| matches!(o.step, Step::Burst | Step::Resume))
                .count();
            let slide_in_span = counted
                .iter()
                .filter(|o| o.step == Step::Slide && o.answered_secs < b + w)
                .count();
            if kept + slide_in_span > max as usize {
                kind = WindowKind::Sliding;
            } else {
                found.note(format!(
                    "not judged: sliding or fixed window, as only {slide_in_span} request(s) of \
                     the slide were answered within one window's length of the burst"
                ));
            }
        }
    }

    // No refusal while fewer than N can have been admitted in the window's length before
    // it: PP-RATE-1 for the first span (the window began empty), PP-RATE-3 after it
    // (refusals counted, or a window that does not slide). The resume is judged below.
    for in_first_span in [true, false] {
        let early: Vec<(usize, &Observation)> = counted
            .iter()
            .copied()
            .filter(|o| o.step.opens_window() == in_first_span && o.step != Step::Resume)
            .filter(|o| matches!(o.outcome, Outcome::Refused { .. }))
            .map(|o| (possibly_admitted_before(o, of_key, w), o))
            .filter(|(n, _)| *n < max as usize)
            .collect();
        if let Some((least, o)) = early.iter().min_by_key(|(n, _)| *n) {
            let text = format!(
                "refused {} request(s) (the first in the {} step, {} into the window) while \
                 at most {least} had been admitted in the {} s before, where the limit is {max}",
                early.len(),
                o.step,
                secs(o.sent_secs - origin),
                facts.window_secs
            );
            if in_first_span {
                found.must("PP-RATE-1", text);
            } else {
                found.decided("PP-RATE-3", text);
            }
        }
    }

    // The first refusal, its Retry-After (PP-RATE-3: the time until the oldest admission
    // leaves the window, rounded up), the not-before and the resume probes.
    let first_refusal = find(Step::FirstRefusal);
    let retry_after = first_refusal.and_then(|o| match o.outcome {
        Outcome::Refused { retry_after, .. } => retry_after,
        _ => None,
    });
    let refused_first = first_refusal.is_some_and(|o| matches!(o.outcome, Outcome::Refused { .. }));
    match first_refusal.map(|o| &o.outcome) {
        None if wlog.reached(Step::FirstRefusal) => {
            found.must("load", "no request was sent after the burst".into())
        }
        Some(o @ Outcome::Admitted { .. }) => found.note(format!(
            "the request after the burst was admitted ({}), so there was no refusal whose \
             Retry-After, not-before and resume could be checked",
            o.describe()
        )),
        Some(Outcome::ServerError { status }) => found.must(
            "PP-ERR-3",
            format!("the request after the burst got {status}"),
        ),
        _ => {}
    }
    let mut oldest_leaves = None;
    if let (Some(fr), Some(r), Some(s0), Some(a0)) = (
        first_refusal,
        retry_after,
        first_sent,
        first_answered_admission,
    ) {
        let low = w - (fr.answered_secs - s0);
        let high = w - (fr.sent_secs - a0);
        oldest_leaves = Some((low, high));
        if low <= 0.0 {
            found.note(format!(
                "Retry-After not judged: the first refusal was answered {} after the window's \
                 first request, when its oldest admission may already have left",
                secs(fr.answered_secs - s0)
            ));
        } else {
            // The server's clock counts milliseconds: allow one.
            let least = ((low - 0.002).ceil() as i64).max(1);
            let most = ((high + 0.002).ceil() as i64).max(1);
            if (r as i64) < least || (r as i64) > most {
                found.decided(
                    "PP-RATE-3",
                    format!(
                        "Retry-After {r} s, but the oldest admitted request leaves the window \
                         in {low:.2}..{high:.2} s, so it should be {least}..{most}"
                    ),
                );
            }
        }
    }

    let not_before = find(Step::NotBefore);
    if let (Some(fr), Some(nb), Some(r)) = (first_refusal, not_before, retry_after) {
        match &nb.outcome {
            Outcome::Admitted { .. } => {
                // The oldest admission had more than r - 1 s to go when the first refusal
                // was decided; at most this much has passed since.
                let passed = nb.answered_secs - fr.sent_secs;
                if (r as f64 - 1.0) - passed > 0.0 {
                    found.decided(
                        "PP-RATE-3",
                        format!(
                            "admitted ({}) {} after a refusal that said Retry-After {r} s: \
                             admission resumed before the window allowed",
                            nb.outcome.describe(),
                            secs(passed)
                        ),
                    );
                } else {
                    found.note(format!(
                        "the not-before request was answered {} after the first refusal, too \
                         late to tell an early admission from a timely one",
                        secs(passed)
                    ));
                }
            }
            Outcome::Refused {
                retry_after: Some(r2),
                ..
            } => {
                let passed = (nb.sent_secs - fr.answered_secs).max(0.0);
                let bound = (r as f64 - passed).ceil().max(1.0) as u64;
                if *r2 > bound {
                    found.decided(
                        "PP-RATE-3",
                        format!(
                            "Retry-After did not shrink: {r} s at the first refusal, still \
                             {r2} s at least {} later (at most {bound} s)",
                            secs(passed)
                        ),
                    );
                }
            }
            Outcome::ServerError { status } => {
                found.must("PP-ERR-3", format!("the not-before request got {status}"))
            }
            _ => {}
        }
    }

    // Judged only when nothing was admitted between the first refusal and the resume (a
    // place freed and taken again would rightly keep it refused).
    let resume = find(Step::Resume);
    if let (Some(fr), Some(re), Some(r)) = (first_refusal, resume, retry_after) {
        let waited = re.sent_secs - fr.answered_secs;
        let taken_between = counted.iter().any(|o| {
            o.outcome.may_be_admitted()
                && o.answered_secs > fr.sent_secs
                && o.sent_secs < re.sent_secs
        });
        match &re.outcome {
            Outcome::Refused { .. } if waited >= r as f64 && !taken_between => found.decided(
                "PP-RATE-3",
                format!(
                    "still refused {} after a refusal that said Retry-After {r} s: admission \
                     did not resume when the window allowed",
                    secs(waited)
                ),
            ),
            Outcome::Refused { .. } if waited >= r as f64 => found.note(
                "the resume was not judged: a request was admitted between the first refusal \
                 and it"
                    .into(),
            ),
            Outcome::ServerError { status } => {
                found.must("PP-ERR-3", format!("the resume request got {status}"))
            }
            _ => {}
        }
    }

    // Judged: the early half and the burst fit in one window's length, nothing of them
    // was cancelled.
    let opening: Vec<&Observation> = counted
        .iter()
        .copied()
        .filter(|o| o.step.opens_window())
        .collect();
    let mut not_judged = Vec::new();
    if !wlog.reached(Step::Burst) {
        not_judged.push("the run ended before the burst was answered".into());
    } else if let Some(s0) = first_sent {
        let cancelled = opening
            .iter()
            .filter(|o| o.outcome == Outcome::Cancelled)
            .count();
        let took = opening.iter().map(|o| o.answered_secs).fold(s0, f64::max) - s0;
        if cancelled > 0 {
            not_judged.push(format!(
                "{cancelled} request(s) of the burst were in flight when the run time ended"
            ));
        } else if took >= w {
            not_judged.push(format!(
                "the early half and the burst took {}, longer than the {} s window: which \
                 admissions shared a span cannot be told",
                secs(took),
                facts.window_secs
            ));
        }
    } else {
        not_judged.push("no request was sent".into());
    }
    let judged = not_judged.is_empty();
    for why in &not_judged {
        found.note(format!("not judged: {why}"));
    }
    let complete = judged && refused_first && resume.is_some() && wlog.reached(Step::Slide);
    KeyWindow {
        window,
        offered: tally.offered,
        admitted: tally.admitted,
        refused: tally.refused,
        refused_with_retry_after: tally.refused_with_retry_after,
        cancelled: tally.cancelled,
        statuses: tally.statuses,
        noise: tally.noise,
        noise_refused: tally.noise_refused,
        first_span_admitted: first_span,
        second_span_admitted: second_span,
        busiest,
        kind,
        first_refusal: first_refusal.map(|o| o.outcome.clone()),
        oldest_leaves_in: oldest_leaves,
        not_before: not_before.map(|o| o.outcome.clone()),
        resume: resume.map(|o| o.outcome.clone()),
        judged,
        not_judged,
        complete,
        problems: found.problems,
        notes: found.notes,
    }
}

/// How many of the key's requests may have been admitted in the window's length before
/// `refusal` was decided: those answered after its send less the window, and sent before
/// its answer.
fn possibly_admitted_before(refusal: &Observation, of_key: &[&Observation], w: f64) -> usize {
    of_key
        .iter()
        .filter(|o| {
            o.counted()
                && !std::ptr::eq(**o, refusal)
                && o.outcome.may_be_admitted()
                && o.answered_secs > refusal.sent_secs - w
                && o.sent_secs < refusal.answered_secs
        })
        .count()
}

/// What a window's responses add up to, apart from their times.
#[derive(Debug, Default)]
struct Tally {
    offered: u32,
    admitted: u32,
    refused: u32,
    refused_with_retry_after: u32,
    cancelled: u32,
    statuses: BTreeMap<u16, u32>,
    noise: u32,
    noise_refused: u32,
    malformed: BTreeMap<String, u32>,
    malformed_decided: BTreeMap<String, u32>,
    server_errors: u32,
    transport: BTreeMap<String, u32>,
    wrong_noise: BTreeMap<u16, u32>,
}

impl Tally {
    fn of(facts: &RunFacts, observations: &[&Observation]) -> Tally {
        let mut t = Tally::default();
        for o in observations {
            match &o.outcome {
                Outcome::Refused {
                    problem,
                    decided_problem,
                    retry_after,
                } => {
                    if let Some(p) = problem {
                        *t.malformed.entry(p.clone()).or_default() += 1;
                    }
                    if let Some(p) = decided_problem {
                        *t.malformed_decided.entry(p.clone()).or_default() += 1;
                    }
                    if o.counted() {
                        t.refused += 1;
                        t.refused_with_retry_after += u32::from(retry_after.is_some());
                    }
                }
                Outcome::ServerError { .. } => t.server_errors += 1,
                Outcome::Transport { error } => *t.transport.entry(error.clone()).or_default() += 1,
                Outcome::Cancelled => t.cancelled += 1,
                Outcome::Admitted { .. } => {}
            }
            if !o.counted() {
                t.noise += 1;
                match &o.outcome {
                    Outcome::Refused { .. } => t.noise_refused += 1,
                    Outcome::Admitted { status } if *status != facts.noise_status => {
                        *t.wrong_noise.entry(*status).or_default() += 1;
                    }
                    _ => {}
                }
                continue;
            }
            t.offered += 1;
            let status = match &o.outcome {
                Outcome::Admitted { status } | Outcome::ServerError { status } => *status,
                Outcome::Refused { .. } => facts.refused_status,
                Outcome::Transport { .. } | Outcome::Cancelled => 0,
            };
            *t.statuses.entry(status).or_default() += 1;
            t.admitted += u32::from(o.outcome.is_admitted());
        }
        t
    }

    fn findings(&self, facts: &RunFacts, found: &mut Findings) {
        for (p, n) in &self.malformed {
            found.must("PP-RATE-2", format!("{n} refusal(s) with {p}"));
        }
        for (p, n) in &self.malformed_decided {
            found.decided("PP-RATE-2", format!("{n} refusal(s) with {p}"));
        }
        if self.server_errors > 0 {
            found.must(
                "PP-ERR-3",
                format!("{} server error(s) (5xx) under load", self.server_errors),
            );
        }
        for (e, n) in &self.transport {
            found.must("transport", format!("{n} transport error(s): {e}"));
        }
        if self.noise_refused > 0 {
            found.decided(
                "PP-RATE-4",
                format!(
                    "{} of {} requests that failed authentication were refused with 429; they \
                     must not count against a user",
                    self.noise_refused, self.noise
                ),
            );
        }
        for (status, n) in &self.wrong_noise {
            found.note(format!(
                "{n} request(s) with a failing bearer token answered {status}, not {}: check \
                 the tokens, these may have counted",
                facts.noise_status
            ));
        }
        for (status, n) in &self.statuses {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::RequestKind;

    /// A limit of 4 per 10 s.
    fn facts() -> RunFacts {
        RunFacts {
            limit: "public-user".into(),
            method: "GET".into(),
            path: "/users/{username}".into(),
            max: 4,
            window_secs: 10,
            key_kind: "IP".into(),
            key_labels: vec!["127.0.0.2".into()],
            clock: ClockMode::Controlled,
            users: 64,
            windows_requested: 1,
            extra: 2,
            noise_status: 401,
            admitted_status: 200,
            refused_status: 429,
            decided_fails: true,
            wall_secs: 1.0,
            reports: vec![],
            attack_problem: None,
        }
    }

    fn obs(step: Step, kind: RequestKind, at: f64, outcome: Outcome) -> Observation {
        Observation {
            window: 0,
            key: 0,
            step,
            kind,
            outcome,
            sent_secs: at,
            answered_secs: at + 0.005,
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
            windows: vec![WindowLog {
                steps: vec![
                    Step::Early,
                    Step::Burst,
                    Step::FirstRefusal,
                    Step::NotBefore,
                    Step::Resume,
                    Step::Slide,
                ],
                ..WindowLog::default()
            }],
            ..ConductorLog::default()
        }
    }

    /// An exact sliding window: 2 early, 2 in the burst half a window later (the schedule's
    /// place does not matter to the verdict), the rest
    /// refused; 1 back at the resume once the early half left, 1 more in the slide.
    fn sliding() -> Vec<Observation> {
        use RequestKind::*;
        vec![
            obs(Step::Early, Within, 0.0, ok()),
            obs(Step::Early, Within, 0.001, ok()),
            obs(Step::Burst, Within, 5.0, ok()),
            obs(Step::Burst, Edge, 5.001, ok()),
            obs(Step::Burst, Over, 5.01, no(5)),
            obs(Step::Burst, Over, 5.011, no(5)),
            obs(Step::FirstRefusal, FirstRefusal, 5.02, no(5)),
            obs(Step::NotBefore, NotBefore, 8.5, no(2)),
            obs(Step::Resume, Resume, 10.05, ok()),
            obs(Step::Slide, Edge, 10.06, ok()),
            obs(Step::Slide, Over, 10.07, no(5)),
            obs(Step::Slide, Over, 10.071, no(5)),
        ]
    }

    fn window(v: &LimitVerdict) -> &KeyWindow {
        &v.keys[0].windows[0]
    }

    #[test]
    fn an_exact_sliding_window_holds() {
        let v = judge(facts(), &log(), &sliding());
        assert_eq!(v.status, Status::Holds, "{:#?}", window(&v));
        assert_eq!(window(&v).kind, WindowKind::Sliding);
        assert_eq!(window(&v).first_span_admitted, 4);
        assert_eq!(v.windows_checked, 1);
    }

    #[test]
    fn one_admission_too_many_in_the_first_span_fails_the_must() {
        // Off by one, or a bucket that refilled by the burst.
        let mut o = sliding();
        o[4].outcome = ok();
        let v = judge(facts(), &log(), &o);
        assert_eq!(v.status, Status::DoesNotHold);
        let p = &window(&v).problems;
        assert!(p[0].starts_with("PP-RATE-1: admitted 5 within"), "{p:?}");
    }

    #[test]
    fn a_fixed_window_is_a_decided_difference_not_a_must() {
        // The slide admits a whole new window: 1 + 3 after the early half left.
        let mut o = sliding();
        o[10].outcome = ok();
        o[11].outcome = ok();
        let mut f = facts();
        f.decided_fails = false;
        let v = judge(f.clone(), &log(), &o);
        let w = window(&v);
        assert_eq!(w.kind, WindowKind::Fixed);
        assert_eq!(v.status, Status::Holds, "{:?}", w.problems);
        assert!(
            w.notes.iter().any(|n| n.contains("a fixed window")),
            "{:?}",
            w.notes
        );
        f.decided_fails = true;
        let v = judge(f, &log(), &o);
        assert!(
            window(&v).problems[0].starts_with("PP-RATE-3"),
            "{:?}",
            window(&v).problems
        );
    }

    #[test]
    fn answers_too_late_to_tell_are_not_judged_and_never_fail() {
        // Every refusal answered 12 s late: the burst outlasts the window.
        let o: Vec<Observation> = sliding()
            .into_iter()
            .map(|mut o| {
                if !o.outcome.is_admitted() {
                    o.answered_secs += 12.0;
                }
                o
            })
            .collect();
        let v = judge(facts(), &log(), &o);
        let w = window(&v);
        assert!(w.problems.is_empty(), "{:?}", w.problems);
        assert!(!w.judged);
        assert!(
            w.not_judged[0].contains("longer than the 10 s window"),
            "{:?}",
            w.not_judged
        );
        assert_eq!(v.status, Status::NotJudged);
    }

    #[test]
    fn a_refusal_with_room_left_fails() {
        let mut o = sliding();
        o[3].outcome = no(5);
        let v = judge(facts(), &log(), &o);
        let p = &window(&v).problems;
        assert!(
            p.iter()
                .any(|p| p.starts_with("PP-RATE-1: refused") && p.contains("at most 3")),
            "{p:?}"
        );
    }

    #[test]
    fn a_retry_after_that_is_not_the_oldest_admissions_time_to_go_fails() {
        let mut o = sliding();
        o[6].outcome = no(2);
        let v = judge(facts(), &log(), &o);
        let p = &window(&v).problems;
        assert!(
            p.iter()
                .any(|p| p.contains("Retry-After 2 s") && p.contains("5..5")),
            "{p:?}"
        );
    }

    #[test]
    fn early_admission_and_missed_resumption_fail() {
        let mut o = sliding();
        o[7].outcome = ok();
        let v = judge(facts(), &log(), &o);
        let p = &window(&v).problems;
        assert!(
            p.iter().any(|p| p.contains("before the window allowed")),
            "{p:?}"
        );
        let mut o = sliding();
        o[8].outcome = no(1);
        let v = judge(facts(), &log(), &o);
        let p = &window(&v).problems;
        assert!(p.iter().any(|p| p.contains("did not resume")), "{p:?}");
    }

    #[test]
    fn a_retry_after_that_does_not_shrink_says_so() {
        let mut o = sliding();
        o[7].outcome = no(5);
        let v = judge(facts(), &log(), &o);
        let p = &window(&v).problems;
        assert!(p.iter().any(|p| p.contains("did not shrink: 5 s")), "{p:?}");
    }

    #[test]
    fn against_a_deployment_decided_clauses_are_noted_and_musts_still_fail() {
        let mut f = facts();
        f.decided_fails = false;
        let mut o = sliding();
        o[6].outcome = no(2);
        o[8].outcome = no(1);
        let v = judge(f.clone(), &log(), &o);
        let w = window(&v);
        assert!(v.holds, "{:?}", w.problems);
        assert!(w.notes.len() >= 2, "{:?}", w.notes);
        o[4].outcome = ok();
        let v = judge(f, &log(), &o);
        assert!(!v.holds);
        assert!(window(&v).problems[0].starts_with("PP-RATE-1: admitted 5"));
    }

    #[test]
    fn malformed_refusals_and_server_errors_fail() {
        let mut o = sliding();
        o[4].outcome = Outcome::Refused {
            retry_after: None,
            problem: None,
            decided_problem: Some("no Retry-After".into()),
        };
        o.push(obs(
            Step::Burst,
            RequestKind::Over,
            5.02,
            Outcome::ServerError { status: 500 },
        ));
        let v = judge(facts(), &log(), &o);
        let p = &window(&v).problems;
        assert!(p.iter().any(|p| p.contains("no Retry-After")), "{p:?}");
        assert!(p.iter().any(|p| p.contains("5xx")), "{p:?}");
        assert_eq!(window(&v).refused_with_retry_after, window(&v).refused - 1);
    }

    #[test]
    fn a_missing_window_fails_a_controlled_run() {
        let mut f = facts();
        f.windows_requested = 3;
        let v = judge(f, &log(), &sliding());
        assert!(!v.holds);
        assert!(v.problems[0].contains("1 of 3"));
    }
}
