//! `reference-server`: parses arguments, sets up logging, and calls
//! [`reference_server::serve`]. Nothing else lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use profile::builtin;
use reference_server::ServerConfig;

/// Exit codes, listed in `--help`.
const EXIT_CODES: &str = "Once it accepts connections it prints one line of JSON on stdout,
{\"ready\": true, \"base_url\", \"listen\", \"profile\", \"pid\"} (and writes it to
--ready-file); everything else, the banner and the logs, goes to stderr.

Exit codes:
  0  the server stopped cleanly (SIGTERM, SIGINT or Ctrl-C; open requests finished first)
  1  the server failed while running (the runtime or the listener broke)
  2  it could not start: a bad flag, an unreadable or invalid profile or fixtures file,
     an address it cannot listen on, or a ready file it cannot write
  3  it stopped cleanly with client findings, under --fail-on-findings";

/// An in-memory reference server for the contract's three documented systems (punchplay,
/// enterprise, flexslot).
#[derive(Parser, Debug)]
#[command(version, about, after_help = EXIT_CODES)]
struct Args {
    /// A built-in profile by name (punchplay, enterprise, flexslot) or a profile file (paths, lifetimes, scopes,
    /// limits); the built-in punchplay profile by default. A file called like a built-in
    /// is given as a path (./punchplay).
    #[arg(long, value_name = "NAME|FILE")]
    profile: Option<PathBuf>,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// A credentials (identities) file: apps and users instead of the contract's fixtures
    /// for the profile's family. The same format and flag as conformance and load.
    #[arg(long, value_name = "FILE", alias = "fixtures", alias = "identities")]
    credentials: Option<PathBuf>,
    /// Serve the test controls under /__test/ (clock, approvals, faults, apps, users,
    /// tokens). Never on a shared host. Only on a loopback --listen address, unless
    /// --insecure-test-controls-on-any-address.
    #[arg(long)]
    test_controls: bool,
    /// Let --test-controls serve on a non-loopback --listen address (0.0.0.0), for a
    /// throwaway CI service container or docker-compose network ONLY: anyone who reaches
    /// the port can then sign in as any user, mint tokens and reset the server.
    #[arg(long, requires = "test_controls")]
    insecure_test_controls_on_any_address: bool,
    /// Also write the ready line (JSON) to this file once the server accepts connections,
    /// atomically (written beside it, then renamed), for harnesses that wait on a file.
    #[arg(long, value_name = "PATH")]
    ready_file: Option<PathBuf>,
    /// Start with this named defect of the profile's family switched on; /__test/reset
    /// keeps it (with --test-controls; GET /__test/fault lists them, and an unknown name
    /// lists them here).
    #[arg(long, value_name = "NAME", requires = "test_controls")]
    fault: Option<String>,
    /// Take the client IP for rate limits from the last X-Forwarded-For entry.
    #[arg(long)]
    trust_proxy: bool,
    /// The URL people reach the server at (e.g. https://play.example, or http://oauth:8080
    /// for a CI service container reached by its service name): the base of
    /// verification_uri and its QR code, and of the ready line's base_url. Without it the
    /// server uses its listen address and answers only requests whose Host names that
    /// address, localhost or loopback.
    #[arg(long, value_name = "URL")]
    public_url: Option<url::Url>,
    /// Connections served at once; past it new connections are closed at once. Lowered to
    /// fit the process's open-file limit.
    #[arg(long, default_value_t = reference_server::DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    max_connections: usize,
    /// Connections served at once from one source address.
    #[arg(long, default_value_t = reference_server::DEFAULT_MAX_CONNECTIONS_PER_IP, value_name = "N")]
    max_connections_per_ip: usize,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Threads that serve requests. Default: one per core but one, at least one: the
    /// server nearly always runs beside its clients (the suite, load, a browser), which
    /// need a core too. One thread runs everything on it, with no hand-offs between
    /// threads (docs/benchmark.md measures the difference).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    /// At a clean stop, write how the clients behaved (docs/client-findings.md): JUnit XML
    /// to FILE with the extension .xml (one test case per rule per client) and JSON with
    /// .json.
    #[arg(long, value_name = "FILE")]
    client_report: Option<PathBuf>,
    /// Exit 3 at a clean stop when any client finding exists, so CI can gate on it.
    #[arg(long)]
    fail_on_findings: bool,
    /// Leave the requests of the contract's own tools (the suite, load: they send
    /// User-Agent conformance/… or load/…) out of the findings; they are still recorded.
    #[arg(long)]
    exclude_tool_traffic: bool,
    /// Neither record requests nor observe clients (to measure what they cost).
    #[arg(long, conflicts_with_all = ["client_report", "fail_on_findings"])]
    no_client_observation: bool,
}

/// `--workers`, or one per core but one.
fn workers(args: &Args) -> usize {
    args.workers.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_sub(1)
            .max(1)
    })
}

/// File descriptors kept free of connections: the listener, logs, files.
const SPARE_FDS: usize = 64;

