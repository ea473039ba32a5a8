//! Flexslot's own test controls, asked before the shell's generic ones
//! (CONTRACT.md, "The reference server's test controls"):
//! - `POST /__test/authorize/decide` `{"url", "username", "approve"}`: as the generic
//!   one, with flexslot's redirects (`error_description`, no request id; FX-AUTHZ-1);
//! - `POST /__test/apps/{client_id}/grant-types` `{"grant_types": [...]}`: configures a
//!   client's grants (FX-TOKEN-5), answering `{"client_id", "grant_types"}`.

use hyper::{Method, Response};
use serde::Deserialize;
use serde_json::json;

use super::oauth::{authorize_error_location, decision_location};
use crate::core::authorization_code::AuthorizeError;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::http::request::query_params_with_repeats;
use crate::http::respond::Body;
use crate::http::test_controls::{AuthorizeDecide, body_as, ok_with_now};
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
    if ctx.method != Method::POST {
        return None;
    }
    match segments {
        ["authorize", "decide"] => Some(decide(app, ctx, body)),
        ["apps", client_id, "grant-types"] => Some(grant_types(app, client_id, body)),
        _ => None,
    }
}

fn decide(app: &App, ctx: &Ctx, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let AuthorizeDecide {
        url,
        username,
        approve,
    } = body_as(body)?;
    if app.core.user_profile(&username).is_none() {
        return Err(ProtocolError::not_found(format!(
            "There is no user `{username}`."
        )));
    }
    let query = url.split_once('?').map(|(_, q)| q);
    let (params, repeated) = query_params_with_repeats(query);
    let location = match app.core.validate_authorize(&params, &repeated) {
        Ok(request) => decision_location(app, ctx, &username, &request, approve),
        Err(err) => match (authorize_error_location(&err), err) {
            (Some(location), _) => location,
            // FX-AUTHZ-2: nothing to redirect to; the page's error as JSON.
            (None, AuthorizeError::Page(e) | AuthorizeError::Redirect { error: e, .. }) => {
                return Err(e);
            }
        },
    };
    ok_with_now(app, json!({"location": location}))
}

fn grant_types(app: &App, client_id: &str, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let GrantTypesBody { grant_types } = body_as(body)?;
    let configured = app.core.set_grant_types(client_id, &grant_types)?;
    ok_with_now(
        app,
        json!({"client_id": client_id, "grant_types": configured}),
    )
}
