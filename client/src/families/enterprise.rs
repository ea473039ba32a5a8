//! The enterprise family's answers (seed 003, clauses EN-*), one reader per layer, since
//! the family's bodies differ by where they come from:
//!
//! - the token endpoint: `{success: true, message, data: {access_token, token_type,
//!   expires_in, scope}}` ([`read_issued`], EN-TOKEN-1) or `{success: false, message,
//!   details?}` ([`read_refusal`], EN-TOKEN-2/3/4);
//! - introspect and revoke: `{success, message, data}` ([`read_outcome`],
//!   [`read_introspection`], EN-INTRO-1, EN-REVOKE-1);
//! - request validation: `{field: [message]}` ([`read_validation`], EN-VALID-1);
//! - `/api/*`: `{message}` ([`read_api_message`], [`read_tags`], EN-API-1, EN-RATE-1).
//!
//! Each reader answers the first thing wrong as an [`AnswerProblem`] naming the member;
//! members the contract does not name are extension members and are never a problem.
//! What the values must be (which message, which status) is the caller's business.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The first thing wrong with an answer as the layer's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerProblem {
    NotJson,
    /// A member is missing or of the wrong kind: where (`$.data.access_token`), what it
    /// must be, and what came (`missing`, or the value as received).
    Member {
        path: String,
        expected: &'static str,
        got: String,
    },
}

impl std::fmt::Display for AnswerProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerProblem::NotJson => write!(f, "the body is not JSON"),
            AnswerProblem::Member {
                path,
                expected,
                got,
            } => write!(f, "`{path}` is {got}, expected {expected}"),
        }
    }
}

/// A token the token endpoint issued (EN-TOKEN-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub message: String,
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    /// Space-separated; empty for a client allowed no scope.
    pub scope: String,
}

/// `details` of a token-endpoint refusal (EN-TOKEN-2, EN-TOKEN-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    pub error: String,
    pub error_description: Option<String>,
    pub message: Option<String>,
}

/// A token-endpoint refusal: `{success: false, message, details?}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub details: Option<Details>,
}

/// An introspect or revoke answer: `{success, message, data}` (`data` null when absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub success: bool,
    pub message: String,
    pub data: Value,
}

/// The `data` of a successful introspection (EN-INTRO-1, DECIDED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Introspection {
    pub active: bool,
    pub client_id: String,
    pub scope: String,
    /// Unix seconds.
    pub exp: i64,
}

fn parse(body: &[u8]) -> Result<Value, AnswerProblem> {
    serde_json::from_slice(body).map_err(|_| AnswerProblem::NotJson)
}

fn shown(v: Option<&Value>) -> String {
    match v {
        None => "missing".to_owned(),
        Some(v) => {
            let mut s = v.to_string();
            if s.len() > 80 {
                let mut cut = 80;
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
                s.push('…');
            }
            s
        }
    }
}

fn wrong(path: &str, expected: &'static str, got: Option<&Value>) -> AnswerProblem {
    AnswerProblem::Member {
        path: path.to_owned(),
        expected,
        got: shown(got),
    }
}

fn object<'v>(v: &'v Value, path: &str) -> Result<&'v Map<String, Value>, AnswerProblem> {
    v.as_object()
        .ok_or_else(|| wrong(path, "an object", Some(v)))
}

/// A member that must be a string (`nonblank`: with something besides whitespace).
fn string(
    map: &Map<String, Value>,
    path: &str,
    key: &str,
    nonblank: bool,
) -> Result<String, AnswerProblem> {
    let v = map.get(key);
    match v.and_then(Value::as_str) {
        Some(s) if !nonblank || !s.trim().is_empty() => Ok(s.to_owned()),
        _ => Err(wrong(
            &format!("{path}.{key}"),
            if nonblank {
                "a non-empty string"
            } else {
                "a string"
            },
            v,
        )),
    }
}

