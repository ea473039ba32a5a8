//! Enterprise's answers: its success envelope, its own error codes, and its error
//! envelopes, one per layer, as seed 003's table gives them, with the
//! bodies of FAMILIES2/docs/enterprise.md to the character:
//! - validation (any layer, 422): `{field: [message]}` (EN-VALID-1);
//! - token endpoint: `{success: false, message, details?}` (EN-TOKEN-2, -3, -4);
//! - introspect and revoke: `{success: false, message}` (EN-INTRO-1, EN-REVOKE-1);
//! - `/api/*` and everything else: `{message}` (EN-API-1, EN-RATE-1).
//!
//! No challenge header: the vendor's 401s carry none (seed 003 shows bodies only).

use std::collections::BTreeMap;

use serde::Serialize;

use hyper::{Response, StatusCode};

use crate::core::error::{ErrorCode, ProtocolError};
use crate::http::Layer;
use crate::http::respond::{self, Body};

/// EN-TOKEN-3: the client's enterprise is inactive.
pub const INACTIVE_ENTERPRISE: ErrorCode = ErrorCode::Other("inactive_enterprise");
/// EN-INTRO-1, EN-REVOKE-1: the body names no token.
pub const TOKEN_REQUIRED: ErrorCode = ErrorCode::Other("token_required");
/// EN-REVOKE-1: the token to revoke is not live.
pub const TOKEN_NOT_FOUND: ErrorCode = ErrorCode::Other("token_not_found");
/// EN-API-1: no valid bearer token on `/api/*`.
pub const UNAUTHENTICATED: ErrorCode = ErrorCode::Other("unauthenticated");
/// EN-API-1: the client is linked to no company, or to one not listed.
pub const COMPANY_NOT_FOUND: ErrorCode = ErrorCode::Other("company_not_found");

#[derive(Serialize)]
struct Success<'a, T: Serialize> {
    success: bool,
    message: &'a str,
    data: T,
}

/// `{success: true, message, data}` (EN-TOKEN-1, EN-INTRO-1, EN-REVOKE-1, DECIDED).
pub fn success<T: Serialize>(message: &str, data: T) -> Response<Body> {
    respond::json_bytes(StatusCode::OK, success_bytes(message, data))
}

/// [`success`]'s body.
pub fn success_bytes<T: Serialize>(message: &str, data: T) -> Vec<u8> {
    respond::to_json(&Success {
        success: true,
        message,
        data,
    })
}

/// `POST /oauth/access-token`.
pub const TOKEN: Layer = Layer("token");
/// `POST /oauth/introspect` and `POST /oauth/revoke`.
pub const TOKEN_CHECK: Layer = Layer("token_check");
/// `/api/*`, unknown routes and wrong methods.
pub const API: Layer = Layer("api");

const INVALID_CLIENT: &str = "Client authentication failed. Check client ID/secret.";
const INVALID_CLIENT_DETAIL: &str = "Client authentication failed";
const INVALID_SCOPE: &str = "The requested scope is invalid, unknown, or malformed.";

/// An error body, its members in the vendor's order (a serde struct keeps declaration
/// order; a `serde_json::Value` would sort them).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Envelope<'a> {
    /// EN-VALID-1: `{field: [message]}`; the field names sort in the request's order.
    Fields(BTreeMap<&'static str, [&'a str; 1]>),
    /// The token, introspect and revoke layers.
    Failure {
        success: bool,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        details: Option<Details<'a>>,
    },
    /// `/api/*` and everything else.
    Message { message: &'a str },
}

/// The token layer's `details` (EN-TOKEN-2, EN-TOKEN-4).
#[derive(Debug, Serialize)]
pub struct Details<'a> {
    error: &'a str,
    error_description: &'a str,
    message: &'a str,
}

fn message(text: &str) -> Envelope<'_> {
    Envelope::Message { message: text }
}

fn failure(text: &str) -> Envelope<'_> {
    Envelope::Failure {
        success: false,
        message: text,
        details: None,
    }
}

