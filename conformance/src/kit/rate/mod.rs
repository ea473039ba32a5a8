//! Rate-limit checks made from the profile: for every `[[rate_limits]]` entry the family
//! has a request recipe for, the checks its [`RateSpec`] names (N admitted then refused,
//! the refusal, Retry-After, reopening at Retry-After, what counts and per which key),
//! and nothing else: a limit without a recipe gets a note naming it
//! ([`limits_without_recipe`]). A family gives the recipe ([`RateFamily`]: how a request
//! that counts is made, the token it carries, what its refusal says); the counting,
//! windows, waits and verdicts here name no endpoint, as load's do.
//!
//! Also the two watches every run keeps: a limit spent before the run
//! ([`spent_before_the_run`]) and more than N admitted in one window, wherever a check
//! sees it ([`over_admission`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use profile::{Level, LimitKey, LimitTarget, Profile, RateLimit, sliding};

use crate::check::{Admission, Check, Ctx, Env, intern, run_fn};
use crate::client::{Req, Resp};
use crate::drivers::Driver;
use crate::outcome::{CheckResult, Problem};

mod checks;

/// A future a family's recipe returns (boxed, so that a recipe is a trait object).
pub type Setup<'a, T> = Pin<Box<dyn Future<Output = Result<T, Problem>> + Send + 'a>>;

/// What a family gives the rate checks: which checks it has, and per limit the request
/// that counts against it.
pub trait RateFamily: Sync {
    /// The family's rate checks, as templates.
    fn spec(&self) -> &'static RateSpec;

    /// Whether the family can make requests that `limit` counts (a recipe for its
    /// endpoint or prefix). A limit without one gets no checks, and the run says so.
    fn has_recipe(&self, profile: &Profile, limit: &RateLimit) -> bool;

    /// The live bearer token the limit's requests carry, got on the check's key just
    /// before it starts (recorded), or `None` where they carry none.
    fn token<'a>(&'a self, ctx: &'a mut Ctx, limit: &'a RateLimit) -> Setup<'a, Option<String>>;

    /// A request that `limit` counts, with `token` as its bearer where it has one.
    fn request(&self, ctx: &Ctx, limit: &RateLimit, token: Option<&str>) -> Result<Req, Problem>;

    /// Asserts the refusal's body is the family's rate-limit answer.
    fn refusal(&self, ctx: &Ctx, refused: &Resp) -> CheckResult;

    /// The clause that describes what `limit`'s request is answered when admitted (its
    /// endpoint's): a rate check judges only that it was admitted and counted, so any
    /// other difference in that answer is that clause's (issue 18 item 4).
    fn admitted_clause(&self, _limit: &RateLimit) -> Option<&'static str> {
        None
    }

    /// The clause that describes how `limit`'s request is refused for an unknown token
    /// (EN-API-1's 401): a check that counts such refusals judges only that they count,
    /// so how they are answered is that clause's (issue 18 item 4).
    fn unauthenticated_clause(&self, _limit: &RateLimit) -> Option<&'static str> {
        None
    }

    /// A request on `limit`'s key from another client than [`RateFamily::request`]'s,
    /// for a limit keyed by client ([`Kind::PerClient`]).
    fn other_client_request(&self, _ctx: &Ctx, limit: &RateLimit) -> Result<Req, Problem> {
        Err(Problem::error(format!(
            "the family has no request of another client for the `{}` limit",
            limit.name
        )))
    }
}

/// A family's rate checks: templates made into checks per limit of the profile.
#[derive(Debug)]
pub struct RateSpec {
    /// Made for every limit with a recipe (whose key fits), in this order; `{limit}` in
    /// an id is the limit's name.
    pub per_limit: &'static [Template],
    /// Made once, on the profile's first limit with a recipe whose key (and endpoint)
    /// fits.
    pub once: &'static [Template],
    /// The clause a refusal's Retry-After is judged by (PP-RATE-2, EN-RATE-1).
    pub retry_after_clause: &'static str,
}

