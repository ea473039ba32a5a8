//! PP-AUTHZ: the authorization-code flow with PKCE, its pages, redirects and codes. Over
//! 600 lines on purpose: one file per contract area, and PP-AUTHZ has eight clauses whose
//! checks share its page readers.

use profile::Level;

use super::{PageWording, error_redirect, inactive_or_skip, page_shows_app, roles, scope_set};
use crate::check::{Check, Ctx};
use crate::client::Req;
use crate::drivers::{find_input, hidden_inputs};
use crate::kit::flows::{self, Pkce, authorize_as, authorize_path, query, redeem};
use crate::kit::time;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "PP-AUTHZ-1/code-flow-with-s256-completes",
            "GET /oauth/authorize with the documented parameters leads to a code that redeems",
            run!(code_flow),
        )
        .budget("token", 1),
        Check::new(
            "PP-AUTHZ-2/approval-page-shows-app-and-scopes",
            "Before the user approves, the approval page names the app and every requested scope",
            run!(approval_page),
        ),
        Check::new(
            "PP-AUTHZ-2/sign-in-first-then-decide-by-form-post",
            "Signed out, the user sees the sign-in form first, returns to the request, and approves with a form POST",
            run!(pages),
        )
        .part(Level::Decided),
        Check::new(
            "PP-AUTHZ-3/approval-redirects-with-code-state-and-scope",
            "On approval, 302 to redirect_uri with code, state and scope",
            run!(approval_redirect),
        )
        .budget("token", 1),
        Check::new(
            "PP-AUTHZ-4/denial-redirects-access-denied",
            "A denial redirects with error=access_denied, state and request_id",
            run!(denial),
        )
        .part(Level::Should),
        Check::new(
            "PP-AUTHZ-4/unsupported-response-type-redirects",
            "response_type=token redirects with unsupported_response_type, state and request_id",
            run!(unsupported_response_type),
        ),
        Check::new(
            "PP-AUTHZ-4/missing-response-type-redirects-invalid-request",
            "A request without response_type redirects with invalid_request, state and request_id",
            run!(missing_response_type),
        ),
        Check::new(
            "PP-AUTHZ-4/inactive-app-redirects-unauthorized-client",
            "A deactivated app's authorize request redirects with unauthorized_client",
            run!(inactive_redirect),
        ),
        Check::new(
            "PP-AUTHZ-5/unknown-client-gets-an-error-page",
            "An unknown client_id gets a 400 HTML page with the request id, never a redirect",
            run!(unknown_client_page),
        ),
        Check::new(
            "PP-AUTHZ-5/unregistered-redirect-uri-gets-an-error-page",
            "A redirect_uri not registered byte for byte gets a 400 HTML page, never a redirect",
            run!(unregistered_redirect_page),
        ),
        Check::new(
            "PP-AUTHZ-6/plain-or-missing-challenge-is-invalid-request",
            "code_challenge_method=plain or no code_challenge redirects with invalid_request",
            run!(plain_or_missing),
        ),
        Check::new(
            "PP-AUTHZ-6/verifier-outside-43-128-unreserved-is-refused",
            "A code_verifier shorter than 43, longer than 128, or outside [A-Za-z0-9-._~] is invalid_request",
            run!(short_verifier),
        )
        .budget("token", 3),
        Check::new(
            "PP-AUTHZ-7/code-is-bound-to-the-challenge",
            "A code redeemed with a verifier that does not hash to the challenge is invalid_grant",
            run!(bound_to_challenge),
        )
        .budget("token", 1),
        Check::new(
            "PP-AUTHZ-7/code-is-bound-to-client-and-redirect-uri",
            "A code redeemed by another client or with another redirect_uri is invalid_grant",
            run!(bound_to_client_and_redirect),
        )
        .budget("token", 2),
        Check::new(
            "PP-AUTHZ-7/code-expires-after-its-lifetime",
            "A code older than its lifetime is invalid_grant",
            run!(code_expires),
        )
        .budget("token", 2)
        .exclusive()
        .waits(601),
        Check::new(
            "PP-AUTHZ-8/second-redemption-fails-and-revokes-tokens",
            "Redeeming a code twice is invalid_grant and revokes the tokens issued from it",
            run!(second_redemption),
        )
        .budget("token", 3),
    ]
}

/// The approval page, signed in, as PP-AUTHZ failures name it.
const APPROVAL_PAGE: PageWording = PageWording {
    answered: "signed in, the authorize page",
    lacks_name: "the approval page does not show the app's name",
    lacks_scope: "the approval page does not show the requested scope",
};

