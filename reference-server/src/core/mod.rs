//! The protocol kernel (issue 20 item 1): the rules every family shares, as plain
//! functions over typed inputs, and the one state they run on. It holds the clock, clients
//! and their secrets, the token store with its expiry and bounds, PKCE, the token endpoint
//! with its grant handlers, the rate limiter, revocation and sessions. It names no family:
//! a family brings its own grants, rules and tables ([`family_state::FamilyState`]) and
//! composes them with these through the shell's rule-pack trait.
//!
//! The state is behind one lock, so that "one code redeemed once" and "one refresh
//! winner" hold by construction; a request on the hot path (a token request, `GET me`)
//! takes it once (issue 7 item 4). The rate windows have a lock of their own, and the
//! fault and the failure mode are atomics, so asking them takes no lock. It knows nothing
//! of hyper or sockets: the shell parses requests into the inputs here and renders what
//! comes back.
//!
//! The rules do not ask which fault is on: they ask [`fault::Bends`] for the component
//! they call, and a fault declared beside a component replaces it (issue 7 item 3).

pub mod authorization_code;
pub mod bearer;
pub mod client_auth;
pub mod clock;
pub mod codes;
pub mod error;
pub mod expiring;
pub mod family_state;
pub mod fault;
pub mod grants;
pub mod notes;
pub mod pkce;
pub mod rate_limit;
pub mod refresh_token;
pub mod registry;
pub mod revocation;
pub mod scope;
pub mod secrets;
pub mod sessions;
pub mod shaping;
pub mod token_endpoint;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, RwLock};

use profile::{Identities, Profile};

pub use bearer::Bearer;
use client_auth::{ClientAuthenticator, ClientCredentials};
use clock::{Clock, Millis};
use codes::{Codes, MAX_CODES};
use error::{ErrorCode, ProtocolError, ProtocolResult};
use expiring::Expiring;
use family_state::FamilyState;
use fault::{Bends, FaultSpec};
use grants::Grants;
use rate_limit::RateLimiter;
use registry::{AppRecord, Registry};

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

/// The most browser sessions kept at once; past it the oldest is signed out. Each one
/// needs a correct password (or the test controls).
pub const MAX_SESSIONS: usize = 100_000;
/// How many expired entries one acquisition of the state lock purges on its way, so
/// expiry follows the clock (the test clock's included) without a long pause.
const PURGE_PER_LOCK: usize = 256;
/// How many the background purge takes per acquisition; it releases the lock between.
const PURGE_PER_STEP: usize = 4096;

/// Everything the server remembers, guarded by one lock in [`Core`]: the kernel's tables
/// and the family's own. Every table is bounded; the bounds and eviction rules are listed
/// in docs/reference-server.md.
pub struct State {
    pub registry: Registry,
    pub grants: Grants,
    pub codes: Codes,
    pub pending: authorization_code::PendingAuthorizations,
    pub sessions: Expiring<String, sessions::Session>,
    pub sign_in_throttle: sessions::SignInThrottle,
    /// The family's own tables.
    pub family: Box<dyn FamilyState>,
    /// The clock's reading at the last purge on the way through the lock.
    last_purge: Millis,
}

impl State {
    fn new(registry: Registry, family: Box<dyn FamilyState>) -> State {
        State {
            registry,
            grants: Grants::default(),
            codes: Expiring::new(MAX_CODES),
            pending: Default::default(),
            sessions: Expiring::new(MAX_SESSIONS),
            sign_in_throttle: Default::default(),
            family,
            last_purge: Millis::MIN,
        }
    }

    /// Forgets what expired by `now`, at most about `budget` entries per table; answers
    /// whether nothing due is left. Work follows what expired, not what is stored.
    fn purge(&mut self, now: Millis, bends: Bends, budget: usize) -> bool {
        let keep_expired_access = !grants::access_expiry(bends).forgets_expired();
        let mut done = self.grants.purge(now, keep_expired_access, budget);
        done &= self.codes.purge(now, budget, |_, _| {});
        done &= self.pending.purge(now, budget);
        done &= self.sessions.purge(now, budget, |_, _| {});
        done &= self.sign_in_throttle.purge(now, budget);
        done &= self.family.purge(now, bends, budget);
        done
    }
}

/// A fresh family state from the profile and the fixtures (at start and on reset).
pub type NewFamilyState = Box<dyn Fn(&Profile, &Identities) -> Box<dyn FamilyState> + Send + Sync>;

