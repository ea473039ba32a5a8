//! Grants and the tokens issued under them.
//!
//! A grant is one user's approval of one app for a set of scopes. Every access and refresh
//! token points at its grant, so revoking a grant (a replayed refresh token, PP-REFRESH-3;
//! a reused code, PP-AUTHZ-8; a user's revoke, PP-REVOKE-1; an app's deactivation,
//! PP-APP-5) ends all of its tokens at once: validation looks at the grant every time.

use std::collections::HashMap;

use super::clock::{Millis, secs};
use super::scope::ScopeSet;
use super::secrets::random_token;

pub type GrantId = u64;

#[derive(Debug, Clone)]
pub struct Grant {
    pub user: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub revoked: bool,
    pub created_at: Millis,
}

#[derive(Debug, Clone)]
pub struct AccessToken {
    pub grant: GrantId,
    pub scopes: ScopeSet,
    pub expires_at: Millis,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub grant: GrantId,
    pub scopes: ScopeSet,
    /// Last issue or use; it expires `refresh_token_idle` after this (PP-REFRESH-5).
    pub last_used_at: Millis,
    /// When it was rotated away; a spent token presented again is a replay (PP-REFRESH-2).
    pub spent_at: Option<Millis>,
}

/// What the token endpoints answer on success (PP-TOKEN-1).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug)]
pub struct Grants {
    next_id: GrantId,
    pub grants: HashMap<GrantId, Grant>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    /// Counts revocations, so open live-event streams re-check their token at once
    /// instead of at the next heartbeat. Dropped with the state on reset, which ends them.
    pub revocations: tokio::sync::watch::Sender<u64>,
}

impl Default for Grants {
    fn default() -> Self {
        Grants {
            next_id: 0,
            grants: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            revocations: tokio::sync::watch::channel(0).0,
        }
    }
}

impl Grants {
    pub fn create(
        &mut self,
        user: &str,
        client_id: &str,
        scopes: ScopeSet,
        now: Millis,
    ) -> GrantId {
        self.next_id += 1;
        self.grants.insert(
            self.next_id,
            Grant {
                user: user.to_owned(),
                client_id: client_id.to_owned(),
                scopes,
                revoked: false,
                created_at: now,
            },
        );
        self.next_id
    }

    /// Issues a fresh access and refresh token under `grant`.
    pub fn issue(
        &mut self,
        grant: GrantId,
        scopes: &ScopeSet,
        access_lifetime: u64,
        now: Millis,
    ) -> TokenPair {
        let access_token = random_token("ppat_");
        let refresh_token = random_token("pprt_");
        self.access.insert(
            access_token.clone(),
            AccessToken {
                grant,
                scopes: scopes.clone(),
                expires_at: now + secs(access_lifetime),
            },
        );
        self.refresh.insert(
            refresh_token.clone(),
            RefreshToken {
                grant,
                scopes: scopes.clone(),
                last_used_at: now,
                spent_at: None,
            },
        );
        TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in: access_lifetime,
            refresh_token,
            scope: Some(scopes.to_wire()),
        }
    }

    pub fn is_live(&self, grant: GrantId) -> bool {
        self.grants.get(&grant).is_some_and(|g| !g.revoked)
    }

    pub fn revoke(&mut self, grant: GrantId) {
        if let Some(g) = self.grants.get_mut(&grant) {
            g.revoked = true;
            self.revocations.send_modify(|n| *n += 1);
        }
    }

    /// Revokes every live grant that matches; answers how many tokens that ended.
    pub fn revoke_where(&mut self, matches: impl Fn(&Grant) -> bool) -> usize {
        let mut ended = Vec::new();
        for (id, g) in &mut self.grants {
            if !g.revoked && matches(g) {
                g.revoked = true;
                ended.push(*id);
            }
        }
        if !ended.is_empty() {
            self.revocations.send_modify(|n| *n += 1);
        }
        let access = self
            .access
            .values()
            .filter(|t| ended.contains(&t.grant))
            .count();
        let refresh = self
            .refresh
            .values()
            .filter(|t| t.spent_at.is_none() && ended.contains(&t.grant))
            .count();
        access + refresh
    }

    /// Drops what can never be valid again, so a long-running server stays small.
    pub fn sweep(&mut self, now: Millis, refresh_idle: u64) {
        let grants = &self.grants;
        let live = |g: &GrantId| grants.get(g).is_some_and(|g| !g.revoked);
        self.access
            .retain(|_, t| t.expires_at > now && live(&t.grant));
        self.refresh
            .retain(|_, t| t.last_used_at + secs(refresh_idle) > now && live(&t.grant));
        let access = &self.access;
        let refresh = &self.refresh;
        self.grants.retain(|id, g| {
            !g.revoked
                || access.values().any(|t| t.grant == *id)
                || refresh.values().any(|t| t.grant == *id)
        });
    }
}
