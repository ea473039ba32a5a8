//! FX-RS-1: the resource server's answers under RFC 6750 §3: a bare `Bearer` challenge
//! when no bearer credentials came (§3.1: no error code), `error="invalid_token"` for a
//! token that is malformed, unknown, expired or revoked, `insufficient_scope` (403) for a
//! token without the endpoint's scope. A realm, an `error_description`, a body or other
//! parameters are the deployment's own and tolerated.

use super::{challenge, code_tokens, roles, web_tokens};
use crate::check::{Check, Ctx};
use crate::client::{Req, Resp};
use crate::kit::flows;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "FX-RS-1/missing-or-other-scheme-authorization-gets-a-bare-bearer-challenge",
            "No Authorization, another scheme or a malformed Bearer header is 401 with a Bearer challenge carrying no error code",
            run!(bare),
        ),
        Check::new(
            "FX-RS-1/unknown-token-is-invalid-token",
            "An unknown bearer token is 401 with WWW-Authenticate: Bearer error=\"invalid_token\"",
            run!(unknown),
        ),
        Check::new(
            "FX-RS-1/revoked-token-is-invalid-token",
            "A token revoked at /revoke is 401 invalid_token at the resource",
            run!(revoked),
        ),
        Check::new(
            "FX-RS-1/expired-token-is-invalid-token",
            "An access token past its lifetime is 401 invalid_token",
            run!(expired),
        )
        .exclusive()
        .waits(3601),
        Check::new(
            "FX-RS-1/token-without-the-scope-is-insufficient-scope",
            "A live token without the endpoint's scope is 403 insufficient_scope; one with it is 200",
            run!(insufficient_scope),
        ),
    ]
}

/// 401 with a Bearer challenge whose `error` is `error` (`None`: a bare challenge).
fn bearer_401(r: &Resp, error: Option<&str>) -> CheckResult {
    ensure!(r.status() == 401, r, "expected 401, got {}", r.status());
    let c = challenge(r, "Bearer")?;
    ensure!(
        c.param("error") == error,
        r,
        "the Bearer challenge carries error={:?}, expected {}",
        c.param("error"),
        error.map_or_else(|| "none (RFC 6750 §3.1)".to_owned(), |e| format!("{e:?}"))
    );
    Ok(())
}

async fn bare(ctx: &mut Ctx) -> CheckResult {
    let path = ctx.path("me");
    let r = ctx.send(Req::get(&path)).await?;
    bearer_401(&r, None)?;
    // Another scheme, and a malformed Bearer header (no token): no bearer credentials.
    for header in ["Basic Y29uZm9ybWFuY2U6eA==", "Bearer"] {
        let r = ctx
            .send(Req::get(&path).header("authorization", header))
            .await?;
        bearer_401(&r, None)?;
    }
    Ok(())
}

async fn unknown(ctx: &mut Ctx) -> CheckResult {
    let r = flows::me(ctx, "conformance-unknown-token").await?;
    bearer_401(&r, Some("invalid_token"))
}

async fn revoked(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let (t, _) = web_tokens(ctx, &roles).await?;
    let r = flows::post_as(ctx, "revoke", &web, &[("token", &t.access)]).await?;
    ensure!(
        r.status() == 200,
        r,
        "revoking a live access token answered {}",
        r.status()
    );
    let r = flows::me(ctx, &t.access).await?;
    bearer_401(&r, Some("invalid_token"))
}

async fn expired(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let (t, _) = web_tokens(ctx, &roles).await?;
    let lifetime = ctx.profile().lifetimes.access_token;
    ctx.advance(lifetime as f64 + 1.0).await?;
    let r = flows::me(ctx, &t.access).await?;
    bearer_401(&r, Some("invalid_token"))
}

async fn insufficient_scope(ctx: &mut Ctx) -> CheckResult {
    let roles = roles(ctx)?;
    let web = roles.web.clone();
    let required = ctx
        .profile()
        .required_scope("me")
        .ok_or_else(|| Problem::error("the profile names no scope for `me`"))?
        .to_owned();
    // Decided before anything is sent: the second token needs another scope.
    let Some(other) = web.allowed_scopes.iter().find(|s| **s != required).cloned() else {
        return Err(Problem::skip(format!(
            "needs a confidential app allowed a scope other than `{required}`"
        )));
    };
    let t = code_tokens(ctx, &web, Some(&required)).await?;
    let r = flows::me(ctx, &t.access).await?;
    ensure!(
        r.status() == 200,
        r,
        "a token with `{required}` answers {} at me",
        r.status()
    );
    let t = code_tokens(ctx, &web, Some(&other)).await?;
    let r = flows::me(ctx, &t.access).await?;
    ensure!(
        r.status() == 403,
        r,
        "a token with only `{other}` answers {}, expected 403",
        r.status()
    );
    let c = challenge(&r, "Bearer")?;
    ensure!(
        c.param("error") == Some("insufficient_scope"),
        r,
        "the 403's Bearer challenge carries error={:?}, expected \"insufficient_scope\"",
        c.param("error")
    );
    Ok(())
}
