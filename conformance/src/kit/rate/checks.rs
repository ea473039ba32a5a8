//! What each [`Kind`] of rate check does, on any limit and any family: the limit comes
//! with the check, the requests from the family's recipe, and every expectation from the
//! profile's numbers and readings of the target's clock. Each check starts on a fresh key:
//! against a loopback target every check has its own source address (IP keys), and with
//! clock control a check on a shared key first lets the window pass (the server is not
//! reset: that would also clear a fault switched on to prove the suite notices it).

use std::sync::Arc;
use std::time::Duration;

use profile::{LimitKey, RateLimit};

use super::{CLOCK_ROUNDING_SECS, Kind, RateFamily};
use crate::check::{Ctx, SHORTENED_WAIT_SECS};
use crate::client::{Http, Req, Resp};
use crate::ensure;
use crate::kit::time;
use crate::outcome::{CheckResult, Problem};

/// How many more requests an admitted-count check sends over the rest of a window after
/// the first refusal.
pub(crate) const KEEP_ASKING_REQUESTS: u32 = 20;

/// One rate check: its kind, its limit, and the family whose recipe it sends.
pub(super) struct Job {
    pub family: &'static dyn RateFamily,
    pub kind: Kind,
    pub limit: RateLimit,
}

impl Job {
    pub async fn run(&self, ctx: &mut Ctx) -> CheckResult {
        let clause = ctx.check_id.split('/').next().unwrap_or_default();
        match self.kind {
            Kind::Admits { refusal } => self.admits(ctx, clause, refusal).await,
            Kind::Refusal => self.refusal(ctx).await,
            Kind::RetryAfter { refusal } => self.retry_after(ctx, refusal).await,
            Kind::Reopens { refusal } => self.reopens(ctx, clause, refusal).await,
            Kind::FailedAuthenticationCounts => self.failed_counts(ctx, clause).await,
            Kind::FailedAuthenticationNotCounted => self.failed_not_counted(ctx).await,
            Kind::PerSourceAddress => self.per_source(ctx, clause).await,
            Kind::SpoofedForwardedFor => self.spoofed_forwarded_for(ctx).await,
            Kind::PerClient => self.per_client(ctx).await,
        }
    }

    fn request(&self, ctx: &Ctx, token: &Option<String>) -> Result<Req, Problem> {
        self.family.request(ctx, &self.limit, token.as_deref())
    }

    /// An answer the limit admitted: what it says besides is its endpoint's clause's.
    fn admitted(&self, ctx: &Ctx, r: &Resp) {
        if r.status() != 429
            && let Some(clause) = self.family.admitted_clause(&self.limit)
        {
            ctx.pass_through(r, clause);
        }
    }

    async fn admits(&self, ctx: &mut Ctx, clause: &str, refusal: bool) -> CheckResult {
        let limit = &self.limit;
        let token = prepare(ctx, self.family, limit).await?;
        let expect = left(ctx, limit);
        let (admitted, refused) = exhaust(ctx, self, &token, 0).await?;
        if exact(ctx, limit) {
            ensure!(
                admitted == expect,
                refused,
                "{clause}: the `{}` limit admitted {admitted} requests before refusing; the profile allows {}",
                limit.name,
                limit.max
            );
        }
        if refusal {
            self.family.refusal(ctx, &refused)?;
        }
        keep_asking(ctx, limit, &|c: &Ctx| self.request(c, &token)).await
    }

    async fn refusal(&self, ctx: &mut Ctx) -> CheckResult {
        let token = prepare(ctx, self.family, &self.limit).await?;
        let (_, refused) = exhaust(ctx, self, &token, 0).await?;
        self.family.refusal(ctx, &refused)
    }

    async fn retry_after(&self, ctx: &mut Ctx, refusal: bool) -> CheckResult {
        let token = prepare(ctx, self.family, &self.limit).await?;
        let (_, refused) = exhaust(ctx, self, &token, 0).await?;
        if refusal {
            self.family.refusal(ctx, &refused)?;
        }
        let clause = self.family.spec().retry_after_clause;
        retry_after(&refused, &self.limit, clause).map(drop)
    }

