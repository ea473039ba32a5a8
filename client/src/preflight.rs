//! Before a run: can this target be checked against this profile at all? Asked once, the
//! same way by the suite and by load (issue 18 item 1, issue 23 items 1 and 4).
//!
//! The families are told apart by their answers' signatures, never by which paths exist
//! (real servers overlap: many serve `/oauth/revoke`):
//! - punchplay: the request-id header (`X-PunchPlay-Request-Id`), or the
//!   `{error, message, request_id}` envelope (PP-ERR-1, PP-ERR-2);
//! - enterprise: the token endpoint's `{success, message}` envelope (EN-TOKEN-1);
//! - flexslot: RFC 6749 §5.2 error JSON (`{error, …}` without `message` or `request_id`),
//!   or RFC 8414 metadata.
//!
//! A run is refused ("cannot be checked", exit 2) only when the target does not answer
//! at all, when every documented endpoint answers one and the same page that is not the
//! API, or when the declared family's signature is wholly absent and another's present.
//! Everything else (text/plain 404s, text/plain error bodies, an `/api/*` that redirects
//! to a sign-in page) is left to the checks, which judge it clause by clause.

use std::time::Duration;

use profile::{Family, Profile};
use reqwest::header::HeaderMap;
use serde_json::Value;
use url::Url;

/// The most of a body read to find a signature.
const BODY_CAP: usize = 64 * 1024;

/// A client id no deployment knows, sent to token endpoints so that they answer with
/// their error envelope.
const UNKNOWN_CLIENT: &str = "conformance-preflight-unknown-client";

/// What one request of the preflight saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: &'static str,
    pub path: String,
    /// `None`: no answer (the sentence is in `failure`).
    pub status: Option<u16>,
    pub content_type: String,
    pub location: Option<String>,
    pub json: bool,
    /// The family whose signature the answer carries.
    pub signature: Option<Family>,
    pub failure: Option<String>,
    /// The failure was TLS (its sentence says what to do).
    pub tls_failure: bool,
    body_digest: u64,
    title: Option<String>,
}

impl Seen {
    /// `GET /api/tags answered 401 application/json`.
    pub fn describe(&self) -> String {
        match (self.status, &self.failure) {
            (Some(status), _) => {
                let mut text = format!(
                    "{} {} answered {status} {}",
                    self.method,
                    self.path,
                    if self.content_type.is_empty() {
                        "without a content type"
                    } else {
                        &self.content_type
                    }
                );
                if let Some(loc) = &self.location {
                    text.push_str(&format!(" to {loc}"));
                }
                if let Some(title) = &self.title {
                    text.push_str(&format!(" (\"{title}\")"));
                }
                text
            }
            (None, Some(why)) => format!("{} {}: {why}", self.method, self.path),
            (None, None) => format!("{} {}: no answer", self.method, self.path),
        }
    }
}

/// The preflight's finding when the run may go on.
#[derive(Debug, Clone)]
pub struct Found {
    pub seen: Vec<Seen>,
    /// Whether any answer carried the declared family's signature.
    pub signature_seen: bool,
}

/// Why the target cannot be checked: one sentence naming what was seen and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl Refusal {
    /// Whether nothing answered within the timeout (rather than refused, or answered
    /// the wrong thing).
    pub fn timed_out(&self) -> bool {
        self.0.contains(TIMED_OUT)
    }
}

/// The words of a request that got no answer in time.
const TIMED_OUT: &str = "no answer within";

/// Error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1 and RFC 8628
/// §3.5: an `error` member holding one of them is an OAuth error answer.
const RFC_ERROR_CODES: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "access_denied",
    "unsupported_response_type",
    "server_error",
    "temporarily_unavailable",
    "invalid_token",
    "insufficient_scope",
    "unsupported_token_type",
    "authorization_pending",
    "slow_down",
    "expired_token",
];

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The signature of each family: the declared profile's own, and the built-in profiles'
/// for the others.
struct Signatures {
    /// Punchplay's request-id header, from the declared profile if it is punchplay.
    punchplay_header: String,
}

impl Signatures {
    fn of(profile: &Profile) -> Signatures {
        let from = |p: &Profile| p.request_id().map(|r| r.header.clone());
        let punchplay_header = from(profile)
            .or_else(|| from(&Profile::punchplay()))
            .unwrap_or_else(|| "X-PunchPlay-Request-Id".into());
        Signatures { punchplay_header }
    }

