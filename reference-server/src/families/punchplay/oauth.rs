//! The OAuth endpoints: authorize pages (PP-AUTHZ-*), token (PP-TOKEN-*), refresh
//! (PP-REFRESH-1), device code and `/activate` (PP-DEVICE-*).

use hyper::{Response, StatusCode};

use super::request::{
    RequestBody, parse_form, parse_params, query_params, with_client_credentials,
};
use super::respond::{self, Body};
use super::{App, Ctx, pages};
use crate::core::client_auth::ClientCredentials;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::grants::TokenPair;
use crate::core::{Core, Params};
use crate::http::consent;

/// Reads an OAuth endpoint's body and client credentials (PP-TOKEN-4, PP-TOKEN-5).
async fn oauth_input(
    app: &App,
    ctx: &Ctx,
    body: RequestBody,
) -> ProtocolResult<(Params, ClientCredentials)> {
    body.oauth_input(
        &ctx.headers,
        app.core.profile.http.max_body_bytes,
        oauth_credentials,
    )
    .await
}

/// An OAuth body's parameters and client credentials, from the body and HTTP Basic.
pub(crate) fn oauth_credentials(
    headers: &hyper::HeaderMap,
    bytes: &[u8],
) -> ProtocolResult<(Params, ClientCredentials)> {
    let params = parse_params(headers, bytes)?;
    with_client_credentials(headers, params)
}

fn token_response(pair: &impl serde::Serialize) -> Response<Body> {
    respond::no_store(respond::json(StatusCode::OK, pair))
}

/// Error responses of the token endpoints are not cacheable either (RFC 6749 §5.2).
fn no_store_error(app: &App, ctx: &Ctx, e: ProtocolError) -> Response<Body> {
    respond::no_store(app.error_response(&e, ctx))
}

/// The endpoints that answer a token pair share one shape: read the body (the shell has
/// counted the request under its limit already, PP-RATE-1), answer the failure mode if
/// one is on, then apply the grant's rule. Their answers are never cached (PP-TOKEN-4,
/// RFC 6749 §5.1, §5.2).
async fn token_pair_endpoint(
    app: &App,
    ctx: &Ctx,
    body: RequestBody,
    grant: impl FnOnce(&Core, &Params, &ClientCredentials) -> ProtocolResult<TokenPair>,
) -> ProtocolResult<Response<Body>> {
    let input = oauth_input(app, ctx, body).await;
    if let Err(e) = app.core.check_failure_mode() {
        return Ok(no_store_error(app, ctx, e));
    }
    let (params, creds) = input?;
    match grant(&app.core, &params, &creds) {
        Ok(pair) => Ok(token_response(&pair)),
        Err(e) => Ok(no_store_error(app, ctx, e)),
    }
}

/// `POST oauth/token` (PP-TOKEN-*), (PP-RATE-1 limits it in the shell).
pub async fn token(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    token_pair_endpoint(app, ctx, body, Core::token_endpoint).await
}

/// `POST auth/refresh` (PP-REFRESH-1).
pub async fn refresh(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    token_pair_endpoint(app, ctx, body, Core::refresh_endpoint).await
}

/// `POST auth/device/code` (PP-DEVICE-1, PP-DEVICE-2).
pub async fn device_code(
    app: &App,
    ctx: &Ctx,
    body: RequestBody,
) -> ProtocolResult<Response<Body>> {
    let input = oauth_input(app, ctx, body).await;
    app.core.check_failure_mode()?;
    let (params, creds) = input?;
    let start = app.core.start_device(&params, &creds)?;
    let verification_uri = format!("{}{}", ctx.base_url, app.core.profile.path("activate"));
    let complete = format!(
        "{verification_uri}?user_code={}",
        url::form_urlencoded::byte_serialize(start.user_code.as_bytes()).collect::<String>()
    );
    // PP-DEVICE-2: the QR code decodes to verification_uri_complete.
    let qr = super::qr::png_data_uri(&complete).map_err(|_| {
        ProtocolError::new(
            crate::core::error::ErrorCode::ServerError,
            "The QR code could not be drawn.",
        )
    })?;
    let body = serde_json::json!({
        "device_code": start.device_code,
        "user_code": start.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "verification_uri_qr": qr,
        "expires_in": start.expires_in,
        "interval": start.interval,
        "scope": start.scope,
    });
    Ok(respond::no_store(respond::json(StatusCode::OK, &body)))
}

/// `POST auth/device/token` (PP-DEVICE-3).
pub async fn device_token(
    app: &App,
    ctx: &Ctx,
    body: RequestBody,
) -> ProtocolResult<Response<Body>> {
    token_pair_endpoint(app, ctx, body, Core::poll_device).await
}

/// `GET /oauth/authorize` (PP-AUTHZ-1, PP-AUTHZ-2): errors redirect with `request_id`
/// (PP-AUTHZ-4) or show the page (PP-AUTHZ-5).
pub fn authorize_page(app: &App, ctx: &Ctx) -> Response<Body> {
    consent::authorize_page(app, ctx, |err| err.location(&ctx.request_id, false))
}

/// `POST /oauth/authorize`: the approval form (PP-AUTHZ-2, PP-AUTHZ-3, PP-AUTHZ-4).
pub fn authorize_decision(app: &App, ctx: &Ctx, body: &[u8]) -> ProtocolResult<Response<Body>> {
    consent::authorize_decision(app, ctx, body, |user, request, approve| {
        app.core
            .decide_authorization(user, request, approve, &ctx.request_id)
    })
}

/// `GET /activate` (PP-DEVICE-5).
pub fn activate_page(app: &App, ctx: &Ctx) -> Response<Body> {
    let here = match &ctx.query {
        Some(q) => format!("{}?{q}", ctx.path),
        None => ctx.path.clone(),
    };
    let Some((_, user)) = app.session(ctx) else {
        return respond::html(
            StatusCode::OK,
            pages::login_form(app, ctx.csrf.for_form(), &here, None),
        );
    };
    let params = query_params(ctx.query.as_deref());
    match params.get("user_code").filter(|c| !c.trim().is_empty()) {
        None => respond::html(
            StatusCode::OK,
            pages::activate_enter_code(app, ctx.csrf.for_form(), &user, None),
        ),
        Some(code) => match app.core.device_for_page(code) {
            Ok(device) => respond::html(
                StatusCode::OK,
                pages::activate_confirm(app, ctx.csrf.for_form(), &user, &device),
            ),
            Err(e) => respond::html(
                StatusCode::NOT_FOUND,
                pages::activate_enter_code(app, ctx.csrf.for_form(), &user, Some(&e.message)),
            ),
        },
    }
}

/// `POST /activate`: approve or deny a device code (PP-DEVICE-3, PP-DEVICE-4).
pub fn activate_decision(app: &App, ctx: &Ctx, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let form = parse_form(body)?;
    let Some((_, user)) = app.session(ctx) else {
        return Ok(respond::html(
            StatusCode::OK,
            pages::login_form(
                app,
                ctx.csrf.for_form(),
                app.core.profile.path("activate"),
                None,
            ),
        ));
    };
    let code = form
        .get("user_code")
        .map(String::as_str)
        .unwrap_or_default();
    let approve = form.get("decision").map(String::as_str) == Some("approve");
    match app.core.decide_device(code, &user, approve) {
        Ok(code) => Ok(respond::html(
            StatusCode::OK,
            pages::activate_done(app, &code, approve),
        )),
        Err(e) => Ok(respond::html(
            StatusCode::NOT_FOUND,
            pages::activate_enter_code(app, ctx.csrf.for_form(), &user, Some(&e.message)),
        )),
    }
}
