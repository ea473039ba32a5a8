//! PP-RATE: the six documented limits, one set of checks per limit of the profile: N
//! admitted then refused (PP-RATE-1), the refusal's shape (PP-RATE-2), reopening exactly
//! at Retry-After (PP-RATE-3), and the keys (PP-RATE-4). These exhaust limits, so the
//! runner puts them last. Each starts on a fresh key: against a loopback target every
//! check has its own source address (IP keys), and with clock control a user-keyed
//! check first lets the window pass (the server is not reset: that would also clear a
//! fault switched on to prove the suite notices it).
//!
//! Over-admission is judged wherever it is seen: [`over_admission`] runs on every check's
//! admitted requests (the runner calls it), and a check that saw more than N admitted on
//! one key within one window's span fails PP-RATE-1 (MUST), whatever its own clause.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use profile::{Level, LimitKey, Profile, RateLimit, sliding};

use super::time;
use crate::check::{Admission, Check, Ctx, Env, SHORTENED_WAIT_SECS};
use crate::client::{Http, Req, Resp};
use crate::drivers::Driver;
use crate::flows::{self, playback_body, with_auth};
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

pub fn checks(profile: &Profile) -> Vec<Check> {
    // Ids are `&'static str` everywhere (test names, report rows); the per-limit ones are
    // made from the profile, a few dozen short strings per call, so they are leaked.
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut v = Vec::new();
    for l in &profile.rate_limits {
        let name = l.name.as_str();
        let limit = leak(l.name.clone());
        v.push(
            Check::new(
                leak(format!("PP-RATE-1/{name}-admits-the-documented-number")),
                "Exactly the documented number of requests is admitted per window, then 429 rate_limited",
                run!(admits_n),
            )
            .exhausting(limit)
            .waits_or_shortens(l.window_secs),
        );
        v.push(
            Check::new(
                leak(format!("PP-RATE-2/{name}-refusal-is-rate-limited-with-request-id")),
                "The refusal is 429 rate_limited in the error envelope, its request id in the header and the body",
                run!(refusal_shape),
            )
            .exhausting(limit),
        );
        v.push(
            Check::new(
                leak(format!("PP-RATE-2/{name}-refusal-has-retry-after")),
                "The refusal carries Retry-After in whole seconds, at least 1 and at most the window",
                run!(refusal_retry_after),
            )
            .part(Level::Decided)
            .exhausting(limit),
        );
        v.push(
            Check::new(
                leak(format!("PP-RATE-3/{name}-reopens-at-retry-after")),
                "Just before Retry-After still refused; at Retry-After admitted",
                run!(reopens),
            )
            .exhausting(limit)
            .waits(l.window_secs),
        );
    }
    let first = |key: LimitKey| first_limit(profile, key, None).map(|l| leak(l.name.clone()));
    if let Some(limit) = first(LimitKey::Ip) {
        v.push(
            Check::new(
                "PP-RATE-4/ip-limits-count-per-source-address",
                "An IP-keyed limit exhausted from one address still admits another",
                run!(per_ip),
            )
            .exhausting(limit),
        );
    }
    if let Some(limit) = first(LimitKey::Ip) {
        v.push(
            Check::new(
                "PP-RATE-4/spoofed-x-forwarded-for-does-not-escape-an-ip-limit",
                "A client cannot escape an IP-keyed limit by sending X-Forwarded-For (the peer address counts unless a trusted proxy appends the last entry)",
                run!(spoofed_forwarded_for),
            )
            .exhausting(limit),
        );
    }
    if let Some(limit) = first_limit(profile, LimitKey::ClientAndIp, Some("token")) {
        v.push(
            Check::new(
                "PP-RATE-4/token-limit-counts-per-client",
                "The token limit exhausted by one client still admits another client from the same address",
                run!(per_client),
            )
            .exhausting(leak(limit.name.clone())),
        );
    }
    if let Some(limit) = first(LimitKey::User) {
        v.push(
            Check::new(
                "PP-RATE-4/unauthenticated-requests-do-not-count-against-the-user",
                "Playback requests that fail authentication are not counted against the user",
                run!(unauthenticated_not_counted),
            )
            .exhausting(limit),
        );
    }
    v
}

