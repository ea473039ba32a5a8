//! Reading requests: bodies within the profile's size limit, forms and JSON into
//! [`Params`], HTTP Basic, bearer tokens, cookies, and the client IP (PP-RATE-4).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hyper::HeaderMap;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE};
use serde_json::Value;

use crate::core::Params;
use crate::core::client_auth::ClientCredentials;
use crate::core::error::{ErrorCode, ProtocolError, ProtocolResult};

/// How long a client may take to send a body, so a stalled upload cannot hold a
/// connection and its task forever.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the whole body, refusing more than `max` bytes with 413 `invalid_request`.
/// A request's body: still on the wire, or already read by the shell because a rate
/// limit keyed by client needed the `client_id` in it (PP-RATE-4). The shell keeps what
/// it parsed, so an OAuth body is parsed once per request (issue 7 item 4).
pub enum RequestBody {
    Unread(Incoming),
    Read(ProtocolResult<Bytes>),
    /// Read and parsed as an OAuth request by the family's own parser.
    OAuth(Bytes, ProtocolResult<OAuthInput>),
}

/// An OAuth request's parameters and client credentials.
pub type OAuthInput = (Params, ClientCredentials);

impl RequestBody {
    /// The whole body, at most `max` bytes (413 past it).
    pub fn read(self, headers: &HeaderMap, max: usize) -> ReadBody {
        match self {
            RequestBody::Unread(body) => read_body(headers, body, max),
            RequestBody::Read(read) => ReadBody::done(read),
            RequestBody::OAuth(bytes, _) => ReadBody::done(Ok(bytes)),
        }
    }

    /// The body as an OAuth request: the shell's parse when it made one, else `parse` of
    /// the body read now.
    pub async fn oauth_input(
        self,
        headers: &HeaderMap,
        max: usize,
        parse: impl FnOnce(&HeaderMap, &[u8]) -> ProtocolResult<OAuthInput>,
    ) -> ProtocolResult<OAuthInput> {
        match self {
            RequestBody::OAuth(_, input) => input,
            other => {
                let bytes = other.read(headers, max).await?;
                parse(headers, &bytes)
            }
        }
    }
}

/// Reads `body` whole, at most `max` bytes (413 past it, also when `Content-Length` says
/// so before anything is read).
pub fn read_body(headers: &HeaderMap, body: Incoming, max: usize) -> ReadBody {
    if let Some(len) = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > max as u64
    {
        return ReadBody::done(Err(too_large(max)));
    }
    ReadBody(Reading::Frames {
        body,
        first: None,
        joined: None,
        len: 0,
        max,
        turns: 0,
        deadline: None,
    })
}

fn too_large(max: usize) -> ProtocolError {
    ProtocolError::invalid_request(format!("The request body is larger than {max} bytes."))
        .with_status(413)
}

/// The future of a whole body, written out by hand: every handler with a body awaits
/// one, inside futures that hyper and the shell move, and an `async fn` reading it with a
/// timeout was 680 bytes where this is about 130 (issue 20 item 8).
///
/// The data frames are kept as they come when there is one (no copy) and joined in one
/// buffer when there are more. A body already in hyper's buffer (the common case: small
/// bodies arrive with their head) is taken without arming a timer: hyper hands it over
/// within a turn of the connection's task, so the first wait only yields that turn. A body
/// still missing then gets [`BODY_READ_TIMEOUT`], so a stalled upload cannot hold a
/// connection and its task forever.
pub struct ReadBody(Reading);

enum Reading {
    Frames {
        body: Incoming,
        first: Option<Bytes>,
        joined: Option<bytes::BytesMut>,
        len: usize,
        max: usize,
        /// Waits so far.
        turns: u8,
        /// Armed at the second wait; boxed, as it is seldom needed.
        deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    },
    Done(Option<ProtocolResult<Bytes>>),
}

impl ReadBody {
    fn done(read: ProtocolResult<Bytes>) -> ReadBody {
        ReadBody(Reading::Done(Some(read)))
    }
}

