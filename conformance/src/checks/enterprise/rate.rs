//! EN-RATE-1: the `/api/*` limit ("about 60 requests per minute per IP"), one set of
//! checks per limit of the profile, as punchplay's PP-RATE checks: N admitted then 429
//! (watched for the rest of the window), the refusal's body and Retry-After, reopening
//! at Retry-After (semantics as PP-RATE-3), the IP key, and every status counting.
//! These exhaust the limit, so the runner puts them last; each starts on a fresh key
//! (its own source address against a loopback target). Over-admission is judged on
//! every check's admitted requests ([`over_admission`], called by the runner).

use std::sync::Arc;

use profile::{Level, LimitKey, LimitTarget, Profile, RateLimit};

use super::{api_error, issue, keep, roles, send_kept, tags_request, token_body, token_request};
use crate::check::{Admission, Check, Ctx, Env};
use crate::checks::punchplay::rate::{
    CLOCK_ROUNDING_SECS, exact, keep_asking, left, limit_of, over_admission_of, retry_after,
};
use crate::checks::punchplay::time;
use crate::client::{Http, Req, Resp};
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

/// The clause an over-admission breaks, wherever it is seen.
pub const OVER_ADMISSION_CLAUSE: &str = "EN-RATE-1";
/// EN-RATE-1 (DECIDED body).
const TOO_MANY_ATTEMPTS: &str = "Too Many Attempts.";

pub fn checks(profile: &Profile) -> Vec<Check> {
    // Ids are `&'static str` everywhere; the per-limit ones are made from the profile, a
    // few short strings per call, so they are leaked (as punchplay's are).
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut v = Vec::new();
    for l in &profile.rate_limits {
        let name = l.name.as_str();
        let limit = leak(l.name.clone());
        v.push(
            Check::new(
                leak(format!("EN-RATE-1/{name}-admits-the-documented-number")),
                "Exactly the documented number of requests is admitted per window, then 429",
                run!(admits_n),
            )
            .exhausting(limit)
            .waits_or_shortens(l.window_secs),
        );
        v.push(
            Check::new(
                leak(format!("EN-RATE-1/{name}-refusal-has-retry-after")),
                "The refusal is 429 {\"message\": \"Too Many Attempts.\"} with Retry-After in whole seconds, 1 to the window",
                run!(refusal),
            )
            .part(Level::Decided)
            .exhausting(limit),
        );
        v.push(
            Check::new(
                leak(format!("EN-RATE-1/{name}-reopens-at-retry-after")),
                "Just before Retry-After still refused; at Retry-After admitted (PP-RATE-3 semantics)",
                run!(reopens),
            )
            .part(Level::Decided)
            .exhausting(limit)
            .waits(l.window_secs),
        );
        v.push(
            Check::new(
                leak(format!("EN-RATE-1/{name}-counts-every-status")),
                "Requests refused for their token count against the limit too (PP-RATE-3 semantics)",
                run!(every_status_counts),
            )
            .part(Level::Decided)
            .exhausting(limit),
        );
        if l.key == LimitKey::Ip {
            v.push(
                Check::new(
                    leak(format!("EN-RATE-1/{name}-counts-per-source-address")),
                    "The limit exhausted from one address still admits another (per IP)",
                    run!(per_ip),
                )
                .exhausting(limit),
            );
        }
    }
    v
}

/// EN-RATE-1 (MUST), wherever it is seen: more than N requests of one key admitted within
/// one window's span (the punchplay watch, citing this family's clause).
pub fn over_admission(profile: &Profile, admitted: &[Admission]) -> Option<Problem> {
    over_admission_of(OVER_ADMISSION_CLAUSE, profile, admitted)
}

/// A request that counts against `limit`, with `token` on a bearer route: the tags route
/// for a prefix that covers it, else a path under the prefix; for an endpoint limit the
/// endpoint's own request.
fn limited_request(ctx: &Ctx, limit: &RateLimit, token: Option<&str>) -> Result<Req, Problem> {
    match &limit.target {
        LimitTarget::PathPrefix(prefix) => {
            let tags = ctx.path("tags");
            if profile::is_under_prefix(&tags, prefix) {
                Ok(tags_request(ctx, token))
            } else {
                let path = format!("{}/conformance-probe", prefix.trim_end_matches('/'));
                Ok(match token {
                    Some(t) => Req::get(path).bearer(t),
                    None => Req::get(path),
                })
            }
        }
        LimitTarget::Endpoint(endpoint) => match endpoint.as_str() {
            "tags" => Ok(tags_request(ctx, token)),
            "introspect" | "revoke" => Ok(token_body(ctx, endpoint, "conformance-unknown-token")),
            "token" => Ok(token_request(ctx, &roles::active(ctx)?, None)),
            other => Err(Problem::skip(format!(
                "the suite has no request recipe for the rate-limited endpoint `{other}`"
            ))),
        },
    }
}

