//! The authorization codes a decision issued and not yet expired (RFC 6749 §4.1.2,
//! PP-AUTHZ-7): a table of its own, which the authorization code grant
//! (`authorization_code.rs`) redeems and a user's revoke (PP-REVOKE-1) clears.

use super::clock::Millis;
use super::expiring::Expiring;
use super::grants::GrantId;
use super::scope::ScopeSet;

/// An authorization code issued and not yet expired, bound to the client, redirect URI
/// and challenge (PP-AUTHZ-7; RFC 6749 §4.1.2). Its redemption is the authorization
/// code grant's (`authorization_code.rs`).
#[derive(Debug, Clone)]
pub struct AuthorizationCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub challenge_is_plain: bool,
    pub scopes: ScopeSet,
    pub user: String,
    pub expires_at: Millis,
    /// The grant its redemption created; a second redemption revokes it (PP-AUTHZ-8).
    pub redeemed: Option<GrantId>,
}

/// The codes issued and not yet expired, by code. A redeemed code stays, marked, so a
/// second redemption can revoke what the first issued (PP-AUTHZ-8). Boxed: an empty slot
/// of a table sized for a burst costs a pointer, not a record.
pub type Codes = Expiring<String, Box<AuthorizationCode>>;

/// The most authorization codes kept at once (issue 12 item 1); past it the oldest is
/// evicted. Each one needs a signed-in user's approval.
pub const MAX_CODES: usize = 100_000;
