//! Over-admission fails the MUST clause wherever it is seen (issue 10 item 8), proved
//! against two small limiters written for this test in front of the public-user endpoint
//! of a profile copy with a 6 s window:
//!
//! - nginx's leaky bucket (`limit_req zone=... rate=10r/s burst=59 nodelay`): 60 admitted
//!   at once, the 61st refused, then one more every 100 ms, 118 in 5.9 s. Conformant to
//!   nothing in PP-RATE-1: the suite is NOT conformant at `--level must`.
//! - an exact sliding window (PP-RATE-3): every rate check passes, also behind a gateway
//!   that holds each request 20 to 50 ms, so the watch never mistakes latency for an
//!   extra admission.

mod support;

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use conformance::drivers::Driver;
use conformance::runner::{self, RunReport, Status};
use conformance::snapshot::SnapshotMode;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use profile::{Level, Profile};
use support::gateway::{self, GatewayOptions};
use support::suite;
use tokio::net::TcpListener;

const WINDOW: Duration = Duration::from_secs(6);
const MAX: usize = 60;

/// The limiting rule of a test server, per client address.
#[derive(Clone, Copy)]
enum Limiter {
    /// nginx `limit_req`: a bucket draining `rate` requests a second that holds up to
    /// `burst` excess requests, served at once (`nodelay`).
    LeakyBucket { rate: f64, burst: f64 },
    /// PP-RATE-3: at most `MAX` admitted in any interval of `WINDOW`; refusals do not count.
    SlidingWindow,
}

#[derive(Default)]
struct Key {
    excess: f64,
    last: Option<Instant>,
    admitted: VecDeque<Instant>,
}

impl Limiter {
    /// Admits a request now, or answers the seconds to wait.
    fn admit(self, key: &mut Key, now: Instant) -> Result<(), u64> {
        match self {
            Limiter::LeakyBucket { rate, burst } => {
                let drained = key
                    .last
                    .map_or(0.0, |t| now.duration_since(t).as_secs_f64() * rate);
                let excess = (key.excess - drained).max(0.0);
                key.last = Some(now);
                if excess + 1.0 > burst + 1.0 {
                    key.excess = excess;
                    // nginx sends no Retry-After; a time until one more drains is fair.
                    return Err(1);
                }
                key.excess = excess + 1.0;
                Ok(())
            }
            Limiter::SlidingWindow => {
                while key
                    .admitted
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= WINDOW)
                {
                    key.admitted.pop_front();
                }
                if key.admitted.len() >= MAX {
                    let oldest = key.admitted[0];
                    let left = (oldest + WINDOW).duration_since(now).as_secs_f64();
                    return Err((left.ceil() as u64).max(1));
                }
                key.admitted.push_back(now);
                Ok(())
            }
        }
    }
}

fn request_id() -> String {
    format!("ppreq_{:020x}", rand::random::<u128>() >> 48)
}

fn json(status: StatusCode, body: serde_json::Value, rid: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-punchplay-request-id", rid)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response")
}

/// The public-user endpoint behind `limiter`, keyed by the client address (the last
/// `X-Forwarded-For` entry when a gateway sends one, as a trusted proxy's would be).
fn answer(
    limiter: Limiter,
    keys: &Mutex<HashMap<IpAddr, Key>>,
    req: &Request<hyper::body::Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let rid = request_id();
    let Some(username) = req.uri().path().strip_prefix("/api/public/v1/users/") else {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "not_found", "message": "No such route.", "request_id": rid}),
            &rid,
        );
    };
    let client = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(peer.ip());
    let verdict = {
        let mut keys = keys.lock().expect("the key table");
        limiter.admit(keys.entry(client).or_default(), Instant::now())
    };
    match verdict {
        Ok(()) => json(
            StatusCode::OK,
            serde_json::json!({"username": username, "display_name": "Someone"}),
            &rid,
        ),
        Err(retry_after) => {
            let mut r = json(
                StatusCode::TOO_MANY_REQUESTS,
                serde_json::json!({"error": "rate_limited", "message": "Too many requests.", "request_id": rid}),
                &rid,
            );
            r.headers_mut().insert(
                "retry-after",
                retry_after.to_string().parse().expect("digits"),
            );
            r
        }
    }
}

/// Starts a test server on 127.0.0.1; answers its base URL.
async fn start(limiter: Limiter) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("an address");
    let keys = Arc::new(Mutex::new(HashMap::new()));
    tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let keys = keys.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let r = answer(limiter, &keys, &req, peer);
                    async move { Ok::<_, Infallible>(r) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

fn six_second_profile() -> Profile {
    let mut p = Profile::punchplay();
    for l in &mut p.rate_limits {
        if l.name == "public-user" {
            l.max = MAX as u32;
            l.window_secs = WINDOW.as_secs();
        }
    }
    p
}

/// The public-user rate checks against `base`, gated at every level.
async fn public_user_checks(base: &str, allow_slow: bool) -> RunReport {
    let profile = six_second_profile();
    let env = suite::env(base, &profile, false, Driver::Pages, allow_slow);
    let checks = conformance::checks::all(&profile)
        .into_iter()
        .filter(|c| c.id.starts_with("PP-RATE-") && c.id.contains("/public-user-"))
        .collect();
    let opts = suite::options(SnapshotMode::Off, 30);
    let mut report = runner::run(env, checks, opts, |_| {}).await;
    report.gate = vec![Level::Must];
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_nginx_limit_req_with_burst_the_suite_is_not_conformant_at_must() {
    let base = start(Limiter::LeakyBucket {
        rate: 10.0,
        burst: 59.0,
    })
    .await;
    let report = public_user_checks(&base, false).await;
    assert!(
        !report.conformant(),
        "{:#?}",
        suite::outcomes(&report, false)
    );
    let count = report
        .checks
        .iter()
        .find(|c| c.id == "PP-RATE-1/public-user-admits-the-documented-number")
        .expect("the count check ran");
    assert_eq!(
        count.status,
        Status::Fail,
        "{:#?}",
        suite::outcomes(&report, false)
    );
    assert_eq!(count.level, Level::Must);
    assert_eq!(count.clause, "PP-RATE-1");
    let message = count.message.as_deref().unwrap_or_default();
    assert!(
        message.starts_with("PP-RATE-1: the `public-user` limit admitted")
            && message.contains("the profile allows 60 per 6 s"),
        "{message}"
    );
    assert_eq!(count.support.as_ref().map(|s| s.status), Some(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exact_sliding_window_passes_every_public_user_rate_check() {
    let base = start(Limiter::SlidingWindow).await;
    let report = public_user_checks(&base, true).await;
    assert!(
        report.checks.iter().all(|c| c.status == Status::Pass),
        "{:#?}",
        suite::outcomes(&report, false)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exact_sliding_window_behind_a_slow_gateway_still_passes() {
    let base = start(Limiter::SlidingWindow).await;
    let gw = gateway::start(
        &base,
        GatewayOptions::slow(Duration::from_millis(20)..Duration::from_millis(50)),
    )
    .await;
    let report = public_user_checks(&gw.base_url(), true).await;
    assert!(
        report.checks.iter().all(|c| c.status == Status::Pass),
        "{:#?}",
        suite::outcomes(&report, false)
    );
}