/// The soft open-file limit (Linux `/proc/self/limits`), if it can be read.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Checks `--public-url`: an absolute http(s) URL with a host and nothing after the path.
fn check_public_url(url: &url::Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https")
        || url.host().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(format!(
            "--public-url {url} is not a base URL; give scheme, host and port only, like https://play.example"
        ));
    }
    Ok(())
}

/// An error's text on one line (TOML errors quote the file over several).
fn one_line(e: &impl std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prints a banner line to stderr: stdout carries only the ready line (issue 21 item 1).
/// A closed stderr is not an error for a server.
fn say(line: impl std::fmt::Display) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn config(args: &Args) -> Result<ServerConfig, String> {
    let profile = builtin::load_profile(args.profile.as_deref(), |p| std::fs::read_to_string(p))?;
    let identities = match &args.credentials {
        Some(path) => builtin::load_credentials(
            path,
            profile.family,
            |p| std::fs::read_to_string(p),
            |v| std::env::var(v).ok(),
        )
        .map_err(|e| format!("{e}, or leave out --credentials for the contract's fixtures"))?,
        // The contract's fixtures for the profile's family (CONTRACT.md, "Fixtures").
        None => match builtin::find(profile.family.as_str()) {
            Some(b) => b.identities(),
            None => {
                return Err(format!(
                    "there are no built-in fixtures for the {} family; give --credentials FILE",
                    profile.family
                ));
            }
        },
    };
    if args.test_controls
        && !args.listen.ip().is_loopback()
        && !args.insecure_test_controls_on_any_address
    {
        return Err(format!(
            "--test-controls signs anyone in without a password; it is only served on a loopback address, not {}. In a throwaway CI container add --insecure-test-controls-on-any-address.",
            args.listen.ip()
        ));
    }
    if let Some(url) = &args.public_url {
        check_public_url(url)?;
    }
    let mut max_connections = args.max_connections.max(1);
    if let Some(limit) = open_file_limit()
        && max_connections + SPARE_FDS > limit
    {
        let fitted = limit.saturating_sub(SPARE_FDS).max(1);
        eprintln!(
            "warning: --max-connections {max_connections} does not fit the open-file limit {limit}; serving at most {fitted} (raise it with `ulimit -n`)"
        );
        max_connections = fitted;
    }
    if let Some(name) = &args.fault {
        check_fault(&profile, name)?;
    }
    let config = ServerConfig {
        profile,
        identities,
        test_controls: args.test_controls,
        trust_proxy: args.trust_proxy,
        max_connections,
        max_connections_per_ip: args.max_connections_per_ip.max(1),
        public_url: args.public_url.clone(),
        fault: args.fault.clone(),
        observation: reference_server::observe::ObservationConfig {
            enabled: !args.no_client_observation,
            exclude_tools: args.exclude_tool_traffic,
            report: args.client_report.clone(),
            ..Default::default()
        },
    };
    // A profile this server cannot serve is a start-up error (exit 2), not a crash later.
    reference_server::http::App::new(config.clone()).map_err(|e| {
        format!(
            "{}. Fix the profile, or leave out --profile for the built-in punchplay profile.",
            one_line(&e)
        )
    })?;
    Ok(config)
}

/// `--fault NAME` names one of the profile's family's faults; otherwise the error lists
/// them, one per line with the clause each breaks.
fn check_fault(profile: &profile::Profile, name: &str) -> Result<(), String> {
    let Some(pack) = reference_server::families::for_profile(profile) else {
        return Ok(());
    };
    if pack.faults().iter().any(|f| f.name == name) {
        return Ok(());
    }
    let width = pack
        .faults()
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0);
    let listed: Vec<String> = pack
        .faults()
        .iter()
        .map(|f| format!("  {:<width$}  {}", f.name, f.clause))
        .collect();
    Err(format!(
        "--fault {name} is not a fault of the {} family; its faults are:\n{}",
        pack.name(),
        listed.join("\n")
    ))
}

