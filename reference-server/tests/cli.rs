//! The `reference-server` binary as a person starts it (issue 23): HTTPS with
//! `--tls-cert`/`--tls-key`, a bad certificate file named with its flag, `--credentials`
//! as in the suite and load (`--fixtures` kept as a hidden alias), profile names in any
//! case, and logs without colour codes when stderr is not a terminal.

#[path = "../../conformance/tests/support/tls.rs"]
mod tls;

use std::io::{BufRead as _, Read as _};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

fn binary(args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_reference-server"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn stderr_of(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{err}"
    );
    err
}

/// A started server: its ready line (stdout), its banner's first line (stderr) and the
/// child, stopped with a signal.
struct Running {
    child: Child,
    ready: serde_json::Value,
    first_line: String,
    stderr: std::io::BufReader<std::process::ChildStderr>,
    rest_of_stdout: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_reference-server"))
            .args(args)
            .env("RUST_LOG", "reference_server=debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let ready = lines.next().expect("a ready line").expect("text");
        let ready: serde_json::Value =
            serde_json::from_str(&ready).expect("the ready line is JSON");
        // Whatever else comes on stdout, checked at the stop: nothing.
        let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect());
        let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
        let mut first_line = String::new();
        stderr.read_line(&mut first_line).expect("a banner");
        Running {
            child,
            ready,
            first_line: first_line.trim_end().to_owned(),
            stderr,
            rest_of_stdout: Some(rest),
        }
    }

    /// The base URL the ready line gives.
    fn base_url(&self) -> String {
        self.ready["base_url"]
            .as_str()
            .expect("base_url")
            .to_owned()
    }

    /// SIGINT (Ctrl-C), then everything the server logged.
    fn stop(self) -> (Option<i32>, String) {
        self.stop_with("-INT")
    }

    /// The signal `signal` (`-TERM`, `-INT`), then the exit code and the rest of stderr.
    fn stop_with(mut self, signal: &str) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args([signal, &pid]).status();
        let mut err = String::new();
        let _ = self.stderr.read_to_string(&mut err);
        let status = self.child.wait().expect("it ends");
        if let Some(rest) = self.rest_of_stdout.take() {
            let rest = rest.join().expect("the reader");
            assert!(
                rest.is_empty(),
                "stdout carries the ready line only: {rest:?}"
            );
        }
        (status.code(), err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn it_serves_https_with_a_certificate_and_its_logs_carry_no_colour_codes() {
    let dir = std::env::temp_dir().join(format!("reference-server-tls-{}", std::process::id()));
    let certs = tls::make(&dir);
    let server = Running::start(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        certs.cert.to_str().unwrap(),
        "--tls-key",
        certs.key.to_str().unwrap(),
    ]);
    assert!(
        server
            .first_line
            .contains("reference server on https://127.0.0.1:"),
        "{}",
        server.first_line
    );
    let base = server.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&certs.ca).unwrap()).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let reply = trusting
        .get(format!("{base}/api/platform/v1/me"))
        .send()
        .await
        .expect("an HTTPS answer");
    assert_eq!(reply.status().as_u16(), 401);
    assert!(reply.headers().contains_key("x-punchplay-request-id"));
    // A client that does not trust the CA is refused by TLS, not served.
    let untrusting = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("{base}/api/platform/v1/me"))
            .send()
            .await
            .is_err()
    );
    let (code, log) = server.stop();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("GET") || log.contains("shutting down"),
        "{log}"
    );
    assert!(
        !log.contains('\x1b'),
        "colour codes in a redirected stderr: {log:?}"
    );
}

