//! Punchplay's error answer: `{error, message, request_id}` in the body and the same
//! request id in the request-id header (PP-ERR-1, PP-ERR-2). One reader for the suite's
//! checks, its support fields, load's refusal verdicts and the server's tests; each
//! phrases what is wrong in its own words from [`EnvelopeProblem`].

use profile::RequestIdFormat;
use serde_json::Value;

/// What an answer says in punchplay's error envelope, member by member, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorAnswer {
    /// The body as JSON, if it is JSON.
    pub body: Option<Value>,
    /// The `error` member when it is a string.
    pub error: Option<String>,
    /// The `message` member when it is a string (possibly blank).
    pub message: Option<String>,
    /// The body's `request_id` when it is a string.
    pub body_request_id: Option<String>,
    /// The request-id header (PP-ERR-2), if sent.
    pub header_request_id: Option<String>,
}

/// The first thing wrong with an answer as a punchplay error envelope, in the order the
/// clauses are read: PP-ERR-1's members, then PP-ERR-2's header and format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeProblem {
    NotJson,
    /// `error` is missing or not a string; carries the member as received (`null` when
    /// missing).
    NoError(String),
    /// `message` is missing, not a string or blank.
    NoMessage,
    NoBodyRequestId,
    NoHeaderRequestId,
    /// The header's and the body's request ids differ.
    RequestIdsDiffer {
        header: String,
        body: String,
    },
    /// The request id is not in the profile's format (PP-ERR-2, DECIDED).
    RequestIdFormat(String),
}

impl std::fmt::Display for EnvelopeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeProblem::NotJson => write!(f, "PP-ERR-1: the body is not JSON"),
            EnvelopeProblem::NoError(e) => write!(f, "PP-ERR-1: `error` is {e}, not a string"),
            EnvelopeProblem::NoMessage => {
                write!(f, "PP-ERR-1: the body has no non-empty `message`")
            }
            EnvelopeProblem::NoBodyRequestId => write!(f, "PP-ERR-1: the body has no `request_id`"),
            EnvelopeProblem::NoHeaderRequestId => write!(f, "PP-ERR-2: no request-id header"),
            EnvelopeProblem::RequestIdsDiffer { header, body } => write!(
                f,
                "PP-ERR-2: header request id {header:?} differs from the body's {body:?}"
            ),
            EnvelopeProblem::RequestIdFormat(id) => {
                write!(f, "PP-ERR-2: request id {id:?} has the wrong format")
            }
        }
    }
}

