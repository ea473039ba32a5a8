//! The command line. With no arguments it starts the reference server in-process with
//! test controls and runs the whole punchplay suite against it; `--target` checks a
//! deployment. Exit codes: 0 conformant, 1 non-conformant, 2 the suite could not run or
//! the run is INCOMPLETE (the target stopped answering), 130 interrupted.
//!
//! Over 600 lines because it is the one place where flags become a run (profile, how
//! the target is reached, the preflight, credentials, test controls and faults, driver,
//! snapshots, reports, the rerun command); each step is short and in run order.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use profile::{Family, Identities, Level, Profile};

use crate::check::Env;
use crate::client::HttpOptions;
use crate::drivers::Driver;
use crate::expected::Expected;
use crate::report;
use crate::runner::{self, RunOptions, RunReport};
use crate::snapshot::{SnapshotMode, SnapshotStore, in_ci};

pub const EXIT_CONFORMANT: i32 = 0;
pub const EXIT_NON_CONFORMANT: i32 = 1;
pub const EXIT_COULD_NOT_RUN: i32 = 2;
/// Ctrl-C (128 + SIGINT), after switching off a fault the run had switched on.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The sentence for a target without `--credentials` and without test controls.
fn needs_credentials(family: Family) -> String {
    format!(
        "--target needs --credentials FILE (client ids, secrets, test users; fixtures/identities/{family}.toml shows the format, docs/conformance.md explains it), unless the target is a reference server with test controls"
    )
}

