//! The command line: `load [--target URL] [--limit all|NAME] …` and `load bench …`.
//!
//! Exit codes (also in `load --help` and docs/load.md): 0 every limit holds; 1 at least
//! one limit does not hold; 2 the run could not be made; 3 nothing failed, but at least
//! one limit could not be judged.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use profile::Identities;
use profile::builtin;
use url::Url;

use crate::run::{LoadOptions, MIN_USERS};
use crate::verdict::Status;

/// Every limit holds.
pub const EXIT_HOLDS: u8 = 0;
/// At least one limit does not hold.
pub const EXIT_DOES_NOT_HOLD: u8 = 1;
/// The run could not be made.
pub const EXIT_COULD_NOT_RUN: u8 = 2;
/// No limit failed, but at least one could not be judged (no window's counts could be
/// told from the times seen: a run time too short, a server too slow, every request
/// cancelled).
pub const EXIT_NOT_JUDGED: u8 = 3;

const EXIT_CODES: &str = "\
Exit codes:
  0  every limit holds
  1  at least one limit does not hold
  2  the run could not be made (bad arguments, unreachable target, a target that cannot
     be checked as the profile, failed setup, a target that stopped answering mid-run)
  3  no limit failed, but at least one could not be judged (each says why)
  141  standard output was closed (| head) before the run ended; nothing more is said

Test controls: detected, as conformance does (GET /__test/fault answers the faults list);
  with them the clock is moved and, without --credentials, the family's fixtures are used.
  --test-controls makes their absence an error.

Environment: NO_COLOR turns colours off; LOAD_LOG=load=debug logs every step (goose's
own log lines only when LOAD_LOG names goose); HTTPS_PROXY, HTTP_PROXY and NO_PROXY are
honoured.";

#[derive(Debug, Parser)]
#[command(
    name = "load",
    version,
    about = "goose scenarios that prove each documented rate limit, exactly, under concurrency",
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub common: Common,
    /// Windows per limit when the target has test controls (the clock is moved between
    /// them).
    #[arg(long, default_value_t = 3)]
    pub windows: usize,
    /// The wall time of the whole run, such as 10m or 300s, requests in flight included
    /// (they are cancelled then), plus a grace of 2 s. Against a target without test
    /// controls the limits share it equally; each window takes about twice its length.
    #[arg(long, default_value = "180s", value_parser = parse_duration)]
    pub run_time: Duration,
    /// Requests per key and window beyond the limit [default: max(limit/4, 2 × users per key)].
    #[arg(long)]
    pub extra: Option<u32>,
    /// Where goose's reports and verdict.json go.
    #[arg(long = "report-dir", alias = "reports", default_value = "reports/load")]
    pub report_dir: PathBuf,
    /// No progress line on standard error (it is shown only on a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,
    /// Access tokens for the per-user limit against a deployment (TOML: [[tokens]] user,
    /// access_token or access_token_env).
    #[arg(long)]
    pub tokens: Option<PathBuf>,
    /// Switch a named server defect of the running family on after each reset (test
    /// controls only), to watch the verdict fail; an unknown name lists the family's.
    #[arg(long, value_name = "NAME")]
    pub fault: Option<String>,
    /// Require the reference server's test controls (they are detected either way).
    #[arg(long)]
    pub test_controls: bool,
    /// Send confidential clients' credentials in the body only, for a deployment without
    /// HTTP Basic at the token endpoint (PP-TOKEN-5 is a SHOULD).
    #[arg(long)]
    pub no_basic_auth: bool,
    /// Judge the DECIDED parts (sliding windows, exact Retry-After, keys) as failures on a
    /// target without test controls too, such as the reference server started without
    /// them; otherwise they are informational there (CONTRACT.md, "Levels").
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Offered load of a goose scenario against a plain keep-alive client, same run.
    Bench {
        #[command(flatten)]
        common: Common,
        /// Seconds each side runs per round.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Rounds; the sides take turns.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

#[derive(Debug, Args)]
pub struct Common {
    /// The server to load; without it the reference server starts in-process with test
    /// controls. Traffic goes only to this target.
    #[arg(long)]
    pub target: Option<Url>,
    /// `all`, or one limit of the profile by name (punchplay's: device-code, device-token,
    /// refresh, token, playback, public-user; enterprise's: api).
    #[arg(long, default_value = "all")]
    pub limit: String,
    /// Concurrent goose users per limit (at least 64).
    #[arg(long, default_value_t = MIN_USERS)]
    pub users: usize,
    /// Loopback source addresses, 127.0.0.2 and up, for a loopback target.
    #[arg(long, default_value_t = 8)]
    pub addresses: usize,
    /// A source address to send from (repeat it); replaces the loopback addresses.
    #[arg(long = "source-addr")]
    pub source_addrs: Vec<IpAddr>,
    /// A built-in profile name (punchplay, enterprise) or a profile file [default: the
    /// committed punchplay profile].
    #[arg(long, value_name = "NAME|FILE")]
    pub profile: Option<PathBuf>,
    /// The credentials (identities) file: apps, secrets or `secret_env` (the format of
    /// fixtures/identities/<family>.toml) [default with test controls: the family's
    /// fixtures]. Required for a target without test controls.
    #[arg(long, value_name = "FILE", alias = "identities", alias = "fixtures")]
    pub credentials: Option<PathBuf>,
    /// Trust this CA certificate (PEM) for the target's HTTPS, beside the platform's roots.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,
    /// Send this header on every request (repeatable), as a gateway in front of staging
    /// may require: --header 'X-Gateway-Key: …'. Its value never appears in the reports.
    #[arg(long, value_name = "'NAME: VALUE'")]
    pub header: Vec<String>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |i| text.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 90s, 10m or 1h"))?;
    if n == 0 {
        return Err(format!(
            "`{text}` is no time at all; give one such as 90s, 10m or 1h"
        ));
    }
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("`{text}` is not a duration such as 90s, 10m or 1h")),
    };
    Ok(Duration::from_secs(secs))
}

