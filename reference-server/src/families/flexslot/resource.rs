//! Flexslot's protected resource, `GET /api/public/v1/me` (scope `profile`), with the RFC
//! 6750 §3 challenges (FX-RS-1) and the fault that drops them.

use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};

use super::envelope::bare_bearer_challenge;
use crate::core::error::ProtocolResult;
use crate::core::fault::{FaultSpec, Shape};
use crate::http::request::bearer_token;
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx};

/// `GET /api/public/v1/me`: `{sub, username, display_name}` of the token's user. A
/// missing or malformed `Authorization` header is a 401 with the bare challenge and no
/// body (RFC 6750 §3.1: no error code when no credentials were sent); a bad token is
/// `invalid_token`, a token without the scope `insufficient_scope`, with the error in
/// the challenge (`envelope::challenge`).
pub fn me(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let Some(token) = bearer_token(&ctx.headers) else {
        let mut res = Response::new(respond::full(bytes::Bytes::new()));
        *res.status_mut() = StatusCode::UNAUTHORIZED;
        if let Ok(v) = HeaderValue::from_str(&bare_bearer_challenge()) {
            res.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        return Ok(res);
    };
    let scope = app
        .core
        .profile
        .scopes
        .required
        .get("me")
        .map(String::as_str);
    let (username, display_name) = app.core.bearer_user_profile(Some(token), scope)?;
    Ok(respond::json(
        StatusCode::OK,
        &serde_json::json!({
            "sub": username,
            "username": username,
            "display_name": display_name,
        }),
    ))
}

pub static FX_BEARER_CHALLENGE_MISSING: FaultSpec = FaultSpec::shaping(
    "fx_bearer_challenge_missing",
    "FX-RS-1",
    "401 answers of the resource server carry no WWW-Authenticate: Bearer challenge",
    Shape::NoBearerChallenge,
);
