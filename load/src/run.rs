//! A load run: pick the target (or start the reference server in-process), then for each
//! selected limit reset, set up, attack and judge; then the reports.
//!
//! This module owns the order of things and nothing else.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use profile::{Identities, LimitKey, Profile, RateLimit, Secret};
use url::Url;

use crate::keys::{self, UserToken, loopback_sources, usable_clients};
use crate::progress::Progress;
use crate::report::{self, RunReport};
use crate::setup;
use crate::target::{Target, WindowClock};
use crate::traffic::{Endpoint, Traffic};
use crate::verdict::{self, ClockMode, RunFacts, Status};
use crate::window::{AttackSetup, AttackState};

/// The fewest concurrent goose users a run may use (issue 4: "under at least 64").
pub const MIN_USERS: usize = 64;

/// How long past `--run-time` a run may take to cancel what is in flight, let goose
/// write its reports and give its verdict.
pub const GRACE: Duration = Duration::from_secs(2);

/// The longest a request that is not part of a scenario (reachability, test controls)
/// may take.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `None`: start the reference server in-process, with test controls.
    pub target: Option<Url>,
    /// `None`: every limit of the profile.
    pub limit: Option<String>,
    pub users: usize,
    /// Windows per limit when the clock can be moved.
    pub windows: usize,
    /// The wall time of the whole run, requests in flight included (plus [`GRACE`]).
    /// Against a target without test controls it is shared equally by the limits.
    pub run_time: Duration,
    /// Loopback source addresses (127.0.0.2 and up) for a loopback target.
    pub addresses: usize,
    /// Source addresses named by the user; they replace the loopback ones.
    pub source_addrs: Vec<IpAddr>,
    /// Requests per key and window beyond its room (default: max(limit/4, 2 × users per key)).
    pub extra: Option<u32>,
    /// Where goose's reports and `verdict.json` go; `None` writes none.
    pub reports_dir: Option<PathBuf>,
    pub profile: Profile,
    pub identities: Identities,
    /// Access tokens for the per-user limit against a deployment without test controls.
    pub tokens: Vec<UserToken>,
    /// A named server defect to switch on after each reset (test controls only), to see
    /// the verdict fail.
    pub fault: Option<String>,
    /// Print the verdict table.
    pub print: bool,
    /// Colour the verdict lines (a terminal without `NO_COLOR`).
    pub color: bool,
    /// Show a progress line on standard error (when it is a terminal).
    pub progress: bool,
    /// Let confidential clients alternate HTTP Basic with body credentials at the token
    /// endpoint (PP-TOKEN-5).
    pub basic_auth: bool,
    /// Fail the verdict on DECIDED clauses against a target without test controls too.
    /// With test controls (the reference server) they always fail it.
    pub strict: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            target: None,
            limit: None,
            users: MIN_USERS,
            windows: 3,
            run_time: Duration::from_secs(180),
            addresses: 8,
            source_addrs: Vec::new(),
            extra: None,
            reports_dir: Some(PathBuf::from("reports/load")),
            profile: Profile::punchplay(),
            identities: Identities::punchplay(),
            tokens: Vec::new(),
            fault: None,
            print: true,
            color: false,
            progress: false,
            basic_auth: true,
            strict: false,
        }
    }
}

/// Why a run could not be made at all (as opposed to a limit that does not hold).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Usage(String),
    #[error("could not start the reference server: {0}")]
    Server(std::io::Error),
    #[error("setting up limit `{limit}` failed: {why}")]
    Setup { limit: String, why: String },
    #[error("could not write the reports: {0}; check that --report-dir is writable")]
    Reports(std::io::Error),
    #[error("the target did not answer within {0:?}; check --target, or give a longer --run-time")]
    NoAnswer(Duration),
}

fn setup_error(limit: &RateLimit, why: impl ToString) -> LoadError {
    LoadError::Setup {
        limit: limit.name.clone(),
        why: why.to_string(),
    }
}