async fn code_flow(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let t = flows::code_tokens(ctx, &web, None).await?;
    let r = flows::me(ctx, &t.access).await?;
    ctx.ok_json(&r)?;
    Ok(())
}

async fn approval_page(ctx: &mut Ctx) -> CheckResult {
    // PP-AUTHZ-2 with the narrow app: the page must show only the scopes asked for.
    let spa = super::spa_or_skip(ctx)?;
    super::signed_in(ctx, false).await?;
    let pkce = flows::pkce(ctx);
    let scope = spa.allowed_scopes.join(" ");
    let path = flows::standard_authorize(ctx, &spa, &pkce, Some(&scope), None);
    let r = ctx.send(Req::get(&path)).await?;
    page_shows_app(
        &r,
        &APPROVAL_PAGE,
        &spa,
        spa.allowed_scopes.iter().map(String::as_str),
    )?;
    for s in ctx
        .env
        .profile
        .scopes
        .known
        .iter()
        .filter(|s| !spa.allowed_scopes.contains(s))
    {
        ensure!(
            !r.body().contains(s.as_str()),
            r,
            "the approval page shows `{s}`, which was not requested"
        );
    }
    Ok(())
}

async fn pages(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let user = roles(ctx)?.user.clone();
    let pw = user
        .password
        .as_ref()
        .map(|p| p.expose().to_owned())
        .ok_or_else(|| Problem::skip("needs the test user's password to use the sign-in form"))?;
    let pkce = flows::pkce(ctx);
    let state = flows::state(ctx);
    let scope = ctx.env.profile.scopes.known[..2].join(" ");
    let path = flows::standard_authorize(ctx, &web, &pkce, Some(&scope), Some(&state));
    let r = ctx.send(Req::get(&path)).await?;
    ensure!(
        r.status() == 200,
        r,
        "signed out, the authorize page answered {}, expected 200 with a sign-in form",
        r.status()
    );
    ensure!(
        r.body().contains("name=\"password\"") && find_input(r.body(), "authorization").is_none(),
        r,
        "signed out, the authorize page is not a sign-in form"
    );
    // As a browser: the sign-in form's hidden inputs (a CSRF token) go along.
    let hidden = hidden_inputs(r.body(), "name=\"password\"").unwrap_or_default();
    let login = ctx.path("login");
    let r = ctx
        .send(Req::post(login).page_form(
            hidden,
            [
                ("username", user.username.as_str()),
                ("password", pw.as_str()),
                ("next", path.as_str()),
            ],
        ))
        .await?;
    ensure!(
        (300..400).contains(&r.status()),
        r,
        "the sign-in form answered {}, expected a redirect back",
        r.status()
    );
    let r = ctx.send(Req::get(&path)).await?;
    page_shows_app(&r, &APPROVAL_PAGE, &web, scope.split(' '))?;
    ensure!(
        r.body().contains("method=\"post\"")
            && r.body().contains("value=\"approve\"")
            && r.body().contains("value=\"deny\""),
        r,
        "the approval page has no POST form with approve and deny"
    );
    let authorization = find_input(r.body(), "authorization")
        .ok_or_else(|| r.fail("the approval form has no hidden `authorization` field"))?;
    ctx.volatile(&authorization, "authorization");
    let hidden = hidden_inputs(r.body(), "name=\"authorization\"").unwrap_or_default();
    let action = ctx.path("authorize");
    let r = ctx
        .send(Req::post(action).page_form(
            hidden,
            [
                ("authorization", authorization.as_str()),
                ("decision", "approve"),
            ],
        ))
        .await?;
    // A redirect back; its status is PP-AUTHZ-3's (302), judged by that clause's check.
    ensure!(
        (300..400).contains(&r.status()) && r.header("location").is_some(),
        r,
        "approving answered {}, expected a redirect back to the app",
        r.status()
    );
    let loc = r.location()?;
    ensure!(
        query(&loc, "code").is_some(),
        r,
        "the approval redirect {loc} lacks code"
    );
    // Echoing state is PP-AUTHZ-3's.
    if query(&loc, "state").as_deref() != Some(state.as_str()) {
        let p = r.fail(format!(
            "PP-AUTHZ-3: the approval redirect {loc} does not echo state"
        ));
        ctx.in_passing(Err::<(), _>(p.of_clause("PP-AUTHZ-3")))?;
    }
    Ok(())
}

