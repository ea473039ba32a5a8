//! One goose attack per limit: the scenario (a seat on start, then one window per
//! iteration), its configuration, and the conductor running beside it.
//!
//! Goose is built with [`GooseAttack::initialize_with_config`], so it never reads the
//! process's arguments, and it writes nothing on standard output (issue 13): goose 0.19
//! prints "N users launched." once per attack whenever `iterations` is set (metrics.rs,
//! `reset_metrics`), so no iteration count is set. The users play window after window
//! until the conductor is done; then goose's killswitch ends the attack, and goose writes
//! its reports as at the end of any run. The killswitch is one per process, so attacks
//! take turns ([`one_goose_at_a_time`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::goose::{GooseUser, Scenario, Transaction, TransactionResult};
use goose::metrics::GooseCoordinatedOmissionMitigation;
use goose::{GooseAttack, GooseError};
use tokio::sync::{Mutex, MutexGuard, mpsc};

use crate::target::WindowClock;
use crate::window::{AttackState, ConductorLog, Phase, conduct, play_window, take_seat};

/// How long past `--run-time` a run may take to cancel what is in flight, let goose
/// write its reports and give its verdict.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// One goose run at a time in this process: goose's killswitch, which ends an attack, is
/// process-wide, so a second run beside it would be ended too.
static GOOSE: Mutex<()> = Mutex::const_new(());

/// Waits for this process's turn to run goose; the turn lasts as long as the guard.
pub async fn one_goose_at_a_time() -> MutexGuard<'static, ()> {
    GOOSE.lock().await
}

type Play = fn(
    &mut GooseUser,
    Arc<AttackState>,
) -> Pin<Box<dyn Future<Output = TransactionResult> + Send + '_>>;

fn transaction(state: &Arc<AttackState>, play: Play) -> Transaction {
    let state = Arc::clone(state);
    Transaction::new(Arc::new(move |user| play(user, Arc::clone(&state))))
}

/// A goose configuration for `users` users, all started within a twentieth of a second,
/// with no controller ports, no terminal metrics and the given report files.
pub fn goose_config(base: &str, users: usize, report_files: Vec<String>) -> GooseConfiguration {
    let mut config = GooseConfiguration::default();
    config.host = Some(base.to_owned());
    config.users = Some(users);
    config.increase_rate = Some((users * 20).to_string());
    config.report_file = report_files;
    config.no_print_metrics = true;
    config.no_error_summary = true;
    config.no_telnet = true;
    config.no_autostart = false;
    config.quiet = 1;
    config.timeout = Some("10".into());
    config.co_mitigation = Some(GooseCoordinatedOmissionMitigation::Disabled);
    config
}

/// One shared default client, built once: every user replaces it with its own, bound
/// to its source address, in its on-start transaction, so building a default client per
/// user (with its certificate store) would only slow the start.
pub fn shared_default_client(attack: GooseAttack) -> Result<GooseAttack, GooseError> {
    attack.set_client_builder_without_cookies(GooseClientBuilder::new().without_cookies())
}

/// Runs the attack for `state`'s limit and returns what the conductor did, with a problem
/// when goose itself failed. Over within [`GRACE`] of the state's deadline,
/// whatever the server does: goose is dropped then, and its users, which send nothing
/// after the deadline, end with their requests' timeouts.
pub async fn run(
    state: Arc<AttackState>,
    reports: mpsc::UnboundedReceiver<Phase>,
    clock: WindowClock,
    report_files: Vec<String>,
) -> (ConductorLog, Option<String>) {
    let base = state.traffic.base_url();
    let config = goose_config(&base, state.users, report_files);

    let scenario = Scenario::new(&state.traffic.limit.name)
        .register_transaction(
            transaction(&state, |u, s| Box::pin(take_seat(u, s)))
                .set_name("seat")
                .set_on_start(),
        )
        .register_transaction(
            transaction(&state, |u, s| Box::pin(play_window(u, s))).set_name("window"),
        );

    let _turn = one_goose_at_a_time().await;
    let over = tokio::time::Instant::from_std(state.deadline + GRACE);
    let conductor = async {
        let mut conducting = tokio::spawn(conduct(Arc::clone(&state), reports, clock));
        // A target that stops answering ends the attack within seconds, not at the
        // deadline: the conductor is stopped where it is (issue 23 item 1).
        // Between requests (a real-clock wait), or after a failure, the target's base URL
        // is asked once a second: a target that does not answer it is gone. Bounded: the
        // loop ends with the attack.
        let base = state.traffic.base_url();
        let ping = crate::target::client_builder(&base, None, &state.traffic.access)
            .timeout(std::time::Duration::from_secs(2))
            .build();
        let watch_target = async {
            let mut last_ping = std::time::Instant::now();
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if let Some(gone) = state.target_gone() {
                    return gone;
                }
                let Ok(client) = &ping else { continue };
                if state.ping_due() && last_ping.elapsed() >= std::time::Duration::from_secs(1) {
                    last_ping = std::time::Instant::now();
                    match client.get(&base).send().await {
                        Ok(_) => state.answered(),
                        Err(e) if e.is_connect() || e.is_timeout() => {
                            return state.gone_line(&contract_client::access::explain(&e, &base));
                        }
                        Err(_) => {}
                    }
                }
            }
        };
        let log = tokio::select! {
            conducted = tokio::time::timeout_at(over, &mut conducting) => match conducted {
                Ok(Ok(log)) => log,
                Ok(Err(e)) => ConductorLog {
                    stopped_early: Some(format!("the conductor failed: {e}")),
                    ..ConductorLog::default()
                },
                Err(_) => ConductorLog {
                    stopped_early: Some("the conductor did not finish".into()),
                    ..ConductorLog::default()
                },
            },
            gone = watch_target => {
                conducting.abort();
                state.end_now();
                ConductorLog {
                    stopped_early: Some(gone.clone()),
                    target_gone: Some(gone),
                    ..ConductorLog::default()
                }
            }
        };
        // Every window is done (or the deadline passed): the users have nothing left to
        // send, and goose ends as a cancelled run, reports written.
        goose::trigger_killswitch("the conductor finished the windows");
        log
    };
    let goose = async {
        let attack = GooseAttack::initialize_with_config(config)?;
        shared_default_client(attack)?
            .register_scenario(scenario)
            .execute()
            .await
            .map(drop)
    };
    let goose = async {
        match tokio::time::timeout_at(over, goose).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("goose failed: {e}")),
            Err(_) => {
                state.progress.finish();
                Some("goose did not finish within the grace after the run time".into())
            }
        }
    };
    let (log, goose_problem) = tokio::join!(conductor, goose);
    // The next run in this process starts without this one's cancel.
    goose::reset_killswitch();
    (log, goose_problem)
}
