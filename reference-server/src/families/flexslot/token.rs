//! Flexslot's `/token` (FX-TOKEN-1..8): the kernel's token endpoint with flexslot's order
//! (the client first, HTTP Basic only), its grants (its own authorization code grant,
//! `authorization_code.rs`, and the kernel's refresh token, whose replay revokes the
//! grant), the form body every strict endpoint requires (FX-TOKEN-1), the RFC 8414
//! metadata that lists them, and the rules these call with the faults that bend them.

use hyper::header::HeaderMap;
use hyper::{Response, StatusCode};

use super::authorization_code::STRICT_CODE_GRANT;
use super::client_auth::BasicOnly;
use crate::core::Mode;
use crate::core::error::{ErrorCode, ProtocolError, ProtocolResult};
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec};
use crate::core::refresh_token::RefreshTokenGrant;
use crate::core::registry::AppRecord;
use crate::core::scope::{ScopePolicy, ScopeSet};
use crate::core::token_endpoint::{GrantEndpoint, GrantTypeParam, GrantTypes, Issues, Order};
use crate::http::request::{
    OAuthInput, RequestBody, media_type, parse_form, parse_params, with_client_credentials,
};
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx};

/// The grant types a strict client may be configured for (FX-TOKEN-6 lists no others).
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token"];

/// The one media type a strict token, revocation or introspection request may have
/// (FX-TOKEN-1, RFC 6749 §4.1.3, RFC 7009 §2.1, RFC 7662 §2.1).
pub const FORM: &str = "application/x-www-form-urlencoded";

/// `POST /token`: the client authenticated first (FX-TOKEN-3), then `grant_type`
/// (missing: `invalid_request`; not served: `unsupported_grant_type`, FX-TOKEN-6), then
/// whether the client is configured for it (FX-TOKEN-5), then the grant.
pub static TOKEN: GrantEndpoint = GrantEndpoint {
    handlers: &[&STRICT_CODE_GRANT, &RefreshTokenGrant],
    grant_type: GrantTypeParam::Required,
    order: Order::ClientFirst,
    authenticator: &BasicOnly,
    issues: Issues::TokenPair,
};

/// What a strict endpoint's body may be (FX-TOKEN-1).
pub trait BodyTypes: Sync {
    /// Whether a body of `media_type` (lower case, no parameters) is read.
    fn accepts(&self, media_type: Option<&str>) -> bool {
        media_type == Some(FORM)
    }
}

/// FX-TOKEN-1 as written: forms only.
pub struct FormsOnly;

impl BodyTypes for FormsOnly {}

/// A strict endpoint's body and client credentials: a form (FX-TOKEN-1; the rule of the
/// moment decides, so a fault can widen it), HTTP Basic, and the body's `client_id` and
/// `client_secret` (which [`BasicOnly`] then judges, FX-TOKEN-3).
pub fn parse_strict_input(
    bends: Bends,
    headers: &HeaderMap,
    body: &[u8],
) -> ProtocolResult<OAuthInput> {
    let media = media_type(headers);
    if !bends
        .pick::<dyn BodyTypes>(&FormsOnly)
        .accepts(media.as_deref())
    {
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
pub async fn strict_input(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<OAuthInput> {
    let bytes = body
        .read(&ctx.headers, app.core.profile.http.max_body_bytes)
        .await?;
    parse_strict_input(app.core.bends(), &ctx.headers, &bytes)
}

/// Every answer of the OAuth endpoints, errors included, is not to be cached (RFC 6749
/// §5.1, §5.2).
pub fn answer_no_store(
    app: &App,
    ctx: &Ctx,
    answer: ProtocolResult<Response<Body>>,
) -> ProtocolResult<Response<Body>> {
    Ok(respond::no_store(
        answer.unwrap_or_else(|e| app.error_response(&e, ctx)),
    ))
}

/// The failure mode at the authorize and token endpoints: `server_error` (500) or
/// `temporarily_unavailable` (503), each with its own code (FX-AUTHZ-1, RFC 6749 §5.2).
pub fn failure_mode(app: &App) -> ProtocolResult<()> {
    match app.core.mode() {
        Mode::Normal => Ok(()),
        Mode::TemporarilyUnavailable => Err(ProtocolError::new(
            ErrorCode::TemporarilyUnavailable,
            "The authorization server is temporarily unavailable. Retry with backoff.",
        )),
        Mode::ServerError => Err(ProtocolError::new(
            ErrorCode::ServerError,
            "The authorization server failed. Retry with backoff.",
        )),
    }
}

/// `POST /token` (FX-TOKEN-1..8): the failure mode, the content type, then the kernel's
/// token endpoint in flexslot's order.
pub async fn token(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let answer = async {
        failure_mode(app)?;
        let (params, creds) = strict_input(app, ctx, body).await?;
        let pair = app.core.serve_grant(&TOKEN, &params, &creds)?;
        Ok(respond::json(StatusCode::OK, &pair))
    };
    answer_no_store(app, ctx, answer.await)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §2, §3): the issuer is this
/// server's origin as the client reached it (or `--public-url`).
pub fn metadata(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let p = &app.core.profile;
    let base = &ctx.base_url();
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
    Ok(respond::json(StatusCode::OK, &body))
}

/// `fx_json_body_accepted` (FX-TOKEN-1): JSON bodies are read as well as forms.
struct JsonAccepted;

impl BodyTypes for JsonAccepted {
    fn accepts(&self, media_type: Option<&str>) -> bool {
        matches!(media_type, Some(FORM | "application/json"))
    }
}

pub static FX_JSON_BODY_ACCEPTED: FaultSpec = FaultSpec::bending(
    "fx_json_body_accepted",
    "FX-TOKEN-1",
    "/token, /revoke and /introspect read a JSON body instead of refusing it with invalid_request",
    bends!(dyn BodyTypes = JsonAccepted),
);

/// `fx_grant_types_ignored` (FX-TOKEN-5): every client may use every grant (a wrapper of
/// the kernel's grant-type rule).
struct GrantTypesIgnored;

impl GrantTypes for GrantTypesIgnored {
    fn allows(&self, _app: &AppRecord, _grant_type: &str) -> bool {
        true
    }
}

pub static FX_GRANT_TYPES_IGNORED: FaultSpec = FaultSpec::bending(
    "fx_grant_types_ignored",
    "FX-TOKEN-5",
    "a client's configured grant types are not checked: a code-only client refreshes",
    bends!(dyn GrantTypes = GrantTypesIgnored),
);

/// `fx_unknown_scope_granted` (FX-TOKEN-7): a refresh drops the scopes it may not have
/// (and with none left keeps the grant's) instead of refusing them (a wrapper of the
/// kernel's scope rules).
struct UnknownScopeDropped;

impl ScopePolicy for UnknownScopeDropped {
    fn refresh(
        &self,
        requested: &[&str],
        granted: &ScopeSet,
        _allowed: &ScopeSet,
        known: &[String],
    ) -> ProtocolResult<ScopeSet> {
        let kept = ScopeSet::from_known(known, |s| requested.contains(&s) && granted.contains(s));
        Ok(if kept.iter().next().is_none() {
            granted.clone()
        } else {
            kept
        })
    }
}

pub static FX_UNKNOWN_SCOPE_GRANTED: FaultSpec = FaultSpec::bending(
    "fx_unknown_scope_granted",
    "FX-TOKEN-7",
    "a refresh asking for a scope unknown or outside the grant drops it instead of answering invalid_scope",
    bends!(dyn ScopePolicy = UnknownScopeDropped),
);
