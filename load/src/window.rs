//! One limit's attack, window by window: the shared state of the goose users (the
//! players) and the conductor that moves them through each window's steps.
//!
//! A window (PP-RATE-3) is checked in four steps, for every key at once:
//!
//! 1. **Burst**: every goose user sends for its key until the key has been offered its
//!    room plus `extra`; exactly the room must be admitted, the rest refused.
//! 2. **First refusal**: one request per key, refused, gives Retry-After `r`.
//! 3. **Not before**: after `min(r) - 1.5 s` have passed, one request per key must still
//!    be refused, with a Retry-After no later than the first one allowed.
//! 4. **Resume**: once `max(r)` seconds have passed, one request per key is admitted.
//!
//! Between windows the conductor lets the burst's admissions leave the window (the
//! resumed request stays in it, so the next window's room is one less). On the reference
//! server time passes through `POST /__test/clock/advance`; on a deployment it is waited
//! for, up to the deadline.
//!
//! This module owns the phases and the bookkeeping; [`crate::verdict`] judges the
//! observations it collects.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use goose::goose::{GooseRequest, GooseUser, TransactionError, TransactionResult};
use profile::{Profile, Secret};
use serde::Serialize;
use tokio::sync::{mpsc, watch};

use crate::keys::KeyPlan;
use crate::observe::{Outcome, RequestKind};
use crate::target::WindowClock;
use crate::traffic::Traffic;

/// Where the attack stands. Ordered: players wait until the phase reaches theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Phase {
    Ready,
    Window { window: usize, step: Step },
    Finished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Step {
    Burst,
    FirstRefusal,
    NotBefore,
    Resume,
}

impl Step {
    pub const PROBES: [Step; 3] = [Step::FirstRefusal, Step::NotBefore, Step::Resume];

    fn kind(self) -> RequestKind {
        match self {
            Step::Burst => RequestKind::Within,
            Step::FirstRefusal => RequestKind::FirstRefusal,
            Step::NotBefore => RequestKind::NotBefore,
            Step::Resume => RequestKind::Resume,
        }
    }
}

impl Phase {
    fn at(window: usize, step: Step) -> Phase {
        Phase::Window { window, step }
    }
}

/// One response, where it belongs and what it was.
#[derive(Debug, Clone, Serialize)]
pub struct Observation {
    pub window: usize,
    pub key: usize,
    pub kind: RequestKind,
    pub outcome: Outcome,
    /// Seconds since the attack began when the request was sent and when its answer
    /// was read (the client's clock).
    pub sent_secs: f64,
    pub answered_secs: f64,
}

/// A key's burst in the current window, in two stages.
///
/// The first `sure` requests (the room less the straddle) are sent concurrently and must
/// all be admitted. Only once every one of them has been answered does the second stage
/// start, so no later request can overtake one of them and take its place. The second
/// stage sends the rest concurrently across the boundary: exactly `room - sure` of them
/// may be admitted, and which ones cannot be known, so each is an edge request, until
/// the room has been seen used up; every request claimed after that must be refused.
#[derive(Debug, Clone, Default)]
struct KeyBurst {
    /// How many requests the window still has room for: the limit less what is carried
    /// over from the previous window.
    room: u32,
    /// First-stage requests, each of which must be admitted.
    sure: u32,
    /// Counted requests to send: `room + extra`.
    offered: u32,
    /// Requests with a failing bearer token to mix in (per-user limits).
    noise: u32,
    claimed: u32,
    claimed_noise: u32,
    /// Counted requests answered.
    settled: u32,
    admitted: u32,
}

/// What a player does next for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    Send(usize, RequestKind),
    /// The first stage is still being answered.
    Wait,
    Done,
}

impl KeyBurst {
    fn new(room: u32, straddle: u32, extra: u32, with_noise: bool) -> Self {
        let offered = room + extra;
        KeyBurst {
            room,
            sure: room.saturating_sub(straddle),
            offered,
            noise: if with_noise { offered.div_ceil(5) } else { 0 },
            ..KeyBurst::default()
        }
    }

