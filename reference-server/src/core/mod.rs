//! The protocol core: every rule of the contract as plain functions over typed inputs.
//!
//! It owns the state (apps, users, grants, codes, device codes, sessions, playback)
//! behind one lock, so that "one code redeemed once" and "one refresh winner" hold by
//! construction; a request on the hot path (a token request, `GET me`) takes it once
//! (issue 7 item 4). The rate windows have a lock of their own, and the fault and the
//! failure mode are atomics, so asking them takes no lock. It knows nothing of hyper or
//! sockets: the `http` module parses requests into the inputs here and renders what
//! comes back.
//!
//! The rules do not ask which fault is on: they call [`components::Components`], which
//! [`faulty`] picks by fault (issue 7 item 3).

pub mod authorization_code;
pub mod client_auth;
pub mod client_credentials;
pub mod clock;
pub mod components;
pub mod device_code;
pub mod enterprise;
pub mod error;
pub mod expiring;
pub mod faulty;
pub mod grant_handlers;
pub mod grants;
pub mod pkce;
pub mod playback;
pub mod rate_limit;
pub mod refresh_token;
pub mod registry;
pub mod revocation;
pub mod scope;
pub mod secrets;
pub mod sessions;
pub mod strict_client_auth;
pub mod strict_oauth;
pub mod strict_rules;
pub mod token_endpoint;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

use expiring::Expiring;
use profile::{Identities, Profile};

use crate::faults::Fault;
pub(crate) use client_auth::inactive_client;
use clock::{Clock, Millis};
use components::Components;
use error::{ErrorCode, ProtocolError, ProtocolResult};
use grants::{AccessToken, Grant, GrantId, Grants, TokenKey};
use rate_limit::RateLimiter;
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
    const ALL: [Mode; 3] = [
        Mode::Normal,
        Mode::TemporarilyUnavailable,
        Mode::ServerError,
    ];

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
    pub sign_in_throttle: sessions::SignInThrottle,
    /// Enterprise: client-credential access tokens (EN-TOKEN-1).
    pub client_tokens: client_credentials::ClientTokens,
    /// Enterprise: enterprises, companies and their clients (EN-TOKEN-3, EN-API-1).
    pub directory: enterprise::Directory,
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
            sign_in_throttle: Default::default(),
            client_tokens: Default::default(),
            directory: Default::default(),
        }
    }
}

impl State {
    /// Forgets what expired by `now`, at most about `budget` entries per table; answers
    /// whether nothing due is left. Work follows what expired, not what is stored.
    fn purge(&mut self, now: Millis, rules: &Components, budget: usize) -> bool {
        let keep_expired_access = !rules.access_expiry.forgets_expired();
        let mut done = self.grants.purge(now, keep_expired_access, budget);
        done &= self.codes.purge(now, budget, |_, _| {});
        done &= self.pending.purge(now, budget);
        done &= self.sessions.purge(now, budget, |_, _| {});
        done &= self.devices.purge(now, budget);
        done &= self.sign_in_throttle.purge(now, budget);
        // Expired tokens are kept only for a faulty rule that still sees them.
        if !keep_expired_access && rules.enterprise.forgets_expired() {
            done &= self.client_tokens.purge(now, budget);
        }
        done
    }

    /// The grant and access token behind a bearer token (by its key) that is live at
    /// `now` and, when `scope` is given, carries it (PP-API-1, PP-API-2).
    fn bearer_grant(
        &self,
        key: &TokenKey,
        scope: Option<&str>,
        now: Millis,
        rules: &Components,
    ) -> ProtocolResult<(&Grant, AccessToken)> {
        let unknown = || {
            ProtocolError::invalid_token(
                "The access token is unknown, expired or revoked. Refresh it or sign in again.",
            )
        };
        let access = self.grants.access_by_key(key).ok_or_else(unknown)?;
        if rules.access_expiry.is_expired(access.expires_at, now) {
            return Err(unknown());
        }
        let grant = self.grants.grant(access.grant).ok_or_else(unknown)?;
        if let Some(scope) = scope
            && !rules.scopes.covers(&access.scopes, scope)
        {
            let mut e = ProtocolError::new(
                ErrorCode::InsufficientScope,
                format!("This token is missing the required scope: {scope}."),
            );
            e.required_scope = Some(scope.to_owned());
            return Err(e);
        }
        Ok((grant, access))
    }
}

