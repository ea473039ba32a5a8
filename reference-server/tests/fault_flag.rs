//! `reference-server --test-controls --fault NAME` (issue 23 item 3): the server starts
//! with the fault on and a reset keeps it; only the running family's faults are valid,
//! and an unknown name lists them one per line (exit 2), not every family's as JSON.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reference-server"))
}

#[test]
fn an_unknown_fault_lists_the_family_s_faults_one_per_line() {
    let out = server()
        .args([
            "--profile",
            "enterprise",
            "--test-controls",
            "--fault",
            "code_reusable",
        ])
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a fault of the enterprise family"),
        "{stderr}"
    );
    let listed: Vec<&str> = stderr.lines().skip(1).collect();
    assert!(
        listed
            .iter()
            .any(|l| l.trim_start().starts_with("en_revoke_keeps_token ")),
        "{stderr}"
    );
    assert!(
        listed
            .iter()
            .all(|l| !l.contains("code_reusable") && !l.contains('{')),
        "{stderr}"
    );

    let without_controls = server()
        .args(["--fault", "code_reusable", "--listen", "127.0.0.1:0"])
        .output()
        .expect("the binary runs");
    assert_eq!(without_controls.status.code(), Some(2));
}

#[tokio::test]
async fn the_server_starts_with_the_fault_on_and_a_reset_keeps_it() {
    struct Running(std::process::Child);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Running(
        server()
            .args(["--test-controls", "--fault", "scope_omitted"])
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .next()
            .and_then(Result::ok)
    });
    let ready = tokio::time::timeout(std::time::Duration::from_secs(20), first)
        .await
        .expect("the ready line within 20 s")
        .unwrap()
        .expect("a ready line");
    // The ready line on stdout (issue 21 item 1).
    let ready: serde_json::Value = serde_json::from_str(&ready).expect("JSON");
    let base = ready["base_url"].as_str().expect("base_url").to_owned();
    let http = reqwest::Client::new();
    let fault = || async {
        let listed: serde_json::Value = http
            .get(format!("{base}/__test/fault"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        listed["fault"].clone()
    };
    assert_eq!(fault().await, "scope_omitted");
    let reset = http
        .post(format!("{base}/__test/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(
        fault().await,
        "scope_omitted",
        "reset returns to the start-up state"
    );
}