/// One check of a [`RateSpec`].
#[derive(Debug)]
pub struct Template {
    pub id: &'static str,
    pub title: &'static str,
    /// The part's level, where it differs from the clause's.
    pub part: Option<Level>,
    pub kind: Kind,
    /// Only limits with this key.
    pub key: Option<LimitKey>,
    /// Only a limit on this `[paths]` endpoint.
    pub endpoint: Option<&'static str>,
}

impl Template {
    /// A template for every limit (or the first one, in [`RateSpec::once`]).
    pub const fn new(id: &'static str, title: &'static str, kind: Kind) -> Template {
        Template {
            id,
            title,
            part: None,
            kind,
            key: None,
            endpoint: None,
        }
    }
    pub const fn part(mut self, level: Level) -> Template {
        self.part = Some(level);
        self
    }
    pub const fn key(mut self, key: LimitKey) -> Template {
        self.key = Some(key);
        self
    }
    pub const fn endpoint(mut self, endpoint: &'static str) -> Template {
        self.endpoint = Some(endpoint);
        self
    }

    fn fits(&self, limit: &RateLimit) -> bool {
        self.key.is_none_or(|k| k == limit.key)
            && self.endpoint.is_none_or(|e| limit.endpoint() == Some(e))
    }
}

/// What a rate check asserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Exactly N admitted, then refused, and no more admitted over the rest of the window
    /// (the over-admission watch judges what it kept asking). `refusal`: the refusal's
    /// body is judged too (where the family's clause names it at this check's level).
    Admits { refusal: bool },
    /// The refusal is the family's rate-limit answer.
    Refusal,
    /// The refusal carries Retry-After in whole seconds, 1 to the window; `refusal`: its
    /// body too.
    RetryAfter { refusal: bool },
    /// Just before Retry-After still refused; at it, admitted (PP-RATE-3 semantics).
    /// `refusal`: the first refusal's body and Retry-After are judged on the way.
    Reopens { refusal: bool },
    /// Requests refused for their token count against the limit (every status counts).
    FailedAuthenticationCounts,
    /// Requests that fail authentication are not counted against the user.
    FailedAuthenticationNotCounted,
    /// Exhausted from one source address, the limit still admits another.
    PerSourceAddress,
    /// A client cannot escape an IP key by sending X-Forwarded-For.
    SpoofedForwardedFor,
    /// Exhausted by one client, the limit still admits another client from the address.
    PerClient,
}

/// The rate checks of `profile` for `family`, in the spec's order.
pub fn checks(profile: &Profile, family: &'static dyn RateFamily) -> Vec<Check> {
    let spec = family.spec();
    let limits: Vec<&RateLimit> = profile
        .rate_limits
        .iter()
        .filter(|l| family.has_recipe(profile, l))
        .collect();
    let mut v = Vec::new();
    for limit in &limits {
        for t in spec.per_limit.iter().filter(|t| t.fits(limit)) {
            let id = intern(t.id.replace("{limit}", &limit.name));
            v.push(check(t, id, limit, family));
        }
    }
    for t in spec.once {
        if let Some(limit) = limits.iter().find(|l| t.fits(l)) {
            v.push(check(t, t.id, limit, family));
        }
    }
    v
}

/// The notes of a run whose profile has limits the family has no recipe for (or a family
/// without rate checks): each named, with why it is not checked.
pub fn limits_without_recipe(
    profile: &Profile,
    family: Option<&'static dyn RateFamily>,
) -> Vec<String> {
    profile
        .rate_limits
        .iter()
        .filter(|l| family.is_none_or(|f| !f.has_recipe(profile, l)))
        .map(|l| {
            let on = match &l.target {
                LimitTarget::Endpoint(endpoint) => format!("endpoint `{endpoint}`"),
                LimitTarget::PathPrefix(prefix) => format!("path prefix `{prefix}`"),
            };
            let why = match family {
                Some(_) => format!(
                    "the suite has no request recipe for it in the {} family",
                    profile.family
                ),
                None => format!(
                    "the {} family's suite has no rate checks (its contract documents no limit)",
                    profile.family
                ),
            };
            format!(
                "the `{}` rate limit ({on}, {} per {} s) is not checked: {why}; its checks need a recipe in checks/{}/",
                l.name, l.max, l.window_secs, profile.family
            )
        })
        .collect()
}

