//! The enterprise family (seed 003): machine clients with client credentials, company-scoped
//! routes under `/api/*`, and an error envelope per layer (EN-*). It has no settings section
//! of its own; its fixtures add enterprises and companies to the identities file.

use crate::{Profile, ProfileError};

/// The endpoints an enterprise profile must name under `[paths]`.
pub const PATHS: &[&str] = &["token", "introspect", "revoke", "api", "tags"];

/// The kinds of error an enterprise profile must give a status for (seed 003's table).
pub const ERRORS: &[&str] = &[
    "validation",
    "invalid_client",
    "inactive_enterprise",
    "invalid_scope",
    "token_required",
    "invalid_token",
    "token_not_found",
    "unauthenticated",
    "insufficient_scope",
    "company_not_found",
    "not_found",
    "rate_limited",
    "server_error",
    "temporarily_unavailable",
];

/// The lifetimes enterprise uses: only access tokens expire (EN-TOKEN-1).
pub const LIFETIMES: &[&str] = &["access_token"];

pub(crate) fn validate(profile: &Profile, lifetimes_given: &[String]) -> Result<(), ProfileError> {
    super::require_all(profile, PATHS, ERRORS, LIFETIMES, lifetimes_given)
}
