//! How a flow reaches the target: the [`Transport`] trait (one [`Req`] in, one
//! [`Exchange`] out), and [`HttpTransport`], a plain reqwest transport for callers that
//! record nothing (load's setup, the server's tests). The suite implements the trait on
//! its check context, so every step of a flow lands in the check's transcript.

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::request::{Exchange, Req, ReqBody, recorded_headers};

/// Sends one request and answers one exchange. Never follows redirects: flows read
/// `Location` themselves.
pub trait Transport: Send {
    /// Why no exchange came back (refused, reset, timed out, not HTTP).
    type Error: Send;

    /// Sends `req`; a recording transport records the exchange.
    fn send(&mut self, req: Req) -> impl Future<Output = Result<Exchange, Self::Error>> + Send;

    /// Sends a request that a recording transport leaves unrecorded until
    /// [`Transport::keep`] is called with it: a poll repeated until an answer changes is
    /// one step of a flow, not many.
    fn send_unrecorded(
        &mut self,
        req: Req,
    ) -> impl Future<Output = Result<Exchange, Self::Error>> + Send {
        self.send(req)
    }

    /// Records an exchange sent with [`Transport::send_unrecorded`].
    fn keep(&mut self, _exchange: &Exchange) {}

    /// A value a flow made up or received (a verifier, a code) that a recording
    /// transport keeps out of what it compares.
    fn volatile(&mut self, _value: &str, _kind: &str) {}
}

/// Why [`HttpTransport`] got no exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError(pub String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

/// A plain transport over a reqwest client: no recording, no redirects followed (the
/// client given should be built with `redirect::Policy::none()`).
#[derive(Debug, Clone)]
pub struct HttpTransport {
    client: reqwest::Client,
    base: String,
}

impl HttpTransport {
    /// `base` is the target's base URL (`http://127.0.0.1:8080`); request paths are
    /// appended to it.
    pub fn new(client: reqwest::Client, base: &str) -> HttpTransport {
        HttpTransport {
            client,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    /// A client that follows no redirects and gives up after `timeout`, on the process's
    /// one TLS configuration ([`crate::access::platform_tls`]).
    pub fn client(timeout: Duration) -> Result<reqwest::Client, TransportError> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout);
        match crate::access::platform_tls() {
            Ok(tls) => builder.tls_backend_preconfigured(tls),
            Err(_) => builder,
        }
        .build()
        .map_err(|e| TransportError(format!("could not build the HTTP client: {e}")))
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The absolute URL of a path (which may carry a query string).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn reqwest(&self) -> &reqwest::Client {
        &self.client
    }
}

/// The reqwest request for a [`Req`] against `url`.
pub fn build_request(
    client: &reqwest::Client,
    url: &str,
    req: &Req,
) -> Result<reqwest::RequestBuilder, String> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes())
        .map_err(|e| format!("bad method {}: {e}", req.method))?;
    let mut rb = client.request(method, url);
    for (k, v) in &req.headers {
        rb = rb.header(k, v);
    }
    if let Some(t) = req.timeout {
        rb = rb.timeout(t);
    }
    Ok(match &req.body {
        ReqBody::None => rb,
        ReqBody::Form(pairs) => rb.form(pairs),
        ReqBody::Json(v) => rb.json(v),
        ReqBody::Raw { content_type, text } => {
            rb.header("content-type", content_type).body(text.clone())
        }
    })
}

impl Transport for HttpTransport {
    type Error = TransportError;

    async fn send(&mut self, req: Req) -> Result<Exchange, TransportError> {
        let url = self.url(&req.path);
        let rb = build_request(&self.client, &url, &req).map_err(TransportError)?;
        let at = Utc::now();
        let started = Instant::now();
        let what =
            |e: reqwest::Error| TransportError(format!("{} {}: {e}", req.method, req.route()));
        let resp = rb.send().await.map_err(what)?;
        let status = resp.status().as_u16();
        let headers = recorded_headers(resp.headers());
        let body = resp.bytes().await.map_err(what)?;
        Ok(Exchange {
            at,
            elapsed: started.elapsed(),
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            req,
        })
    }
}