    /// The next request to send, and what it must get.
    fn claim(&mut self) -> Claim {
        let index = (self.claimed + self.claimed_noise) as usize;
        let noise_due = self.claimed_noise < self.noise
            && ((self.claimed_noise + 1) * 5 <= self.claimed || self.claimed >= self.offered);
        if noise_due {
            self.claimed_noise += 1;
            return Claim::Send(index, RequestKind::Noise);
        }
        if self.claimed >= self.offered {
            return Claim::Done;
        }
        let kind = if self.claimed < self.sure {
            RequestKind::Within
        } else if self.settled < self.sure {
            return Claim::Wait;
        } else if self.admitted >= self.room {
            RequestKind::Over
        } else {
            RequestKind::Edge
        };
        self.claimed += 1;
        Claim::Send(index, kind)
    }

    fn settle(&mut self, admitted: bool) {
        self.settled += 1;
        if admitted {
            self.admitted += 1;
        }
    }
}

/// Goose request names, one per kind, so the goose reports show each kind on its row.
#[derive(Debug)]
struct RequestNames {
    names: Vec<(RequestKind, String)>,
}

impl RequestNames {
    fn new(limit: &str) -> Self {
        let kinds = [
            RequestKind::Within,
            RequestKind::Edge,
            RequestKind::Over,
            RequestKind::Noise,
            RequestKind::FirstRefusal,
            RequestKind::NotBefore,
            RequestKind::Resume,
        ];
        RequestNames {
            names: kinds
                .iter()
                .map(|k| (*k, format!("{limit}/{}", k.as_str().replace(' ', "-"))))
                .collect(),
        }
    }

    fn of(&self, kind: RequestKind) -> &str {
        &self
            .names
            .iter()
            .find(|(k, _)| *k == kind)
            .expect("every kind has a name")
            .1
    }
}

/// Everything the players and the conductor of one attack share.
#[derive(Debug)]
pub struct AttackState {
    pub profile: Profile,
    pub traffic: Traffic,
    pub plan: KeyPlan,
    pub users: usize,
    pub windows: usize,
    /// Requests offered per key and window beyond its room.
    pub extra: u32,
    /// Places of each window left to the second stage of its burst, which straddles the
    /// boundary.
    pub straddle: u32,
    phase: watch::Sender<Phase>,
    reports: mpsc::UnboundedSender<Phase>,
    bursts: Mutex<Vec<KeyBurst>>,
    observations: Mutex<Vec<Observation>>,
    problems: Mutex<Vec<String>>,
    names: RequestNames,
    /// Players give up waiting for a phase after this.
    player_deadline: Instant,
    /// When the attack began, for observation times.
    began: Instant,
}

/// Per-key bookkeeping that goose keeps for each user.
#[derive(Debug, Clone)]
struct Player {
    key: usize,
    slot: usize,
    next_window: usize,
}

impl AttackState {
    pub fn new(
        profile: Profile,
        traffic: Traffic,
        plan: KeyPlan,
        users: usize,
        windows: usize,
        extra: Option<u32>,
        player_deadline: Instant,
    ) -> (Arc<AttackState>, mpsc::UnboundedReceiver<Phase>) {
        let keys = plan.keys.len().max(1);
        let users_per_key = (users / keys).max(1) as u32;
        let max = traffic.limit.max;
        // Enough beyond the room that every user of a key sends after the room is gone,
        // and at least a quarter of the limit.
        let extra = extra.unwrap_or_else(|| (max / 4).max(2 * users_per_key).max(2));
        let straddle = (2 * users_per_key).max(2);
        let (phase, _) = watch::channel(Phase::Ready);
        let (reports, reports_rx) = mpsc::unbounded_channel();
        let names = RequestNames::new(&traffic.limit.name);
        let state = AttackState {
            profile,
            traffic,
            plan,
            users,
            windows,
            extra,
            straddle,
            phase,
            reports,
            bursts: Mutex::new(Vec::new()),
            observations: Mutex::new(Vec::new()),
            problems: Mutex::new(Vec::new()),
            names,
            player_deadline,
            began: Instant::now(),
        };
        (Arc::new(state), reports_rx)
    }

    pub fn observations(&self) -> Vec<Observation> {
        self.observations.lock().expect("observations lock").clone()
    }

    pub fn problems(&self) -> Vec<String> {
        self.problems.lock().expect("problems lock").clone()
    }

    fn problem(&self, text: String) {
        self.problems.lock().expect("problems lock").push(text);
    }

