//! A target that stops answering during a run (issue 23 item 1): the run ends within
//! seconds, INCOMPLETE with exit 2, naming when and where the target stopped, and every
//! report keeps the verdicts reached before. A target that still answers, if badly (a
//! 502 from a gateway whose backend is gone), is judged as today: its errors gate.
//!
//! The reference server runs in-process behind a TCP forwarder the test cuts after a
//! number of connections, as a process killed mid-run looks to its clients: open
//! connections reset, new ones refused (or held open unanswered, as a hung process does;
//! or, for the gateway, answered 502).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser as _;
use conformance::cli::{self, Args, EXIT_COULD_NOT_RUN, EXIT_NON_CONFORMANT};
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};

/// What the forwarder does once cut.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Open connections reset, new ones refused: the process is gone.
    Killed,
    /// Open connections reset, new ones accepted and never answered: a hung process.
    Hung,
    /// Open connections reset, new ones answered 502: a gateway whose backend is gone.
    Gateway502,
}

/// Forwards to `backend` until `after` connections were accepted, then cuts as `cut`
/// says; answers its address and when it cut.
async fn forwarder(
    backend: std::net::SocketAddr,
    after: usize,
    cut: Cut,
) -> (String, Arc<std::sync::Mutex<Option<Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("an address");
    let cut_at = Arc::new(std::sync::Mutex::new(None));
    let mark = cut_at.clone();
    tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        let accepted = AtomicUsize::new(0);
        while let Ok((mut client, _)) = listener.accept().await {
            if accepted.fetch_add(1, Ordering::SeqCst) < after {
                conns.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                continue;
            }
            // The cut: every open connection ends at once.
            *mark.lock().expect("lock") = Some(Instant::now());
            conns.abort_all();
            drop(client);
            match cut {
                Cut::Killed => return,
                Cut::Hung => {
                    // Held open, never answered (bounded: a run opens far fewer).
                    let mut held = Vec::new();
                    while let Ok((client, _)) = listener.accept().await {
                        if held.len() < 1000 {
                            held.push(client);
                        }
                    }
                    return;
                }
                Cut::Gateway502 => break,
            }
        }
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                let body = "<html><body>502 Bad Gateway</body></html>";
                let answer = format!(
                    "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = client.write_all(answer.as_bytes()).await;
                let _ = client.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), cut_at)
}

fn fresh_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "conformance-incomplete-{what}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("readable")).expect("JSON")
}

