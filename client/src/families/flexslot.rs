//! Flexslot's answers as an RFC client reads them (seed 004, FX-*): the token endpoint's
//! error body (RFC 6749 §5.2), the authorization endpoint's error redirect (RFC 6749
//! §4.1.2.1), the resource server's `WWW-Authenticate` challenges (RFC 6750 §3, RFC 7235
//! §2.1 syntax) and HTTP Basic client authentication with the form-encoding RFC 6749
//! §2.3.1 asks for. Also the request builders whose client authentication differs from
//! the shared flows': a confidential client authenticates with Basic only, a public one
//! sends `client_id` in the body (FX-TOKEN-3). Readers judge nothing beyond the RFC
//! syntax: which code a clause expects is the caller's business.

use base64::Engine as _;
use profile::Profile;
use serde_json::Value;

use crate::flows::ClientAuth;
use crate::request::{Exchange, Req};

// --- RFC 6749 §5.2: the token endpoint's error body ---

/// A token-endpoint error body as received: `error`, `error_description`, `error_uri`;
/// extension members are kept in `body` and never a problem.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenError {
    /// The body as JSON, if it is JSON.
    pub body: Option<Value>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
}

/// The first thing wrong with an answer as an RFC 6749 §5.2 error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenErrorProblem {
    NotJson,
    /// The body is JSON but not an object.
    NotObject,
    /// `error` is missing or not a string; carries it as received (`null` when missing).
    NoError(String),
    /// `error` has characters outside `%x20-21 / %x23-5B / %x5D-7E` (or is empty).
    ErrorCharset(String),
    /// `error_description` is there but not a string of that character set.
    Description(String),
    /// `error_uri` is there but not a string.
    Uri(String),
}

impl std::fmt::Display for TokenErrorProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenErrorProblem::NotJson => write!(f, "RFC 6749 §5.2: the error body is not JSON"),
            TokenErrorProblem::NotObject => {
                write!(f, "RFC 6749 §5.2: the error body is not a JSON object")
            }
            TokenErrorProblem::NoError(e) => {
                write!(f, "RFC 6749 §5.2: `error` is {e}, not a string")
            }
            TokenErrorProblem::ErrorCharset(e) => write!(
                f,
                "RFC 6749 §5.2: `error` {e:?} has characters outside %x20-21 / %x23-5B / %x5D-7E"
            ),
            TokenErrorProblem::Description(d) => write!(
                f,
                "RFC 6749 §5.2: `error_description` {d} is not a string of %x20-21 / %x23-5B / %x5D-7E"
            ),
            TokenErrorProblem::Uri(u) => {
                write!(f, "RFC 6749 §5.2: `error_uri` {u} is not a string")
            }
        }
    }
}

