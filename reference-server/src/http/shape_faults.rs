//! Faults of shape that the core applied until issue 7 item 3 took them out of the
//! protocol rules: a token answer without `scope`, the wrong error code for an unknown
//! grant type, a 429 without Retry-After, an approval redirect without `state`, a denial
//! redirect without `request_id`. Each bends an answer after the rules ran. The shell's
//! fault layer is their home; this file keeps them caught until it takes them over.

use crate::core::authorization_code::redirect_with;
use crate::core::error::{ErrorCode, ProtocolError};
use crate::core::grants::TokenPair;
use crate::faults::Fault;

use super::App;

/// `scope_omitted` (PP-SCOPE-4): token answers leave out `scope`.
pub fn token_pair(app: &App, pair: &mut TokenPair) {
    if app.core.has_fault(Fault::ScopeOmitted) {
        pair.scope = None;
    }
}

/// `wrong_grant_type_error` (PP-TOKEN-3): `oauth/token` answers an unknown grant type
/// with `invalid_request`.
pub fn token_endpoint_error(app: &App, mut e: ProtocolError) -> ProtocolError {
    if e.code == ErrorCode::UnsupportedGrantType && app.core.has_fault(Fault::WrongGrantTypeError) {
        e.code = ErrorCode::InvalidRequest;
    }
    e
}

/// `retry_after_missing` (PP-RATE-2): a refusal says nothing of when to retry.
pub fn rate_limited(app: &App, mut e: ProtocolError) -> ProtocolError {
    if app.core.has_fault(Fault::RetryAfterMissing) {
        e.retry_after = None;
    }
    e
}

/// `state_not_echoed` (PP-AUTHZ-3) drops `state` from an approval's redirect;
/// `error_redirect_without_request_id` (PP-AUTHZ-4) drops `request_id` from a denial's.
pub fn decision_location(app: &App, location: String) -> String {
    let drop = if app.core.has_fault(Fault::StateNotEchoed) {
        ("code", "state")
    } else if app.core.has_fault(Fault::ErrorRedirectWithoutRequestId) {
        ("error", "request_id")
    } else {
        return location;
    };
    let Ok(mut url) = url::Url::parse(&location) else {
        return location;
    };
    let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    if !pairs.iter().any(|(k, _)| k == drop.0) {
        return location;
    }
    url.set_query(None);
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| k != drop.1)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    redirect_with(url.as_str(), &kept)
}