/// `--target` as a base URL: http or https.
fn parse_target(target: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(target).map_err(|e| {
        format!("--target {target:?} is not a URL: {e}; give the deployment's base URL, e.g. https://staging.example.com")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "--target {target:?} must be an http or https URL, e.g. https://staging.example.com"
        ));
    }
    Ok(url)
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DriverArg {
    /// The reference server's /__test controls decide.
    TestControls,
    /// Sign in and click through the real HTML pages with a cookie jar.
    Pages,
    /// Print the URL and a QR code and wait for a person.
    Manual,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LevelArg {
    /// Only MUST clauses gate the exit code.
    Must,
    /// MUST and SHOULD gate.
    Should,
    /// MUST, SHOULD and DECIDED gate.
    Decided,
}

/// What `--help` ends with: the exit codes a CI job branches on, and the environment read.
const AFTER_HELP: &str = "\
Exit codes:
  0  conformant: no check at a gating level failed or errored
  1  not conformant: a gating check failed or errored, or an expected deviation passed
  2  the suite could not run: usage error, unreadable or invalid profile, credentials or
     expected file, target unreachable or not answering HTTP, or a target that cannot be
     checked as the profile (one page for every endpoint, another family's signature);
     or INCOMPLETE: the target stopped answering during the run (a request met no answer
     and a new connection none either). The run ends within seconds, the reports keep
     the verdicts reached before and name when and where it stopped. A 5xx or a
     malformed answer is the deployment's error and gates as 1
  130  interrupted (Ctrl-C); a fault it had switched on is switched off first

Test controls: detected, as load does (GET /__test/fault answers the faults list); with
  them and no --credentials the family's fixture identities are used. --test-controls
  makes their absence an error.

Environment:
  NO_COLOR      set (to anything) to turn terminal colours off
  CI            set: --update-snapshots writes nothing
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY  honoured for every request to the target

Docs: docs/conformance.md";

#[derive(Debug, Parser)]
#[command(
    name = "conformance",
    version,
    about = "Checks a deployment (punchplay, enterprise, flexslot) against the documented contract, clause by clause.",
    after_help = AFTER_HELP
)]
pub struct Args {
    /// The deployment to check (e.g. https://staging.example.com). Without it, the
    /// reference server is started in-process with test controls.
    #[arg(long)]
    pub target: Option<String>,
    /// The profile describing the target (paths, limits, scopes, clauses): a built-in
    /// name (punchplay, enterprise, flexslot) or a file.
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<PathBuf>,
    /// Client ids, secrets and test users (fixtures/identities/<family>.toml shows the
    /// format; `secret_env` and `password_env` read secrets from the environment). Required
    /// with --target, unless the target serves test controls (then: the family's fixtures).
    #[arg(long, value_name = "FILE", alias = "identities", alias = "fixtures")]
    pub credentials: Option<PathBuf>,
    /// Require the reference server's /__test controls (clock, reset, decisions); they are
    /// detected anyway, this makes their absence an error.
    #[arg(long)]
    pub test_controls: bool,
    /// Trust this CA certificate (PEM) for the target's HTTPS, beside the platform's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Send this header on every request (repeatable), as a gateway in front of staging
    /// may require: --header 'X-Gateway-Key: …'. Its value never appears in transcripts or
    /// reports.
    #[arg(long, value_name = "'NAME: VALUE'")]
    pub header: Vec<String>,
    /// How approvals happen (default: test-controls when available, else pages).
    #[arg(long, value_enum)]
    pub driver: Option<DriverArg>,
    /// A command that approves: gets PP_FLOW, PP_URL, PP_USER_CODE, PP_USERNAME,
    /// PP_PASSWORD and PP_DECISION in its environment; for `authorize` it prints the
    /// redirect URL as its last line.
    #[arg(long)]
    pub approve_cmd: Option<String>,
    /// The lowest level that gates the exit code (default: decided in-process, must for --target).
    #[arg(long, value_enum)]
    pub level: Option<LevelArg>,
    /// Expected deviations: `[[deviation]] check = "...", reason = "..."`.
    #[arg(long)]
    pub expected: Option<PathBuf>,
    /// Wait out real time (Retry-After, lifetimes) where the target has no clock control.
    #[arg(long)]
    pub allow_slow: bool,
    /// Write snapshots that differ or are missing, for review (never when CI is set).
    #[arg(long)]
    pub update_snapshots: bool,
    /// Do not compare transcripts with snapshots.
    #[arg(long)]
    pub no_snapshots: bool,
    /// Where snapshots live (default: fixtures/snapshots/<profile> of this workspace).
    #[arg(long)]
    pub snapshot_dir: Option<PathBuf>,
    /// Where reports go; each run writes into a new <dir>/<run>/ folder.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// Write no report files.
    #[arg(long)]
    pub no_reports: bool,
    /// Run only checks whose id starts with or contains this text (repeatable).
    #[arg(long)]
    pub only: Vec<String>,
    /// List the checks with their clause and level, and exit.
    #[arg(long)]
    pub list: bool,
    /// Checks run at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    /// Per-check timeout in seconds.
    #[arg(long, default_value_t = 60)]
    pub check_timeout: u64,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Switch on a named server fault of the running family first (the in-process server,
    /// or a target with test controls), to watch the suite catch it; it is switched off
    /// when the run ends, Ctrl-C included. An unknown name lists the family's faults.
    #[arg(long, value_name = "NAME")]
    pub fault: Option<String>,
}

/// The environment for the in-process reference server (tests use it too).
pub fn reference_env(base_url: &str) -> Result<Env, String> {
    let http = HttpOptions {
        base: url::Url::parse(base_url).map_err(|e| e.to_string())?,
        timeout: Duration::from_secs(10),
        request_id_header: Profile::punchplay()
            .request_id()
            .map(|f| f.header.clone())
            .unwrap_or_default(),
    };
    Env::new(
        Profile::punchplay(),
        Identities::punchplay(),
        http,
        true,
        Driver::TestControls,
        false,
    )
}

pub fn default_snapshot_dir(profile: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
        .join("snapshots")
        .join(profile)
}

/// The committed profile a profile name stands for: its snapshots are the ones under
/// `fixtures/snapshots/<name>`.
fn committed_profile(name: &str) -> Option<Profile> {
    profile::builtin::find(name).map(|b| b.profile())
}

/// The fixture identities the in-process reference server of a family ships with (the
/// built-in named after the family).
pub fn family_fixtures(family: Family) -> Identities {
    profile::builtin::find(family.as_str())
        .map(|b| b.identities())
        .unwrap_or_else(Identities::punchplay)
}

/// Why the committed snapshots of a profile's name cannot describe this profile, if they
/// cannot: transcripts show literal paths, so a profile with other paths (a copy of
/// punchplay for a deployment that serves `me` elsewhere, say) would fail every check
/// that touches one. `None` when the paths are the committed ones.
pub fn snapshots_do_not_apply(profile: &Profile) -> Option<String> {
    let committed = committed_profile(&profile.name)?;
    let differing: Vec<String> = profile
        .paths
        .iter()
        .filter(|(name, path)| committed.paths.get(*name) != Some(*path))
        .map(|(name, path)| format!("{name} = {path}"))
        .chain(
            committed
                .paths
                .keys()
                .filter(|name| !profile.paths.contains_key(*name))
                .map(|name| format!("{name} (absent)")),
        )
        .collect();
    if differing.is_empty() {
        return None;
    }
    Some(format!(
        "transcripts were not compared with snapshots: this profile's paths differ from those of the committed `{name}` profile ({}), and transcripts show literal paths, so the snapshots in {} do not describe this deployment. To gate on snapshots for it, record them once with `--update-snapshots --snapshot-dir DIR`, review them, and pass `--snapshot-dir DIR` from then on.",
        differing.join(", "),
        default_snapshot_dir(&profile.name).display(),
        name = profile.name,
    ))
}

fn gate(level: LevelArg) -> Vec<Level> {
    match level {
        LevelArg::Must => vec![Level::Must],
        LevelArg::Should => vec![Level::Must, Level::Should],
        LevelArg::Decided => Level::ALL.to_vec(),
    }
}

fn read(path: &PathBuf, what: &str, flag: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| {
        format!(
            "could not read the {what} file {}: {e}; check the path given to {flag}",
            path.display()
        )
    })
}