impl std::future::Future for ReadBody {
    type Output = ProtocolResult<Bytes>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<ProtocolResult<Bytes>> {
        use hyper::body::Body as _;
        use std::task::Poll;
        let broken = || {
            Err(ProtocolError::invalid_request(
                "The request body could not be read.",
            ))
        };
        let (body, first, joined, len, max, turns, deadline) = match &mut self.0 {
            Reading::Done(read) => return Poll::Ready(read.take().unwrap_or_else(broken)),
            Reading::Frames {
                body,
                first,
                joined,
                len,
                max,
                turns,
                deadline,
            } => (body, first, joined, len, max, turns, deadline),
        };
        loop {
            match std::pin::Pin::new(&mut *body).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    *len += data.len();
                    if *len > *max {
                        return Poll::Ready(Err(too_large(*max)));
                    }
                    match (&mut *first, &mut *joined) {
                        (_, Some(all)) => all.extend_from_slice(&data),
                        (Some(one), None) => {
                            let mut all = bytes::BytesMut::with_capacity(*len);
                            all.extend_from_slice(one);
                            all.extend_from_slice(&data);
                            *joined = Some(all);
                        }
                        (None, None) => *first = Some(data),
                    }
                }
                Poll::Ready(Some(Err(_))) => return Poll::Ready(broken()),
                Poll::Ready(None) => {
                    let whole = match (joined.take(), first.take()) {
                        (Some(all), _) => all.freeze(),
                        (None, one) => one.unwrap_or_default(),
                    };
                    return Poll::Ready(Ok(whole));
                }
                Poll::Pending => {
                    *turns = turns.saturating_add(1);
                    if *turns == 1 {
                        // Yield one turn: hyper hands over what it has buffered meanwhile.
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    let timer = deadline
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(BODY_READ_TIMEOUT)));
                    if timer.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Err(ProtocolError::invalid_request(
                            "The request body did not arrive in time; send it whole, promptly.",
                        )));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// Whether the media type of `Content-Type` (without parameters, any case) is `expected`
/// (lower case): on the bytes, since hot paths ask it.
pub fn media_type_is(headers: &HeaderMap, expected: &str) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return false;
    };
    let value = value.as_bytes();
    if value == expected.as_bytes() {
        return true;
    }
    // As `HeaderValue::to_str` judges: a value with other bytes names no media type.
    if !value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return false;
    }
    let media = value
        .iter()
        .position(|&b| b == b';')
        .map_or(value, |end| &value[..end]);
    media.trim_ascii().eq_ignore_ascii_case(expected.as_bytes())
}

/// The media type of `Content-Type`, lower case, without parameters (borrowed when it is
/// lower case already, as it nearly always is).
pub fn media_type(headers: &HeaderMap) -> Option<std::borrow::Cow<'_, str>> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let media = value.split(';').next().unwrap_or("").trim();
    Some(if media.bytes().any(|b| b.is_ascii_uppercase()) {
        media.to_ascii_lowercase().into()
    } else {
        media.into()
    })
}

/// Parses an OAuth endpoint's body: a form or a JSON object (PP-TOKEN-4). Repeated
/// parameters are refused (RFC 6749 §3.2).
pub fn parse_params(headers: &HeaderMap, body: &[u8]) -> ProtocolResult<Params> {
    let wrong_type = || {
        ProtocolError::invalid_request(
            "Send the body as application/x-www-form-urlencoded or application/json.",
        )
    };
    if media_type_is(headers, "application/x-www-form-urlencoded") {
        parse_form(body)
    } else if media_type_is(headers, "application/json") {
        parse_json_params(body)
    } else if body.is_empty() && media_type(headers).is_none() {
        Ok(Params::new())
    } else {
        Err(wrong_type())
    }
}

pub fn parse_form(body: &[u8]) -> ProtocolResult<Params> {
    if std::str::from_utf8(body).is_err() {
        return Err(ProtocolError::invalid_request(
            "The form body is not valid UTF-8.",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| ProtocolError::invalid_request("The form body is malformed."))?;
    let mut params = Params::new();
    for (k, v) in pairs {
        if params.contains_key(&k) {
            return Err(repeated(&k));
        }
        params.insert(k, v);
    }
    Ok(params)
}

/// A form or JSON body that names a parameter twice: refused alike (RFC 6749 §3.2; issue
/// 12 item 5), never last-wins.
fn repeated(key: &str) -> ProtocolError {
    ProtocolError::invalid_request(format!("The parameter `{key}` is repeated."))
}

/// A JSON object's members in order, repeats kept (`serde_json::Value` keeps the last).
struct JsonMembers(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for JsonMembers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = JsonMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<JsonMembers, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(JsonMembers(members))
            }
        }
        d.deserialize_map(Members)
    }
}

/// Form pairs in order, repeats kept (for checkbox lists on the developer pages).
pub fn form_pairs(body: &[u8]) -> ProtocolResult<Vec<(String, String)>> {
    if std::str::from_utf8(body).is_err() {
        return Err(ProtocolError::invalid_request(
            "The form body is not valid UTF-8.",
        ));
    }
    serde_urlencoded::from_bytes(body)
        .map_err(|_| ProtocolError::invalid_request("The form body is malformed."))
}

pub fn parse_json(body: &[u8]) -> ProtocolResult<Value> {
    if body.is_empty() {
        return Err(ProtocolError::invalid_request(
            "The body is empty; send a JSON object.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        if std::str::from_utf8(body).is_err() {
            ProtocolError::invalid_request("The body is not valid UTF-8.")
        } else {
            ProtocolError::invalid_request(format!("The body is not valid JSON: {e}."))
        }
    })
}