/// RFC 6749 §5.2's character set of `error` and `error_description`.
fn rfc6749_text(s: &str) -> bool {
    s.bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

impl TokenError {
    pub fn read(body: &[u8]) -> TokenError {
        let body: Option<Value> = serde_json::from_slice(body).ok();
        let member = |name: &str| {
            body.as_ref()
                .and_then(|b| b.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        TokenError {
            error: member("error"),
            error_description: member("error_description"),
            error_uri: member("error_uri"),
            body,
        }
    }

    pub fn of_exchange(ex: &Exchange) -> TokenError {
        TokenError::read(ex.body.as_bytes())
    }

    /// The first thing the body breaks of RFC 6749 §5.2, if any.
    pub fn problem(&self) -> Option<TokenErrorProblem> {
        let Some(body) = &self.body else {
            return Some(TokenErrorProblem::NotJson);
        };
        let Some(obj) = body.as_object() else {
            return Some(TokenErrorProblem::NotObject);
        };
        let Some(error) = &self.error else {
            let got = obj.get("error").unwrap_or(&Value::Null).to_string();
            return Some(TokenErrorProblem::NoError(got));
        };
        if error.is_empty() || !rfc6749_text(error) {
            return Some(TokenErrorProblem::ErrorCharset(error.clone()));
        }
        if let Some(d) = obj.get("error_description")
            && !d.as_str().is_some_and(rfc6749_text)
        {
            return Some(TokenErrorProblem::Description(d.to_string()));
        }
        if let Some(u) = obj.get("error_uri")
            && !u.is_string()
        {
            return Some(TokenErrorProblem::Uri(u.to_string()));
        }
        None
    }
}

// --- RFC 6749 §4.1.2.1: the authorization endpoint's error redirect ---

/// A redirect back to the client, read as RFC 6749 §4.1.2 / §4.1.2.1 describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectAnswer {
    /// Scheme, host, port and path: what is compared with the registered redirect URI.
    pub base: String,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    pub error_uri: Option<String>,
    pub state: Option<String>,
    /// Every query parameter, in order (the client's own ones and extensions included).
    pub params: Vec<(String, String)>,
}

impl RedirectAnswer {
    /// Reads a `Location`; `None` when it is not an absolute URL.
    pub fn read(location: &str) -> Option<RedirectAnswer> {
        let url = url::Url::parse(location).ok()?;
        let params: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let origin = url.origin().ascii_serialization();
        Some(RedirectAnswer {
            base: format!("{origin}{}", url.path()),
            code: get("code"),
            error: get("error"),
            error_description: get("error_description"),
            error_uri: get("error_uri"),
            state: get("state"),
            params,
        })
    }
}

// --- RFC 6750 §3 / RFC 7235 §2.1: WWW-Authenticate challenges ---

/// One challenge of a `WWW-Authenticate` header: its scheme as sent and its auth-params
/// (names lower-cased, quoted strings unquoted) or its token68.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
    pub token68: Option<String>,
}

impl Challenge {
    /// The scheme compared case-insensitively (RFC 7235 §2.1).
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// An auth-param by name, case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every challenge of a header value, in order, or why it does not parse.
    pub fn parse_all(header: &str) -> Result<Vec<Challenge>, String> {
        ChallengeParser {
            s: header.as_bytes(),
            at: 0,
        }
        .challenges()
    }

    /// The first challenge of `scheme` in any of `headers` (one response may send
    /// several `WWW-Authenticate` headers).
    pub fn find<'h>(
        headers: impl IntoIterator<Item = &'h str>,
        scheme: &str,
    ) -> Result<Option<Challenge>, String> {
        for h in headers {
            if let Some(c) = Challenge::parse_all(h)?.into_iter().find(|c| c.is(scheme)) {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}

/// Every value of a response header, in order.
pub fn header_values<'e>(ex: &'e Exchange, name: &str) -> Vec<&'e str> {
    let name = name.to_ascii_lowercase();
    ex.headers
        .iter()
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

struct ChallengeParser<'a> {
    s: &'a [u8],
    at: usize,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl ChallengeParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }
    fn token(&mut self) -> String {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.at]).into_owned()
    }
    fn quoted(&mut self) -> Result<String, String> {
        self.at += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("a quoted string is not closed".into()),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    let next = self.s.get(self.at + 1).copied();
                    let Some(c) = next else {
                        return Err("a quoted string ends in a backslash".into());
                    };
                    out.push(c);
                    self.at += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }
    /// Skips commas and whitespace between list elements (RFC 7230 §7 allows empties).
    fn skip_separators(&mut self) -> bool {
        let mut saw_comma = false;
        while let Some(b) = self.peek() {
            match b {
                b',' => saw_comma = true,
                b' ' | b'\t' => {}
                _ => break,
            }
            self.at += 1;
        }
        saw_comma
    }
    fn challenges(mut self) -> Result<Vec<Challenge>, String> {
        let mut out: Vec<Challenge> = Vec::new();
        self.skip_separators();
        while self.peek().is_some() {
            let scheme = self.token();
            if scheme.is_empty() {
                return Err(format!(
                    "expected an auth-scheme at byte {}: {:?}",
                    self.at,
                    String::from_utf8_lossy(self.s)
                ));
            }
            let mut ch = Challenge {
                scheme,
                params: Vec::new(),
                token68: None,
            };
            let had_space = matches!(self.peek(), Some(b' ' | b'\t'));
            self.skip_ws();
            let mut next_started = false;
            if had_space && self.peek().is_some_and(|b| b != b',') {
                if let Some(t) = self.token68() {
                    ch.token68 = Some(t);
                } else {
                    next_started = self.params(&mut ch)?;
                    if ch.params.is_empty() {
                        return Err(format!(
                            "unexpected {:?} after the scheme {}",
                            self.peek().map(char::from),
                            ch.scheme
                        ));
                    }
                }
            }
            out.push(ch);
            self.skip_ws();
            if !next_started && self.peek().is_some() && !self.skip_separators() {
                return Err(format!(
                    "expected ',' between challenges at byte {}",
                    self.at
                ));
            }
        }
        Ok(out)
    }
    /// A token68 (RFC 7235 §2.1) standing alone up to a ',' or the end; otherwise
    /// nothing is consumed.
    fn token68(&mut self) -> Option<String> {
        let start = self.at;
        let mut at = start;
        while self
            .s
            .get(at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
        {
            at += 1;
        }
        if at == start {
            return None;
        }
        while self.s.get(at) == Some(&b'=') {
            at += 1;
        }
        let end = at;
        while matches!(self.s.get(at), Some(b' ' | b'\t')) {
            at += 1;
        }
        if !matches!(self.s.get(at), None | Some(b',')) {
            return None;
        }
        self.at = end;
        Some(String::from_utf8_lossy(&self.s[start..end]).into_owned())
    }
    /// `#auth-param`, up to the end or the next challenge (a token not followed by `=`);
    /// answers whether the next challenge started after a comma.
    fn params(&mut self, ch: &mut Challenge) -> Result<bool, String> {
        loop {
            let mark = self.at;
            let name = self.token();
            self.skip_ws();
            if name.is_empty() || self.peek() != Some(b'=') {
                // The next challenge starts here (after the comma consumed below).
                self.at = mark;
                return Ok(!ch.params.is_empty());
            }
            self.at += 1;
            self.skip_ws();
            let value = match self.peek() {
                Some(b'"') => self.quoted()?,
                _ => {
                    let v = self.token();
                    if v.is_empty() {
                        return Err(format!("the auth-param {name} has no value"));
                    }
                    v
                }
            };
            ch.params.push((name.to_ascii_lowercase(), value));
            self.skip_ws();
            if !self.skip_separators() || self.peek().is_none() {
                return Ok(false);
            }
        }
    }
}

