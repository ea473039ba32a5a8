//! Concurrent requests with one winner (PP-REFRESH-4, FX-TOKEN-8, EN-REVOKE-1's race):
//! the requests go out at once, each counted against its rate limits, and come back
//! successes first, so a transcript does not depend on which request won.

use crate::check::Ctx;
use crate::client::{Exchange, Req};
use crate::outcome::Problem;

/// Sends `requests` at the same time from the check's client; answers every exchange,
/// ordered by status (stable), unrecorded: the caller records what its check shows.
pub async fn at_once(ctx: &mut Ctx, requests: Vec<Req>) -> Result<Vec<Exchange>, Problem> {
    for req in &requests {
        ctx.count(req);
    }
    let http = ctx.http.clone();
    let sends = requests.into_iter().map(|req| {
        let http = http.clone();
        async move { http.execute(req).await }
    });
    let mut exchanges = Vec::new();
    for answer in futures_util::future::join_all(sends).await {
        exchanges.push(answer?);
    }
    exchanges.sort_by_key(|x| x.status);
    Ok(exchanges)
}

/// How many of the answers succeeded (2xx).
pub fn winners(exchanges: &[Exchange]) -> usize {
    exchanges
        .iter()
        .filter(|x| (200..300).contains(&x.status))
        .count()
}

/// `n` refreshes of one refresh token at the token endpoint at once (RFC 6749 §6, with
/// the family's client authentication), all recorded, successes first.
pub async fn refreshes(
    ctx: &mut Ctx,
    app: &profile::App,
    refresh_token: &str,
    n: usize,
) -> Result<Vec<crate::client::Resp>, Problem> {
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    let requests = (0..n)
        .map(|_| crate::kit::flows::authenticated(ctx, "token", app, &pairs))
        .collect();
    let answers = at_once(ctx, requests).await?;
    Ok(answers.into_iter().map(|x| ctx.record(x)).collect())
}