/// The key of a presented bearer token, hashed before the state lock is taken.
fn bearer_key(token: Option<&str>) -> ProtocolResult<TokenKey> {
    match token {
        Some(token) => Ok(grants::token_key(token)),
        None => Err(ProtocolError::invalid_token(
            "Send the access token as `Authorization: Bearer <access_token>`.",
        )),
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
    /// The rate windows (PP-RATE-*), locked on their own: admission happens before a
    /// request's rules run, and takes nothing the rules need.
    limiter: Mutex<RateLimiter>,
    /// How many times the state lock was taken, so a test can hold the hot path to one
    /// acquisition per request (issue 7 item 4).
    state_acquisitions: AtomicU64,
    /// The registered client_ids, readable without the state lock: a token request's
    /// limit key asks it before the request's one acquisition of the state lock. Apps
    /// are only added (registration) or replaced all at once (reset), both while the
    /// state lock is held, so it always matches the registry.
    client_ids: RwLock<HashSet<String>>,
    /// The fault switched on: 0 for none, else its index in [`Fault::ALL`] plus one.
    fault: AtomicUsize,
    /// The failure mode, as its index in [`Mode::ALL`].
    mode: AtomicU8,
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
            limiter: Mutex::new(RateLimiter::default()),
            client_ids: RwLock::new(HashSet::new()),
            state_acquisitions: AtomicU64::new(0),
            fault: AtomicUsize::new(0),
            mode: AtomicU8::new(0),
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
        let mut state = self.lock_state();
        state.purge(self.now(), &self.components(), PURGE_PER_LOCK);
        state
    }

    fn lock_state(&self) -> MutexGuard<'_, State> {
        self.state_acquisitions.fetch_add(1, Ordering::Relaxed);
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many times the state lock was taken since the core was made.
    pub fn state_acquisitions(&self) -> u64 {
        self.state_acquisitions.load(Ordering::Relaxed)
    }

    /// The rate windows' lock, purging a few emptied windows on the way like [`Core::lock`].
    pub fn limiter(&self) -> MutexGuard<'_, RateLimiter> {
        let mut limiter = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        limiter.purge(self.now(), |i| self.limit_window(i), PURGE_PER_LOCK);
        limiter
    }

    fn limit_window(&self, index: usize) -> u64 {
        self.limit_windows.get(index).copied().unwrap_or(0)
    }

    /// The components the rules call, as the current fault picks them.
    pub fn components(&self) -> Components {
        faulty::components_for(self.fault())
    }

    /// Purges everything expired, a bounded step per acquisition of the lock, so no
    /// request waits behind it for long. The server calls it every second.
    pub async fn purge_expired(&self) {
        loop {
            let done = {
                let mut state = self.lock_state();
                state.purge(self.now(), &self.components(), PURGE_PER_STEP)
            } & {
                let mut limiter = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
                limiter.purge(self.now(), |i| self.limit_window(i), PURGE_PER_STEP)
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
            directory: enterprise::Directory::from_identities(&self.identities),
            ..State::default()
        };
        *self.client_ids.write().unwrap_or_else(|p| p.into_inner()) =
            state.registry.apps.keys().cloned().collect();
        self.limiter().clear();
        self.set_fault(None);
        self.set_mode(Mode::Normal);
        self.clock.reset();
    }

    /// The fault switched on, if any. Lock-free.
    pub fn fault(&self) -> Option<Fault> {
        match self.fault.load(Ordering::Acquire) {
            0 => None,
            n => Fault::ALL.get(n - 1).copied(),
        }
    }

    /// Whether `fault` is on. Lock-free, so the http shell's fault layer asks it freely.
    pub fn has_fault(&self, fault: Fault) -> bool {
        self.fault.load(Ordering::Acquire) == fault as usize + 1
    }

    pub fn set_fault(&self, fault: Option<Fault>) {
        self.fault
            .store(fault.map_or(0, |f| f as usize + 1), Ordering::Release);
    }

    pub fn mode(&self) -> Mode {
        Mode::ALL
            .get(usize::from(self.mode.load(Ordering::Acquire)))
            .copied()
            .unwrap_or_default()
    }

    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::Release);
    }

    /// Admits one request of `key` under the profile's limit number `index`, or refuses it
    /// with `rate_limited` and the seconds to wait (PP-RATE-1..3). Takes the rate windows'
    /// lock only.
    pub fn admit(&self, index: usize, key: &str) -> ProtocolResult<()> {
        let limit = &self.profile.rate_limits[index];
        let rules = self.components();
        let mut limiter = self.limiter();
        // Read under the lock, so each key's admitted times stay in order.
        let now = self.now();
        limiter
            .admit(index, limit.max, limit.window_secs, key, now, rules.limits)
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
                e.retry_after = Some(wait);
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
        let key = bearer_key(token)?;
        let rules = self.components();
        let now = self.now();
        let state = self.lock();
        let (grant, access) = state.bearer_grant(&key, scope, now, &rules)?;
        Ok(Bearer {
            user: grant.user.to_string(),
            client_id: grant.client_id.to_string(),
            scopes: access.scopes,
            grant: access.grant,
            expires_at: access.expires_at,
        })
    }

    /// `GET me` in one acquisition of the state lock (issue 7 item 4): the bearer token
    /// is validated as [`Core::authenticate_bearer`] does, and its user's
    /// `(username, display_name)` read under the same lock (PP-API-7).
    pub fn bearer_user_profile(
        &self,
        token: Option<&str>,
        scope: Option<&str>,
    ) -> ProtocolResult<(String, String)> {
        let key = bearer_key(token)?;
        let rules = self.components();
        let now = self.now();
        let state = self.lock();
        let (grant, _) = state.bearer_grant(&key, scope, now, &rules)?;
        state
            .registry
            .users
            .get(&*grant.user)
            .map(|u| (u.username.clone(), u.display_name.clone()))
            .ok_or_else(|| ProtocolError::not_found("The token's user no longer exists."))
    }

    /// Changes whenever a grant is revoked; closed when the state is reset.
    pub fn revocations(&self) -> tokio::sync::watch::Receiver<u64> {
        self.lock().grants.revocations.subscribe()
    }

    /// Token, device and refresh endpoints answer `server_error` while a failure mode is
    /// on (`POST /__test/mode`), before they look at the request.
    /// Lock-free.
    pub fn check_failure_mode(&self) -> ProtocolResult<()> {
        match self.mode() {
            Mode::Normal => Ok(()),
            Mode::TemporarilyUnavailable | Mode::ServerError => Err(ProtocolError::new(
                ErrorCode::ServerError,
                "A temporary server-side failure happened. Retry with backoff.",
            )),
        }
    }

    /// Whether a bearer seen earlier still holds (live event streams end when it does not).
    pub fn bearer_still_valid(&self, bearer: &Bearer) -> bool {
        let rules = self.components();
        let now = self.now();
        let state = self.lock();
        state.grants.is_live(bearer.grant)
            && !rules.access_expiry.is_expired(bearer.expires_at, now)
    }

    /// Whether `client_id` names a registered app, active or not.
    /// Lock-free of the state lock.
    pub fn is_registered_client(&self, client_id: &str) -> bool {
        self.client_ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(client_id)
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
        let mut state = self.lock();
        let registered = state
            .registry
            .register(owner, new, &self.profile.scopes.known)?;
        self.client_ids
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(registered.0.client_id.clone());
        Ok(registered)
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// PP-API-1 with paused tokio time: the access token works until its lifetime has
    /// passed on the core's clock and not a millisecond longer, and nothing sleeps.
    #[tokio::test(start_paused = true)]
    async fn an_access_token_ends_when_paused_time_passes_its_lifetime() {
        let core = Core::new(Profile::punchplay(), Identities::punchplay());
        let lifetime = core.profile.lifetimes.access_token;
        let pair = {
            let now = core.now();
            let mut state = core.lock();
            let scopes = state.registry.apps["pp-web"].allowed_scopes.clone();
            let grant = state.grants.create("alice", "pp-web", scopes.clone());
            state.grants.issue(grant, &scopes, lifetime, 3600, now)
        };
        let me = || core.bearer_user_profile(Some(&pair.access_token), None);
        assert_eq!(me().expect("fresh").0, "alice");
        tokio::time::advance(Duration::from_millis(lifetime * 1000 - 1)).await;
        assert!(me().is_ok(), "one millisecond before its lifetime ends");
        tokio::time::advance(Duration::from_millis(1)).await;
        let ended = me().expect_err("expired");
        assert_eq!(ended.code, ErrorCode::InvalidToken);
    }

    /// PP-RATE-1 and PP-RATE-3 with paused tokio time: a limit admits its max, refuses the
    /// next with a Retry-After inside the window (PP-RATE-2), stays shut one millisecond
    /// before the oldest admission slides out and opens exactly when it does.
    #[tokio::test(start_paused = true)]
    async fn a_limit_reopens_exactly_when_paused_time_slides_its_window() {
        let core = Core::new(Profile::punchplay(), Identities::punchplay());
        let (index, limit) = core
            .profile
            .rate_limits
            .iter()
            .enumerate()
            .find(|(_, l)| l.name == "public-user")
            .expect("punchplay limits public-user");
        let (max, window) = (limit.max, limit.window_secs);
        let key = "127.0.0.9";
        for n in 0..max {
            core.admit(index, key)
                .unwrap_or_else(|e| panic!("request {n} is within the limit: {e:?}"));
        }
        let refused = core.admit(index, key).expect_err("one over the limit");
        assert_eq!(refused.code, ErrorCode::RateLimited);
        assert_eq!(
            refused.retry_after,
            Some(window),
            "all {max} were admitted just now"
        );
        tokio::time::advance(Duration::from_millis(window * 1000 - 1)).await;
        assert!(
            core.admit(index, key).is_err(),
            "the window has not slid yet"
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        core.admit(index, key)
            .expect("the oldest admissions slid out");
    }

    /// Issue 7 item 4, through the http shell: a rotating refresh at `oauth/token` and at
    /// `auth/refresh`, and `GET me`, each take the state lock exactly once. (The fewest of
    /// a few tries: the background purge takes it too, once a second.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_hot_path_takes_the_state_lock_once_per_request() {
        use std::sync::Arc;

        use crate::ServerConfig;
        use crate::http::App;

        let app = Arc::new(App::new(ServerConfig::punchplay()).expect("punchplay is served"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(crate::http::server::run(
            listener,
            app.clone(),
            async move {
                let _ = stopped.await;
            },
        ));
        let core = &app.core;
        let mut pair = {
            let now = core.now();
            let mut state = core.lock();
            let scopes = state.registry.apps["pp-web"].allowed_scopes.clone();
            let grant = state.grants.create("alice", "pp-web", scopes.clone());
            state.grants.issue(grant, &scopes, 3600, 3600, now)
        };
        let http = reqwest::Client::new();
        let url = |endpoint: &str| format!("{base}{}", core.profile.path(endpoint));
        let mut fewest = [u64::MAX; 3];
        for _ in 0..5 {
            for (i, endpoint) in ["token", "refresh"].into_iter().enumerate() {
                let before = core.state_acquisitions();
                let reply = http
                    .post(url(endpoint))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("client_id", "pp-web"),
                        ("client_secret", "pp-web-secret"),
                        ("refresh_token", &pair.refresh_token),
                    ])
                    .send()
                    .await
                    .unwrap();
                fewest[i] = fewest[i].min(core.state_acquisitions() - before);
                assert_eq!(reply.status(), 200, "{endpoint}");
                let body: serde_json::Value = reply.json().await.unwrap();
                pair.refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
                pair.access_token = body["access_token"].as_str().unwrap().to_owned();
            }
            let before = core.state_acquisitions();
            let reply = http
                .get(url("me"))
                .bearer_auth(&pair.access_token)
                .send()
                .await
                .unwrap();
            fewest[2] = fewest[2].min(core.state_acquisitions() - before);
            assert_eq!(reply.status(), 200, "me");
        }
        assert_eq!(fewest, [1, 1, 1], "oauth/token, auth/refresh, GET me");
    }
}
