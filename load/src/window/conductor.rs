//! The conductor: moves every player through each window's steps, on a schedule of
//! the window's length, and lets the time between steps pass (the reference server's
//! clock is moved; a deployment's is waited for, never past the deadline).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use super::burst::KeyBurst;
use super::phase::{Phase, Step};
use super::state::AttackState;
use crate::observe::{Outcome, RequestKind};
use crate::target::WindowClock;

/// Where in the window the burst goes, as a fraction of its length.
const BURST_AT: f64 = 1.0 / 3.0;
/// Hold probes per window between the first refusal and the resume.
const HOLDS: u8 = 4;
/// How long before Retry-After has passed the not-before probe goes: every key's oldest
/// admission still has at least half a second to go then.
const NOT_BEFORE_MARGIN: f64 = 1.5;
/// How long after the early half is due to leave the resume goes.
const AFTER_LEAVING: f64 = 0.05;

/// goose resets its metrics once every user is launched, in its next tick (no
/// `iterations` are set, see [`crate::attack`]); the first step waits this long after the
/// last user is seated, so that goose's reports count every request of the attack.
const AFTER_SEATING: Duration = Duration::from_millis(100);

/// What the conductor did in one window, for the verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WindowLog {
    /// Per key: the room each burst step was given (the early half, the burst, the
    /// slide), from what was admitted before it.
    pub early_room: Vec<u32>,
    pub burst_room: Vec<u32>,
    pub slide_room: Vec<u32>,
    /// The steps every expected player reported, in order.
    pub steps: Vec<Step>,
}

impl WindowLog {
    pub fn reached(&self, step: Step) -> bool {
        self.steps.contains(&step)
    }
}

/// What the conductor did, for the verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConductorLog {
    pub windows: Vec<WindowLog>,
    /// Seconds the server's clock was moved (or waited) in all.
    pub seconds_passed: f64,
    /// Set when the attack stopped before its windows were done, and why.
    pub stopped_early: Option<String>,
    /// Whether the deadline, rather than a failure, ended the attack early.
    pub deadline_reached: bool,
    /// Set when the target stopped answering: the one line that says where.
    pub target_gone: Option<String>,
}

/// Why a window's schedule stopped.
enum Stop {
    Deadline,
    Failed(String),
}

/// Moves the players through `state.windows` windows. Bounded: every wait ends at the
/// deadline and every loop has a count.
pub async fn conduct(
    state: Arc<AttackState>,
    mut reports: mpsc::UnboundedReceiver<Phase>,
    clock: WindowClock,
) -> ConductorLog {
    let mut conductor = Conductor {
        state: &state,
        seq: 0,
        reports: &mut reports,
        clock,
        log: ConductorLog::default(),
    };
    state.progress.phase(Phase::Ready);
    let started = Instant::now();
    let ready = conductor.await_reports(Phase::Ready, state.users).await;
    tracing::debug!(limit = %state.traffic.limit.name, ms = started.elapsed().as_millis() as u64, "goose users seated");
    let problems = state.problems();
    let stop = match ready {
        Err(why) => Some(Stop::Failed(format!("goose users did not start: {why}"))),
        Ok(()) if !problems.is_empty() => Some(Stop::Failed(problems.join("; "))),
        Ok(()) => {
            tokio::time::sleep(AFTER_SEATING).await;
            let mut stop = None;
            for window in 0..state.windows {
                if let Err(s) = conductor.window(window).await {
                    stop = Some(s);
                    break;
                }
            }
            stop
        }
    };
    let mut log = conductor.log;
    match stop {
        Some(Stop::Deadline) => {
            log.deadline_reached = true;
            log.stopped_early = Some("the run time ended before the next step".into());
        }
        Some(Stop::Failed(why)) => log.stopped_early = Some(why),
        None => {}
    }
    state.phase.send_replace(Phase::Finished);
    log
}

struct Conductor<'a> {
    state: &'a AttackState,
    /// The next step's place in the current window's schedule.
    seq: u16,
    reports: &'a mut mpsc::UnboundedReceiver<Phase>,
    clock: WindowClock,
    log: ConductorLog,
}

