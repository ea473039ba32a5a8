//! The HTML pages every family with pages shares: the layout (titled with the profile's
//! product name), the index, sign-in, approval (PP-AUTHZ-2, FX-AUTHZ-1) and the error page
//! (PP-AUTHZ-5, FX-AUTHZ-2), and the pieces a family's own pages are made of. Plain
//! server-rendered HTML forms, no script, every value escaped.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::{App, Ctx};
use crate::core::authorization_code::ValidAuthorization;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f}\
h1{font-size:1.5rem}form{margin:1rem 0}label{display:block;margin:.5rem 0}\
input[type=text],input[type=password],textarea{width:100%;padding:.4rem;font:inherit}\
button{font:inherit;padding:.4rem 1rem;margin-right:.5rem}.scopes li{font-family:monospace}\
.secret{font-family:monospace;background:#fff3cd;padding:.5rem;word-break:break-all}\
.error{color:#b00020}.muted{color:#666}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;border-bottom:1px solid #ddd}";

/// The name people know the profile's system by, on its pages' titles and headings (the
/// profile's `product`).
pub fn brand(app: &App) -> &str {
    &app.core.profile.product
}

/// A whole page: `title`, then the product's name, and `body`.
pub fn page(app: &App, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{} · {}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        text(title),
        text(brand(app))
    )
}

/// The hidden input that carries the page's CSRF token in each of its POST forms
/// (issue 12 item 6; checked in http/csrf.rs).
pub fn csrf_input(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        crate::core::sessions::CSRF_FIELD,
        attr(csrf)
    )
}

pub fn signed_in_as(app: &App, csrf: &str, user: &str) -> String {
    format!(
        "<p class=\"muted\">Signed in as <strong>{}</strong>. <form method=\"post\" action=\"{}\" style=\"display:inline\">{}<button type=\"submit\">Sign out</button></form></p>",
        text(user),
        attr(app.core.profile.path("logout")),
        csrf_input(csrf)
    )
}

pub fn scope_list(scopes: impl Iterator<Item = impl AsRef<str>>) -> String {
    let items: String = scopes
        .map(|s| format!("<li>{}</li>", text(s.as_ref())))
        .collect();
    if items.is_empty() {
        "<p>No scopes.</p>".into()
    } else {
        format!("<ul class=\"scopes\">{items}</ul>")
    }
}

/// `GET /`: the profile's title and a link to each page its family lists on the index.
pub fn index(app: &App, _ctx: &Ctx) -> String {
    let p = &app.core.profile;
    let links: String = app
        .routes()
        .index_links(p)
        .iter()
        .map(|(path, label)| format!("<li><a href=\"{}\">{}</a></li>", attr(path), text(label)))
        .collect();
    page(
        app,
        &p.title,
        &format!(
            "<h1>{}</h1><p>A reference server for the documented contract.</p><ul>{links}</ul>",
            text(&p.title),
        ),
    )
}

pub fn login_form(app: &App, csrf: &str, next: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\">{}</p>", text(e))
    });
    page(
        app,
        "Sign in",
        &format!(
            "<h1>Sign in to {}</h1>{error}<form method=\"post\" action=\"{}\">\
{}<input type=\"hidden\" name=\"next\" value=\"{}\">\
<label>Username <input type=\"text\" name=\"username\" autocomplete=\"username\" required></label>\
<label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
<button type=\"submit\">Sign in</button></form>",
            text(brand(app)),
            attr(app.core.profile.path("login")),
            csrf_input(csrf),
            attr(next)
        ),
    )
}

/// The sign-in throttle's page (429): how long to wait, and why.
pub fn sign_in_throttled(app: &App, retry_after: u64, request_id: &str) -> String {
    let minutes = retry_after.div_ceil(60);
    page(
        app,
        "Too many sign-in attempts",
        &format!(
            "<h1>Too many sign-in attempts</h1>\
<p class=\"error\">There were too many wrong passwords for this account or from this network.</p>\
<p>Try again in {minutes} minute{}. If you forgot the password, ask whoever runs this server.</p>\
<p class=\"muted\">Request id: <code>{}</code></p>",
            if minutes == 1 { "" } else { "s" },
            text(request_id)
        ),
    )
}

/// PP-AUTHZ-2: the app's name and the requested scopes, before the user approves.
pub fn consent(
    app: &App,
    csrf: &str,
    user: &str,
    request: &ValidAuthorization,
    id: &str,
) -> String {
    // A family with a place to revoke access later says where.
    let revoke_later = app
        .pack()
        .consent_note(&app.core.profile)
        .unwrap_or_default();
    page(
        app,
        "Approve access",
        &format!(
            "{}<h1><span class=\"app-name\">{}</span> wants to use your {} account</h1>\
<p>It asks for:</p>{}<form method=\"post\" action=\"{}\">{}\
<input type=\"hidden\" name=\"authorization\" value=\"{}\">\
<button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>{revoke_later}",
            signed_in_as(app, csrf, user),
            text(&request.app_name),
            text(brand(app)),
            scope_list(request.scopes.iter()),
            attr(app.core.profile.path("authorize")),
            csrf_input(csrf),
            attr(id),
        ),
    )
}

/// PP-AUTHZ-5: the page shown instead of a redirect, with the request id for support.
pub fn error_page(app: &App, title: &str, message: &str, request_id: &str) -> String {
    page(
        app,
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\">{}</p><p>If you report this, quote the request id <code class=\"request-id\">{}</code>.</p>",
            text(title),
            text(message),
            text(request_id)
        ),
    )
}

/// `GET /` as a route handler.
pub fn index_page(
    app: &App,
    ctx: &Ctx,
) -> crate::core::error::ProtocolResult<hyper::Response<super::respond::Body>> {
    Ok(super::respond::html(hyper::StatusCode::OK, index(app, ctx)))
}