    fn observe(&self, observation: Observation) {
        self.observations
            .lock()
            .expect("observations lock")
            .push(observation);
    }

    fn report(&self, phase: Phase) {
        let _ = self.reports.send(phase);
    }

    /// Waits until the phase reaches `target`; `None` when players should stop (the
    /// attack finished or the conductor is gone).
    async fn wait_for(&self, target: Phase) -> Option<Phase> {
        let mut rx = self.phase.subscribe();
        let reached =
            tokio::time::timeout_at(self.player_deadline.into(), rx.wait_for(|p| *p >= target))
                .await;
        match reached {
            Ok(Ok(p)) if *p != Phase::Finished => Some(*p),
            _ => None,
        }
    }

    fn noise_token(&self, index: usize) -> Option<&Secret> {
        let n = &self.plan.noise_tokens;
        (!n.is_empty()).then(|| &n[index % n.len()])
    }
}

// ---------------------------------------------------------------------------------------
// Players: the goose transactions.

/// On start: the user's own keep-alive client, bound to its key's source address.
pub async fn take_seat(user: &mut GooseUser, state: Arc<AttackState>) -> TransactionResult {
    let keys = state.plan.keys.len();
    let index = user.weighted_users_index;
    let (key, slot) = (index % keys, index / keys);
    let source = state.plan.keys[key].source_for_slot(slot);
    let builder = crate::target::client_builder(&state.traffic.base_url(), source);
    let seated = user.set_client_builder(builder).await;
    if let Err(e) = &seated {
        state.problem(format!(
            "goose user {index} could not build a client bound to {source:?}: {e}"
        ));
    }
    user.set_session_data(Player {
        key,
        slot,
        next_window: 0,
    });
    state.report(Phase::Ready);
    seated.map_err(Box::new)
}

/// One iteration: one window. Every user bursts; each key's first user (slot 0) sends
/// the probes.
pub async fn play_window(user: &mut GooseUser, state: Arc<AttackState>) -> TransactionResult {
    let Some(player) = user.get_session_data_mut::<Player>() else {
        return Err(Box::new(TransactionError::Custom(
            "the goose user has no seat; its on-start transaction did not run".into(),
        )));
    };
    let (key, slot, window) = (player.key, player.slot, player.next_window);
    player.next_window += 1;

    let burst_phase = Phase::at(window, Step::Burst);
    if state.wait_for(burst_phase).await != Some(burst_phase) {
        return Ok(());
    }
    let burst = burst(user, &state, key, window).await;
    state.report(burst_phase);
    burst?;

    if slot != 0 {
        return Ok(());
    }
    for step in Step::PROBES {
        let phase = Phase::at(window, step);
        match state.wait_for(phase).await {
            Some(p) if p == phase => {}
            Some(p) if p < Phase::at(window + 1, Step::Burst) => continue,
            _ => return Ok(()),
        }
        let index = 1_000_000 + window * 10 + step as usize;
        let sent = send(user, &state, key, window, index, step.kind()).await;
        state.report(phase);
        sent?;
    }
    Ok(())
}

async fn burst(
    user: &mut GooseUser,
    state: &AttackState,
    key: usize,
    window: usize,
) -> TransactionResult {
    // Bounded: a key's burst is `offered + noise` claims, shared by its users, and the
    // wait between its stages ends at the players' deadline.
    loop {
        let claim = state.bursts.lock().expect("bursts lock")[key].claim();
        let (index, kind) = match claim {
            Claim::Send(index, kind) => (index, kind),
            Claim::Done => return Ok(()),
            Claim::Wait if Instant::now() < state.player_deadline => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            Claim::Wait => {
                return Err(Box::new(TransactionError::Custom(
                    "the first stage of the burst was never answered".into(),
                )));
            }
        };
        let sent = send(user, state, key, window, index, kind).await;
        if kind != RequestKind::Noise {
            let admitted = sent.as_ref().is_ok_and(Outcome::is_admitted);
            state.bursts.lock().expect("bursts lock")[key].settle(admitted);
        }
        sent?;
    }
}

