//! PP-ERR: the error envelope, request ids, status codes and the closed set of codes.

use std::collections::HashSet;

use serde_json::Value;

use super::roles;
use crate::check::{Check, Ctx};
use crate::client::{Req, Resp};
use crate::kit::controls::set_mode;
use crate::kit::flows::{self, with_auth};
use crate::kit::made_up::made_up;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new("PP-ERR-1/error-bodies-carry-error-message-request-id", "Errors of every endpoint are JSON {error, message, request_id}, plus required_scope for insufficient_scope", run!(envelope)).budget("device-code", 1).budget("device-token", 1).budget("public-user", 1).budget("token", 3),
        Check::new("PP-ERR-2/request-id-on-every-response-unique-and-equal-to-the-body", "Successes and errors carry X-PunchPlay-Request-Id in the documented format, unique per request, equal to the body's on errors", run!(request_ids)).budget("public-user", 3),
        Check::new("PP-ERR-3/statuses-follow-the-documented-table", "Invalid input 400, bad credentials 401, missing access 403, unknown 404", run!(statuses)).budget("device-code", 1).budget("device-token", 1).budget("public-user", 1).budget("token", 3),
        Check::new("PP-ERR-3/temporary-failure-is-500-server-error", "A temporary server failure is 500 server_error at the token and device endpoints", run!(server_error)).needs_test_controls("to make the server fail on purpose").budget("device-code", 1).budget("token", 1).exclusive(),
        Check::new("PP-ERR-4/error-codes-come-from-the-documented-table", "Every error code the API answers is one of seed 000's table (plus access_denied)", run!(codes)).budget("device-code", 1).budget("device-token", 1).budget("public-user", 1).budget("token", 3),
        Check::new("PP-ERR-4/temporarily-unavailable-answers-server-error", "While temporarily unavailable, the token endpoint still answers the documented server_error", run!(unavailable)).needs_test_controls("to make the server fail on purpose").budget("token", 1).exclusive(),
    ]
}

/// Requests that each provoke a different error, with the code the contract gives them
/// and the clause that names that code there: a sweep judges its own part of each answer
/// (envelope, status, code table), and a difference in the code is that clause's.
async fn battery(ctx: &mut Ctx) -> Result<Vec<(Resp, &'static str, &'static str)>, Problem> {
    let web = roles(ctx)?.web.clone();
    let tv = roles(ctx)?.tv.clone();
    let mut out = Vec::new();
    let r = ctx.send(Req::get(ctx.path("me"))).await?;
    out.push((r, "invalid_token", "PP-API-1"));
    let r =
        ctx.send(Req::get(
            ctx.path_with("public_user", &[("username", "conformance-nobody")]),
        ))
        .await?;
    out.push((r, "not_found", "PP-PUBLIC-1"));
    let r = ctx
        .send(
            Req::post(ctx.path("token"))
                .form(with_auth(&web, &[("grant_type", "authorization_code")])),
        )
        .await?;
    out.push((r, "invalid_request", "PP-TOKEN-3"));
    let r = ctx
        .send(Req::post(ctx.path("token")).form(with_auth(&web, &[("grant_type", "password")])))
        .await?;
    out.push((r, "unsupported_grant_type", "PP-TOKEN-3"));
    let r = ctx
        .send(
            Req::post(ctx.path("device_code"))
                .form([("client_id", made_up("conformance-no-such-client").as_str())]),
        )
        .await?;
    out.push((r, "invalid_client", "PP-APP-4"));
    let r = ctx
        .send(Req::post(ctx.path("device_token")).form(with_auth(
            &tv,
            &[("device_code", made_up("conformance-unknown").as_str())],
        )))
        .await?;
    out.push((r, "expired", "PP-DEVICE-3"));
    let access = flows::code_tokens(ctx, &web, Some(&ctx.env.profile.scopes.known[0].clone()))
        .await?
        .access;
    let needs = ctx
        .env
        .profile
        .required_scope("now_playing")
        .unwrap_or_default()
        .to_owned();
    if needs != ctx.env.profile.scopes.known[0] {
        let r = ctx
            .send(Req::get(ctx.path("now_playing")).bearer(&access))
            .await?;
        out.push((r, "insufficient_scope", "PP-API-2"));
    }
    Ok(out)
}

async fn envelope(ctx: &mut Ctx) -> CheckResult {
    for (r, code, owner) in battery(ctx).await? {
        // Another code, or no error at all, is the clause's that names the code there;
        // the envelope of whatever error came is this check's.
        let Some(body) = ctx.error_of(owner, &r, code)? else {
            continue;
        };
        let code = body.get("error").and_then(Value::as_str).unwrap_or(code);
        let ct = r.header("content-type").unwrap_or("");
        ensure!(
            ct.starts_with("application/json"),
            r,
            "an error answered with content-type {ct:?}, expected application/json"
        );
        let keys: Vec<&str> = body
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let want: &[&str] = if code == "insufficient_scope" {
            &["error", "message", "request_id", "required_scope"]
        } else {
            &["error", "message", "request_id"]
        };
        // PP-ERR-1 names the members an error body has; a member beyond them is an
        // extension (a gateway's, say), which the contract does not forbid.
        let missing: Vec<&str> = want.iter().copied().filter(|w| !keys.contains(w)).collect();
        ensure!(
            missing.is_empty(),
            r,
            "the `{code}` body lacks {missing:?}; PP-ERR-1 bodies have {want:?}"
        );
    }
    Ok(())
}

