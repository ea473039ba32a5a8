//! The one HTTP client wrapper of the suite. It sends requests (the client crate's
//! [`Req`]) to the target, never follows redirects, and hands back every [`Exchange`] so
//! that a check's transcript can record it. It owns transport concerns (timeouts, the
//! source address, the cookie jar, the trusted CAs and a gateway's headers); it must not
//! judge responses: that is the checks' job.
//!
//! How the run reaches its target ([`Access`]: `--ca-cert`, `--header`) is one setting of
//! the process, made once by the command line before any client is built: every client
//! of a run reaches the same target the same way, and the structs that carry a check's
//! options stay as they are. Headers sent this way are never part of a [`Req`], so
//! transcripts, snapshots and reports never hold their values.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub use contract_client::access::Access;

use chrono::{DateTime, Utc};
use reqwest::cookie::Jar;
use serde_json::Value;
use url::Url;

pub use contract_client::request::recorded_headers;
pub use contract_client::{Exchange, Req, ReqBody};

use crate::outcome::{Problem, Support};

/// A response handed to a check: the exchange plus conveniences. Every assertion failure
/// built from it carries its support fields (seed 000).
#[derive(Debug, Clone)]
pub struct Resp {
    pub ex: Arc<Exchange>,
    pub request_id_header: String,
    /// The target's base URL, which a relative `Location` is resolved against.
    pub target: Option<Arc<Url>>,
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
        self.ex.error_code()
    }
    pub fn support(&self) -> Support {
        Support::from_exchange(&self.ex, &self.request_id_header)
    }
    /// A failure of the target, pinned to this response.
    pub fn fail(&self, message: impl Into<String>) -> Problem {
        Problem::fail_at(message, self.support())
    }
    /// `Location` as a URL: a relative one resolved against the request's URL (RFC 9110
    /// §10.2.2 allows either).
    pub fn location(&self) -> Result<Url, Problem> {
        let loc = self.header("location").ok_or_else(|| {
            self.fail(format!(
                "expected a redirect with Location, got status {} without one",
                self.status()
            ))
        })?;
        resolve_location(loc, self.target.as_deref(), &self.ex.req.path)
            .map_err(|e| self.fail(format!("Location {loc:?} is not a URL: {e}")))
    }
}

/// A `Location` value as the URL it names: a relative one resolved against the URL of the
/// request (`target` and the request's path), RFC 9110 §10.2.2 and RFC 3986 §5.
pub fn resolve_location(
    location: &str,
    target: Option<&Url>,
    request_path: &str,
) -> Result<Url, url::ParseError> {
    match (Url::parse(location), target) {
        (Err(url::ParseError::RelativeUrlWithoutBase), Some(target)) => {
            let request = format!("{}{request_path}", target.as_str().trim_end_matches('/'));
            Url::parse(&request).and_then(|r| r.join(location))
        }
        (other, _) => other,
    }
}

/// The exchange with a relative `Location` written as the absolute URL it names, as a
/// transcript records it: a snapshot pins where a redirect goes, not how the server
/// spelled it (RFC 9110 §10.2.2 allows either), and a redirect URI or an authorization
/// code in it is then redacted as in an absolute one. The checks read the answer as
/// received.
pub fn with_absolute_location(mut ex: Exchange, target: &Url) -> Exchange {
    let path = ex.req.path.clone();
    for (name, value) in &mut ex.headers {
        if name == "location"
            && Url::parse(value) == Err(url::ParseError::RelativeUrlWithoutBase)
            && let Ok(url) = resolve_location(value, Some(target), &path)
        {
            *value = url.to_string();
        }
    }
    ex
}

static ACCESS: RwLock<Option<Arc<Access>>> = RwLock::new(None);

/// Sets how every client of this process reaches the target, from now on: the command
/// line calls it once per run (a process runs one suite at a time; the tests that pass
/// `--ca-cert` or `--header` run the binary).
pub fn set_access(access: Access) {
    *ACCESS.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(access));
}

/// How clients reach the target: what [`set_access`] set, else the platform's roots and
/// no extra header.
pub fn access() -> Arc<Access> {
    ACCESS
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_default()
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
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Names the suite (as load's `load/VERSION` names load), so the reference
            // server's client observation can leave its deliberate violations out
            // (`--exclude-tool-traffic`, docs/client-findings.md).
            .user_agent(concat!("conformance/", env!("CARGO_PKG_VERSION")))
            .cookie_provider(jar)
            .timeout(opts.timeout);
        // A target that does not answer is known within seconds (issue 23 item 1).
        let inner = access()
            .apply(builder)
            .connect_timeout(opts.timeout.min(contract_client::access::CONNECT_TIMEOUT))
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
        let url = self.url(&req.path);
        let rb = contract_client::transport::build_request(&self.inner, &url, &req)
            .map_err(Problem::error)?;
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
    let why = if e.is_connect() {
        // TLS failures are named as such, with what to do (issue 23 item 0); a connect
        // timeout is at most 3 s (item 1).
        contract_client::access::explain(e, url)
    } else if e.is_timeout() {
        format!(
            "no answer within {} ms (per-request timeout; raise it with --timeout)",
            timeout.as_millis()
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn redirect(path: &str, location: &str) -> Exchange {
        Exchange {
            req: Req::get(path),
            at: Utc::now(),
            elapsed: Duration::ZERO,
            status: 302,
            headers: vec![("location".to_owned(), location.to_owned())],
            body: String::new(),
        }
    }

    #[test]
    fn a_relative_location_is_recorded_as_the_url_it_names() {
        let target = Url::parse("http://127.0.0.1:9/").unwrap();
        let ex = with_absolute_location(
            redirect("/authorize?x=1", "/callback?code=c&state=s"),
            &target,
        );
        assert_eq!(
            ex.header("location"),
            Some("http://127.0.0.1:9/callback?code=c&state=s")
        );
        let relative_path =
            with_absolute_location(redirect("/oauth/authorize", "sign-in"), &target);
        assert_eq!(
            relative_path.header("location"),
            Some("http://127.0.0.1:9/oauth/sign-in")
        );
        let absolute = "http://client.example/cb?code=c";
        assert_eq!(
            with_absolute_location(redirect("/authorize", absolute), &target).header("location"),
            Some(absolute)
        );
    }
}