fn options_from(common: &Common) -> Result<LoadOptions, String> {
    let profile = builtin::load_profile(common.profile.as_deref(), |p| std::fs::read_to_string(p))?;
    crate::families::for_profile(&profile)?;
    let identities = match &common.credentials {
        // The fixtures of the profile's family, as the reference server ships them.
        None => builtin::fixtures_of(profile.family).unwrap_or_else(Identities::punchplay),
        Some(path) => {
            let ids = builtin::load_credentials(
                path,
                profile.family,
                |p| std::fs::read_to_string(p),
                |v| std::env::var(v).ok(),
            )?;
            contract_client::preflight::credentials_fit(&profile, &ids)?;
            ids
        }
    };
    let access = contract_client::access::Access::new(&common.ca_cert, &common.header)?;
    Ok(LoadOptions {
        target: common.target.clone(),
        limit: (common.limit != "all").then(|| common.limit.clone()),
        users: common.users,
        addresses: common.addresses,
        source_addrs: common.source_addrs.clone(),
        fixture_identities: common.credentials.is_none() && common.target.is_some(),
        profile,
        identities,
        access,
        ..LoadOptions::default()
    })
}

/// A `println!` panics once standard output is closed (`load | head`). The load crate
/// writes through [`crate::report::print_stdout`] and goose is kept silent, but should a
/// dependency print all the same, the process ends at once, quietly, with the status of a
/// process ended by SIGPIPE, as `cat | head` does.
fn quiet_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("failed printing to stdout") {
            std::process::exit(EXIT_STDOUT_CLOSED.into());
        }
        default(info);
    }));
}

/// Standard output was closed before the run ended (128 + SIGPIPE).
pub const EXIT_STDOUT_CLOSED: u8 = 141;

/// Runs the parsed command line on a fresh multi-threaded runtime.
pub fn main(cli: Cli) -> ExitCode {
    quiet_when_stdout_closes();
    // goose logs a warning per failed request: none of its lines reach the terminal
    // unless LOAD_LOG asks for them (issue 23 item 4); colour only on a terminal.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOAD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,goose=off")),
        )
        .with_ansi(colors_wanted_on(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_COULD_NOT_RUN);
        }
    };
    runtime.block_on(async_main(cli))
}

