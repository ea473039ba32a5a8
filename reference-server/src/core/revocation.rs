//! Ending access: an app's deactivation (PP-APP-5) and a user's revoke of a connected app
//! (PP-REVOKE-1), the apps a user can revoke, the rule both call and the faults that bend
//! it. Both end every token at once, since validation looks at the grant.

use std::collections::BTreeMap;

use super::codes::Codes;
use super::error::{ProtocolError, ProtocolResult};
use super::family_state::FamilyState;
use super::fault::{Bends, FaultSpec};
use super::grants::Grants;
use super::registry::AppRecord;
use super::scope::ScopeSet;
use super::{Core, State};
use crate::core::fault::bends;

/// What a deactivation or a user's revoke ends. The default methods are the contract
/// ([`RevokeEverything`] keeps them): every token, at once (PP-APP-5, PP-REVOKE-1).
pub trait RevocationPolicy: Sync {
    /// Ends every grant of a deactivated app; answers the live tokens that ended.
    fn deactivated(&self, grants: &mut Grants, client_id: &str) -> usize {
        grants.revoke_client(client_id)
    }

    /// Ends `user`'s access through `client_id`; answers the live tokens that ended.
    fn revoked_by_user(
        &self,
        grants: &mut Grants,
        codes: &mut Codes,
        family: &mut dyn FamilyState,
        user: &str,
        client_id: &str,
    ) -> usize {
        // The app's access ends, not only the tokens already out: a code approved but not
        // yet redeemed (or what the family holds, such as an approved device code) would
        // otherwise mint fresh tokens after the revoke.
        codes.retain(|_, c| c.redeemed.is_some() || c.user != user || c.client_id != client_id);
        family.access_revoked(user, client_id);
        grants.revoke_user_app(user, client_id)
    }
}

/// PP-APP-5, PP-REVOKE-1 as written.
pub struct RevokeEverything;

impl RevocationPolicy for RevokeEverything {}

/// The revocation rule the rules call.
pub fn revocation(bends: Bends) -> &'static dyn RevocationPolicy {
    bends.pick::<dyn RevocationPolicy>(&RevokeEverything)
}

impl Core {
    /// Deactivates an app and revokes every token it was issued, at once (PP-APP-5).
    /// `owner` is checked when given (the developer pages); the test control passes none.
    pub fn deactivate_app(
        &self,
        owner: Option<&str>,
        client_id: &str,
    ) -> ProtocolResult<(AppRecord, usize)> {
        let bends = self.bends();
        let mut state = self.lock();
        let app = match owner {
            Some(owner) => state.registry.owned_app_mut(owner, client_id)?,
            None => state.registry.apps.get_mut(client_id).ok_or_else(|| {
                ProtocolError::not_found(format!("There is no app `{client_id}`."))
            })?,
        };
        app.active = false;
        let app = app.clone();
        let ended = revocation(bends).deactivated(&mut state.grants, client_id);
        Ok((app, ended))
    }

    /// Revokes every token of `user` for `client_id` (PP-REVOKE-1).
    pub fn revoke_user_app(&self, user: &str, client_id: &str) -> ProtocolResult<usize> {
        let bends = self.bends();
        let mut state = self.lock();
        let State {
            registry,
            grants,
            codes,
            family,
            ..
        } = &mut *state;
        if !registry.users.contains_key(user) {
            return Err(ProtocolError::not_found(format!(
                "There is no user `{user}`."
            )));
        }
        if !registry.apps.contains_key(client_id) {
            return Err(ProtocolError::not_found(format!(
                "There is no app `{client_id}`."
            )));
        }
        Ok(revocation(bends).revoked_by_user(grants, codes, family.as_mut(), user, client_id))
    }

    /// The apps `user` has live grants for: (client_id, name, scopes), by name
    /// (PP-REVOKE-1).
    pub fn connected_apps(&self, user: &str) -> Vec<(String, String, String)> {
        let state = self.lock();
        let mut by_app: BTreeMap<String, ScopeSet> = BTreeMap::new();
        for g in state.grants.of_user(user) {
            let entry = by_app.entry(g.client_id.to_string()).or_default();
            let merged = ScopeSet::from_known(&self.profile.scopes.known, |s| {
                entry.contains(s) || g.scopes.contains(s)
            });
            *entry = merged;
        }
        let mut apps: Vec<_> = by_app
            .into_iter()
            .map(|(id, scopes)| {
                let name = state
                    .registry
                    .apps
                    .get(&id)
                    .map_or_else(|| id.clone(), |a| a.name.clone());
                (id, name, scopes.to_wire())
            })
            .collect();
        apps.sort_by(|a, b| a.1.cmp(&b.1));
        apps
    }
}

/// `deactivation_keeps_tokens` (PP-APP-5): deactivating an app ends none of its tokens.
struct DeactivationKeepsTokens;

impl RevocationPolicy for DeactivationKeepsTokens {
    fn deactivated(&self, _grants: &mut Grants, _client_id: &str) -> usize {
        0
    }
}

pub static DEACTIVATION_KEEPS_TOKENS: FaultSpec = FaultSpec::bending(
    "deactivation_keeps_tokens",
    "PP-APP-5",
    "deactivating an app leaves its tokens working",
    bends!(dyn RevocationPolicy = DeactivationKeepsTokens),
);

/// `revoke_keeps_tokens` (PP-REVOKE-1): a user's revoke ends nothing.
struct RevokeKeepsTokens;

impl RevocationPolicy for RevokeKeepsTokens {
    fn revoked_by_user(
        &self,
        _grants: &mut Grants,
        _codes: &mut Codes,
        _family: &mut dyn FamilyState,
        _user: &str,
        _client_id: &str,
    ) -> usize {
        0
    }
}

pub static REVOKE_KEEPS_TOKENS: FaultSpec = FaultSpec::bending(
    "revoke_keeps_tokens",
    "PP-REVOKE-1",
    "revoking a connected app leaves its tokens working",
    bends!(dyn RevocationPolicy = RevokeKeepsTokens),
);