fn check(
    t: &'static Template,
    id: &'static str,
    limit: &RateLimit,
    family: &'static dyn RateFamily,
) -> Check {
    let job = Arc::new(checks::Job {
        family,
        kind: t.kind,
        limit: limit.clone(),
    });
    let run = run_fn(move |ctx| {
        let job = job.clone();
        Box::pin(async move { job.run(ctx).await })
    });
    let mut c = Check::new(id, t.title, run).exhausting(intern(limit.name.clone()));
    if let Some(level) = t.part {
        c = c.part(level);
    }
    match t.kind {
        Kind::Admits { .. } => c.waits_or_shortens(limit.window_secs),
        Kind::Reopens { .. } => c.waits(limit.window_secs),
        _ => c,
    }
}

/// A tolerance for the target's clock counting in milliseconds.
pub(crate) const CLOCK_ROUNDING_SECS: f64 = 0.005;

/// More than N requests of one key admitted within one window's span fails `clause` (the
/// family's limit clause, MUST), wherever it is seen. Each admission is known only to lie
/// between its send and its answer; `profile::sliding` counts the ones that surely fell
/// inside one span, whatever the latency. Keys follow PP-RATE-4: the source address for
/// IP keys, the client too for client keys; for the user key, the check's requests (it
/// acts as one user) less those that failed authentication, which do not count against a
/// user.
pub fn over_admission(clause: &str, profile: &Profile, admitted: &[Admission]) -> Option<Problem> {
    for limit in &profile.rate_limits {
        let mut by_key: BTreeMap<(Option<IpAddr>, Option<&str>), Vec<&Admission>> = BTreeMap::new();
        for a in admitted.iter().filter(|a| a.limit == limit.name) {
            let key = match limit.key {
                LimitKey::Ip => (a.source, None),
                LimitKey::ClientAndIp => (a.source, a.client_id.as_deref()),
                LimitKey::User if a.support.status == 401 => continue,
                LimitKey::User => (None, None),
            };
            by_key.entry(key).or_default().push(a);
        }
        let window = limit.window_secs as f64 - CLOCK_ROUNDING_SECS;
        for seen in by_key.values() {
            let times: Vec<sliding::Admission> = seen
                .iter()
                .map(|a| sliding::Admission {
                    sent: a.sent,
                    answered: a.answered,
                })
                .collect();
            let busiest = sliding::busiest_span(&times, window);
            if busiest.admitted <= limit.max as usize {
                continue;
            }
            let last = seen
                .iter()
                .filter(|a| a.sent == busiest.last_sent)
                .max_by(|a, b| a.answered.total_cmp(&b.answered))
                .or(seen.last())?;
            return Some(Problem::Fail {
                message: format!(
                    "{clause}: the `{}` limit admitted {} requests of one {} key within {:.1} s; the profile allows {} per {} s",
                    limit.name,
                    busiest.admitted,
                    limit.key.as_str(),
                    last.answered - busiest.start,
                    limit.max,
                    limit.window_secs
                ),
                support: Some(Box::new(last.support.clone())),
                owner: None,
            });
        }
    }
    None
}

