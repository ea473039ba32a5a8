//! The refresh token grant with rotation and replay detection (RFC 6749 §6, RFC 9700
//! §4.14.2; PP-REFRESH-*).

use crate::faults::Fault;

use super::Core;
use super::clock::secs;
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::grants::{RefreshLookup, RefreshToken, TokenPair};
use super::scope::ScopeSet;

/// How long a spent refresh token is wrongly honoured under fault `refresh_race`: the
/// "reuse grace period" that lets two concurrent refreshes both win.
const RACE_GRACE_MS: i64 = 2_000;

impl Core {
    /// Rotates `refresh_token` for the authenticated `client_id`: the old one is spent
    /// (PP-REFRESH-2), a spent one presented again revokes the whole grant (PP-REFRESH-3),
    /// and under the state lock exactly one of concurrent refreshes wins (PP-REFRESH-4).
    pub fn refresh(
        &self,
        client_id: &str,
        refresh_token: Option<&str>,
        scope: Option<&str>,
    ) -> ProtocolResult<TokenPair> {
        let refresh_token = refresh_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ProtocolError::invalid_request("refresh_token is required."))?;
        let now = self.now();
        let lifetimes = &self.profile.lifetimes;
        let mut state = self.lock();
        let bad = || {
            ProtocolError::invalid_grant(
                "The refresh token is invalid, expired, revoked, or already used. Sign the user in again.",
            )
        };
        let record = match state.grants.refresh(refresh_token).ok_or_else(bad)? {
            RefreshLookup::Live(live) => live,
            RefreshLookup::Spent(spent) => {
                let grant = state.grants.grant(spent.grant).ok_or_else(bad)?;
                if &*grant.client_id != client_id {
                    return Err(bad());
                }
                if !state.client_may_get_tokens(client_id) {
                    return Err(super::inactive_client());
                }
                let in_race_grace =
                    state.has(Fault::RefreshRace) && now - spent.spent_at < RACE_GRACE_MS;
                if !in_race_grace {
                    if !state.has(Fault::ReplayNotRevoking) {
                        // PP-REFRESH-3: a replay revokes the grant, newest tokens included.
                        state.grants.revoke(spent.grant);
                    }
                    return Err(bad());
                }
                // Fault `refresh_race`: honoured again inside the grace period.
                RefreshToken {
                    grant: spent.grant,
                    scopes: grant.scopes.clone(),
                    last_used_at: now,
                }
            }
        };
        let grant = state.grants.grant(record.grant).ok_or_else(bad)?;
        if &*grant.client_id != client_id {
            return Err(bad());
        }
        if !state.client_may_get_tokens(client_id) {
            return Err(super::inactive_client());
        }
        if record.last_used_at + secs(lifetimes.refresh_token_idle) <= now {
            return Err(bad());
        }
        // PP-REFRESH-5: a narrower scope is allowed, a wider one is not.
        let scopes = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            None => record.scopes.clone(),
            Some(requested) => {
                let names: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
                let widening = names.iter().any(|n| !record.scopes.contains(n));
                if widening && !state.has(Fault::RefreshWidensScope) {
                    return Err(ProtocolError::new(
                        ErrorCode::InvalidScope,
                        format!(
                            "A refresh cannot widen scope: this grant holds `{}`.",
                            record.scopes.to_wire()
                        ),
                    ));
                }
                let allowed = state
                    .registry
                    .apps
                    .get(client_id)
                    .map(|a| a.allowed_scopes.clone())
                    .unwrap_or_default();
                ScopeSet::from_known(&self.profile.scopes.known, |s| {
                    names.contains(&s) && (record.scopes.contains(s) || allowed.contains(s))
                })
            }
        };
        if !state.has(Fault::RefreshNotRotated) {
            state.grants.spend_refresh(refresh_token, now);
        }
        Ok(state.grants.issue(
            record.grant,
            &scopes,
            lifetimes.access_token,
            lifetimes.refresh_token_idle,
            now,
        ))
    }
}
