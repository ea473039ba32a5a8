//! What one response tells the verdict: admitted, refused (and whether the refusal is
//! well formed, PP-RATE-2), a server error, or a transport error.
//!
//! This module owns the classification of a single response; the error body itself is
//! read by the profile's family (`crate::families`, `Family::refusal_problems`). It knows nothing of windows, keys or
//! goose.

use profile::Profile;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Serialize;

/// Which part of a window a request belongs to, and so what it was expected to get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// The burst's first stage, which the window has room for whatever the order of
    /// arrival: must be admitted.
    Within,
    /// The burst's second stage, sent concurrently across the boundary: which of these
    /// take the last places cannot be known, so either outcome is right for one request;
    /// the window's total is judged.
    Edge,
    /// Sent once the room was seen used up: must be refused (429).
    Over,
    /// A request whose authentication fails (a revoked or unknown bearer token): must not
    /// be counted against the user (PP-RATE-4).
    Noise,
    /// The first refusal after the burst, which gives Retry-After.
    FirstRefusal,
    /// Sent again and again after the first refusal until the early half leaves the
    /// window: must be refused (PP-RATE-1, PP-RATE-3).
    Hold,
    /// Sent before Retry-After has passed: must still be refused (PP-RATE-3).
    NotBefore,
    /// Sent once Retry-After has passed: must be admitted (PP-RATE-3).
    Resume,
}

impl RequestKind {
    pub const ALL: [RequestKind; 8] = [
        RequestKind::Within,
        RequestKind::Edge,
        RequestKind::Over,
        RequestKind::Noise,
        RequestKind::FirstRefusal,
        RequestKind::Hold,
        RequestKind::NotBefore,
        RequestKind::Resume,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Within => "within",
            RequestKind::Edge => "edge",
            RequestKind::Over => "over",
            RequestKind::Noise => "noise",
            RequestKind::FirstRefusal => "first refusal",
            RequestKind::Hold => "hold",
            RequestKind::NotBefore => "not before",
            RequestKind::Resume => "resume",
        }
    }
}

/// How the server answered one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Any status below 500 other than the rate-limit status: the request counted
    /// ("every admitted request counts, whatever its status", PP-RATE-3).
    Admitted {
        status: u16,
    },
    /// The rate-limit status. `problem` says what is wrong with it against a MUST
    /// (PP-RATE-2: `rate_limited` in the error body with its request id, PP-ERR-1,
    /// PP-ERR-2); `decided_problem` against a DECIDED part (Retry-After always, in whole
    /// seconds; the request id's format).
    Refused {
        retry_after: Option<u64>,
        problem: Option<String>,
        decided_problem: Option<String>,
    },
    ServerError {
        status: u16,
    },
    Transport {
        error: String,
    },
    /// In flight when the run time ended: neither admitted nor refused as far as the
    /// client knows, and not judged.
    Cancelled,
}

impl Outcome {
    /// Classifies a response. `window_secs` bounds a sensible Retry-After.
    pub fn of_response(
        profile: &Profile,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        window_secs: u64,
    ) -> Outcome {
        if status >= 500 {
            return Outcome::ServerError { status };
        }
        if status != profile.status_of("rate_limited") {
            return Outcome::Admitted { status };
        }
        let retry_after = retry_after_secs(headers);
        let (problem, decided_problem) =
            refusal_problems(profile, headers, body, retry_after, window_secs);
        Outcome::Refused {
            retry_after,
            problem,
            decided_problem,
        }
    }

    pub fn is_admitted(&self) -> bool {
        matches!(self, Outcome::Admitted { .. })
    }

    /// A refusal with nothing wrong with it.
    pub fn is_clean_refusal(&self) -> bool {
        matches!(
            self,
            Outcome::Refused {
                problem: None,
                decided_problem: None,
                ..
            }
        )
    }

    /// Whether the request may have been admitted: admitted, or answered in a way that
    /// does not say (a 5xx, a transport error, cancelled in flight).
    pub fn may_be_admitted(&self) -> bool {
        !matches!(self, Outcome::Refused { .. })
    }