// --- RFC 6749 §2.3.1: HTTP Basic client authentication ---

/// The `Authorization` value for HTTP Basic with the client id and secret each
/// form-encoded first, as RFC 6749 §2.3.1 asks (`a b:c` travels as `a+b:c`, before
/// Base64).
pub fn basic_authorization(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| -> String { url::form_urlencoded::byte_serialize(s.as_bytes()).collect() };
    let raw = format!("{}:{}", enc(client_id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Adds the client's authentication to a form request the flexslot way (FX-TOKEN-3): a
/// confidential client (one with a secret) by HTTP Basic only, a public client by
/// `client_id` in the body.
pub fn authenticate(req: Req, auth: &ClientAuth, pairs: &[(&str, &str)]) -> Req {
    let mut body: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    match &auth.secret {
        Some(secret) => req
            .header(
                "authorization",
                basic_authorization(&auth.client_id, secret),
            )
            .client(&auth.client_id)
            .form(body),
        None => {
            body.push(("client_id".to_owned(), auth.client_id.clone()));
            req.form(body)
        }
    }
}

/// A form POST to a named endpoint (`token`, `revoke`, `introspect`) with the client's
/// flexslot authentication.
pub fn endpoint_req(
    profile: &Profile,
    endpoint: &str,
    auth: &ClientAuth,
    pairs: &[(&str, &str)],
) -> Req {
    authenticate(Req::post(profile.path(endpoint)), auth, pairs)
}

/// The code redemption (RFC 6749 §4.1.3) with flexslot's client authentication.
pub fn redeem_req(
    profile: &Profile,
    auth: &ClientAuth,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Req {
    endpoint_req(
        profile,
        "token",
        auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
    )
}

/// A refresh (RFC 6749 §6) with flexslot's client authentication.
pub fn refresh_req(profile: &Profile, auth: &ClientAuth, refresh: &str) -> Req {
    endpoint_req(
        profile,
        "token",
        auth,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_error_body_reads_clean_with_extension_members_and_error_uri() {
        let e = TokenError::read(
            br#"{"error":"invalid_grant","error_description":"The code was used.","error_uri":"https://x/e","trace":7}"#,
        );
        assert_eq!(e.error.as_deref(), Some("invalid_grant"));
        assert_eq!(e.error_uri.as_deref(), Some("https://x/e"));
        assert_eq!(e.problem(), None);
        // error_description is optional (RFC 6749 §5.2).
        assert_eq!(
            TokenError::read(br#"{"error":"invalid_client"}"#).problem(),
            None
        );
    }

    #[test]
    fn each_broken_member_is_named() {
        let cases: [(&[u8], TokenErrorProblem); 6] = [
            (b"<html>", TokenErrorProblem::NotJson),
            (b"[1]", TokenErrorProblem::NotObject),
            (
                br#"{"message":"m"}"#,
                TokenErrorProblem::NoError("null".into()),
            ),
            (
                br#"{"error":"bad \"quote\""}"#,
                TokenErrorProblem::ErrorCharset("bad \"quote\"".into()),
            ),
            (
                br#"{"error":"e","error_description":5}"#,
                TokenErrorProblem::Description("5".into()),
            ),
            (
                br#"{"error":"e","error_uri":false}"#,
                TokenErrorProblem::Uri("false".into()),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(
                TokenError::read(body).problem(),
                Some(want),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn challenges_parse_in_any_case_order_and_quoting() {
        let c = Challenge::parse_all(
            r#"bearer error_description="The token \"x\" expired, sorry", ERROR=invalid_token, realm="flexslot""#,
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].is("Bearer"));
        assert_eq!(c[0].param("error"), Some("invalid_token"));
        assert_eq!(c[0].param("realm"), Some("flexslot"));
        assert_eq!(
            c[0].param("error_description"),
            Some(r#"The token "x" expired, sorry"#)
        );
    }

    #[test]
    fn a_bare_challenge_has_no_params_and_several_challenges_split() {
        let c = Challenge::parse_all("Bearer").unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].params.is_empty());
        let c = Challenge::parse_all(
            r#"Basic realm="a, b", Bearer realm="x", error="insufficient_scope", scope="profile""#,
        )
        .unwrap();
        assert_eq!(c.len(), 2);
        assert!(c[0].is("basic"));
        assert_eq!(c[0].param("realm"), Some("a, b"));
        assert_eq!(c[1].param("scope"), Some("profile"));
        let c = Challenge::parse_all("Negotiate abc123==, Bearer").unwrap();
        assert_eq!(c[0].token68.as_deref(), Some("abc123=="));
        assert!(c[1].is("bearer"));
        let found = Challenge::find(["Basic realm=x", "Bearer error=invalid_token"], "BEARER")
            .unwrap()
            .unwrap();
        assert_eq!(found.param("error"), Some("invalid_token"));
    }

    #[test]
    fn broken_challenges_are_errors_not_panics() {
        for bad in [
            r#"Bearer realm="open"#,
            "Bearer a=b c",
            "=x",
            r#"Bearer a="\"#,
        ] {
            assert!(Challenge::parse_all(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_redirects_read_code_state_and_extensions() {
        let r = RedirectAnswer::read(
            "http://127.0.0.1:8765/callback?error=access_denied&error_description=The+user+said+no&state=s%201&iss=x",
        )
        .unwrap();
        assert_eq!(r.base, "http://127.0.0.1:8765/callback");
        assert_eq!(r.error.as_deref(), Some("access_denied"));
        assert_eq!(r.error_description.as_deref(), Some("The user said no"));
        assert_eq!(r.state.as_deref(), Some("s 1"));
        assert_eq!(r.code, None);
        assert!(r.params.iter().any(|(k, _)| k == "iss"));
        assert!(RedirectAnswer::read("/relative").is_none());
    }

    #[test]
    fn basic_form_encodes_id_and_secret_first() {
        let v = basic_authorization("a b", "p:w%");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(v.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), "a+b:p%3Aw%25");
    }

    #[test]
    fn confidential_clients_use_basic_only_and_public_ones_the_body() {
        let p = profile::builtin::find("flexslot").unwrap().profile();
        let conf = ClientAuth::new("fx-web", Some("s"));
        let req = redeem_req(&p, &conf, "c", "http://cb", "v");
        assert!(
            req.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v.starts_with("Basic "))
        );
        let crate::ReqBody::Form(pairs) = &req.body else {
            panic!("a form")
        };
        assert!(
            !pairs
                .iter()
                .any(|(k, _)| k == "client_id" || k == "client_secret")
        );
        assert_eq!(req.client_id.as_deref(), Some("fx-web"));
        let public = ClientAuth::new("fx-spa", None);
        let req = refresh_req(&p, &public, "r");
        assert!(req.headers.is_empty());
        let crate::ReqBody::Form(pairs) = &req.body else {
            panic!("a form")
        };
        assert!(pairs.contains(&("client_id".to_owned(), "fx-spa".to_owned())));
    }
}