    fn read(&self, headers: &HeaderMap, body: &Value) -> Option<Family> {
        if headers.contains_key(self.punchplay_header.as_str()) {
            return Some(Family::Punchplay);
        }
        let object = body.as_object()?;
        let text = |k: &str| object.get(k).is_some_and(Value::is_string);
        if text("error") && text("message") && text("request_id") {
            return Some(Family::Punchplay);
        }
        if object.get("success").is_some_and(Value::is_boolean) && text("message") {
            return Some(Family::Enterprise);
        }
        let rfc6749_error = object
            .get("error")
            .and_then(Value::as_str)
            .is_some_and(|code| RFC_ERROR_CODES.contains(&code))
            && !object.contains_key("message")
            && !object.contains_key("request_id")
            && !object.contains_key("success");
        let rfc8414_metadata = text("issuer") && text("token_endpoint");
        if rfc6749_error || rfc8414_metadata {
            return Some(Family::Flexslot);
        }
        None
    }
}

/// One request of the preflight.
struct Ask {
    method: &'static str,
    path: String,
    /// A JSON body for a token endpoint (an unknown client); `None` for a GET.
    body: Option<Value>,
    /// A documented path of the declared profile (it counts for "one and the same page").
    documented: bool,
}

/// The requests: every documented path of the declared profile that has no parameter
/// (GET, no credentials), and each family's token endpoint (POST, an unknown client),
/// the declared profile's own and the built-in profiles' for the others.
fn asks(profile: &Profile) -> Vec<Ask> {
    let mut asks: Vec<Ask> = Vec::new();
    for path in profile.paths.values() {
        if path.contains('{') || asks.iter().any(|a| &a.path == path) {
            continue;
        }
        asks.push(Ask {
            method: "GET",
            path: path.clone(),
            body: None,
            documented: true,
        });
    }
    let unknown_client = serde_json::json!({
        "grant_type": "client_credentials",
        "client_id": UNKNOWN_CLIENT,
        "client_secret": UNKNOWN_CLIENT,
    });
    let mut token_paths: Vec<String> = profile.paths.get("token").cloned().into_iter().collect();
    for builtin in profile::builtin::ALL {
        let other = builtin.profile();
        if other.family == profile.family {
            continue;
        }
        token_paths.extend(other.paths.get("token").cloned());
        // RFC 8414 metadata, where a family publishes it (flexslot).
        if let Some(meta) = other.paths.get("metadata")
            && !asks.iter().any(|a| &a.path == meta)
        {
            asks.push(Ask {
                method: "GET",
                path: meta.clone(),
                body: None,
                documented: false,
            });
        }
    }
    token_paths.dedup();
    for path in token_paths {
        asks.push(Ask {
            method: "POST",
            path,
            body: Some(unknown_client.clone()),
            documented: false,
        });
    }
    asks
}

/// Asks the target and decides whether it can be checked as `profile`. `client` must
/// follow no redirects; `timeout` bounds each request.
pub async fn preflight(
    client: &reqwest::Client,
    base: &Url,
    profile: &Profile,
    timeout: Duration,
) -> Result<Found, Refusal> {
    let signatures = Signatures::of(profile);
    let base_text = base.as_str().trim_end_matches('/').to_owned();
    let asks = asks(profile);
    let documented: Vec<bool> = asks.iter().map(|a| a.documented).collect();
    let requests = asks.into_iter().map(|ask| {
        let url = format!("{base_text}{}", ask.path);
        let signatures = &signatures;
        async move {
            let mut rb = match ask.method {
                "POST" => client.post(&url),
                _ => client.get(&url),
            }
            .timeout(timeout);
            if let Some(body) = &ask.body {
                rb = rb.json(body);
            }
            look(rb, ask.method, ask.path, &url, signatures, timeout).await
        }
    });
    let seen: Vec<Seen> = futures_util::future::join_all(requests).await;
    judge(base, profile, seen, &documented)
}

async fn look(
    rb: reqwest::RequestBuilder,
    method: &'static str,
    path: String,
    url: &str,
    signatures: &Signatures,
    timeout: Duration,
) -> Seen {
    let mut seen = Seen {
        method,
        path,
        status: None,
        content_type: String::new(),
        location: None,
        json: false,
        signature: None,
        failure: None,
        tls_failure: false,
        body_digest: 0,
        title: None,
    };
    let mut resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            seen.tls_failure = crate::access::is_tls_failure(&e);
            seen.failure = Some(if e.is_timeout() && !e.is_connect() {
                format!("{TIMED_OUT} {} s", timeout.as_secs_f64())
            } else {
                crate::access::explain(&e, url)
            });
            return seen;
        }
    };
    seen.status = Some(resp.status().as_u16());
    let headers = resp.headers().clone();
    seen.content_type = header(&headers, "content-type");
    seen.location = headers
        .get("location")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) if body.len() < BODY_CAP => body.extend_from_slice(&chunk),
            Ok(_) => break,
            Err(e) => {
                // An answer whose body broke off still has a status; the checks judge the rest.
                seen.failure = Some(crate::access::explain(&e, url));
                break;
            }
        }
    }
    body.truncate(BODY_CAP);
    let value: Option<Value> = serde_json::from_slice(&body).ok();
    seen.json = value
        .as_ref()
        .is_some_and(|v| v.is_object() || v.is_array());
    seen.signature = signatures.read(&headers, value.as_ref().unwrap_or(&Value::Null));
    seen.body_digest = digest(&body);
    seen.title = title_of(&body);
    seen
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default()
}