/// An error as one line: a parser's message may span lines (a TOML error draws the line it
/// points at); a person and a CI log both read one line best.
pub fn one_line(message: &str) -> String {
    profile::builtin::one_line(message)
}

/// A usage error from the argument parser as one line with the fix: the error, clap's tip
/// if it has one, and where to read every flag.
pub fn usage_error_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut line = lines
        .next()
        .unwrap_or("error: invalid arguments")
        .to_owned();
    // The values a flag takes (`--level bogus`) and clap's tip, on the same line.
    for extra in lines.filter(|l| l.starts_with("tip:") || l.starts_with("[possible values")) {
        line.push_str(&format!(
            " ({})",
            extra.trim_matches(|c| c == '[' || c == ']')
        ));
    }
    line.push_str("; run `conformance --help` for every flag and the exit codes");
    line
}

/// Writes to stdout through `anstream`, which drops ANSI colours when stdout is not a
/// terminal or `NO_COLOR` is set. A closed stdout (`conformance --list | head`) is not an
/// error: answers false and the caller stops writing.
fn print_out(text: &str) -> bool {
    use std::io::Write as _;
    let mut out = anstream::AutoStream::auto(std::io::stdout().lock());
    writeln!(out, "{text}").and_then(|_| out.flush()).is_ok()
}

/// Runs the CLI; answers the exit code. Never panics on a bad target.
pub async fn run(args: Args) -> i32 {
    match run_inner(args).await {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {}", one_line(&msg));
            EXIT_COULD_NOT_RUN
        }
    }
}

fn read_credentials(path: &std::path::Path, profile: &Profile) -> Result<Identities, String> {
    let ids = profile::builtin::load_credentials(
        path,
        profile.family,
        |p| std::fs::read_to_string(p),
        |v| std::env::var(v).ok(),
    )?;
    contract_client::preflight::credentials_fit(profile, &ids)?;
    Ok(ids)
}

/// This run's command line, rebuilt from what was parsed, for the reports' "rerun it
/// alone" (each adds `--only ID`): the target and how it is reached and judged, never
/// where reports go. Header values are redacted.
pub fn rerun_command(args: &Args) -> Vec<String> {
    let mut words = vec!["conformance".to_owned()];
    let mut flag = |name: &str, value: Option<String>| {
        words.push(name.to_owned());
        words.extend(value);
    };
    if let Some(p) = &args.profile {
        flag("--profile", Some(p.display().to_string()));
    }
    if let Some(t) = &args.target {
        flag("--target", Some(t.clone()));
    }
    if let Some(c) = &args.credentials {
        flag("--credentials", Some(c.display().to_string()));
    }
    if args.test_controls {
        flag("--test-controls", None);
    }
    for ca in &args.ca_cert {
        flag("--ca-cert", Some(ca.display().to_string()));
    }
    for h in &args.header {
        let name = h.split_once(':').map_or(h.as_str(), |(n, _)| n).trim();
        flag("--header", Some(format!("{name}: [redacted]")));
    }
    if let Some(d) = args.driver {
        flag(
            "--driver",
            d.to_possible_value().map(|v| v.get_name().to_owned()),
        );
    }
    if let Some(cmd) = &args.approve_cmd {
        flag("--approve-cmd", Some(cmd.clone()));
    }
    if let Some(l) = args.level {
        flag(
            "--level",
            l.to_possible_value().map(|v| v.get_name().to_owned()),
        );
    }
    if let Some(e) = &args.expected {
        flag("--expected", Some(e.display().to_string()));
    }
    if args.allow_slow {
        flag("--allow-slow", None);
    }
    if args.no_snapshots {
        flag("--no-snapshots", None);
    }
    if let Some(dir) = &args.snapshot_dir {
        flag("--snapshot-dir", Some(dir.display().to_string()));
    }
    if let Some(f) = &args.fault {
        flag("--fault", Some(f.clone()));
    }
    words
}

