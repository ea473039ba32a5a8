//! Building responses: JSON, HTML, redirects, and errors in the profile's envelope
//! (PP-ERR-1, PP-ERR-2). Every response gets the request-id header in `http::App::handle`.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{
    CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use hyper::{Response, StatusCode};
use profile::{Family, Profile};
use serde::Serialize;

use crate::core::error::{ErrorCode, ProtocolError};

pub type Body = BoxBody<Bytes, Infallible>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
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
        .insert("pragma", HeaderValue::from_static("no-cache"));
    res
}

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
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    res.headers_mut().insert(
        "content-security-policy",
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

/// Renders a [`ProtocolError`] in a profile's wire form. The error never formats JSON
/// itself; a new profile family adds an envelope here.
pub trait ErrorEnvelope: Send + Sync {
    fn body(&self, error: &ProtocolError, request_id: &str) -> serde_json::Value;
}

/// `{error, message, request_id}`, plus `required_scope` on `insufficient_scope` (PP-ERR-1).
pub struct PunchplayEnvelope;

impl ErrorEnvelope for PunchplayEnvelope {
    fn body(&self, error: &ProtocolError, request_id: &str) -> serde_json::Value {
        let mut body = serde_json::json!({
            "error": error.code.as_str(),
            "message": error.message,
            "request_id": request_id,
        });
        if let Some(scope) = &error.required_scope {
            body["required_scope"] = scope.clone().into();
        }
        body
    }
}

pub fn envelope_for(profile: &Profile) -> std::io::Result<Box<dyn ErrorEnvelope>> {
    match profile.family {
        Family::Punchplay => Ok(Box::new(PunchplayEnvelope)),
        other => Err(std::io::Error::other(format!(
            "profile `{}` is of the {other} family, which this server does not serve yet; use a punchplay profile",
            profile.name
        ))),
    }
}

/// The error response: the profile's envelope, the status its `[errors]` table gives
/// (PP-ERR-3), `Retry-After` (PP-RATE-2) and the RFC 6749/6750 challenges.
pub fn error(
    profile: &Profile,
    envelope: &dyn ErrorEnvelope,
    e: &ProtocolError,
    request_id: &str,
    invalid_client_400: bool,
) -> Response<Body> {
    let mut status = e
        .status
        .unwrap_or_else(|| profile.status_of(e.code.as_str()));
    if invalid_client_400 && e.code == ErrorCode::InvalidClient {
        status = 400;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = json(status, &envelope.body(e, request_id));
    let headers = res.headers_mut();
    if let Some(wait) = e.retry_after
        && let Ok(v) = HeaderValue::from_str(&wait.to_string())
    {
        headers.insert(RETRY_AFTER, v);
    }
    let challenge = match e.code {
        ErrorCode::InvalidClient if e.basic_challenge => {
            Some("Basic realm=\"punchplay\"".to_owned())
        }
        ErrorCode::InvalidToken => {
            Some("Bearer realm=\"punchplay\", error=\"invalid_token\"".to_owned())
        }
        ErrorCode::InsufficientScope => Some(format!(
            "Bearer realm=\"punchplay\", error=\"insufficient_scope\", scope=\"{}\"",
            e.required_scope.as_deref().unwrap_or_default()
        )),
        _ => None,
    };
    if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(WWW_AUTHENTICATE, c);
    }
    res
}
