//! Punchplay's OAuth endpoints: `oauth/token` (PP-TOKEN-*) and `auth/refresh`
//! (PP-REFRESH-1) as the kernel's token endpoint with punchplay's grants, how its OAuth
//! bodies read (PP-TOKEN-4, PP-TOKEN-5), and where its authorize errors and decisions send
//! the browser (PP-AUTHZ-3, PP-AUTHZ-4: with the request id).

use hyper::{Response, StatusCode};

use crate::core::Params;
use crate::core::authorization_code::{
    AuthorizationCodeGrant, AuthorizeError, ValidAuthorization, redirect_with,
};
use crate::core::client_auth::{BodyOrBasic, ClientCredentials};
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::fault::{FaultSpec, Shape};
use crate::core::refresh_token::RefreshTokenGrant;
use crate::core::token_endpoint::{GrantEndpoint, GrantTypeParam, Issues, Order};
use crate::http::consent::AuthorizeRedirects;
use crate::http::request::{RequestBody, parse_params, with_client_credentials};
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx};

/// `POST oauth/token`: the authorization code (PP-TOKEN-1) and the refresh token
/// (PP-REFRESH-1); `grant_type` required, looked at before the client (PP-TOKEN-3).
pub static TOKEN: GrantEndpoint = GrantEndpoint {
    handlers: &[&AuthorizationCodeGrant::RFC_6749, &RefreshTokenGrant],
    grant_type: GrantTypeParam::Required,
    order: Order::GrantTypeFirst,
    authenticator: &BodyOrBasic,
    issues: Issues::TokenPair,
};

/// `POST auth/refresh`: the refresh token only; an optional `grant_type` must say
/// `refresh_token` (PP-REFRESH-1).
pub static REFRESH: GrantEndpoint = GrantEndpoint {
    handlers: &[&RefreshTokenGrant],
    grant_type: GrantTypeParam::Optional,
    ..TOKEN
};

/// An OAuth body's parameters and client credentials: a form or JSON (PP-TOKEN-4), HTTP
/// Basic or the body (PP-TOKEN-5).
pub(crate) fn oauth_credentials(
    headers: &hyper::HeaderMap,
    bytes: &[u8],
) -> ProtocolResult<(Params, ClientCredentials)> {
    let params = parse_params(headers, bytes)?;
    with_client_credentials(headers, params)
}

/// Reads an OAuth endpoint's body and client credentials (the shell's parse when a limit
/// keyed by client made one).
pub(crate) async fn oauth_input(
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

/// The endpoints that answer a token pair share one shape: read the body (the shell has
/// counted the request under its limit already, PP-RATE-1), answer the failure mode if
/// one is on, then serve the grant. Their answers are never cached (PP-TOKEN-4, RFC 6749
/// §5.1, §5.2).
pub(crate) async fn token_pair_endpoint(
    app: &App,
    ctx: &Ctx,
    body: RequestBody,
    endpoint: &GrantEndpoint,
) -> ProtocolResult<Response<Body>> {
    let input = oauth_input(app, ctx, body).await;
    if let Err(e) = app.core.check_failure_mode() {
        return Ok(respond::no_store(app.error_response(&e, ctx)));
    }
    let (params, creds) = input?;
    Ok(respond::no_store(
        match app.core.serve_grant(endpoint, &params, &creds) {
            Ok(pair) => respond::json(StatusCode::OK, &pair),
            Err(e) => app.error_response(&e, ctx),
        },
    ))
}

/// `POST oauth/token` (PP-TOKEN-*).
pub async fn token(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    token_pair_endpoint(app, ctx, body, &TOKEN).await
}

/// `POST auth/refresh` (PP-REFRESH-1).
pub async fn refresh(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    token_pair_endpoint(app, ctx, body, &REFRESH).await
}

/// Punchplay's redirects: an error redirect carries `error`, `state` (if sent) and the
/// request id (PP-AUTHZ-4); a denial is `access_denied` (PP-AUTHZ-4); an approval the
/// kernel's code redirect (PP-AUTHZ-3).
pub struct Redirects;

impl AuthorizeRedirects for Redirects {
    fn error_location(&self, _app: &App, ctx: &Ctx, err: &AuthorizeError) -> Option<String> {
        let AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        } = err
        else {
            return None;
        };
        Some(error_location(
            redirect_uri,
            error,
            state.as_deref(),
            ctx.request_id(),
        ))
    }

    fn decision_location(
        &self,
        app: &App,
        ctx: &Ctx,
        user: &str,
        request: &ValidAuthorization,
        approve: bool,
    ) -> String {
        if approve {
            return app.core.issue_code(user, request);
        }
        let denied = ProtocolError::new(
            crate::core::error::ErrorCode::AccessDenied,
            "The user denied the request.",
        );
        error_location(
            &request.redirect_uri,
            &denied,
            request.state.as_deref(),
            ctx.request_id(),
        )
    }
}

/// `error`, `state` (if sent) and `request_id` on the client's redirect URI (PP-AUTHZ-4).
fn error_location(
    redirect_uri: &str,
    error: &ProtocolError,
    state: Option<&str>,
    request_id: &str,
) -> String {
    let mut params = vec![("error", error.code.as_str())];
    if let Some(state) = state {
        params.push(("state", state));
    }
    params.push(("request_id", request_id));
    redirect_with(redirect_uri, &params)
}

pub static ERROR_REDIRECT_WITHOUT_REQUEST_ID: FaultSpec = FaultSpec::shaping(
    "error_redirect_without_request_id",
    "PP-AUTHZ-4",
    "error redirects leave out `request_id`",
    Shape::ErrorRedirectWithoutRequestId,
);
