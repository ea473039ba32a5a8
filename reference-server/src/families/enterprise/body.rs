//! How enterprise reads a request's body: the way the vendor (a Laravel app) reads it, a
//! JSON object or a form by `Content-Type`; malformed JSON, another content type or an
//! empty body has no fields at all. Shared by its token, introspection and revocation
//! endpoints.

use hyper::HeaderMap;
use serde_json::{Map, Value};

use crate::core::Params;
use crate::core::client_auth::ClientCredentials;
use crate::core::error::ProtocolResult;
use crate::http::request::{OAuthInput, media_type};

/// A body's members: a JSON object's, or a form's (the last of a repeated name wins, as
/// PHP reads forms). Anything else is no members.
pub fn body_fields(headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    match media_type(headers).as_deref() {
        Some("application/json") => match serde_json::from_slice(body) {
            Ok(Value::Object(members)) => members,
            _ => Map::new(),
        },
        Some("application/x-www-form-urlencoded") => url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect(),
        _ => Map::new(),
    }
}

/// A member as a validation rule sees it.
pub enum Field<'a> {
    /// Absent, null, or a string of only whitespace (Laravel trims input, then reads an
    /// empty string as null).
    Missing,
    Text(&'a str),
    /// A number, boolean, array or object.
    NotText,
}

pub fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Field<'a> {
    match fields.get(name) {
        None | Some(Value::Null) => Field::Missing,
        Some(Value::String(s)) if s.trim().is_empty() => Field::Missing,
        Some(Value::String(s)) => Field::Text(s),
        Some(_) => Field::NotText,
    }
}

/// The shell's parse of a token body, for a limit keyed by client (PP-RATE-4): its string
/// members and the `client_id` and `client_secret` it names. Never fails: a body that
/// reads as nothing names no client.
pub fn oauth_input(headers: &HeaderMap, body: &[u8]) -> ProtocolResult<OAuthInput> {
    let params: Params = body_fields(headers, body)
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k, s)),
            _ => None,
        })
        .collect();
    let creds = ClientCredentials {
        client_id: params.get("client_id").cloned(),
        client_secret: params.get("client_secret").cloned(),
        via_basic: false,
    };
    Ok((params, creds))
}

#[cfg(test)]
mod tests {
    use hyper::header::{CONTENT_TYPE, HeaderValue};

    use super::*;

    fn typed(media: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(media));
        h
    }

    #[test]
    fn json_and_forms_are_read_and_anything_else_is_no_fields() {
        let json = typed("application/json; charset=utf-8");
        assert_eq!(
            body_fields(&json, br#"{"client_id":"a"}"#)["client_id"],
            "a"
        );
        assert!(body_fields(&json, b"{nope").is_empty());
        assert!(body_fields(&json, b"[1]").is_empty());
        let form = typed("application/x-www-form-urlencoded");
        assert_eq!(body_fields(&form, b"a=1&a=2")["a"], "2", "the last wins");
        assert!(body_fields(&typed("text/plain"), b"a=1").is_empty());
        assert!(body_fields(&HeaderMap::new(), br#"{"a":"1"}"#).is_empty());
    }
}
