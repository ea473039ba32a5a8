//! Families as this server serves them (issue 7 item 1): which family serves a profile,
//! and what a family gives the generic shell in `crate::http`.
//!
//! A family is a module under `families/` with:
//! - its route table: a `route` function from method and path (the profile's `[paths]`)
//!   to its `Route`, and a `dispatch` from a `Route` to its handlers; each route says the
//!   `[paths]` endpoint it serves (for rate limits), where its requests name their client
//!   (`ClientSource`), its page-form facts (CSRF), its facts for faults of shape, and its
//!   error [`Layer`];
//! - its error envelopes per layer and its `WWW-Authenticate` challenge ([`FamilyErrors`]);
//! - its grant handlers: the list of the core's grant handlers its token endpoints serve,
//!   each declining a grant type it does not own. The core owns the handlers; the family
//!   module holds the registration point (`punchplay::GRANT_HANDLERS_REGISTRATION`).
//!
//! Only punchplay is served today; [`errors_for`] refuses another family at start.

pub mod punchplay;

use profile::{Family, Profile};

use crate::core::error::ProtocolError;

/// One of a family's error layers: the envelope a route's errors are written in.
/// Punchplay has one (PP-ERR-1); enterprise has four (token, validation, introspection
/// and revocation, API: EN-TOKEN-2, EN-VALID-1, EN-INTRO-1, EN-API-1), flexslot two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Layer(pub &'static str);

/// What the shell asks of a family to render an error.
pub trait FamilyErrors: Send + Sync {
    /// The error body in the envelope of `layer`.
    fn error_body(
        &self,
        layer: Layer,
        error: &ProtocolError,
        request_id: &str,
    ) -> serde_json::Value;

    /// The `WWW-Authenticate` challenge an error carries, if any (RFC 6750 §3, RFC 6749
    /// §5.2).
    fn challenge(&self, layer: Layer, error: &ProtocolError) -> Option<String>;
}

/// The family that serves `profile`: the registry. A new family adds one arm.
pub fn errors_for(profile: &Profile) -> std::io::Result<Box<dyn FamilyErrors>> {
    match profile.family {
        Family::Punchplay => Ok(Box::new(punchplay::PunchplayFamily)),
        other => Err(std::io::Error::other(format!(
            "profile `{}` is of the {other} family, which this server does not serve yet; use a punchplay profile",
            profile.name
        ))),
    }
}
