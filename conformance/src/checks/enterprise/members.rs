//! The member names of the enterprise family's answers that the redactor must know
//! (EN-TOKEN-1, EN-INTRO-1): which carry credentials, which are human text and which are
//! Unix times. Data only: the redactor reads it through `redact::FamilyMembers::of`.

/// Members of answers whose values are credentials, and their placeholder kinds. Not
/// `client_secret`: no answer carries one, and the validation map names a missing field
/// `client_secret` (EN-VALID-1); the secret a request sends is redacted by its value.
pub const SECRETS: &[(&str, &str)] = &[("access_token", "access-token")];

/// Human text a deployment may word its own way where the contract leaves it open (the
/// success messages, DECIDED). The checks assert every message the contract fixes before
/// the transcript is redacted.
pub const PROSE: &[&str] = &["message", "error_description"];

/// Number members that are Unix times (an introspection's `exp`), different on every run.
pub const UNIX_TIMES: &[&str] = &["exp", "iat"];
