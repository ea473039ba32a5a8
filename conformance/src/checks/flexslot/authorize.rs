//! FX-AUTHZ: the authorization endpoint's errors. Every error a client can be told about
//! goes back to its redirect URI with `error` and `state` (RFC 6749 §4.1.2.1,
//! FX-AUTHZ-1); an unknown client or a redirect URI that is not registered exactly gets
//! a 400 HTML page and never a redirect (FX-AUTHZ-2, RFC 6749 §4.1.2.1 first paragraph).

use super::{
    FxRoles, codeonly_or_skip, decide, error_redirect, restore_grant_types, roles, set_grant_types,
    spa_or_skip,
};
use crate::check::{Check, Ctx};
use crate::client::{Req, Resp};
use crate::kit::redirect::Redirect;
use crate::kit::{controls, flows};
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "FX-AUTHZ-1/missing-code-challenge-redirects-invalid-request",
            "An authorize request without code_challenge redirects with invalid_request and state",
            run!(missing_challenge),
        ),
        Check::new(
            "FX-AUTHZ-1/plain-challenge-method-redirects-invalid-request",
            "code_challenge_method=plain redirects with invalid_request and state (S256 only)",
            run!(plain_method),
        ),
        Check::new(
            "FX-AUTHZ-1/challenge-without-method-redirects-invalid-request",
            "A code_challenge without code_challenge_method redirects with invalid_request and state (S256 named, never plain by default)",
            run!(challenge_without_method),
        ),
        Check::new(
            "FX-AUTHZ-1/missing-response-type-redirects-invalid-request",
            "An authorize request without response_type redirects with invalid_request and state",
            run!(missing_response_type),
        ),
        Check::new(
            "FX-AUTHZ-1/response-type-token-redirects-unsupported-response-type",
            "response_type=token redirects with unsupported_response_type and state",
            run!(response_type_token),
        ),
        Check::new(
            "FX-AUTHZ-1/scope-not-allowed-redirects-invalid-scope",
            "A scope unknown or not allowed to the client redirects with invalid_scope and state",
            run!(invalid_scope),
        ),
        Check::new(
            "FX-AUTHZ-1/request-without-scope-gets-a-default-or-invalid-scope",
            "An approved authorize request without scope is served with a default scope or refused with invalid_scope and state (RFC 6749 §3.3), nothing else",
            run!(without_scope),
        ),
        Check::new(
            "FX-AUTHZ-1/deny-redirects-access-denied",
            "The user clicking Deny redirects with access_denied and state",
            run!(denied),
        ),
        Check::new(
            "FX-AUTHZ-1/client-without-the-code-grant-redirects-unauthorized-client",
            "A client not configured for authorization_code redirects with unauthorized_client",
            run!(unauthorized_client),
        )
        .needs_test_controls("to change a client's grant types (partner admin)")
        .exclusive(),
        Check::new(
            "FX-AUTHZ-1/server-failures-redirect-server-error-and-temporarily-unavailable",
            "A failing or overloaded server redirects with server_error or temporarily_unavailable",
            run!(failures),
        )
        .needs_test_controls("to make the server fail on purpose")
        .exclusive(),
        Check::new(
            "FX-AUTHZ-2/unknown-client-gets-a-400-page",
            "An unknown client_id gets a 400 HTML error page, never a redirect",
            run!(unknown_client),
        ),
        Check::new(
            "FX-AUTHZ-2/redirect-uri-differing-by-a-byte-gets-a-400-page",
            "A redirect_uri not registered exactly (one byte more, another case) gets a 400 HTML page",
            run!(unregistered_redirect),
        ),
    ]
}

/// The web app's authorize request with `params` (in order), `state` last: the answer
/// must be an error redirect with `error`.
async fn redirects_with(
    ctx: &mut Ctx,
    app: &profile::App,
    params: &[(&str, &str)],
    error: &str,
) -> CheckResult {
    let state = flows::state(ctx);
    let redirect = flows::redirect_of(app);
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.push(("state", &state));
    let path = flows::authorize_path(ctx, &all);
    let r = ctx.send(Req::get(path)).await?;
    error_redirect(&r, &redirect, error, &state)
}

/// The web app's code request with the PKCE parameters `pkce` makes of a fresh pair
/// (none, a plain challenge, a challenge without its method): invalid_request.
async fn pkce_refused(
    ctx: &mut Ctx,
    pkce: impl Fn(&flows::Pkce) -> Vec<(&'static str, String)>,
) -> CheckResult {
    let web = roles(ctx)?.web;
    let redirect = flows::redirect_of(&web);
    let pair = flows::pkce(ctx);
    let extra = pkce(&pair);
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", web.client_id.as_str()),
        ("redirect_uri", redirect.as_str()),
    ];
    params.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
    redirects_with(ctx, &web, &params, "invalid_request").await
}