/// The limit a per-limit check is about, from its id (`PP-RATE-1/<limit>-…`, any family's).
pub(crate) fn limit_of(ctx: &Ctx) -> Result<RateLimit, Problem> {
    let rest = ctx
        .check_id
        .split_once('/')
        .map(|(_, r)| r)
        .unwrap_or_default();
    ctx.env
        .profile
        .rate_limits
        .iter()
        .filter(|l| rest.starts_with(&format!("{}-", l.name)))
        .max_by_key(|l| l.name.len())
        .cloned()
        .ok_or_else(|| {
            Problem::error(format!(
                "no rate limit of the profile matches {}",
                ctx.check_id
            ))
        })
}

/// The limit a PP-RATE-4 key check exhausts: the profile's first limit counted by `key`
/// (on `endpoint`, where the check is about one endpoint).
fn first_limit<'p>(
    profile: &'p Profile,
    key: LimitKey,
    endpoint: Option<&str>,
) -> Option<&'p RateLimit> {
    profile
        .rate_limits
        .iter()
        .find(|l| l.key == key && endpoint.is_none_or(|e| l.endpoint() == Some(e)))
}

/// [`first_limit`] of the target's profile, or a skip saying the profile has none.
fn key_check_limit(
    ctx: &Ctx,
    key: LimitKey,
    endpoint: Option<&str>,
    none: &'static str,
) -> Result<RateLimit, Problem> {
    first_limit(&ctx.env.profile, key, endpoint)
        .cloned()
        .ok_or_else(|| Problem::skip(none))
}

/// What a limited request needs prepared (a bearer token for per-user limits).
struct Recipe {
    access: Option<String>,
}

async fn prepare(ctx: &mut Ctx, limit: &RateLimit) -> Result<Recipe, Problem> {
    let fresh_ip = ctx.env.loopback_sources && limit.key != LimitKey::User;
    if ctx.env.controls && !fresh_ip {
        ctx.advance_quietly(limit.window_secs as f64).await?;
    }
    let access = if limit.key == LimitKey::User {
        let web = ctx.env.roles.web.clone();
        Some(flows::code_tokens(ctx, &web, None).await?.access)
    } else {
        None
    };
    Ok(Recipe { access })
}

/// A request that counts against `limit` (any status counts, PP-RATE-3).
fn request(ctx: &Ctx, limit: &RateLimit, recipe: &Recipe) -> Result<Req, Problem> {
    let web = &ctx.env.roles.web;
    let tv = &ctx.env.roles.tv;
    let Some(endpoint) = limit.endpoint() else {
        return Err(Problem::skip(format!(
            "the suite has no request recipe for the path-prefix limit `{}`",
            limit.name
        )));
    };
    let path = ctx.env.profile.path_template(endpoint);
    let req = match endpoint {
        "device_code" => Req::post(path.as_str()).form(with_auth(tv, &[])),
        "device_token" => Req::post(path.as_str()).form(with_auth(
            tv,
            &[("device_code", "conformance-unknown-device-code")],
        )),
        "refresh" => Req::post(path.as_str()).form(with_auth(
            tv,
            &[("refresh_token", "conformance-unknown-refresh")],
        )),
        "token" => Req::post(path.as_str()).form(with_auth(
            web,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "conformance-unknown-refresh"),
            ],
        )),
        "playback" => {
            let access = recipe.access.as_deref().unwrap_or_default();
            Req::post(path.fill(&[("action", "progress")]))
                .bearer(access)
                .json(playback_body(ctx, "conformance-rate", 1000))
        }
        "public_user" => Req::get(path.fill(&[("username", &ctx.env.roles.user.username)])),
        other => {
            return Err(Problem::skip(format!(
                "the suite has no request recipe for the rate-limited endpoint `{other}`"
            )));
        }
    };
    Ok(req)
}

/// Whether this check's key is known to be fresh, so counts can be asserted exactly.
pub(crate) fn exact(ctx: &Ctx, limit: &RateLimit) -> bool {
    ctx.env.controls || (ctx.env.loopback_sources && limit.key != LimitKey::User)
}

/// How many requests the key has left in this run's view: all of them on a fresh key.
pub(crate) fn left(ctx: &Ctx, limit: &RateLimit) -> u32 {
    if exact(ctx, limit) {
        limit.max
    } else {
        limit
            .max
            .saturating_sub(ctx.env.used(limit, ctx.http.source))
    }
}