/// The target the user named, or else a reference server started in-process with test
/// controls, on the options' profile and identities (kept alive by the returned handle).
pub(crate) async fn target_or_embedded(
    options: &LoadOptions,
) -> std::io::Result<(Url, Option<reference_server::RunningServer>)> {
    if let Some(url) = &options.target {
        return Ok((url.clone(), None));
    }
    let server = reference_server::spawn(reference_server::ServerConfig {
        profile: options.profile.clone(),
        identities: options.identities.clone(),
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await?;
    let base = Url::parse(&server.base_url()).map_err(std::io::Error::other)?;
    Ok((base, Some(server)))
}

/// Runs the selected limits and returns what was found. The caller decides the exit code
/// from `report.status`. The whole run ends within `run_time` plus [`GRACE`].
pub async fn run(options: LoadOptions) -> Result<RunReport, LoadError> {
    if options.users < MIN_USERS {
        return Err(LoadError::Usage(format!(
            "--users must be at least {MIN_USERS}: the limits are judged under that much concurrency"
        )));
    }
    if options.windows == 0 {
        return Err(LoadError::Usage(
            "--windows must be at least 1; the default is 3".into(),
        ));
    }
    let limits: Vec<RateLimit> = match &options.limit {
        None => options.profile.rate_limits.clone(),
        Some(name) => match options.profile.rate_limit(name) {
            Some(l) => vec![l.clone()],
            None => {
                let names: Vec<_> = options
                    .profile
                    .rate_limits
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect();
                return Err(LoadError::Usage(format!(
                    "the profile has no limit `{name}`; use all or one of: {}",
                    names.join(", ")
                )));
            }
        },
    };

    let started = Instant::now();
    let deadline = started + options.run_time;
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (base, server) = target_or_embedded(&options)
        .await
        .map_err(LoadError::Server)?;
    let mut target = Target::new(base.clone());
    let control_timeout = CONTROL_TIMEOUT.min(options.run_time);
    tokio::time::timeout(control_timeout, target.reachable())
        .await
        .map_err(|_| LoadError::NoAnswer(control_timeout))?
        .map_err(|e| LoadError::Usage(e.to_string()))?;
    let controls = tokio::time::timeout(control_timeout, target.detect_controls())
        .await
        .unwrap_or(false);
    if options.fault.is_some() && !controls {
        return Err(LoadError::Usage(
            "--fault needs a target with test controls; leave --target out to use the \
             in-process reference server, or drop --fault"
                .into(),
        ));
    }
    let sources = source_addresses(&options, &base);

    let progress = if options.progress {
        Progress::on_stderr(true)
    } else {
        Progress::hidden()
    };
    let mut verdicts = Vec::new();
    let result = async {
        for (i, limit) in limits.iter().enumerate() {
            // Real time is shared equally by the limits still to run; a moved clock
            // needs little of it, so each may use what is left.
            let left = deadline.saturating_duration_since(Instant::now());
            let share = if controls {
                left
            } else {
                left / (limits.len() - i) as u32
            };
            progress.limit(i, limits.len(), &limit.name, limit.max, limit.window_secs);
            let attack = Attack {
                target: &target,
                controls,
                sources: &sources,
                deadline: Instant::now() + share,
                progress: progress.clone(),
            };
            verdicts.push(run_limit(&options, &attack, limit).await?);
        }
        Ok::<(), LoadError>(())
    }
    .await;
    progress.finish();
    if controls {
        let _ = target.reset().await;
    }
    if let Some(server) = server {
        server.stop().await;
    }
    result?;

    let report = RunReport {
        target: base.to_string(),
        in_process: options.target.is_none(),
        clock: if controls {
            ClockMode::Controlled
        } else {
            ClockMode::Real
        },
        started_at,
        wall_secs: started.elapsed().as_secs_f64(),
        status: run_status(&verdicts),
        holds: verdicts.iter().all(|v| v.status == Status::Holds),
        limits: verdicts,
    };
    if let Some(dir) = &options.reports_dir {
        report::write_json(&dir.join("verdict.json"), &report).map_err(LoadError::Reports)?;
    }
    if options.print {
        let mut text = report::render(&report, options.color);
        if let Some(dir) = &options.reports_dir {
            text.push_str(&format!("reports: {}\n", dir.display()));
        }
        report::print_stdout(&text);
    }
    Ok(report)
}

/// Does not hold when any limit does not; else not judged when any limit could not be
/// judged; else holds.
fn run_status(verdicts: &[verdict::LimitVerdict]) -> Status {
    if verdicts.iter().any(|v| v.status == Status::DoesNotHold) {
        Status::DoesNotHold
    } else if verdicts.iter().any(|v| v.status == Status::NotJudged) || verdicts.is_empty() {
        Status::NotJudged
    } else {
        Status::Holds
    }
}

/// Where and until when one limit's attack runs.
struct Attack<'a> {
    target: &'a Target,
    controls: bool,
    sources: &'a [Option<IpAddr>],
    /// No request after this; the attack is over within [`GRACE`] of it.
    deadline: Instant,
    progress: Progress,
}

fn source_addresses(options: &LoadOptions, base: &Url) -> Vec<Option<IpAddr>> {
    if !options.source_addrs.is_empty() {
        return options.source_addrs.iter().copied().map(Some).collect();
    }
    let loopback = match base.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        _ => false,
    };
    if loopback {
        loopback_sources(options.addresses.max(1))
    } else {
        vec![None]
    }
}

