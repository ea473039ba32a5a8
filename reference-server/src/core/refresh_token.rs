//! The refresh token grant with rotation and replay detection (RFC 6749 §6, RFC 9700
//! §4.14.2; PP-REFRESH-*).

use super::clock::Millis;
use super::grants::{Grants, SpentRefresh, TokenKey};

/// What a spent refresh token presented again gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    Refused,
    /// Honoured as if live (only a faulty rotation does this).
    Honoured,
}

/// How refresh tokens rotate. The default methods are the contract
/// ([`RotateAndRevokeReplays`] keeps them): a used token is spent at once, under the
/// state lock, so of concurrent refreshes exactly one wins (PP-REFRESH-2, PP-REFRESH-4);
/// a spent one presented again revokes the grant, newest tokens included (PP-REFRESH-3).
pub trait RefreshRotation: Sync {
    /// Spends a live refresh token that was just used.
    fn spend(&self, grants: &mut Grants, token: &TokenKey, now: Millis) {
        grants.spend_refresh(token, now);
    }

    /// A spent token presented again by its own client.
    fn on_replay(&self, grants: &mut Grants, spent: &SpentRefresh, _now: Millis) -> Replay {
        grants.revoke(spent.grant);
        Replay::Refused
    }
}

/// PP-REFRESH-2..4 as written.
pub struct RotateAndRevokeReplays;

impl RefreshRotation for RotateAndRevokeReplays {}
