//! Punchplay's one error layer: `{error, message, request_id}`, plus `required_scope` on
//! `insufficient_scope` (PP-ERR-1), its challenges (RFC 6750 §3, RFC 6749 §5.2), and the
//! fault that bends its request-id header (PP-ERR-2).

use crate::core::error::{ErrorCode, ProtocolError};
use crate::core::fault::{FaultSpec, Shape};
use crate::http::Layer;

pub fn error_body(_layer: Layer, error: &ProtocolError, request_id: &str) -> Vec<u8> {
    let mut body = serde_json::json!({
        "error": error.code.as_str(),
        "message": error.message,
        "request_id": request_id,
    });
    if let Some(scope) = &error.required_scope {
        body["required_scope"] = scope.clone().into();
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

pub fn challenge(_layer: Layer, e: &ProtocolError) -> Option<String> {
    match e.code {
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
    }
}

pub static REQUEST_ID_MISMATCH: FaultSpec = FaultSpec::shaping(
    "request_id_mismatch",
    "PP-ERR-2",
    "the request-id header differs from the error body's request_id",
    Shape::RequestIdMismatch,
);