async fn run_limit(
    options: &LoadOptions,
    attack: &Attack<'_>,
    limit: &RateLimit,
) -> Result<verdict::LimitVerdict, LoadError> {
    let (target, controls, sources) = (attack.target, attack.controls, attack.sources);
    let started = Instant::now();
    let profile = &options.profile;
    if controls {
        target.reset().await.map_err(|e| setup_error(limit, e))?;
        if let Some(fault) = &options.fault {
            target
                .fault(Some(fault))
                .await
                .map_err(|e| setup_error(limit, e))?;
        }
    }
    let clients = usable_clients(&options.identities);
    let endpoint = limit.endpoint().and_then(Endpoint::of_path_name);
    let device_codes = if endpoint == Some(Endpoint::DeviceToken) {
        setup::device_codes(target, profile, &clients).await
    } else {
        Default::default()
    };
    let (tokens, noise): (Vec<UserToken>, Vec<Secret>) = if limit.key == LimitKey::User {
        if controls && options.tokens.is_empty() {
            setup::tokens_by_device_flow(target, profile, &options.identities)
                .await
                .map_err(|e| setup_error(limit, e))?
        } else {
            (
                options.tokens.clone(),
                vec![Secret::new("load-unknown-access-token")],
            )
        }
    } else {
        (Vec::new(), Vec::new())
    };
    let usernames: Vec<String> = options
        .identities
        .users
        .iter()
        .map(|u| u.username.clone())
        .collect();
    let mut traffic = Traffic::new(profile, limit, &target.base, &usernames, device_codes)
        .map_err(|e| setup_error(limit, e))?;
    traffic.basic_auth = options.basic_auth;
    let plan = keys::plan(limit.key, sources, &clients, &tokens, &noise)
        .map_err(|e| setup_error(limit, e))?;
    if plan.keys.len() > options.users {
        return Err(setup_error(
            limit,
            format!(
                "{} keys need at least as many goose users; raise --users",
                plan.keys.len()
            ),
        ));
    }

    let (clock, windows) = if controls {
        (WindowClock::Controlled(target.clone()), options.windows)
    } else {
        // As many windows as the run time may allow: each takes about twice its length
        // (the window, then emptying it); the conductor starts none it cannot end.
        let cycle = 2 * limit.window_secs.max(1) + 1;
        let secs = attack
            .deadline
            .saturating_duration_since(Instant::now())
            .as_secs();
        (WindowClock::Real, (secs / cycle + 1) as usize)
    };
    let (state, reports) = AttackState::new(AttackSetup {
        profile: profile.clone(),
        traffic,
        plan,
        users: options.users,
        windows,
        extra: options.extra,
        deadline: attack.deadline,
        progress: attack.progress.clone(),
    });
    let report_files: Vec<String> = match &options.reports_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(LoadError::Reports)?;
            ["html", "json", "md"]
                .iter()
                .map(|ext| {
                    dir.join(format!("{}.{ext}", limit.name))
                        .display()
                        .to_string()
                })
                .collect()
        }
        None => Vec::new(),
    };
    tracing::debug!(limit = %limit.name, ms = started.elapsed().as_millis() as u64, "set up");
    let (log, attack_problem) = crate::attack::run(
        Arc::clone(&state),
        reports,
        clock.clone(),
        report_files.clone(),
    )
    .await;
    let facts = RunFacts {
        limit: limit.name.clone(),
        method: limit.method.clone(),
        path: match limit.endpoint() {
            Some(endpoint) => profile.path(endpoint).to_owned(),
            None => format!("{}*", limit.path_prefix().unwrap_or_default()),
        },
        max: limit.max,
        window_secs: limit.window_secs,
        key_kind: limit.key.as_str().to_owned(),
        key_labels: state.plan.keys.iter().map(|k| k.label.clone()).collect(),
        clock: if clock.is_controlled() {
            ClockMode::Controlled
        } else {
            ClockMode::Real
        },
        users: options.users,
        windows_requested: windows,
        extra: state.extra,
        noise_status: state.traffic.noise_status,
        admitted_status: state.traffic.admitted_status,
        refused_status: state.traffic.refused_status,
        decided_fails: controls || options.strict,
        wall_secs: started.elapsed().as_secs_f64(),
        reports: report_files,
        attack_problem,
    };
    tracing::debug!(limit = %limit.name, ms = started.elapsed().as_millis() as u64, "attack done");
    Ok(verdict::judge(facts, &log, &state.observations()))
}
