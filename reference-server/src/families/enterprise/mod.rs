//! The enterprise family (seed 003) as a rule pack: its routes, declared once in
//! [`ROUTES`]; its grant (client credentials, `client_credentials.rs`), introspection and
//! revocation; the company-scoped routes under `/api` (`api.rs`); its tables (the
//! directory and the tokens it issued, [`EnterpriseState`]); its faults, the
//! kernel's it accepts included ([`FAULTS`]); an error envelope per layer (`envelope.rs`);
//! its test controls. The `/api/` limit (EN-RATE-1) is the shell's.

mod api;
mod body;
mod client_credentials;
mod directory;
mod envelope;
mod introspection;
mod revocation;

use hyper::Response;
use profile::{Identities, Profile};

use crate::core::clock::Millis;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::family_state::FamilyState;
use crate::core::fault::{Bends, FaultSpec};
use crate::core::grants::access_expiry;
use crate::core::{grants, rate_limit};
use crate::http::pack::{RulePack, method_not_allowed};
use crate::http::request::OAuthInput;
use crate::http::respond::Body;
use crate::http::routes::RoutePath::{Endpoint, Under};
use crate::http::routes::body;
use crate::http::routes::{ClientSource, Layer, Route, Serve};
use crate::http::{App, Ctx};
use client_credentials::ClientTokens;
use directory::Directory;

/// Enterprise as the shell serves it.
pub struct Enterprise;

/// Every route, once (CONTRACT.md, profile `enterprise`). A known path with another
/// method is 405 with `Allow`; anything else under `/api` is authenticated, then 404.
static ROUTES: &[Route] = &[
    Route::post(Endpoint("token"), body!(client_credentials::token))
        .client(ClientSource::OAuthBody)
        .layer(envelope::TOKEN)
        .doc("client-credentials token (EN-TOKEN-1..4, EN-VALID-1)"),
    Route::post(Endpoint("introspect"), body!(introspection::introspect))
        .layer(envelope::TOKEN_CHECK)
        .doc("introspection (EN-INTRO-1)"),
    Route::post(Endpoint("revoke"), body!(revocation::revoke))
        .layer(envelope::TOKEN_CHECK)
        .doc("revocation (EN-REVOKE-1)"),
    Route::get(Endpoint("tags"), Serve::Head(api::tags))
        .layer(envelope::API)
        .doc("the company's tags (EN-API-1)"),
    Route::new("*", Under("api"), Serve::Head(api::unknown))
        .layer(envelope::API)
        .doc("any other route under the API: authenticated, then 404 (EN-API-1)"),
];

/// The faults an enterprise server switches on, in the order `GET /__test/fault` lists
/// them.
static FAULTS: &[&FaultSpec] = &[
    &client_credentials::EN_INVALID_CLIENT_400,
    &client_credentials::EN_INACTIVE_ENTERPRISE_ALLOWED,
    &client_credentials::EN_VALIDATION_DROPS_FIELD,
    &introspection::EN_INTROSPECT_EXPIRED_ACTIVE,
    &revocation::EN_REVOKE_KEEPS_TOKEN,
    &api::EN_COMPANY_CHECK_SKIPPED,
    &api::EN_SCOPE_CHECK_SKIPPED,
    &rate_limit::LIMITER_ADMITS_EXTRA,
    &rate_limit::RETRY_AFTER_MISSING,
    &rate_limit::LIMITER_COUNTS_REJECTED,
    &grants::EXPIRED_TOKEN_ACCEPTED,
];

/// Enterprise's tables, back to the fixtures on reset.
#[derive(Debug, Default)]
pub struct EnterpriseState {
    directory: Directory,
    tokens: ClientTokens,
}

impl FamilyState for EnterpriseState {
    fn purge(&mut self, now: Millis, bends: Bends, budget: usize) -> bool {
        // Expired tokens are kept only for a faulty rule that still sees them.
        let keeps = !access_expiry(bends).forgets_expired()
            || !introspection::activity(bends).forgets_expired();
        keeps || self.tokens.purge(now, budget)
    }

    fn add_app(&mut self, app: &profile::App) -> ProtocolResult<()> {
        self.directory.add_member(app)
    }
}

impl RulePack for Enterprise {
    fn name(&self) -> &'static str {
        "enterprise"
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn faults(&self) -> &'static [&'static FaultSpec] {
        FAULTS
    }

    fn new_state(&self, _profile: &Profile, identities: &Identities) -> Box<dyn FamilyState> {
        Box::new(EnterpriseState {
            directory: Directory::from_identities(identities),
            ..EnterpriseState::default()
        })
    }

    fn unrouted_layer(&self) -> Layer {
        envelope::API
    }

    fn has_users(&self) -> bool {
        false
    }

    fn mint_token(
        &self,
        app: &App,
        request: &crate::http::pack::MintRequest,
    ) -> ProtocolResult<serde_json::Value> {
        client_credentials::mint(app, request)
    }

    /// A known path with another method is 405 with the methods it allows (RFC 9110
    /// §15.5.6); anything else 404 `{"message":"Not found."}`.
    fn unrouted(
        &self,
        app: &App,
        ctx: &Ctx,
        allow: Option<&str>,
    ) -> ProtocolResult<Response<Body>> {
        match allow {
            Some(allow) => Ok(method_not_allowed(app, ctx, allow)),
            None => Err(ProtocolError::not_found("Not found.")),
        }
    }

    fn oauth_input(&self, headers: &hyper::HeaderMap, body: &[u8]) -> ProtocolResult<OAuthInput> {
        body::oauth_input(headers, body)
    }

    fn error_body(&self, layer: Layer, error: &ProtocolError, _request_id: &str) -> Vec<u8> {
        envelope::error_bytes(layer, error)
    }

    fn test_control(
        &self,
        app: &App,
        ctx: &Ctx,
        segments: &[&str],
        body: &[u8],
    ) -> Option<ProtocolResult<Response<Body>>> {
        directory::test_control(app, ctx, segments, body)
    }
}

#[cfg(test)]
mod tests {
    use hyper::Method;

    use super::*;
    use crate::config::ServerConfig;
    use crate::http::routes::{Resolved, RouteTable};

    fn table() -> RouteTable {
        RouteTable::new(ROUTES, &ServerConfig::enterprise().profile)
    }

    fn resolved(method: Method, path: &str) -> String {
        match table().resolve(&method, path) {
            Resolved::Route(i, _) => ROUTES[i].doc.to_owned(),
            Resolved::WrongMethod(allow) => format!("405 {allow}"),
            Resolved::Unrouted => "404".to_owned(),
        }
    }

    #[test]
    fn unknown_paths_under_api_are_told_from_paths_outside_it() {
        let get = || Method::GET;
        assert_eq!(resolved(get(), "/api/tags"), ROUTES[3].doc);
        assert_eq!(resolved(Method::HEAD, "/api/tags"), ROUTES[3].doc);
        assert_eq!(resolved(get(), "/api/nope"), ROUTES[4].doc);
        assert_eq!(resolved(get(), "/api"), ROUTES[4].doc);
        assert_eq!(resolved(get(), "/apix"), "404");
        assert_eq!(resolved(Method::DELETE, "/api/tags"), "405 GET, HEAD");
        assert_eq!(resolved(get(), "/oauth/revoke"), "405 POST");
    }
}