/// Sends requests until the first 429 (at most `left + 1`); records the last admitted
/// one and the first refusal, and notes the count.
async fn exhaust(
    ctx: &mut Ctx,
    limit: &RateLimit,
    recipe: &Recipe,
) -> Result<(u32, Resp), Problem> {
    exhaust_from(ctx, limit, recipe, 0).await
}

/// Where a PP-RATE-4 key check starts: `limit` prepared and spent on this check's key,
/// failing if it never refuses. The recipe serves the request that follows.
async fn exhausted(ctx: &mut Ctx, limit: &RateLimit) -> Result<Recipe, Problem> {
    let recipe = prepare(ctx, limit).await?;
    let (_, refused) = exhaust(ctx, limit, &recipe).await?;
    ensure!(refused.status() == 429, refused, "the limit never refused");
    Ok(recipe)
}

/// [`exhaust`] when `already` requests of this check were admitted on the key.
async fn exhaust_from(
    ctx: &mut Ctx,
    limit: &RateLimit,
    recipe: &Recipe,
    already: u32,
) -> Result<(u32, Resp), Problem> {
    let expect = left(ctx, limit).saturating_sub(already);
    let mut admitted = 0u32;
    for i in 0..=expect {
        let req = request(ctx, limit, recipe)?;
        let ex = ctx.exchange(req).await?;
        if ex.status == 429 && admitted < expect && !exact(ctx, limit) {
            // Traffic outside this run (an earlier run) spent the shared key: no verdict
            // on the count can be reached, and none is given (issue 10 item 4).
            return Err(Problem::skip(format!(
                "the `{}` limit ({} key) refused after {admitted} of the {expect} requests this run had left: traffic before this check still spends it; it reopens in {}; rerun then, or with --allow-slow",
                limit.name,
                limit.key.as_str(),
                ex.header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or_else(
                        || "up to the window".to_owned(),
                        crate::runner::plan::human_duration
                    ),
            )));
        }
        if ex.status == 429 {
            ctx.note("requests admitted up to the limit; then:");
            let r = ctx.record(ex);
            return Ok((admitted, r));
        }
        admitted += 1;
        if i + 1 >= expect {
            if i + 1 == expect {
                ctx.note("requests admitted up to the limit; the last:");
            }
            let r = ctx.record(ex);
            if admitted > expect {
                return Err(r.fail(format!(
                    "PP-RATE-1: the `{}` limit admitted {admitted} requests; the profile allows {} per {} s ({} already used by this run)",
                    limit.name, limit.max, limit.window_secs, limit.max - expect
                )));
            }
        }
    }
    Err(Problem::fail(format!(
        "the `{}` limit never refused",
        limit.name
    )))
}

async fn admits_n(ctx: &mut Ctx) -> CheckResult {
    let limit = limit_of(ctx)?;
    let recipe = prepare(ctx, &limit).await?;
    let expect = left(ctx, &limit);
    let (admitted, refused) = exhaust(ctx, &limit, &recipe).await?;
    if exact(ctx, &limit) {
        ensure!(
            admitted == expect,
            refused,
            "the `{}` limit admitted {admitted} requests before refusing; the profile allows {}",
            limit.name,
            limit.max
        );
    }
    ensure!(
        refused.status() == 429,
        refused,
        "expected 429 after {admitted} requests, got {}",
        refused.status()
    );
    ctx.error(&refused, "rate_limited")?;
    keep_asking(ctx, &limit, &|c: &Ctx| request(c, &limit, &recipe)).await
}

/// How many more requests PP-RATE-1 sends over the rest of a window after the first
/// refusal.
pub(crate) const KEEP_ASKING_REQUESTS: u32 = 20;

