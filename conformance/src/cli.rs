//! The command line. With no arguments it starts the reference server in-process with
//! test controls and runs the whole punchplay suite against it; `--target` checks a
//! deployment. Exit codes: 0 conformant, 1 non-conformant, 2 the suite could not run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use profile::builtin::ProfileArg;
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
     expected file, target unreachable or not answering HTTP

Environment:
  NO_COLOR  set (to anything) to turn terminal colours off
  CI        set: --update-snapshots writes nothing

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
    /// Client ids, secrets and test users (identities format; `secret_env` and
    /// `password_env` read secrets from the environment). Required with --target.
    #[arg(long)]
    pub credentials: Option<PathBuf>,
    /// The target serves the reference server's /__test controls (clock, reset, decisions).
    #[arg(long)]
    pub test_controls: bool,
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
    /// In-process only: switch on a named server fault first, to watch the suite catch it.
    #[arg(long)]
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
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
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
    for tip in lines.filter(|l| l.starts_with("tip:")) {
        line.push_str(&format!(" ({tip})"));
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

fn read_credentials(path: &PathBuf) -> Result<Identities, String> {
    Identities::from_toml_str(&read(path, "credentials", "--credentials")?, |v| {
        std::env::var(v).ok()
    })
    .map_err(|e| {
        format!(
            "the credentials file {} is not valid: {e}; docs/conformance.md, section Credentials file, shows its format",
            path.display()
        )
    })
}

async fn run_inner(args: Args) -> Result<i32, String> {
    let profile = match args.profile.as_deref().map(ProfileArg::parse) {
        Some(ProfileArg::File(p)) => Profile::from_toml_str(&read(&p.to_path_buf(), "profile", "--profile")?).map_err(|e| {
            format!(
                "the profile {} is not valid: {e}; fix it (fixtures/profiles/punchplay.toml is a complete example)",
                p.display()
            )
        })?,
        Some(ProfileArg::Builtin(b)) => b.profile(),
        None => Profile::punchplay(),
    };
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

    // The target: a deployment, or the reference server in-process.
    let mut server = None;
    let (base, ids_file, controls) = match &args.target {
        Some(t) => {
            let creds = args
                .credentials
                .as_ref()
                .ok_or("--target needs --credentials FILE (client ids, secrets, test users); docs/conformance.md, section Credentials file, shows its format")?;
            let ids = read_credentials(creds)?;
            if args.fault.is_some() {
                return Err("--fault only applies to the in-process reference server; drop --target to use it".into());
            }
            (t.clone(), ids, args.test_controls)
        }
        None => {
            let ids = match &args.credentials {
                Some(c) => read_credentials(c)?,
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
            (base, ids, true)
        }
    };
    let base_url =
        url::Url::parse(&base).map_err(|e| format!("--target {base:?} is not a URL: {e}; give the deployment's base URL, e.g. https://staging.example.com"))?;
    if !matches!(base_url.scheme(), "http" | "https") {
        return Err(format!(
            "--target {base:?} must be an http or https URL, e.g. https://staging.example.com"
        ));
    }
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

    if let Err(why) = runner::probe(&env).await {
        return Err(format!("the target cannot be checked: {why}"));
    }
    if let Some(f) = &args.fault {
        let client =
            crate::client::Http::new(env.http.clone(), None).map_err(|p| format!("{p:?}"))?;
        let ex = client
            .execute(
                crate::client::Req::post("/__test/fault").json(serde_json::json!({"fault": f})),
            )
            .await
            .map_err(|p| format!("{p:?}"))?;
        if ex.status != 200 {
            return Err(format!(
                "the server refused the fault {f:?}: {}; docs/conformance.md, section Faults the suite catches, names them",
                ex.body
            ));
        }
        eprintln!("fault switched on: {f}");
    }

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
    let mut report: RunReport =
        runner::run(env.clone(), checks, opts, |ev| progress.event(ev)).await;
    progress.finish();
    report.gate = gate(level);
    notes.append(&mut report.notes);
    report.notes = notes;
    if let Some(s) = server {
        s.stop().await;
    }
    // A closed stdout loses the summary, never the reports or the exit code.
    print_out(&report::terminal::summary(&report));
    if !args.no_reports {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let dir = args.report_dir.join(format!("{}-{stamp}", report.profile));
        match report::write_all(&report, &dir) {
            Ok(_) => {
                print_out(&format!("reports: {}", dir.display()));
            }
            Err(e) => eprintln!(
                "warning: could not write reports to {}: {e}; choose a writable folder with --report-dir",
                dir.display()
            ),
        }
    }
    Ok(if report.conformant() {
        EXIT_CONFORMANT
    } else {
        EXIT_NON_CONFORMANT
    })
}
