//! Faults of shape (issue 7 item 3): the named defects that change how an answer looks
//! (a header, a member, a status, an error code, a redirect parameter) are applied here,
//! in one post-processing layer, after the handler answered. Each fault says which
//! [`Shape`] it bends (it is declared beside the rule whose answer it bends); this layer
//! knows the shapes, never the faults. Protocol handlers and kernel rules never branch on
//! them. Faults of state are component wrappers in the kernel and the families.
//!
//! With no fault of shape on, [`bend`] is never called: the answer is the handler's, byte
//! for byte. The layer learns what the answer is from the route's [`ShapeFacts`] and, for
//! errors, from the [`ProtocolError`] the renderer leaves in the response's extensions.

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::header::{CACHE_CONTROL, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{HeaderMap, Response, StatusCode};
use serde_json::Value;

use super::respond::{self, Body};
use super::{App, Ctx};
use crate::core::error::{ErrorCode, ProtocolError};
use crate::core::fault::{Bends, Shape};

/// What a route answers, as far as faults of shape care. A family's route table gives
/// each route its facts; the default is "none of these".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShapeFacts {
    /// Answers a token pair (PP-TOKEN-1, PP-REFRESH-1, PP-DEVICE-3, FX-TOKEN-1).
    pub token_answer: bool,
    /// Answers a token pair or a device authorization, with `scope` (PP-SCOPE-4).
    pub scope_answer: bool,
    /// Dispatches on `grant_type` (PP-TOKEN-3).
    pub grant_type_endpoint: bool,
    /// Sends the browser back to the client: a `Location` header, or a test control's
    /// `{"location"}` (PP-AUTHZ-3, PP-AUTHZ-4, FX-AUTHZ-1).
    pub client_redirect: bool,
}

impl ShapeFacts {
    pub const NONE: ShapeFacts = ShapeFacts {
        token_answer: false,
        scope_answer: false,
        grant_type_endpoint: false,
        client_redirect: false,
    };
    /// A token endpoint that dispatches on `grant_type`.
    pub const GRANT_ENDPOINT: ShapeFacts = ShapeFacts {
        token_answer: true,
        scope_answer: true,
        grant_type_endpoint: true,
        client_redirect: false,
    };
    /// A token endpoint of one grant.
    pub const TOKEN_ANSWER: ShapeFacts = ShapeFacts {
        grant_type_endpoint: false,
        ..ShapeFacts::GRANT_ENDPOINT
    };
    /// A device authorization answer (PP-DEVICE-1).
    pub const SCOPE_ANSWER: ShapeFacts = ShapeFacts {
        scope_answer: true,
        ..ShapeFacts::NONE
    };
    /// The authorize endpoint and its consent form.
    pub const CLIENT_REDIRECT: ShapeFacts = ShapeFacts {
        client_redirect: true,
        ..ShapeFacts::NONE
    };
}

/// The request id the response header carries: another one than the body's on errors
/// under [`Shape::RequestIdMismatch`] (PP-ERR-2).
pub fn header_request_id<'a>(
    app: &App,
    bends: Bends,
    status: StatusCode,
    id: &'a str,
) -> std::borrow::Cow<'a, str> {
    if bends.shapes(Shape::RequestIdMismatch) && !status.is_success() {
        app.new_request_id().into()
    } else {
        id.into()
    }
}

/// Bends the handler's answer as `shape` says, where the route's facts make it apply.
pub async fn bend(
    app: &App,
    shape: Shape,
    facts: ShapeFacts,
    ctx: &Ctx,
    res: Response<Body>,
) -> Response<Body> {
    // A 401 without its Bearer challenge, whether or not it carries an error.
    if shape == Shape::NoBearerChallenge && res.status() == StatusCode::UNAUTHORIZED {
        let mut res = res;
        let bearer = res
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer"));
        if bearer {
            res.headers_mut().remove(WWW_AUTHENTICATE);
        }
        return res;
    }
    if let Some(e) = res.extensions().get::<ProtocolError>() {
        return match bent_error(shape, facts, e) {
            Some(bent) => rerender_error(app, ctx, &res, &bent),
            None => res,
        };
    }
    let ok = res.status().is_success();
    match shape {
        Shape::Cacheable if facts.token_answer && ok => {
            let mut res = res;
            res.headers_mut().remove(CACHE_CONTROL);
            res.headers_mut().remove("pragma");
            res
        }
        Shape::ScopeOmitted if facts.scope_answer && ok => {
            edit_json(res, |body| {
                if let Some(members) = body.as_object_mut() {
                    members.remove("scope");
                }
            })
            .await
        }
        Shape::ApprovalWithoutState
        | Shape::ErrorRedirectWithoutRequestId
        | Shape::ErrorRedirectWithoutState
            if facts.client_redirect =>
        {
            bend_client_redirect(shape, res).await
        }
        _ => res,
    }
}

