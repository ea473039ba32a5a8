//! The `load` binary as a person runs it (issue 13): `--version`, the exit codes in
//! `--help`, one-line errors that say what to change, and a closed standard output
//! (`load | head`) that ends the run quietly instead of a panic.

use std::io::Read;
use std::process::{Command, Stdio};

fn load() -> Command {
    Command::new(env!("CARGO_BIN_EXE_load"))
}

#[test]
fn version_and_help_answer_and_list_the_exit_codes() {
    let out = load().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("load "));
    let out = load().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        help.contains("Exit codes:") && help.contains("3  no limit failed"),
        "{help}"
    );
}

#[test]
fn a_bad_argument_is_one_line_that_says_what_to_do() {
    let out = load().args(["--limit", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("use all or one of: device-code"), "{err}");
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let dir = std::env::temp_dir().join(format!("load-cli-{}", std::process::id()));
    let mut child = load()
        .args(["--limit", "refresh", "--windows", "1", "--report-dir"])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read nothing: the reader is gone before the first line is written.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(status.code(), Some(141), "{err}");
}

#[test]
fn a_run_of_every_limit_says_what_it_does_once_and_goose_says_nothing() {
    let dir = std::env::temp_dir().join(format!("load-cli-all-{}", std::process::id()));
    let out = load()
        .args(["--limit", "all", "--windows", "1", "--report-dir"])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let both = format!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(0), "{both}");
    // goose 0.19's own line ("64 users launched.", once per limit) never shows.
    assert!(!both.contains("users launched"), "{both}");
    // One header for the whole run, first, naming every limit.
    let headers: Vec<&str> = both.lines().filter(|l| l.starts_with("load: ")).collect();
    assert_eq!(headers.len(), 1, "{both}");
    assert!(
        stdout.starts_with("load: 6 limits (device-code, "),
        "{stdout}"
    );
    assert!(stdout.contains("every limit holds"), "{stdout}");
}

// ---------------------------------------------------------------------------------------
// Reaching real staging, wrong setups, vanishing targets, one language (issue 23).

#[path = "../../conformance/tests/support/tls.rs"]
mod tls;

use std::time::{Duration, Instant};

/// Runs `load` with `NO_COLOR`, never longer than two minutes; answers the output and
/// checks that nothing printed a panic, a stack trace or a goose log line.
fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new("timeout")
        .arg("120")
        .arg(env!("CARGO_BIN_EXE_load"))
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("LOAD_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace") && !err.contains("goose"),
        "{err}"
    );
    out
}

fn err_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn repo_file(path: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .display()
        .to_string()
}