    /// A short form for tables: `200`, `429`, `429 (no Retry-After)`, `transport`.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Admitted { status } | Outcome::ServerError { status } => status.to_string(),
            Outcome::Refused {
                problem,
                decided_problem,
                ..
            } => {
                let wrong: Vec<&str> = [problem, decided_problem]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                if wrong.is_empty() {
                    "429".into()
                } else {
                    format!("429 ({})", wrong.join("; "))
                }
            }
            Outcome::Transport { error } => format!("transport error: {error}"),
            Outcome::Cancelled => "cancelled at the end of the run time".into(),
        }
    }
}

/// `Retry-After` in whole seconds, when it is one (PP-RATE-2 DECIDED: whole seconds).
pub fn retry_after_secs(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
}

/// What is wrong with a 429: (against a MUST, against a DECIDED part).
fn refusal_problems(
    profile: &Profile,
    headers: &HeaderMap,
    body: &[u8],
    retry_after: Option<u64>,
    window_secs: u64,
) -> (Option<String>, Option<String>) {
    // PP-RATE-2 DECIDED: always Retry-After, whole seconds >= 1 (and no longer than the
    // window, by PP-RATE-3).
    let mut decided = match (headers.get(RETRY_AFTER), retry_after) {
        (None, _) => Some("no Retry-After".to_owned()),
        (Some(raw), None) => Some(format!(
            "Retry-After `{}` is not whole seconds",
            String::from_utf8_lossy(raw.as_bytes())
        )),
        (Some(_), Some(secs)) if secs < 1 || secs > window_secs => Some(format!(
            "Retry-After {secs} is outside 1..={window_secs} seconds"
        )),
        _ => None,
    };
    // The error body is the family's to read (PP-RATE-2 for punchplay, EN-RATE-1 for
    // enterprise); a profile no family serves has been refused before any request.
    let (problem, decided_body) = match crate::families::for_profile(profile) {
        Ok(family) => family.refusal_problems(profile, headers, body),
        Err(_) => (None, None),
    };
    if decided.is_none() {
        decided = decided_body;
    }
    (problem, decided)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn refusal(headers: &[(&str, &str)], body: &str) -> Outcome {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(
                reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        Outcome::of_response(&Profile::punchplay(), 429, &map, body.as_bytes(), 60)
    }

    const BODY: &str = r#"{"error":"rate_limited","message":"Too many requests.","request_id":"ppreq_0123456789abcdef0123"}"#;

    #[test]
    fn a_complete_refusal_is_clean() {
        let o = refusal(
            &[
                ("retry-after", "42"),
                ("x-punchplay-request-id", "ppreq_0123456789abcdef0123"),
            ],
            BODY,
        );
        assert_eq!(
            o,
            Outcome::Refused {
                retry_after: Some(42),
                problem: None,
                decided_problem: None,
            }
        );
        assert!(o.is_clean_refusal());
    }

    #[test]
    fn a_refusal_without_retry_after_or_matching_request_id_is_not() {
        let o = refusal(
            &[("x-punchplay-request-id", "ppreq_0123456789abcdef0123")],
            BODY,
        );
        assert!(!o.is_clean_refusal(), "{o:?}");
        let o = refusal(
            &[
                ("retry-after", "42"),
                ("x-punchplay-request-id", "ppreq_ffffffffffffffffffff"),
            ],
            BODY,
        );
        assert!(o.describe().contains("differs"), "{o:?}");
        let o = refusal(
            &[
                ("retry-after", "0"),
                ("x-punchplay-request-id", "ppreq_0123456789abcdef0123"),
            ],
            BODY,
        );
        assert!(o.describe().contains("outside"), "{o:?}");
        let o = refusal(
            &[
                ("retry-after", "5"),
                ("x-punchplay-request-id", "ppreq_0123456789abcdef0123"),
            ],
            r#"{"error":"invalid_request","message":"x","request_id":"ppreq_0123456789abcdef0123"}"#,
        );
        assert!(o.describe().contains("not rate_limited"), "{o:?}");
    }

    #[test]
    fn statuses_other_than_429_are_admitted_or_server_errors() {
        let p = Profile::punchplay();
        let h = HeaderMap::new();
        assert_eq!(
            Outcome::of_response(&p, 400, &h, b"", 60),
            Outcome::Admitted { status: 400 }
        );
        assert_eq!(
            Outcome::of_response(&p, 503, &h, b"", 60),
            Outcome::ServerError { status: 503 }
        );
    }
}