fn failure_with(
    text: &'static str,
    error: &'static str,
    detail: &'static str,
) -> Envelope<'static> {
    Envelope::Failure {
        success: false,
        message: text,
        details: Some(Details {
            error,
            error_description: detail,
            message: detail,
        }),
    }
}

/// The envelope of `e` in `layer`.
pub fn envelope(layer: Layer, e: &ProtocolError) -> Envelope<'_> {
    // What the HTTP layer refused reads the same in every layer.
    match e.status {
        Some(413) => return message("Payload too large."),
        Some(431) => return message("Request header fields too large."),
        _ => {}
    }
    let success_layer = layer == TOKEN || layer == TOKEN_CHECK;
    match e.code {
        ErrorCode::Validation => Envelope::Fields(
            e.invalid_fields
                .iter()
                .flat_map(|fields| fields.iter())
                .map(|(field, text)| (*field, [text.as_str()]))
                .collect(),
        ),
        ErrorCode::InvalidClient => {
            failure_with(INVALID_CLIENT, "invalid_client", INVALID_CLIENT_DETAIL)
        }
        INACTIVE_ENTERPRISE => failure("Inactive enterprise."),
        ErrorCode::InvalidScope => failure_with(INVALID_SCOPE, "invalid_scope", INVALID_SCOPE),
        ErrorCode::ServerError if success_layer => failure("Server error."),
        ErrorCode::TemporarilyUnavailable if success_layer => {
            failure("Service temporarily unavailable.")
        }
        TOKEN_REQUIRED => failure("Token required."),
        ErrorCode::InvalidToken => failure("Invalid or expired token."),
        TOKEN_NOT_FOUND => failure("Token not found."),
        UNAUTHENTICATED => message("Unauthenticated."),
        ErrorCode::InsufficientScope => message("Token does not have the required scope."),
        COMPANY_NOT_FOUND => message("Company not found."),
        // EN-RATE-1 (DECIDED body).
        ErrorCode::RateLimited => message("Too Many Attempts."),
        ErrorCode::MethodNotAllowed => message("Method not allowed."),
        ErrorCode::NotFound if layer == API => message("Not found."),
        ErrorCode::ServerError => message("Server error."),
        // Anything else (a refused Host, an unreadable body, a test control's error)
        // says what was wrong, in the layer's shape.
        _ if success_layer => failure(&e.message),
        _ => message(&e.message),
    }
}

/// [`envelope`] as bytes, members in the vendor's order.
pub fn error_bytes(layer: Layer, e: &ProtocolError) -> Vec<u8> {
    serde_json::to_vec(&envelope(layer, e)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_layer_writes_its_shape() {
        let mut missing = ProtocolError::new(ErrorCode::Validation, "x");
        missing.invalid_fields = Some(Box::new(vec![
            ("client_id", "The client id field is required.".into()),
            (
                "client_secret",
                "The client secret field is required.".into(),
            ),
        ]));
        let text = |layer, e| String::from_utf8(error_bytes(layer, e)).unwrap();
        assert_eq!(
            text(TOKEN, &missing),
            r#"{"client_id":["The client id field is required."],"client_secret":["The client secret field is required."]}"#
        );
        let client = ProtocolError::new(ErrorCode::InvalidClient, "x");
        assert_eq!(
            text(TOKEN, &client),
            r#"{"success":false,"message":"Client authentication failed. Check client ID/secret.","details":{"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed"}}"#
        );
        let too_large = ProtocolError::invalid_request("x").with_status(413);
        assert_eq!(
            text(TOKEN_CHECK, &too_large),
            r#"{"message":"Payload too large."}"#
        );
        let down = ProtocolError::new(ErrorCode::TemporarilyUnavailable, "x");
        assert_eq!(
            text(TOKEN, &down),
            r#"{"success":false,"message":"Service temporarily unavailable."}"#
        );
        let control = ProtocolError::not_found("There is no enterprise `x`.");
        assert_eq!(
            text(Layer::default(), &control),
            r#"{"message":"There is no enterprise `x`."}"#
        );
    }
}
