//! What a family is to the server: a rule pack (issue 20 item 2), the one trait through
//! which the shell and the kernel compose every family. A family module under
//! `crate::families` implements [`RulePack`]; the shell holds one and never names a family.

use hyper::{HeaderMap, Response};
use profile::{Identities, Profile};

use super::consent::AuthorizeRedirects;
use super::request::OAuthInput;
use super::respond::Body;
use super::routes::{Layer, Route};
use super::{App, Ctx};
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::family_state::FamilyState;
use crate::core::fault::FaultSpec;

/// `POST /__test/tokens`'s body: the app, the user (none for a client's own token) and
/// the scopes (the app's allowed scopes when left out).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
    pub client_id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// A family's rules, routes, state and faults.
pub trait RulePack: Send + Sync + 'static {
    /// The family's name, for messages: the profile's `family`.
    fn name(&self) -> &'static str;

    /// Its routes, each declared once (`http::routes`).
    fn routes(&self) -> &'static [Route];

    /// The faults that may be switched on while it runs, the kernel's it accepts included,
    /// in the order `GET /__test/fault` lists them.
    fn faults(&self) -> &'static [&'static FaultSpec];

    /// Its own tables, fresh from the fixtures: at start and on every reset.
    fn new_state(&self, _profile: &Profile, _identities: &Identities) -> Box<dyn FamilyState> {
        Box::new(())
    }

    /// The error layer of a request no route serves.
    fn unrouted_layer(&self) -> Layer {
        Layer::default()
    }

    /// What a request no route serves gets: `allow` names the methods of a path some
    /// route serves with another method. By default 404 `not_found` in the family's
    /// envelope, whatever the method.
    fn unrouted(
        &self,
        _app: &App,
        ctx: &Ctx,
        _allow: Option<&str>,
    ) -> ProtocolResult<Response<Body>> {
        Err(ProtocolError::not_found(format!(
            "There is no route {} {}.",
            ctx.method,
            ctx.path()
        )))
    }

    /// An OAuth body (and its HTTP Basic header) parsed the family's way: the shell asks
    /// it for a `client_and_ip` limit's `client_id` and hands the parse on to the handler.
    fn oauth_input(&self, headers: &HeaderMap, body: &[u8]) -> ProtocolResult<OAuthInput>;

    /// The error body in the envelope of `layer`, as bytes.
    fn error_body(&self, layer: Layer, error: &ProtocolError, request_id: &str) -> Vec<u8>;

    /// The `WWW-Authenticate` challenge an error carries, if any (RFC 6750 §3, RFC 6749
    /// §5.2).
    fn challenge(&self, _layer: Layer, _error: &ProtocolError) -> Option<String> {
        None
    }

    /// Where its authorize errors and decisions send the browser, for a family with an
    /// authorization endpoint: the consent pages and `POST /__test/authorize/decide` ask it.
    fn authorize_redirects(&self) -> Option<&'static dyn AuthorizeRedirects> {
        None
    }

    /// What the consent page adds under its buttons (HTML): where access can be revoked
    /// later, for a family with such a page.
    fn consent_note(&self, _profile: &Profile) -> Option<String> {
        None
    }

    /// Where a sign-in without a `next` goes.
    fn home<'p>(&self, _profile: &'p Profile) -> &'p str {
        "/"
    }

    /// The grant types an app of the family may be configured for (`POST /__test/apps`,
    /// FX-TOKEN-5); none: its apps are not configured by grant type.
    fn app_grant_types(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the family has users who sign in and approve; a family without (client
    /// credentials only) refuses `POST /__test/users`.
    fn has_users(&self) -> bool {
        true
    }

    /// `POST /__test/tokens` (issue 21 item 2): a token for `request`, the members of the
    /// family's token answer as one flat object. By default the kernel's grant for
    /// (client, user, scopes) and its token pair.
    fn mint_token(&self, app: &App, request: &MintRequest) -> ProtocolResult<serde_json::Value> {
        let Some(username) = request.username.as_deref() else {
            return Err(ProtocolError::invalid_request(
                "username is required: this family's tokens are a user's grant to an app.",
            ));
        };
        let pair = app
            .core
            .mint_grant(&request.client_id, username, request.scopes.as_deref())?;
        serde_json::to_value(pair)
            .map_err(|e| ProtocolError::invalid_request(format!("cannot write the token: {e}")))
    }

    /// Its own test controls (`/__test/` + `segments`, the body read), asked before the
    /// shell's generic ones: `None` leaves the request to those.
    fn test_control(
        &self,
        _app: &App,
        _ctx: &Ctx,
        _segments: &[&str],
        _body: &[u8],
    ) -> Option<ProtocolResult<Response<Body>>> {
        None
    }
}

/// 405 with `Allow` (RFC 9110 §15.5.6) in the family's envelope: what a family answers for
/// a path its table serves with other methods, when it does (`RulePack::unrouted`).
pub fn method_not_allowed(app: &App, ctx: &Ctx, allow: &str) -> Response<Body> {
    // No profile's [errors] names a 405: it is HTTP's, not a vendor's.
    let e = ProtocolError::new(
        crate::core::error::ErrorCode::MethodNotAllowed,
        "Method not allowed.",
    )
    .with_status(405);
    let mut res = app.error_response(&e, ctx);
    if let Ok(allow) = hyper::header::HeaderValue::from_str(allow) {
        res.headers_mut().insert(hyper::header::ALLOW, allow);
    }
    res
}
