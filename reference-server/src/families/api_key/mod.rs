//! A fourth family, for tests only (issue 20 item 7): an API that takes a key instead of
//! OAuth, one route, `GET item` with `X-Api-Key: client_id:secret`. It shows what adding
//! a family takes: this folder and one registration line (`mod api_key;` in
//! `families/mod.rs`; a family a profile can name adds its entry to `families::ALL`),
//! and nothing in the kernel, the shell or another family. It has a route table, its own
//! table (each client's request count), its own rule with a fault beside it (`item.rs`),
//! its own error envelope, and the kernel's rate limiting and test controls for free.

mod item;

use std::collections::HashMap;

use profile::{Identities, Profile};

use crate::core::error::ProtocolError;
use crate::core::family_state::FamilyState;
use crate::core::fault::FaultSpec;
use crate::core::rate_limit;
use crate::http::pack::RulePack;
use crate::http::request::OAuthInput;
use crate::http::routes::RoutePath::Endpoint;
use crate::http::routes::{Layer, Route, Serve};

/// The API-key family as the shell serves it.
pub struct ApiKey;

static ROUTES: &[Route] =
    &[Route::get(Endpoint("item"), Serve::Head(item::item)).doc("the item, with an API key")];

static FAULTS: &[&FaultSpec] = &[&item::AK_KEY_NOT_CHECKED, &rate_limit::LIMITER_ADMITS_EXTRA];

/// Its own table: requests served per registered client.
#[derive(Default)]
struct Counts {
    served: HashMap<String, u64>,
}

impl FamilyState for Counts {}

impl RulePack for ApiKey {
    fn name(&self) -> &'static str {
        "api_key"
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn faults(&self) -> &'static [&'static FaultSpec] {
        FAULTS
    }

    fn new_state(&self, _profile: &Profile, _identities: &Identities) -> Box<dyn FamilyState> {
        Box::new(Counts::default())
    }

    /// No OAuth bodies here: no limit of this family is keyed by client.
    fn oauth_input(
        &self,
        _headers: &hyper::HeaderMap,
        _body: &[u8],
    ) -> crate::core::error::ProtocolResult<OAuthInput> {
        Ok(Default::default())
    }

    /// `{"error": code}`.
    fn error_body(&self, _layer: Layer, error: &ProtocolError, _request_id: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"error": error.code.as_str()})).unwrap_or_default()
    }

    /// A known path with another method is 405 with `Allow`, as the route table says.
    fn unrouted(
        &self,
        app: &crate::http::App,
        ctx: &crate::http::Ctx,
        allow: Option<&str>,
    ) -> crate::core::error::ProtocolResult<hyper::Response<crate::http::respond::Body>> {
        match allow {
            Some(allow) => Ok(crate::http::pack::method_not_allowed(app, ctx, allow)),
            None => Err(ProtocolError::not_found("No such route.")),
        }
    }
}

#[cfg(test)]
mod tests;
