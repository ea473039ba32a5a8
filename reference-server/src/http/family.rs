//! What the shell asks of a profile's family (issue 7 item 1). A family module under
//! `crate::families` implements [`ServedFamily`] and `crate::families` picks one per
//! profile; the shell holds it as a value and never names a family's routes. A matched
//! route comes back as [`RouteFacts`] (what the shell needs to limit, check and bend the
//! request) and the family's own route value, which only the family reads.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

use hyper::{HeaderMap, Method, Response};

use super::fault_layer::ShapeFacts;
use super::request::{OAuthInput, RequestBody};
use super::respond::Body;
use super::{App, ClientSource, Ctx};
use crate::core::error::{ProtocolError, ProtocolResult};

/// A family's own route for a request; only that family downcasts it.
pub type FamilyRoute = Box<dyn Any + Send>;

/// A handler's answer, as a boxed future so families can be held as trait objects.
pub type Answer<'a> = Pin<Box<dyn Future<Output = ProtocolResult<Response<Body>>> + Send + 'a>>;

/// One of a family's error layers: the envelope a route's errors are written in.
/// Punchplay has one (PP-ERR-1); enterprise has four (token, validation, introspection
/// and revocation, API: EN-TOKEN-2, EN-VALID-1, EN-INTRO-1, EN-API-1), flexslot two.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Layer(pub &'static str);

/// What the shell needs to know of a matched route.
#[derive(Debug, Clone, Copy, Default)]
pub struct RouteFacts {
    /// The `[paths]` endpoint the route serves: what endpoint rate limits match.
    pub endpoint: Option<&'static str>,
    /// Where its requests name their client, for `client_and_ip` limits (PP-RATE-4).
    pub client_source: ClientSource,
    /// The error layer its errors are written in.
    pub layer: Layer,
    /// A POST of a page's form: it must carry the page's CSRF token (issue 12 item 6).
    pub is_form_post: bool,
    /// A form POST that also answers JSON: exempt from the token with a JSON body.
    pub answers_json: bool,
    /// It may answer a page with a POST form (the shell mints the page's CSRF token).
    pub may_show_forms: bool,
    /// What the fault layer needs to know of its answer.
    pub shape: ShapeFacts,
}

/// A request matched by a family.
pub struct Matched {
    pub facts: RouteFacts,
    pub route: FamilyRoute,
}

/// A family as the shell serves it.
pub trait ServedFamily: Send + Sync {
    /// Matches a request against the family's route table (the profile's `[paths]`).
    /// An unknown route is a route too: its handler answers 404 in the family's envelope.
    fn route(&self, app: &App, method: &Method, path: &str) -> Matched;

    /// Serves a matched route (not a page form's POST).
    fn dispatch<'a>(
        &'a self,
        app: &'a App,
        route: FamilyRoute,
        ctx: &'a Ctx,
        body: RequestBody,
    ) -> Answer<'a>;

    /// Serves a page form's POST, once the shell read its body and checked its CSRF token.
    fn dispatch_form_post(
        &self,
        app: &App,
        route: FamilyRoute,
        ctx: &Ctx,
        body: &[u8],
    ) -> ProtocolResult<Response<Body>>;

    /// Every (method, endpoint, client source) the route table serves. The start-up
    /// check reads it to refuse a profile limit the server could not key.
    fn endpoint_routes(&self) -> &'static [(&'static str, &'static str, ClientSource)];

    /// An OAuth body (and its HTTP Basic header) parsed the family's way: the shell asks
    /// it for a `client_and_ip` limit's `client_id` and hands the parse on to the handler.
    fn oauth_input(&self, headers: &HeaderMap, body: &[u8]) -> ProtocolResult<OAuthInput>;

    /// The error body in the envelope of `layer`.
    fn error_body(
        &self,
        layer: Layer,
        error: &ProtocolError,
        request_id: &str,
    ) -> serde_json::Value;

    /// The `WWW-Authenticate` challenge an error carries, if any (RFC 6750 §3, RFC 6749
    /// §5.2).
    fn challenge(&self, layer: Layer, error: &ProtocolError) -> Option<String>;

    /// The family's own test controls (`/__test/` + `segments`, the body read), asked
    /// before the shell's generic ones: `None` leaves the request to those.
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