/// Before any check, one request on every limit whose key the whole run shares (the user
/// key; any key against a remote target): a key that traffic before this run still spends
/// answers 429 (issue 10 item 4). With clock control the clock is moved past its
/// Retry-After; otherwise the limit is answered with its Retry-After, and the runner makes
/// its checks wait (`--allow-slow`) or skips them with the seconds left.
pub async fn spent_before_the_run(
    env: &Arc<Env>,
    family: &'static dyn RateFamily,
) -> Vec<(String, u64)> {
    let mut spent = Vec::new();
    for limit in &env.profile.rate_limits {
        let per_check =
            env.loopback_sources && matches!(limit.key, LimitKey::Ip | LimitKey::ClientAndIp);
        // The user key needs a token, which a person would have to approve before the
        // run: the manual driver leaves it out (a spent user key then shows as its
        // checks' 429 errors, and the count check's skip).
        let needs_a_person =
            limit.key == LimitKey::User && matches!(env.driver, Driver::Manual { .. });
        if per_check || needs_a_person || !family.has_recipe(&env.profile, limit) {
            continue;
        }
        let Ok(mut ctx) = Ctx::new(env.clone(), "conformance-preflight") else {
            continue;
        };
        let Ok(token) = checks::prepare(&mut ctx, family, limit).await else {
            continue;
        };
        let Ok(req) = family.request(&ctx, limit, token.as_deref()) else {
            continue;
        };
        if let Ok(ex) = ctx.exchange(req).await
            && ex.status == 429
        {
            let secs = ex
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(limit.window_secs);
            if env.controls {
                // The reference server's clock: the wait is a move of it.
                let _ = ctx.advance_quietly(secs as f64).await;
            } else {
                spent.push((limit.name.clone(), secs));
            }
        }
    }
    spent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Support;

    fn admission(limit: &str, sent: f64, answered: f64, status: u16) -> Admission {
        Admission {
            limit: limit.to_owned(),
            source: None,
            client_id: None,
            sent,
            answered,
            support: Support {
                request_id: None,
                timestamp: String::new(),
                method: "GET".into(),
                endpoint: "/".into(),
                status,
                client_id: None,
                body: String::new(),
            },
        }
    }

    fn profile() -> Profile {
        Profile::punchplay()
    }

    #[test]
    fn a_drained_bucket_admitting_past_the_count_within_the_window_fails_the_clause() {
        // public-user: 60 per 60 s. 60 at once, then one every 100 ms (nginx burst).
        let mut seen: Vec<Admission> = (0..60)
            .map(|i| {
                admission(
                    "public-user",
                    i as f64 * 0.001,
                    i as f64 * 0.001 + 0.03,
                    200,
                )
            })
            .collect();
        seen.push(admission("public-user", 0.2, 0.23, 200));
        let p = over_admission("PP-RATE-1", &profile(), &seen).expect("an over-admission");
        assert!(
            matches!(&p, Problem::Fail { message, .. } if message.starts_with("PP-RATE-1: the `public-user` limit admitted 61 requests")),
            "{p:?}"
        );
    }

    #[test]
    fn admissions_a_window_apart_by_the_servers_clock_are_not_over_admission() {
        // 60 admitted, the 61st answered just after the first left the window: with
        // 20-50 ms each way an exact limiter may have decided them exactly a window apart.
        let mut seen: Vec<Admission> = (0..60)
            .map(|i| admission("public-user", 0.05, 0.1 + i as f64 * 0.01, 200))
            .collect();
        seen.push(admission("public-user", 59.99, 60.06, 200));
        assert!(over_admission("PP-RATE-1", &profile(), &seen).is_none());
    }

    #[test]
    fn failed_authentication_does_not_count_against_the_user() {
        // playback: 120 per 300 s per user; 401s are not counted (PP-RATE-4).
        let mut seen: Vec<Admission> = (0..50)
            .map(|i| admission("playback", i as f64, i as f64 + 0.01, 401))
            .collect();
        seen.extend((0..120).map(|i| {
            admission(
                "playback",
                60.0 + i as f64 * 0.1,
                60.05 + i as f64 * 0.1,
                200,
            )
        }));
        assert!(over_admission("PP-RATE-1", &profile(), &seen).is_none());
        seen.push(admission("playback", 80.0, 80.01, 200));
        assert!(over_admission("PP-RATE-1", &profile(), &seen).is_some());
    }
}
