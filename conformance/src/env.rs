//! What a run shares: the target, the contract (profile), the credentials and the roles
//! their apps and users play, the family's [`Dialect`], the approval driver, the source
//! addresses handed to checks, and the run's logs of rate-limited requests and real-time
//! waits. Made once per run ([`Env::of_family`]; `Env::new`, beside the family registry in
//! [`crate::checks`], picks the dialect from the profile's family).

use std::any::Any;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

use profile::{Identities, Profile, User};

use crate::approval::Driver;
use crate::client::HttpOptions;
use crate::dialect::{Dialect, Roles};
use crate::outcome::Problem;

/// How many source addresses the suite hands out, 127.1.0.2 to 127.250.249.251.
const LOOPBACK_SOURCES: u32 = 250 * 250 * 250;

/// How many rate-limited requests the run's log keeps: the newest count, which is what
/// [`Env::used`] asks about (a window's worth of a run's requests is far fewer).
const USAGE_LOG_BOUND: usize = 100_000;

/// Everything a run shares.
pub struct Env {
    pub profile: Profile,
    pub ids: Identities,
    /// How the profile's family reads and writes its exchanges.
    pub dialect: &'static dyn Dialect,
    roles: Box<dyn Roles>,
    pub http: Arc<HttpOptions>,
    /// The target serves `/__test/*` (clock control, reset, decisions).
    pub controls: bool,
    pub driver: Driver,
    /// Wait out real time where the target has no clock control.
    pub allow_slow: bool,
    /// Give each check its own loopback source address (only for a loopback target).
    pub loopback_sources: bool,
    next_source: AtomicU32,
    occurred: AtomicI64,
    /// Every request to a rate-limited endpoint this run sent: limit, source, when.
    usage_log: std::sync::Mutex<Vec<(String, Option<IpAddr>, std::time::Instant)>>,
    /// The real-time waits under way (`--allow-slow`): check id and when each ends, for
    /// the progress countdown.
    waiting: std::sync::Mutex<BTreeMap<&'static str, std::time::Instant>>,
}

impl Env {
    /// The run's environment for a family's `dialect`; fails when the credentials lack a
    /// role every check of the family needs.
    pub fn of_family(
        dialect: &'static dyn Dialect,
        profile: Profile,
        ids: Identities,
        http: HttpOptions,
        controls: bool,
        driver: Driver,
        allow_slow: bool,
    ) -> Result<Env, String> {
        let roles = dialect.roles(&ids, &profile)?;
        let loopback_sources = match http.base.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            _ => false,
        };
        Ok(Env {
            profile,
            ids,
            dialect,
            roles,
            http: Arc::new(http),
            controls,
            driver,
            allow_slow,
            loopback_sources,
            // A random start in a space of millions, so that repeated runs against one
            // long-lived target do not inherit each other's IP-keyed windows (issue 10
            // item 4: two runs of a few hundred addresses each almost never meet).
            next_source: AtomicU32::new(rand::random::<u32>() % LOOPBACK_SOURCES),
            occurred: AtomicI64::new(chrono::Utc::now().timestamp_micros()),
            usage_log: std::sync::Mutex::new(Vec::new()),
            waiting: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// The roles as the family picked them, as its own type (`None` for another type: a
    /// check of one family run with another's environment).
    pub fn roles<R: Roles>(&self) -> Option<&R> {
        (self.roles.as_ref() as &dyn Any).downcast_ref::<R>()
    }

    /// The roles as the redactor names them.
    pub fn role_names(&self) -> &dyn Roles {
        self.roles.as_ref()
    }

    /// The user every approval of the run is made as: the first of the credentials.
    pub fn approver(&self) -> Result<&User, Problem> {
        self.ids
            .users
            .first()
            .ok_or_else(|| Problem::skip("needs a test user in the credentials to approve as"))
    }

    /// A fresh source address in 127.0.0.0/8 (never 127.0.0.1, which the CLI's own
    /// probes use), or none for a remote target.
    pub fn next_source(&self) -> Option<IpAddr> {
        if !self.loopback_sources {
            return None;
        }
        let n = self.next_source.fetch_add(1, Ordering::Relaxed) % LOOPBACK_SOURCES;
        Some(IpAddr::V4(Ipv4Addr::new(
            127,
            (n / 62_500) as u8 + 1,
            (n / 250 % 250) as u8,
            (n % 250) as u8 + 2,
        )))
    }

    /// How many requests this run sent within the limit's window that count against the
    /// same key as a request from `source` (IP keys: that source; the user key: all).
    pub fn used(&self, limit: &profile::RateLimit, source: Option<IpAddr>) -> u32 {
        let window = Duration::from_secs(limit.window_secs);
        let log = self.usage_log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter()
            .filter(|(name, src, at)| {
                *name == limit.name
                    && at.elapsed() < window
                    && (limit.key == profile::LimitKey::User || *src == source)
            })
            .count() as u32
    }

    /// Logs a request that `limit` counts, sent from `source`.
    pub(crate) fn log_use(&self, limit: &str, source: Option<IpAddr>) {
        let mut log = self.usage_log.lock().unwrap_or_else(|e| e.into_inner());
        if log.len() >= USAGE_LOG_BOUND {
            log.drain(..USAGE_LOG_BOUND / 2);
        }
        log.push((limit.to_owned(), source, std::time::Instant::now()));
    }

    /// Marks `check` as waiting in real time until `until`; the countdown shows it.
    pub fn wait_started(&self, check: &'static str, until: std::time::Instant) {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(check, until);
    }

    pub fn wait_ended(&self, check: &'static str) {
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(check);
    }

    /// The waits under way: check id and seconds left.
    pub fn waits_left(&self) -> Vec<(&'static str, u64)> {
        let now = std::time::Instant::now();
        self.waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, until)| (*id, until.saturating_duration_since(now).as_secs()))
            .collect()
    }

    /// A fresh `occurred_at`, later than every one handed out before in this run and
    /// never ahead of the wall clock by more than the steps taken: a rerun right after
    /// this one starts later than this one ended (issue 10 item 4), and a long run stays
    /// inside the target's allowed clock skew. In microseconds: a burst of a few hundred
    /// events (a limit check's) then runs a fraction of a millisecond ahead of the clock,
    /// not hundreds of milliseconds, which a rerun started at once would land behind.
    pub fn occurred_at(&self) -> String {
        let step = |last: i64| Some((last + 1).max(chrono::Utc::now().timestamp_micros()));
        let last = self
            .occurred
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, step)
            .unwrap_or_default();
        let us = step(last).unwrap_or(last + 1);
        chrono::DateTime::from_timestamp_micros(us)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }
}
