//! Bearer tokens on a resource (RFC 6750; PP-API-1, PP-API-2, FX-RS-1): which grant and
//! user a presented access token of the token store stands for, whether it carries the
//! endpoint's scope, and the users' public profiles.

use super::Core;
use super::clock::Millis;
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::family_state::FamilyState;
use super::fault::Bends;
use super::grants::{AccessToken, Grant, GrantId, Grants, TokenKey, access_expiry, token_key};
use super::registry::UserRecord;
use super::scope::{self, ScopeSet};

/// The user and grant behind a valid bearer token (PP-API-1).
#[derive(Debug, Clone)]
pub struct Bearer {
    pub user: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub grant: GrantId,
    pub expires_at: Millis,
}

/// The key of a presented bearer token, hashed before the state lock is taken.
fn bearer_key(token: Option<&str>) -> ProtocolResult<TokenKey> {
    match token {
        Some(token) => {
            let key = token_key(token);
            super::notes::note_bearer(&key);
            Ok(key)
        }
        None => Err(ProtocolError::invalid_token(
            "Send the access token as `Authorization: Bearer <access_token>`.",
        )),
    }
}

/// The grant and access token behind a bearer token (by its key) that is live at `now`
/// and, when `scope` is given, carries it (PP-API-1, PP-API-2).
fn bearer_grant<'g>(
    grants: &'g Grants,
    key: &TokenKey,
    scope: Option<&str>,
    now: Millis,
    bends: Bends,
) -> ProtocolResult<(&'g Grant, AccessToken)> {
    let unknown = || {
        ProtocolError::invalid_token(
            "The access token is unknown, expired or revoked. Refresh it or sign in again.",
        )
    };
    let access = grants.access_by_key(key).ok_or_else(unknown)?;
    if access_expiry(bends).is_expired(access.expires_at, now) {
        return Err(unknown());
    }
    let grant = grants.grant(access.grant).ok_or_else(unknown)?;
    if let Some(scope) = scope
        && !scope::policy(bends).covers(&access.scopes, scope)
    {
        return Err(insufficient_scope(scope));
    }
    Ok((grant, access))
}

/// `insufficient_scope`, naming the scope (PP-API-2).
pub fn insufficient_scope(scope: &str) -> ProtocolError {
    let mut e = ProtocolError::new(
        ErrorCode::InsufficientScope,
        format!("This token is missing the required scope: {scope}."),
    );
    e.required_scope = Some(scope.to_owned());
    e
}

impl Core {
    /// Validates a bearer token (PP-API-1) and, when `scope` is given, that it carries it
    /// (PP-API-2).
    pub fn authenticate_bearer(
        &self,
        token: Option<&str>,
        scope: Option<&str>,
    ) -> ProtocolResult<Bearer> {
        let key = bearer_key(token)?;
        let bends = self.bends();
        let now = self.now();
        let state = self.lock();
        let (grant, access) = bearer_grant(&state.grants, &key, scope, now, bends)?;
        super::notes::note(|n| n.bearer_client = Some(grant.client_id.clone()));
        Ok(Bearer {
            user: grant.user.to_string(),
            client_id: grant.client_id.to_string(),
            scopes: access.scopes,
            grant: access.grant,
            expires_at: access.expires_at,
        })
    }

    /// `GET me` in one acquisition of the state lock (issue 7 item 4): the bearer token
    /// is validated as [`Core::authenticate_bearer`] does, and `read` reads its user, with
    /// the family's tables, under the same lock (PP-API-7, FX-RS-1).
    pub fn bearer_user<R>(
        &self,
        token: Option<&str>,
        scope: Option<&str>,
        read: impl FnOnce(&UserRecord, &dyn FamilyState) -> R,
    ) -> ProtocolResult<R> {
        let key = bearer_key(token)?;
        let bends = self.bends();
        let now = self.now();
        let state = self.lock();
        let (grant, _) = bearer_grant(&state.grants, &key, scope, now, bends)?;
        super::notes::note(|n| n.bearer_client = Some(grant.client_id.clone()));
        let family = state.family.as_ref();
        state
            .registry
            .users
            .get(&*grant.user)
            .map(|user| read(user, family))
            .ok_or_else(|| ProtocolError::not_found("The token's user no longer exists."))
    }

    /// [`Core::bearer_user`] answering `(username, display_name)`.
    pub fn bearer_user_profile(
        &self,
        token: Option<&str>,
        scope: Option<&str>,
    ) -> ProtocolResult<(String, String)> {
        self.bearer_user(token, scope, |u, _| {
            (u.username.clone(), u.display_name.clone())
        })
    }

    /// Whether a bearer seen earlier still holds (live streams end when it does not).
    pub fn bearer_still_valid(&self, bearer: &Bearer) -> bool {
        let bends = self.bends();
        let now = self.now();
        let state = self.lock();
        state.grants.is_live(bearer.grant)
            && !access_expiry(bends).is_expired(bearer.expires_at, now)
    }

    /// Changes whenever a grant is revoked; closed when the state is reset.
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.lock().grants.revocations.subscribe()
    }

    /// `{username, display_name}` of a user (PP-API-7, PP-PUBLIC-1).
    pub fn user_profile(&self, username: &str) -> Option<(String, String)> {
        let state = self.lock();
        state
            .registry
            .users
            .get(username)
            .map(|u| (u.username.clone(), u.display_name.clone()))
    }
}
