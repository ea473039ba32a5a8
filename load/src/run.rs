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

use crate::families::{self, Context};
use crate::keys::{self, UserToken, loopback_sources, usable_clients};
use crate::progress::Progress;
use crate::report::{self, RunReport};
use crate::target::{Target, WindowClock};
use crate::traffic::Traffic;
use crate::verdict::{self, ClockMode, RunFacts, Status};
use crate::window::{AttackSetup, AttackState};

/// The fewest concurrent goose users a run may use (issue 4: "under at least 64").
pub const MIN_USERS: usize = 64;

pub use crate::attack::GRACE;

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
    /// How every client reaches the target: trusted CAs, a gateway's headers.
    pub access: contract_client::access::Access,
    /// `--test-controls`: the target must serve them (they are detected either way).
    pub require_test_controls: bool,
    /// The identities are the family's fixtures because none were given: fine for a
    /// reference server with test controls, refused for any other target.
    pub fixture_identities: bool,
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
            access: contract_client::access::Access::default(),
            require_test_controls: false,
            fixture_identities: false,
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
    /// The target stopped answering during an attack (issue 23 item 1): one line that
    /// names the limit and the window.
    #[error("{0}")]
    TargetGone(String),
    /// The target cannot be checked as the profile (the preflight's refusal).
    #[error("the target cannot be checked: {0}")]
    CannotBeChecked(String),
    /// Standard output was closed (`load | head`): nothing more can be said.
    #[error("standard output was closed")]
    StdoutClosed,
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
    families::for_profile(&options.profile).map_err(LoadError::Usage)?;
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
    let mut target = Target::new(base.clone(), &options.access);
    let control_timeout = CONTROL_TIMEOUT.min(options.run_time);
    // Test controls are served on loopback addresses only: a remote target without
    // credentials is a usage error before any request.
    if options.fixture_identities
        && !options.require_test_controls
        && !contract_client::access::is_loopback(&base)
    {
        return Err(LoadError::Usage(needs_credentials(&options.profile)));
    }
    // What the suite asks too: does the target speak this profile's family at all?
    if options.target.is_some() {
        let client = target.client().clone();
        let timeout = PREFLIGHT_TIMEOUT.min(options.run_time);
        contract_client::preflight::preflight(&client, &base, &options.profile, timeout)
            .await
            .map_err(|refusal| {
                if refusal.timed_out() {
                    LoadError::NoAnswer(timeout)
                } else {
                    LoadError::CannotBeChecked(refusal.0)
                }
            })?;
    }
    let faults = contract_client::preflight::test_controls(
        target.client(),
        &base,
        &options.profile,
        control_timeout,
    )
    .await;
    let controls = faults.is_some();
    target.controls = controls;
    if options.require_test_controls && !controls {
        return Err(LoadError::Usage(format!(
            "--test-controls: {base} does not serve the reference server's test controls (GET /__test/fault); start it with --test-controls, or drop the flag"
        )));
    }
    if options.fixture_identities && !controls {
        return Err(LoadError::Usage(needs_credentials(&options.profile)));
    }
    match (&options.fault, &faults) {
        (Some(_), None) => {
            return Err(LoadError::Usage(
                "--fault needs test controls: a reference server started with --test-controls, or no --target (the in-process server)"
                    .into(),
            ));
        }
        (Some(name), Some(faults)) if !faults.iter().any(|f| &f.name == name) => {
            return Err(LoadError::Usage(contract_client::preflight::unknown_fault(
                name,
                options.profile.family,
                faults,
            )));
        }
        _ => {}
    }
    // On a real clock, limits whose window cannot fit their share of the run time are
    // not judged, with their minimum; none fitting is a refusal at the start.
    let (limits, unfit) = if controls {
        (limits, Vec::new())
    } else {
        fit_real_time(limits, options.run_time).map_err(LoadError::Usage)?
    };
    let sources = source_addresses(&options, &base);
    // Each run its own folder, never overwriting another's, and a `latest` pointer.
    let run_dir = match &options.reports_dir {
        Some(dir) => Some(
            contract_client::run_folder::create(dir, &options.profile.name)
                .map_err(LoadError::Reports)?,
        ),
        None => None,
    };

    let progress = if options.progress {
        Progress::on_stderr(true)
    } else {
        Progress::hidden()
    };
    let mut verdicts = Vec::new();
    let result = async {
        if options.print {
            let text = header(&options, &limits, &base, controls);
            report::print_stdout(&text).map_err(|_| LoadError::StdoutClosed)?;
        }
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
            verdicts.push(run_limit(&options, run_dir.as_deref(), &attack, limit).await?);
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
    verdicts.extend(unfit);

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
    if let (Some(dir), Some(run_dir)) = (&options.reports_dir, &run_dir) {
        report::write_json(&run_dir.join("verdict.json"), &report).map_err(LoadError::Reports)?;
        contract_client::run_folder::point_latest(dir, run_dir).map_err(LoadError::Reports)?;
    }
    if options.print {
        let mut text = report::render(&report, options.color);
        if let Some(note) = options.access.describe() {
            text.push_str(&format!("note: {note}\n"));
        }
        if let Some(dir) = &run_dir {
            text.push_str(&format!("reports: {}\n", dir.display()));
        }
        report::print_stdout(&text).map_err(|_| LoadError::StdoutClosed)?;
    }
    Ok(report)
}

