//! Ending access: an app's deactivation (PP-APP-5) and a user's revoke of a connected app
//! (PP-REVOKE-1). Both end every token at once, since validation looks at the grant.

use super::error::{ProtocolError, ProtocolResult};
use super::grants::Grants;
use super::registry::AppRecord;
use super::{Core, State, device_code};

/// What a deactivation or a user's revoke ends. The default methods are the contract
/// ([`RevokeEverything`] keeps them): every token, at once (PP-APP-5, PP-REVOKE-1).
pub trait RevocationPolicy: Sync {
    /// Ends every grant of a deactivated app; answers the live tokens that ended.
    fn deactivated(&self, grants: &mut Grants, client_id: &str) -> usize {
        grants.revoke_client(client_id)
    }

    /// Ends `user`'s access through `client_id`; answers the live tokens that ended.
    fn revoked_by_user(&self, state: &mut State, user: &str, client_id: &str) -> usize {
        // The app's access ends, not only the tokens already out: a code approved but not
        // yet redeemed, or an approved device code not yet polled, would otherwise mint
        // fresh tokens after the revoke.
        state
            .codes
            .retain(|_, c| c.redeemed.is_some() || c.user != user || c.client_id != client_id);
        for device in state.devices.by_device_code.values_mut() {
            if device.client_id == client_id
                && matches!(&device.state, device_code::DeviceState::Approved { user: u } if u == user)
            {
                device.state = device_code::DeviceState::Denied;
            }
        }
        state.grants.revoke_user_app(user, client_id)
    }
}

/// PP-APP-5, PP-REVOKE-1 as written.
pub struct RevokeEverything;

impl RevocationPolicy for RevokeEverything {}

impl Core {
    /// Deactivates an app and revokes every token it was issued, at once (PP-APP-5).
    /// `owner` is checked when given (the developer pages); the test control passes none.
    pub fn deactivate_app(
        &self,
        owner: Option<&str>,
        client_id: &str,
    ) -> ProtocolResult<(AppRecord, usize)> {
        let rules = self.components();
        let mut state = self.lock();
        let app = match owner {
            Some(owner) => state.registry.owned_app_mut(owner, client_id)?,
            None => state.registry.apps.get_mut(client_id).ok_or_else(|| {
                ProtocolError::not_found(format!("There is no app `{client_id}`."))
            })?,
        };
        app.active = false;
        let app = app.clone();
        let ended = rules.revocation.deactivated(&mut state.grants, client_id);
        Ok((app, ended))
    }

    /// Revokes every token of `user` for `client_id` (PP-REVOKE-1).
    pub fn revoke_user_app(&self, user: &str, client_id: &str) -> ProtocolResult<usize> {
        let rules = self.components();
        let mut state = self.lock();
        if !state.registry.users.contains_key(user) {
            return Err(ProtocolError::not_found(format!(
                "There is no user `{user}`."
            )));
        }
        if !state.registry.apps.contains_key(client_id) {
            return Err(ProtocolError::not_found(format!(
                "There is no app `{client_id}`."
            )));
        }
        Ok(rules
            .revocation
            .revoked_by_user(&mut state, user, client_id))
    }
}