/// What a family operation on an authenticated client works with, under one lock.
pub struct ClientCall<'a, T> {
    pub client: &'a AppRecord,
    pub tokens: &'a mut Grants,
    pub family: &'a mut T,
    pub bends: Bends,
    pub now: Millis,
}

pub struct Core {
    pub profile: Profile,
    pub clock: Clock,
    identities: Identities,
    new_family_state: NewFamilyState,
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
    /// The running family's faults: the only ones that may be switched on.
    faults: &'static [&'static FaultSpec],
    /// The fault switched on: 0 for none, else its index in `faults` plus one.
    fault: AtomicUsize,
    /// The fault given at start, which a reset switches on again.
    startup_fault: usize,
    /// The failure mode, as its index in [`Mode::ALL`].
    mode: AtomicU8,
}

impl Core {
    /// A kernel for `profile` with `identities`, whose family keeps `new_family_state`'s
    /// tables and may switch on `faults`; `startup_fault` (one of them) is on from the
    /// start and after every reset.
    pub fn new(
        profile: Profile,
        identities: Identities,
        new_family_state: NewFamilyState,
        faults: &'static [&'static FaultSpec],
        startup_fault: Option<&'static FaultSpec>,
    ) -> Self {
        let limit_windows = profile.rate_limits.iter().map(|l| l.window_secs).collect();
        let startup_fault = startup_fault
            .and_then(|f| faults.iter().position(|g| g.name == f.name))
            .map_or(0, |i| i + 1);
        let registry = Registry::from_identities(&identities, &profile.scopes.known);
        let family = new_family_state(&profile, &identities);
        let core = Core {
            state: Mutex::new(State::new(registry, family)),
            profile,
            clock: Clock::new(),
            identities,
            new_family_state,
            limit_windows,
            limiter: Mutex::new(RateLimiter::default()),
            client_ids: RwLock::new(HashSet::new()),
            state_acquisitions: AtomicU64::new(0),
            faults,
            fault: AtomicUsize::new(0),
            startup_fault,
            mode: AtomicU8::new(0),
        };
        core.reset();
        core
    }

    /// A kernel with a family that keeps no tables of its own and has no faults: for
    /// tests of the kernel's rules alone.
    pub fn bare(profile: Profile, identities: Identities) -> Self {
        Core::new(
            profile,
            identities,
            Box::new(|_, _| Box::new(())),
            &[],
            None,
        )
    }

    /// The state lock. A panic while holding it would poison it; the rules here do not
    /// panic, and a poisoned lock is taken over rather than failing every later request.
    ///
    /// Each acquisition also purges a few expired entries (issue 12 item 1), so state
    /// expires as the clock moves, test clock included, without a pause of its own.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.lock_at().0
    }

    /// The state lock and the clock's reading taken with it, for a caller that needs the
    /// time too: one reading of the clock per request (issue 20 item 8).
    pub fn lock_at(&self) -> (MutexGuard<'_, State>, Millis) {
        let mut state = self.lock_state();
        // Lookups check expiry themselves; the purge gives memory back. Once per
        // millisecond of the clock is enough, and spares most requests under load the walk.
        let now = self.now();
        if state.last_purge != now {
            state.last_purge = now;
            state.purge(now, self.bends(), PURGE_PER_LOCK);
        }
        (state, now)
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

    /// Purges everything expired, a bounded step per acquisition of the lock, so no
    /// request waits behind it for long. The server calls it every second.
    pub async fn purge_expired(&self) {
        loop {
            let done = {
                let mut state = self.lock_state();
                state.purge(self.now(), self.bends(), PURGE_PER_STEP)
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
        let now = self.clock.now();
        // The recorder stamps the request with it, reading the clock no second time.
        notes::note(|n| n.at = Some(now));
        now
    }

    /// Back to the start-up state (`POST /__test/reset`): the fixtures' apps and users and
    /// the family's tables as they ship, no grants or sessions, fresh limits, normal mode,
    /// the fault given at start (if any), real time.
    pub fn reset(&self) {
        let mut state = self.lock_state();
        *state = State::new(
            Registry::from_identities(&self.identities, &self.profile.scopes.known),
            (self.new_family_state)(&self.profile, &self.identities),
        );
        *self.client_ids.write().unwrap_or_else(|p| p.into_inner()) =
            state.registry.apps.keys().cloned().collect();
        drop(state);
        self.limiter().clear();
        self.fault.store(self.startup_fault, Ordering::Release);
        self.set_mode(Mode::Normal);
        self.clock.reset();
    }

    /// The faults the running family may switch on, in the order it lists them.
    pub fn faults(&self) -> &'static [&'static FaultSpec] {
        self.faults
    }

    /// The fault switched on, if any. Lock-free.
    pub fn fault(&self) -> Option<&'static FaultSpec> {
        match self.fault.load(Ordering::Acquire) {
            0 => None,
            n => self.faults.get(n - 1).copied(),
        }
    }

    /// What the rules call while the current fault is on. Lock-free.
    #[inline]
    pub fn bends(&self) -> Bends {
        Bends::of(self.fault())
    }

    /// Switches on the fault named `name`, or none; a name that is not one of the running
    /// family's faults is `invalid_request`, listing them.
    pub fn set_fault(&self, name: Option<&str>) -> ProtocolResult<Option<&'static FaultSpec>> {
        let Some(name) = name else {
            self.fault.store(0, Ordering::Release);
            return Ok(None);
        };
        let index = self
            .faults
            .iter()
            .position(|f| f.name == name)
            .ok_or_else(|| {
                ProtocolError::invalid_request(format!(
                    "unknown fault `{name}`; this server's faults are {}.",
                    self.faults
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        self.fault.store(index + 1, Ordering::Release);
        Ok(Some(self.faults[index]))
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

    /// Token, device and refresh endpoints answer `server_error` while a failure mode is
    /// on (`POST /__test/mode`), before they look at the request. Lock-free.
    pub fn check_failure_mode(&self) -> ProtocolResult<()> {
        match self.mode() {
            Mode::Normal => Ok(()),
            Mode::TemporarilyUnavailable | Mode::ServerError => Err(ProtocolError::new(
                ErrorCode::ServerError,
                "A temporary server-side failure happened. Retry with backoff.",
            )),
        }
    }

    /// Admits one request of `key` under the profile's limit number `index`, or refuses it
    /// with `rate_limited` and the seconds to wait (PP-RATE-1..3). Takes the rate windows'
    /// lock only.
    pub fn admit(&self, index: usize, key: &str) -> ProtocolResult<()> {
        let limit = &self.profile.rate_limits[index];
        let policy = rate_limit::limit_policy(self.bends());
        let mut limiter = self.limiter();
        // Read under the lock, so each key's admitted times stay in order.
        let now = self.now();
        notes::note(|n| n.rate_key = Some(notes::digest_of(&(index, key))));
        limiter
            .admit(index, limit.max, limit.window_secs, key, now, policy)
            .map_err(|wait| {
                notes::note(|n| n.retry_after = Some(wait));
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

    /// Whether `client_id` names a registered app, active or not.
    /// Lock-free of the state lock.
    pub fn is_registered_client(&self, client_id: &str) -> bool {
        self.client_ids
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(client_id)
    }

    /// Runs `op` on the family's own tables under the state lock.
    pub fn with_family<T: FamilyState, R>(&self, op: impl FnOnce(&mut T) -> R) -> R {
        self.with_family_at(|family, _| op(family))
    }

    /// [`Core::with_family`], with the clock's reading taken with the lock.
    pub fn with_family_at<T: FamilyState, R>(&self, op: impl FnOnce(&mut T, Millis) -> R) -> R {
        let (mut state, now) = self.lock_at();
        op(family_state::downcast(state.family.as_mut()), now)
    }

    /// Runs `op` on the family's own tables, reading the apps and users beside them, under
    /// the state lock.
    pub fn with_family_and_registry<T: FamilyState, R>(
        &self,
        op: impl FnOnce(&Registry, &mut T) -> R,
    ) -> R {
        let mut state = self.lock();
        let State {
            registry, family, ..
        } = &mut *state;
        op(registry, family_state::downcast(family.as_mut()))
    }

    /// Authenticates the client of `creds` with `authenticator` and runs `op` with it, the
    /// token store and the family's tables, under one acquisition of the state lock (a
    /// family's endpoint that authenticates clients but is no token endpoint: RFC 8628
    /// §3.1, RFC 7009, RFC 7662).
    pub fn with_client<T: FamilyState, R>(
        &self,
        creds: &ClientCredentials,
        authenticator: &dyn ClientAuthenticator,
        op: impl FnOnce(ClientCall<'_, T>) -> ProtocolResult<R>,
    ) -> ProtocolResult<R> {
        notes::note_client(creds.client_id.as_deref(), None);
        let bends = self.bends();
        let now = self.now();
        let mut state = self.lock();
        let State {
            registry,
            grants,
            family,
            ..
        } = &mut *state;
        let client = authenticator.authenticate(registry, creds, bends)?;
        op(ClientCall {
            client,
            tokens: grants,
            family: family_state::downcast(family.as_mut()),
            bends,
            now,
        })
    }
}