/// A reference server of `family` on a background runtime of its own, for a test that
/// runs the binary; dropped with the runtime.
struct Server {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(family: &str, test_controls: bool, tls: Option<(&tls::TestCertificates,)>) -> Server {
        let builtin = profile::builtin::find(family).unwrap();
        let config = reference_server::ServerConfig {
            profile: builtin.profile(),
            identities: builtin.identities(),
            test_controls,
            ..reference_server::ServerConfig::punchplay()
        };
        let tls = tls
            .map(|(c,)| reference_server::http::server::tls_config(&c.cert, &c.key).expect("TLS"));
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                match tls {
                    Some(tls) => {
                        let s = reference_server::http::server::TlsServer::spawn(config, tls)
                            .await
                            .unwrap();
                        url_tx.send(s.base_url()).unwrap();
                        let _ = stopped.await;
                        s.stop().await;
                    }
                    None => {
                        let s = reference_server::spawn(config).await.unwrap();
                        url_tx.send(s.base_url()).unwrap();
                        let _ = stopped.await;
                        s.stop().await;
                    }
                }
            });
        });
        Server {
            url: url_rx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

#[test]
fn a_wrong_target_is_exit_2_within_a_second() {
    let server = Server::start("punchplay", false, None);
    let creds = repo_file("fixtures/identities/enterprise.toml");
    let started = Instant::now();
    let out = run(&[
        "--target",
        &server.url,
        "--profile",
        "enterprise",
        "--credentials",
        &creds,
    ]);
    let took = started.elapsed();
    let err = err_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("this target serves punchplay, not enterprise"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn a_run_time_too_short_for_every_limit_is_refused_at_the_start_with_the_minimum() {
    let server = Server::start("enterprise", false, None);
    let creds = repo_file("fixtures/identities/enterprise.toml");
    let started = Instant::now();
    let out = run(&[
        "--target",
        &server.url,
        "--profile",
        "enterprise",
        "--credentials",
        &creds,
        "--run-time",
        "20s",
    ]);
    let err = err_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--run-time 20s is too short") && err.contains("needs --run-time 62s"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // Without credentials, a target without test controls is refused by name.
    let out = run(&["--target", &server.url, "--profile", "enterprise"]);
    let err = err_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--credentials FILE") && err.contains("fixtures/identities/enterprise.toml"),
        "{err}"
    );
    // --test-controls asks for them; this target has none.
    let out = run(&[
        "--target",
        &server.url,
        "--profile",
        "enterprise",
        "--test-controls",
    ]);
    let err = err_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("does not serve the reference server's test controls"),
        "{err}"
    );
}

#[test]
fn a_target_that_stops_answering_ends_the_run_in_seconds_with_one_line() {
    let mut server = Server::start("punchplay", true, None);
    let dir = std::env::temp_dir().join(format!("load-cli-gone-{}", std::process::id()));
    let child = Command::new(env!("CARGO_BIN_EXE_load"))
        .args([
            "--target",
            &server.url,
            "--limit",
            "token",
            "--no-progress",
            "--report-dir",
        ])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .env_remove("LOAD_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let stopped = Instant::now();
    server.stop();
    let out = child.wait_with_output().unwrap();
    let took = stopped.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let err = err_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line, not one per request: {err}"
    );
    assert!(
        err.contains("the target stopped answering during limit `token`") && err.contains("window"),
        "{err}"
    );
    assert!(!err.contains("goose") && !err.contains("WARN"), "{err}");
    assert!(took < Duration::from_secs(15), "took {took:?}");

    // On a real clock (no test controls) the players' failures end it the same way.
    let mut server = Server::start("punchplay", false, None);
    let creds = repo_file("fixtures/identities/punchplay.toml");
    let child = Command::new(env!("CARGO_BIN_EXE_load"))
        .args([
            "--target",
            &server.url,
            "--credentials",
            &creds,
            "--limit",
            "public-user",
        ])
        .args(["--run-time", "90s", "--no-progress", "--report-dir"])
        .arg(&dir)
        .env("NO_COLOR", "1")
        .env_remove("LOAD_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let stopped = Instant::now();
    server.stop();
    let out = child.wait_with_output().unwrap();
    let took = stopped.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let err = err_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("the target stopped answering during limit `public-user`"),
        "{err}"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
}

#[test]
fn every_run_writes_its_own_folder_and_latest_points_at_the_last() {
    let dir = std::env::temp_dir().join(format!("load-cli-folders-{}", std::process::id()));
    for _ in 0..2 {
        let out = run(&[
            "--limit",
            "refresh",
            "--windows",
            "1",
            "--no-progress",
            "--report-dir",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", err_of(&out));
    }
    let mut runs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "latest")
        .collect();
    runs.sort();
    let latest = std::fs::read_link(dir.join("latest")).unwrap();
    let verdict = dir.join("latest").join("verdict.json").is_file();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(latest, std::path::PathBuf::from(&runs[1]));
    assert!(verdict);
}

#[test]
fn load_reaches_an_https_target_with_a_ca_of_its_own() {
    let dir = std::env::temp_dir().join(format!("load-cli-tls-{}", std::process::id()));
    let certs = tls::make(&dir);
    let server = Server::start("punchplay", true, Some((&certs,)));
    let reports = dir.join("reports");
    let out = run(&[
        "--target",
        &server.url,
        "--ca-cert",
        certs.ca.to_str().unwrap(),
        "--header",
        "X-Gateway-Key: s3cret-gateway-value",
        "--limit",
        "refresh",
        "--windows",
        "1",
        "--no-progress",
        "--report-dir",
        reports.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let verdict =
        std::fs::read_to_string(reports.join("latest").join("verdict.json")).unwrap_or_default();
    // Without the CA: a TLS failure, named.
    let untrusted = run(&["--target", &server.url, "--limit", "refresh"]);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", err_of(&out));
    assert!(stdout.contains("refresh: holds"), "{stdout}");
    assert!(stdout.contains("x-gateway-key: [redacted]"), "{stdout}");
    assert!(!stdout.contains("s3cret") && !verdict.contains("s3cret"));
    let err = err_of(&untrusted);
    assert_eq!(untrusted.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is not trusted") && err.contains("--ca-cert"),
        "{err}"
    );
}

#[test]
fn flags_and_faults_speak_the_suites_language() {
    // An unknown fault lists the running family's faults only.
    let out = run(&["--profile", "enterprise", "--fault", "bogus"]);
    let err = err_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("there is no enterprise fault `bogus`")
            && err.contains("en_scope_check_skipped"),
        "{err}"
    );
    assert!(
        !err.contains("code_reusable") && !err.contains("fx_"),
        "{err}"
    );
    // An unknown profile lists the built-ins, in the suite's words; any case works.
    let out = run(&["--profile", "bogus"]);
    let err = err_of(&out);
    assert!(
        err.contains("no built-in profile `bogus`")
            && err.contains("punchplay, enterprise, flexslot"),
        "{err}"
    );
    // A malformed credentials file is called one.
    let bad = std::env::temp_dir().join(format!("load-cli-bad-{}.toml", std::process::id()));
    std::fs::write(&bad, "[[apps]\nclient_id = 1\n").unwrap();
    let out = run(&["--credentials", bad.to_str().unwrap()]);
    let _ = std::fs::remove_file(&bad);
    let err = err_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("is not valid: it is not valid TOML") && !err.contains("for a profile"),
        "{err}"
    );
    // Punchplay's credentials for the enterprise profile.
    let out = run(&[
        "--profile",
        "Enterprise",
        "--credentials",
        &repo_file("fixtures/identities/punchplay.toml"),
    ]);
    let err = err_of(&out);
    assert!(
        err.contains("these credentials are punchplay's, not enterprise's"),
        "{err}"
    );
    // One name for the identities file; the old ones parse and are hidden.
    use clap::Parser as _;
    for old in ["--identities", "--fixtures"] {
        let cli = load::cli::Cli::try_parse_from(["load", old, "x.toml"]).unwrap();
        assert_eq!(
            cli.common.credentials,
            Some(std::path::PathBuf::from("x.toml"))
        );
    }
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    assert!(
        help.contains("--credentials")
            && !help.contains("--identities")
            && help.contains("Test controls: detected"),
        "{help}"
    );
}