impl ErrorAnswer {
    /// Reads an answer: `header` looks a response header up by name (in whatever case
    /// the caller's map needs), `request_id_header` is the profile's request-id header.
    pub fn read<'h>(
        request_id_header: &str,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
    ) -> ErrorAnswer {
        let body: Option<Value> = serde_json::from_slice(body).ok();
        let member = |name: &str| {
            body.as_ref()
                .and_then(|b| b.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        ErrorAnswer {
            error: member("error"),
            message: member("message"),
            body_request_id: member("request_id"),
            header_request_id: header(request_id_header).map(str::to_owned),
            body,
        }
    }

    /// The request id of the answer, for support: the header's, else the body's.
    pub fn request_id(&self) -> Option<&str> {
        self.header_request_id
            .as_deref()
            .or(self.body_request_id.as_deref())
    }

    /// `error` as the body has it, for messages: `"x"`, `null`, `42`.
    pub fn error_as_received(&self) -> String {
        self.body
            .as_ref()
            .and_then(|b| b.get("error"))
            .unwrap_or(&Value::Null)
            .to_string()
    }

    /// The first MUST of PP-ERR-1 and PP-ERR-2 the answer breaks, the request id's
    /// format (DECIDED) left out: see [`ErrorAnswer::format_problem`].
    pub fn envelope_problem(&self) -> Option<EnvelopeProblem> {
        if self.body.is_none() {
            return Some(EnvelopeProblem::NotJson);
        }
        if self.error.is_none() {
            return Some(EnvelopeProblem::NoError(self.error_as_received()));
        }
        if self.message.as_deref().is_none_or(|m| m.trim().is_empty()) {
            return Some(EnvelopeProblem::NoMessage);
        }
        let Some(body) = &self.body_request_id else {
            return Some(EnvelopeProblem::NoBodyRequestId);
        };
        match &self.header_request_id {
            None => Some(EnvelopeProblem::NoHeaderRequestId),
            Some(header) if header != body => Some(EnvelopeProblem::RequestIdsDiffer {
                header: header.clone(),
                body: body.clone(),
            }),
            Some(_) => None,
        }
    }

    /// [`ErrorAnswer::read`] of an exchange.
    pub fn of_exchange(request_id_header: &str, ex: &crate::Exchange) -> ErrorAnswer {
        ErrorAnswer::read(request_id_header, |h| ex.header(h), ex.body.as_bytes())
    }

    /// Whether the body's request id has the profile's format (PP-ERR-2, DECIDED).
    pub fn format_problem(&self, format: &RequestIdFormat) -> Option<EnvelopeProblem> {
        let id = self.body_request_id.as_deref()?;
        (!format.matches(id)).then(|| EnvelopeProblem::RequestIdFormat(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format() -> RequestIdFormat {
        profile::Profile::punchplay()
            .expect_punchplay()
            .request_id
            .clone()
    }

    fn read(header: Option<&str>, body: &str) -> ErrorAnswer {
        let name = format().header;
        ErrorAnswer::read(
            &name,
            |h| (h.eq_ignore_ascii_case(&name)).then_some(header).flatten(),
            body.as_bytes(),
        )
    }

    const ID: &str = "ppreq_0123456789abcdef0123";

    #[test]
    fn a_whole_envelope_reads_clean_with_extension_members() {
        let a = read(
            Some(ID),
            &format!(
                r#"{{"error":"invalid_grant","message":"No.","request_id":"{ID}","hint":"x"}}"#
            ),
        );
        assert_eq!(a.error.as_deref(), Some("invalid_grant"));
        assert_eq!(a.envelope_problem(), None);
        assert_eq!(a.format_problem(&format()), None);
        assert_eq!(a.request_id(), Some(ID));
    }

    #[test]
    fn each_broken_member_is_named() {
        let cases = [
            (Some(ID), "<html>".to_owned(), EnvelopeProblem::NotJson),
            (
                Some(ID),
                format!(r#"{{"error":7,"message":"m","request_id":"{ID}"}}"#),
                EnvelopeProblem::NoError("7".into()),
            ),
            (
                Some(ID),
                format!(r#"{{"error":"e","message":" ","request_id":"{ID}"}}"#),
                EnvelopeProblem::NoMessage,
            ),
            (
                Some(ID),
                r#"{"error":"e","message":"m"}"#.to_owned(),
                EnvelopeProblem::NoBodyRequestId,
            ),
            (
                None,
                format!(r#"{{"error":"e","message":"m","request_id":"{ID}"}}"#),
                EnvelopeProblem::NoHeaderRequestId,
            ),
        ];
        for (header, body, want) in cases {
            assert_eq!(read(header, &body).envelope_problem(), Some(want), "{body}");
        }
        let other = "ppreq_ffffffffffffffffffff";
        let a = read(
            Some(other),
            &format!(r#"{{"error":"e","message":"m","request_id":"{ID}"}}"#),
        );
        assert!(matches!(
            a.envelope_problem(),
            Some(EnvelopeProblem::RequestIdsDiffer { .. })
        ));
    }

    #[test]
    fn another_request_id_format_is_a_decided_problem_only() {
        let id = "req-42";
        let a = read(
            Some(id),
            &format!(r#"{{"error":"e","message":"m","request_id":"{id}"}}"#),
        );
        assert_eq!(a.envelope_problem(), None);
        assert_eq!(
            a.format_problem(&format()),
            Some(EnvelopeProblem::RequestIdFormat(id.into()))
        );
        // Support still finds the id in the body when the header is missing.
        let a = read(
            None,
            &format!(r#"{{"error":"e","message":"m","request_id":"{id}"}}"#),
        );
        assert_eq!(a.request_id(), Some(id));
    }
}
