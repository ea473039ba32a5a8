//! What a check can end with, and the support fields seed 000 asks integrators to send
//! ("the request id, the UTC timestamp, the endpoint path, the status code, the client id
//! and the raw error body"), attached to every failure so it can go into a ticket as is.

use serde::Serialize;

use contract_client::{Exchange, ReqBody};

/// The facts of one exchange that support needs.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Support {
    pub request_id: Option<String>,
    /// UTC, RFC 3339, when the request was sent.
    pub timestamp: String,
    pub method: String,
    pub endpoint: String,
    pub status: u16,
    pub client_id: Option<String>,
    /// The response body exactly as received (cut at 4 KiB).
    pub body: String,
}

impl Support {
    pub fn from_exchange(ex: &Exchange, request_id_header: &str) -> Support {
        // The request id the answer carries: its header, else a body's `request_id`.
        let request_id = Some(request_id_header)
            .filter(|h| !h.is_empty())
            .and_then(|h| ex.header(h))
            .map(str::to_owned)
            .or_else(|| {
                let body: serde_json::Value = serde_json::from_str(&ex.body).ok()?;
                body.get("request_id")?.as_str().map(str::to_owned)
            });
        let client_id = ex.req.client_id.clone().or_else(|| match &ex.req.body {
            ReqBody::Form(p) => p
                .iter()
                .find(|(k, _)| k == "client_id")
                .map(|(_, v)| v.clone()),
            _ => None,
        });
        let mut body = if ex.status < 400 {
            mask_credentials(&ex.body)
        } else {
            ex.body.clone()
        };
        if body.len() > 4096 {
            let mut cut = 4096;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push_str("…[cut]");
        }
        Support {
            request_id,
            timestamp: ex.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            method: ex.req.method.clone(),
            endpoint: ex.req.route().to_owned(),
            status: ex.status,
            client_id,
            body,
        }
    }

    /// The block a QA engineer pastes into a ticket.
    pub fn ticket_text(&self) -> String {
        format!(
            "request_id: {}\ntimestamp:  {}\nendpoint:   {} {}\nstatus:     {}\nclient_id:  {}\nbody:       {}",
            self.request_id.as_deref().unwrap_or("(none sent)"),
            self.timestamp,
            self.method,
            self.endpoint,
            self.status,
            self.client_id.as_deref().unwrap_or("(none)"),
            self.body
        )
    }
}

/// A success body with its live credentials masked: reports travel into tickets, and
/// support needs the raw error bodies, not working tokens.
fn mask_credentials(body: &str) -> String {
    const KEYS: &[&str] = &[
        "access_token",
        "refresh_token",
        "client_secret",
        "device_code",
    ];
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut map)) => {
            let mut masked = false;
            for k in KEYS {
                if let Some(v) = map.get_mut(*k)
                    && let Some(s) = v.as_str()
                {
                    *v = serde_json::Value::String(format!("[masked: {} characters]", s.len()));
                    masked = true;
                }
            }
            if masked {
                serde_json::Value::Object(map).to_string()
            } else {
                body.to_owned()
            }
        }
        _ => body.to_owned(),
    }
}

/// Why a check did not pass.
#[derive(Debug, Clone)]
pub enum Problem {
    /// The target departs from the contract.
    Fail {
        message: String,
        support: Option<Box<Support>>,
        /// The clause the difference belongs to (the one that names that member, header
        /// or status), when the code that found it knows and it may not be the clause of
        /// the check that saw it: a flow step's answer, an error envelope. `None`: the
        /// check's own clause (issue 18 item 4).
        owner: Option<&'static str>,
    },
    /// The check could not run to a verdict (transport failure, timeout, suite bug).
    Error {
        message: String,
        /// What is known of the request that got no usable answer (status 0).
        support: Option<Box<Support>>,
    },
    /// The check does not apply or needs something this run lacks.
    Skip { reason: String },
}

impl Problem {
    pub fn fail(message: impl Into<String>) -> Problem {
        Problem::Fail {
            message: message.into(),
            support: None,
            owner: None,
        }
    }
    pub fn fail_at(message: impl Into<String>, support: Support) -> Problem {
        Problem::Fail {
            message: message.into(),
            support: Some(Box::new(support)),
            owner: None,
        }
    }
    /// The same failure, belonging to `clause` whatever check sees it (a flow step's
    /// answer, a member another clause names). Errors and skips are left as they are.
    pub fn of_clause(self, clause: &'static str) -> Problem {
        match self {
            Problem::Fail {
                message, support, ..
            } => Problem::Fail {
                message,
                support,
                owner: Some(clause),
            },
            other => other,
        }
    }
    /// A failure this check can judge only where `clause` holds (rotation before a
    /// race, a revocation before what it should end): where a check of `clause` fails in
    /// the same run, this one is not judged (an error naming that check); where `clause`'s
    /// checks pass, it is this check's own failure (issue 18 item 4).
    pub fn presuming(self, clause: &'static str) -> Problem {
        self.of_clause(clause)
    }
    /// For a failure that belongs to another clause than `own`, that clause.
    pub fn foreign_owner(&self, own: &str) -> Option<&'static str> {
        match self {
            Problem::Fail { owner: Some(c), .. } if *c != own => Some(c),
            _ => None,
        }
    }
    pub fn error(message: impl Into<String>) -> Problem {
        Problem::Error {
            message: message.into(),
            support: None,
        }
    }
    pub fn skip(reason: impl Into<String>) -> Problem {
        Problem::Skip {
            reason: reason.into(),
        }
    }
}

pub type CheckResult = Result<(), Problem>;

/// A difference a check saw on its way, in an answer whose member, header or status
/// another clause names: reported once, under the failing check of that clause ("seen
/// there too"), never as a failure of the check that passed through (issue 18 item 4).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Seen {
    /// The clause the difference belongs to.
    pub clause: String,
    pub message: String,
    /// The support fields of the answer it was seen in.
    pub support: Option<Support>,
}

/// The first clause a failure message leads with (`PP-ERR-2: …`, `PP-AUTHZ-4: …`), if
/// its first words cite one.
pub fn leading_clause(message: &str) -> Option<&str> {
    let head = message.split(": ").next().unwrap_or_default();
    cited_clauses(head).first().copied()
}

/// The clause ids a text cites (`PP-AUTHZ-4`, `FX-TOKEN-1`): words of two upper-case
/// parts and a number, joined by `-`.
pub fn cited_clauses(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|word| {
            let parts: Vec<&str> = word.split('-').collect();
            parts.len() == 3
                && parts[..2]
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase()))
                && !parts[2].is_empty()
                && parts[2].bytes().all(|b| b.is_ascii_digit())
        })
        .collect()
}

/// Fails the check with a message pinned to a response unless the condition holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $resp:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($resp.fail(format!($($fmt)+)));
        }
    };
}