/// Sends one request through goose and records what came back.
async fn send(
    user: &mut GooseUser,
    state: &AttackState,
    key: usize,
    window: usize,
    index: usize,
    kind: RequestKind,
) -> Result<Outcome, Box<TransactionError>> {
    let sent_at = Instant::now();
    let traffic = &state.traffic;
    let noise = if kind == RequestKind::Noise {
        state.noise_token(index)
    } else {
        None
    };
    let request = traffic.request(&user.client, &state.plan.keys[key], index, noise);
    let name = state.names.of(kind);
    let window_secs = traffic.limit.window_secs;
    let outcome = if kind == RequestKind::Edge {
        // Either outcome is right for this request (only the window's total is judged),
        // which an expected status cannot say: record it as a custom request whose
        // success is "admitted as usual, or a well-formed refusal".
        let started = Instant::now();
        let response = match request.build() {
            Ok(r) => user.client.execute(r).await,
            Err(e) => Err(e),
        };
        let outcome = read(&state.profile, response, window_secs).await;
        let (ok, status) = match &outcome {
            Outcome::Admitted { status } => (*status == traffic.admitted_status, Some(*status)),
            Outcome::Refused { .. } => (outcome.is_clean_refusal(), Some(traffic.refused_status)),
            Outcome::ServerError { status } => (false, Some(*status)),
            Outcome::Transport { .. } => (false, None),
        };
        let error = (!ok).then(|| outcome.describe());
        user.record_custom_request_duration(
            traffic.method.as_str(),
            name,
            started.elapsed(),
            ok,
            status,
            error.as_deref(),
        )
        .await?;
        outcome
    } else {
        let expected = match kind {
            RequestKind::Over | RequestKind::FirstRefusal | RequestKind::NotBefore => {
                traffic.refused_status
            }
            RequestKind::Noise => traffic.noise_status,
            _ => traffic.admitted_status,
        };
        let goose_request = GooseRequest::builder()
            .set_request_builder(request)
            .name(name)
            .expect_status_code(expected)
            .build();
        let goose = user.request(goose_request).await?;
        read(&state.profile, goose.response, window_secs).await
    };
    state.observe(Observation {
        window,
        key,
        kind,
        outcome: outcome.clone(),
        sent_secs: sent_at.duration_since(state.began).as_secs_f64(),
        answered_secs: state.began.elapsed().as_secs_f64(),
    });
    Ok(outcome)
}

async fn read(
    profile: &Profile,
    response: Result<reqwest::Response, reqwest::Error>,
    window_secs: u64,
) -> Outcome {
    match response {
        Err(e) => Outcome::Transport {
            error: transport_error(&e),
        },
        Ok(r) => {
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            match r.bytes().await {
                Ok(body) => Outcome::of_response(profile, status, &headers, &body, window_secs),
                Err(e) => Outcome::Transport {
                    error: transport_error(&e),
                },
            }
        }
    }
}

fn transport_error(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

// ---------------------------------------------------------------------------------------
// The conductor.

/// What the conductor did, for the verdict.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConductorLog {
    /// Per window opened: each key's room (the limit less what was carried over).
    pub rooms: Vec<Vec<u32>>,
    /// Per window: the seconds passed between the first refusal and the not-before probe,
    /// when it could be placed (the smallest Retry-After was at least 2).
    pub not_before_after: Vec<Option<f64>>,
    /// Per window: whether the resume step was reached.
    pub resume_reached: Vec<bool>,
    /// Seconds the server's clock was moved (or waited) in all.
    pub seconds_passed: f64,
    /// Per window but the last: the seconds passed after its resume step, before the next
    /// window's burst.
    pub drains: Vec<f64>,
    /// Set when the attack stopped before its windows were done, and why.
    pub stopped_early: Option<String>,
    /// Whether a real clock's deadline, rather than a failure, ended the attack early.
    pub deadline_reached: bool,
}

