//! A rewriting proxy in front of a reference server, for the in-test variants of
//! `tests/rfc_variants.rs` (issue 18 items 8 and 9): a deployment that answers the way an
//! RFC allows but the reference server does not (a 303, `bearer` in lower case, another
//! realm, an error in the fragment), or that has one of the blind spots the suite must
//! catch. A [`Rewrite`] sees each request before it is forwarded (and may answer in the
//! upstream's place, or send requests of its own first) and each answer before it goes
//! back. Unlike `gateway.rs`, which does only what any gateway may do, a rewrite changes
//! what the deployment says; `gateway.rs` is left as the tests that use it rely on.
//!
//! It forwards the client's address in `X-Forwarded-For` and keeps `Host`, as the gateway
//! does, so a reference server started by [`reference_behind`] builds its URLs on the
//! proxy's address. Event streams pass through as they come.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// A request as the client sent it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: Method,
    /// The path and query.
    pub target: String,
    /// Lower-case names, as sent.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Sent {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("/")
    }

    pub fn query(&self) -> Vec<(String, String)> {
        let q = self.target.split_once('?').map_or("", |(_, q)| q);
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    }

    pub fn query_value(&self, name: &str) -> Option<String> {
        self.query()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Replaces the query with `pairs`.
    pub fn set_query(&mut self, pairs: &[(String, String)]) {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.target = format!("{}?{q}", self.path());
    }

    /// The form fields of the body.
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    pub fn form_value(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The same request with another form body (content length follows).
    pub fn with_form(&self, pairs: &[(&str, &str)]) -> Sent {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        Sent {
            body: Bytes::from(body),
            ..self.clone()
        }
    }
}

/// An answer on its way back to the client.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Answer {
    pub fn new(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name` to `value`, replacing every earlier value.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.headers.retain(|(k, _)| k != name);
        self.headers.push((name.to_owned(), value.to_owned()));
    }

    /// Rewrites each value of `name` with `f`.
    pub fn map_header(&mut self, name: &str, f: impl Fn(&str) -> String) {
        for (k, v) in &mut self.headers {
            if k == name {
                *v = f(v);
            }
        }
    }

    pub fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|v| v.trim_start().starts_with("application/json"))
    }

    pub fn json(&self) -> Option<Value> {
        self.is_json()
            .then(|| serde_json::from_slice(&self.body).ok())
            .flatten()
    }

    pub fn set_json(&mut self, json: &Value) {
        self.body = Bytes::from(json.to_string());
        self.set_header("content-type", "application/json");
    }

    pub fn set_text(&mut self, content_type: &str, text: &str) {
        self.body = Bytes::from(text.to_owned());
        self.set_header("content-type", content_type);
    }
}

/// What to do with a request.
pub enum Step {
    /// Forward it (as the hook left it).
    Forward,
    /// Answer this instead; the upstream never sees the request.
    Reply(Answer),
    /// Send these to the upstream first (their answers are dropped), then forward it.
    SendFirst(Vec<Sent>),
}

/// What a variant changes: requests on their way in, answers on their way out.
pub trait Rewrite: Send + Sync + 'static {
    fn request(&self, _sent: &mut Sent) -> Step {
        Step::Forward
    }

    fn answer(&self, _sent: &Sent, _answer: &mut Answer) {}
}

/// A running proxy; dropping it stops accepting.
pub struct Proxy {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl Proxy {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

type Body = BoxBody<Bytes, Infallible>;

struct Shared {
    upstream: String,
    client: reqwest::Client,
    rewrite: Arc<dyn Rewrite>,
}

/// A reference server with `config` (test controls on, the proxy's `X-Forwarded-For`
/// trusted, the proxy's URL as its public URL) behind a proxy doing `rewrite`. `config`
/// gets the proxy's URL first, so identities may name it (redirect URIs on the server's
/// own origin).
pub async fn reference_behind(
    config: impl FnOnce(&url::Url) -> reference_server::ServerConfig,
    rewrite: impl Rewrite,
) -> (reference_server::RunningServer, Proxy) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the proxy binds a loopback port");
    let public = url::Url::parse(&format!(
        "http://{}",
        listener.local_addr().expect("an address")
    ))
    .expect("a URL");
    let server = reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        trust_proxy: true,
        public_url: Some(public.clone()),
        ..config(&public)
    })
    .await
    .expect("the reference server starts");
    let proxy = start_on(listener, &server.base_url(), Arc::new(rewrite));
    (server, proxy)
}

fn start_on(listener: TcpListener, upstream: &str, rewrite: Arc<dyn Rewrite>) -> Proxy {
    let addr = listener.local_addr().expect("a bound address");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let shared = Arc::new(Shared {
        upstream: upstream.trim_end_matches('/').to_owned(),
        client,
        rewrite,
    });
    let (stop, mut stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut stopped => return,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(_) => continue,
                },
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(forward(&shared, req, peer).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Proxy { addr, _stop: stop }
}

fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade"
    )
}

/// Sends `sent` to the upstream as the client's (its address in `X-Forwarded-For`).
async fn send(shared: &Shared, sent: &Sent, peer: SocketAddr) -> Result<reqwest::Response, String> {
    let mut req = shared.client.request(
        sent.method.clone(),
        format!("{}{}", shared.upstream, sent.target),
    );
    for (name, value) in &sent.headers {
        if name != "content-length" && name != "x-forwarded-for" && !is_hop_by_hop(name) {
            req = req.header(name, value);
        }
    }
    req.header("x-forwarded-for", peer.ip().to_string())
        .body(sent.body.clone())
        .send()
        .await
        .map_err(|e| format!("upstream: {e}"))
}

async fn forward(shared: &Shared, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return reply(plain(502, "the client's body could not be read"));
    };
    let mut sent = Sent {
        method: parts.method.clone(),
        target: parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body,
    };
    match shared.rewrite.request(&mut sent) {
        Step::Reply(answer) => return reply(answer),
        Step::SendFirst(first) => {
            for extra in &first {
                let _ = send(shared, extra, peer).await;
            }
        }
        Step::Forward => {}
    }
    let upstream = match send(shared, &sent, peer).await {
        Ok(a) => a,
        Err(e) => return reply(plain(502, &e)),
    };
    let status = upstream.status().as_u16();
    let headers: Vec<(String, String)> = upstream
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "content-length" && !is_hop_by_hop(k.as_str()))
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let streaming = headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("text/event-stream"));
    if streaming {
        return stream_through(status, &headers, upstream);
    }
    let Ok(bytes) = upstream.bytes().await else {
        return reply(plain(502, "the upstream body could not be read"));
    };
    let mut answer = Answer {
        status,
        headers,
        body: bytes,
    };
    shared.rewrite.answer(&sent, &mut answer);
    reply(answer)
}

/// Server-sent events: each chunk on as it arrives, untouched.
fn stream_through(
    status: u16,
    headers: &[(String, String)],
    mut upstream: reqwest::Response,
) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        while let Ok(Some(chunk)) = upstream.chunk().await {
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(Frame::data(chunk)), rx))
    });
    let mut res = Response::builder().status(status);
    for (k, v) in headers {
        res = res.header(k, v);
    }
    res.body(BodyExt::boxed(StreamBody::new(frames)))
        .unwrap_or_else(|_| reply(plain(502, "the upstream answer was not valid")))
}

fn reply(answer: Answer) -> Response<Body> {
    let mut res = Response::builder().status(answer.status);
    for (k, v) in &answer.headers {
        res = res.header(k, v);
    }
    res.body(BodyExt::boxed(Full::new(answer.body)))
        .unwrap_or_else(|_| {
            let mut r = Response::new(BodyExt::boxed(Full::new(Bytes::from_static(b"bad answer"))));
            *r.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            r
        })
}

pub fn plain(status: u16, text: &str) -> Answer {
    let mut a = Answer::new(status);
    a.set_text("text/plain", text);
    a
}
