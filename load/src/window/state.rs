//! What the players and the conductor of one attack share: the plan, the bursts in
//! progress, every observation, and the attack's timeline.
//!
//! The timeline is the server's clock as the client can know it: real seconds since the
//! attack began plus every second the conductor moved the reference server's clock
//! (`POST /__test/clock/advance`). Every observation is placed on it, so one verdict
//! serves a moved clock and a real one alike.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use profile::{Profile, Secret};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use super::burst::KeyBurst;
use super::phase::{Phase, Step};
use crate::keys::KeyPlan;
use crate::observe::{Outcome, RequestKind};
use crate::progress::Progress;
use crate::traffic::Traffic;

/// One response, where it belongs and what it was.
#[derive(Debug, Clone, Serialize)]
pub struct Observation {
    pub window: usize,
    pub key: usize,
    pub step: Step,
    pub kind: RequestKind,
    pub outcome: Outcome,
    /// When the request was sent and when its answer was read, in seconds on the
    /// attack's timeline (real time plus the clock moved).
    pub sent_secs: f64,
    pub answered_secs: f64,
}

impl Observation {
    /// Whether the request counts against its key when admitted ("every admitted
    /// request counts, whatever its status", PP-RATE-3); failing authentication does not
    /// (PP-RATE-4).
    pub fn counted(&self) -> bool {
        self.kind != RequestKind::Noise
    }
}

/// Goose request names, one per kind, so the goose reports show each kind on its row.
#[derive(Debug)]
struct RequestNames {
    names: Vec<(RequestKind, String)>,
}

impl RequestNames {
    fn new(limit: &str) -> Self {
        RequestNames {
            names: RequestKind::ALL
                .iter()
                .map(|k| (*k, format!("{limit}/{}", k.as_str().replace(' ', "-"))))
                .collect(),
        }
    }

    fn of(&self, kind: RequestKind) -> &str {
        self.names
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or("unnamed", |(_, name)| name.as_str())
    }
}

/// How one attack is set up.
#[derive(Debug)]
pub struct AttackSetup {
    pub profile: Profile,
    pub traffic: Traffic,
    pub plan: KeyPlan,
    pub users: usize,
    pub windows: usize,
    /// Requests per key and burst beyond its room; `None` for the default.
    pub extra: Option<u32>,
    /// When the attack must be over: no request is sent after it, and requests in flight
    /// then are cancelled.
    pub deadline: Instant,
    pub progress: Progress,
}

/// Everything the players and the conductor of one attack share.
#[derive(Debug)]
pub struct AttackState {
    pub profile: Profile,
    pub traffic: Traffic,
    pub plan: KeyPlan,
    pub users: usize,
    pub windows: usize,
    /// Requests offered per key and burst beyond its room.
    pub extra: u32,
    /// Places of each burst left to its second stage, which straddles the boundary.
    pub straddle: u32,
    pub deadline: Instant,
    pub progress: Progress,
    pub(super) phase: watch::Sender<Phase>,
    pub(super) reports: mpsc::UnboundedSender<Phase>,
    pub(super) bursts: Mutex<Vec<KeyBurst>>,
    observations: Mutex<Vec<Observation>>,
    problems: Mutex<Vec<String>>,
    names: RequestNames,
    /// When the attack began: the timeline's zero.
    began: Instant,
    /// Milliseconds the server's clock was moved.
    moved_ms: AtomicU64,
    /// Real milliseconds since `began` of the last HTTP answer (any status).
    last_answer_ms: AtomicU64,
    /// Transport failures since the last HTTP answer.
    failures_since_answer: AtomicU32,
    /// Where and how the last transport failure happened: window, step, error.
    last_failure: Mutex<Option<(usize, RequestKind, String)>>,
}

/// A target that stopped answering: this many transport failures in a row, and no
/// answer for [`SILENCE`], end the attack (issue 23 item 1).
pub const FAILURES_IN_A_ROW: u32 = 8;
/// See [`FAILURES_IN_A_ROW`].
pub const SILENCE: std::time::Duration = std::time::Duration::from_secs(2);

impl AttackState {
    pub fn new(setup: AttackSetup) -> (Arc<AttackState>, mpsc::UnboundedReceiver<Phase>) {
        let keys = setup.plan.keys.len().max(1);
        let users_per_key = (setup.users / keys).max(1) as u32;
        let max = setup.traffic.limit.max;
        // Enough beyond the room that every user of a key sends after the room is gone,
        // and at least a quarter of the limit.
        let extra = setup
            .extra
            .unwrap_or_else(|| (max / 4).max(2 * users_per_key).max(2));
        let straddle = (2 * users_per_key).max(2);
        let (phase, _) = watch::channel(Phase::Ready);
        let (reports, reports_rx) = mpsc::unbounded_channel();
        let names = RequestNames::new(&setup.traffic.limit.name);
        let state = AttackState {
            profile: setup.profile,
            traffic: setup.traffic,
            plan: setup.plan,
            users: setup.users,
            windows: setup.windows,
            extra,
            straddle,
            deadline: setup.deadline,
            progress: setup.progress,
            phase,
            reports,
            bursts: Mutex::new(Vec::new()),
            observations: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
            names,
            began: Instant::now(),
            moved_ms: AtomicU64::new(0),
            last_answer_ms: AtomicU64::new(0),
            failures_since_answer: AtomicU32::new(0),
            last_failure: Mutex::new(None),
        };
        (Arc::new(state), reports_rx)
    }

    /// Seconds on the attack's timeline: real time since it began plus the clock moved.
    pub fn now(&self) -> f64 {
        self.began.elapsed().as_secs_f64() + self.moved_ms.load(Ordering::SeqCst) as f64 / 1e3
    }

