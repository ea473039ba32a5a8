//! CSRF protection of the pages' forms (issue 12 item 6).
//!
//! Every page with a POST form carries the request's token in a hidden `csrf_token` input
//! and in the `pp_csrf` cookie (HttpOnly, SameSite=Lax, Path=/). Signed in, the token is
//! the session's own (derived from its id, see `core::sessions`); signed out, it is the
//! `pp_csrf` cookie's random value. A form POST whose `csrf_token` does not match is
//! refused with 403 before its handler runs.
//!
//! Exempt: a developer or connected-apps POST with `Content-Type: application/json`. A
//! cross-site form cannot send that type, and a cross-origin script can only send it after
//! a CORS preflight, which this server never approves. `Accept: application/json` alone
//! is NOT exempt: `Accept` is a CORS-safelisted header, so another origin on the same site
//! (another port on localhost, where SameSite=Lax cookies still go) could send it with a
//! no-cors `fetch` and the user's session.

use std::sync::atomic::{AtomicBool, Ordering};

use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Response, StatusCode};

use super::request::{self, cookie, wants_json};
use super::respond::{self, Body};
use super::{App, Ctx, pages};
use crate::core::error::ProtocolError;
use crate::core::sessions::{
    CSRF_COOKIE, CSRF_FIELD, SESSION_COOKIE, csrf_token_of_session, csrf_tokens_match,
    is_csrf_token, new_csrf_token,
};

/// The token this request's form POST must carry: the live session's, else the
/// `pp_csrf` cookie's. None when there is neither (no form can match).
fn expected_token(app: &App, headers: &hyper::HeaderMap) -> Option<String> {
    if let Some(sid) = cookie(headers, SESSION_COOKIE)
        && app.core.session_user(sid).is_some()
    {
        return Some(csrf_token_of_session(sid));
    }
    cookie(headers, CSRF_COOKIE)
        .filter(|c| is_csrf_token(c))
        .map(str::to_owned)
}

/// The token a request's pages put in their forms. It remembers whether a form took it,
/// so only a page with a form sets the `pp_csrf` cookie.
#[derive(Debug, Default)]
pub struct PageToken {
    value: String,
    shown: AtomicBool,
}

impl PageToken {
    /// The token, for a form about to be rendered.
    pub fn for_form(&self) -> &str {
        self.shown.store(true, Ordering::Relaxed);
        &self.value
    }
}

/// The token the pages of this request put in their forms: the expected one, or a fresh
/// one the `pp_csrf` cookie then carries.
pub fn token_for_pages(app: &App, headers: &hyper::HeaderMap) -> PageToken {
    PageToken {
        value: expected_token(app, headers).unwrap_or_else(new_csrf_token),
        shown: AtomicBool::new(false),
    }
}

/// Whether a POST of this content type is exempt (see the module's comment).
pub fn is_json_body(ctx: &Ctx) -> bool {
    request::media_type_is(&ctx.headers, "application/json")
}

/// Checks a form POST's `csrf_token` against the expected token; the refusal is the 403
/// page (or the envelope, for a client that asked for JSON). A body that is not a form
/// is 400 `invalid_request`, as it always was.
pub fn check_form(app: &App, ctx: &Ctx, body: &[u8]) -> Result<(), Box<Response<Body>>> {
    // A body that is no form at all gets the same 400 as before the token existed.
    let pairs = request::form_pairs(body).map_err(|e| Box::new(app.error_response(&e, ctx)))?;
    let sent = pairs
        .into_iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v);
    let matches = match (sent, expected_token(app, &ctx.headers)) {
        (Some(sent), Some(expected)) => csrf_tokens_match(&sent, &expected),
        _ => false,
    };
    if matches {
        return Ok(());
    }
    if wants_json(&ctx.headers) {
        let e = ProtocolError::invalid_request(
            "This POST has no valid csrf_token. Send the JSON with Content-Type: application/json, or submit the page's form.",
        )
        .with_status(403);
        return Err(Box::new(app.error_response(&e, ctx)));
    }
    Err(Box::new(respond::html(
        StatusCode::FORBIDDEN,
        pages::error_page(
            app,
            "This form has expired",
            "The form was not sent from this site's own page, or the page is too old (its security token is missing or does not match your session). Go back, reload the page and try again.",
            ctx.request_id(),
        ),
    )))
}

/// Sets the `pp_csrf` cookie when a form of this answer carries the token and the
/// browser does not hold that value already.
pub fn set_cookie_for_page(ctx: &Ctx, res: &mut Response<Body>) {
    let token = &ctx.csrf;
    if !token.shown.load(Ordering::Relaxed)
        || token.value.is_empty()
        || cookie(&ctx.headers, CSRF_COOKIE) == Some(token.value.as_str())
    {
        return;
    }
    let value = format!(
        "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax",
        token.value
    );
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().append(SET_COOKIE, v);
    }
}
