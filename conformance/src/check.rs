//! What a check is, and the context it runs in. A check has an id that names its clause
//! (`PP-REFRESH-3/replay-revokes-grant`), which is also its test name, snapshot name and
//! report row. It makes real requests through its [`Ctx`], which records them, and ends
//! with a [`CheckResult`]. The scheduling facts (exclusive, locks, rate budget, waits)
//! are declared here as data so the runner can plan without running anything.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::time::Duration;

use profile::{App, AppKind, Family, Identities, Level, LimitTarget, Profile, User};
use serde_json::Value;

use contract_client::Transport;
use contract_client::families::punchplay::{EnvelopeProblem, ErrorAnswer};

use crate::approval::Driver;
use crate::client::{Exchange, Http, HttpOptions, Req, Resp};
use crate::outcome::{CheckResult, Problem};
use crate::redact::{FamilyMembers, Redactor};
use crate::transcript::Transcript;

pub type RunFn = for<'a> fn(&'a mut Ctx) -> Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

/// Wraps an `async fn(&mut Ctx) -> CheckResult` as a [`RunFn`].
#[macro_export]
macro_rules! run {
    ($f:path) => {
        |ctx| Box::pin($f(ctx))
    };
}

/// How many source addresses the suite hands out, 127.1.0.2 to 127.250.249.251.
const LOOPBACK_SOURCES: u32 = 250 * 250 * 250;

/// How long a check that [`Check::waits_or_shortens`] waits without `--allow-slow`.
pub const SHORTENED_WAIT_SECS: u64 = 10;

/// When a check may run relative to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Schedule {
    /// Alongside other concurrent checks (holding its locks).
    Concurrent,
    /// Alone: it moves the server's clock or otherwise disturbs every other check.
    Exclusive,
    /// Alone and last: it exhausts a rate limit.
    Exhausting,
}

#[derive(Clone)]
pub struct Check {
    pub id: &'static str,
    pub clause: &'static str,
    /// The level of the part of the clause this check tests, when it differs from the
    /// clause's headline level (PP-APP-3's public-client secret is DECIDED).
    pub part: Option<Level>,
    pub title: &'static str,
    pub schedule: Schedule,
    /// Named resources held while running (`playback:user`: the primary user's now-playing).
    pub locks: Vec<&'static str>,
    /// Requests this check may send to each rate-limited endpoint, by limit name
    /// (filled from [`crate::checks::punchplay::budgets::BUDGETS`]).
    pub budget: Vec<(&'static str, u32)>,
    /// Seconds the check waits for when the target has no clock control.
    pub waits_secs: u64,
    /// Without `--allow-slow` the check still runs, waiting less (it watches a window for
    /// as long as it can), instead of being skipped.
    pub waits_shortened: bool,
    /// The rate limit an exhausting check spends.
    pub exhausts: Option<&'static str>,
    /// Seconds the runner waits before this check (set by the plan, `--allow-slow`).
    pub wait_before: u64,
    pub run: RunFn,
}

impl Check {
    pub fn new(id: &'static str, title: &'static str, run: RunFn) -> Check {
        let clause = id.split('/').next().unwrap_or(id);
        Check {
            id,
            clause,
            part: None,
            title,
            schedule: Schedule::Concurrent,
            locks: Vec::new(),
            budget: Vec::new(),
            waits_secs: 0,
            waits_shortened: false,
            exhausts: None,
            wait_before: 0,
            run,
        }
    }
    pub fn part(mut self, level: Level) -> Check {
        self.part = Some(level);
        self
    }
    pub fn exclusive(mut self) -> Check {
        self.schedule = Schedule::Exclusive;
        self
    }
    /// Runs alone and last, because it spends the whole `limit`.
    pub fn exhausting(mut self, limit: &'static str) -> Check {
        self.schedule = Schedule::Exhausting;
        self.exhausts = Some(limit);
        self
    }
    pub fn lock(mut self, name: &'static str) -> Check {
        self.locks.push(name);
        self
    }
    pub fn waits(mut self, secs: u64) -> Check {
        self.waits_secs = secs;
        self
    }
    /// Waits `secs` with `--allow-slow`, and at most [`SHORTENED_WAIT_SECS`] without it.
    pub fn waits_or_shortens(mut self, secs: u64) -> Check {
        self.waits_secs = secs;
        self.waits_shortened = true;
        self
    }
    /// The level this check gates at: its part's level, else the clause's.
    pub fn level(&self, profile: &Profile) -> Level {
        self.part
            .or_else(|| profile.clause(self.clause).map(|c| c.level))
            .unwrap_or(Level::Must)
    }
    /// `PP-REFRESH` for `PP-REFRESH-3/...`.
    pub fn area(&self) -> &'static str {
        self.clause.rsplit_once('-').map_or(self.clause, |(a, _)| a)
    }
    /// The snapshot file stem: `/` becomes `__`, as insta names files.
    pub fn snapshot_name(&self) -> String {
        self.id.replace('/', "__")
    }
}