async fn async_main(cli: Cli) -> ExitCode {
    if let Some(Command::Bench {
        common,
        seconds,
        rounds,
    }) = &cli.command
    {
        let options = match options_from(common) {
            Ok(o) => o,
            Err(e) => return could_not_run(e),
        };
        return match crate::bench::bench(options, *seconds, *rounds).await {
            Ok(r) => {
                let mut out = format!(
                    "benchmark `{}`: {} concurrent users, {} round(s) of {} s per side, same requests and source addresses\n",
                    r.limit,
                    r.users,
                    r.rounds.len(),
                    r.seconds
                );
                for (i, round) in r.rounds.iter().enumerate() {
                    out.push_str(&format!(
                        "  round {}: goose {:>8.0} req/s ({} requests), plain keep-alive client {:>8.0} req/s ({} requests)\n",
                        i + 1,
                        round.goose_rps,
                        round.goose_requests,
                        round.plain_rps,
                        round.plain_requests
                    ));
                }
                out.push_str(&format!(
                    "  goose scenario:          {:>8.0} req/s\n",
                    r.goose_rps
                ));
                out.push_str(&format!(
                    "  plain keep-alive client: {:>8.0} req/s\n",
                    r.plain_rps
                ));
                out.push_str(&format!("  ratio goose/plain:       {:>8.2}\n", r.ratio));
                match crate::report::print_stdout(&out) {
                    Ok(()) => ExitCode::from(EXIT_HOLDS),
                    Err(_) => ExitCode::from(EXIT_STDOUT_CLOSED),
                }
            }
            Err(e) => could_not_run(e),
        };
    }
    let mut options = match options_from(&cli.common) {
        Ok(o) => o,
        Err(e) => return could_not_run(e),
    };
    options.windows = cli.windows;
    options.run_time = cli.run_time;
    options.extra = cli.extra;
    options.reports_dir = Some(cli.report_dir.clone());
    options.progress = !cli.no_progress;
    options.color = colors_wanted();
    options.fault = cli.fault.clone();
    options.basic_auth = !cli.no_basic_auth;
    options.strict = cli.strict;
    options.require_test_controls = cli.test_controls;
    if let Some(path) = &cli.tokens {
        match crate::setup::tokens_from_file(path, |v| std::env::var(v).ok()) {
            Ok(t) => options.tokens = t,
            Err(e) => return could_not_run(e.to_string()),
        }
    }
    match crate::run(options).await {
        Ok(report) => ExitCode::from(exit_code(report.status)),
        Err(crate::LoadError::StdoutClosed) => ExitCode::from(EXIT_STDOUT_CLOSED),
        Err(e) => could_not_run(e.to_string()),
    }
}

/// The exit code of a run that was made.
pub fn exit_code(status: Status) -> u8 {
    match status {
        Status::Holds => EXIT_HOLDS,
        Status::DoesNotHold => EXIT_DOES_NOT_HOLD,
        Status::NotJudged => EXIT_NOT_JUDGED,
    }
}

/// Colours on a terminal, unless `NO_COLOR` is set to anything (no-color.org).
fn colors_wanted() -> bool {
    colors_wanted_on(&std::io::stdout())
}

fn colors_wanted_on(stream: &impl std::io::IsTerminal) -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && stream.is_terminal()
}

/// One line on standard error, whatever the cause's text held.
fn could_not_run(why: impl std::fmt::Display) -> ExitCode {
    let line = why
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    eprintln!("error: {line}");
    ExitCode::from(EXIT_COULD_NOT_RUN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn help_lists_the_exit_codes_and_version_is_known() {
        let help = Cli::command().render_long_help().to_string();
        for line in ["0  every limit holds", "3  no limit failed", "NO_COLOR"] {
            assert!(help.contains(line), "{help}");
        }
        assert!(
            help.contains("--report-dir") && !help.contains("--reports "),
            "{help}"
        );
        let version = Cli::try_parse_from(["load", "--version"]).unwrap_err();
        assert_eq!(version.kind(), clap::error::ErrorKind::DisplayVersion);
    }

    #[test]
    fn durations_read_seconds_minutes_and_hours() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("0s").is_err());
    }

    #[test]
    fn the_documented_command_line_parses() {
        let cli = Cli::try_parse_from([
            "load",
            "--target",
            "http://127.0.0.1:8080",
            "--limit",
            "token",
        ])
        .unwrap();
        assert_eq!(cli.common.limit, "token");
        // --reports is the old name of --report-dir, kept as a hidden alias.
        let cli = Cli::try_parse_from(["load", "--reports", "out", "--no-progress"]).unwrap();
        assert_eq!(cli.report_dir, PathBuf::from("out"));
        assert!(cli.no_progress);
        let cli = Cli::try_parse_from(["load", "bench", "--seconds", "5"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Bench { seconds: 5, .. })
        ));
    }
}
