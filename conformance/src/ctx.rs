//! A check's context: its own HTTP client (cookie jar and, against a loopback target,
//! source address), its transcript and its redactor, the requests it sent per rate limit
//! and the ones a limiter admitted, and its time line. Every request goes through it, so
//! it lands in the transcript (as the family's [`Dialect`](crate::dialect::Dialect) keeps
//! it) and in the check's rate-limit accounting. It also keeps what the check saw on its
//! way: the role of each exchange (its own, or a flow step it passed through) and the
//! differences that belong to other clauses ([`crate::passing`]). It names no family.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use profile::{LimitTarget, Profile};
use serde_json::Value;

use contract_client::Transport;

use crate::client::{Exchange, Http, Req, Resp};
use crate::dialect::{self, Kept};
use crate::env::Env;
use crate::outcome::{CheckResult, Problem, Seen, Support, leading_clause};
use crate::passing::{Role, Step};
use crate::redact::Redactor;
use crate::transcript::Transcript;

/// A check's context.
pub struct Ctx {
    pub env: Arc<Env>,
    pub http: Http,
    pub transcript: Transcript,
    pub redactor: Redactor,
    /// Requests sent per rate limit, for budget accounting.
    pub usage: BTreeMap<String, u32>,
    /// The id of the check this context runs.
    pub check_id: &'static str,
    /// Every answer of a rate-limited endpoint that the limiter let through, for the
    /// over-admission watch (PP-RATE-1, see [`crate::kit::rate::over_admission`]).
    pub admitted: Vec<Admission>,
    /// The last answer recorded, whole (the transcript may keep less of it).
    last: Option<Arc<Exchange>>,
    /// Every recorded exchange: as handed to the check, as the transcript keeps it, and
    /// the role it plays (behind a lock: checks judge answers through `&Ctx`).
    roles: Mutex<Vec<Recorded>>,
    /// Differences seen on the way that belong to other clauses than this check's.
    seen: Mutex<Vec<Seen>>,
    /// The flow steps under way: what is recorded meanwhile is passed through.
    steps: Vec<Step>,
    /// This check's time line: real time since it started plus every clock advance.
    started: std::time::Instant,
    advanced_secs: f64,
}

/// How many differences a check keeps of those it saw in passing.
const SEEN_BOUND: usize = 64;

/// A point in a check's record ([`Ctx::checkpoint`]).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    entries: usize,
    roles: usize,
    seen: usize,
    placeholders: std::collections::HashMap<String, usize>,
}

/// One recorded exchange and its role in the check.
struct Recorded {
    handed: Arc<Exchange>,
    kept: Option<Arc<Exchange>>,
    role: Role,
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
    pub support: Support,
}