/// The error a shape makes of `e`, if it changes it.
fn bent_error(shape: Shape, facts: ShapeFacts, e: &ProtocolError) -> Option<ProtocolError> {
    let mut bent = e.clone();
    match shape {
        Shape::InvalidClientAs400 if e.code == ErrorCode::InvalidClient => bent.status = Some(400),
        Shape::UnsupportedGrantTypeAsInvalidRequest
            if facts.grant_type_endpoint && e.code == ErrorCode::UnsupportedGrantType =>
        {
            bent.code = ErrorCode::InvalidRequest;
        }
        Shape::NoBasicChallenge if e.code == ErrorCode::InvalidClient && e.basic_challenge => {
            bent.basic_challenge = false;
        }
        Shape::NoRetryAfter if e.code == ErrorCode::RateLimited => bent.retry_after = None,
        _ => return None,
    }
    Some(bent)
}

/// The bent error in the family's envelope, keeping the headers the handler added
/// (`Cache-Control` on token errors) but not those the error itself decides.
fn rerender_error(
    app: &App,
    ctx: &Ctx,
    original: &Response<Body>,
    e: &ProtocolError,
) -> Response<Body> {
    let mut res = app.error_response(e, ctx);
    let decided_by_error = [RETRY_AFTER, WWW_AUTHENTICATE];
    let kept: HeaderMap = original
        .headers()
        .iter()
        .filter(|(name, _)| !decided_by_error.contains(name) && !res.headers().contains_key(*name))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    res.headers_mut().extend(kept);
    res
}

/// An approval without `state`, an error redirect without `request_id` or `state`. In a
/// `Location` header or a test control's `{"location"}` answer.
async fn bend_client_redirect(shape: Shape, mut res: Response<Body>) -> Response<Body> {
    let bend = |location: &str| match shape {
        Shape::ApprovalWithoutState => without_param(location, "code", "state"),
        Shape::ErrorRedirectWithoutState => without_param(location, "error", "state"),
        _ => without_param(location, "error", "request_id"),
    };
    if let Some(location) = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()) {
        let bent = bend(location);
        if let Ok(v) = hyper::header::HeaderValue::from_str(&bent) {
            res.headers_mut().insert(LOCATION, v);
        }
        return res;
    }
    edit_json(res, |body| {
        if let Some(location) = body["location"].as_str() {
            body["location"] = bend(location).into();
        }
    })
    .await
}

/// `location` without the query parameter `drop`, when it has the parameter `when`.
fn without_param(location: &str, when: &str, drop: &str) -> String {
    let Ok(mut url) = url::Url::parse(location) else {
        return location.to_owned();
    };
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if !pairs.iter().any(|(k, _)| k == when) || !pairs.iter().any(|(k, _)| k == drop) {
        return location.to_owned();
    }
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs.iter().filter(|(k, _)| k != drop));
    url.into()
}

/// Rewrites a JSON answer's body. Answers bent here are small and fully buffered; a body
/// that is not JSON is left as it was.
async fn edit_json(res: Response<Body>, edit: impl FnOnce(&mut Value)) -> Response<Body> {
    let (parts, body) = res.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let bytes = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut value) => {
            edit(&mut value);
            serde_json::to_vec(&value).map_or(bytes, Bytes::from)
        }
        Err(_) => bytes,
    };
    let mut res = Response::from_parts(parts, respond::full(bytes));
    res.headers_mut().remove(hyper::header::CONTENT_LENGTH);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_param_is_dropped_only_from_the_redirect_it_belongs_to() {
        let approved = "http://127.0.0.1:8765/callback?code=ppac_1&state=s+1&scope=a+b";
        assert_eq!(
            without_param(approved, "code", "state"),
            "http://127.0.0.1:8765/callback?code=ppac_1&scope=a+b"
        );
        let denied =
            "http://127.0.0.1:8765/callback?error=access_denied&state=s&request_id=ppreq_1";
        assert_eq!(
            without_param(denied, "error", "request_id"),
            "http://127.0.0.1:8765/callback?error=access_denied&state=s"
        );
        assert_eq!(without_param(denied, "code", "state"), denied);
        assert_eq!(without_param("not a url", "code", "state"), "not a url");
    }

    #[test]
    fn only_the_shape_s_own_error_is_bent() {
        let facts = ShapeFacts::default();
        let invalid_client = ProtocolError::new(ErrorCode::InvalidClient, "x");
        let bent = bent_error(Shape::InvalidClientAs400, facts, &invalid_client).unwrap();
        assert_eq!(bent.status, Some(400));
        let grant = ProtocolError::new(ErrorCode::UnsupportedGrantType, "x");
        let wrong_code = Shape::UnsupportedGrantTypeAsInvalidRequest;
        assert!(bent_error(wrong_code, facts, &grant).is_none());
        let bent = bent_error(wrong_code, ShapeFacts::GRANT_ENDPOINT, &grant).unwrap();
        assert_eq!(bent.code, ErrorCode::InvalidRequest);
        assert!(bent_error(Shape::InvalidClientAs400, facts, &grant).is_none());
    }
}