    async fn reopens(&self, ctx: &mut Ctx, clause: &str, refusal: bool) -> CheckResult {
        let limit = &self.limit;
        if !ctx.env.controls && !ctx.env.allow_slow {
            return Err(Problem::skip(format!(
                "needs up to {} s of real time without clock control; run with --allow-slow",
                limit.window_secs
            )));
        }
        let retry_clause = self.family.spec().retry_after_clause;
        let token = prepare(ctx, self.family, limit).await?;
        let window = limit.window_secs as f64;
        // Every expectation below comes from readings of the target's clock taken around
        // the requests (module `time`), never from the assumption that no time passed.
        // One request, a second later the rest of the window's allowance: the window then
        // reopens by one when the first leaves, one second before the others do, and a
        // limiter counting its refusals stays shut (refusals do not count).
        let first_no_earlier = time::now(ctx).await?;
        let first = ctx.send(self.request(ctx, &token)?).await?;
        self.admitted(ctx, &first);
        let first_no_later = time::now(ctx).await?;
        ensure!(
            first.status() != 429,
            first,
            "the first request on a fresh key was refused"
        );
        time::advance_until(ctx, first_no_later + 1.0, "clock moved 1 s on").await?;
        let (_, refused) = exhaust(ctx, self, &token, 1).await?;
        if refusal {
            self.family.refusal(ctx, &refused)?;
            retry_after(&refused, limit, retry_clause)?;
        }
        // Asked between two readings, Retry-After is known to a range: the time until the
        // oldest admitted request leaves the window, rounded up.
        let asked_no_earlier = time::now(ctx).await?;
        let req = self.request(ctx, &token)?;
        ctx.note("asked again:");
        let again = ctx.send(req).await?;
        let asked_no_later = time::now(ctx).await?;
        ensure!(
            again.status() == 429,
            again,
            "{clause}: a request right after the refusal was admitted with {}",
            again.status()
        );
        let wait = retry_after(&again, limit, retry_clause)?;
        let exact_key = exact(ctx, limit);
        if exact_key {
            let slack = CLOCK_ROUNDING_SECS;
            let lowest = (first_no_earlier + window - asked_no_later - slack).ceil() as u64;
            let highest = (first_no_later + window - asked_no_earlier + slack).ceil() as u64;
            ensure!(
                (lowest..=highest).contains(&wait),
                again,
                "{clause}: Retry-After is {wait} s; by the target's clock around the request, the oldest admitted request leaves the window in {lowest}..={highest} s"
            );
        }
        // Just before the window reopens, still refused. It reopens no earlier than a
        // second before Retry-After has passed (rounded up) and, on a key only this check
        // uses, no earlier than a window after the first request.
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
        let r = ctx.send(self.request(ctx, &token)?).await?;
        if r.status() != 429 {
            time::landed_before(ctx, reopens_no_earlier, "the request before the reopening")
                .await?;
        }
        ensure!(
            r.status() == 429,
            r,
            "{clause}: before Retry-After ({wait} s) had passed, a request was admitted with {}",
            r.status()
        );
        // After waiting Retry-After from the refusal, admitted: the refusals in between
        // must not count and take the place the first request left.
        time::advance_until(
            ctx,
            asked_no_later + wait as f64,
            "clock moved to Retry-After after the refusal",
        )
        .await?;
        let r = ctx.send(self.request(ctx, &token)?).await?;
        self.admitted(ctx, &r);
        ensure!(
            r.status() != 429,
            r,
            "{clause}: after waiting Retry-After ({wait} s) the request is still refused: refused requests must not count and the window must reopen"
        );
        Ok(())
    }