/// The punchplay suite against the reference server behind a forwarder cut after
/// `after` connections; answers the exit code, how long the run went on after the cut,
/// and the run's report folder.
async fn cut_run(what: &str, after: usize, cut: Cut) -> (i32, Duration, PathBuf) {
    let server = reference_server::spawn(reference_server::ServerConfig::punchplay())
        .await
        .expect("the reference server");
    let (target, cut_at) = forwarder(server.addr(), after, cut).await;
    let dir = fresh_dir(what);
    let creds = format!(
        "{}/../fixtures/identities/punchplay.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let args = Args::parse_from([
        "conformance",
        "--target",
        &target,
        "--credentials",
        &creds,
        "--no-snapshots",
        "--no-progress",
        "--timeout",
        "5",
        "--report-dir",
        dir.join("reports").to_str().expect("utf-8"),
    ]);
    let code = tokio::time::timeout(Duration::from_secs(120), cli::run(args))
        .await
        .expect("the run ends");
    let ended = Instant::now();
    server.stop().await;
    let cut_at = cut_at.lock().expect("lock").expect("the forwarder was cut");
    let run = std::fs::read_dir(dir.join("reports"))
        .expect("reports")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.is_dir() && !p.ends_with("latest"))
        .expect("a run folder");
    (code, ended - cut_at, run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_killed_mid_run_ends_it_incomplete_with_exit_2_and_the_verdicts_reached() {
    let (code, after_cut, run) = cut_run("killed", 60, Cut::Killed).await;
    assert_eq!(code, EXIT_COULD_NOT_RUN, "INCOMPLETE is exit 2");
    assert!(
        after_cut < Duration::from_secs(10),
        "the run went on {after_cut:?} after the target stopped"
    );
    let json = read_json(&run.join("report.json"));
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report.schema.json");
    let schema = jsonschema::validator_for(&read_json(&schema_path)).expect("a valid schema");
    let errors: Vec<String> = schema.iter_errors(&json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(json["conformant"], false);
    let verdict = json["verdict"].as_str().expect("a verdict");
    assert!(verdict.starts_with("INCOMPLETE"), "{verdict}");
    let stop = &json["incomplete"];
    for member in [
        "check",
        "method",
        "endpoint",
        "error",
        "probe",
        "stopped_at",
    ] {
        assert!(
            stop[member].as_str().is_some_and(|s| !s.is_empty()),
            "incomplete.{member}: {stop}"
        );
    }
    let checks = json["checks"].as_array().expect("checks");
    let with = |status: &str| checks.iter().filter(|c| c["status"] == status).count();
    // Verdicts reached before the stop are kept; what it cut is unfinished, never an
    // error of the deployment's.
    assert!(with("pass") > 0, "no verdict kept: {verdict}");
    assert!(with("unfinished") > 0, "{verdict}");
    assert_eq!(stop["unfinished"], with("unfinished"));
    assert_eq!(stop["reached"], checks.len() - with("unfinished"));
    let unanswered_errors: Vec<&str> = checks
        .iter()
        .filter(|c| c["status"] == "error" && c["support"]["status"] == 0)
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert!(
        unanswered_errors.is_empty(),
        "errors for the stop: {unanswered_errors:?}"
    );
    // Every report says it, and where.
    let endpoint = stop["endpoint"].as_str().expect("an endpoint");
    for file in ["report.md", "report.html", "junit.xml"] {
        let text = std::fs::read_to_string(run.join(file)).expect(file);
        assert!(
            text.contains("INCOMPLETE") && text.contains("stopped answering"),
            "{file} does not say the run is incomplete"
        );
        assert!(text.contains(endpoint), "{file} does not name {endpoint}");
    }
    let _ = std::fs::remove_dir_all(run.parent().and_then(Path::parent).expect("dir"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_hangs_mid_run_ends_it_incomplete_within_the_probe_timeout() {
    let (code, after_cut, run) = cut_run("hung", 60, Cut::Hung).await;
    assert_eq!(code, EXIT_COULD_NOT_RUN, "INCOMPLETE is exit 2");
    assert!(
        after_cut < Duration::from_secs(10),
        "the run went on {after_cut:?} after the target hung"
    );
    let json = read_json(&run.join("report.json"));
    let probe = json["incomplete"]["probe"].as_str().unwrap_or_default();
    assert!(probe.contains("in time"), "the probe timed out: {probe}");
    let _ = std::fs::remove_dir_all(run.parent().and_then(Path::parent).expect("dir"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_answers_502_after_the_cut_is_still_judged() {
    let (code, _, run) = cut_run("gateway", 60, Cut::Gateway502).await;
    assert_eq!(
        code, EXIT_NON_CONFORMANT,
        "a 5xx is the deployment's error and gates"
    );
    let json = read_json(&run.join("report.json"));
    assert!(json.get("incomplete").is_none(), "{}", json["verdict"]);
    assert!(
        json["verdict"]
            .as_str()
            .is_some_and(|v| v.starts_with("NOT CONFORMANT")),
        "{}",
        json["verdict"]
    );
    let _ = std::fs::remove_dir_all(run.parent().and_then(Path::parent).expect("dir"));
}

#[test]
fn help_documents_incomplete_as_exit_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--help")
        .output()
        .expect("the binary runs");
    let help = String::from_utf8_lossy(&out.stdout);
    // The exit-2 entry: from its code to the next one.
    let exit_2 = help
        .split_once("\n  2 ")
        .and_then(|(_, rest)| rest.split_once("\n  130 "))
        .map_or("", |(entry, _)| entry);
    assert!(
        exit_2.contains("INCOMPLETE") && exit_2.contains("stopped answering"),
        "{help}"
    );
}
