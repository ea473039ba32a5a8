//! Flexslot's own test control (CONTRACT.md, "The reference server's test controls"):
//! `POST /__test/apps/{client_id}/grant-types` `{"grant_types": [...]}` configures a
//! client's grants (FX-TOKEN-5), answering `{"client_id", "grant_types"}`. Tokens already
//! issued stay; a refresh for a client no longer configured for it is
//! `unauthorized_client`.

use hyper::{Method, Response};
use serde::Deserialize;
use serde_json::json;

use super::token::GRANT_TYPES;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::http::respond::Body;
use crate::http::test_controls::{body_as, ok_with_now};
use crate::http::{App, Ctx};

#[derive(Deserialize)]
struct GrantTypesBody {
    grant_types: Vec<String>,
}

pub fn handle(
    app: &App,
    ctx: &Ctx,
    segments: &[&str],
    body: &[u8],
) -> Option<ProtocolResult<Response<Body>>> {
    match (ctx.method == Method::POST, segments) {
        (true, ["apps", client_id, "grant-types"]) => Some(grant_types(app, client_id, body)),
        _ => None,
    }
}

/// At least one grant type, each of [`GRANT_TYPES`], kept in the server's order.
fn grant_types(app: &App, client_id: &str, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let GrantTypesBody { grant_types } = body_as(body)?;
    if grant_types.is_empty() {
        return Err(ProtocolError::invalid_request(format!(
            "grant_types must name at least one of {}.",
            GRANT_TYPES.join(", ")
        )));
    }
    if let Some(bad) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(ProtocolError::invalid_request(format!(
            "`{bad}` is not a grant type this server serves; use {}.",
            GRANT_TYPES.join(" or ")
        )));
    }
    let configured: Vec<String> = GRANT_TYPES
        .iter()
        .filter(|g| grant_types.iter().any(|s| s == *g))
        .map(|g| (*g).to_owned())
        .collect();
    app.core
        .set_client_grant_types(client_id, configured.clone())?;
    ok_with_now(
        app,
        json!({"client_id": client_id, "grant_types": configured}),
    )
}
