//! The protocol core: every rule of the contract as plain functions over typed inputs.
//!
//! It owns the state (apps, users, grants, codes, device codes, sessions, playback,
//! rate windows) behind one lock, so that "one code redeemed once" and "one refresh
//! winner" hold by construction. It knows nothing of hyper or sockets: the `http` module
//! parses requests into the inputs here and renders what comes back.

pub mod authorization_code;
pub mod client_auth;
pub mod clock;
pub mod device_code;
pub mod error;
pub mod expiring;
pub mod grants;
pub mod pkce;
pub mod playback;
pub mod rate_limit;
pub mod refresh_token;
pub mod registry;
pub mod scope;
pub mod secrets;
pub mod sessions;
pub mod token_endpoint;

use std::collections::{BTreeMap, HashMap};

use expiring::Expiring;
use std::sync::{Mutex, MutexGuard};

use profile::{Identities, Profile};

use crate::faults::Fault;
pub(crate) use client_auth::inactive_client;
use client_auth::{AuthDefects, ClientCredentials};
use clock::{Clock, Millis};
use error::{ErrorCode, ProtocolError, ProtocolResult};
use grants::{GrantId, Grants};
use rate_limit::{LimiterDefects, RateLimiter};
use registry::{AppRecord, Registry};
use scope::ScopeSet;

/// A request's parameters, from a form or a JSON object of strings.
pub type Params = BTreeMap<String, String>;

/// How the authorize and token endpoints behave (`POST /__test/mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    TemporarilyUnavailable,
    ServerError,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Normal => "normal",
            Mode::TemporarilyUnavailable => "temporarily_unavailable",
            Mode::ServerError => "server_error",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "normal" => Some(Mode::Normal),
            "temporarily_unavailable" => Some(Mode::TemporarilyUnavailable),
            "server_error" => Some(Mode::ServerError),
            _ => None,
        }
    }
}

/// The most authorization codes kept at once (issue 12 item 1); past it the oldest is
/// evicted. Each one needs a signed-in user's approval.
pub const MAX_CODES: usize = 100_000;
/// The most browser sessions kept at once; past it the oldest is signed out. Each one
/// needs a correct password (or the test controls).
pub const MAX_SESSIONS: usize = 100_000;
/// How many expired entries one acquisition of the state lock purges on its way, so
/// expiry follows the clock (the test clock's included) without a long pause.
const PURGE_PER_LOCK: usize = 256;
/// How many the background purge takes per acquisition; it releases the lock between.
const PURGE_PER_STEP: usize = 4096;

/// Everything the server remembers. Guarded by one lock in [`Core`]. Every table is
/// bounded; the bounds and eviction rules are listed in docs/reference-server.md.
#[derive(Debug)]
pub struct State {
    pub registry: Registry,
    pub grants: Grants,
    /// Boxed: an empty slot of a table sized for a burst costs a pointer, not a record.
    pub codes: Expiring<String, Box<authorization_code::AuthorizationCode>>,
    pub pending: authorization_code::PendingAuthorizations,
    pub devices: device_code::Devices,
    pub sessions: Expiring<String, sessions::Session>,
    /// One entry per registered user (the registry's users are fixed).
    pub playback: HashMap<String, playback::UserPlayback>,
    pub limiter: RateLimiter,
    pub sign_in_throttle: sessions::SignInThrottle,
    pub fault: Option<Fault>,
    pub mode: Mode,
}

impl Default for State {
    fn default() -> Self {
        State {
            registry: Registry::default(),
            grants: Grants::default(),
            codes: Expiring::new(MAX_CODES),
            pending: Default::default(),
            devices: Default::default(),
            sessions: Expiring::new(MAX_SESSIONS),
            playback: HashMap::new(),
            limiter: RateLimiter::default(),
            sign_in_throttle: Default::default(),
            fault: None,
            mode: Mode::Normal,
        }
    }
}

impl State {
    pub fn has(&self, fault: Fault) -> bool {
        self.fault == Some(fault)
    }

    /// Forgets what expired by `now`, at most about `budget` entries per table; answers
    /// whether nothing due is left. Work follows what expired, not what is stored.
    fn purge(&mut self, now: Millis, limit_windows: &[u64], budget: usize) -> bool {
        let keep_expired_access = self.has(Fault::ExpiredTokenAccepted);
        let mut done = self.grants.purge(now, keep_expired_access, budget);
        done &= self.codes.purge(now, budget, |_, _| {});
        done &= self.pending.purge(now, budget);
        done &= self.sessions.purge(now, budget, |_, _| {});
        done &= self.devices.purge(now, budget);
        let window_of = |i: usize| limit_windows.get(i).copied().unwrap_or(0);
        done &= self.limiter.purge(now, window_of, budget);
        done &= self.sign_in_throttle.purge(now, budget);
        done
    }

