//! The one HTTP client wrapper of the suite. It sends requests to the target, never
//! follows redirects, and hands back every exchange so that a check's [`Transcript`] can
//! record it. It owns transport concerns (timeouts, the source address, the cookie jar);
//! it must not judge responses: that is the checks' job.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use reqwest::cookie::Jar;
use serde_json::Value;
use url::Url;

use crate::outcome::{Problem, Support};

/// A request body as the suite builds it, kept structured so transcripts can show it.
#[derive(Debug, Clone)]
pub enum ReqBody {
    None,
    Form(Vec<(String, String)>),
    Json(Value),
    /// Bytes sent as-is with the given content type (malformed-body checks).
    Raw {
        content_type: String,
        text: String,
    },
}

/// A request under construction. Paths are relative to the target's base URL.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: ReqBody,
    /// The client this request acts for, for support fields.
    pub client_id: Option<String>,
    /// Approval-driver and test-control traffic: kept out of snapshots.
    pub driver: bool,
    pub timeout: Option<Duration>,
    /// Form fields copied from the page's own hidden inputs (a CSRF token, say): sent
    /// as a browser sends them, left out of transcripts, since they are the page's
    /// business and not the contract's.
    pub page_fields: Vec<String>,
}

impl Req {
    pub fn new(method: &str, path: impl Into<String>) -> Req {
        Req {
            method: method.to_owned(),
            path: path.into(),
            headers: Vec::new(),
            body: ReqBody::None,
            client_id: None,
            driver: false,
            timeout: None,
            page_fields: Vec::new(),
        }
    }
    pub fn get(path: impl Into<String>) -> Req {
        Req::new("GET", path)
    }
    pub fn post(path: impl Into<String>) -> Req {
        Req::new("POST", path)
    }
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Req {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }
    pub fn bearer(self, token: &str) -> Req {
        self.header("authorization", format!("Bearer {token}"))
    }
    pub fn basic(self, user: &str, password: &str) -> Req {
        let raw = format!("{user}:{password}");
        let enc = base64::engine::general_purpose::STANDARD.encode(raw);
        self.header("authorization", format!("Basic {enc}"))
    }
    pub fn form<K: Into<String>, V: Into<String>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Req {
        let pairs: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        if self.client_id.is_none() {
            self.client_id = pairs
                .iter()
                .find(|(k, _)| k == "client_id")
                .map(|(_, v)| v.clone());
        }
        self.body = ReqBody::Form(pairs);
        self
    }
    /// A page's form as a browser submits it: the form's hidden inputs (see
    /// [`crate::drivers::hidden_inputs`]) that `fields` does not fill, then `fields`.
    /// Without hidden inputs and fields, no body at all (a button-only form).
    pub fn page_form<K: Into<String>, V: Into<String>>(
        self,
        hidden: Vec<(String, String)>,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Req {
        let fields: Vec<(String, String)> = fields
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        let hidden: Vec<(String, String)> = hidden
            .into_iter()
            .filter(|(k, _)| !fields.iter().any(|(f, _)| f == k))
            .collect();
        if hidden.is_empty() && fields.is_empty() {
            return self;
        }
        let names = hidden.iter().map(|(k, _)| k.clone()).collect();
        let mut req = self.form(hidden.into_iter().chain(fields));
        req.page_fields = names;
        req
    }
    pub fn json(mut self, value: Value) -> Req {
        if self.client_id.is_none() {
            self.client_id = value
                .get("client_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
        }
        self.body = ReqBody::Json(value);
        self
    }
    pub fn raw(mut self, content_type: &str, text: impl Into<String>) -> Req {
        self.body = ReqBody::Raw {
            content_type: content_type.to_owned(),
            text: text.into(),
        };
        self
    }
    pub fn client(mut self, client_id: &str) -> Req {
        self.client_id = Some(client_id.to_owned());
        self
    }
    pub fn driver(mut self) -> Req {
        self.driver = true;
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> Req {
        self.timeout = Some(timeout);
        self
    }
    /// The path without its query string.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or(&self.path)
    }
}

/// One request and its response, as sent and received.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub req: Req,
    pub at: DateTime<Utc>,
    pub elapsed: Duration,
    pub status: u16,
    /// Lower-case names, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Exchange {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response handed to a check: the exchange plus conveniences. Every assertion failure
/// built from it carries its support fields (seed 000).
#[derive(Debug, Clone)]
pub struct Resp {
    pub ex: Arc<Exchange>,
    pub request_id_header: String,
}

impl Resp {
    pub fn status(&self) -> u16 {
        self.ex.status
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.ex.header(name)
    }
    pub fn body(&self) -> &str {
        &self.ex.body
    }
    /// The body as JSON, or a failure saying it is not JSON.
    pub fn json(&self) -> Result<Value, Problem> {
        serde_json::from_str(&self.ex.body).map_err(|e| {
            self.fail(format!(
                "the response body is not JSON ({e}); content-type {:?}",
                self.header("content-type").unwrap_or("none")
            ))
        })
    }
    /// The `error` member of a JSON body, if any.
    pub fn error_code(&self) -> Option<String> {
        serde_json::from_str::<Value>(&self.ex.body)
            .ok()?
            .get("error")?
            .as_str()
            .map(str::to_owned)
    }
    pub fn support(&self) -> Support {
        Support::from_exchange(&self.ex, &self.request_id_header)
    }
    /// A failure of the target, pinned to this response.
    pub fn fail(&self, message: impl Into<String>) -> Problem {
        Problem::fail_at(message, self.support())
    }
    /// `Location` parsed as a URL.
    pub fn location(&self) -> Result<Url, Problem> {
        let loc = self.header("location").ok_or_else(|| {
            self.fail(format!(
                "expected a redirect with Location, got status {} without one",
                self.status()
            ))
        })?;
        Url::parse(loc)
            .map_err(|e| self.fail(format!("Location {loc:?} is not an absolute URL: {e}")))
    }
}

/// Transport settings shared by every client of a run.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub base: Url,
    pub timeout: Duration,
    pub request_id_header: String,
}

/// A client for one check: its own cookie jar and, against a loopback target, its own
/// source address, so that IP-keyed limits (PP-RATE-4) of one check do not touch another.
#[derive(Clone)]
pub struct Http {
    opts: Arc<HttpOptions>,
    inner: reqwest::Client,
    pub source: Option<IpAddr>,
}

impl Http {
    pub fn new(opts: Arc<HttpOptions>, source: Option<IpAddr>) -> Result<Http, Problem> {
        let jar = Arc::new(Jar::default());
        let inner = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar)
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            .local_address(source)
            .pool_max_idle_per_host(4)
            .build()
            .map_err(|e| Problem::error(format!("could not build the HTTP client: {e}")))?;
        Ok(Http {
            opts,
            inner,
            source,
        })
    }