/// The apps and users the checks act as, picked from the credentials by their traits, so
/// a deployment's file needs no role names.
#[derive(Debug, Clone)]
pub struct Roles {
    /// Confidential, active, with a redirect URI and every known scope.
    pub web: App,
    /// Public, active, with every known scope (device flow).
    pub tv: App,
    /// Public, active, with a redirect URI and fewer scopes than the profile knows.
    pub spa: Option<App>,
    /// Deactivated.
    pub inactive: Option<App>,
    pub user: User,
    pub other_user: Option<User>,
}

impl Roles {
    pub fn pick(ids: &Identities, profile: &Profile) -> Result<Roles, String> {
        let all_scopes = |a: &App| {
            profile
                .scopes
                .known
                .iter()
                .all(|s| a.allowed_scopes.contains(s))
        };
        let web = ids
            .apps
            .iter()
            .find(|a| a.active && a.kind == AppKind::Confidential && !a.redirect_uris.is_empty() && all_scopes(a))
            .cloned()
            .ok_or("the credentials need an active confidential app with a redirect URI and every scope of the profile")?;
        let tv = ids
            .apps
            .iter()
            .find(|a| a.active && a.kind == AppKind::Public && all_scopes(a))
            .cloned()
            .ok_or("the credentials need an active public app with every scope of the profile (a device app)")?;
        let spa = ids
            .apps
            .iter()
            .find(|a| {
                a.active
                    && a.kind == AppKind::Public
                    && !a.redirect_uris.is_empty()
                    && !all_scopes(a)
            })
            .cloned();
        let inactive = ids.apps.iter().find(|a| !a.active).cloned();
        let mut users = ids.users.iter();
        let user = users
            .next()
            .cloned()
            .ok_or("the credentials need at least one test user")?;
        let other_user = users.next().cloned();
        Ok(Roles {
            web,
            tv,
            spa,
            inactive,
            user,
            other_user,
        })
    }
}

impl Roles {
    /// The role an app plays, as its placeholders name it: `web`, `tv`, `spa`,
    /// `inactive`, or `app<N>` (its place in the file) for an app no role picked.
    pub fn app_role(&self, ids: &Identities, app: &App) -> String {
        let picked = [
            ("web", Some(&self.web)),
            ("tv", Some(&self.tv)),
            ("spa", self.spa.as_ref()),
            ("inactive", self.inactive.as_ref()),
        ];
        picked
            .iter()
            .find(|(_, a)| a.is_some_and(|a| a.client_id == app.client_id))
            .map(|(role, _)| (*role).to_owned())
            .unwrap_or_else(|| {
                let n = ids.apps.iter().position(|a| a.client_id == app.client_id);
                format!("app{}", n.map_or(0, |n| n + 1))
            })
    }

    /// The role a user plays: `primary`, `second`, or `user<N>` (its place in the file).
    pub fn user_role(&self, ids: &Identities, user: &User) -> String {
        if user.username == self.user.username {
            "primary".to_owned()
        } else if self
            .other_user
            .as_ref()
            .is_some_and(|u| u.username == user.username)
        {
            "second".to_owned()
        } else {
            let n = ids.users.iter().position(|u| u.username == user.username);
            format!("user{}", n.map_or(0, |n| n + 1))
        }
    }