/// A fresh key for the check (clock moved a window on where the key is shared) and a live
/// token of the active app: the requests that count are ones the API serves.
async fn prepare(ctx: &mut Ctx, limit: &RateLimit) -> Result<String, Problem> {
    let fresh_ip = ctx.env.loopback_sources && limit.key != LimitKey::User;
    if ctx.env.controls && !fresh_ip {
        ctx.advance_quietly(limit.window_secs as f64).await?;
    }
    let app = roles::active(ctx)?;
    Ok(issue(ctx, &app, None).await?.access_token)
}

/// Sends requests until the first 429 (at most `left + 1`, `already` of this check's
/// admitted on the key); records the last admitted one and the first refusal.
async fn exhaust(
    ctx: &mut Ctx,
    limit: &RateLimit,
    token: &str,
    already: u32,
) -> Result<(u32, Resp), Problem> {
    let expect = left(ctx, limit).saturating_sub(already);
    let mut admitted = 0u32;
    for i in 0..=expect {
        let req = limited_request(ctx, limit, Some(token))?;
        let ex = ctx.exchange(req).await?;
        if ex.status == 429 && admitted < expect && !exact(ctx, limit) {
            return Err(Problem::skip(format!(
                "the `{}` limit ({} key) refused after {admitted} of the {expect} requests this run had left: traffic before this check still spends it; rerun once its window has passed, or with --allow-slow",
                limit.name,
                limit.key.as_str()
            )));
        }
        if ex.status == 429 {
            ctx.note("requests admitted up to the limit; then:");
            return Ok((admitted, keep(ctx, ex)));
        }
        admitted += 1;
        if i + 1 == expect {
            ctx.note("requests admitted up to the limit; the last:");
            keep(ctx, ex);
        }
    }
    let last = ctx.last_response();
    Err(last.fail(format!(
        "EN-RATE-1: the `{}` limit admitted {admitted} requests without refusing; the profile allows {} per {} s",
        limit.name, limit.max, limit.window_secs
    )))
}

async fn admits_n(ctx: &mut Ctx) -> CheckResult {
    let limit = limit_of(ctx)?;
    let token = prepare(ctx, &limit).await?;
    let expect = left(ctx, &limit);
    let (admitted, refused) = exhaust(ctx, &limit, &token, 0).await?;
    if exact(ctx, &limit) {
        ensure!(
            admitted == expect,
            refused,
            "EN-RATE-1: the `{}` limit admitted {admitted} requests before refusing; the profile allows {}",
            limit.name,
            limit.max
        );
    }
    keep_asking(ctx, &limit, &|c: &Ctx| {
        limited_request(c, &limit, Some(&token))
    })
    .await
}

async fn refusal(ctx: &mut Ctx) -> CheckResult {
    let limit = limit_of(ctx)?;
    let token = prepare(ctx, &limit).await?;
    let (_, refused) = exhaust(ctx, &limit, &token, 0).await?;
    api_error(
        ctx,
        &refused,
        "rate_limited",
        TOO_MANY_ATTEMPTS,
        "EN-RATE-1",
    )?;
    retry_after(&refused, &limit, "EN-RATE-1").map(|_| ())
}