/// Moves the players through `state.windows` windows. Bounded: every wait has a timeout
/// and every loop a count.
pub async fn conduct(
    state: Arc<AttackState>,
    mut reports: mpsc::UnboundedReceiver<Phase>,
    clock: WindowClock,
    phase_timeout: Duration,
) -> ConductorLog {
    let mut log = ConductorLog::default();
    let keys = state.plan.keys.len();
    let window_secs = state.traffic.limit.window_secs as f64;
    let max = state.traffic.limit.max;

    let started = Instant::now();
    let ready = await_reports(&mut reports, Phase::Ready, state.users, phase_timeout).await;
    tracing::debug!(limit = %state.traffic.limit.name, ms = started.elapsed().as_millis() as u64, "goose users seated");
    if let Err(why) = ready {
        return finish(
            &state,
            log,
            Some(format!("goose users did not start: {why}")),
        );
    }
    let problems = state.problems();
    if !problems.is_empty() {
        return finish(&state, log, Some(problems.join("; ")));
    }
    let mut carried = vec![0u32; keys];
    for window in 0..state.windows {
        let rooms: Vec<u32> = carried.iter().map(|c| max.saturating_sub(*c)).collect();
        *state.bursts.lock().expect("bursts lock") = rooms
            .iter()
            .map(|&room| {
                KeyBurst::new(
                    room,
                    state.straddle,
                    state.extra,
                    !state.plan.noise_tokens.is_empty(),
                )
            })
            .collect();
        log.rooms.push(rooms);
        log.not_before_after.push(None);
        log.resume_reached.push(false);

        let step = |s| Phase::at(window, s);
        if let Err(why) = run_step(
            &state,
            &mut reports,
            step(Step::Burst),
            state.users,
            phase_timeout,
        )
        .await
        {
            return finish(&state, log, Some(why));
        }
        if let Err(why) = run_step(
            &state,
            &mut reports,
            step(Step::FirstRefusal),
            keys,
            phase_timeout,
        )
        .await
        {
            return finish(&state, log, Some(why));
        }
        let retry_afters: Vec<u64> = state
            .observations()
            .iter()
            .filter(|o| o.window == window && o.kind == RequestKind::FirstRefusal)
            .filter_map(|o| match o.outcome {
                Outcome::Refused {
                    retry_after: Some(r),
                    ..
                } => Some(r),
                _ => None,
            })
            .collect();
        let (Some(&min_r), Some(&max_r)) = (retry_afters.iter().min(), retry_afters.iter().max())
        else {
            // No Retry-After to wait for: the verdict reports the missing probes. Let a
            // whole window pass so the next one starts empty.
            carried = vec![0; keys];
            if window + 1 < state.windows {
                log.drains.push(window_secs + 1.0);
                match pass(&clock, &mut log, window_secs + 1.0).await {
                    Ok(true) => continue,
                    Ok(false) => return finish_at_deadline(&state, log),
                    Err(why) => return finish(&state, log, Some(why)),
                }
            }
            continue;
        };
        // Not before: the oldest admission of each key leaves within (r-1, r] seconds of
        // its first refusal; after min_r - 1.5 s every key still has at least half a
        // second to go.
        let before = if min_r >= 2 { min_r as f64 - 1.5 } else { 0.0 };
        if min_r >= 2 {
            match pass(&clock, &mut log, before).await {
                Ok(true) => {}
                Ok(false) => return finish_at_deadline(&state, log),
                Err(why) => return finish(&state, log, Some(why)),
            }
            log.not_before_after[window] = Some(before);
            if let Err(why) = run_step(
                &state,
                &mut reports,
                step(Step::NotBefore),
                keys,
                phase_timeout,
            )
            .await
            {
                return finish(&state, log, Some(why));
            }
        }
        // Resume: max_r seconds after the first refusal, every key's oldest has left.
        match pass(&clock, &mut log, max_r as f64 - before).await {
            Ok(true) => {}
            Ok(false) => return finish_at_deadline(&state, log),
            Err(why) => return finish(&state, log, Some(why)),
        }
        log.resume_reached[window] = true;
        if let Err(why) = run_step(
            &state,
            &mut reports,
            step(Step::Resume),
            keys,
            phase_timeout,
        )
        .await
        {
            return finish(&state, log, Some(why));
        }
        if window + 1 == state.windows {
            break;
        }
        // Let every admission of the burst leave (each was admitted before the first
        // refusal, and max_r seconds have passed since); the resumed request stays in
        // the next window unless the window is too short to tell.
        let mut drain = (window_secs + 1.0 - max_r as f64).max(0.0);
        let observations = state.observations();
        let resumed: Vec<bool> = (0..keys)
            .map(|k| {
                observations.iter().any(|o| {
                    o.window == window
                        && o.key == k
                        && o.kind == RequestKind::Resume
                        && o.outcome.is_admitted()
                })
            })
            .collect();
        if drain + 10.0 < window_secs {
            carried = resumed.iter().map(|&r| u32::from(r)).collect();
        } else {
            drain += window_secs + 1.0;
            carried = vec![0; keys];
        }
        log.drains.push(drain);
        match pass(&clock, &mut log, drain).await {
            Ok(true) => {}
            Ok(false) => return finish_at_deadline(&state, log),
            Err(why) => return finish(&state, log, Some(why)),
        }
    }
    finish(&state, log, None)
}

