//! The decisions of a strict RFC 6749/7009/7662 server (the flexslot family, FX-*) that a
//! fault of state can bend, as components (`components.rs`): how a confidential client
//! may authenticate, which grants a client is configured for, what a token request's
//! body may be, how long a code lives, what `/revoke` answers for a token it does not
//! know and what `/introspect` says of a token that is not live. The default methods are
//! the contract; `faulty.rs` overrides one at a time.

use super::registry::AppRecord;

/// The one media type a strict token, revocation or introspection request may have
/// (FX-TOKEN-1, RFC 6749 §4.1.3, RFC 7009 §2.1, RFC 7662 §2.1).
pub const FORM: &str = "application/x-www-form-urlencoded";

/// How a confidential client proves who it is (FX-TOKEN-3, RFC 6749 §2.3.1).
pub trait ClientAuthMethods: Sync {
    /// Whether a confidential client may send its secret in the body instead of HTTP
    /// Basic. Never, as flexslot documents.
    fn body_secret_allowed(&self, _app: &AppRecord) -> bool {
        false
    }
}

/// FX-TOKEN-3 as written: HTTP Basic only.
pub struct BasicOnly;

impl ClientAuthMethods for BasicOnly {}

/// Which grants a client may use (FX-TOKEN-5, FX-AUTHZ-1 `unauthorized_client`).
pub trait GrantTypes: Sync {
    fn allows(&self, app: &AppRecord, grant_type: &str) -> bool {
        app.allows_grant(grant_type)
    }
}

/// FX-TOKEN-5 as written: the client's configuration decides.
pub struct ConfiguredGrantsOnly;

impl GrantTypes for ConfiguredGrantsOnly {}

/// What a strict endpoint's body may be (FX-TOKEN-1).
pub trait BodyTypes: Sync {
    /// Whether a body of `media_type` (lower case, no parameters) is read.
    fn accepts(&self, media_type: Option<&str>) -> bool {
        media_type == Some(FORM)
    }
}

/// FX-TOKEN-1 as written: forms only.
pub struct FormsOnly;

impl BodyTypes for FormsOnly {}

/// How long an authorization code lives, from the profile's lifetime (FX-TOKEN-4: 60 s).
pub trait CodeLifetime: Sync {
    fn seconds(&self, configured: u64) -> u64 {
        configured
    }
}

/// The profile's lifetime as written.
pub struct ConfiguredCodeLifetime;

impl CodeLifetime for ConfiguredCodeLifetime {}

/// What `/revoke` and `/introspect` say of a token that is not live (FX-REVOKE-1,
/// FX-INTRO-1; RFC 7009 §2.2, RFC 7662 §2.2).
pub trait TokenOracle: Sync {
    /// Revoking a token that is unknown, already revoked or expired: a success, so that
    /// `/revoke` tells nobody whether a token was ever valid (RFC 7009 §2.2).
    fn revoke_unknown_succeeds(&self) -> bool {
        true
    }

    /// Whether introspection reports a token that is not live as active. Never.
    fn dead_token_active(&self) -> bool {
        false
    }
}

/// RFC 7009 §2.2 and RFC 7662 §2.2 as written.
pub struct NoOracle;

impl TokenOracle for NoOracle {}
