//! `--client-report FILE` and `--fail-on-findings` (issue 22 item 2) on the binary: the
//! report is written at a clean stop as JUnit XML and JSON, and the exit code is 3 with
//! findings, 0 without. About a second per server started.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (the banner's place on stdout or stderr does not matter here).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    l.local_addr().unwrap().port()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(env!("CARGO_BIN_EXE_reference-server"))
            .args(["--listen", &listen, "--test-controls"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(&listen).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the server did not listen"
            );
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the server ended at start: {status}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            base: format!("http://{listen}"),
        }
    }

    /// Ctrl-C; the exit code.
    fn stop(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-INT", &pid]).status();
        self.child.wait().expect("it ends").code()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn findings_are_reported_at_stop_and_exit_3_under_fail_on_findings() {
    let dir = std::env::temp_dir().join(format!("client-report-{}", std::process::id()));
    let report = dir.join("clients");
    let server = Server::start(&[
        "--client-report",
        report.to_str().unwrap(),
        "--fail-on-findings",
    ]);
    // Authorization without PKCE: one finding for pp-web.
    let url = format!(
        "{}/oauth/authorize?response_type=code&client_id=pp-web&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback",
        server.base
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let reply = http.get(&url).send().await.expect("authorize answers");
    let request_id = reply.headers()["x-punchplay-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.stop(), Some(3), "findings under --fail-on-findings");

    let xml = std::fs::read_to_string(report.with_extension("xml")).expect("the JUnit file");
    assert!(xml.contains("<testsuite name=\"pp-web\""), "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
    assert!(xml.contains(&request_id), "{xml}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.with_extension("json")).unwrap()).unwrap();
    assert_eq!(json["findings"][0]["rule"], "pkce-s256");
    assert_eq!(json["findings"][0]["request_ids"][0], request_id.as_str());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_clean_run_exits_0_with_a_passing_report() {
    let dir = std::env::temp_dir().join(format!("client-report-clean-{}", std::process::id()));
    let report = dir.join("clients.xml");
    let server = Server::start(&[
        "--client-report",
        report.to_str().unwrap(),
        "--fail-on-findings",
    ]);
    let me = reqwest::get(format!("{}/api/platform/v1/me", server.base))
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "one 401 is no finding");
    assert_eq!(server.stop(), Some(0));
    let xml = std::fs::read_to_string(&report).expect("the JUnit file");
    assert!(!xml.contains("<failure"), "{xml}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_exit_code_3_and_the_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_reference-server"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "3  it stopped cleanly with client findings",
        "--client-report",
        "--fail-on-findings",
        "--exclude-tool-traffic",
        "--no-client-observation",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}