/// The sentence for a target without `--credentials` and without test controls.
fn needs_credentials(profile: &Profile) -> String {
    format!(
        "--target needs --credentials FILE (apps and secrets; fixtures/identities/{}.toml shows the format), unless the target is a reference server with test controls",
        profile.family
    )
}

/// The longest one preflight request may take.
const PREFLIGHT_TIMEOUT: Duration = Duration::from_secs(3);

/// Real time one window of `limit` needs: the window and a second (the conductor starts
/// none it cannot end) and a little to seat the goose users.
pub fn minimum_real_time(limit: &RateLimit) -> Duration {
    Duration::from_secs(limit.window_secs.max(1) + 1 + SEATING_SECS)
}

/// Seconds allowed for setting up and seating the users before a limit's first window
/// (typically well under one on the loopback).
const SEATING_SECS: u64 = 1;

/// Which limits fit a real-clock run time shared equally by the limits that run: the
/// longest windows are dropped until the rest fit. The dropped ones are NOT JUDGED with
/// their minimum; none fitting is an error with the minimum that would work.
fn fit_real_time(
    limits: Vec<RateLimit>,
    run_time: Duration,
) -> Result<(Vec<RateLimit>, Vec<verdict::LimitVerdict>), String> {
    let mut running = limits.clone();
    running.sort_by_key(|l| std::cmp::Reverse(minimum_real_time(l)));
    let mut dropped = Vec::new();
    while let Some(longest) = running.first() {
        let share = run_time / running.len() as u32;
        if minimum_real_time(longest) <= share {
            break;
        }
        dropped.push(running.remove(0));
    }
    let secs = |d: Duration| d.as_secs();
    let all_need: u64 = limits
        .iter()
        .map(minimum_real_time)
        .max()
        .map(|m| secs(m) * limits.len() as u64)
        .unwrap_or(0);
    if running.is_empty() {
        let shortest = limits
            .iter()
            .min_by_key(|l| minimum_real_time(l))
            .map(|l| {
                format!(
                    "{} alone (--limit {}) needs {} s",
                    l.name,
                    l.name,
                    secs(minimum_real_time(l))
                )
            })
            .unwrap_or_default();
        return Err(format!(
            "--run-time {}s is too short to judge any selected limit in real time (the target has no test controls to move its clock): {shortest}, one window and 2 s; every selected limit needs --run-time {all_need}s",
            secs(run_time)
        ));
    }
    // Keep the profile's order for the ones that run.
    let order: Vec<RateLimit> = limits
        .iter()
        .filter(|l| running.iter().any(|r| r.name == l.name))
        .cloned()
        .collect();
    let share = secs(run_time / order.len() as u32);
    let unfit = dropped
        .iter()
        .map(|l| {
            verdict::LimitVerdict::not_run(
                l,
                format!(
                    "not run: one {} s window needs at least {} s of real time, and its share of --run-time {} s would have been {} s; give --run-time {all_need}s for every selected limit, or run it alone with --limit {} --run-time {}s",
                    l.window_secs,
                    secs(minimum_real_time(l)),
                    secs(run_time),
                    share,
                    l.name,
                    secs(minimum_real_time(l))
                ),
            )
        })
        .collect();
    Ok((order, unfit))
}

