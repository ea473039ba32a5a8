//! The browser's side of an authorize request, for every family with an authorization
//! endpoint: a validated request shows the sign-in form to a signed-out user and the
//! consent page (app name, scopes, Approve and Deny) to a signed-in one (PP-AUTHZ-2,
//! FX-AUTHZ-1); the consent form's POST is matched to the pending request of the same
//! session. What differs per family is where errors and decisions send the browser: its
//! [`AuthorizeRedirects`].

use hyper::{Response, StatusCode};

use super::request::{parse_form, query_params_with_repeats};
use super::respond::{self, Body};
use super::{App, Ctx, pages};
use crate::core::Params;
use crate::core::authorization_code::{AuthorizeError, ValidAuthorization};
use crate::core::error::{ProtocolError, ProtocolResult};

/// Where a family's authorize errors and decisions send the browser.
pub trait AuthorizeRedirects: Sync {
    /// An authorize error's redirect to the client; `None` where there is none to send
    /// (an unknown client or an unregistered redirect URI: the 400 page, PP-AUTHZ-5,
    /// FX-AUTHZ-2).
    fn error_location(&self, app: &App, ctx: &Ctx, err: &AuthorizeError) -> Option<String>;

    /// Where `user`'s approval or denial of `request` sends the browser.
    fn decision_location(
        &self,
        app: &App,
        ctx: &Ctx,
        user: &str,
        request: &ValidAuthorization,
        approve: bool,
    ) -> String;
}

fn redirects(app: &App) -> ProtocolResult<&'static dyn AuthorizeRedirects> {
    app.pack()
        .authorize_redirects()
        .ok_or_else(|| ProtocolError::not_found("This server has no authorize endpoint."))
}

/// `GET` of the authorize endpoint: the sign-in or consent page for a valid request; for
/// an invalid one a 302 to the family's error redirect, or the 400 page where it has none.
pub fn authorize_page(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let redirects = redirects(app)?;
    let (params, repeated) = query_params_with_repeats(ctx.query());
    Ok(match app.core.validate_authorize(&params, &repeated) {
        Ok(request) => sign_in_or_consent(app, ctx, request),
        Err(err) => {
            let location = redirects.error_location(app, ctx, &err);
            authorize_error_response(app, ctx, &err, location)
        }
    })
}

/// `POST` of the consent form: a 302 to where the family's decision sends the browser,
/// or the page for an ended session or used request.
pub fn authorize_decision(app: &App, ctx: &Ctx, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let redirects = redirects(app)?;
    let form = parse_form(body)?;
    let (user, request, approve) = match pending_decision(app, ctx, &form) {
        Ok(decision) => decision,
        Err(page) => return Ok(*page),
    };
    let location = redirects.decision_location(app, ctx, &user, &request, approve);
    Ok(respond::redirect(StatusCode::FOUND, &location))
}

/// The sign-in form (which comes back here) or the consent page for `request`.
fn sign_in_or_consent(app: &App, ctx: &Ctx, request: ValidAuthorization) -> Response<Body> {
    let here = ctx.path_and_query();
    let Some((sid, user)) = app.session(ctx) else {
        return respond::html(
            StatusCode::OK,
            pages::login_form(app, ctx.csrf.for_form(), &here, None),
        );
    };
    let id = app.core.begin_consent(&sid, request.clone());
    respond::html(
        StatusCode::OK,
        pages::consent(app, ctx.csrf.for_form(), &user, &request, &id),
    )
}

/// The decision a consent form posted: the signed-in user, the pending request it
/// answers and whether it approves; or the page for a session that ended (401) or a
/// request that expired or was already decided (400).
fn pending_decision(
    app: &App,
    ctx: &Ctx,
    form: &Params,
) -> Result<(String, ValidAuthorization, bool), Box<Response<Body>>> {
    let Some((sid, user)) = app.session(ctx) else {
        return Err(Box::new(respond::html(
            StatusCode::UNAUTHORIZED,
            pages::error_page(
                app,
                "Please sign in again",
                "Your session ended before you decided. Go back to the app and start again.",
                ctx.request_id(),
            ),
        )));
    };
    let id = form
        .get("authorization")
        .map(String::as_str)
        .unwrap_or_default();
    let Some(request) = app.core.take_pending(&sid, id) else {
        return Err(Box::new(respond::html(
            StatusCode::BAD_REQUEST,
            pages::error_page(
                app,
                "This approval has expired",
                "Go back to the app and start signing in again.",
                ctx.request_id(),
            ),
        )));
    };
    let approve = form.get("decision").map(String::as_str) == Some("approve");
    Ok((user, request, approve))
}

/// An authorize error as the browser sees it: a 302 to `location`, the family's error
/// redirect, or, where there is none (an unknown client or unregistered redirect URI), the
/// 400 page, never a redirect (PP-AUTHZ-5, FX-AUTHZ-2).
fn authorize_error_response(
    app: &App,
    ctx: &Ctx,
    err: &AuthorizeError,
    location: Option<String>,
) -> Response<Body> {
    match (location, err) {
        (Some(location), _) => respond::redirect(StatusCode::FOUND, &location),
        (None, AuthorizeError::Page(e) | AuthorizeError::Redirect { error: e, .. }) => {
            respond::html(
                StatusCode::BAD_REQUEST,
                pages::error_page(
                    app,
                    "This sign-in link is not valid",
                    &e.message,
                    ctx.request_id(),
                ),
            )
        }
    }
}
