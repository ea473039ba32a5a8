//! A check's context: its own HTTP client (cookie jar and, against a loopback target,
//! source address), its transcript and its redactor, the requests it sent per rate limit
//! and the ones a limiter admitted, and its time line. Every request goes through it, so
//! it lands in the transcript (as the family's [`Dialect`](crate::dialect::Dialect) keeps
//! it) and in the check's rate-limit accounting. It names no family.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use profile::{LimitTarget, Profile};
use serde_json::Value;

use contract_client::Transport;

use crate::client::{Exchange, Http, Req, Resp};
use crate::dialect::{self, Kept};
use crate::env::Env;
use crate::outcome::{CheckResult, Problem, Support};
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
        match self
            .env
            .dialect
            .kept(&self.env.profile, self.check_id, absolute)
        {
            Kept::Exchange(kept) => self.transcript.push(Arc::new(*kept)),
            Kept::Note(line) => self.transcript.note(line),
        }
        self.last = Some(ex.clone());
        self.resp(ex)
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
    /// dialect reads it) and returns the body.
    pub fn error(&self, resp: &Resp, code: &str) -> Result<Value, Problem> {
        self.env.dialect.error(&self.env.profile, resp, code)
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
