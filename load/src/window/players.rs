//! The players: goose transactions. Each goose user is seated on one key; every user of
//! a key shares its bursts, and the key's first user (slot 0) sends its probes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use goose::goose::{GooseRequest, GooseUser, TransactionError, TransactionResult};
use profile::Profile;

use super::burst::Claim;
use super::phase::{Phase, Step};
use super::state::{AttackState, Observation};
use crate::observe::{Outcome, RequestKind};

/// How often a user with every window played looks whether goose has ended the attack.
const IDLE: Duration = Duration::from_millis(50);

/// Per-key bookkeeping that goose keeps for each user.
#[derive(Debug, Clone)]
struct Player {
    key: usize,
    slot: usize,
    next_window: usize,
}

/// On start: the user's own keep-alive client, bound to its key's source address.
pub async fn take_seat(user: &mut GooseUser, state: Arc<AttackState>) -> TransactionResult {
    let keys = state.plan.keys.len();
    let index = user.weighted_users_index;
    let (key, slot) = (index % keys, index / keys);
    let source = state.plan.keys[key].source_for_slot(slot);
    let builder =
        crate::target::client_builder(&state.traffic.base_url(), source, &state.traffic.access);
    let seated = user.set_client_builder(builder).await;
    if let Err(e) = &seated {
        let address = crate::keys::label_of(source);
        state.problem(format!(
            "goose user {index} could not build a client bound to {address}: {e}"
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

/// One iteration: one window (goose runs iterations until the attack ends). Every user takes part in the bursts; each key's first
/// user (slot 0) sends the probes. The iteration ends when the conductor opens the next
/// window or finishes.
pub async fn play_window(user: &mut GooseUser, state: Arc<AttackState>) -> TransactionResult {
    let Some(player) = user.get_session_data_mut::<Player>() else {
        return Err(Box::new(TransactionError::Custom(
            "the goose user has no seat; its on-start transaction did not run".into(),
        )));
    };
    let (key, slot, window) = (player.key, player.slot, player.next_window);
    player.next_window += 1;
    if window >= state.windows {
        // Every window is played: wait for the conductor to finish, then come back now
        // and then until goose ends the attack (it asks only between iterations).
        state.wait_for(|p| *p == Phase::Finished).await;
        tokio::time::sleep(IDLE).await;
        return Ok(());
    }

    let mut reached = state
        .wait_for(|p| p.window().is_some_and(|w| w >= window))
        .await;
    // Bounded: a window has a fixed number of steps, and each wait ends at the deadline.
    while let Some(
        phase @ Phase::Window {
            window: w, step, ..
        },
    ) = reached
    {
        if w != window {
            return Ok(());
        }
        if step.is_burst() {
            let done = burst(user, &state, key, window, step).await;
            state.report(phase);
            done?;
        } else if slot == 0 {
            let index = step.probe_index(window);
            let sent = send(user, &state, key, window, step, index, step.probe_kind()).await;
            state.report(phase);
            sent?;
        }
        reached = state.wait_for(|p| *p > phase).await;
    }
    Ok(())
}

async fn burst(
    user: &mut GooseUser,
    state: &AttackState,
    key: usize,
    window: usize,
    step: Step,
) -> TransactionResult {
    // Bounded: a key's burst is `offered + noise` claims, shared by its users, and the
    // wait between its stages ends at the deadline.
    loop {
        let claim = state.with_bursts(|b| b.get_mut(key).map_or(Claim::Done, |b| b.claim()));
        let (index, kind) = match claim {
            Claim::Send(index, kind) => (index, kind),
            Claim::Done => return Ok(()),
            Claim::Wait if !state.past_deadline() => {
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            Claim::Wait => return Ok(()),
        };
        let sent = send(user, state, key, window, step, index, kind).await;
        if kind != RequestKind::Noise {
            let admitted = sent.as_ref().is_ok_and(Outcome::is_admitted);
            state.with_bursts(|b| {
                if let Some(b) = b.get_mut(key) {
                    b.settle(admitted);
                }
            });
        }
        sent?;
    }
}

/// Sends one request through goose and records what came back. Nothing is sent after
/// the deadline; a request still in flight then is cancelled and recorded as such.
async fn send(
    user: &mut GooseUser,
    state: &AttackState,
    key: usize,
    window: usize,
    step: Step,
    index: usize,
    kind: RequestKind,
) -> Result<Outcome, Box<TransactionError>> {
    if state.past_deadline() {
        return Ok(Outcome::Cancelled);
    }
    let sent_secs = state.now();
    let traffic = &state.traffic;
    let noise = if kind == RequestKind::Noise {
        state.noise_token(index)
    } else {
        None
    };
    let request = traffic
        .request(&user.client, &state.plan.keys[key], index, noise)
        .timeout(state.time_left().min(Duration::from_secs(10)));
    let name = state.name_of(kind);
    let window_secs = traffic.limit.window_secs;
    let outcome = if kind == RequestKind::Edge {
        // Either outcome is right for this request (only the window's counts are
        // judged), which an expected status cannot say: record it as a custom request
        // whose success is "admitted as usual, or a well-formed refusal".
        let started = Instant::now();
        let response = match request.build() {
            Ok(r) => user.client.execute(r).await,
            Err(e) => Err(e),
        };
        let outcome = read(&state.profile, response, window_secs, state).await;
        let (ok, status) = match &outcome {
            Outcome::Admitted { status } => (*status == traffic.admitted_status, Some(*status)),
            Outcome::Refused { .. } => (outcome.is_clean_refusal(), Some(traffic.refused_status)),
            Outcome::ServerError { status } => (false, Some(*status)),
            Outcome::Transport { .. } | Outcome::Cancelled => (false, None),
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
            RequestKind::Over
            | RequestKind::FirstRefusal
            | RequestKind::Hold
            | RequestKind::NotBefore => traffic.refused_status,
            RequestKind::Noise => traffic.noise_status,
            RequestKind::Within | RequestKind::Edge | RequestKind::Resume => {
                traffic.admitted_status
            }
        };
        let goose_request = GooseRequest::builder()
            .set_request_builder(request)
            .name(name)
            .expect_status_code(expected)
            .build();
        let goose = user.request(goose_request).await?;
        read(&state.profile, goose.response, window_secs, state).await
    };
    state.observe(Observation {
        window,
        key,
        step,
        kind,
        outcome: outcome.clone(),
        sent_secs,
        answered_secs: state.now(),
    });
    Ok(outcome)
}

async fn read(
    profile: &Profile,
    response: Result<reqwest::Response, reqwest::Error>,
    window_secs: u64,
    state: &AttackState,
) -> Outcome {
    let failed = |e: reqwest::Error| {
        if state.past_deadline() {
            Outcome::Cancelled
        } else {
            Outcome::Transport {
                error: transport_error(&e),
            }
        }
    };
    match response {
        Err(e) => failed(e),
        Ok(r) => {
            let status = r.status().as_u16();
            let headers = r.headers().clone();
            match r.bytes().await {
                Ok(body) => Outcome::of_response(profile, status, &headers, &body, window_secs),
                Err(e) => failed(e),
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
