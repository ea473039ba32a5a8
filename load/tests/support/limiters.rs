//! Small HTTP servers with rate limiters written for the tests, the way other people
//! write them (not the reference server's): a sliding log, a refilling token bucket
//! (nginx `limit_req ... burst nodelay`), a fixed window starting at a key's first
//! request (express-rate-limit), an off-by-one log, one keyed on `X-Forwarded-For`, one
//! that answers its refusals late, and one that never answers the limited path (or
//! anything).
//!
//! Each serves the profile's limited path and answers a refusal with the profile's 429
//! envelope (`rate_limited`, message, request id in the body and its header); `GET /`
//! answers 404 at once, so the target is reachable. Keys are the TCP peer address.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use profile::Profile;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

/// How a limiter decides, for `max` per `window`.
#[derive(Debug, Clone, Copy)]
pub enum Limiter {
    /// PP-RATE-3 exactly: a log of admission times per key.
    SlidingLog,
    /// A sliding log that admits one more than the limit.
    OffByOne,
    /// A sliding log keyed on the `X-Forwarded-For` header instead of the peer.
    ByForwardedFor,
    /// A token bucket of `max` tokens refilled at `max / window` per second, answering
    /// `Retry-After: 1` (nginx's `rate=10r/s burst=59 nodelay` for 60 per 6 s).
    RefillingBucket,
    /// `max` per window, the window starting at a key's first request after the last
    /// one ended (express-rate-limit).
    FixedFromFirstRequest,
}

/// What the server does besides deciding.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    pub limiter: Limiter,
    /// How long each refusal is held before it is sent (decided on arrival).
    pub refusal_delay: Duration,
    /// Never answer the limited path.
    pub hang: bool,
    /// Never answer anything.
    pub hang_all: bool,
}

impl Behaviour {
    pub fn of(limiter: Limiter) -> Behaviour {
        Behaviour {
            limiter,
            refusal_delay: Duration::ZERO,
            hang: false,
            hang_all: false,
        }
    }
}

#[derive(Debug)]
enum KeyState {
    Log(std::collections::VecDeque<Instant>),
    Bucket { tokens: f64, at: Instant },
    Fixed { began: Instant, admitted: u32 },
}

struct Shared {
    profile: Profile,
    prefix: String,
    max: u32,
    window: Duration,
    behaviour: Behaviour,
    keys: Mutex<HashMap<String, KeyState>>,
    ids: AtomicU64,
}

/// A running test server; stops accepting when dropped.
pub struct Served {
    pub base: String,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Serves `limit` of `profile` (its path, max and window) on 127.0.0.1.
pub async fn serve(profile: &Profile, limit: &str, behaviour: Behaviour) -> Served {
    let limit = profile
        .rate_limit(limit)
        .expect("the profile has the limit");
    let template = profile.path(limit.endpoint().expect("an endpoint limit"));
    let prefix = template.split('{').next().unwrap_or(template).to_owned();
    let shared = Arc::new(Shared {
        profile: profile.clone(),
        prefix,
        max: limit.max,
        window: Duration::from_secs(limit.window_secs),
        behaviour,
        keys: Mutex::new(HashMap::new()),
        ids: AtomicU64::new(1),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let accept = tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let shared = Arc::clone(&shared);
                    async move { Ok::<_, Infallible>(shared.answer(request, peer.ip()).await) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Served { base, accept }
}

impl Shared {
    async fn answer(&self, request: Request<Incoming>, peer: IpAddr) -> Response<Full<Bytes>> {
        if self.behaviour.hang_all {
            std::future::pending::<()>().await;
        }
        if !request.uri().path().starts_with(&self.prefix) {
            return json(404, r#"{"error":"not_found"}"#.into());
        }
        if self.behaviour.hang {
            std::future::pending::<()>().await;
        }
        let key = match self.behaviour.limiter {
            Limiter::ByForwardedFor => request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_owned(),
            _ => peer.to_string(),
        };
        match self.decide(&key).await {
            None => json(200, r#"{"username":"alice"}"#.into()),
            Some(retry_after) => {
                tokio::time::sleep(self.behaviour.refusal_delay).await;
                self.refusal(retry_after)
            }
        }
    }

    /// `None` when admitted; else the Retry-After in seconds.
    async fn decide(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let (max, window) = (self.max, self.window);
        let mut keys = self.keys.lock().await;
        let state = keys
            .entry(key.to_owned())
            .or_insert_with(|| match self.behaviour.limiter {
                Limiter::RefillingBucket => KeyState::Bucket {
                    tokens: f64::from(max),
                    at: now,
                },
                Limiter::FixedFromFirstRequest => KeyState::Fixed {
                    began: now,
                    admitted: 0,
                },
                _ => KeyState::Log(Default::default()),
            });
        let ceil_secs = |d: Duration| d.as_secs_f64().ceil().max(1.0) as u64;
        match state {
            KeyState::Log(log) => {
                let room = match self.behaviour.limiter {
                    Limiter::OffByOne => max + 1,
                    _ => max,
                } as usize;
                while log
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    log.pop_front();
                }
                if log.len() < room {
                    log.push_back(now);
                    None
                } else {
                    Some(ceil_secs(window - now.duration_since(log[0])))
                }
            }
            KeyState::Bucket { tokens, at } => {
                let rate = f64::from(max) / window.as_secs_f64();
                *tokens =
                    (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(f64::from(max));
                *at = now;
                if *tokens >= 1.0 {
                    *tokens -= 1.0;
                    None
                } else {
                    Some(1)
                }
            }
            KeyState::Fixed { began, admitted } => {
                if now.duration_since(*began) >= window {
                    *began = now;
                    *admitted = 0;
                }
                if *admitted < max {
                    *admitted += 1;
                    None
                } else {
                    Some(ceil_secs(window - now.duration_since(*began)))
                }
            }
        }
    }

    fn refusal(&self, retry_after: u64) -> Response<Full<Bytes>> {
        let format = &self.profile.expect_punchplay().request_id;
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}{:0width$x}", format.prefix, n, width = format.hex_len);
        let body = serde_json::json!({
            "error": "rate_limited",
            "message": "Too many requests.",
            "request_id": id,
        });
        let mut response = json(self.profile.status_of("rate_limited"), body.to_string());
        let headers = response.headers_mut();
        headers.insert("retry-after", retry_after.into());
        headers.insert(
            hyper::header::HeaderName::from_bytes(format.header.as_bytes()).expect("a header name"),
            id.parse().expect("a header value"),
        );
        response
    }
}

fn json(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("a status");
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().expect("a value"));
    response
}
