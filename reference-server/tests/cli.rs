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

/// A started server: its banner's first line and the child, stopped with Ctrl-C.
struct Running {
    child: Child,
    first_line: String,
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
        let first_line = lines.next().expect("a banner").expect("text");
        // Drain the rest of the banner so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Running { child, first_line }
    }

    /// Ctrl-C, then everything the server logged.
    fn stop(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let status = self.child.wait().expect("it ends");
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
    let base = server.first_line.rsplit(' ').next().unwrap().to_owned();
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