    async fn failed_counts(&self, ctx: &mut Ctx, clause: &str) -> CheckResult {
        let limit = &self.limit;
        if !exact(ctx, limit) {
            return Err(Problem::skip(
                "needs a key of its own (a loopback target or clock control) to count exactly",
            ));
        }
        let token = prepare(ctx, self.family, limit).await?;
        let n = left(ctx, limit);
        let mut last = None;
        for _ in 0..n {
            let req = self
                .family
                .request(ctx, limit, Some("conformance-unknown-token"))?;
            last = Some(ctx.exchange(req).await?);
        }
        if let Some(ex) = last {
            ctx.note("as many requests as the limit with an unknown token; the last:");
            let r = ctx.record(ex);
            if let Some(owner) = self.family.unauthenticated_clause(limit) {
                ctx.pass_through(&r, owner);
            }
        }
        ctx.note("then with a live token:");
        let r = ctx.send(self.request(ctx, &token)?).await?;
        ensure!(
            r.status() == 429,
            r,
            "{clause}: after {n} requests refused for their token, a request with a live token was admitted with {}: refused authentication was not counted (every request under the limit counts, whatever its status)",
            r.status()
        );
        Ok(())
    }

    async fn failed_not_counted(&self, ctx: &mut Ctx) -> CheckResult {
        let limit = &self.limit;
        let token = prepare(ctx, self.family, limit).await?;
        let n = left(ctx, limit) + 5;
        let mut last = None;
        for _ in 0..n {
            let req = self
                .family
                .request(ctx, limit, Some("conformance-unknown-access-token"))?;
            last = Some(ctx.exchange(req).await?);
        }
        if let Some(ex) = last {
            ctx.note("more requests than the limit with an unknown token; the last:");
            let r = ctx.record(ex);
            ctx.error(&r, "invalid_token")?;
        }
        let (admitted, refused) = exhaust(ctx, self, &token, 0).await?;
        let expect = left(ctx, limit);
        if exact(ctx, limit) {
            ensure!(
                admitted == expect,
                refused,
                "after {n} unauthenticated requests the user had {admitted} admitted requests left, expected {expect}: failed authentication was counted"
            );
        }
        Ok(())
    }

    /// Where a key check starts: the limit spent on this check's key, failing if it
    /// never refuses; answers the token the next request carries.
    async fn exhausted(&self, ctx: &mut Ctx) -> Result<Option<String>, Problem> {
        let token = prepare(ctx, self.family, &self.limit).await?;
        let (_, refused) = exhaust(ctx, self, &token, 0).await?;
        ensure!(refused.status() == 429, refused, "the limit never refused");
        Ok(token)
    }

    async fn per_source(&self, ctx: &mut Ctx, clause: &str) -> CheckResult {
        if !ctx.env.loopback_sources {
            return Err(Problem::skip(
                "needs two source addresses: only a loopback target gives the suite a second one",
            ));
        }
        let token = self.exhausted(ctx).await?;
        let other = Http::new(Arc::clone(&ctx.env.http), ctx.env.next_source())?;
        let mine = std::mem::replace(&mut ctx.http, other);
        ctx.note("from another source address:");
        let r = match self.request(ctx, &token) {
            Ok(req) => ctx.send(req).await,
            Err(p) => Err(p),
        };
        ctx.http = mine;
        let r = r?;
        self.admitted(ctx, &r);
        ensure!(
            r.status() != 429,
            r,
            "{clause}: another source address is refused too: the `{}` limit is not counted per IP",
            self.limit.name
        );
        Ok(())
    }

