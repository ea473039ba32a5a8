//! The member names of flexslot's answers that the redactor must know (RFC 6749 §5.1,
//! §5.2, RFC 7662 §2.2): which carry credentials or codes, and which are human text a
//! deployment words its own way. Flexslot's answers carry no request id, no data URI and
//! no event id. Data only: the redactor reads it through `redact::FamilyMembers::of`.

/// Members whose values are credentials or one-time codes, and their placeholder kinds.
pub const SECRETS: &[(&str, &str)] = &[
    ("access_token", "access-token"),
    ("refresh_token", "refresh-token"),
    ("code", "code"),
    ("client_secret", "client-secret"),
    ("cookie", "cookie"),
];

/// Human text (RFC 6749 §5.2's `error_description`; `error_uri` is the deployment's own
/// page and tolerated whatever it says).
pub const PROSE: &[&str] = &["error_description", "error_uri"];

/// Number members that are instants in Unix seconds (RFC 7662 §2.2).
pub const UNIX_TIMES: &[&str] = &["exp", "iat", "nbf"];
