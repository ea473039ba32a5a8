//! Introspection (EN-INTRO-1) and revocation (EN-REVOKE-1): `{token}` in a JSON body, no
//! client authentication (EN-TOKEN-4), `{success, message, data}` answers.

use profile::{Level, Profile};
use serde_json::{Value, json};

use contract_client::families::enterprise as answers;

use super::{
    api_error, issue, outcome_refusal, refused_with, roles, scope_set, tags_request, tags_with,
    token_body,
};
use crate::check::{Check, Ctx};
use crate::client::Req;
use crate::kit::race;
use crate::kit::time::{self, Lifetime};
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

const TOKEN_REQUIRED: &str = "Token required.";
const INVALID_OR_EXPIRED: &str = "Invalid or expired token.";
const TOKEN_NOT_FOUND: &str = "Token not found.";
/// A token no deployment issued.
const UNKNOWN_TOKEN: &str = "conformance-unknown-token";
/// Concurrent revocations of one token in the race check.
const RACING_REVOKES: usize = 8;

pub fn checks(profile: &Profile) -> Vec<Check> {
    let lifetime = profile.lifetimes.access_token;
    vec![
        Check::new(
            "EN-INTRO-1/missing-token-is-token-required",
            "Introspect without a token is 422 {success: false, message: \"Token required.\"}",
            run!(intro_missing),
        ),
        Check::new(
            "EN-INTRO-1/unknown-token-is-invalid-or-expired",
            "Introspecting a token never issued is 422 \"Invalid or expired token.\"",
            run!(intro_unknown),
        ),
        Check::new(
            "EN-INTRO-1/expired-token-is-invalid-or-expired",
            "Introspecting a token past its lifetime is 422 \"Invalid or expired token.\"",
            run!(intro_expired),
        )
        .exclusive()
        .waits(lifetime + 1),
        Check::new(
            "EN-INTRO-1/live-token-is-active",
            "A live token introspects 200 {success: true, data: {active: true, client_id, scope, exp}} with no client authentication",
            run!(intro_live),
        )
        .part(Level::Decided),
        Check::new(
            "EN-REVOKE-1/missing-token-is-token-required",
            "Revoke without a token is 422 {success: false, message: \"Token required.\"}",
            run!(revoke_missing),
        ),
        Check::new(
            "EN-REVOKE-1/unknown-token-is-token-not-found",
            "Revoking a token never issued is refused with {success: false, message: \"Token not found.\"}",
            run!(revoke_unknown),
        ),
        Check::new(
            "EN-REVOKE-1/token-not-found-is-422",
            "\"Token not found.\" comes with status 422",
            run!(revoke_unknown_status),
        )
        .part(Level::Decided),
        Check::new(
            "EN-REVOKE-1/revoked-token-is-rejected-afterwards",
            "After a revocation the token is 401 on /api, invalid at introspect and not found at revoke",
            run!(revoked_rejected),
        )
        .budget("api", 2),
        Check::new(
            "EN-REVOKE-1/revoke-answers-token-revoked",
            "A revocation is 200 {success: true, message: \"Token revoked.\", data: null}",
            run!(revoke_answer),
        )
        .part(Level::Decided),
        Check::new(
            "EN-REVOKE-1/concurrent-revocations-succeed-once",
            "Of concurrent revocations of one token exactly one succeeds; the others find no token",
            run!(revoke_race),
        )
        .part(Level::Decided),
    ]
}

async fn intro_missing(ctx: &mut Ctx) -> CheckResult {
    let r = ctx
        .send(Req::post(ctx.path("introspect")).json(json!({})))
        .await?;
    outcome_refusal(ctx, &r, "token_required", TOKEN_REQUIRED, "EN-INTRO-1")
}

