//! The company-scoped API under `/api/*` (EN-API-1): a bearer client-credentials token,
//! then the route's scope, then the client's company; the rule that finds the company and
//! the faults that bend the checks. The shell has already counted the request under the
//! `/api/` limit (EN-RATE-1), whatever it answers.

use hyper::Response;
use serde::Serialize;

use super::EnterpriseState;
use super::directory::Directory;
use super::envelope::{COMPANY_NOT_FOUND, UNAUTHENTICATED};
use crate::core::error::{ErrorCode, ProtocolError, ProtocolResult};
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec};
use crate::core::grants::{access_expiry, token_key};
use crate::core::scope::{self, ScopeCheckSkipped, ScopePolicy};
use crate::http::request::bearer_token;
use crate::http::respond::Body;
use crate::http::{App, Ctx, ok_json};

#[derive(Serialize)]
struct Tags<'a> {
    data: &'a [String],
}

/// `GET /api/tags` (EN-API-1, DECIDED route): the company's tags, in file order.
pub fn tags(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let tags = company_route(app, ctx, app.core.profile.required_scope("tags"), true)?;
    ok_json(&Tags { data: &tags })
}

/// An unknown route under `/api`: authenticated first, then 404 `{"message":"Not found."}`.
pub fn unknown(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    company_route(app, ctx, None, false)?;
    Err(ProtocolError::not_found("Not found."))
}

/// A company-scoped route's checks, in order (EN-API-1): a live bearer token
/// (`unauthenticated`), then `required_scope` when the route has one
/// (`insufficient_scope`), then the client's company (`company_not_found`) when
/// `needs_company`. Answers the company's tags (empty when not asked for).
fn company_route(
    app: &App,
    ctx: &Ctx,
    required_scope: Option<&str>,
    needs_company: bool,
) -> ProtocolResult<Vec<String>> {
    let unauthenticated = || ProtocolError::new(UNAUTHENTICATED, "Unauthenticated.");
    let key = token_key(bearer_token(&ctx.headers).ok_or_else(unauthenticated)?);
    crate::core::notes::note_bearer(&key);
    let bends = app.core.bends();
    let now = app.core.now();
    app.core.with_family(|state: &mut EnterpriseState| {
        let token = state
            .tokens
            .get(&key)
            .filter(|t| !access_expiry(bends).is_expired(t.expires_at, now))
            .ok_or_else(unauthenticated)?;
        crate::core::notes::note(|n| n.bearer_client = Some(token.client_id.clone()));
        if let Some(scope) = required_scope
            && !scope::policy(bends).covers(&token.scopes, scope)
        {
            let mut e = ProtocolError::new(
                ErrorCode::InsufficientScope,
                "Token does not have the required scope.",
            );
            e.required_scope = Some(scope.to_owned());
            return Err(e);
        }
        if !needs_company {
            return Ok(Vec::new());
        }
        companies(bends)
            .tags(&state.directory, &token.client_id)
            .map(<[String]>::to_vec)
            .ok_or_else(|| ProtocolError::new(COMPANY_NOT_FOUND, "Company not found."))
    })
}

/// Which company's tags a client reads (EN-API-1); [`LinkedCompany`] is the rule.
pub trait Companies: Sync {
    /// The tags `client_id` may read, `None` for "Company not found.".
    fn tags<'d>(&self, directory: &'d Directory, client_id: &str) -> Option<&'d [String]> {
        directory.company_tags(client_id)
    }
}

/// EN-API-1 as written: the company the client is linked to, if it is listed.
pub struct LinkedCompany;

impl Companies for LinkedCompany {}

fn companies(bends: Bends) -> &'static dyn Companies {
    bends.pick::<dyn Companies>(&LinkedCompany)
}

/// `en_company_check_skipped` (EN-API-1): a client with no company reads no tags, 200.
struct NoCompanyCheck;

impl Companies for NoCompanyCheck {
    fn tags<'d>(&self, directory: &'d Directory, client_id: &str) -> Option<&'d [String]> {
        Some(directory.company_tags(client_id).unwrap_or_default())
    }
}

pub static EN_COMPANY_CHECK_SKIPPED: FaultSpec = FaultSpec::bending(
    "en_company_check_skipped",
    "EN-API-1",
    "a client linked to no company reads an empty tag list instead of 404",
    bends!(dyn Companies = NoCompanyCheck),
);

/// `en_scope_check_skipped` (EN-API-1): `/api` routes do not check the token's scope (the
/// kernel's scope wrapper of `scope_check_skipped`).
pub static EN_SCOPE_CHECK_SKIPPED: FaultSpec = FaultSpec::bending(
    "en_scope_check_skipped",
    "EN-API-1",
    "/api routes do not check the token's scope",
    bends!(dyn ScopePolicy = ScopeCheckSkipped),
);
