//! `reference-server`: parses arguments, sets up logging, and calls
//! [`reference_server::serve`]. Nothing else lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use profile::{Identities, Profile};
use reference_server::ServerConfig;

/// An in-memory reference server for the PunchPlay platform API contract.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// A profile file (paths, lifetimes, scopes, limits); the built-in punchplay profile by default.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// An identities file (apps and users) instead of the contract's fixtures.
    #[arg(long, value_name = "FILE")]
    fixtures: Option<PathBuf>,
    /// Serve the test controls under /__test/ (clock, approvals, faults). Never on a shared host.
    #[arg(long)]
    test_controls: bool,
    /// Take the client IP for rate limits from the last X-Forwarded-For entry.
    #[arg(long)]
    trust_proxy: bool,
}

fn read(path: &PathBuf, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))
}

fn config(args: &Args) -> Result<ServerConfig, String> {
    let profile = match &args.profile {
        Some(path) => Profile::from_toml_str(&read(path, "profile")?)
            .map_err(|e| format!("{}: {e}", path.display()))?,
        None => Profile::punchplay(),
    };
    let identities = match &args.fixtures {
        Some(path) => {
            Identities::from_toml_str(&read(path, "fixtures")?, |v| std::env::var(v).ok())
                .map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Identities::punchplay(),
    };
    if args.test_controls && !args.listen.ip().is_loopback() {
        return Err(format!(
            "--test-controls signs anyone in without a password; it is only served on a loopback address, not {}",
            args.listen.ip()
        ));
    }
    Ok(ServerConfig {
        profile,
        identities,
        test_controls: args.test_controls,
        trust_proxy: args.trust_proxy,
    })
}

fn banner(config: &ServerConfig, addr: SocketAddr) {
    let base = format!("http://{addr}");
    println!("{} reference server on {base}", config.profile.title);
    if config.test_controls {
        println!("test controls: ON at {base}/__test/ (never expose this server)");
    }
    println!("\napps:");
    for app in &config.identities.apps {
        // A secret from the environment stays out of the terminal (and its logs).
        let secret = match (&app.secret_env, &app.secret) {
            (Some(var), _) => format!("${var}"),
            (None, Some(s)) => s.expose().to_owned(),
            (None, None) => "-".to_owned(),
        };
        println!(
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
        );
    }
    println!("\nusers:");
    for user in &config.identities.users {
        let password = match (&user.password_env, &user.password) {
            (Some(var), _) => format!("${var}"),
            (None, Some(p)) => p.expose().to_owned(),
            (None, None) => "-".to_owned(),
        };
        println!(
            "  {:<8} password {:<16} {}",
            user.username, password, user.display_name
        );
    }
    println!(
        "\nsign in: {base}{}   activate a device: {base}{}\nCtrl-C stops the server.",
        config.profile.path("developer_apps"),
        config.profile.path("activate")
    );
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("reference_server=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
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
        banner(&config, addr);
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        };
        match reference_server::serve(listener, config, shutdown).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    })
}