async fn approval_redirect(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let pkce = flows::pkce(ctx);
    let state = flows::state(ctx);
    let scope = ctx.env.profile.scopes.known[1..3].join(" ");
    let path = flows::standard_authorize(ctx, &web, &pkce, Some(&scope), Some(&state));
    let loc = flows::decide(ctx, &path, true).await?;
    approval_status(ctx)?;
    let fail = |m: String| Problem::fail(format!("{m} (redirect: {loc})"));
    let base = format!("{}{}", loc.origin().ascii_serialization(), loc.path());
    if base != web.redirect_uris[0] {
        return Err(fail(format!(
            "the approval redirect goes to {base}, not the registered {}",
            web.redirect_uris[0]
        )));
    }
    let code = query(&loc, "code")
        .ok_or_else(|| fail("the approval redirect carries no `code`".into()))?;
    ctx.volatile(&code, "code");
    if query(&loc, "state").as_deref() != Some(state.as_str()) {
        return Err(fail(format!(
            "the approval redirect does not echo state (got {:?})",
            query(&loc, "state")
        )));
    }
    let granted = query(&loc, "scope").unwrap_or_default();
    if scope_set(&granted) != scope_set(&scope) {
        return Err(fail(format!(
            "the approval redirect carries scope {granted:?}, asked for {scope:?}"
        )));
    }
    ctx.note(format!(
        "approved: redirect to {base} with code, state and scope `{granted}`"
    ));
    let r = redeem(ctx, &web, &code, &web.redirect_uris[0], &pkce.verifier).await?;
    ctx.ok_json(&r)?;
    Ok(())
}

/// PP-AUTHZ-3's 302, where the run's driver saw the approval's answer: the pages driver
/// submits the approval form itself (test controls and a command hand back only the URL
/// the browser went to, and say nothing of the status).
fn approval_status(ctx: &Ctx) -> CheckResult {
    let approval = ctx
        .transcript
        .exchanges()
        .filter(|ex| {
            ex.req.driver
                && ex
                    .header("location")
                    .and_then(|l| url::Url::parse(l).ok())
                    .is_some_and(|l| query(&l, "code").is_some())
        })
        .last();
    match approval {
        Some(ex) if !super::FREEDOMS.redirects_with(ex.status) => {
            let header = ctx
                .profile()
                .request_id()
                .map(|f| f.header.clone())
                .unwrap_or_default();
            Err(Problem::fail_at(
                format!(
                    "PP-AUTHZ-3: approving answered {} with the code, expected a 302 redirect",
                    ex.status
                ),
                crate::outcome::Support::from_exchange(ex, &header),
            ))
        }
        _ => Ok(()),
    }
}

async fn denial(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let pkce = flows::pkce(ctx);
    let state = flows::state(ctx);
    let path = flows::approval_path(ctx, &web, &pkce, Some(&state));
    let loc = flows::decide(ctx, &path, false).await?;
    let q = |k: &str| query(&loc, k);
    if q("error").as_deref() != Some("access_denied")
        || q("state").as_deref() != Some(state.as_str())
        || q("code").is_some()
    {
        return Err(Problem::fail(format!(
            "a denial redirects to {loc}; expected error=access_denied, the state, and no code"
        )));
    }
    if !q("request_id").is_some_and(|r| ctx.env.profile.expect_punchplay().request_id.matches(&r)) {
        return Err(Problem::fail(format!(
            "PP-AUTHZ-4: the denial redirect {loc} has no request_id in the documented format"
        )));
    }
    ctx.note("denied: redirect with error=access_denied, state and request_id");
    Ok(())
}

async fn unsupported_response_type(ctx: &mut Ctx) -> CheckResult {
    bad_response_type(ctx, Some("token"), "unsupported_response_type").await
}

async fn missing_response_type(ctx: &mut Ctx) -> CheckResult {
    bad_response_type(ctx, None, "invalid_request").await
}

/// An otherwise valid authorize request from the web app with `response_type` set to
/// `response_type` (or left out) redirects back with `error`.
async fn bad_response_type(ctx: &mut Ctx, response_type: Option<&str>, error: &str) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let pkce = flows::pkce(ctx);
    let state = flows::state(ctx);
    let redirect = web.redirect_uris[0].clone();
    let mut params = Vec::new();
    if let Some(rt) = response_type {
        params.push(("response_type", rt));
    }
    params.extend([
        ("client_id", web.client_id.as_str()),
        ("redirect_uri", &redirect),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
        ("state", &state),
    ]);
    let path = authorize_path(ctx, &params);
    let r = ctx.send(Req::get(path)).await?;
    error_redirect(ctx, &r, &redirect, error, &state)
}