fn boolean(map: &Map<String, Value>, path: &str, key: &str) -> Result<bool, AnswerProblem> {
    let v = map.get(key);
    v.and_then(Value::as_bool)
        .ok_or_else(|| wrong(&format!("{path}.{key}"), "a boolean", v))
}

/// `success` must be exactly `want`.
fn success(map: &Map<String, Value>, want: bool) -> Result<(), AnswerProblem> {
    let v = map.get("success");
    if v.and_then(Value::as_bool) == Some(want) {
        Ok(())
    } else {
        Err(wrong("$.success", if want { "true" } else { "false" }, v))
    }
}

/// EN-TOKEN-1: `{success: true, message, data: {access_token, token_type: Bearer,
/// expires_in > 0, scope}}`. The token is opaque: any non-empty string without
/// whitespace (a JWT, a random string) reads.
pub fn read_issued(body: &[u8]) -> Result<Issued, AnswerProblem> {
    let v = parse(body)?;
    let top = object(&v, "$")?;
    success(top, true)?;
    let message = string(top, "$", "message", false)?;
    let data = object(top.get("data").unwrap_or(&Value::Null), "$.data")?;
    let access_token = string(data, "$.data", "access_token", true)?;
    if access_token.chars().any(char::is_whitespace) {
        return Err(wrong(
            "$.data.access_token",
            "a token without whitespace",
            data.get("access_token"),
        ));
    }
    let token_type = string(data, "$.data", "token_type", true)?;
    if !token_type.eq_ignore_ascii_case("bearer") {
        // RFC 6749 §7.1: the type is case-insensitive.
        return Err(wrong(
            "$.data.token_type",
            "\"Bearer\"",
            data.get("token_type"),
        ));
    }
    let expires_in = data
        .get("expires_in")
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            wrong(
                "$.data.expires_in",
                "a positive whole number of seconds",
                data.get("expires_in"),
            )
        })?;
    let scope = string(data, "$.data", "scope", false)?;
    Ok(Issued {
        message,
        access_token,
        token_type,
        expires_in,
        scope,
    })
}

/// EN-TOKEN-2/3/4: `{success: false, message, details?}`; `details`, when present, has a
/// string `error` and optionally string `error_description` and `message`.
pub fn read_refusal(body: &[u8]) -> Result<Refusal, AnswerProblem> {
    let v = parse(body)?;
    let top = object(&v, "$")?;
    success(top, false)?;
    let message = string(top, "$", "message", true)?;
    let details = match top.get("details") {
        None | Some(Value::Null) => None,
        Some(d) => {
            let d = object(d, "$.details")?;
            let optional = |key: &str| -> Result<Option<String>, AnswerProblem> {
                match d.get(key) {
                    None => Ok(None),
                    Some(_) => string(d, "$.details", key, false).map(Some),
                }
            };
            Some(Details {
                error: string(d, "$.details", "error", true)?,
                error_description: optional("error_description")?,
                message: optional("message")?,
            })
        }
    };
    Ok(Refusal { message, details })
}

/// EN-INTRO-1, EN-REVOKE-1: `{success, message, data}`; a refusal may leave `data` out.
pub fn read_outcome(body: &[u8]) -> Result<Outcome, AnswerProblem> {
    let v = parse(body)?;
    let top = object(&v, "$")?;
    let success = boolean(top, "$", "success")?;
    let message = string(top, "$", "message", true)?;
    Ok(Outcome {
        success,
        message,
        data: top.get("data").cloned().unwrap_or(Value::Null),
    })
}

/// EN-INTRO-1 (DECIDED success): `{success: true, message, data: {active, client_id,
/// scope, exp}}`.
pub fn read_introspection(body: &[u8]) -> Result<(Outcome, Introspection), AnswerProblem> {
    let outcome = read_outcome(body)?;
    let top = parse(body)?;
    success(object(&top, "$")?, true)?;
    let data = object(&outcome.data, "$.data")?;
    let exp = data
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| wrong("$.data.exp", "whole Unix seconds", data.get("exp")))?;
    let found = Introspection {
        active: boolean(data, "$.data", "active")?,
        client_id: string(data, "$.data", "client_id", true)?,
        scope: string(data, "$.data", "scope", false)?,
        exp,
    };
    Ok((outcome, found))
}