async fn pass(clock: &WindowClock, log: &mut ConductorLog, seconds: f64) -> Result<bool, String> {
    match clock.pass(seconds).await {
        Ok(true) => {
            log.seconds_passed += seconds.max(0.0);
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(e) => Err(format!("could not move the clock: {e}")),
    }
}

async fn run_step(
    state: &AttackState,
    reports: &mut mpsc::UnboundedReceiver<Phase>,
    phase: Phase,
    expected: usize,
    timeout: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    state.phase.send_replace(phase);
    let done = await_reports(reports, phase, expected, timeout)
        .await
        .map_err(|why| format!("{phase:?}: {why}"));
    tracing::debug!(limit = %state.traffic.limit.name, ?phase, ms = started.elapsed().as_millis() as u64, "step done");
    done
}

async fn await_reports(
    reports: &mut mpsc::UnboundedReceiver<Phase>,
    phase: Phase,
    expected: usize,
    timeout: Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut seen = 0;
    while seen < expected {
        match tokio::time::timeout_at(deadline, reports.recv()).await {
            Ok(Some(p)) if p == phase => seen += 1,
            Ok(Some(_)) => {}
            Ok(None) => return Err("the goose users are gone".into()),
            Err(_) => {
                return Err(format!(
                    "only {seen} of {expected} goose users reported within {} s",
                    timeout.as_secs()
                ));
            }
        }
    }
    Ok(())
}

fn finish_at_deadline(state: &AttackState, mut log: ConductorLog) -> ConductorLog {
    log.deadline_reached = true;
    finish(
        state,
        log,
        Some("the run time ended before the next step".into()),
    )
}

fn finish(
    state: &AttackState,
    mut log: ConductorLog,
    stopped_early: Option<String>,
) -> ConductorLog {
    log.stopped_early = stopped_early;
    state.phase.send_replace(Phase::Finished);
    log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_stage_waits_for_the_first_and_straddles_the_boundary() {
        let mut b = KeyBurst::new(4, 2, 2, false);
        assert_eq!(b.claim(), Claim::Send(0, RequestKind::Within));
        assert_eq!(b.claim(), Claim::Send(1, RequestKind::Within));
        // Nothing may overtake the first stage.
        assert_eq!(b.claim(), Claim::Wait);
        b.settle(true);
        assert_eq!(b.claim(), Claim::Wait);
        b.settle(true);
        assert_eq!(b.claim(), Claim::Send(2, RequestKind::Edge));
        assert_eq!(b.claim(), Claim::Send(3, RequestKind::Edge));
        assert_eq!(b.claim(), Claim::Send(4, RequestKind::Edge));
        b.settle(true);
        b.settle(true);
        // The room is seen used up: what follows must be refused.
        assert_eq!(b.claim(), Claim::Send(5, RequestKind::Over));
        assert_eq!(b.claim(), Claim::Done);
    }

    #[test]
    fn noise_is_mixed_in_one_in_six() {
        let mut b = KeyBurst::new(10, 20, 0, true);
        let kinds: Vec<_> = std::iter::from_fn(|| match b.claim() {
            Claim::Send(_, kind) => {
                b.settle(false);
                Some(kind)
            }
            _ => None,
        })
        .collect();
        assert_eq!(kinds.len(), 12);
        assert_eq!(
            kinds.iter().filter(|k| **k == RequestKind::Noise).count(),
            2
        );
        assert_eq!(kinds[5], RequestKind::Noise);
    }

    #[test]
    fn phases_order_by_window_then_step() {
        assert!(Phase::Ready < Phase::at(0, Step::Burst));
        assert!(Phase::at(0, Step::Resume) < Phase::at(1, Step::Burst));
        assert!(Phase::at(7, Step::Resume) < Phase::Finished);
    }
}
