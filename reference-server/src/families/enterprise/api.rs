//! The company-scoped API under `/api/*` (EN-API-1): a bearer token, then the route's
//! scope, then the client's company. The shell has already counted the request under the
//! `/api/` limit (EN-RATE-1), whatever it answers.

use hyper::Response;
use serde::Serialize;

use crate::core::error::{ProtocolError, ProtocolResult};
use crate::http::request::bearer_token;
use crate::http::respond::Body;
use crate::http::{App, Ctx, ok_json};

#[derive(Serialize)]
struct Tags<'a> {
    data: &'a [String],
}

/// `GET /api/tags` (EN-API-1, DECIDED route): the company's tags, in file order.
pub fn tags(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let tags = app.core.company_route(
        bearer_token(&ctx.headers),
        app.core.profile.required_scope("tags"),
        true,
    )?;
    ok_json(&Tags { data: &tags })
}

/// An unknown route under `/api`: authenticated first, then 404 `{"message":"Not found."}`.
pub fn unknown(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    app.core
        .company_route(bearer_token(&ctx.headers), None, false)?;
    Err(ProtocolError::not_found("Not found."))
}
