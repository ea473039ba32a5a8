//! Flexslot's OAuth endpoints: `/authorize` with its sign-in and consent pages
//! (FX-AUTHZ-1, FX-AUTHZ-2), `/token` (FX-TOKEN-1..8), `/revoke` (FX-REVOKE-1),
//! `/introspect` (FX-INTRO-1) and the RFC 8414 metadata.

use hyper::{HeaderMap, Response, StatusCode};

use super::envelope::quotable;
use crate::core::authorization_code::{AuthorizeError, ValidAuthorization, redirect_with};
use crate::core::components::Components;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::strict_oauth::GRANT_TYPES;
use crate::core::strict_rules::FORM;
use crate::http::request::{
    OAuthInput, RequestBody, media_type, parse_form, parse_params, with_client_credentials,
};
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx, consent};

/// A strict endpoint's body and client credentials: a form (FX-TOKEN-1; the components
/// decide, so a fault can widen it), HTTP Basic, and the body's `client_id` and
/// `client_secret` (which `authenticate_basic_only` then judges, FX-TOKEN-3).
pub fn parse_strict_input(
    rules: &Components,
    headers: &HeaderMap,
    body: &[u8],
) -> ProtocolResult<OAuthInput> {
    let media = media_type(headers);
    if !rules.body_types.accepts(media.as_deref()) {
        return Err(ProtocolError::invalid_request(format!(
            "Send the body as {FORM} (RFC 6749 section 4.1.3)."
        )));
    }
    let params = match media.as_deref() {
        Some(FORM) => parse_form(body)?,
        _ => parse_params(headers, body)?,
    };
    with_client_credentials(headers, params)
}

/// The request's body, read within the profile's limit, parsed as [`parse_strict_input`].
async fn strict_input(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<OAuthInput> {
    let bytes = body
        .read(&ctx.headers, app.core.profile.http.max_body_bytes)
        .await?;
    parse_strict_input(&app.core.components(), &ctx.headers, &bytes)
}

/// Every answer of the OAuth endpoints, errors included, is not to be cached (RFC 6749
/// §5.1, §5.2).
fn answer_no_store(
    app: &App,
    ctx: &Ctx,
    answer: ProtocolResult<Response<Body>>,
) -> ProtocolResult<Response<Body>> {
    Ok(respond::no_store(
        answer.unwrap_or_else(|e| app.error_response(&e, ctx)),
    ))
}

/// `POST /token` (FX-TOKEN-1..8): the failure mode, the content type, then the core's
/// order (client, grant_type, the client's grant types, the grant).
pub async fn token(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let answer = async {
        app.core.strict_failure_mode()?;
        let (params, creds) = strict_input(app, ctx, body).await?;
        let pair = app.core.strict_token(&params, &creds)?;
        Ok(respond::json(StatusCode::OK, &pair))
    };
    answer_no_store(app, ctx, answer.await)
}

/// `POST /revoke` (RFC 7009; FX-REVOKE-1): 200 with an empty body for every token once
/// the client authenticated.
pub async fn revoke(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let answer = async {
        let (params, creds) = strict_input(app, ctx, body).await?;
        app.core.revoke_token(&params, &creds)?;
        let mut res = Response::new(respond::full(bytes::Bytes::new()));
        *res.status_mut() = StatusCode::OK;
        Ok(res)
    };
    answer_no_store(app, ctx, answer.await)
}

/// `POST /introspect` (RFC 7662; FX-INTRO-1).
pub async fn introspect(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let answer = async {
        let (params, creds) = strict_input(app, ctx, body).await?;
        let info = app.core.introspect(&params, &creds)?;
        Ok(respond::json(StatusCode::OK, &info))
    };
    answer_no_store(app, ctx, answer.await)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §2, §3): the issuer is this
/// server's origin as the client reached it (or `--public-url`).
pub fn metadata(app: &App, ctx: &Ctx) -> Response<Body> {
    let p = &app.core.profile;
    let base = &ctx.base_url;
    let url = |endpoint: &str| format!("{base}{}", p.path(endpoint));
    let auth_methods = ["client_secret_basic", "none"];
    let body = serde_json::json!({
        "issuer": base,
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("token"),
        "revocation_endpoint": url("revoke"),
        "introspection_endpoint": url("introspect"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANT_TYPES,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "scopes_supported": p.scopes.known,
    });
    respond::json(StatusCode::OK, &body)
}

/// An error redirect to the client (FX-AUTHZ-1, RFC 6749 §4.1.2.1): `error`,
/// `error_description` and `state` when the request had one; no request id.
pub fn error_location(redirect_uri: &str, state: Option<&str>, error: &ProtocolError) -> String {
    let description = quotable(&error.message);
    let mut params = vec![
        ("error", error.code.as_str()),
        ("error_description", description.as_str()),
    ];
    if let Some(state) = state {
        params.push(("state", state));
    }
    redirect_with(redirect_uri, &params)
}

/// Where an authorize error sends the browser: back to the client, or nowhere (FX-AUTHZ-2).
pub fn authorize_error_location(err: &AuthorizeError) -> Option<String> {
    match err {
        AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        } => Some(error_location(redirect_uri, state.as_deref(), error)),
        AuthorizeError::Page(_) => None,
    }
}

/// The user's decision as the browser's next location: the code (FX-AUTHZ-1 on
/// approval) or `access_denied`.
pub fn decision_location(
    app: &App,
    ctx: &Ctx,
    user: &str,
    request: &ValidAuthorization,
    approve: bool,
) -> String {
    if approve {
        return app
            .core
            .decide_authorization(user, request, true, &ctx.request_id);
    }
    let denied = ProtocolError::new(
        crate::core::error::ErrorCode::AccessDenied,
        "The user denied the request.",
    );
    error_location(&request.redirect_uri, request.state.as_deref(), &denied)
}

/// `GET /authorize`: the sign-in page for a signed-out user, then the consent page;
/// errors as [`authorize_error_location`] says.
pub fn authorize_page(app: &App, ctx: &Ctx) -> Response<Body> {
    consent::authorize_page(app, ctx, authorize_error_location)
}

/// `POST /authorize`: Approve or Deny on the consent page.
pub fn authorize_decision(app: &App, ctx: &Ctx, body: &[u8]) -> ProtocolResult<Response<Body>> {
    consent::authorize_decision(app, ctx, body, |user, request, approve| {
        decision_location(app, ctx, user, request, approve)
    })
}