/// The line a run begins with, once (issue 13): what is checked, against what, and how
/// the time between windows passes. The progress line (a terminal only) says the rest.
fn header(options: &LoadOptions, limits: &[RateLimit], base: &Url, controls: bool) -> String {
    let names: Vec<&str> = limits.iter().map(|l| l.name.as_str()).collect();
    let what = match limits {
        [one] => format!("limit {}", one.name),
        _ => format!("{} limits ({})", limits.len(), names.join(", ")),
    };
    let target = match (options.target.is_some(), controls) {
        (false, _) => format!("the in-process reference server at {base}"),
        (true, true) => format!("{base} (test controls)"),
        (true, false) => base.to_string(),
    };
    let clock = if controls {
        format!(
            "the clock is moved between windows, {} per limit",
            plural(options.windows, "window")
        )
    } else {
        format!(
            "windows pass in real time, {} s shared by the limits",
            options.run_time.as_secs()
        )
    };
    format!(
        "load: {what} against {target}, {} goose users each; {clock}\n",
        options.users
    )
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
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
    run_dir: Option<&std::path::Path>,
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
    let family = families::for_profile(profile).map_err(|e| setup_error(limit, e))?;
    let context = Context {
        profile,
        identities: &options.identities,
        target,
        clients: &clients,
        basic_auth: options.basic_auth,
    };
    let (tokens, noise): (Vec<UserToken>, Vec<Secret>) = if limit.key == LimitKey::User {
        if controls && options.tokens.is_empty() {
            family
                .user_tokens(context)
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
    let recipe = family
        .recipe(context, limit)
        .await
        .map_err(|e| setup_error(limit, e))?;
    let traffic = Traffic::new(limit, &target.base, recipe).with_access(&options.access);
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
    let report_files: Vec<String> = match run_dir {
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
        clauses: family.clauses(),
        limit: limit.name.clone(),
        method: limit.method.clone(),
        path: state.traffic.path(),
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
    if let Some(gone) = log.target_gone.clone() {
        return Err(LoadError::TargetGone(gone));
    }
    // The conductor stopped on a failed control request: a target that no longer
    // answers at all is gone, not a limit that does not hold.
    if let (Some(why), false) = (&log.stopped_early, log.deadline_reached)
        && tokio::time::timeout(PREFLIGHT_TIMEOUT, target.reachable())
            .await
            .map_or(true, |r| r.is_err())
    {
        return Err(LoadError::TargetGone(format!(
            "the target stopped answering during limit `{}` ({} per {} s), window {}: {why}; no verdict for it; check that the target is up and run again",
            limit.name,
            limit.max,
            limit.window_secs,
            log.windows.len().max(1)
        )));
    }
    Ok(verdict::judge(facts, &log, &state.observations()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_that_do_not_fit_the_real_time_are_not_judged_with_their_minimum() {
        let limits = Profile::punchplay().rate_limits;
        // Nothing fits 20 s: refused at the start with the minimum that works.
        let e = fit_real_time(limits.clone(), Duration::from_secs(20)).unwrap_err();
        assert!(e.contains("too short to judge any selected limit"), "{e}");
        // 200 s shared by the short windows: the hour-long ones are left out, each
        // NOT JUDGED with the reason and the time that would do.
        let (running, unfit) = fit_real_time(limits.clone(), Duration::from_secs(200)).unwrap();
        assert!(!running.is_empty() && !unfit.is_empty());
        for share in &running {
            assert!(minimum_real_time(share) <= Duration::from_secs(200) / running.len() as u32);
        }
        for v in &unfit {
            assert_eq!(v.status, Status::NotJudged);
            let why = v.not_judged.as_deref().unwrap();
            assert!(
                why.contains("needs at least") && why.contains("--run-time"),
                "{why}"
            );
        }
        assert_eq!(running.len() + unfit.len(), limits.len());
    }
}