    /// Registers every identity of the credentials (client ids, app names, redirect URIs,
    /// secrets, usernames, display names, passwords) under role placeholders, so that a
    /// snapshot recorded with one deployment's apps and users gates another's.
    pub fn redact_identities(&self, ids: &Identities, redactor: &mut Redactor) {
        for app in &ids.apps {
            let role = self.app_role(ids, app);
            if let Some(s) = &app.secret {
                redactor.register_named(s.expose(), &format!("[secret:{role}]"));
            }
            redactor.register_identity(&app.client_id, &format!("[client:{role}]"));
            redactor.register_identity(&app.name, &format!("[app-name:{role}]"));
            // One placeholder for every registered redirect URI: apps may share one (the
            // punchplay fixtures do) or not, and the checks assert which one a redirect uses.
            for uri in &app.redirect_uris {
                redactor.register_identity(uri, "[redirect-uri]");
            }
        }
        for user in &ids.users {
            let role = self.user_role(ids, user);
            if let Some(p) = &user.password {
                redactor.register_named(p.expose(), &format!("[password:{role}]"));
            }
            redactor.register_identity(&user.username, &format!("[user:{role}]"));
            redactor.register_identity(&user.display_name, &format!("[display-name:{role}]"));
        }
    }
}

/// Punchplay's roles, picked for a punchplay profile only. Reading them for another
/// family is a bug of the suite, as `Profile::expect_punchplay` is: punchplay's checks run
/// only for a punchplay profile ([`crate::checks::for_family`]).
#[derive(Debug, Clone)]
pub struct PunchplayRoles(Option<Roles>);

impl PunchplayRoles {
    /// The roles, if the profile is punchplay's.
    pub fn get(&self) -> Option<&Roles> {
        self.0.as_ref()
    }
}

impl std::ops::Deref for PunchplayRoles {
    type Target = Roles;
    fn deref(&self) -> &Roles {
        self.0.as_ref().expect(
            "punchplay's roles are read only by punchplay checks, run for a punchplay profile",
        )
    }
}

/// Everything a run shares: the target, the contract, the credentials, the driver.
pub struct Env {
    pub profile: Profile,
    pub ids: Identities,
    pub roles: PunchplayRoles,
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
    pub fn new(
        profile: Profile,
        ids: Identities,
        http: HttpOptions,
        controls: bool,
        driver: Driver,
        allow_slow: bool,
    ) -> Result<Env, String> {
        // Another family's checks pick their apps by trait themselves (checks/<family>/).
        let roles = PunchplayRoles(match profile.family {
            Family::Punchplay => Some(Roles::pick(&ids, &profile)?),
            _ => None,
        });
        let loopback_sources = match http.base.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            _ => false,
        };
        Ok(Env {
            profile,
            ids,
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
            occurred: AtomicI64::new(chrono::Utc::now().timestamp_millis()),
            usage_log: std::sync::Mutex::new(Vec::new()),
            waiting: std::sync::Mutex::new(BTreeMap::new()),
        })
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