    fn auth_defects(&self) -> AuthDefects {
        AuthDefects {
            secret_not_checked: self.has(Fault::SecretNotChecked),
            old_secret_still_valid: self.has(Fault::OldSecretStillValid),
            inactive_allowed: self.has(Fault::InactiveAppAllowed),
        }
    }

    /// Whether `client_id` may still be issued tokens. Checked again under the lock that
    /// issues them, so a deactivation between authentication and issuance wins (PP-APP-5).
    pub fn client_may_get_tokens(&self, client_id: &str) -> bool {
        self.has(Fault::InactiveAppAllowed)
            || self.registry.apps.get(client_id).is_some_and(|a| a.active)
    }

    /// Authenticates a client for an OAuth endpoint (PP-APP-2..4).
    pub fn authenticate_client(&self, creds: &ClientCredentials) -> ProtocolResult<AppRecord> {
        client_auth::authenticate(&self.registry, creds, self.auth_defects()).cloned()
    }
}

/// The user and grant behind a valid bearer token (PP-API-1).
#[derive(Debug, Clone)]
pub struct Bearer {
    pub user: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub grant: GrantId,
    pub expires_at: Millis,
}

pub struct Core {
    pub profile: Profile,
    pub clock: Clock,
    identities: Identities,
    /// Each rate limit's window in seconds, by the profile's limit index.
    limit_windows: Vec<u64>,
    state: Mutex<State>,
}

impl Core {
    pub fn new(profile: Profile, identities: Identities) -> Self {
        let limit_windows = profile.rate_limits.iter().map(|l| l.window_secs).collect();
        let core = Core {
            profile,
            clock: Clock::new(),
            identities,
            limit_windows,
            state: Mutex::new(State::default()),
        };
        core.reset();
        core
    }