async fn request_ids(ctx: &mut Ctx) -> CheckResult {
    let header = ctx.env.profile.expect_punchplay().request_id.header.clone();
    let mut seen = HashSet::new();
    let user = roles(ctx)?.user.username.clone();
    let mut resps = Vec::new();
    for _ in 0..2 {
        resps.push(
            ctx.send(Req::get(
                ctx.path_with("public_user", &[("username", &user)]),
            ))
            .await?,
        );
    }
    resps.push(
        ctx.send(Req::get(
            ctx.path_with("public_user", &[("username", "conformance-nobody")]),
        ))
        .await?,
    );
    resps.push(ctx.send(Req::get(ctx.path("me"))).await?);
    resps.push(
        ctx.send(Req::get(format!(
            "{}/conformance-unknown",
            ctx.path("platform_api")
        )))
        .await?,
    );
    // What each answer is otherwise is another clause's (PP-PUBLIC-1, PP-API-1,
    // PP-API-9); this check judges its request ids.
    for (r, owner) in resps.iter().zip([
        "PP-PUBLIC-1",
        "PP-PUBLIC-1",
        "PP-PUBLIC-1",
        "PP-API-1",
        "PP-API-9",
    ]) {
        ctx.pass_through(r, owner);
    }
    for r in &resps {
        let h = r
            .header(&header)
            .ok_or_else(|| r.fail(format!("the response has no {header} header")))?;
        ensure!(
            ctx.env.profile.expect_punchplay().request_id.matches(h),
            r,
            "{header} {h:?} is not `{}` + {} lowercase hex",
            ctx.env.profile.expect_punchplay().request_id.prefix,
            ctx.env.profile.expect_punchplay().request_id.hex_len
        );
        ensure!(
            seen.insert(h.to_owned()),
            r,
            "the request id {h} was sent twice"
        );
        if r.status() >= 400 {
            // An error body that is no JSON carries no request_id to compare: PP-ERR-1's
            // difference, seen here.
            let b = match r.json() {
                Ok(b) => b,
                Err(p) => {
                    ctx.saw(p.of_clause("PP-ERR-1"));
                    continue;
                }
            };
            ensure!(
                b.get("request_id").and_then(Value::as_str) == Some(h),
                r,
                "the body's request_id {:?} differs from the header's {h}",
                b.get("request_id")
            );
        }
    }
    Ok(())
}

async fn statuses(ctx: &mut Ctx) -> CheckResult {
    for (r, code, owner) in battery(ctx).await? {
        // Another code is the clause's that names the code there; this check judges the
        // status of the code that came, unless a clause names that code's status itself
        // (PP-APP-3's 401 invalid_client).
        ctx.error_of(owner, &r, code)?;
        let Some(came) = r.error_code() else {
            continue;
        };
        let want = ctx.env.profile.status_of(&came);
        if r.status() != want && ctx.env.profile.errors.contains_key(&came) {
            let p = r.fail(format!(
                "`{came}` came with status {}, the table says {want}",
                r.status()
            ));
            match ctx.env.dialect.status_clause(ctx.profile(), &came) {
                Some(clause) => ctx.in_passing(Err::<(), _>(p.of_clause(clause)))?,
                None => return Err(p),
            };
        }
    }
    Ok(())
}

async fn server_error(ctx: &mut Ctx) -> CheckResult {
    set_mode(ctx, "server_error").await?;
    let result = async {
        let web = roles(ctx)?.web.clone();
        let tv = roles(ctx)?.tv.clone();
        let r = flows::refresh_at_token(ctx, &web, "conformance-unknown-refresh", None).await?;
        ctx.error(&r, "server_error")?;
        let r = ctx
            .send(Req::post(ctx.path("device_code")).form(with_auth(&tv, &[])))
            .await?;
        ctx.error(&r, "server_error")?;
        let pkce = flows::pkce(ctx);
        let state = flows::state(ctx);
        let path = flows::standard_authorize(ctx, &web, &pkce, None, Some(&state));
        let r = ctx.send(Req::get(path)).await?;
        super::error_redirect(ctx, &r, &web.redirect_uris[0], "server_error", &state)
    }
    .await;
    set_mode(ctx, "normal").await?;
    result
}

async fn unavailable(ctx: &mut Ctx) -> CheckResult {
    set_mode(ctx, "temporarily_unavailable").await?;
    let result = async {
        let web = roles(ctx)?.web.clone();
        let r = flows::refresh_at_token(ctx, &web, "conformance-unknown-refresh", None).await?;
        ctx.error(&r, "server_error")?;
        Ok(())
    }
    .await;
    set_mode(ctx, "normal").await?;
    result
}

async fn codes(ctx: &mut Ctx) -> CheckResult {
    let known: Vec<String> = ctx.env.profile.errors.keys().cloned().collect();
    for (r, expected, owner) in battery(ctx).await? {
        // Which code comes is the clause's that names it there; this check judges that
        // the code that came is one of the table's.
        ctx.error_of(owner, &r, expected)?;
        let Some(code) = r.error_code() else {
            continue;
        };
        ensure!(
            known.contains(&code),
            r,
            "the error code {code:?} is not in seed 000's table"
        );
    }
    Ok(())
}