fn banner(config: &ServerConfig, addr: SocketAddr, scheme: &str) {
    let base = match &config.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => format!("{scheme}://{addr}"),
    };
    say(format_args!(
        "{} reference server on {scheme}://{addr}",
        config.profile.title
    ));
    if config.public_url.is_some() {
        say(format_args!("public URL: {base}"));
    }
    // RFC 8414 metadata, for a profile that publishes it (flexslot).
    if let Some(metadata) = config.profile.paths.get("metadata") {
        say(format_args!("metadata: {base}{metadata}"));
    }
    if config.test_controls {
        say(format_args!(
            "test controls: ON at {base}/__test/ (never expose this server)"
        ));
        if !addr.ip().is_loopback() {
            say(format_args!(
                "WARNING: test controls on {addr}, a non-loopback address: anyone who reaches it can sign in as any user and mint tokens. Throwaway containers only."
            ));
        }
    }
    if let Some(fault) = &config.fault {
        say(format_args!(
            "fault: {fault} is ON, and stays on across /__test/reset"
        ));
    }
    say("\napps:");
    for app in &config.identities.apps {
        // A secret from the environment stays out of the terminal (and its logs).
        let secret = match (&app.secret_env, &app.secret) {
            (Some(var), _) => format!("${var}"),
            (None, Some(s)) => s.expose().to_owned(),
            (None, None) => "-".to_owned(),
        };
        say(format_args!(
            "  {:<12} {:<18} {:<12} secret {:<20} scopes {:<55} redirect {}{}",
            app.client_id,
            app.name,
            format!("{:?}", app.kind).to_lowercase(),
            secret,
            app.allowed_scopes.join(" "),
            if app.redirect_uris.is_empty() {
                "-".to_owned()
            } else {
                app.redirect_uris.join(" ")
            },
            if app.active { "" } else { "  (inactive)" }
        ));
    }
    if !config.identities.users.is_empty() {
        say("\nusers:");
    }
    for user in &config.identities.users {
        let password = match (&user.password_env, &user.password) {
            (Some(var), _) => format!("${var}"),
            (None, Some(p)) => p.expose().to_owned(),
            (None, None) => "-".to_owned(),
        };
        say(format_args!(
            "  {:<8} password {:<16} {}",
            user.username, password, user.display_name
        ));
    }
    // Pages only for a profile that has them (enterprise has none).
    let paths = &config.profile.paths;
    if let (Some(apps), Some(activate)) = (paths.get("developer_apps"), paths.get("activate")) {
        say(format_args!(
            "\nsign in: {base}{apps}   activate a device: {base}{activate}"
        ));
    }
    say("Ctrl-C or SIGTERM stops the server.");
}

/// The ready line (issue 21 item 1): one line of JSON a harness in any language waits for.
/// `base_url` is `--public-url` when given, else the bound address, with an unspecified
/// address (`0.0.0.0`, `[::]`) replaced by loopback, where a local client reaches it.
fn ready_line(config: &ServerConfig, addr: SocketAddr, scheme: &str) -> String {
    let reachable = match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    };
    let base_url = match &config.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => format!("{scheme}://{reachable}"),
    };
    // Written by hand to keep `ready` first, as a person reading the line expects.
    let text = |s: &str| serde_json::Value::from(s).to_string();
    format!(
        r#"{{"ready": true, "base_url": {}, "listen": {}, "profile": {}, "pid": {}}}"#,
        text(&base_url),
        text(&addr.to_string()),
        text(config.profile.family.as_str()),
        std::process::id()
    )
}

/// Writes `line` to `path` atomically: to a file beside it, then renamed over it, so a
/// harness polling for the file never reads half a line.
fn write_ready_file(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(format!(".{}.partial", std::process::id()));
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, format!("{line}\n"))?;
    std::fs::rename(&partial, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })
}

/// Completes on SIGTERM (CI service containers, systemd, test harnesses), SIGINT or
/// Ctrl-C, whichever comes first; the server then shuts down gracefully and exits 0.
/// The handlers are installed here, before the ready line, so a SIGTERM sent the moment
/// a harness reads it is already a graceful stop.
fn stop_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::terminate())
            .and_then(|term| signal(SignalKind::interrupt()).map(|int| (term, int)));
        async move {
            let name = match handlers {
                Ok((mut term, mut int)) => tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                },
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    "Ctrl-C"
                }
            };
            tracing::info!(signal = name, "shutting down");
        }
    }
    #[cfg(not(unix))]
    async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}

/// Colour codes in the logs only on a terminal, and never when `NO_COLOR` is set to
/// anything (no-color.org; issue 23 item 4).
fn colour_on_stderr() -> bool {
    use std::io::IsTerminal as _;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Colour codes only on a terminal, never with NO_COLOR (issue 23 item 4).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("reference_server=info")),
        )
        .with_ansi(colour_on_stderr())
        .with_writer(std::io::stderr)
        .init();
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match reference_server::http::server::tls_config(cert, key) {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let runtime = match workers(&args) {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    }
    .enable_all()
    .build();
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "error: cannot listen on {}: {e}. Pick another address with --listen.",
                    args.listen
                );
                return ExitCode::from(2);
            }
        };
        let addr = listener.local_addr().unwrap_or(args.listen);
        let scheme = if tls.is_some() { "https" } else { "http" };
        banner(&config, addr, scheme);
        let findings_at_stop = config.observation.findings_at_stop.clone();
        let shutdown = stop_signal();
        // Listening: connections queue from here on, so the harness may go.
        let ready = ready_line(&config, addr, scheme);
        if let Some(path) = &args.ready_file
            && let Err(e) = write_ready_file(path, &ready)
        {
            eprintln!(
                "error: cannot write the ready file {}: {e}. Give --ready-file a path in a writable folder.",
                path.display()
            );
            return ExitCode::from(2);
        }
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            // A closed stdout is not an error for a server.
            let _ = writeln!(out, "{ready}").and_then(|()| out.flush());
        }
        let served = match tls {
            Some(tls) => {
                reference_server::http::server::serve_tls(listener, config, tls, shutdown).await
            }
            None => reference_server::serve(listener, config, shutdown).await,
        };
        match served {
            // Exit 3: findings under --fail-on-findings (docs/client-findings.md).
            Ok(()) if args.fail_on_findings && findings_at_stop.get().is_some_and(|n| *n > 0) => {
                ExitCode::from(3)
            }
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    })
}
