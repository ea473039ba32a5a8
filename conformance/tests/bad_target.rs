//! A bad target never panics or hangs the suite: unreachable, answering garbage or HTML,
//! resetting connections, or never answering. Each run ends with a clear exit code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser as _;
use conformance::cli::{self, Args, EXIT_COULD_NOT_RUN, EXIT_NON_CONFORMANT};
use conformance::client::{Http, HttpOptions, MAX_BODY_BYTES, Req};
use conformance::outcome::Problem;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn credentials() -> String {
    format!(
        "{}/../fixtures/identities/punchplay.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

async fn run_against(url: &str, extra: &[&str]) -> (i32, Duration) {
    run_with_timeout(url, "1", extra).await
}

async fn run_with_timeout(url: &str, timeout: &str, extra: &[&str]) -> (i32, Duration) {
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
        timeout,
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

/// A platform's answer to an unknown route, as far as the probe cares: JSON.
const JSON_404: &[u8] = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
const HTML_200: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 27\r\nconnection: close\r\n\r\n<html><p>welcome</p></html>";

/// What the client sent first (its request line and headers), waiting at most 500 ms.
async fn read_head(s: &mut tokio::net::TcpStream) -> String {
    let mut buf = [0u8; 8192];
    let n = tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Answers `me` (a request line naming `/me`) with `for_me`, everything else with `other`.
async fn routing_listener(for_me: &'static [u8], other: &'static [u8]) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let head = read_head(&mut s).await;
                let first = head.lines().next().unwrap_or("");
                let answer = if first.contains("/me ") {
                    for_me
                } else {
                    other
                };
                let _ = s.write_all(answer).await;
                let _ = s.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// The probe's verdict on `url`, as the CLI would get it.
async fn probe(url: &str) -> Result<(), String> {
    let profile = profile::Profile::punchplay();
    let http = HttpOptions {
        base: url::Url::parse(url).expect("a URL"),
        timeout: Duration::from_secs(2),
        request_id_header: profile.expect_punchplay().request_id.header.clone(),
    };
    let env = conformance::check::Env::new(
        profile,
        profile::Identities::punchplay(),
        http,
        false,
        conformance::drivers::Driver::Pages,
        false,
    )
    .expect("roles");
    conformance::runner::probe(&env).await
}

/// Answers 200 and then streams a body without end, until the client hangs up. With
/// `probe_ok`, the suite's probe gets a short answer, so the run gets past it.
async fn endless_listener(probe_ok: bool) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let head = read_head(&mut s).await;
                // The preflight's POSTs to token endpoints get JSON too, so the run starts.
                if probe_ok && (head.contains("conformance-probe") || head.starts_with("POST")) {
                    let _ = s.write_all(JSON_404).await;
                    let _ = s.shutdown().await;
                    return;
                }
                if s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let chunk = vec![b'x'; 64 * 1024];
                while s.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_body_is_an_error_after_the_cap_not_a_crash() {
    let url = endless_listener(false).await;
    let http = Http::new(
        Arc::new(HttpOptions {
            base: url::Url::parse(&url).expect("a URL"),
            timeout: Duration::from_secs(20),
            request_id_header: "X-PunchPlay-Request-Id".into(),
        }),
        None,
    )
    .expect("a client");
    let started = Instant::now();
    let got = tokio::time::timeout(Duration::from_secs(15), http.execute(Req::get("/anything")))
        .await
        .expect("the read stops at the cap, long before the request timeout");
    match got {
        Err(Problem::Error { message, support }) => {
            assert!(
                message.contains("larger than 1 MiB"),
                "the message says why: {message}"
            );
            let support = support.expect("support fields");
            assert_eq!(support.status, 200);
            assert_eq!(support.endpoint, "/anything");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(MAX_BODY_BYTES, 1024 * 1024);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_streaming_an_endless_body_exits_2_at_the_probe() {
    let url = endless_listener(false).await;
    // A long per-request timeout: the cap, not the timeout, must end each read.
    let (code, took) = run_with_timeout(&url, "30", &[]).await;
    assert_eq!(code, EXIT_COULD_NOT_RUN);
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_bodies_in_the_middle_of_a_run_are_errors_and_exit_1() {
    let url = endless_listener(true).await;
    let (code, took) = run_with_timeout(&url, "30", &["--concurrency", "4"]).await;
    assert_eq!(code, EXIT_NON_CONFORMANT);
    assert!(took < Duration::from_secs(45), "took {took:?}");
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
async fn a_target_answering_html_for_everything_is_named_at_the_probe_and_exits_2() {
    let url = listener(Some(HTML_200)).await;
    let why = probe(&url).await.expect_err("HTML is not the contract");
    assert!(
        why.contains("does not speak the contract")
            && why.contains("answered 200 text/html")
            && !why.contains('\n'),
        "{why}"
    );
    let (code, took) = run_against(&url, &[]).await;
    assert_eq!(code, EXIT_COULD_NOT_RUN);
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_page_for_unknown_routes_alone_does_not_stop_the_run() {
    // The unknown probe route gets an HTML page, but `me` answers JSON: the target
    // speaks the contract, and PP-API-9 is for the checks to judge.
    let url = routing_listener(JSON_404, HTML_200).await;
    assert_eq!(probe(&url).await, Ok(()));
    let url = routing_listener(HTML_200, JSON_404).await;
    assert_eq!(probe(&url).await, Ok(()));
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