/// EN-VALID-1: `{field: ["message", …], …}`. Every member whose value is an array is a
/// field and must hold at least one non-empty string; members of other kinds are
/// extension members. Answers the fields and their messages.
pub fn read_validation(body: &[u8]) -> Result<BTreeMap<String, Vec<String>>, AnswerProblem> {
    let v = parse(body)?;
    let top = object(&v, "$")?;
    let mut fields = BTreeMap::new();
    for (field, value) in top {
        let Some(items) = value.as_array() else {
            continue;
        };
        let path = format!("$.{field}");
        let messages: Option<Vec<String>> = items
            .iter()
            .map(|m| {
                m.as_str()
                    .filter(|s| !s.trim().is_empty())
                    .map(str::to_owned)
            })
            .collect();
        match messages {
            Some(m) if !m.is_empty() => {
                fields.insert(field.clone(), m);
            }
            _ => {
                return Err(wrong(&path, "a non-empty array of messages", Some(value)));
            }
        }
    }
    Ok(fields)
}

/// `/api/*` errors (EN-API-1, EN-RATE-1): `{message}`.
pub fn read_api_message(body: &[u8]) -> Result<String, AnswerProblem> {
    let v = parse(body)?;
    string(object(&v, "$")?, "$", "message", true)
}

/// `GET /api/tags` (EN-API-1, DECIDED): `{data: ["tag", …]}`.
pub fn read_tags(body: &[u8]) -> Result<Vec<String>, AnswerProblem> {
    let v = parse(body)?;
    let top = object(&v, "$")?;
    let data = top.get("data");
    data.and_then(Value::as_array)
        .and_then(|items| {
            items
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>()
        })
        .ok_or_else(|| wrong("$.data", "an array of strings", data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(path: &str) -> impl Fn(&AnswerProblem) -> bool + '_ {
        move |p| matches!(p, AnswerProblem::Member { path: got, .. } if got == path)
    }

    #[test]
    fn an_issued_token_reads_with_extension_members() {
        let body = br#"{"success":true,"message":"Access token issued.","data":{"access_token":"eyJ.a.b","token_type":"bearer","expires_in":3600,"scope":"tags:read","x_trace":1},"meta":{}}"#;
        let t = read_issued(body).unwrap();
        assert_eq!(t.access_token, "eyJ.a.b");
        assert_eq!(t.expires_in, 3600);
        assert_eq!(t.scope, "tags:read");
        // A client allowed no scope gets an empty scope.
        let narrow = br#"{"success":true,"message":"m","data":{"access_token":"t","token_type":"Bearer","expires_in":60,"scope":""}}"#;
        assert_eq!(read_issued(narrow).unwrap().scope, "");
    }

    #[test]
    fn each_broken_member_of_an_issued_token_is_named() {
        let cases: [(&[u8], &str); 7] = [
            (br#"{"success":false,"message":"m","data":{}}"#, "$.success"),
            (br#"{"success":true,"data":{}}"#, "$.message"),
            (br#"{"success":true,"message":"m"}"#, "$.data"),
            (
                br#"{"success":true,"message":"m","data":{"access_token":"a b","token_type":"Bearer","expires_in":1,"scope":""}}"#,
                "$.data.access_token",
            ),
            (
                br#"{"success":true,"message":"m","data":{"access_token":"a","token_type":"MAC","expires_in":1,"scope":""}}"#,
                "$.data.token_type",
            ),
            (
                br#"{"success":true,"message":"m","data":{"access_token":"a","token_type":"Bearer","expires_in":"3600","scope":""}}"#,
                "$.data.expires_in",
            ),
            (
                br#"{"success":true,"message":"m","data":{"access_token":"a","token_type":"Bearer","expires_in":3600}}"#,
                "$.data.scope",
            ),
        ];
        for (body, path) in cases {
            let p = read_issued(body).unwrap_err();
            assert!(member(path)(&p), "{}: {p}", String::from_utf8_lossy(body));
        }
        assert_eq!(read_issued(b"<html>"), Err(AnswerProblem::NotJson));
    }

    #[test]
    fn a_refusal_reads_with_and_without_details() {
        let body = br#"{"success":false,"message":"Client authentication failed. Check client ID/secret.","details":{"error":"invalid_client","error_description":"Client authentication failed","message":"Client authentication failed","hint":"x"}}"#;
        let r = read_refusal(body).unwrap();
        let d = r.details.unwrap();
        assert_eq!(d.error, "invalid_client");
        assert_eq!(d.message.as_deref(), Some("Client authentication failed"));
        let r = read_refusal(br#"{"success":false,"message":"Inactive enterprise."}"#).unwrap();
        assert_eq!(r.details, None);
        let p =
            read_refusal(br#"{"success":false,"message":"m","details":{"error":7}}"#).unwrap_err();
        assert!(member("$.details.error")(&p), "{p}");
        let p = read_refusal(br#"{"success":"false","message":"m"}"#).unwrap_err();
        assert_eq!(p.to_string(), "`$.success` is \"false\", expected false");
        let p = read_refusal(br#"{"success":false,"message":" "}"#).unwrap_err();
        assert!(member("$.message")(&p), "{p}");
    }

    #[test]
    fn introspection_and_outcomes_read() {
        let body = br#"{"success":true,"message":"Token is active.","data":{"active":true,"client_id":"en-acme","scope":"tags:read","exp":1790000000,"iat":1}}"#;
        let (o, i) = read_introspection(body).unwrap();
        assert!(o.success && i.active);
        assert_eq!(i.exp, 1_790_000_000);
        let p = read_introspection(
            br#"{"success":true,"message":"m","data":{"active":true,"client_id":"c","scope":"","exp":"soon"}}"#,
        )
        .unwrap_err();
        assert!(member("$.data.exp")(&p), "{p}");
        let o = read_outcome(br#"{"success":false,"message":"Token required."}"#).unwrap();
        assert!(!o.success);
        assert_eq!(o.data, Value::Null);
        let o =
            read_outcome(br#"{"success":true,"message":"Token revoked.","data":null}"#).unwrap();
        assert!(o.success);
        let p = read_outcome(br#"{"message":"m"}"#).unwrap_err();
        assert!(member("$.success")(&p), "{p}");
    }

    #[test]
    fn a_validation_map_reads_fields_and_tolerates_other_members() {
        let body = br#"{"client_id":["The client id field is required."],"client_secret":["The client secret field is required.","x"],"trace":"abc"}"#;
        let f = read_validation(body).unwrap();
        assert_eq!(
            f.keys().collect::<Vec<_>>(),
            vec!["client_id", "client_secret"]
        );
        assert_eq!(f["client_secret"].len(), 2);
        for broken in [&br#"{"client_id":[]}"#[..], br#"{"client_id":[7]}"#] {
            let p = read_validation(broken).unwrap_err();
            assert!(member("$.client_id")(&p), "{p}");
        }
        assert!(read_validation(b"[1]").is_err());
    }

    #[test]
    fn api_messages_and_tags_read() {
        assert_eq!(
            read_api_message(br#"{"message":"Unauthenticated.","x":1}"#).unwrap(),
            "Unauthenticated."
        );
        assert!(read_api_message(br#"{"error":"x"}"#).is_err());
        assert_eq!(
            read_tags(br#"{"data":["a","b"],"links":{}}"#).unwrap(),
            vec!["a", "b"]
        );
        let p = read_tags(br#"{"data":["a",1]}"#).unwrap_err();
        assert!(member("$.data")(&p), "{p}");
    }
}