fn parse_json_params(body: &[u8]) -> ProtocolResult<Params> {
    let Value::Object(_) = parse_json(body)? else {
        return Err(ProtocolError::invalid_request(
            "The JSON body must be an object.",
        ));
    };
    // Valid JSON and an object: read again keeping repeated members, to refuse them.
    let JsonMembers(members) = serde_json::from_slice(body)
        .map_err(|_| ProtocolError::invalid_request("The JSON body must be an object."))?;
    let mut params = Params::new();
    let mut seen = std::collections::BTreeSet::new();
    for (k, v) in members {
        if !seen.insert(k.clone()) {
            return Err(repeated(&k));
        }
        let v = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => {
                return Err(ProtocolError::invalid_request(format!(
                    "`{k}` must be a string."
                )));
            }
        };
        params.insert(k, v);
    }
    Ok(params)
}

/// The credentials of an `Authorization: Basic` header, form-urldecoded as RFC 6749
/// §2.3.1 asks. A malformed header is `invalid_client`.
pub fn basic_credentials(headers: &HeaderMap) -> ProtocolResult<Option<(String, String)>> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    // Auth schemes are case-insensitive (RFC 9110 §11.1).
    let Some(encoded) = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest)
    else {
        return Ok(None);
    };
    let malformed = || {
        let mut e = ProtocolError::new(
            ErrorCode::InvalidClient,
            "The HTTP Basic credentials are malformed.",
        );
        e.basic_challenge = true;
        e
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((unescape(id), unescape(secret))))
}

/// An OAuth request's parameters with its client credentials: HTTP Basic and the body's
/// `client_id` and `client_secret` (RFC 6749 §2.3.1), for the family's rules to judge.
pub fn with_client_credentials(headers: &HeaderMap, params: Params) -> ProtocolResult<OAuthInput> {
    let creds = ClientCredentials::from_parts(
        basic_credentials(headers)?,
        params.get("client_id").map(String::as_str),
        params.get("client_secret").map(String::as_str),
    )?;
    Ok((params, creds))
}

/// The bearer token of `Authorization: Bearer <token>`; `None` when missing or malformed
/// (both are 401 `invalid_token`, PP-API-1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the client asked for JSON rather than a page.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let accept_json = headers
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    accept_json || media_type_is(headers, "application/json")
}

/// The query's parameters and the names it repeats (the first value of each is kept).
pub fn query_params_with_repeats(query: Option<&str>) -> (Params, Vec<String>) {
    let mut params = Params::new();
    let mut repeated = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if params.contains_key(k.as_ref()) {
            if !repeated.iter().any(|r| r == k.as_ref()) {
                repeated.push(k.into_owned());
            }
        } else {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    (params, repeated)
}

pub fn query_params(query: Option<&str>) -> Params {
    let mut params = Params::new();
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        params
            .entry(k.into_owned())
            .or_insert_with(|| v.into_owned());
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forms_and_json_both_parse_and_others_are_refused() {
        let form = headers(&[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )]);
        assert_eq!(parse_params(&form, b"a=1&b=x+y").unwrap()["b"], "x y");
        assert!(parse_params(&form, b"a=1&a=2").is_err());
        assert!(parse_params(&form, b"a=\xff").is_err());
        let json = headers(&[("content-type", "application/json")]);
        assert_eq!(
            parse_params(&json, br#"{"a":"1","n":5}"#).unwrap()["n"],
            "5"
        );
        assert!(parse_params(&json, b"{").is_err());
        assert!(parse_params(&json, b"[1]").is_err());
        let xml = headers(&[("content-type", "text/xml")]);
        assert!(parse_params(&xml, b"<a/>").is_err());
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let value = format!("Basic {}", STANDARD.encode("pp-web:pp%2Bweb-secret"));
        let h = headers(&[("authorization", &value)]);
        assert_eq!(
            basic_credentials(&h).unwrap(),
            Some(("pp-web".into(), "pp+web-secret".into()))
        );
        let bad = headers(&[("authorization", "Basic !!!")]);
        assert_eq!(
            basic_credentials(&bad).unwrap_err().code,
            ErrorCode::InvalidClient
        );
    }

    #[test]
    fn bearer_tokens_and_cookies() {
        let h = headers(&[
            ("authorization", "Bearer abc"),
            ("cookie", "x=1; pp_session=s2"),
        ]);
        assert_eq!(bearer_token(&h), Some("abc"));
        assert_eq!(cookie(&h, "pp_session"), Some("s2"));
        assert_eq!(bearer_token(&headers(&[("authorization", "Bearer")])), None);
        assert_eq!(
            bearer_token(&headers(&[("authorization", "bearer   abc\t")])),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Bearer a b")])),
            None
        );
        let mut odd = HeaderMap::new();
        odd.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer abc\xc3\xa9").unwrap(),
        );
        assert_eq!(bearer_token(&odd), None, "visible ASCII only");
        assert_eq!(
            bearer_token(&headers(&[("authorization", "Token abc")])),
            None
        );
    }
}