/// PP-RATE-1 holds for the whole window, not only up to the first refusal: a limiter that
/// refuses the N+1st request but admits again before the window has passed (a leaky
/// bucket draining, nginx's `limit_req ... burst nodelay`) admits more than N in one
/// window. Keeps asking, evenly spaced, until a window has passed since the first
/// admitted request (without clock control and without `--allow-slow`, for at most
/// [`SHORTENED_WAIT_SECS`]); the over-admission watch judges what was admitted.
pub(crate) async fn keep_asking(
    ctx: &mut Ctx,
    limit: &RateLimit,
    request: &(dyn Fn(&Ctx) -> Result<Req, Problem> + Sync),
) -> CheckResult {
    // One note whatever is watched: the snapshot is the same with and without clock
    // control or --allow-slow, on a fast or a slow network (the plan says how long).
    ctx.note("kept asking over the rest of the window");
    let window = limit.window_secs as f64;
    let Some(window_start) = ctx
        .admitted
        .iter()
        .filter(|a| a.limit == limit.name)
        .map(|a| a.sent)
        .reduce(f64::min)
    else {
        return Ok(());
    };
    let rest = window_start + window - ctx.timeline();
    let watched = if ctx.env.controls || ctx.env.allow_slow {
        rest
    } else {
        rest.min(SHORTENED_WAIT_SECS as f64)
    };
    if watched <= 0.0 {
        return Ok(());
    }
    let step = watched / f64::from(KEEP_ASKING_REQUESTS);
    for _ in 0..KEEP_ASKING_REQUESTS {
        if ctx.env.controls {
            ctx.advance_quietly(step).await?;
        } else {
            tokio::time::sleep(Duration::from_secs_f64(step)).await;
        }
        // Stop short of the window's end: an admission after it is the limit's due.
        if ctx.timeline() >= window_start + window {
            break;
        }
        let req = request(ctx)?;
        ctx.exchange(req).await?;
    }
    Ok(())
}

/// A tolerance for the target's clock counting in milliseconds.
pub(crate) const CLOCK_ROUNDING_SECS: f64 = 0.005;

/// The clause an over-admission breaks, wherever it is seen.
pub const OVER_ADMISSION_CLAUSE: &str = "PP-RATE-1";

/// PP-RATE-1 (MUST), wherever it is seen: more than N requests of one key admitted within
/// one window's span. Each admission is known only to lie between its send and its answer;
/// `profile::sliding` counts the ones that surely fell inside one span, whatever the
/// latency. Keys follow PP-RATE-4: the source address for IP keys, the client too for
/// client keys; for the user key, the check's requests (it acts as one user) less those
/// that failed authentication, which do not count against a user.
pub fn over_admission(profile: &Profile, admitted: &[Admission]) -> Option<Problem> {
    over_admission_of(OVER_ADMISSION_CLAUSE, profile, admitted)
}

