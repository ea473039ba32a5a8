//! The flexslot family (seed 004, FX-*) as a rule pack: a strict RFC 6749/6750/7009/7662
//! authorization server. Its routes, declared once in [`ROUTES`]: `/authorize` (the
//! shared sign-in and consent pages, with its own redirects), `/token`, `/revoke`,
//! `/introspect`, the resource `GET /api/public/v1/me`, the RFC 8414 metadata, `/login`
//! and `/logout`. Its grants are the kernel's, served in its order with its client
//! authentication (HTTP Basic only); it keeps no tables of its own. Its faults, the
//! kernel's it accepts included, are [`FAULTS`]; its two error layers and challenges are
//! `envelope.rs`; its test control `controls.rs`.

mod authorization_code;
mod client_auth;
mod controls;
mod envelope;
mod introspection;
mod resource;
mod revocation;
mod token;

use hyper::Response;

use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::fault::{Bends, FaultSpec};
use crate::core::{
    authorization_code as code, client_auth as kernel_auth, grants, pkce, refresh_token, scope,
    token_endpoint,
};
use crate::http::consent::{self, AuthorizeRedirects};
use crate::http::fault_layer::ShapeFacts;
use crate::http::pack::RulePack;
use crate::http::request::OAuthInput;
use crate::http::respond::Body;
use crate::http::routes::RoutePath::{Endpoint, Root};
use crate::http::routes::body;
use crate::http::routes::{ClientSource, Layer, Route, Serve};
use crate::http::{App, Ctx, pages, sign_in};

/// Flexslot as the shell serves it.
pub struct Flexslot;

/// Every route, once (CONTRACT.md, profile `flexslot`).
static ROUTES: &[Route] = &[
    Route::get(Root, Serve::Head(pages::index_page))
        .layer(envelope::OAUTH)
        .doc("the index page"),
    Route::get(Endpoint("metadata"), Serve::Head(token::metadata))
        .layer(envelope::OAUTH)
        .index("Authorization server metadata (RFC 8414)")
        .doc("RFC 8414 authorization server metadata"),
    Route::get(Endpoint("authorize"), Serve::Head(consent::authorize_page))
        .layer(envelope::OAUTH)
        .shows_forms()
        .shape(ShapeFacts::CLIENT_REDIRECT)
        .doc("authorization request: sign-in, then consent (FX-AUTHZ-1, FX-AUTHZ-2)"),
    Route::post(
        Endpoint("authorize"),
        Serve::Form(consent::authorize_decision),
    )
    .layer(envelope::OAUTH)
    .shape(ShapeFacts::CLIENT_REDIRECT)
    .doc("the consent form's Approve or Deny (FX-AUTHZ-1)"),
    Route::post(Endpoint("token"), body!(token::token))
        .layer(envelope::OAUTH)
        .client(ClientSource::OAuthBody)
        .shape(ShapeFacts::GRANT_ENDPOINT)
        .doc("token endpoint: authorization code, refresh token (FX-TOKEN-1..8)"),
    Route::post(Endpoint("revoke"), body!(revocation::revoke))
        .layer(envelope::OAUTH)
        .client(ClientSource::OAuthBody)
        .doc("RFC 7009 revocation (FX-REVOKE-1)"),
    Route::post(Endpoint("introspect"), body!(introspection::introspect))
        .layer(envelope::OAUTH)
        .client(ClientSource::OAuthBody)
        .doc("RFC 7662 introspection (FX-INTRO-1)"),
    Route::get(Endpoint("login"), Serve::Head(sign_in::login_page))
        .layer(envelope::OAUTH)
        .shows_forms()
        .doc("the sign-in form"),
    Route::post(Endpoint("login"), Serve::Form(sign_in::login))
        .layer(envelope::OAUTH)
        .doc("sign in"),
    Route::post(Endpoint("logout"), Serve::Form(sign_in::logout))
        .layer(envelope::OAUTH)
        .doc("sign out"),
    Route::get(Endpoint("me"), Serve::Head(resource::me))
        .layer(envelope::RESOURCE)
        .client(ClientSource::Bearer)
        .doc("the protected resource, scope `profile` (FX-RS-1)"),
];

/// The faults a flexslot server switches on, in the order `GET /__test/fault` lists them.
static FAULTS: &[&FaultSpec] = &[
    &client_auth::FX_BODY_CREDENTIALS_ACCEPTED,
    &client_auth::FX_BASIC_CHALLENGE_MISSING,
    &authorization_code::FX_CODE_OUTLIVES_60S,
    &authorization_code::FX_REDIRECT_URI_MISMATCH_ACCEPTED,
    &token::FX_JSON_BODY_ACCEPTED,
    &token::FX_GRANT_TYPES_IGNORED,
    &token::FX_UNKNOWN_SCOPE_GRANTED,
    &revocation::FX_REVOKE_UNKNOWN_400,
    &introspection::FX_REVOKED_TOKEN_ACTIVE,
    &authorization_code::FX_ERROR_STATE_DROPPED,
    &resource::FX_BEARER_CHALLENGE_MISSING,
    &kernel_auth::SECRET_NOT_CHECKED,
    &kernel_auth::INACTIVE_APP_ALLOWED,
    &code::OPEN_REDIRECT,
    &pkce::PLAIN_PKCE_ACCEPTED,
    &pkce::VERIFIER_IGNORED,
    &code::CODE_REUSABLE,
    &token_endpoint::NO_STORE_MISSING,
    &token_endpoint::WRONG_GRANT_TYPE_ERROR,
    &refresh_token::REPLAY_NOT_REVOKING,
    &refresh_token::REFRESH_RACE,
    &grants::EXPIRED_TOKEN_ACCEPTED,
    &scope::SCOPE_CHECK_SKIPPED,
];

impl RulePack for Flexslot {
    fn name(&self) -> &'static str {
        "flexslot"
    }

    fn app_grant_types(&self) -> &'static [&'static str] {
        token::GRANT_TYPES
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn faults(&self) -> &'static [&'static FaultSpec] {
        FAULTS
    }

    fn unrouted_layer(&self) -> Layer {
        envelope::OAUTH
    }

    /// An unknown route, or a known path with another method: 404 `not_found`.
    fn unrouted(
        &self,
        _app: &App,
        ctx: &Ctx,
        _allow: Option<&str>,
    ) -> ProtocolResult<Response<Body>> {
        Err(ProtocolError::not_found(format!(
            "There is no route {} {}. The endpoints are listed in /.well-known/oauth-authorization-server.",
            ctx.method,
            ctx.path()
        )))
    }

    /// The shell asks this only for a `client_and_ip` limit's key; the handlers parse
    /// again with the rules of the moment (`token::strict_input`).
    fn oauth_input(&self, headers: &hyper::HeaderMap, body: &[u8]) -> ProtocolResult<OAuthInput> {
        token::parse_strict_input(Bends::NONE, headers, body)
    }

    fn error_body(&self, layer: Layer, error: &ProtocolError, request_id: &str) -> Vec<u8> {
        envelope::error_body(layer, error, request_id)
    }

    fn challenge(&self, layer: Layer, error: &ProtocolError) -> Option<String> {
        envelope::challenge(layer, error)
    }

    fn authorize_redirects(&self) -> Option<&'static dyn AuthorizeRedirects> {
        Some(&authorization_code::Redirects)
    }

    fn test_control(
        &self,
        app: &App,
        ctx: &Ctx,
        segments: &[&str],
        body: &[u8],
    ) -> Option<ProtocolResult<Response<Body>>> {
        controls::handle(app, ctx, segments, body)
    }
}
