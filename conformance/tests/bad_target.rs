//! A bad target never panics or hangs the suite: unreachable, answering garbage or HTML,
//! resetting connections, or never answering. Each run ends with a clear exit code.

use std::time::{Duration, Instant};

use clap::Parser as _;
use conformance::cli::{self, Args, EXIT_COULD_NOT_RUN, EXIT_NON_CONFORMANT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn credentials() -> String {
    format!(
        "{}/../fixtures/identities/punchplay.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

async fn run_against(url: &str, extra: &[&str]) -> (i32, Duration) {
    let creds = credentials();
    let mut argv = vec![
        "conformance",
        "--target",
        url,
        "--credentials",
        &creds,
        "--no-reports",
        "--no-progress",
        "--no-snapshots",
        "--timeout",
        "1",
        "--check-timeout",
        "10",
    ];
    argv.extend_from_slice(extra);
    let args = Args::parse_from(argv);
    let started = Instant::now();
    let code = tokio::time::timeout(Duration::from_secs(50), cli::run(args))
        .await
        .expect("the suite ends by itself");
    (code, started.elapsed())
}

/// Serves every connection with `answer` (None: hold it open and say nothing).
async fn listener(answer: Option<&'static [u8]>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = l.accept().await {
            match answer {
                Some(bytes) => {
                    tokio::spawn(async move {
                        let mut buf = [0u8; 8192];
                        let _ = tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf))
                            .await;
                        let _ = s.write_all(bytes).await;
                        let _ = s.shutdown().await;
                    });
                }
                None => held.push(s),
            }
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_unreachable_target_exits_2() {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", l.local_addr().expect("addr"));
    drop(l);
    let (code, took) = run_against(&url, &[]).await;
    assert_eq!(code, EXIT_COULD_NOT_RUN);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn a_target_answering_garbage_exits_2() {
    let url = listener(Some(b"garbage, not HTTP\r\n\r\n")).await;
    let (code, _) = run_against(&url, &[]).await;
    assert_eq!(code, EXIT_COULD_NOT_RUN);
}

#[tokio::test]
async fn a_target_resetting_connections_exits_2() {
    let url = listener(Some(b"")).await;
    let (code, _) = run_against(&url, &[]).await;
    assert_eq!(code, EXIT_COULD_NOT_RUN);
}

#[tokio::test]
async fn a_target_that_never_answers_times_out_and_exits_2() {
    let url = listener(None).await;
    let (code, took) = run_against(&url, &[]).await;
    assert_eq!(code, EXIT_COULD_NOT_RUN);
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_answering_html_is_non_conformant_not_a_crash() {
    let url = listener(Some(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 27\r\nconnection: close\r\n\r\n<html><p>welcome</p></html>",
    ))
    .await;
    let (code, _) = run_against(&url, &[]).await;
    assert_eq!(code, EXIT_NON_CONFORMANT);
}

#[tokio::test]
async fn usage_errors_exit_2() {
    let args = Args::parse_from([
        "conformance",
        "--target",
        "http://127.0.0.1:9",
        "--no-reports",
    ]);
    assert_eq!(
        cli::run(args).await,
        EXIT_COULD_NOT_RUN,
        "--target without --credentials"
    );
    let args = Args::parse_from(["conformance", "--only", "PP-NOPE", "--no-reports"]);
    assert_eq!(
        cli::run(args).await,
        EXIT_COULD_NOT_RUN,
        "--only matching nothing"
    );
    let args = Args::parse_from([
        "conformance",
        "--profile",
        "/nonexistent/profile.toml",
        "--no-reports",
    ]);
    assert_eq!(
        cli::run(args).await,
        EXIT_COULD_NOT_RUN,
        "a missing profile file"
    );
}