/// [`over_admission`], the failure citing `clause` (the family's limit clause).
pub fn over_admission_of(
    clause: &str,
    profile: &Profile,
    admitted: &[Admission],
) -> Option<Problem> {
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
pub async fn spent_before_the_run(env: &Arc<Env>) -> Vec<(String, u64)> {
    let mut spent = Vec::new();
    for limit in &env.profile.rate_limits {
        let per_check =
            env.loopback_sources && matches!(limit.key, LimitKey::Ip | LimitKey::ClientAndIp);
        // The user key needs a token, which a person would have to approve before the
        // run: the manual driver leaves it out (a spent user key then shows as its
        // checks' 429 errors, and the count check's skip).
        let needs_a_person =
            limit.key == LimitKey::User && matches!(env.driver, Driver::Manual { .. });
        if per_check || needs_a_person {
            continue;
        }
        let Ok(mut ctx) = Ctx::new(env.clone(), "conformance-preflight") else {
            continue;
        };
        let Ok(recipe) = prepare(&mut ctx, limit).await else {
            continue;
        };
        let Ok(req) = request(&ctx, limit, &recipe) else {
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

/// Retry-After of a refusal: whole seconds, 1 to the window; a failure cites `clause`.
pub(crate) fn retry_after(r: &Resp, limit: &RateLimit, clause: &str) -> Result<u64, Problem> {
    let v = r
        .header("retry-after")
        .ok_or_else(|| r.fail(format!("{clause}: the 429 carries no Retry-After")))?;
    let n: u64 = v
        .trim()
        .parse()
        .map_err(|_| r.fail(format!("{clause}: Retry-After {v:?} is not whole seconds")))?;
    ensure!(
        n >= 1 && n <= limit.window_secs,
        r,
        "{clause}: Retry-After {n} is outside 1..={} s",
        limit.window_secs
    );
    Ok(n)
}

async fn refusal_shape(ctx: &mut Ctx) -> CheckResult {
    let limit = limit_of(ctx)?;
    let recipe = prepare(ctx, &limit).await?;
    let (_, refused) = exhaust(ctx, &limit, &recipe).await?;
    ensure!(
        refused.status() == 429,
        refused,
        "expected 429 once the limit is spent, got {}",
        refused.status()
    );
    // ctx.error asserts the envelope, the status and the header equal to the body's id.
    ctx.error(&refused, "rate_limited")?;
    Ok(())
}

async fn refusal_retry_after(ctx: &mut Ctx) -> CheckResult {
    let limit = limit_of(ctx)?;
    let recipe = prepare(ctx, &limit).await?;
    let (_, refused) = exhaust(ctx, &limit, &recipe).await?;
    ensure!(
        refused.status() == 429,
        refused,
        "expected 429 once the limit is spent, got {}",
        refused.status()
    );
    retry_after(&refused, &limit, "PP-RATE-2")?;
    Ok(())
}

async fn reopens(ctx: &mut Ctx) -> CheckResult {
    let limit = limit_of(ctx)?;
    if !ctx.env.controls && !ctx.env.allow_slow {
        return Err(Problem::skip(format!(
            "needs up to {} s of real time without clock control; run with --allow-slow",
            limit.window_secs
        )));
    }
    let recipe = prepare(ctx, &limit).await?;
    let window = limit.window_secs as f64;
    // Every expectation below comes from readings of the target's clock taken around the
    // requests (module `time`), never from the assumption that no time passed.
    // One request, a second later the rest of the window's allowance: the window then
    // reopens by one when the first leaves, one second before the others do.
    let first_no_earlier = time::now(ctx).await?;
    let req = request(ctx, &limit, &recipe)?;
    let first = ctx.send(req).await?;
    let first_no_later = time::now(ctx).await?;
    ensure!(
        first.status() != 429,
        first,
        "the first request on a fresh key was refused"
    );
    time::advance_until(ctx, first_no_later + 1.0, "clock moved 1 s on").await?;
    let (_, refused) = exhaust_from(ctx, &limit, &recipe, 1).await?;
    ctx.error(&refused, "rate_limited")?;
    retry_after(&refused, &limit, "PP-RATE-2")?;
    // Asked between two readings, Retry-After is known to a range: the time until the
    // oldest admitted request leaves the window, rounded up (PP-RATE-3).
    let asked_no_earlier = time::now(ctx).await?;
    let req = request(ctx, &limit, &recipe)?;
    ctx.note("asked again:");
    let again = ctx.send(req).await?;
    let asked_no_later = time::now(ctx).await?;
    ensure!(
        again.status() == 429,
        again,
        "a request right after the refusal was admitted with {}",
        again.status()
    );
    let wait = retry_after(&again, &limit, "PP-RATE-2")?;
    let exact_key = exact(ctx, &limit);
    if exact_key {
        let slack = CLOCK_ROUNDING_SECS;
        let lowest = (first_no_earlier + window - asked_no_later - slack).ceil() as u64;
        let highest = (first_no_later + window - asked_no_earlier + slack).ceil() as u64;
        ensure!(
            (lowest..=highest).contains(&wait),
            again,
            "PP-RATE-3: Retry-After is {wait} s; by the target's clock around the request, the oldest admitted request leaves the window in {lowest}..={highest} s"
        );
    }
    // Just before the window reopens, still refused. It reopens no earlier than a second
    // before Retry-After has passed (rounded up) and, on a key only this check uses, no
    // earlier than a window after the first request.
    let mut reopens_no_earlier = asked_no_earlier + wait as f64 - 1.0;
    if exact_key {
        reopens_no_earlier = reopens_no_earlier.max(first_no_earlier + window);
    }
    time::advance_until(
        ctx,
        reopens_no_earlier - 0.5,
        "clock moved to just before the window reopens",
    )
    .await?;
    let req = request(ctx, &limit, &recipe)?;
    let r = ctx.send(req).await?;
    if r.status() != 429 {
        time::landed_before(ctx, reopens_no_earlier, "the request before the reopening").await?;
    }
    ensure!(
        r.status() == 429,
        r,
        "before Retry-After ({wait} s) had passed, a request was admitted with {}",
        r.status()
    );
    // After waiting Retry-After from the refusal, admitted: the refusals in between must
    // not count (PP-RATE-3) and take the place the first request left.
    time::advance_until(
        ctx,
        asked_no_later + wait as f64,
        "clock moved to Retry-After after the refusal",
    )
    .await?;
    let req = request(ctx, &limit, &recipe)?;
    let r = ctx.send(req).await?;
    ensure!(
        r.status() != 429,
        r,
        "after waiting Retry-After ({wait} s) the request is still refused: refused requests must not count and the window must reopen"
    );
    Ok(())
}

async fn per_ip(ctx: &mut Ctx) -> CheckResult {
    if !ctx.env.loopback_sources {
        return Err(Problem::skip(
            "needs two source addresses: only a loopback target gives the suite a second one",
        ));
    }
    let limit = key_check_limit(ctx, LimitKey::Ip, None, "the profile has no IP-keyed limit")?;
    let recipe = exhausted(ctx, &limit).await?;
    let other = Http::new(Arc::clone(&ctx.env.http), ctx.env.next_source())?;
    let mine = std::mem::replace(&mut ctx.http, other);
    ctx.note("from another source address:");
    let req = request(ctx, &limit, &recipe)?;
    let r = ctx.send(req).await;
    ctx.http = mine;
    let r = r?;
    ensure!(
        r.status() != 429,
        r,
        "another source address is refused too: the `{}` limit is not keyed by IP",
        limit.name
    );
    Ok(())
}

async fn per_client(ctx: &mut Ctx) -> CheckResult {
    let limit = key_check_limit(
        ctx,
        LimitKey::ClientAndIp,
        Some("token"),
        "the profile has no client-keyed token limit",
    )?;
    exhausted(ctx, &limit).await?;
    let tv = ctx.env.roles.tv.clone();
    let req = Req::post(ctx.path("token")).form(with_auth(
        &tv,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", "conformance-unknown-refresh"),
        ],
    ));
    ctx.note("another client from the same address:");
    let r = ctx.send(req).await?;
    ensure!(
        r.status() != 429,
        r,
        "another client from the same address is refused too: the token limit is not keyed by client"
    );
    Ok(())
}

async fn unauthenticated_not_counted(ctx: &mut Ctx) -> CheckResult {
    let limit = key_check_limit(
        ctx,
        LimitKey::User,
        None,
        "the profile has no user-keyed limit",
    )?;
    let recipe = prepare(ctx, &limit).await?;
    let bad = Recipe {
        access: Some("conformance-unknown-access-token".into()),
    };
    let n = left(ctx, &limit) + 5;
    let mut last = None;
    for _ in 0..n {
        let req = request(ctx, &limit, &bad)?;
        last = Some(ctx.exchange(req).await?);
    }
    if let Some(ex) = last {
        ctx.note("more requests than the limit with an unknown token; the last:");
        let r = ctx.record(ex);
        ctx.error(&r, "invalid_token")?;
    }
    let (admitted, refused) = exhaust(ctx, &limit, &recipe).await?;
    let expect = left(ctx, &limit);
    if exact(ctx, &limit) {
        ensure!(
            admitted == expect,
            refused,
            "after {n} unauthenticated requests the user had {admitted} admitted requests left, expected {expect}: failed authentication was counted"
        );
    }
    Ok(())
}

async fn spoofed_forwarded_for(ctx: &mut Ctx) -> CheckResult {
    let limit = key_check_limit(ctx, LimitKey::Ip, None, "the profile has no IP-keyed limit")?;
    let recipe = prepare(ctx, &limit).await?;
    let n = left(ctx, &limit);
    let mut last = None;
    for i in 0..=n {
        let req = request(ctx, &limit, &recipe)?
            .header("x-forwarded-for", format!("203.0.113.{}", i % 250 + 1));
        let ex = ctx.exchange(req).await?;
        let refused = ex.status == 429;
        last = Some(ex);
        if refused {
            break;
        }
    }
    let Some(ex) = last else {
        return Err(Problem::error("no request was sent"));
    };
    ctx.note("requests with a different X-Forwarded-For each, up to the limit; then:");
    let r = ctx.record(ex);
    ensure!(
        r.status() == 429,
        r,
        "{} requests from one address, each with another X-Forwarded-For, were all admitted: the `{}` limit trusts a header the client controls",
        n + 1,
        limit.name
    );
    ctx.error(&r, "rate_limited")?;
    Ok(())
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
    fn a_drained_bucket_admitting_past_the_count_within_the_window_is_pp_rate_1() {
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
        let p = over_admission(&profile(), &seen).expect("an over-admission");
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
        assert!(over_admission(&profile(), &seen).is_none());
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
        assert!(over_admission(&profile(), &seen).is_none());
        seen.push(admission("playback", 80.0, 80.01, 200));
        assert!(over_admission(&profile(), &seen).is_some());
    }
}