    /// Records that the server's clock was moved by `seconds`.
    pub(super) fn clock_moved(&self, seconds: f64) {
        self.moved_ms
            .fetch_add((seconds.max(0.0) * 1e3).round() as u64, Ordering::SeqCst);
    }

    pub fn observations(&self) -> Vec<Observation> {
        self.lock_observations().clone()
    }

    fn lock_observations(&self) -> std::sync::MutexGuard<'_, Vec<Observation>> {
        // A panicking player cannot leave the list half-written: pushes are atomic.
        self.observations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn observe(&self, observation: Observation) {
        match &observation.outcome {
            Outcome::Transport { error } => {
                self.failures_since_answer.fetch_add(1, Ordering::SeqCst);
                *self.last_failure.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((observation.window, observation.kind, error.clone()));
            }
            Outcome::Cancelled => {}
            _ => {
                self.failures_since_answer.store(0, Ordering::SeqCst);
                self.last_answer_ms
                    .store(self.began.elapsed().as_millis() as u64, Ordering::SeqCst);
            }
        }
        self.lock_observations().push(observation);
    }

    /// Whether a liveness ping is due: a transport failure since the last answer, or
    /// [`SILENCE`] without any answer (a real-clock wait, when nothing else is sent).
    pub fn ping_due(&self) -> bool {
        let elapsed = self.began.elapsed().as_millis() as u64;
        let since = elapsed - self.last_answer_ms.load(Ordering::SeqCst).min(elapsed);
        self.failures_since_answer.load(Ordering::SeqCst) > 0 || since >= SILENCE.as_millis() as u64
    }

    /// A ping answered: the target is there.
    pub fn answered(&self) {
        self.failures_since_answer.store(0, Ordering::SeqCst);
        self.last_answer_ms
            .store(self.began.elapsed().as_millis() as u64, Ordering::SeqCst);
    }

    /// The one line for a target that no longer answers a ping (`why`): names the limit,
    /// the window (the last one opened) and the time.
    pub fn gone_line(&self, why: &str) -> String {
        let window = self.lock_observations().last().map_or(0, |o| o.window);
        let limit = &self.traffic.limit;
        format!(
            "the target stopped answering during limit `{}` ({} per {} s), window {}, {:.1} s into its attack: {why}; no verdict for it; check that the target is up and run again",
            limit.name,
            limit.max,
            limit.window_secs,
            window + 1,
            self.began.elapsed().as_secs_f64()
        )
    }

    /// The one line for a target that stopped answering, once it has: at least
    /// [`FAILURES_IN_A_ROW`] transport failures since the last answer, which is
    /// [`SILENCE`] old or more. Names the limit, the window and the step.
    pub fn target_gone(&self) -> Option<String> {
        if self.failures_since_answer.load(Ordering::SeqCst) < FAILURES_IN_A_ROW {
            return None;
        }
        let since = self.began.elapsed().as_millis() as u64
            - self
                .last_answer_ms
                .load(Ordering::SeqCst)
                .min(self.began.elapsed().as_millis() as u64);
        if since < SILENCE.as_millis() as u64 {
            return None;
        }
        let (window, kind, error) = self
            .last_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()?;
        let limit = &self.traffic.limit;
        Some(format!(
            "the target stopped answering during limit `{}` ({} per {} s), window {} ({} step), {:.1} s into its attack: {error}; no verdict for it; check that the target is up and run again",
            limit.name,
            limit.max,
            limit.window_secs,
            window + 1,
            kind.as_str(),
            self.began.elapsed().as_secs_f64()
        ))
    }

    pub fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub(super) fn problem(&self, text: String) {
        self.problems
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(text);
    }

    pub(super) fn with_bursts<T>(&self, f: impl FnOnce(&mut Vec<KeyBurst>) -> T) -> T {
        f(&mut self
            .bursts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    pub(super) fn report(&self, phase: Phase) {
        let _ = self.reports.send(phase);
    }

    pub(super) fn name_of(&self, kind: RequestKind) -> &str {
        self.names.of(kind)
    }

    /// Waits until the phase satisfies `reached`; `None` when players should stop (the
    /// attack finished, the conductor is gone, or the deadline passed).
    pub(super) async fn wait_for(&self, reached: impl Fn(&Phase) -> bool) -> Option<Phase> {
        let mut rx = self.phase.subscribe();
        let grace = std::time::Duration::from_millis(500);
        // The end of the attack ends every wait: a player waiting for a step that will
        // never come (the target stopped answering) must not hold goose to the deadline.
        let waited = tokio::time::timeout_at(
            (self.deadline + grace).into(),
            rx.wait_for(|p| *p == Phase::Finished || reached(p)),
        )
        .await;
        match waited {
            Ok(Ok(p)) if *p != Phase::Finished => Some(*p),
            _ => None,
        }
    }

    pub(super) fn noise_token(&self, index: usize) -> Option<&Secret> {
        let n = &self.plan.noise_tokens;
        (!n.is_empty()).then(|| &n[index % n.len()])
    }

    /// The observations in `window` for which `pick` holds.
    pub(super) fn observed(
        &self,
        window: usize,
        pick: impl Fn(&Observation) -> bool,
    ) -> Vec<Observation> {
        self.lock_observations()
            .iter()
            .filter(|o| o.window == window && pick(o))
            .cloned()
            .collect()
    }

    /// Ends the attack where it is: the players stop at their next step.
    pub fn end_now(&self) {
        self.phase.send_replace(Phase::Finished);
    }

    /// Whether the deadline has passed.
    pub fn past_deadline(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The time a request may still take.
    pub(super) fn time_left(&self) -> std::time::Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}
