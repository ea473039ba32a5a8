//! The refresh token grant with rotation and replay detection (RFC 6749 §6, RFC 9700
//! §4.14.2): the handler (PP-REFRESH-1, FX-TOKEN-4), the rotation rule it calls
//! (PP-REFRESH-2..4, FX-TOKEN-8) and the faults that bend it.

use super::clock::{Millis, secs};
use super::error::{ProtocolError, ProtocolResult};
use super::fault::{Bends, FaultSpec};
use super::grants::{
    Grants, RefreshLookup, RefreshToken, SpentRefresh, TokenKey, TokenPair, token_key,
};
use super::scope::{self, ScopeSet};
use super::token_endpoint::{GrantHandler, GrantRequest};
use crate::core::fault::bends;

/// `grant_type=refresh_token` (PP-REFRESH-1, FX-TOKEN-4): rotates the refresh token for
/// the authenticated client. Every family with refresh tokens registers this one.
pub struct RefreshTokenGrant;

impl GrantHandler for RefreshTokenGrant {
    fn grant_type(&self) -> &'static str {
        "refresh_token"
    }

    fn handle(&self, g: GrantRequest<'_>) -> ProtocolResult<TokenPair> {
        let refresh_token = g
            .param("refresh_token")
            .ok_or_else(|| ProtocolError::invalid_request("refresh_token is required."))?;
        let (now, client_id) = (g.now, g.client.client_id.as_str());
        let rotation = rotation(g.bends);
        let bad = || {
            ProtocolError::invalid_grant(
                "The refresh token is invalid, expired, revoked, or already used. Sign the user in again.",
            )
        };
        // Another client's refresh token is as good as unknown to this one.
        let own_grant = |grants: &Grants, grant| {
            grants
                .grant(grant)
                .filter(|grant| &*grant.client_id == client_id)
                .map(|grant| grant.scopes.clone())
                .ok_or_else(bad)
        };
        let key = token_key(refresh_token);
        let record = match g.tokens.refresh_by_key(&key).ok_or_else(bad)? {
            RefreshLookup::Live(live) => live,
            RefreshLookup::Spent(spent) => {
                let scopes = own_grant(g.tokens, spent.grant)?;
                match rotation.on_replay(g.tokens, &spent, now) {
                    Replay::Refused => return Err(bad()),
                    Replay::Honoured => RefreshToken {
                        grant: spent.grant,
                        scopes,
                        last_used_at: now,
                    },
                }
            }
        };
        own_grant(g.tokens, record.grant)?;
        if record.last_used_at + secs(g.profile.lifetimes.refresh_token_idle) <= now {
            return Err(bad());
        }
        // PP-REFRESH-5, FX-TOKEN-7: the same scope or a narrower one.
        let scopes: ScopeSet = match scope::requested_names(g.param("scope")) {
            None => record.scopes.clone(),
            Some(requested) => scope::policy(g.bends).refresh(
                &requested,
                &record.scopes,
                &g.client.allowed_scopes,
                &g.profile.scopes.known,
            )?,
        };
        rotation.spend(g.tokens, &key, now);
        Ok(g.issue(record.grant, &scopes))
    }
}

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

/// The rotation rule the refresh grant calls.
pub fn rotation(bends: Bends) -> &'static dyn RefreshRotation {
    bends.pick::<dyn RefreshRotation>(&RotateAndRevokeReplays)
}

/// `refresh_not_rotated` (PP-REFRESH-2): a used refresh token is never spent.
struct RefreshNotRotated;

impl RefreshRotation for RefreshNotRotated {
    fn spend(&self, _grants: &mut Grants, _token: &TokenKey, _now: Millis) {}
}

pub static REFRESH_NOT_ROTATED: FaultSpec = FaultSpec::bending(
    "refresh_not_rotated",
    "PP-REFRESH-2",
    "a used refresh token keeps working",
    bends!(dyn RefreshRotation = RefreshNotRotated),
);

/// `replay_not_revoking` (PP-REFRESH-3): a replay is refused but the grant lives on.
struct ReplayNotRevoking;

impl RefreshRotation for ReplayNotRevoking {
    fn on_replay(&self, _grants: &mut Grants, _spent: &SpentRefresh, _now: Millis) -> Replay {
        Replay::Refused
    }
}

pub static REPLAY_NOT_REVOKING: FaultSpec = FaultSpec::bending(
    "replay_not_revoking",
    "PP-REFRESH-3",
    "replaying a spent refresh token leaves the grant alive",
    bends!(dyn RefreshRotation = ReplayNotRevoking),
);

/// How long a spent refresh token is wrongly honoured under fault `refresh_race`: the
/// "reuse grace period" that lets two concurrent refreshes both win.
const RACE_GRACE_MS: Millis = 2_000;

/// `refresh_race` (PP-REFRESH-4): a token spent less than [`RACE_GRACE_MS`] ago is
/// honoured again, so concurrent refreshes can both win.
struct RefreshRace;

impl RefreshRotation for RefreshRace {
    fn on_replay(&self, grants: &mut Grants, spent: &SpentRefresh, now: Millis) -> Replay {
        if now - spent.spent_at < RACE_GRACE_MS {
            return Replay::Honoured;
        }
        RotateAndRevokeReplays.on_replay(grants, spent, now)
    }
}

pub static REFRESH_RACE: FaultSpec = FaultSpec::bending(
    "refresh_race",
    "PP-REFRESH-4",
    "concurrent refreshes of one token can both succeed",
    bends!(dyn RefreshRotation = RefreshRace),
);