async fn intro_unknown(ctx: &mut Ctx) -> CheckResult {
    let r = ctx
        .send(token_body(ctx, "introspect", UNKNOWN_TOKEN))
        .await?;
    outcome_refusal(ctx, &r, "invalid_token", INVALID_OR_EXPIRED, "EN-INTRO-1")
}

/// Issues a token to the active app between two readings of the target's clock, so its
/// end is known to a range.
pub async fn issued_with_lifetime(ctx: &mut Ctx) -> Result<(String, Lifetime), Problem> {
    let app = roles::active(ctx)?;
    let no_earlier = time::now(ctx).await?;
    let token = issue(ctx, &app, None).await?;
    let no_later = time::now(ctx).await?;
    Ok((
        token.access_token,
        Lifetime {
            issued_no_earlier: no_earlier,
            issued_no_later: no_later,
            secs: token.expires_in,
            what: "access token",
        },
    ))
}

async fn intro_expired(ctx: &mut Ctx) -> CheckResult {
    let (token, lifetime) = issued_with_lifetime(ctx).await?;
    lifetime.to_just_after_its_end(ctx).await?;
    let r = ctx.send(token_body(ctx, "introspect", &token)).await?;
    outcome_refusal(ctx, &r, "invalid_token", INVALID_OR_EXPIRED, "EN-INTRO-1")
}

async fn intro_live(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let before = chrono::Utc::now().timestamp();
    let token = issue(ctx, &app, None).await?;
    let after = chrono::Utc::now().timestamp();
    let r = ctx
        .send(token_body(ctx, "introspect", &token.access_token))
        .await?;
    ensure!(
        r.status() == 200,
        r,
        "EN-INTRO-1: introspecting a live token answered {}, expected 200: {}",
        r.status(),
        r.body()
    );
    let (_, found) = answers::read_introspection(r.body().as_bytes())
        .map_err(|p| r.fail(format!("EN-INTRO-1: {p}")))?;
    ensure!(
        found.active,
        r,
        "EN-INTRO-1: `data.active` is false for a live token"
    );
    ensure!(
        found.client_id == app.client_id,
        r,
        "EN-INTRO-1: `data.client_id` is {:?}, the token was issued to {:?}",
        found.client_id,
        app.client_id
    );
    ensure!(
        scope_set(&found.scope) == scope_set(&token.scope),
        r,
        "EN-INTRO-1: `data.scope` is {:?}, the token was issued {:?}",
        found.scope,
        token.scope
    );
    // `exp` is the issue time plus expires_in. With test controls the server's clock may
    // have been moved on by earlier checks: its own reading is the reference then.
    let (lo, hi) = if ctx.env.controls {
        let now = time::now(ctx).await? as i64;
        (now - 60, now + 1)
    } else {
        // Clocks of a deployment and of this machine differ by some skew.
        (before - 300, after + 300)
    };
    let expires = token.expires_in as i64;
    ensure!(
        (lo + expires..=hi + expires).contains(&found.exp),
        r,
        "EN-INTRO-1: `data.exp` is {}, expected the issue time plus expires_in ({expires} s): between {} and {}",
        found.exp,
        lo + expires,
        hi + expires
    );
    Ok(())
}

async fn revoke_missing(ctx: &mut Ctx) -> CheckResult {
    let r = ctx
        .send(Req::post(ctx.path("revoke")).json(json!({})))
        .await?;
    outcome_refusal(ctx, &r, "token_required", TOKEN_REQUIRED, "EN-REVOKE-1")
}

async fn revoke_unknown(ctx: &mut Ctx) -> CheckResult {
    let r = ctx.send(token_body(ctx, "revoke", UNKNOWN_TOKEN)).await?;
    refused_with(&r, TOKEN_NOT_FOUND, "EN-REVOKE-1")
}

async fn revoke_unknown_status(ctx: &mut Ctx) -> CheckResult {
    let r = ctx.send(token_body(ctx, "revoke", UNKNOWN_TOKEN)).await?;
    outcome_refusal(ctx, &r, "token_not_found", TOKEN_NOT_FOUND, "EN-REVOKE-1")
}

