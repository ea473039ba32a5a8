//! A gateway in front of a target, for tests: what an ordinary API gateway or reverse proxy
//! may do to a conformant server's answers without making it wrong. It adds headers the
//! contract does not name (`Server`, `Via`, CORS), may write header names in another case,
//! may add an extension member to every JSON object (RFC 6749 §5.1 allows them), and may
//! hold each request for a while, as any real network does.
//!
//! It forwards the client's address in `X-Forwarded-For` (start the upstream with
//! `trust_proxy`, PP-RATE-4) and keeps the `Host` the client sent, so absolute URLs the
//! upstream builds point at the gateway. Bodies of server-sent events stream through
//! untouched; JSON bodies are rewritten whole.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::Rng as _;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// What the gateway does to the traffic it forwards.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// Headers added to every response.
    pub extra_headers: Vec<(String, String)>,
    /// Write response header names in Title-Case (`Content-Type`), as some proxies do.
    pub title_case_headers: bool,
    /// A member added to every JSON object of a JSON response body, nested ones included.
    pub extension_member: Option<(String, Value)>,
    /// Each request waits a random time in this range before it is forwarded.
    pub latency: Option<Range<Duration>>,
}

impl GatewayOptions {
    /// Everything an ordinary gateway adds: its own headers, Title-Case names and an
    /// extension member, with no added latency.
    pub fn ordinary() -> GatewayOptions {
        GatewayOptions {
            extra_headers: vec![
                ("server".into(), "gateway/1.0".into()),
                ("via".into(), "1.1 gateway".into()),
                ("access-control-allow-origin".into(), "*".into()),
                ("x-gateway-trace".into(), "abc123".into()),
            ],
            title_case_headers: true,
            extension_member: Some(("x_gateway".into(), Value::String("edge-1".into()))),
            latency: None,
        }
    }

    /// A network where every request takes `range` longer.
    pub fn slow(range: Range<Duration>) -> GatewayOptions {
        GatewayOptions {
            latency: Some(range),
            ..GatewayOptions::default()
        }
    }
}

/// A running gateway; dropping it stops accepting.
pub struct Gateway {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl Gateway {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

type Body = BoxBody<Bytes, Infallible>;

struct Shared {
    upstream: String,
    client: reqwest::Client,
    options: GatewayOptions,
}

/// Starts a gateway on `127.0.0.1:0` in front of `upstream` (`http://127.0.0.1:PORT`).
pub async fn start(upstream: &str, options: GatewayOptions) -> Gateway {
    start_on(bind().await, upstream, options)
}

/// A reference server with `config` behind a gateway doing `options`: test controls on,
/// the gateway's `X-Forwarded-For` trusted (PP-RATE-4) and the gateway's URL as the
/// server's public URL, since the gateway keeps the client's `Host`.
pub async fn reference_behind(
    config: reference_server::ServerConfig,
    options: GatewayOptions,
) -> (reference_server::RunningServer, Gateway) {
    let listener = bind().await;
    let server = reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        trust_proxy: true,
        public_url: Some(url_of(&listener)),
        ..config
    })
    .await
    .expect("the reference server starts");
    let gateway = start_on(listener, &server.base_url(), options);
    (server, gateway)
}

/// The gateway's listening socket, bound before its upstream starts, so the upstream can
/// be given the gateway's URL as its public URL (the reference server refuses a `Host`
/// that names another port unless started with `--public-url`).
pub async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("the gateway binds a loopback port")
}

/// `http://ADDR` of a bound gateway socket.
pub fn url_of(listener: &TcpListener) -> url::Url {
    let addr = listener.local_addr().expect("a bound address");
    url::Url::parse(&format!("http://{addr}")).expect("a URL")
}

/// Starts a gateway on `listener` (from [`bind`]) in front of `upstream`.
pub fn start_on(listener: TcpListener, upstream: &str, options: GatewayOptions) -> Gateway {
    let addr = listener.local_addr().expect("a bound address");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let shared = Arc::new(Shared {
        upstream: upstream.trim_end_matches('/').to_owned(),
        client,
        options,
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
                let title_case = shared.options.title_case_headers;
                let service = hyper::service::service_fn(move |req| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(forward(&shared, req, peer).await) }
                });
                let mut http = hyper::server::conn::http1::Builder::new();
                if title_case {
                    http.title_case_headers(true);
                }
                let _ = http.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Gateway { addr, _stop: stop }
}

async fn forward(shared: &Shared, req: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    if let Some(range) = &shared.options.latency {
        let wait = if range.is_empty() {
            range.start
        } else {
            rand::rng().random_range(range.clone())
        };
        tokio::time::sleep(wait).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return plain(
            StatusCode::BAD_GATEWAY,
            "the client's body could not be read",
        );
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = shared
        .client
        .request(parts.method.clone(), format!("{}{path}", shared.upstream));
    let mut forwarded_for = None;
    for (name, value) in &parts.headers {
        if name == HOST || name == CONTENT_LENGTH || is_hop_by_hop(name) {
            continue;
        }
        if name.as_str() == "x-forwarded-for" {
            forwarded_for = value.to_str().ok().map(str::to_owned);
            continue;
        }
        upstream = upstream.header(name, value);
    }
    if let Some(host) = parts.headers.get(HOST) {
        upstream = upstream.header(HOST, host);
    }
    let xff = match forwarded_for {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    upstream = upstream.header("x-forwarded-for", xff).body(body);
    let mut answer = match upstream.send().await {
        Ok(a) => a,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, &format!("upstream: {e}")),
    };
    let mut res = Response::builder().status(answer.status());
    let is_json = header_is(answer.headers(), "application/json");
    let is_stream = header_is(answer.headers(), "text/event-stream");
    for (name, value) in answer.headers() {
        if name == CONTENT_LENGTH || is_hop_by_hop(name) {
            continue;
        }
        res = res.header(name, value);
    }
    for (name, value) in &shared.options.extra_headers {
        res = res.header(name.as_str(), value.as_str());
    }
    let body: Body = if is_stream {
        // Server-sent events: pass each chunk on as it arrives.
        let (tx, rx) = mpsc::channel::<Bytes>(16);
        tokio::spawn(async move {
            while let Ok(Some(chunk)) = answer.chunk().await {
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
        BodyExt::boxed(StreamBody::new(frames))
    } else {
        let Ok(bytes) = answer.bytes().await else {
            return plain(
                StatusCode::BAD_GATEWAY,
                "the upstream body could not be read",
            );
        };
        let bytes = match (&shared.options.extension_member, is_json) {
            (Some((key, value)), true) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut json) => {
                    add_member(&mut json, key, value);
                    Bytes::from(serde_json::to_vec(&json).unwrap_or_default())
                }
                Err(_) => bytes,
            },
            _ => bytes,
        };
        BodyExt::boxed(Full::new(bytes))
    };
    res.body(body)
        .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "the upstream answer was not valid"))
}

fn header_is(headers: &reqwest::header::HeaderMap, media_type: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with(media_type))
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade"
    )
}

/// Adds `key: value` to every object in `json` that does not have `key` already.
fn add_member(json: &mut Value, key: &str, value: &Value) {
    match json {
        Value::Object(map) => {
            for v in map.values_mut() {
                add_member(v, key, value);
            }
            map.entry(key.to_owned()).or_insert_with(|| value.clone());
        }
        Value::Array(items) => items.iter_mut().for_each(|v| add_member(v, key, value)),
        _ => {}
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut res = Response::new(BodyExt::boxed(Full::new(Bytes::from(text.to_owned()))));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    res
}