async fn run_inner(args: Args) -> Result<i32, String> {
    let profile =
        profile::builtin::load_profile(args.profile.as_deref(), |p| std::fs::read_to_string(p))?;
    let all = crate::checks::all(&profile);
    let ids: Vec<&str> = all.iter().map(|c| c.id).collect();
    if args.list {
        for c in &all {
            let line = format!("{:<72} {:<8} {}", c.id, c.level(&profile).as_str(), c.title);
            if !print_out(&line) {
                break;
            }
        }
        return Ok(EXIT_CONFORMANT);
    }
    let expected = match &args.expected {
        Some(p) => Expected::from_toml_str(&read(p, "expected-deviations", "--expected")?, &ids)?,
        None => Expected::default(),
    };
    let checks: Vec<_> = all
        .into_iter()
        .filter(|c| {
            args.only.is_empty()
                || args
                    .only
                    .iter()
                    .any(|o| c.id.starts_with(o.as_str()) || c.id.contains(o.as_str()))
        })
        .collect();
    if checks.is_empty() {
        return Err("--only matches no check; see --list".into());
    }

    // How every client reaches the target (--ca-cert, --header), set before any is built.
    let access = contract_client::access::Access::new(&args.ca_cert, &args.header)?;
    let access_note = access.describe();
    crate::client::set_access(access);
    let request_timeout = Duration::from_secs_f64(args.timeout.max(0.1));

    // The target: a deployment, or the reference server in-process.
    let mut server = None;
    let (base, ids_file, controls, faults) = match &args.target {
        Some(t) => {
            let base_url = parse_target(t)?;
            // Test controls are served on loopback addresses only (the reference server
            // refuses anything else), so a remote target without --credentials is a
            // usage error before any request.
            if args.credentials.is_none()
                && !args.test_controls
                && !contract_client::access::is_loopback(&base_url)
            {
                return Err(needs_credentials(profile.family));
            }
            // Refuse what cannot be checked before anything else (issue 18 item 1).
            crate::preflight::check_target(&base_url, &profile, request_timeout).await?;
            let faults =
                crate::preflight::test_controls(&base_url, &profile, request_timeout).await?;
            if args.test_controls && faults.is_none() {
                return Err(format!(
                    "--test-controls: {base_url} does not serve the reference server's test controls (GET /__test/fault); start it with --test-controls, or drop the flag"
                ));
            }
            let ids = match (&args.credentials, &faults) {
                (Some(creds), _) => read_credentials(creds, &profile)?,
                // A reference server started by hand: its family's fixtures.
                (None, Some(_)) => family_fixtures(profile.family),
                (None, None) => return Err(needs_credentials(profile.family)),
            };
            if args.fault.is_some() && faults.is_none() {
                return Err("--fault needs test controls: a reference server started with --test-controls, or no --target (the in-process server)".into());
            }
            (t.clone(), ids, faults.is_some(), faults.unwrap_or_default())
        }
        None => {
            let ids = match &args.credentials {
                Some(c) => read_credentials(c, &profile)?,
                None => family_fixtures(profile.family),
            };
            let config = reference_server::ServerConfig {
                profile: profile.clone(),
                identities: ids.clone(),
                test_controls: true,
                ..reference_server::ServerConfig::punchplay()
            };
            let s = reference_server::spawn(config)
                .await
                .map_err(|e| format!("could not start the reference server: {e}"))?;
            let base = s.base_url();
            server = Some(s);
            let faults = match &args.fault {
                Some(_) => crate::preflight::test_controls(
                    &parse_target(&base)?,
                    &profile,
                    request_timeout,
                )
                .await?
                .unwrap_or_default(),
                None => Vec::new(),
            };
            (base, ids, true, faults)
        }
    };
    let base_url = parse_target(&base)?;
    let driver = match (&args.approve_cmd, args.driver) {
        (Some(cmd), _) => Driver::Command(cmd.clone()),
        (None, Some(DriverArg::TestControls)) if !controls => {
            return Err("--driver test-controls needs a target with --test-controls; add --test-controls if the target serves /__test, or use --driver pages".into());
        }
        (None, Some(DriverArg::TestControls)) => Driver::TestControls,
        (None, Some(DriverArg::Pages)) => Driver::Pages,
        (None, Some(DriverArg::Manual)) => Driver::Manual {
            timeout: Duration::from_secs(600),
        },
        (None, None) if controls => Driver::TestControls,
        (None, None) => Driver::Pages,
    };
    let manual = matches!(driver, Driver::Manual { .. });
    let http = HttpOptions {
        base: base_url,
        timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
        request_id_header: profile
            .request_id()
            .map(|f| f.header.clone())
            .unwrap_or_default(),
    };
    // The family's dialect picks the apps by trait; a file without the ones every check
    // needs cannot be checked at all.
    let env = Arc::new(Env::new(
        profile.clone(),
        ids_file,
        http,
        controls,
        driver,
        args.allow_slow,
    )?);

    let fault = match &args.fault {
        Some(name) => {
            let switch = crate::preflight::FaultSwitch::on(
                &env.http.base,
                &profile,
                name,
                &faults,
                request_timeout,
            )
            .await?;
            eprintln!("fault switched on: {name} (switched off when the run ends)");
            Some(switch)
        }
        None => None,
    };

    let snapshot_dir = args
        .snapshot_dir
        .clone()
        .unwrap_or_else(|| default_snapshot_dir(&profile.name));
    let mut notes = Vec::new();
    let mode = if args.no_snapshots {
        SnapshotMode::Off
    } else if let Some(why) = args
        .snapshot_dir
        .is_none()
        .then(|| snapshots_do_not_apply(&profile))
        .flatten()
    {
        notes.push(why);
        SnapshotMode::Off
    } else if args.update_snapshots {
        if in_ci() {
            eprintln!("note: CI is set, so --update-snapshots writes nothing");
        }
        SnapshotMode::Update
    } else {
        SnapshotMode::Compare
    };
    let opts = RunOptions {
        concurrency: if manual { 1 } else { args.concurrency },
        check_timeout: Duration::from_secs(if manual {
            args.check_timeout.max(1200)
        } else {
            args.check_timeout
        }),
        snapshots: SnapshotStore {
            dir: snapshot_dir,
            mode,
        },
        expected,
    };
    let level = args.level.unwrap_or(if args.target.is_some() {
        LevelArg::Must
    } else {
        LevelArg::Decided
    });
    let mut progress = report::terminal::Progress::new(
        !args.no_progress && !manual && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let run = runner::run(env.clone(), checks, opts, |ev| progress.event(ev));
    let mut report: RunReport = match &fault {
        // Ctrl-C must not leave the fault on in a server someone else may use next.
        Some(switch) => {
            tokio::select! {
                report = run => report,
                _ = tokio::signal::ctrl_c() => {
                    progress.finish();
                    let off = switch.off().await;
                    match off {
                        Ok(()) => eprintln!("interrupted: the fault {} was switched off", switch.name),
                        Err(e) => eprintln!("interrupted: could not switch the fault {} off: {e}", switch.name),
                    }
                    return Ok(EXIT_INTERRUPTED);
                }
            }
        }
        None => run.await,
    };
    progress.finish();
    if let Some(switch) = &fault
        && let Err(e) = switch.off().await
    {
        notes.push(format!(
            "the fault {} could not be switched off after the run: {e}",
            switch.name
        ));
    }
    if let Some(note) = access_note {
        notes.push(note);
    }
    report.gate = gate(level);
    notes.append(&mut report.notes);
    report.notes = notes;
    if let Some(s) = server {
        s.stop().await;
    }
    // A closed stdout loses the summary, never the reports or the exit code.
    print_out(&report::terminal::summary(&report));
    if !args.no_reports {
        let explain = report::Explain::new(&profile, &rerun_command(&args));
        let written = contract_client::run_folder::create(&args.report_dir, &report.profile)
            .and_then(|dir| report::write_all(&report, &explain, &dir).map(|_| dir));
        match written {
            Ok(dir) => {
                if let Err(e) = contract_client::run_folder::point_latest(&args.report_dir, &dir) {
                    eprintln!(
                        "warning: could not point {} at this run: {e}",
                        args.report_dir.join("latest").display()
                    );
                }
                print_out(&format!("reports: {}", dir.display()));
            }
            Err(e) => eprintln!(
                "warning: could not write reports under {}: {e}; choose a writable folder with --report-dir",
                args.report_dir.display()
            ),
        }
    }
    Ok(if report.incomplete.is_some() {
        // No verdict: the target stopped answering during the run (issue 23 item 1).
        EXIT_COULD_NOT_RUN
    } else if report.conformant() {
        EXIT_CONFORMANT
    } else {
        EXIT_NON_CONFORMANT
    })
}