/// A revocation that succeeded: 2xx `{success: true, …}` (the exact body is DECIDED).
fn revoked(r: &crate::client::Resp) -> Result<answers::Outcome, Problem> {
    let outcome = answers::read_outcome(r.body().as_bytes())
        .map_err(|p| r.fail(format!("EN-REVOKE-1: {p}")))?;
    ensure!(
        (200..300).contains(&r.status()) && outcome.success,
        r,
        "EN-REVOKE-1: revoking a live token answered {}: {}",
        r.status(),
        r.body()
    );
    Ok(outcome)
}

async fn revoked_rejected(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let token = issue(ctx, &app, None).await?.access_token;
    tags_with(ctx, &token, "EN-REVOKE-1").await?;
    let r = ctx.send(token_body(ctx, "revoke", &token)).await?;
    revoked(&r)?;
    let r = ctx.send(tags_request(ctx, Some(&token))).await?;
    // Rejected is EN-REVOKE-1's: the revoked token is not served. How `/api/*` refuses
    // it (401 "Unauthenticated.") is EN-API-1's, seen here.
    ensure!(
        !(200..300).contains(&r.status()),
        r,
        "EN-REVOKE-1: the revoked token was still served: {} {}",
        r.status(),
        r.body()
    );
    if let Err(p) = api_error(ctx, &r, "unauthenticated", "Unauthenticated.", "EN-API-1") {
        ctx.pass_through(&r, "EN-API-1");
        ctx.saw(p.of_clause("EN-API-1"));
    }
    let r = ctx.send(token_body(ctx, "introspect", &token)).await?;
    outcome_refusal(ctx, &r, "invalid_token", INVALID_OR_EXPIRED, "EN-REVOKE-1")?;
    let r = ctx.send(token_body(ctx, "revoke", &token)).await?;
    refused_with(&r, TOKEN_NOT_FOUND, "EN-REVOKE-1")
}

async fn revoke_answer(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let token = issue(ctx, &app, None).await?.access_token;
    let r = ctx.send(token_body(ctx, "revoke", &token)).await?;
    let outcome = revoked(&r)?;
    ensure!(
        r.status() == 200 && outcome.message == "Token revoked." && outcome.data == Value::Null,
        r,
        "EN-REVOKE-1: expected 200 {{success: true, message: \"Token revoked.\", data: null}}, got {} {}",
        r.status(),
        r.body()
    );
    Ok(())
}

async fn revoke_race(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let token = issue(ctx, &app, None).await?.access_token;
    let revokes = (0..RACING_REVOKES)
        .map(|_| token_body(ctx, "revoke", &token))
        .collect();
    let answers = race::at_once(ctx, revokes).await?;
    let n = race::winners(&answers);
    let (succeeded, refused): (Vec<_>, Vec<_>) = answers
        .into_iter()
        .partition(|ex| (200..300).contains(&ex.status));
    ctx.note(format!(
        "{RACING_REVOKES} concurrent revocations of one token; one succeeded:"
    ));
    let Some(first) = succeeded.into_iter().next() else {
        let r = refused.into_iter().last().map(|ex| ctx.record(ex));
        return Err(match r {
            Some(r) => r.fail("EN-REVOKE-1: no concurrent revocation of a live token succeeded"),
            None => Problem::error("no revocation was sent"),
        });
    };
    let r = ctx.record(first);
    ensure!(
        n == 1,
        r,
        "EN-REVOKE-1: {n} of {RACING_REVOKES} concurrent revocations of one token succeeded; once revoked it is not found"
    );
    if let Some(ex) = refused.into_iter().last() {
        ctx.note("the others:");
        let r = ctx.record(ex);
        refused_with(&r, TOKEN_NOT_FOUND, "EN-REVOKE-1")?;
    }
    Ok(())
}