async fn inactive_redirect(ctx: &mut Ctx) -> CheckResult {
    let app = inactive_or_skip(ctx)?;
    let redirect = app
        .redirect_uris
        .first()
        .cloned()
        .ok_or_else(|| Problem::skip("the deactivated app has no redirect URI"))?;
    let pkce = flows::pkce(ctx);
    let state = flows::state(ctx);
    let path = flows::standard_authorize(ctx, &app, &pkce, None, Some(&state));
    let r = ctx.send(Req::get(path)).await?;
    // An inactive app is refused at all only where PP-APP-4 holds.
    error_redirect(ctx, &r, &redirect, "unauthorized_client", &state)
        .map_err(|p| p.presuming("PP-APP-4"))
}

/// A 400 HTML page that shows the request id of its own response (PP-AUTHZ-5).
fn error_page(ctx: &Ctx, r: &crate::client::Resp) -> CheckResult {
    ensure!(
        r.status() == 400,
        r,
        "expected a 400 error page, got {} (Location: {:?})",
        r.status(),
        r.header("location")
    );
    ensure!(
        r.header("location").is_none(),
        r,
        "the error page also carries a Location header"
    );
    let ct = r.header("content-type").unwrap_or("");
    ensure!(
        ct.starts_with("text/html"),
        r,
        "the error page's content-type is {ct:?}, expected text/html"
    );
    let rid = r
        .header(&ctx.env.profile.expect_punchplay().request_id.header)
        .unwrap_or("");
    // The page shows the id its answer carries, where that id is one (PP-ERR-2).
    if rid.is_empty() || !r.body().contains(rid) {
        let p = r.fail(format!(
            "the error page does not show the request id {rid:?}"
        ));
        return Err(p.presuming("PP-ERR-2"));
    }
    Ok(())
}

async fn unknown_client_page(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let pkce = flows::pkce(ctx);
    let path = authorize_as(
        ctx,
        "conformance-no-such-client",
        &web.redirect_uris[0],
        &pkce,
        Some("s"),
    );
    let r = ctx.send(Req::get(path)).await?;
    error_page(ctx, &r)
}

async fn unregistered_redirect_page(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let pkce = flows::pkce(ctx);
    let registered = &web.redirect_uris[0];
    // Near misses of the registered URI, named by what was changed so that the transcript
    // is the same whatever the deployment registered.
    let upper = registered.to_ascii_uppercase();
    let other_host = with_another_host(registered);
    ctx.redactor
        .register_identity(&upper, "[redirect-uri, upper-cased]");
    ctx.redactor
        .register_identity(&other_host, "[redirect-uri, another host]");
    for bad in [
        format!("{registered}/extra"),
        format!("{registered}/"),
        upper,
        other_host,
        "https://attacker.example/cb".to_owned(),
    ] {
        let path = authorize_as(ctx, &web.client_id, &bad, &pkce, Some("s"));
        let r = ctx.send(Req::get(path)).await?;
        error_page(ctx, &r)?;
    }
    Ok(())
}

async fn plain_or_missing(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let redirect = web.redirect_uris[0].clone();
    let state = flows::state(ctx);
    let verifier = "conformance-plain-verifier-0123456789-0123456789-abc";
    let plain = authorize_path(
        ctx,
        &[
            ("response_type", "code"),
            ("client_id", &web.client_id),
            ("redirect_uri", &redirect),
            ("code_challenge", verifier),
            ("code_challenge_method", "plain"),
            ("state", &state),
        ],
    );
    let r = ctx.send(Req::get(plain)).await?;
    error_redirect(ctx, &r, &redirect, "invalid_request", &state)?;
    let missing = authorize_path(
        ctx,
        &[
            ("response_type", "code"),
            ("client_id", &web.client_id),
            ("redirect_uri", &redirect),
            ("state", &state),
        ],
    );
    let r = ctx.send(Req::get(missing)).await?;
    error_redirect(ctx, &r, &redirect, "invalid_request", &state)?;
    // A challenge without a method means `plain` (RFC 7636 §4.3).
    let challenge = flows::s256(verifier);
    let no_method = authorize_path(
        ctx,
        &[
            ("response_type", "code"),
            ("client_id", &web.client_id),
            ("redirect_uri", &redirect),
            ("code_challenge", &challenge),
            ("state", &state),
        ],
    );
    let r = ctx.send(Req::get(no_method)).await?;
    error_redirect(ctx, &r, &redirect, "invalid_request", &state)
}