    pub fn base(&self) -> &Url {
        &self.opts.base
    }

    pub fn request_id_header(&self) -> &str {
        &self.opts.request_id_header
    }

    /// The absolute URL of a path (which may carry a query string).
    pub fn url(&self, path: &str) -> String {
        let base = self.opts.base.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    /// Sends a request. Transport failures (refused, reset, timed out, not HTTP) become
    /// [`Problem::Error`] with a sentence saying what happened.
    pub async fn execute(&self, req: Req) -> Result<Exchange, Problem> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| Problem::error(format!("bad method {}: {e}", req.method)))?;
        let url = self.url(&req.path);
        let mut rb = self.inner.request(method, &url);
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        if let Some(t) = req.timeout {
            rb = rb.timeout(t);
        }
        rb = match &req.body {
            ReqBody::None => rb,
            ReqBody::Form(pairs) => rb.form(pairs),
            ReqBody::Json(v) => rb.json(v),
            ReqBody::Raw { content_type, text } => {
                rb.header("content-type", content_type).body(text.clone())
            }
        };
        let at = Utc::now();
        let started = Instant::now();
        let resp = rb
            .send()
            .await
            .map_err(|e| transport_error(&req, &url, &e, self.opts.timeout))?;
        let status = resp.status().as_u16();
        let headers = recorded_headers(resp.headers());
        let bytes = read_capped(resp, &req, &url, &self.opts).await?;
        Ok(Exchange {
            req,
            at,
            elapsed: started.elapsed(),
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }

    /// Opens a streaming response (server-sent events); the caller reads chunks.
    pub async fn open_stream(
        &self,
        req: &Req,
    ) -> Result<(DateTime<Utc>, reqwest::Response), Problem> {
        let url = self.url(&req.path);
        let mut rb = self.inner.get(&url).timeout(Duration::from_secs(3600));
        for (k, v) in &req.headers {
            rb = rb.header(k, v);
        }
        let at = Utc::now();
        let resp = tokio::time::timeout(self.opts.timeout, rb.send())
            .await
            .map_err(|_| {
                Problem::error(format!(
                    "GET {} did not answer within {:?}",
                    req.path, self.opts.timeout
                ))
            })?
            .map_err(|e| transport_error(req, &url, &e, self.opts.timeout))?;
        Ok((at, resp))
    }
}

/// The most of a response body the suite reads. Nothing in the contract comes near it; a
/// target that sends more (or streams without end) gets an error, not the suite's memory.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Reads a body chunk by chunk, refusing it once it passes [`MAX_BODY_BYTES`].
async fn read_capped(
    mut resp: reqwest::Response,
    req: &Req,
    url: &str,
    opts: &HttpOptions,
) -> Result<Vec<u8>, Problem> {
    let status = resp.status().as_u16();
    let request_id = resp
        .headers()
        .get(opts.request_id_header.as_str())
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let too_long = |req: &Req| {
        let why = format!(
            "the response body is larger than {} MiB; the suite stops reading there (is the target streaming without end?)",
            MAX_BODY_BYTES / (1024 * 1024)
        );
        let support = Support {
            request_id: request_id.clone(),
            timestamp: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            method: req.method.clone(),
            endpoint: req.route().to_owned(),
            status,
            client_id: req.client_id.clone(),
            body: format!("(not kept: {why})"),
        };
        Problem::Error {
            message: format!("{} {} ({url}): {why}", req.method, req.route()),
            support: Some(Box::new(support)),
        }
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_long(req));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport_error(req, url, &e, opts.timeout))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_long(req));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport_error(req: &Req, url: &str, e: &reqwest::Error, timeout: Duration) -> Problem {
    let why = if e.is_timeout() {
        format!(
            "no answer within {} ms (per-request timeout; raise it with --timeout)",
            timeout.as_millis()
        )
    } else if e.is_connect() {
        "could not connect (is the target running and reachable?)".to_owned()
    } else {
        // Walk the source chain: hyper's "invalid HTTP version parsed" says more than reqwest's wrapper.
        let mut text = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            text.push_str(": ");
            text.push_str(&s.to_string());
            src = s.source();
        }
        format!("the target did not answer with valid HTTP ({text})")
    };
    let support = Support {
        request_id: None,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        method: req.method.clone(),
        endpoint: req.route().to_owned(),
        status: 0,
        client_id: req.client_id.clone(),
        body: format!("(no response: {why})"),
    };
    Problem::Error {
        message: format!("{} {} ({url}): {why}", req.method, req.route()),
        support: Some(Box::new(support)),
    }
}

/// Response headers as a transcript records them: name and value, the value decoded
/// lossily (a header that is not UTF-8 is still shown).
pub fn recorded_headers(headers: &reqwest::header::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
