//! The refresh token grant with rotation and replay detection (RFC 6749 §6, RFC 9700
//! §4.14.2; PP-REFRESH-*).

use super::clock::{Millis, secs};
use super::error::{ProtocolError, ProtocolResult};
use super::grants::{
    Grants, RefreshLookup, RefreshToken, SpentRefresh, TokenKey, TokenPair, token_key,
};
use super::scope::{self, ScopeSet};
use super::token_endpoint::{GrantHandler, GrantRequest};

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

/// `grant_type=refresh_token`, at `oauth/token` and `auth/refresh` (PP-REFRESH-1):
/// rotates the refresh token for the authenticated client.
pub struct RefreshTokenGrant;

impl GrantHandler for RefreshTokenGrant {
    fn grant_type(&self) -> &'static str {
        "refresh_token"
    }

    fn handle(&self, g: GrantRequest<'_>) -> ProtocolResult<TokenPair> {
        let refresh_token = g
            .param("refresh_token")
            .ok_or_else(|| ProtocolError::invalid_request("refresh_token is required."))?;
        let (now, rules, client_id) = (g.now, g.rules, g.client_id);
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
        let record = match g.state.grants.refresh_by_key(&key).ok_or_else(bad)? {
            RefreshLookup::Live(live) => live,
            RefreshLookup::Spent(spent) => {
                let scopes = own_grant(&g.state.grants, spent.grant)?;
                if !g.client_may_get_tokens() {
                    return Err(super::inactive_client());
                }
                match rules.refresh.on_replay(&mut g.state.grants, &spent, now) {
                    Replay::Refused => return Err(bad()),
                    Replay::Honoured => RefreshToken {
                        grant: spent.grant,
                        scopes,
                        last_used_at: now,
                    },
                }
            }
        };
        own_grant(&g.state.grants, record.grant)?;
        if !g.client_may_get_tokens() {
            return Err(super::inactive_client());
        }
        let lifetimes = &g.core.profile.lifetimes;
        if record.last_used_at + secs(lifetimes.refresh_token_idle) <= now {
            return Err(bad());
        }
        let known = &g.core.profile.scopes.known;
        let scopes: ScopeSet = match scope::requested_names(g.param("scope")) {
            None => record.scopes.clone(),
            Some(requested) => {
                let allowed = g
                    .state
                    .registry
                    .apps
                    .get(client_id)
                    .map(|a| a.allowed_scopes.clone())
                    .unwrap_or_default();
                rules
                    .scopes
                    .refresh(&requested, &record.scopes, &allowed, known)?
            }
        };
        rules.refresh.spend(&mut g.state.grants, &key, now);
        Ok(g.issue(record.grant, &scopes))
    }
}