    /// The state lock. A panic while holding it would poison it; the rules here do not
    /// panic, and a poisoned lock is taken over rather than failing every later request.
    ///
    /// Each acquisition also purges a few expired entries (issue 12 item 1), so state
    /// expires as the clock moves, test clock included, without a pause of its own.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.purge(self.now(), &self.limit_windows, PURGE_PER_LOCK);
        state
    }

    /// Purges everything expired, a bounded step per acquisition of the lock, so no
    /// request waits behind it for long. The server calls it every second.
    pub async fn purge_expired(&self) {
        loop {
            let done = {
                let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                state.purge(self.now(), &self.limit_windows, PURGE_PER_STEP)
            };
            if done {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Back to fixtures: apps, users, no grants or sessions, fresh limits, normal mode,
    /// no fault, real time (`POST /__test/reset`).
    pub fn reset(&self) {
        let mut state = self.lock();
        *state = State {
            registry: Registry::from_identities(&self.identities, &self.profile.scopes.known),
            ..State::default()
        };
        self.clock.reset();
    }

    pub fn fault(&self) -> Option<Fault> {
        self.lock().fault
    }

    pub fn has_fault(&self, fault: Fault) -> bool {
        self.lock().has(fault)
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.lock().fault = fault;
    }

    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = mode;
    }

    /// Token, device and refresh endpoints fail while a failure mode is on.
    fn check_mode(state: &State) -> ProtocolResult<()> {
        match state.mode {
            Mode::Normal => Ok(()),
            Mode::TemporarilyUnavailable | Mode::ServerError => Err(ProtocolError::new(
                ErrorCode::ServerError,
                "A temporary server-side failure happened. Retry with backoff.",
            )),
        }
    }

    /// Admits one request of `key` under the profile's limit number `index`, or refuses it
    /// with `rate_limited` and the seconds to wait (PP-RATE-1..3).
    pub fn admit(&self, index: usize, key: &str) -> ProtocolResult<()> {
        let limit = &self.profile.rate_limits[index];
        let mut state = self.lock();
        // Read under the lock, so each key's admitted times stay in order.
        let now = self.now();
        let defects = LimiterDefects {
            admit_extra: state.has(Fault::LimiterAdmitsExtra),
            count_rejected: state.has(Fault::LimiterCountsRejected),
        };
        let retry_after_missing = state.has(Fault::RetryAfterMissing);
        state
            .limiter
            .admit(index, limit.max, limit.window_secs, key, now, defects)
            .map_err(|wait| {
                let mut e = ProtocolError::new(
                    ErrorCode::RateLimited,
                    format!(
                        "Too many requests: {} allows {} per {} s per {}. Retry after {wait} s.",
                        limit.name,
                        limit.max,
                        limit.window_secs,
                        limit.key.as_str()
                    ),
                );
                e.retry_after = (!retry_after_missing).then_some(wait);
                e
            })
    }

    /// Validates a bearer token (PP-API-1) and, when `scope` is given, that it carries it
    /// (PP-API-2).
    pub fn authenticate_bearer(
        &self,
        token: Option<&str>,
        scope: Option<&str>,
    ) -> ProtocolResult<Bearer> {
        let Some(token) = token else {
            return Err(ProtocolError::invalid_token(
                "Send the access token as `Authorization: Bearer <access_token>`.",
            ));
        };
        let now = self.now();
        let state = self.lock();
        let unknown = || {
            ProtocolError::invalid_token(
                "The access token is unknown, expired or revoked. Refresh it or sign in again.",
            )
        };
        let access = state.grants.access(token).ok_or_else(unknown)?;
        if access.expires_at <= now && !state.has(Fault::ExpiredTokenAccepted) {
            return Err(unknown());
        }
        let grant = state.grants.grant(access.grant).ok_or_else(unknown)?;
        if let Some(scope) = scope
            && !access.scopes.contains(scope)
            && !state.has(Fault::ScopeCheckSkipped)
        {
            let mut e = ProtocolError::new(
                ErrorCode::InsufficientScope,
                format!("This token is missing the required scope: {scope}."),
            );
            e.required_scope = Some(scope.to_owned());
            return Err(e);
        }
        Ok(Bearer {
            user: grant.user.to_string(),
            client_id: grant.client_id.to_string(),
            scopes: access.scopes.clone(),
            grant: access.grant,
            expires_at: access.expires_at,
        })
    }

    /// Changes whenever a grant is revoked; closed when the state is reset.
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.lock().grants.revocations.subscribe()
    }

    /// Token, device and refresh endpoints answer `server_error` while a failure mode is
    /// on (`POST /__test/mode`), before they look at the request.
    pub fn check_failure_mode(&self) -> ProtocolResult<()> {
        Self::check_mode(&self.lock())
    }

    /// Whether a bearer seen earlier still holds (live event streams end when it does not).
    pub fn bearer_still_valid(&self, bearer: &Bearer) -> bool {
        let now = self.now();
        let state = self.lock();
        state.grants.is_live(bearer.grant)
            && (bearer.expires_at > now || state.has(Fault::ExpiredTokenAccepted))
    }

    /// Whether `client_id` names a registered app, active or not.
    pub fn is_registered_client(&self, client_id: &str) -> bool {
        self.lock().registry.apps.contains_key(client_id)
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

    /// Deactivates an app and revokes every token it was issued, at once (PP-APP-5).
    /// `owner` is checked when given (the developer pages); the test control passes none.
    pub fn deactivate_app(
        &self,
        owner: Option<&str>,
        client_id: &str,
    ) -> ProtocolResult<(AppRecord, usize)> {
        let mut state = self.lock();
        let keep_tokens = state.has(Fault::DeactivationKeepsTokens);
        let app = match owner {
            Some(owner) => state.registry.owned_app_mut(owner, client_id)?,
            None => state.registry.apps.get_mut(client_id).ok_or_else(|| {
                ProtocolError::not_found(format!("There is no app `{client_id}`."))
            })?,
        };
        app.active = false;
        let app = app.clone();
        let ended = if keep_tokens {
            0
        } else {
            state.grants.revoke_client(client_id)
        };
        Ok((app, ended))
    }

    /// Revokes every token of `user` for `client_id` (PP-REVOKE-1).
    pub fn revoke_user_app(&self, user: &str, client_id: &str) -> ProtocolResult<usize> {
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
        if state.has(Fault::RevokeKeepsTokens) {
            return Ok(0);
        }
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
        Ok(state.grants.revoke_user_app(user, client_id))
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

/// The developer pages' operations (PP-APP-7, PP-APP-8).
impl Core {
    pub fn register_app(
        &self,
        owner: &str,
        new: registry::NewApp,
    ) -> ProtocolResult<(AppRecord, Option<String>)> {
        self.lock()
            .registry
            .register(owner, new, &self.profile.scopes.known)
    }

    /// The apps `owner` registered, by name.
    pub fn apps_of(&self, owner: &str) -> Vec<AppRecord> {
        let state = self.lock();
        let mut apps: Vec<_> = state
            .registry
            .apps
            .values()
            .filter(|a| a.owner.as_deref() == Some(owner))
            .cloned()
            .collect();
        apps.sort_by(|a, b| a.name.cmp(&b.name).then(a.client_id.cmp(&b.client_id)));
        apps
    }

    pub fn rotate_secret(&self, owner: &str, client_id: &str) -> ProtocolResult<String> {
        self.lock().registry.rotate_secret(owner, client_id)
    }
}