async fn reopens(ctx: &mut Ctx) -> CheckResult {
    let limit = limit_of(ctx)?;
    if !ctx.env.controls && !ctx.env.allow_slow {
        return Err(Problem::skip(format!(
            "needs up to {} s of real time without clock control; run with --allow-slow",
            limit.window_secs
        )));
    }
    let token = prepare(ctx, &limit).await?;
    let window = limit.window_secs as f64;
    // One request, a second later the rest of the window's allowance: the window then
    // reopens by one when the first leaves, a second before the others do, and a limiter
    // counting its refusals stays shut (PP-RATE-3: refusals do not count).
    let first_no_earlier = time::now(ctx).await?;
    let first = send_kept(ctx, limited_request(ctx, &limit, Some(&token))?).await?;
    let first_no_later = time::now(ctx).await?;
    ensure!(
        first.status() != 429,
        first,
        "the first request on a fresh key was refused"
    );
    time::advance_until(ctx, first_no_later + 1.0, "clock moved 1 s on").await?;
    exhaust(ctx, &limit, &token, 1).await?;
    let asked_no_earlier = time::now(ctx).await?;
    ctx.note("asked again:");
    let again = send_kept(ctx, limited_request(ctx, &limit, Some(&token))?).await?;
    let asked_no_later = time::now(ctx).await?;
    ensure!(
        again.status() == 429,
        again,
        "EN-RATE-1: a request right after the refusal was admitted with {}",
        again.status()
    );
    let wait = retry_after(&again, &limit, "EN-RATE-1")?;
    let exact_key = exact(ctx, &limit);
    if exact_key {
        // Asked between two readings, Retry-After is known to a range: the time until the
        // first request leaves the window, rounded up.
        let lowest =
            (first_no_earlier + window - asked_no_later - CLOCK_ROUNDING_SECS).ceil() as u64;
        let highest =
            (first_no_later + window - asked_no_earlier + CLOCK_ROUNDING_SECS).ceil() as u64;
        ensure!(
            (lowest..=highest).contains(&wait),
            again,
            "EN-RATE-1: Retry-After is {wait} s; by the target's clock the oldest admitted request leaves the window in {lowest}..={highest} s"
        );
    }
    // Retry-After is rounded up: the window reopens no earlier than a second before it
    // has passed and, on a key only this check uses, a window after the first request.
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
    let r = send_kept(ctx, limited_request(ctx, &limit, Some(&token))?).await?;
    if r.status() != 429 {
        time::landed_before(ctx, reopens_no_earlier, "the request before the reopening").await?;
    }
    ensure!(
        r.status() == 429,
        r,
        "EN-RATE-1: before Retry-After ({wait} s) had passed, a request was admitted with {}",
        r.status()
    );
    time::advance_until(
        ctx,
        asked_no_later + wait as f64,
        "clock moved to Retry-After after the refusal",
    )
    .await?;
    let r = send_kept(ctx, limited_request(ctx, &limit, Some(&token))?).await?;
    ensure!(
        r.status() != 429,
        r,
        "EN-RATE-1: after waiting Retry-After ({wait} s) the request is still refused: refused requests must not count and the window must reopen"
    );
    Ok(())
}

async fn every_status_counts(ctx: &mut Ctx) -> CheckResult {
    let limit = limit_of(ctx)?;
    if !exact(ctx, &limit) {
        return Err(Problem::skip(
            "needs a key of its own (a loopback target or clock control) to count exactly",
        ));
    }
    let token = prepare(ctx, &limit).await?;
    let n = left(ctx, &limit);
    let mut last = None;
    for _ in 0..n {
        let req = limited_request(ctx, &limit, Some("conformance-unknown-token"))?;
        last = Some(ctx.exchange(req).await?);
    }
    if let Some(ex) = last {
        ctx.note("as many requests as the limit with an unknown token; the last:");
        keep(ctx, ex);
    }
    ctx.note("then with a live token:");
    let r = send_kept(ctx, limited_request(ctx, &limit, Some(&token))?).await?;
    ensure!(
        r.status() == 429,
        r,
        "EN-RATE-1: after {n} requests refused for their token, a request with a live token was admitted with {}: refused authentication was not counted (every request under the limit counts, whatever its status)",
        r.status()
    );
    Ok(())
}

async fn per_ip(ctx: &mut Ctx) -> CheckResult {
    if !ctx.env.loopback_sources {
        return Err(Problem::skip(
            "needs two source addresses: only a loopback target gives the suite a second one",
        ));
    }
    let limit = limit_of(ctx)?;
    let token = prepare(ctx, &limit).await?;
    let (_, refused) = exhaust(ctx, &limit, &token, 0).await?;
    ensure!(refused.status() == 429, refused, "the limit never refused");
    let other = Http::new(Arc::clone(&ctx.env.http), ctx.env.next_source())?;
    let mine = std::mem::replace(&mut ctx.http, other);
    ctx.note("from another source address:");
    let req = limited_request(ctx, &limit, Some(&token));
    let r = match req {
        Ok(req) => send_kept(ctx, req).await,
        Err(p) => Err(p),
    };
    ctx.http = mine;
    let r = r?;
    ensure!(
        r.status() != 429,
        r,
        "EN-RATE-1: another source address is refused too: the `{}` limit is not counted per IP",
        limit.name
    );
    Ok(())
}

/// Before any check, one unauthenticated request on every limit whose key the whole run
/// shares (against a remote target): a key that traffic before this run still spends
/// answers 429. With clock control the clock is moved past its Retry-After; otherwise the
/// limit is answered with its Retry-After for the plan.
pub async fn spent_before_the_run(env: &Arc<Env>) -> Vec<(String, u64)> {
    let mut spent = Vec::new();
    for limit in &env.profile.rate_limits {
        if env.loopback_sources && matches!(limit.key, LimitKey::Ip | LimitKey::ClientAndIp) {
            continue;
        }
        let Ok(mut ctx) = Ctx::new(env.clone(), "conformance-preflight") else {
            continue;
        };
        let Ok(req) = limited_request(&ctx, limit, None) else {
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
                let _ = ctx.advance_quietly(secs as f64).await;
            } else {
                spent.push((limit.name.clone(), secs));
            }
        }
    }
    spent
}