impl Conductor<'_> {
    async fn window(&mut self, window: usize) -> Result<(), Stop> {
        let state = self.state;
        let keys = state.plan.keys.len();
        let window_secs = state.traffic.limit.window_secs as f64;
        let max = state.traffic.limit.max;
        // A window needs its length of real time; do not start one that cannot end.
        if !self.clock.is_controlled()
            && Instant::now() + Duration::from_secs_f64(window_secs + 1.0) > state.deadline
        {
            return Err(Stop::Deadline);
        }
        self.log.windows.push(WindowLog::default());
        self.seq = 0;
        let noise = !state.plan.noise_tokens.is_empty();

        // Early half: half the limit into an empty window.
        let early = max / 2;
        let window_began = state.now();
        self.log_mut().early_room = vec![early; keys];
        if early > 0 {
            self.set_bursts(|_| KeyBurst::within(early, noise));
            self.step(window, Step::Early, state.users).await?;
        }
        let early_admitted = self.admitted_per_key();
        let early_done = state.now();

        // A third of a window later, the rest of the limit and `extra` beyond it. Early
        // enough that the slide, at the window's end, comes well within one window's
        // length of it; late enough that a refilling bucket has refilled.
        self.pass_to(window_began + window_secs * BURST_AT, "the burst")
            .await?;
        let burst_room: Vec<u32> = early_admitted
            .iter()
            .map(|a| max.saturating_sub(*a))
            .collect();
        self.log_mut().burst_room = burst_room.clone();
        self.set_bursts(|k| KeyBurst::new(burst_room[k], state.straddle, state.extra, noise));
        self.step(window, Step::Burst, state.users).await?;
        let burst_done = state.now();
        let oldest_done = if early > 0 { early_done } else { burst_done };

        self.step(window, Step::FirstRefusal, keys).await?;
        let refused_at = state.now();
        let retry_afters: Vec<u64> = state
            .observed(window, |o| o.kind == RequestKind::FirstRefusal)
            .iter()
            .filter_map(|o| match o.outcome {
                Outcome::Refused {
                    retry_after: Some(r),
                    ..
                } => Some(r),
                _ => None,
            })
            .collect();
        // Resume once Retry-After has passed for every key and the early half is
        // certainly out of the window, whatever Retry-After said.
        let leaves = oldest_done + window_secs + AFTER_LEAVING;
        let resume_at = match retry_afters.iter().max() {
            Some(&r) => (refused_at + r as f64 + AFTER_LEAVING).max(leaves),
            None => leaves,
        };
        let not_before_at = retry_afters
            .iter()
            .min()
            .filter(|r| **r >= 2)
            .map(|&r| refused_at + r as f64 - NOT_BEFORE_MARGIN);

        // Keep asking, whatever Retry-After said, until the early half may begin to leave
        // the window: holds spread over that time, and the not-before probe.
        let holds_until = window_began + window_secs - AFTER_LEAVING;
        let gap = (holds_until - refused_at) / f64::from(HOLDS + 1);
        let mut probes: Vec<(f64, Step)> = (1..=HOLDS)
            .filter(|_| gap > 0.0)
            .map(|i| (refused_at + gap * f64::from(i), Step::Hold(i - 1)))
            .filter(|(at, _)| not_before_at.is_none_or(|nb| (at - nb).abs() > 0.25))
            .collect();
        probes.extend(not_before_at.map(|at| (at, Step::NotBefore)));
        probes.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (at, step) in probes {
            self.pass_to(at, "the next probe").await?;
            self.step(window, step, keys).await?;
        }

        self.pass_to(resume_at, "the resume").await?;
        self.step(window, Step::Resume, keys).await?;
        let resumed = self.observed_admitted(window, Step::Resume);

        // At once: a sliding window has room for what the early half freed.
        let slide_room: Vec<u32> = (0..keys)
            .map(|k| early_admitted[k].saturating_sub(resumed[k]))
            .collect();
        self.log_mut().slide_room = slide_room.clone();
        self.set_bursts(|k| KeyBurst::new(slide_room[k], state.straddle, state.extra, noise));
        self.step(window, Step::Slide, state.users).await?;

        if window + 1 < state.windows {
            // Let every admission of the window leave, so the next one starts empty; on
            // a real clock, only when another window fits in the time left.
            let needed = Duration::from_secs_f64(2.0 * (window_secs + 1.0));
            if !self.clock.is_controlled() && Instant::now() + needed > state.deadline {
                return Err(Stop::Deadline);
            }
            let drained = state.now() + window_secs + 1.0;
            self.pass_to(drained, "the next window").await?;
        }
        Ok(())
    }

    fn log_mut(&mut self) -> &mut WindowLog {
        if self.log.windows.is_empty() {
            self.log.windows.push(WindowLog::default());
        }
        let last = self.log.windows.len() - 1;
        &mut self.log.windows[last]
    }

    fn set_bursts(&self, burst_of: impl Fn(usize) -> KeyBurst) {
        let keys = self.state.plan.keys.len();
        self.state
            .with_bursts(|b| *b = (0..keys).map(&burst_of).collect());
    }

    fn admitted_per_key(&self) -> Vec<u32> {
        self.state
            .with_bursts(|b| b.iter().map(KeyBurst::admitted).collect())
    }

    fn observed_admitted(&self, window: usize, step: Step) -> Vec<u32> {
        let mut admitted = vec![0; self.state.plan.keys.len()];
        for o in self
            .state
            .observed(window, |o| o.step == step && o.outcome.is_admitted())
        {
            admitted[o.key] += 1;
        }
        admitted
    }

    /// Lets the server's clock reach `at` on the attack's timeline.
    async fn pass_to(&mut self, at: f64, waiting_for: &str) -> Result<(), Stop> {
        let seconds = at - self.state.now();
        if seconds <= 0.0 {
            return Ok(());
        }
        match &self.clock {
            WindowClock::Controlled(target) => {
                target
                    .advance(seconds)
                    .await
                    .map_err(|e| Stop::Failed(format!("could not move the clock: {e}")))?;
                self.state.clock_moved(seconds);
            }
            WindowClock::Real => {
                let wait = Duration::from_secs_f64(seconds);
                if Instant::now() + wait > self.state.deadline {
                    return Err(Stop::Deadline);
                }
                self.state.progress.countdown(wait, waiting_for).await;
            }
        }
        self.log.seconds_passed += seconds;
        Ok(())
    }

    async fn step(&mut self, window: usize, step: Step, expected: usize) -> Result<(), Stop> {
        let phase = Phase::at(window, self.seq, step);
        self.seq += 1;
        let started = Instant::now();
        self.state.progress.phase(phase);
        self.state.phase.send_replace(phase);
        let done = self.await_reports(phase, expected).await;
        tracing::debug!(limit = %self.state.traffic.limit.name, %phase, ms = started.elapsed().as_millis() as u64, "step done");
        match done {
            Ok(()) if self.state.past_deadline() => Err(Stop::Deadline),
            Ok(()) => {
                self.log_mut().steps.push(step);
                Ok(())
            }
            Err(_) if self.state.past_deadline() => Err(Stop::Deadline),
            Err(why) => Err(Stop::Failed(format!("{phase}: {why}"))),
        }
    }

    async fn await_reports(&mut self, phase: Phase, expected: usize) -> Result<(), String> {
        // Players stop sending at the deadline; a second more lets them report.
        let until = self.state.deadline + Duration::from_secs(1);
        let mut seen = 0;
        while seen < expected {
            match tokio::time::timeout_at(until.into(), self.reports.recv()).await {
                Ok(Some(p)) if p == phase => seen += 1,
                Ok(Some(_)) => {}
                Ok(None) => return Err("the goose users are gone".into()),
                Err(_) => {
                    return Err(format!(
                        "only {seen} of {expected} goose users reported before the deadline"
                    ));
                }
            }
        }
        Ok(())
    }
}