    fn log_use(&self, limit: &str, source: Option<IpAddr>) {
        self.usage_log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((limit.to_owned(), source, std::time::Instant::now()));
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
    /// inside the target's allowed clock skew.
    pub fn occurred_at(&self) -> String {
        let step = |last: i64| Some((last + 1).max(chrono::Utc::now().timestamp_millis()));
        let last = self
            .occurred
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, step)
            .unwrap_or_default();
        let ms = step(last).unwrap_or(last + 1);
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

/// A check's context: its client, its transcript, its redactor.
pub struct Ctx {
    pub env: Arc<Env>,
    pub http: Http,
    pub transcript: Transcript,
    pub redactor: Redactor,
    /// Requests sent per rate limit, for budget accounting.
    pub usage: BTreeMap<String, u32>,
    /// The id of the check this context runs (checks registered per rate limit read it).
    pub check_id: &'static str,
    /// Every answer of a rate-limited endpoint that the limiter let through, for the
    /// over-admission watch (PP-RATE-1, see [`crate::checks::over_admission`]).
    pub admitted: Vec<Admission>,
    /// This check's time line: real time since it started plus every clock advance.
    started: std::time::Instant,
    advanced_secs: f64,
}

/// A request to a rate-limited endpoint that was not refused with 429.
#[derive(Debug, Clone)]
pub struct Admission {
    pub limit: String,
    pub source: Option<IpAddr>,
    pub client_id: Option<String>,
    /// Bounds, on the check's time line in seconds, of when the target decided.
    pub sent: f64,
    pub answered: f64,
    pub support: crate::outcome::Support,
}

impl Ctx {
    pub fn new(env: Arc<Env>, check_id: &'static str) -> Result<Ctx, Problem> {
        let http = Http::new(env.http.clone(), env.next_source())?;
        let members = FamilyMembers::of(&env.profile).ok_or_else(|| {
            Problem::error(format!(
                "the suite has no checks for the {} family",
                env.profile.family
            ))
        })?;
        // The runner registers the credentials' identities with the family's roles
        // (`checks::redact_identities`) before the check runs: this file imports no family.
        let redactor = Redactor::new(env.http.base.as_str(), members);
        Ok(Ctx {
            env,
            http,
            transcript: Transcript::default(),
            redactor,
            usage: BTreeMap::new(),
            check_id,
            admitted: Vec::new(),
            started: std::time::Instant::now(),
            advanced_secs: 0.0,
        })
    }

    pub fn profile(&self) -> &Profile {
        &self.env.profile
    }

    /// The path of a named endpoint of the profile.
    pub fn path(&self, name: &str) -> String {
        self.env.profile.path(name).to_owned()
    }

    /// The path of a templated endpoint: `playback` with `action=start`.
    pub fn path_with(&self, name: &str, params: &[(&str, &str)]) -> String {
        self.env.profile.path_template(name).fill(params)
    }

    /// Every scope of the profile, space-separated.
    pub fn all_scopes(&self) -> String {
        self.env.profile.scopes.known.join(" ")
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.transcript.note(text);
    }

    /// Counts a request against the profile's rate limits; answers their names.
    pub fn count(&mut self, req: &Req) -> Vec<String> {
        let mut counted = Vec::new();
        if req.driver {
            return counted;
        }
        let profile = &self.env.profile;
        for limit in &profile.rate_limits {
            let on_route = match &limit.target {
                LimitTarget::Endpoint(endpoint) => profile
                    .path_template(endpoint)
                    .matches(req.route())
                    .is_some(),
                LimitTarget::PathPrefix(prefix) => profile::is_under_prefix(req.route(), prefix),
            };
            if limit.covers_method(&req.method) && on_route {
                *self.usage.entry(limit.name.clone()).or_insert(0) += 1;
                self.env.log_use(&limit.name, self.http.source);
                counted.push(limit.name.clone());
            }
        }
        counted
    }

    /// Seconds on this check's time line (see [`Admission`]).
    pub fn timeline(&self) -> f64 {
        self.started.elapsed().as_secs_f64() + self.advanced_secs
    }

    /// Sends a request and records it.
    pub async fn send(&mut self, req: Req) -> Result<Resp, Problem> {
        let ex = self.exchange(req).await?;
        Ok(self.record(ex))
    }

    /// Sends a request without recording it (for concurrent sends the check records itself).
    pub async fn exchange(&mut self, req: Req) -> Result<Exchange, Problem> {
        let limits = self.count(&req);
        let sent = self.timeline();
        let ex = self.http.execute(req).await?;
        if ex.status != 429 {
            let answered = self.timeline();
            let header = &self.request_id_header();
            for limit in limits {
                self.admitted.push(Admission {
                    limit,
                    source: self.http.source,
                    client_id: ex.req.client_id.clone(),
                    sent,
                    answered,
                    support: crate::outcome::Support::from_exchange(&ex, header),
                });
            }
        }
        Ok(ex)
    }

    /// Sends a request whose response depends on other checks' state (a shared list):
    /// the check notes what it found in it instead of recording the whole body.
    pub async fn unrecorded(&mut self, req: Req) -> Result<Resp, Problem> {
        let ex = self.exchange(req).await?;
        Ok(Resp {
            ex: Arc::new(ex),
            request_id_header: self.request_id_header(),
        })
    }

    pub fn record(&mut self, ex: Exchange) -> Resp {
        let ex = Arc::new(ex);
        self.transcript.push(ex.clone());
        Resp {
            ex,
            request_id_header: self.request_id_header(),
        }
    }

    /// The response last recorded, to point a failure at when a flow helper made the
    /// request (the token response behind a granted scope).
    pub fn last_response(&self) -> Resp {
        let ex = self
            .transcript
            .exchanges()
            .last()
            .cloned()
            .expect("a flow helper recorded its exchanges");
        Resp {
            ex,
            request_id_header: self.request_id_header(),
        }
    }

    /// The header that carries the target's request id (PP-ERR-2); empty for a family
    /// whose answers carry none.
    fn request_id_header(&self) -> String {
        self.env
            .profile
            .request_id()
            .map(|f| f.header.clone())
            .unwrap_or_default()
    }

    /// Registers a value the suite made up (a verifier, a state) for redaction.
    pub fn volatile(&mut self, value: &str, kind: &str) {
        self.redactor.register(value, kind);
    }

    /// Moves time forward by `secs`: the server's clock when it has test controls, real
    /// time with `--allow-slow`, otherwise the check is skipped saying how long it would take.
    pub async fn advance(&mut self, secs: f64) -> CheckResult {
        self.advance_noted(secs, true).await
    }

    /// [`Ctx::advance`] as a setup step that the transcript leaves out.
    pub async fn advance_quietly(&mut self, secs: f64) -> CheckResult {
        self.advance_noted(secs, false).await
    }

    async fn advance_noted(&mut self, secs: f64, noted: bool) -> CheckResult {
        if self.env.controls {
            let r = self
                .send(
                    Req::post("/__test/clock/advance")
                        .json(serde_json::json!({ "seconds": secs }))
                        .driver(),
                )
                .await?;
            if r.status() != 200 {
                return Err(Problem::error(format!(
                    "the test control clock/advance answered {}: {}",
                    r.status(),
                    r.body()
                )));
            }
            self.advanced_secs += secs;
            if noted {
                self.note(format!("clock advanced {secs} s"));
            }
            Ok(())
        } else if self.env.allow_slow {
            let wait = Duration::from_secs_f64(secs);
            self.env
                .wait_started(self.check_id, std::time::Instant::now() + wait);
            tokio::time::sleep(wait).await;
            self.env.wait_ended(self.check_id);
            if noted {
                self.note(format!("clock advanced {secs} s"));
            }
            Ok(())
        } else {
            Err(Problem::skip(format!(
                "needs {secs} s to pass: the target has no clock control; run with --allow-slow to wait"
            )))
        }
    }

    /// Asserts a 200 with a JSON body and returns it.
    pub fn ok_json(&self, resp: &Resp) -> Result<Value, Problem> {
        if resp.status() != 200 {
            return Err(resp.fail(format!(
                "expected 200, got {}: {}",
                resp.status(),
                resp.body()
            )));
        }
        resp.json()
    }

    /// Asserts the profile's error envelope (PP-ERR-1) with `code` and the status the
    /// profile gives it (PP-ERR-3), and returns the body.
    pub fn error(&self, resp: &Resp, code: &str) -> Result<Value, Problem> {
        let status = self.env.profile.status_of(code);
        let got = resp.error_code();
        if resp.status() != status || got.as_deref() != Some(code) {
            return Err(resp.fail(format!(
                "expected {status} `{code}`, got {} {}",
                resp.status(),
                got.map_or_else(
                    || "without an `error` member".to_owned(),
                    |c| format!("`{c}`")
                )
            )));
        }
        let body = resp.json()?;
        let format = &self.env.profile.expect_punchplay().request_id;
        let answer = ErrorAnswer::of_exchange(&format.header, &resp.ex);
        match answer
            .envelope_problem()
            .or_else(|| answer.format_problem(format))
        {
            None => Ok(body),
            Some(EnvelopeProblem::NoMessage) => Err(resp.fail(
                "PP-ERR-1: the error body has no non-empty `message`",
            )),
            Some(
                EnvelopeProblem::NoBodyRequestId
                | EnvelopeProblem::NoHeaderRequestId
                | EnvelopeProblem::RequestIdsDiffer { .. }
                | EnvelopeProblem::RequestIdFormat(_),
            ) => Err(resp.fail(format!(
                "PP-ERR-1/PP-ERR-2: body request_id {:?} and header {} {:?} must be equal and in the `{}` format",
                answer.body_request_id, format.header, answer.header_request_id, format.prefix
            ))),
            Some(other) => Err(resp.fail(other.to_string())),
        }
    }
}

/// The suite's transport for the client crate's flows: every step goes through the
/// check's recording client, so it lands in the transcript and its rate-limit budget.
impl Transport for Ctx {
    type Error = Problem;

    async fn send(&mut self, req: Req) -> Result<Exchange, Problem> {
        let resp = Ctx::send(self, req).await?;
        Ok(resp.ex.as_ref().clone())
    }

    async fn send_unrecorded(&mut self, req: Req) -> Result<Exchange, Problem> {
        self.exchange(req).await
    }

    fn keep(&mut self, exchange: &Exchange) {
        self.record(exchange.clone());
    }

    fn volatile(&mut self, value: &str, kind: &str) {
        Ctx::volatile(self, value, kind);
    }
}

/// Reads a string member of a JSON body or fails.
pub fn str_of<'v>(resp: &Resp, body: &'v Value, key: &str) -> Result<&'v str, Problem> {
    body.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| resp.fail(format!("the body has no string `{key}`: {body}")))
}