impl Ctx {
    /// A context for `check_id`, its redactor knowing the family's members and the
    /// credentials' identities under their role placeholders.
    pub fn new(env: Arc<Env>, check_id: &'static str) -> Result<Ctx, Problem> {
        let http = Http::new(env.http.clone(), env.next_source())?;
        let mut redactor = Redactor::new(env.http.base.as_str(), env.dialect.members(&env.profile));
        // Identities become role placeholders, so a snapshot recorded with one
        // deployment's apps gates another's.
        dialect::register_identities(&mut redactor, &env.ids, env.role_names());
        Ok(Ctx {
            env,
            http,
            transcript: Transcript::default(),
            redactor,
            usage: BTreeMap::new(),
            check_id,
            admitted: Vec::new(),
            last: None,
            roles: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            steps: Vec::new(),
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
                    support: Support::from_exchange(&ex, header),
                });
            }
        }
        Ok(ex)
    }

    /// Sends a request whose response depends on other checks' state (a shared list):
    /// the check notes what it found in it instead of recording the whole body.
    pub async fn unrecorded(&mut self, req: Req) -> Result<Resp, Problem> {
        let ex = self.exchange(req).await?;
        Ok(self.resp(Arc::new(ex)))
    }

    /// Records an exchange as the family's dialect keeps it; answers the whole answer,
    /// which is what checks judge and failures quote.
    pub fn record(&mut self, ex: Exchange) -> Resp {
        let ex = Arc::new(ex);
        // A relative Location as the URL it names (RFC 9110 §10.2.2).
        let absolute =
            crate::client::with_absolute_location(ex.as_ref().clone(), &self.env.http.base);
        let kept = match self
            .env
            .dialect
            .kept(&self.env.profile, self.check_id, absolute)
        {
            Kept::Exchange(kept) => {
                let kept = Arc::new(*kept);
                self.transcript.push(kept.clone());
                Some(kept)
            }
            Kept::Note(line) => {
                self.transcript.note(line);
                None
            }
        };
        let role = self.steps.last().map_or(Role::Own, |s| Role::Passing(*s));
        lock(&self.roles).push(Recorded {
            handed: ex.clone(),
            kept,
            role,
        });
        self.last = Some(ex.clone());
        self.resp(ex)
    }

    /// Where the check's record stands, to go back to ([`Ctx::rewind`]).
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            entries: self.transcript.entries.len(),
            roles: lock(&self.roles).len(),
            seen: lock(&self.seen).len(),
            placeholders: self.redactor.counts(),
        }
    }

    /// Forgets what was recorded since `at`: an attempt that another client's traffic
    /// spoiled, which the check makes again (issue 18 item 7a). Its requests stay counted.
    pub fn rewind(&mut self, at: Checkpoint) {
        self.transcript.entries.truncate(at.entries);
        lock(&self.roles).truncate(at.roles);
        lock(&self.seen).truncate(at.seen);
        self.redactor.rewind(at.placeholders);
    }

    /// The clause of the check this context runs (`PP-API-1` for `PP-API-1/...`).
    pub fn own_clause(&self) -> &'static str {
        self.check_id.split('/').next().unwrap_or(self.check_id)
    }

    /// Starts a flow step: what is recorded until [`Ctx::step_ended`] is passed through
    /// ([`Role::Passing`]).
    pub fn step_started(&mut self, step: Step) {
        self.steps.push(step);
    }

    pub fn step_ended(&mut self) {
        self.steps.pop();
    }

    /// The clause the family names for a flow step's answer, if any.
    pub fn step_clause(&self, step: Step) -> Option<&'static str> {
        self.env.dialect.step_clause(step)
    }

    /// Records a difference that belongs to another clause than this check's (a
    /// failure whose owner is that clause): the exchange it is pinned to becomes
    /// [`Role::Judged`], so the snapshot comparison attributes it there too. The check
    /// goes on.
    pub fn saw(&self, problem: Problem) {
        let Problem::Fail {
            message,
            support,
            owner: Some(clause),
        } = problem
        else {
            return;
        };
        if let Some(s) = &support {
            let header = self.request_id_header();
            for r in lock(&self.roles).iter_mut() {
                let x = Support::from_exchange(&r.handed, &header);
                if x.timestamp == s.timestamp && x.method == s.method && x.endpoint == s.endpoint {
                    r.role = Role::Judged(clause);
                }
            }
        }
        let mut seen = lock(&self.seen);
        if seen.len() < SEEN_BOUND && !seen.iter().any(|x| x.message == message) {
            seen.push(Seen {
                clause: clause.to_owned(),
                message,
                support: support.map(|b| *b),
            });
        }
    }

    /// A result whose failure may belong to another clause (a challenge, an envelope, a
    /// member another clause names): that failure is recorded as seen and the check goes
    /// on (`None`); a failure of the check's own clause stays one.
    pub fn in_passing<T>(&self, result: Result<T, Problem>) -> Result<Option<T>, Problem> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(p) if p.foreign_owner(self.own_clause()).is_some() => {
                self.saw(p);
                Ok(None)
            }
            Err(p) => Err(p),
        }
    }

    /// What the check saw in passing, taken out of the context.
    pub fn take_seen(&self) -> Vec<Seen> {
        std::mem::take(&mut *lock(&self.seen))
    }

    /// Marks an exchange, as the transcript keeps it, as judged for `clause`.
    pub fn mark(&self, kept: &Arc<Exchange>, clause: &'static str) {
        for r in lock(&self.roles).iter_mut() {
            if r.kept.as_ref().is_some_and(|k| Arc::ptr_eq(k, kept)) {
                r.role = Role::Judged(clause);
            }
        }
    }

    /// The role of an exchange as the transcript keeps it.
    pub fn role_of(&self, kept: &Arc<Exchange>) -> Role {
        lock(&self.roles)
            .iter()
            .find(|r| r.kept.as_ref().is_some_and(|k| Arc::ptr_eq(k, kept)))
            .map_or(Role::Own, |r| r.role)
    }

    fn resp(&self, ex: Arc<Exchange>) -> Resp {
        Resp {
            ex,
            request_id_header: self.request_id_header(),
            target: Some(Arc::new(self.env.http.base.clone())),
        }
    }

    /// The response last recorded, to point a failure at when a flow helper made the
    /// request (the token response behind a granted scope).
    pub fn last_response(&self) -> Result<Resp, Problem> {
        let ex = self
            .last
            .clone()
            .ok_or_else(|| Problem::error("the check recorded no answer to point at"))?;
        Ok(self.resp(ex))
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

    /// Asserts the family's error answer `code` (its status and envelope, as the family's
    /// dialect reads it) and returns the body. The status and code are the check's to
    /// judge (unless the family names another clause for the status of `code`, as
    /// punchplay's PP-APP-3 does for invalid_client's 401); a difference in the envelope
    /// around the right code belongs to the clause its message leads with (PP-ERR-1,
    /// PP-ERR-2): either is recorded as seen, and the check goes on with the body
    /// (issue 18 item 4).
    pub fn error(&self, resp: &Resp, code: &str) -> Result<Value, Problem> {
        self.error_as(self.own_clause(), resp, code)
    }

    /// [`Ctx::error`] for an answer whose status and code another clause, `owner`, names
    /// (a refusal the check needs on its way): another error than `code`, or none, is a
    /// failure of `owner`'s, past which the check cannot go (not judged where `owner`'s
    /// checks fail, the check's own where they pass).
    pub fn error_as(&self, owner: &'static str, resp: &Resp, code: &str) -> Result<Value, Problem> {
        let p = match self.env.dialect.error(&self.env.profile, resp, code) {
            Ok(body) => return Ok(body),
            Err(p @ Problem::Fail { .. }) => p,
            Err(other) => return Err(other),
        };
        let code_ok = resp.error_code().as_deref() == Some(code);
        let status_ok = resp.status() == self.env.profile.status_of(code);
        match (code_ok, status_ok) {
            (true, true) => self.envelope_difference(p),
            (true, false) => self.status_difference(p, code, owner),
            // No code to read at all, at the right status: the envelope's clause's.
            (false, true) if resp.error_code().is_none() => self.envelope_difference(p),
            (false, _) if owner == self.own_clause() => Err(p),
            (false, _) => Err(p.presuming(owner)),
        }
        .map(|()| resp.json().unwrap_or(Value::Null))
    }

    /// [`Ctx::error`] for an answer whose status and code `owner` names, in a sweep over
    /// many clauses' errors (PP-ERR-1): a difference there is `owner`'s, recorded as seen
    /// (the exchange judged for it), and the check goes on with what it judges itself:
    /// the envelope of whatever error came (`Some(body)`), or nothing (`None`) when the
    /// answer is no error at all.
    pub fn error_of(
        &self,
        owner: &'static str,
        resp: &Resp,
        code: &str,
    ) -> Result<Option<Value>, Problem> {
        let p = match self.env.dialect.error(&self.env.profile, resp, code) {
            Ok(body) => return Ok(Some(body)),
            Err(p @ Problem::Fail { .. }) => p,
            Err(other) => return Err(other),
        };
        let answered = resp.error_code();
        let code_ok = answered.as_deref() == Some(code);
        let status_ok = resp.status() == self.env.profile.status_of(code);
        if code_ok {
            let judged = match status_ok {
                true => self.envelope_difference(p),
                false => self.status_difference(p, code, owner),
            };
            return judged.map(|()| resp.json().ok());
        }
        if answered.is_none() && status_ok {
            // No code to read at all, at the right status: the envelope's clause's.
            return self.envelope_difference(p).map(|()| resp.json().ok());
        }
        if owner == self.own_clause() {
            return Err(p);
        }
        self.saw(p.of_clause(owner));
        // What the check judges itself: the envelope of the error that came instead.
        match answered {
            Some(other) if resp.status() >= 400 => {
                match self.env.dialect.error(&self.env.profile, resp, &other) {
                    Ok(body) => Ok(Some(body)),
                    Err(p @ Problem::Fail { .. })
                        if resp.status() == self.env.profile.status_of(&other) =>
                    {
                        self.envelope_difference(p).map(|()| resp.json().ok())
                    }
                    Err(_) => Ok(resp.json().ok()),
                }
            }
            _ => Ok(None),
        }
    }

    /// The right code with another status: the family's clause for that code's status,
    /// else `owner`'s; seen and gone past unless it is this check's own.
    fn status_difference(&self, p: Problem, code: &str, owner: &'static str) -> CheckResult {
        let owner = self
            .env
            .dialect
            .status_clause(&self.env.profile, code)
            .unwrap_or(owner);
        if owner == self.own_clause() {
            return Err(p);
        }
        self.saw(p.of_clause(owner));
        Ok(())
    }

    /// A difference in an error's envelope: the clause its message leads with (PP-ERR-1,
    /// PP-ERR-2, FX-TOKEN-1) owns it; it fails this check only if that is its own.
    fn envelope_difference(&self, p: Problem) -> CheckResult {
        let owner = match &p {
            Problem::Fail { owner: Some(c), .. } => Some(*c),
            Problem::Fail { message, .. } => leading_clause(message)
                .and_then(|c| self.env.profile.clause(c))
                .map(|c| crate::check::intern(c.id.clone())),
            _ => None,
        };
        match owner.filter(|c| *c != self.own_clause()) {
            Some(clause) => {
                self.saw(p.of_clause(clause));
                Ok(())
            }
            None => Err(p),
        }
    }

    /// Marks `resp` as an answer the check passes through and whose differences
    /// `clause` judges (a request a rate limit counts: its answer is its endpoint's).
    pub fn pass_through(&self, resp: &Resp, clause: &'static str) {
        for r in lock(&self.roles).iter_mut() {
            if Arc::ptr_eq(&r.handed, &resp.ex) {
                r.role = Role::Judged(clause);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