    async fn spoofed_forwarded_for(&self, ctx: &mut Ctx) -> CheckResult {
        let limit = &self.limit;
        let token = prepare(ctx, self.family, limit).await?;
        let n = left(ctx, limit);
        let mut last = None;
        for i in 0..=n {
            let req = self
                .request(ctx, &token)?
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
        self.family.refusal(ctx, &r)
    }

    async fn per_client(&self, ctx: &mut Ctx) -> CheckResult {
        self.exhausted(ctx).await?;
        let req = self.family.other_client_request(ctx, &self.limit)?;
        ctx.note("another client from the same address:");
        let r = ctx.send(req).await?;
        self.admitted(ctx, &r);
        ensure!(
            r.status() != 429,
            r,
            "another client from the same address is refused too: the `{}` limit is not keyed by client",
            self.limit.name
        );
        Ok(())
    }
}

/// A fresh key for the check (the clock moved a window on where the key is shared) and
/// the token its requests carry.
pub(super) async fn prepare(
    ctx: &mut Ctx,
    family: &'static dyn RateFamily,
    limit: &RateLimit,
) -> Result<Option<String>, Problem> {
    let fresh_ip = ctx.env.loopback_sources && limit.key != LimitKey::User;
    if ctx.env.controls && !fresh_ip {
        ctx.advance_quietly(limit.window_secs as f64).await?;
    }
    family.token(ctx, limit).await
}

/// Whether this check's key is known to be fresh, so counts can be asserted exactly.
fn exact(ctx: &Ctx, limit: &RateLimit) -> bool {
    ctx.env.controls || (ctx.env.loopback_sources && limit.key != LimitKey::User)
}

/// How many requests the key has left in this run's view: all of them on a fresh key.
fn left(ctx: &Ctx, limit: &RateLimit) -> u32 {
    if exact(ctx, limit) {
        limit.max
    } else {
        limit
            .max
            .saturating_sub(ctx.env.used(limit, ctx.http.source))
    }
}

/// Sends requests until the first 429 (at most `left + 1`, `already` of this check's
/// admitted on the key); records the last admitted one and the first refusal.
async fn exhaust(
    ctx: &mut Ctx,
    job: &Job,
    token: &Option<String>,
    already: u32,
) -> Result<(u32, Resp), Problem> {
    let limit = &job.limit;
    let expect = left(ctx, limit).saturating_sub(already);
    let mut admitted = 0u32;
    for i in 0..=expect {
        let req = job.request(ctx, token)?;
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
                    .map_or_else(|| "up to the window".to_owned(), time::human_duration),
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
            job.admitted(ctx, &r);
            if admitted > expect {
                let clause = ctx.env.dialect.over_admission_clause().unwrap_or_default();
                return Err(r.fail(format!(
                    "{clause}: the `{}` limit admitted {admitted} requests; the profile allows {} per {} s ({} already used by this run)",
                    limit.name,
                    limit.max,
                    limit.window_secs,
                    limit.max - expect
                )));
            }
        }
    }
    Err(Problem::fail(format!(
        "the `{}` limit never refused",
        limit.name
    )))
}

/// The limit holds for the whole window, not only up to the first refusal: a limiter
/// that refuses the N+1st request but admits again before the window has passed (a leaky
/// bucket draining, nginx's `limit_req ... burst nodelay`) admits more than N in one
/// window. Keeps asking, evenly spaced, until a window has passed since the first
/// admitted request (without clock control and without `--allow-slow`, for at most
/// [`SHORTENED_WAIT_SECS`]); the over-admission watch judges what was admitted.
async fn keep_asking(
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

/// Retry-After of a refusal: whole seconds, 1 to the window; a failure is `clause`'s
/// (PP-RATE-2), which a check that waits it out presumes (issue 18 item 4).
fn retry_after(r: &Resp, limit: &RateLimit, clause: &'static str) -> Result<u64, Problem> {
    let fail = |why: String| r.fail(format!("{clause}: {why}")).presuming(clause);
    let v = r
        .header("retry-after")
        .ok_or_else(|| fail("the 429 carries no Retry-After".into()))?;
    let n: u64 = v
        .trim()
        .parse()
        .map_err(|_| fail(format!("Retry-After {v:?} is not whole seconds")))?;
    if !(1..=limit.window_secs).contains(&n) {
        return Err(fail(format!(
            "Retry-After {n} is outside 1..={} s",
            limit.window_secs
        )));
    }
    Ok(n)
}
