//! The flexslot family (seed 004): a strict RFC 6749/6750/7009/7662 authorization server
//! with PKCE and refresh rotation (FX-*). It has no settings section of its own; each
//! client's grant types are in the identities file (`grant_types`, FX-TOKEN-5).

use crate::{Profile, ProfileError};

/// The endpoints a flexslot profile must name under `[paths]`.
pub const PATHS: &[&str] = &[
    "authorize",
    "token",
    "revoke",
    "introspect",
    "me",
    "metadata",
    "login",
    "logout",
];

/// The RFC 6749 §4.1.2.1 / §5.2 and RFC 6750 §3.1 codes a flexslot profile must give a
/// status for.
pub const ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "unsupported_response_type",
    "invalid_scope",
    "access_denied",
    "server_error",
    "temporarily_unavailable",
    "invalid_token",
    "insufficient_scope",
];

/// The lifetimes flexslot uses: 60-second codes and 30-day idle refresh tokens (FX-TOKEN-4).
pub const LIFETIMES: &[&str] = &[
    "authorization_code",
    "access_token",
    "refresh_token_idle",
    "session",
];

pub(crate) fn validate(profile: &Profile, lifetimes_given: &[String]) -> Result<(), ProfileError> {
    super::require_all(profile, PATHS, ERRORS, LIFETIMES, lifetimes_given)
}