/// FNV-1a: enough to tell whether two pages are one and the same.
fn digest(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// An HTML page's `<title>`, to name the page a target answered with.
fn title_of(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let end = open_end + lower[open_end..].find("</title")?;
    let title: String = text[open_end..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty()).then(|| title.chars().take(60).collect())
}

fn judge(
    base: &Url,
    profile: &Profile,
    seen: Vec<Seen>,
    documented: &[bool],
) -> Result<Found, Refusal> {
    let declared = profile.family;
    let answered: Vec<&Seen> = seen.iter().filter(|s| s.status.is_some()).collect();
    if answered.is_empty() {
        let why = seen
            .iter()
            .find_map(|s| s.failure.clone())
            .unwrap_or_else(|| "no answer".into());
        // A TLS failure says what to do itself; anything else is "does not answer".
        let tls = seen.iter().any(|s| s.tls_failure);
        return Err(Refusal(if tls {
            why
        } else {
            format!("{base} does not answer: {why}; check --target")
        }));
    }
    let signature_seen = answered.iter().any(|s| s.signature == Some(declared));
    if !signature_seen {
        // Another family's signature, and none of the declared one's.
        let mut others: Vec<(Family, &Seen)> = Vec::new();
        for s in &answered {
            if let Some(f) = s.signature
                && !others.iter().any(|(o, _)| *o == f)
            {
                others.push((f, s));
            }
        }
        if let [(other, example)] = others.as_slice() {
            return Err(Refusal(format!(
                "this target serves {other}, not {declared}: {} with {other}'s signature ({}), and no answer carried {declared}'s ({}); run with --profile {other}, or check --target",
                example.describe(),
                family_signature(*other),
                family_signature(declared),
            )));
        }
        // One and the same page that is not the API, at every documented endpoint.
        let pages: Vec<&Seen> = seen
            .iter()
            .zip(documented)
            .filter(|(_, d)| **d)
            .map(|(s, _)| s)
            .collect();
        let first = pages.first().copied();
        let all_same = first.is_some_and(|first| {
            pages.iter().all(|s| {
                s.status.is_some()
                    && s.status == first.status
                    && s.content_type == first.content_type
                    && s.body_digest == first.body_digest
                    && s.location == first.location
                    && !s.json
            })
        }) && answered.iter().all(|s| !s.json);
        if let (true, Some(first)) = (all_same, first) {
            return Err(Refusal(format!(
                "{base} answers every documented endpoint of the {} profile with one and the same page, not the API: {} (the same for all {} paths); check --target (the API's base URL) and the profile's paths",
                profile.name,
                first.describe(),
                pages.len()
            )));
        }
    }
    Ok(Found {
        seen,
        signature_seen,
    })
}

/// A family's signature in words, for the refusal.
fn family_signature(family: Family) -> &'static str {
    match family {
        Family::Punchplay => "the X-PunchPlay-Request-Id header, or {error, message, request_id}",
        Family::Enterprise => "{success, message} from the token endpoint",
        Family::Flexslot => "RFC 6749 error JSON {error, error_description}, or RFC 8414 metadata",
    }
}

/// The reference server's test controls, if the target serves them: the faults it lists
/// for this profile's family (`GET /__test/fault`). `None` when it does not answer them.
pub async fn test_controls(
    client: &reqwest::Client,
    base: &Url,
    profile: &Profile,
    timeout: Duration,
) -> Option<Vec<FaultInfo>> {
    let url = format!("{}/__test/fault", base.as_str().trim_end_matches('/'));
    let resp = client.get(url).timeout(timeout).send().await.ok()?;
    if resp.status().as_u16() != 200 {
        return None;
    }
    let body: Value = resp.json().await.ok()?;
    let listed = body.get("faults")?.as_array()?;
    Some(
        listed
            .iter()
            .filter_map(|f| {
                Some(FaultInfo {
                    name: f.get("name")?.as_str()?.to_owned(),
                    clause: f.get("clause")?.as_str()?.to_owned(),
                    description: f
                        .get("description")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                })
            })
            // Only the running family's: a fault is its family's when it breaks one of
            // the profile's clauses; the limiter's faults (cited as PP-RATE, the clause
            // that first described the shared limiter) serve every family with limits.
            .filter(|f| {
                profile.clauses.iter().any(|c| c.id == f.clause)
                    || (f.clause.starts_with("PP-RATE-") && !profile.rate_limits.is_empty())
            })
            .collect(),
    )
}