#[test]
fn a_bad_certificate_or_key_is_exit_2_naming_its_flag() {
    let dir = std::env::temp_dir().join(format!("reference-server-badtls-{}", std::process::id()));
    let certs = tls::make(&dir);
    let out = binary(&[
        "--tls-cert",
        "/nonexistent.pem",
        "--tls-key",
        certs.key.to_str().unwrap(),
    ]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--tls-cert") && err.starts_with("error: "),
        "{err}"
    );
    // The key of another certificate.
    let out = binary(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        certs.cert.to_str().unwrap(),
        "--tls-key",
        certs.self_signed_key.to_str().unwrap(),
    ]);
    let err = stderr_of(&out);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("does not fit the certificate"), "{err}");
    // One without the other is a usage error.
    let out = binary(&["--tls-cert", "x.pem"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--tls-key"));
}

#[test]
fn credentials_and_profiles_are_named_as_in_the_suite_and_load() {
    let bad =
        std::env::temp_dir().join(format!("reference-server-bad-{}.toml", std::process::id()));
    std::fs::write(&bad, "[[apps]\nclient_id = 1\n").unwrap();
    for flag in ["--credentials", "--fixtures"] {
        let out = binary(&[flag, bad.to_str().unwrap()]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("the credentials file")
                && err.contains("is not valid: it is not valid TOML"),
            "{flag}: {err}"
        );
        assert!(!err.contains("for a profile"), "{err}");
    }
    let _ = std::fs::remove_file(&bad);
    let out = binary(&["--profile", "bogus"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("no built-in profile `bogus`")
            && err.contains("punchplay, enterprise, flexslot"),
        "{err}"
    );
    let help = String::from_utf8_lossy(&binary(&["--help"]).stdout).into_owned();
    assert!(
        help.contains("--credentials") && !help.contains("--fixtures"),
        "{help}"
    );
    assert!(
        help.contains("--tls-cert") && help.contains("--tls-key"),
        "{help}"
    );
    // Any case names a built-in.
    let server = Running::start(&["--profile", "FlexSlot", "--listen", "127.0.0.1:0"]);
    assert!(
        server.first_line.starts_with("Flexslot"),
        "{}",
        server.first_line
    );
    let (code, _) = server.stop();
    assert_eq!(code, Some(0));
}

/// Issue 21 item 1: the ready line on stdout and in `--ready-file`, the banner on stderr,
/// and SIGTERM lets a request in flight finish before the server exits 0.
#[test]
fn ready_line_ready_file_and_sigterm_finish_open_requests() {
    use std::io::Write as _;
    let dir = std::env::temp_dir().join(format!("reference-server-ready-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ready_file = dir.join("ready.json");
    let server = Running::start(&[
        "--profile",
        "flexslot",
        "--listen",
        "127.0.0.1:0",
        "--ready-file",
        ready_file.to_str().unwrap(),
    ]);
    assert_eq!(server.ready["ready"], true);
    assert_eq!(server.ready["profile"], "flexslot");
    assert_eq!(server.ready["pid"], server.child.id());
    let base = server.base_url();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert_eq!(
        server.ready["listen"].as_str().unwrap(),
        base.trim_start_matches("http://")
    );
    assert!(
        server.first_line.starts_with("Flexslot"),
        "{}",
        server.first_line
    );
    let from_file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ready_file).unwrap()).unwrap();
    assert_eq!(from_file, server.ready);
    // Nothing left beside it (the file was written beside it and renamed).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    // A token request whose body is still on its way when SIGTERM comes.
    let mut conn = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = "grant_type=refresh_token&refresh_token=nope";
    write!(
        conn,
        "POST /token HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Basic Zngtd2ViOmZ4LXdlYi1zZWNyZXQ=\r\nContent-Length: {}\r\n\r\n{}",
        base.trim_start_matches("http://"),
        body.len(),
        &body[..10]
    )
    .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = [0u8; 12];
    conn.read_exact(&mut answer)
        .expect("the request in flight is answered");
    assert!(answer.starts_with(b"HTTP/1.1 "), "{answer:?}");
    drop(conn);
    let (code, log) = server.stop_with("-TERM");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("SIGTERM"), "{log}");
}

/// Issue 21 item 1: in a CI service container the server listens on 0.0.0.0 and is
/// reached by a service name. Test controls there need the loud flag; `--public-url`
/// makes the service name's Host welcome.
#[tokio::test]
async fn test_controls_on_any_address_need_the_loud_flag_and_serve_a_service_name() {
    let refused = binary(&["--listen", "0.0.0.0:0", "--test-controls"]);
    let err = stderr_of(&refused);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--insecure-test-controls-on-any-address"),
        "{err}"
    );

    let server = Running::start(&[
        "--listen",
        "0.0.0.0:0",
        "--test-controls",
        "--insecure-test-controls-on-any-address",
        "--public-url",
        "http://oauth:8080",
    ]);
    assert_eq!(server.ready["base_url"], "http://oauth:8080");
    let port = server.ready["listen"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        server.ready["listen"]
            .as_str()
            .unwrap()
            .starts_with("0.0.0.0:")
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let reply = http
        .post(format!(
            "http://127.0.0.1:{port}/api/platform/v1/auth/device/code"
        ))
        .header("host", "oauth:8080")
        .form(&[("client_id", "pp-tv"), ("scope", "profile:read")])
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let device: serde_json::Value = reply.json().await.unwrap();
    assert!(
        device["verification_uri"]
            .as_str()
            .unwrap()
            .starts_with("http://oauth:8080/"),
        "{device}"
    );
    let reset = http
        .post(format!("http://127.0.0.1:{port}/__test/reset"))
        .header("host", "oauth:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status().as_u16(), 200);
    let (code, log) = server.stop_with("-TERM");
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("WARNING: test controls on 0.0.0.0:"), "{log}");
}
