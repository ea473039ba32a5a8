//! Signing in and out through the pages (`login`, `logout`), for every family with
//! pages: the form, the session cookie, the sign-in throttle's page, and where the
//! browser goes next (a local path only). The handlers are route handlers a family's
//! table names.

use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Response, StatusCode};

use super::request::{parse_form, query_params};
use super::respond::{self, Body};
use super::{App, Ctx, pages, session_cookie};
use crate::core::error::ProtocolResult;
use crate::core::sessions::SignInRefused;

/// Where a sign-in without a `next` goes: the family's home page.
fn home(app: &App) -> &str {
    app.pack().home(&app.core.profile)
}

/// Only a local path may follow a sign-in, so `/login` cannot be an open redirect.
pub(crate) fn safe_next(next: Option<&str>, fallback: &str) -> String {
    match next {
        // No control characters either: a CR or LF cannot go in `Location`, and the 303
        // would otherwise lose it.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.contains(char::is_control) =>
        {
            n.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

pub fn login_page(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let params = query_params(ctx.query());
    let next = safe_next(params.get("next").map(String::as_str), home(app));
    Ok(respond::html(
        StatusCode::OK,
        pages::login_form(app, ctx.csrf.for_form(), &next, None),
    ))
}

pub fn login(app: &App, ctx: &Ctx, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let form = parse_form(body)?;
    let next = safe_next(form.get("next").map(String::as_str), home(app));
    let username = form.get("username").map(String::as_str).unwrap_or_default();
    let password = form.get("password").map(String::as_str).unwrap_or_default();
    match app.core.sign_in(username, password, ctx.ip) {
        Ok(sid) => {
            let mut res = respond::redirect(StatusCode::SEE_OTHER, &next);
            if let Ok(v) =
                HeaderValue::from_str(&session_cookie(&sid, app.core.profile.lifetimes.session))
            {
                res.headers_mut().insert(SET_COOKIE, v);
            }
            Ok(res)
        }
        Err(SignInRefused::WrongPassword) => Ok(respond::html(
            StatusCode::UNAUTHORIZED,
            pages::login_form(
                app,
                ctx.csrf.for_form(),
                &next,
                Some("That username and password do not match. Try again."),
            ),
        )),
        Err(SignInRefused::Throttled { retry_after }) => {
            let mut res = respond::html(
                StatusCode::TOO_MANY_REQUESTS,
                pages::sign_in_throttled(app, retry_after, ctx.request_id()),
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                res.headers_mut().insert(hyper::header::RETRY_AFTER, v);
            }
            Ok(res)
        }
    }
}

pub fn logout(app: &App, ctx: &Ctx, _body: &[u8]) -> ProtocolResult<Response<Body>> {
    if let Some((sid, _)) = app.session(ctx) {
        app.core.sign_out(&sid);
    }
    let mut res = respond::redirect(StatusCode::SEE_OTHER, app.core.profile.path("login"));
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0)) {
        res.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(res)
}