async fn short_verifier(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    // Too short, too long, and of the right length with characters outside the set.
    for verifier in [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+/=", "a".repeat(60)),
    ] {
        let challenge = flows::s256(&verifier);
        let pkce = Pkce {
            verifier: verifier.clone(),
            challenge,
        };
        let code = flows::authorize_code(ctx, &web, &pkce, None).await?;
        let r = redeem(ctx, &web, &code, &web.redirect_uris[0], &verifier).await?;
        ctx.error(&r, "invalid_request").map_err(|_| {
            r.fail(format!(
                "a code_verifier of {} characters ({:?}…) answered {} {}",
                verifier.len(),
                &verifier[..8],
                r.status(),
                r.body()
            ))
        })?;
    }
    Ok(())
}

async fn bound_to_challenge(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let pkce = flows::pkce(ctx);
    let other = flows::pkce(ctx);
    let code = flows::authorize_code(ctx, &web, &pkce, None).await?;
    let r = redeem(ctx, &web, &code, &web.redirect_uris[0], &other.verifier).await?;
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}

async fn bound_to_client_and_redirect(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let pkce = flows::pkce(ctx);
    let code = flows::authorize_code(ctx, &web, &pkce, None).await?;
    let other_redirect = format!("{}-other", web.redirect_uris[0]);
    let r = redeem(ctx, &web, &code, &other_redirect, &pkce.verifier).await?;
    ctx.error(&r, "invalid_grant")?;
    let pkce = flows::pkce(ctx);
    let code = flows::authorize_code(ctx, &web, &pkce, None).await?;
    // Another client every credentials file has (the device app), so the transcript is
    // the same for every deployment.
    let other = roles(ctx)?.tv.clone();
    let r = redeem(ctx, &other, &code, &web.redirect_uris[0], &pkce.verifier).await?;
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}

async fn code_expires(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let early = flows::pkce(ctx);
    let late = flows::pkce(ctx);
    // Both codes are issued between these readings of the target's clock.
    let issued_no_earlier = time::now(ctx).await?;
    let early_code = flows::authorize_code(ctx, &web, &early, None).await?;
    let late_code = flows::authorize_code(ctx, &web, &late, None).await?;
    let life = time::Lifetime {
        issued_no_earlier,
        issued_no_later: time::now(ctx).await?,
        secs: ctx.env.profile.lifetimes.authorization_code,
        what: "code",
    };
    let lifetime = life.secs;
    life.to_just_before_its_end(ctx).await?;
    let r = redeem(
        ctx,
        &web,
        &early_code,
        &web.redirect_uris[0],
        &early.verifier,
    )
    .await?;
    if r.status() != 200 {
        life.landed_before_its_end(ctx, "the redemption").await?;
    }
    ensure!(
        r.status() == 200,
        r,
        "one second before its {lifetime} s lifetime ends, the code is refused with {}",
        r.status()
    );
    life.to_just_after_its_end(ctx).await?;
    let r = redeem(ctx, &web, &late_code, &web.redirect_uris[0], &late.verifier).await?;
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}

async fn second_redemption(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let pkce = flows::pkce(ctx);
    let code = flows::authorize_code(ctx, &web, &pkce, None).await?;
    let r = redeem(ctx, &web, &code, &web.redirect_uris[0], &pkce.verifier).await?;
    let body = ctx.ok_json(&r)?;
    let t = flows::Tokens::from(&r, &body)?;
    let r = redeem(ctx, &web, &code, &web.redirect_uris[0], &pkce.verifier).await?;
    ctx.error(&r, "invalid_grant")?;
    let r = flows::me(ctx, &t.access).await?;
    ctx.error(&r, "invalid_token")
        .map_err(|_| r.fail("the access token issued from a twice-redeemed code still works"))?;
    let r = flows::refresh_at_token(ctx, &web, &t.refresh, None).await?;
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}

/// The URI with another name for its host (loopback's other spelling, else a sibling
/// host), never the URI itself.
fn with_another_host(uri: &str) -> String {
    let Ok(mut url) = url::Url::parse(uri) else {
        return format!("{uri}.invalid");
    };
    let host = url.host_str().unwrap_or("").to_owned();
    let other = match host.as_str() {
        "127.0.0.1" => "localhost".to_owned(),
        "localhost" => "127.0.0.1".to_owned(),
        h => format!("other-{h}"),
    };
    if url.set_host(Some(&other)).is_err() {
        return format!("{uri}.invalid");
    }
    url.to_string()
}