/// A server fault the test controls offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultInfo {
    pub name: String,
    pub clause: String,
    pub description: String,
}

/// The sentence for a fault the running family does not have: the names it has.
pub fn unknown_fault(name: &str, family: Family, faults: &[FaultInfo]) -> String {
    let names: Vec<&str> = faults.iter().map(|f| f.name.as_str()).collect();
    format!(
        "there is no {family} fault `{name}`; the {family} faults are: {}",
        names.join(", ")
    )
}

/// The sentence for credentials whose apps ask for scopes the profile does not know, such
/// as punchplay's credentials given for the enterprise profile.
pub fn credentials_fit(profile: &Profile, identities: &profile::Identities) -> Result<(), String> {
    let known = |s: &str| profile.scopes.known.iter().any(|k| k == s);
    let strangers: Vec<&str> = identities
        .apps
        .iter()
        .flat_map(|a| a.allowed_scopes.iter().map(String::as_str))
        .filter(|s| !known(s))
        .collect();
    if strangers.is_empty() {
        return Ok(());
    }
    let belongs = profile::builtin::ALL.iter().find(|b| {
        let other = b.profile();
        other.family != profile.family
            && strangers
                .iter()
                .all(|s| other.scopes.known.iter().any(|k| k == s))
    });
    let mut unique = strangers.clone();
    unique.sort_unstable();
    unique.dedup();
    Err(match belongs {
        Some(b) => format!(
            "these credentials are {}'s, not {}'s: their apps are allowed {}, which the {} profile does not know; give {} credentials (fixtures/identities/{}.toml shows the format), or run with --profile {}",
            b.name,
            profile.family,
            unique.join(", "),
            profile.name,
            profile.family,
            profile.family,
            b.name
        ),
        None => format!(
            "the credentials allow scopes the {} profile does not know ({}); fix the apps' allowed_scopes (fixtures/identities/{}.toml shows the format)",
            profile.name,
            unique.join(", "),
            profile.family
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(headers: &[(&str, &str)], body: &str) -> Option<Family> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Signatures::of(&Profile::punchplay())
            .read(&map, &serde_json::from_str(body).unwrap_or(Value::Null))
    }

    #[test]
    fn each_family_is_told_by_its_signature_not_its_paths() {
        assert_eq!(
            sig(&[("x-punchplay-request-id", "ppreq_1")], "not json"),
            Some(Family::Punchplay)
        );
        assert_eq!(
            sig(
                &[],
                r#"{"error":"not_found","message":"m","request_id":"r"}"#
            ),
            Some(Family::Punchplay)
        );
        assert_eq!(
            sig(&[], r#"{"success":false,"message":"m"}"#),
            Some(Family::Enterprise)
        );
        assert_eq!(
            sig(&[], r#"{"error":"invalid_client","error_description":"d"}"#),
            Some(Family::Flexslot)
        );
        assert_eq!(sig(&[], r#"{"message":"Unauthenticated."}"#), None);
        // A code of no RFC is no OAuth signature (a generic `{"error":"not_found"}`).
        assert_eq!(sig(&[], r#"{"error":"not_found"}"#), None);
        assert_eq!(sig(&[], "<html>"), None);
    }

    #[test]
    fn scopes_of_another_family_are_named() {
        let e = credentials_fit(
            &profile::builtin::find("enterprise").unwrap().profile(),
            &profile::Identities::punchplay(),
        )
        .unwrap_err();
        assert!(
            e.contains("these credentials are punchplay's, not enterprise's"),
            "{e}"
        );
        credentials_fit(&Profile::punchplay(), &profile::Identities::punchplay()).unwrap();
    }

    #[test]
    fn a_title_names_a_page() {
        assert_eq!(
            title_of(b"<html><head><TITLE> Welcome  to nginx </title>").as_deref(),
            Some("Welcome to nginx")
        );
        assert_eq!(title_of(b"{}"), None);
    }
}
