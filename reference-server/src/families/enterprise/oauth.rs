//! Enterprise's OAuth endpoints: the client-credentials token (EN-TOKEN-1..4, with
//! validation EN-VALID-1), introspection (EN-INTRO-1) and revocation (EN-REVOKE-1).
//!
//! Bodies are read the way the vendor (a Laravel app) reads them: a JSON object or a
//! form, by `Content-Type`; malformed JSON, another content type or an empty body has no
//! fields at all. Rules are the core's (`core/enterprise.rs`); this file reads fields.

use hyper::{HeaderMap, Response, StatusCode};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::core::Mode;
use crate::core::Params;
use crate::core::client_auth::ClientCredentials;
use crate::core::enterprise::TokenRequest;
use crate::core::error::{ErrorCode, ProtocolError, ProtocolResult};
use crate::http::request::{OAuthInput, RequestBody, media_type};
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx};

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
enum Field<'a> {
    /// Absent, null, or a string of only whitespace (Laravel trims input, then reads an
    /// empty string as null).
    Missing,
    Text(&'a str),
    /// A number, boolean, array or object.
    NotText,
}

fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Field<'a> {
    match fields.get(name) {
        None | Some(Value::Null) => Field::Missing,
        Some(Value::String(s)) if s.trim().is_empty() => Field::Missing,
        Some(Value::String(s)) => Field::Text(s),
        Some(_) => Field::NotText,
    }
}

/// Collects EN-VALID-1's answer, one entry per failing field, in the request's order.
#[derive(Default)]
struct Validation {
    invalid: Vec<(&'static str, String)>,
}

impl Validation {
    /// A required string: "The client id field is required." / "… must be a string.".
    fn required<'a>(
        &mut self,
        fields: &'a Map<String, Value>,
        name: &'static str,
    ) -> Option<&'a str> {
        let label = || name.replace('_', " ");
        match field(fields, name) {
            Field::Text(s) => return Some(s),
            Field::Missing => self
                .invalid
                .push((name, format!("The {} field is required.", label()))),
            Field::NotText => self
                .invalid
                .push((name, format!("The {} field must be a string.", label()))),
        }
        None
    }

    /// An optional string: absent is fine, a non-string is not.
    fn optional<'a>(
        &mut self,
        fields: &'a Map<String, Value>,
        name: &'static str,
    ) -> Option<&'a str> {
        match field(fields, name) {
            Field::Text(s) => Some(s),
            Field::Missing => None,
            Field::NotText => {
                let label = name.replace('_', " ");
                self.invalid
                    .push((name, format!("The {label} field must be a string.")));
                None
            }
        }
    }

    fn passed(&self) -> bool {
        self.invalid.is_empty()
    }

    /// The 422 answer listing every failing field.
    fn into_error(self) -> ProtocolError {
        let mut e = ProtocolError::new(
            ErrorCode::Validation,
            "Send full JSON body with client_id and client_secret.",
        );
        e.invalid_fields = Some(Box::new(self.invalid));
        e
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

#[derive(Serialize)]
struct Success<'a, T: Serialize> {
    success: bool,
    message: &'a str,
    data: T,
}

fn success<T: Serialize>(message: &str, data: T) -> Response<Body> {
    respond::json(
        StatusCode::OK,
        &Success {
            success: true,
            message,
            data,
        },
    )
}

#[derive(Serialize)]
struct IssuedData<'a> {
    access_token: &'a str,
    token_type: &'a str,
    expires_in: u64,
    scope: &'a str,
}

/// `POST /oauth/access-token`: the failure mode (`/__test/mode`), then validation before
/// authentication (EN-VALID-1), then the core's rules (EN-TOKEN-1..4).
pub async fn token(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let bytes = body
        .read(&ctx.headers, app.core.profile.http.max_body_bytes)
        .await;
    match app.core.mode() {
        Mode::Normal => {}
        Mode::ServerError => {
            return Err(ProtocolError::new(ErrorCode::ServerError, "Server error."));
        }
        Mode::TemporarilyUnavailable => {
            return Err(ProtocolError::new(
                ErrorCode::TemporarilyUnavailable,
                "Service temporarily unavailable.",
            ));
        }
    }
    let fields = body_fields(&ctx.headers, &bytes?);
    let mut validation = Validation::default();
    let client_id = validation.required(&fields, "client_id");
    let client_secret = validation.required(&fields, "client_secret");
    let scope = validation.optional(&fields, "scope");
    let (Some(client_id), Some(client_secret), true) =
        (client_id, client_secret, validation.passed())
    else {
        return Err(validation.into_error());
    };
    let issued = app.core.issue_client_token(TokenRequest {
        client_id,
        client_secret,
        scope,
    })?;
    // RFC 6749 §5.1: a token answer is never cached.
    Ok(respond::no_store(success(
        "Access token issued.",
        IssuedData {
            access_token: &issued.access_token,
            token_type: "Bearer",
            expires_in: issued.expires_in,
            scope: &issued.scope,
        },
    )))
}

/// The `token` of an introspect or revoke body; missing, empty, not a string, or a body
/// that reads as nothing is "Token required." (EN-INTRO-1, EN-REVOKE-1).
async fn token_field(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<String> {
    let bytes = body
        .read(&ctx.headers, app.core.profile.http.max_body_bytes)
        .await?;
    match field(&body_fields(&ctx.headers, &bytes), "token") {
        Field::Text(token) => Ok(token.to_owned()),
        Field::Missing | Field::NotText => Err(ProtocolError::new(
            ErrorCode::TokenRequired,
            "Token required.",
        )),
    }
}

#[derive(Serialize)]
struct IntrospectData<'a> {
    active: bool,
    client_id: &'a str,
    scope: &'a str,
    exp: i64,
}

/// `POST /oauth/introspect` (EN-INTRO-1; no client authentication, EN-TOKEN-4).
pub async fn introspect(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let token = token_field(app, ctx, body).await?;
    let facts = app.core.introspect_client_token(&token)?;
    Ok(success(
        "Token is active.",
        IntrospectData {
            active: true,
            client_id: &facts.client_id,
            scope: &facts.scope,
            exp: facts.exp,
        },
    ))
}

/// `POST /oauth/revoke` (EN-REVOKE-1; no client authentication, EN-TOKEN-4).
pub async fn revoke(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let token = token_field(app, ctx, body).await?;
    app.core.revoke_client_token(&token)?;
    Ok(success("Token revoked.", ()))
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

    #[test]
    fn validation_lists_each_failing_field_once_in_order() {
        let fields = body_fields(
            &typed("application/json"),
            br#"{"client_id":7,"client_secret":"  ","scope":["x"]}"#,
        );
        let mut v = Validation::default();
        assert!(v.required(&fields, "client_id").is_none());
        assert!(v.required(&fields, "client_secret").is_none());
        assert!(v.optional(&fields, "scope").is_none());
        assert!(!v.passed());
        let e = v.into_error();
        assert_eq!(
            *e.invalid_fields.unwrap(),
            [
                (
                    "client_id",
                    "The client id field must be a string.".to_owned()
                ),
                (
                    "client_secret",
                    "The client secret field is required.".to_owned()
                ),
                ("scope", "The scope field must be a string.".to_owned()),
            ]
        );
    }
}
