//! Flexslot's error layers and challenges. Both layers write `{error, error_description}`
//! (RFC 6749 §5.2 at the OAuth endpoints, FX-TOKEN-1; RFC 6750 §3 at the resource,
//! FX-RS-1); they differ in their `WWW-Authenticate` challenges: `Basic` on an
//! `invalid_client` of a client that used Basic (FX-TOKEN-3), `Bearer` with the error on
//! the resource (FX-RS-1).

use crate::core::error::{ErrorCode, ProtocolError};
use crate::http::Layer;

/// The OAuth endpoints (`/token`, `/revoke`, `/introspect`), metadata and unknown routes.
pub const OAUTH: Layer = Layer("oauth");
/// The protected resource (`GET /api/public/v1/me`).
pub const RESOURCE: Layer = Layer("resource");

/// The realm of every challenge.
pub const REALM: &str = "flexslot";

pub fn error_body(_layer: Layer, error: &ProtocolError, _request_id: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "error": error.code.as_str(),
        "error_description": quotable(&error.message),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The challenge with no error code, for a request without (well-formed) credentials
/// (RFC 6750 §3.1; FX-RS-1).
pub fn bare_bearer_challenge() -> String {
    format!("Bearer realm=\"{REALM}\"")
}

/// Only what RFC 6749 §5.2 and RFC 6750 §3 allow in an `error_description`: printable
/// ASCII but `"` and `\`, which become `'`, and the rest `?` (messages may quote what a
/// request sent).
pub fn quotable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

pub fn challenge(layer: Layer, e: &ProtocolError) -> Option<String> {
    match (layer, e.code) {
        (_, ErrorCode::InvalidClient) if e.basic_challenge => {
            Some(format!("Basic realm=\"{REALM}\""))
        }
        (RESOURCE, ErrorCode::InvalidToken) => Some(format!(
            "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
            quotable(&e.message)
        )),
        (RESOURCE, ErrorCode::InsufficientScope) => Some(format!(
            "Bearer realm=\"{REALM}\", error=\"insufficient_scope\", scope=\"{}\"",
            quotable(e.required_scope.as_deref().unwrap_or_default())
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_quote_only_what_rfc_6750_allows() {
        let e = ProtocolError::invalid_token("bad \"token\" \\ here é");
        assert_eq!(
            challenge(RESOURCE, &e).unwrap(),
            "Bearer realm=\"flexslot\", error=\"invalid_token\", error_description=\"bad 'token' ' here ?\""
        );
        assert_eq!(challenge(OAUTH, &e), None);
        let mut basic = ProtocolError::new(ErrorCode::InvalidClient, "x");
        assert_eq!(challenge(OAUTH, &basic), None);
        basic.basic_challenge = true;
        assert_eq!(
            challenge(OAUTH, &basic).unwrap(),
            "Basic realm=\"flexslot\""
        );
    }
}
