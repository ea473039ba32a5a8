//! Building responses: JSON, HTML, redirects, and errors in the profile's envelope
//! (PP-ERR-1, PP-ERR-2). Every response gets the request-id header in `http::App::handle`.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Either, Full};
use hyper::header::{
    CACHE_CONTROL, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use hyper::{Response, StatusCode};
use profile::Profile;
use serde::Serialize;

use crate::core::error::ProtocolError;

/// A whole answer in one buffer (every answer but a stream), or a stream (live events),
/// so that the common case allocates no box.
pub type Body = Either<Full<Bytes>, BoxBody<Bytes, Infallible>>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Either::Left(Full::new(bytes.into()))
}

/// A streamed answer.
pub fn stream(
    body: impl hyper::body::Body<Data = Bytes, Error = Infallible> + Send + Sync + 'static,
) -> Body {
    Either::Right(body.boxed())
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    json_bytes(status, to_json(value))
}

/// `value` as JSON bytes, in a buffer sized for an answer of this server (one allocation).
pub fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => out,
        Err(_) => b"{}".to_vec(),
    }
}

/// A JSON text written by hand, for the answers a hot path sends with a fixed shape: the
/// constant parts go in as they are, strings are escaped as serde_json escapes them, so
/// the bytes equal a serde struct's (each use has a test saying so). It is written in the
/// thread's scratch buffer and copied out once, at its size: one allocation per answer.
pub struct JsonText(Vec<u8>);

thread_local! {
    /// Where [`JsonText`]s are written; kept between answers up to [`SCRATCH_KEPT`].
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// The largest scratch buffer a thread keeps.
const SCRATCH_KEPT: usize = 4096;

impl JsonText {
    pub fn new() -> JsonText {
        let mut buf = SCRATCH.take();
        buf.clear();
        buf.reserve(256);
        JsonText(buf)
    }

    /// JSON text as it is: braces, member names with their quotes and colons, literals.
    pub fn raw(&mut self, text: &str) -> &mut Self {
        self.0.extend_from_slice(text.as_bytes());
        self
    }

    /// A JSON string.
    pub fn string(&mut self, value: &str) -> &mut Self {
        if plain_len(value.as_bytes()).is_none() {
            self.0.push(b'"');
            self.0.extend_from_slice(value.as_bytes());
            self.0.push(b'"');
        } else if serde_json::to_writer(&mut self.0, value).is_err() {
            // Writing to a Vec does not fail; were it to, the text stays valid JSON.
            self.0.extend_from_slice(b"null");
        }
        self
    }

    /// A JSON number (an integer: what serde_json writes for one).
    pub fn number(&mut self, value: impl itoa::Integer) -> &mut Self {
        self.0
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self
    }

    pub fn into_bytes(self) -> Bytes {
        let bytes = Bytes::copy_from_slice(&self.0);
        if self.0.capacity() <= SCRATCH_KEPT {
            SCRATCH.set(self.0);
        }
        bytes
    }
}

impl Default for JsonText {
    fn default() -> Self {
        JsonText::new()
    }
}

/// Where the first quote, backslash or control character of `bytes` is, the first byte a
/// JSON string cannot hold as it is: eight bytes at a time, as serde_json scans a string
/// (tokens are some fifty bytes long).
pub fn plain_len(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // A byte's high bit for each byte that is zero; a false one only above a true one.
    let zero_bytes = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let found = zero_bytes(w ^ (ONES * u64::from(b'"')))
            | zero_bytes(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS);
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = chunks.remainder();
    rest.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|i| at + i)
}

/// A JSON answer already written.
pub fn json_bytes(status: StatusCode, bytes: impl Into<Bytes>) -> Response<Body> {
    let mut res = Response::new(full(bytes));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// Token responses must not be cached (PP-TOKEN-4, RFC 6749 §5.1).
pub fn no_store(mut res: Response<Body>) -> Response<Body> {
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

// Names made once: a name given as a string is parsed again for every answer.
const PRAGMA: HeaderName = HeaderName::from_static("pragma");
const X_FRAME_OPTIONS: HeaderName = HeaderName::from_static("x-frame-options");
const CONTENT_SECURITY_POLICY: HeaderName = HeaderName::from_static("content-security-policy");

pub fn html(status: StatusCode, page: String) -> Response<Body> {
    let mut res = Response::new(full(page));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // No page may be framed: a framed approval or sign-in page is clickjacking (issue 12
    // item 6). The CSP header is the standard; X-Frame-Options serves older browsers.
    res.headers_mut()
        .insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res.headers_mut().insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    res
}

/// A redirect; `status` is 302 for OAuth redirects and 303 after a form POST.
pub fn redirect(status: StatusCode, location: &str) -> Response<Body> {
    let mut res = Response::new(full(Bytes::new()));
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(LOCATION, v);
    }
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The error response: `envelope` (the family's error body for the route's layer, JSON
/// bytes), the status the profile's `[errors]` table gives (PP-ERR-3), `Retry-After`
/// (PP-RATE-2) and the family's challenge.
pub fn error(
    profile: &Profile,
    e: &ProtocolError,
    envelope: Vec<u8>,
    challenge: Option<String>,
) -> Response<Body> {
    let status = e
        .status
        .unwrap_or_else(|| profile.status_of(e.code.as_str()));
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = Response::new(full(envelope));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let headers = res.headers_mut();
    if let Some(wait) = e.retry_after
        && let Ok(v) = HeaderValue::from_str(&wait.to_string())
    {
        headers.insert(RETRY_AFTER, v);
    }
    if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(WWW_AUTHENTICATE, c);
    }
    // The fault layer reads what the error was, to bend it (http/fault_layer.rs).
    res.extensions_mut().insert(e.clone());
    res
}