async fn missing_challenge(ctx: &mut Ctx) -> CheckResult {
    pkce_refused(ctx, |_| Vec::new()).await
}

async fn plain_method(ctx: &mut Ctx) -> CheckResult {
    // RFC 7636 §4.2: with plain the challenge is the verifier itself.
    pkce_refused(ctx, |p| {
        vec![
            ("code_challenge", p.verifier.clone()),
            ("code_challenge_method", "plain".into()),
        ]
    })
    .await
}

/// FX-AUTHZ-1 names a missing `code_challenge_method` invalid_request: Flexslot takes
/// S256 only, so a server that reads a challenge without a method as `plain` (RFC 7636
/// §4.3's default) accepts what the contract refuses.
async fn challenge_without_method(ctx: &mut Ctx) -> CheckResult {
    pkce_refused(ctx, |p| vec![("code_challenge", p.challenge.clone())]).await
}

async fn bad_response_type(ctx: &mut Ctx, response_type: Option<&str>, error: &str) -> CheckResult {
    let web = roles(ctx)?.web;
    let redirect = flows::redirect_of(&web);
    let pkce = flows::pkce(ctx);
    let mut params = Vec::new();
    if let Some(rt) = response_type {
        params.push(("response_type", rt));
    }
    params.extend([
        ("client_id", web.client_id.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    redirects_with(ctx, &web, &params, error).await
}

async fn missing_response_type(ctx: &mut Ctx) -> CheckResult {
    bad_response_type(ctx, None, "invalid_request").await
}

async fn response_type_token(ctx: &mut Ctx) -> CheckResult {
    bad_response_type(ctx, Some("token"), "unsupported_response_type").await
}

async fn invalid_scope(ctx: &mut Ctx) -> CheckResult {
    let r = roles(ctx)?;
    // The narrowest app the credentials have: a scope the profile knows that it is not
    // allowed, else a scope nobody knows.
    let app = r
        .spa
        .clone()
        .filter(|a| {
            ctx.profile()
                .scopes
                .known
                .iter()
                .any(|s| !a.allowed_scopes.contains(s))
        })
        .unwrap_or_else(|| r.web.clone());
    let not_allowed = ctx
        .profile()
        .scopes
        .known
        .iter()
        .find(|s| !app.allowed_scopes.contains(s))
        .cloned()
        .unwrap_or_else(|| "conformance-unknown-scope".to_owned());
    for scope in [not_allowed.as_str(), "conformance-unknown-scope"] {
        let pkce = flows::pkce(ctx);
        let st = flows::state(ctx);
        let path = flows::standard_authorize(ctx, &app, &pkce, Some(scope), Some(&st));
        let resp = ctx.send(Req::get(path)).await?;
        error_redirect(&resp, &flows::redirect_of(&app), "invalid_scope", &st)?;
    }
    Ok(())
}

/// How a server answered an approved authorize request without `scope`.
#[derive(Debug, PartialEq, Eq)]
enum WithoutScope {
    /// A code: the request was served with the server's default scope.
    Default,
    /// `invalid_scope`: the server asks the client to name the scope it wants.
    Refused,
}

/// RFC 6749 §3.3 lets a server serve a request without `scope` with a default or refuse
/// it with `invalid_scope`; anything else (an `access_denied`, another error, no `state`)
/// fails FX-AUTHZ-1.
fn without_scope_answer(
    a: &Redirect,
    redirect_uri: &str,
    state: &str,
) -> Result<WithoutScope, String> {
    if a.param("error").is_none() && a.param("code").is_some() && a.base == redirect_uri {
        return if a.param("state") == Some(state) {
            Ok(WithoutScope::Default)
        } else {
            Err(format!(
                "FX-AUTHZ-1: the approval redirect does not echo `state` (got {:?})",
                a.param("state")
            ))
        };
    }
    match a.error_says("FX-AUTHZ-1", redirect_uri, "invalid_scope", state) {
        Ok(()) => Ok(WithoutScope::Refused),
        Err(why) => Err(format!(
            "FX-AUTHZ-1: an approved request without `scope` must be served with a default scope or refused with invalid_scope (RFC 6749 §3.3); {why}"
        )),
    }
}

async fn without_scope(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let pkce = flows::pkce(ctx);
    let st = flows::state(ctx);
    let path = flows::standard_authorize(ctx, &web, &pkce, None, Some(&st));
    let a = decide(ctx, &path, true).await?;
    without_scope_answer(&a, &flows::redirect_of(&web), &st).map_err(Problem::fail)?;
    // One line whichever the server chose: both are the contract's.
    ctx.note("approved without `scope`: served with a default scope or refused with invalid_scope");
    Ok(())
}

async fn denied(ctx: &mut Ctx) -> CheckResult {
    let r = roles(ctx)?;
    let app = r.spa.clone().unwrap_or_else(|| r.web.clone());
    let pkce = flows::pkce(ctx);
    let st = flows::state(ctx);
    let path = flows::approval_path(ctx, &app, &pkce, Some(&st));
    let a = decide(ctx, &path, false).await?;
    a.error_says(
        "FX-AUTHZ-1",
        &flows::redirect_of(&app),
        "access_denied",
        &st,
    )
    .map_err(Problem::fail)?;
    ctx.note("denied: redirect with error=access_denied and state");
    Ok(())
}

/// The code-only app is switched to refresh_token alone through the grant-types control
/// (partner admin), asked to authorize, and switched back.
async fn unauthorized_client(ctx: &mut Ctx) -> CheckResult {
    let r = roles(ctx)?;
    let app = codeonly_or_skip(&r).or_else(|_| spa_or_skip(&r))?;
    set_grant_types(ctx, &app, &["refresh_token"]).await?;
    let result = async {
        let pkce = flows::pkce(ctx);
        let st = flows::state(ctx);
        let path = flows::standard_authorize(ctx, &app, &pkce, None, Some(&st));
        let resp = ctx.send(Req::get(path)).await?;
        // Judged only where a client's configured grants are honoured (FX-TOKEN-5).
        error_redirect(&resp, &flows::redirect_of(&app), "unauthorized_client", &st)
            .map_err(|p| p.presuming("FX-TOKEN-5"))
    }
    .await;
    restore_grant_types(ctx, &app).await?;
    result
}

async fn failures(ctx: &mut Ctx) -> CheckResult {
    let r = roles(ctx)?;
    for mode in ["server_error", "temporarily_unavailable"] {
        controls::set_mode(ctx, mode).await?;
        let result = fails_with(ctx, &r, mode).await;
        controls::set_mode(ctx, "normal").await?;
        result?;
    }
    Ok(())
}

async fn fails_with(ctx: &mut Ctx, r: &FxRoles, error: &str) -> CheckResult {
    let pkce = flows::pkce(ctx);
    let st = flows::state(ctx);
    let path = flows::standard_authorize(ctx, &r.web, &pkce, None, Some(&st));
    let resp = ctx.send(Req::get(path)).await?;
    error_redirect(&resp, &flows::redirect_of(&r.web), error, &st)
}

/// A 400 HTML page that sends the browser nowhere (FX-AUTHZ-2).
fn error_page(r: &Resp) -> CheckResult {
    ensure!(
        r.header("location").is_none(),
        r,
        "FX-AUTHZ-2: the answer redirects to {:?} instead of showing an error page",
        r.header("location")
    );
    ensure!(
        r.status() == 400,
        r,
        "FX-AUTHZ-2: expected a 400 error page, got {}",
        r.status()
    );
    let ct = r.header("content-type").unwrap_or("");
    ensure!(
        ct.to_ascii_lowercase().starts_with("text/html"),
        r,
        "FX-AUTHZ-2: the error page's content type is {ct:?}, not text/html"
    );
    Ok(())
}

async fn unknown_client(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let pkce = flows::pkce(ctx);
    let redirect = flows::redirect_of(&web);
    let path = flows::authorize_as(
        ctx,
        "conformance-no-such-client",
        &redirect,
        &pkce,
        Some("s"),
    );
    let r = ctx.send(Req::get(path)).await?;
    error_page(&r)
}

async fn unregistered_redirect(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web;
    let registered = flows::redirect_of(&web);
    let upper = registered.to_ascii_uppercase();
    let longer = format!("{registered}x");
    // Named by what was changed, so the transcript is the same whatever was registered.
    ctx.redactor
        .register_identity(&upper, "[redirect-uri, upper-cased]");
    for bad in [longer, upper] {
        let pkce = flows::pkce(ctx);
        let path = flows::authorize_as(ctx, &web.client_id, &bad, &pkce, Some("s"));
        let r = ctx.send(Req::get(path)).await?;
        error_page(&r)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CB: &str = "http://127.0.0.1:8765/callback";

    fn answer(query: &str) -> Redirect {
        Redirect::read(
            url::Url::parse(&format!("{CB}?{query}")).expect("a URL"),
            false,
        )
    }

    #[test]
    fn without_scope_a_default_or_invalid_scope_passes_and_nothing_else() {
        assert_eq!(
            without_scope_answer(&answer("code=c&state=s"), CB, "s"),
            Ok(WithoutScope::Default)
        );
        assert_eq!(
            without_scope_answer(&answer("error=invalid_scope&state=s&iss=x"), CB, "s"),
            Ok(WithoutScope::Refused)
        );
        for bad in [
            "error=access_denied&state=s",
            "error=invalid_request&state=s",
            "error=invalid_scope",
            "code=c&state=other",
        ] {
            let why = without_scope_answer(&answer(bad), CB, "s").expect_err(bad);
            assert!(why.starts_with("FX-AUTHZ-1: "), "{bad}: {why}");
        }
    }
}
