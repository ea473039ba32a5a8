//! The HTML pages a person sees: sign-in, approval (PP-AUTHZ-2), `/activate`
//! (PP-DEVICE-5), developer apps (PP-APP-7), connected apps (PP-REVOKE-1) and the error
//! page (PP-AUTHZ-5). Plain server-rendered HTML forms, no script, every value escaped.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::{App, Ctx};
use crate::core::authorization_code::ValidAuthorization;
use crate::core::device_code::DeviceForPage;
use crate::core::registry::AppRecord;
use profile::AppKind;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d1d1f}\
h1{font-size:1.5rem}form{margin:1rem 0}label{display:block;margin:.5rem 0}\
input[type=text],input[type=password],textarea{width:100%;padding:.4rem;font:inherit}\
button{font:inherit;padding:.4rem 1rem;margin-right:.5rem}.scopes li{font-family:monospace}\
.secret{font-family:monospace;background:#fff3cd;padding:.5rem;word-break:break-all}\
.error{color:#b00020}.muted{color:#666}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;border-bottom:1px solid #ddd}";

fn page(title: &str, body: &str) -> String {
    branded_page("PunchPlay", title, body)
}

/// The name people know the profile's system by, on its pages' titles and headings.
fn brand(app: &App) -> &'static str {
    match app.core.profile.family {
        profile::Family::Flexslot => "Flexslot",
        _ => "PunchPlay",
    }
}

fn branded_page(brand: &str, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{} · {}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        text(title),
        text(brand)
    )
}

/// The hidden input that carries the page's CSRF token in each of its POST forms
/// (issue 12 item 6; checked in http/csrf.rs).
fn csrf_input(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        crate::core::sessions::CSRF_FIELD,
        attr(csrf)
    )
}

fn signed_in_as(app: &App, csrf: &str, user: &str) -> String {
    format!(
        "<p class=\"muted\">Signed in as <strong>{}</strong>. <form method=\"post\" action=\"{}\" style=\"display:inline\">{}<button type=\"submit\">Sign out</button></form></p>",
        text(user),
        attr(app.core.profile.path("logout")),
        csrf_input(csrf)
    )
}

fn scope_list(scopes: impl Iterator<Item = impl AsRef<str>>) -> String {
    let items: String = scopes
        .map(|s| format!("<li>{}</li>", text(s.as_ref())))
        .collect();
    if items.is_empty() {
        "<p>No scopes.</p>".into()
    } else {
        format!("<ul class=\"scopes\">{items}</ul>")
    }
}

pub fn index(app: &App, _ctx: &Ctx) -> String {
    let p = &app.core.profile;
    // Links to the pages and documents this profile has, punchplay's first.
    let links: String = [
        ("developer_apps", "Developer apps</a> (Get API key)"),
        ("connected_apps", "Connected apps</a>"),
        ("activate", "Activate a device</a>"),
        ("metadata", "Authorization server metadata</a> (RFC 8414)"),
    ]
    .iter()
    .filter_map(|(endpoint, label)| {
        p.paths
            .get(*endpoint)
            .map(|path| format!("<li><a href=\"{}\">{label}</li>", attr(path)))
    })
    .collect();
    branded_page(
        brand(app),
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
    branded_page(
        brand(app),
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
    branded_page(
        brand(app),
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
    // Only a profile with a connected-apps page can point at it.
    let revoke_later = match app.core.profile.paths.get("connected_apps") {
        Some(path) => format!(
            "<p class=\"muted\">You can revoke access later in <a href=\"{}\">connected apps</a>.</p>",
            attr(path)
        ),
        None => String::new(),
    };
    branded_page(
        brand(app),
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
    branded_page(
        brand(app),
        title,
        &format!(
            "<h1>{}</h1><p class=\"error\">{}</p><p>If you report this, quote the request id <code class=\"request-id\">{}</code>.</p>",
            text(title),
            text(message),
            text(request_id)
        ),
    )
}

pub fn activate_enter_code(app: &App, csrf: &str, user: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\">{}</p>", text(e))
    });
    page(
        "Activate a device",
        &format!(
            "{}<h1>Activate a device</h1>{error}<form method=\"get\" action=\"{}\">\
<label>Code shown on your device <input type=\"text\" name=\"user_code\" placeholder=\"WDJB-MJHT\" autocomplete=\"off\" required></label>\
<button type=\"submit\">Continue</button></form>",
            signed_in_as(app, csrf, user),
            attr(app.core.profile.path("activate"))
        ),
    )
}

/// PP-DEVICE-5: the app name and scopes, and approve or deny.
pub fn activate_confirm(app: &App, csrf: &str, user: &str, device: &DeviceForPage) -> String {
    page(
        "Activate a device",
        &format!(
            "{}<h1><span class=\"app-name\">{}</span> wants to use your PunchPlay account</h1>\
<p>Code <strong class=\"user-code\">{}</strong>. It asks for:</p>{}<form method=\"post\" action=\"{}\">{}\
<input type=\"hidden\" name=\"user_code\" value=\"{}\">\
<button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            signed_in_as(app, csrf, user),
            text(&device.app_name),
            text(&device.user_code),
            scope_list(device.scopes.iter()),
            attr(app.core.profile.path("activate")),
            csrf_input(csrf),
            attr(&device.user_code)
        ),
    )
}

pub fn activate_done(_app: &App, user_code: &str, approved: bool) -> String {
    let (title, line) = if approved {
        ("Device approved", "You can go back to your device now.")
    } else {
        ("Device denied", "The device will not get access.")
    };
    page(
        title,
        &format!(
            "<h1>{title}</h1><p>Code <strong>{}</strong>. {line}</p>",
            text(user_code)
        ),
    )
}

/// What happened just before the developer page is shown.
pub enum Notice {
    Created {
        app: AppRecord,
        secret: Option<String>,
    },
    Rotated {
        app: AppRecord,
        secret: String,
    },
    Error(String),
}

fn secret_notice(client_id: &str, secret: &str) -> String {
    format!(
        "<p>The client secret of <code>{}</code>, shown this once; store it now:</p><p class=\"secret client-secret\">{}</p>",
        text(client_id),
        text(secret)
    )
}

/// PP-APP-7, PP-APP-8: list, create, rotate, deactivate.
pub fn developer_apps(
    app: &App,
    csrf: &str,
    user: &str,
    apps: &[AppRecord],
    notice: Option<Notice>,
) -> String {
    let base = app.core.profile.path("developer_apps");
    let notice = match notice {
        Some(Notice::Created { app: a, secret }) => format!(
            "<p>Created <strong>{}</strong> with client_id <code class=\"client-id\">{}</code>.</p>{}",
            text(&a.name),
            text(&a.client_id),
            secret.map_or_else(String::new, |s| secret_notice(&a.client_id, &s))
        ),
        Some(Notice::Rotated { app: a, secret }) => secret_notice(&a.client_id, &secret),
        Some(Notice::Error(e)) => format!("<p class=\"error\">{}</p>", text(&e)),
        None => String::new(),
    };
    let rows: String = apps
        .iter()
        .map(|a| {
            let rotate = if a.kind == AppKind::Confidential && a.active {
                format!(
                    "<form method=\"post\" action=\"{base}/{id}/secret\" style=\"display:inline\">{token}<button type=\"submit\">Rotate secret</button></form>",
                    base = attr(base),
                    id = attr(&a.client_id),
                    token = csrf_input(csrf)
                )
            } else {
                String::new()
            };
            let deactivate = if a.active {
                format!(
                    "<form method=\"post\" action=\"{base}/{id}/deactivate\" style=\"display:inline\">{token}<button type=\"submit\">Deactivate</button></form>",
                    base = attr(base),
                    id = attr(&a.client_id),
                    token = csrf_input(csrf)
                )
            } else {
                "inactive".into()
            };
            format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{rotate}{deactivate}</td></tr>",
                text(&a.name),
                text(&a.client_id),
                if a.kind == AppKind::Public { "public" } else { "confidential" },
                text(&a.allowed_scopes.to_wire()),
                text(&a.redirect_uris.join(" ")),
            )
        })
        .collect();
    let scope_boxes: String = app
        .core
        .profile
        .scopes
        .known
        .iter()
        .map(|s| {
            format!(
                "<label><input type=\"checkbox\" name=\"allowed_scopes\" value=\"{}\"> {}</label>",
                attr(s),
                text(s)
            )
        })
        .collect();
    page(
        "Developer apps",
        &format!(
            "{}<h1>Your apps</h1>{notice}<table><tr><th>Name</th><th>client_id</th><th>Kind</th><th>Allowed scopes</th><th>Redirect URIs</th><th></th></tr>{rows}</table>\
<h2>Get API key</h2><form method=\"post\" action=\"{}\">{}\
<label>Name <input type=\"text\" name=\"name\" required></label>\
<label><input type=\"radio\" name=\"kind\" value=\"confidential\" checked> Confidential (server-backed, gets a secret)</label>\
<label><input type=\"radio\" name=\"kind\" value=\"public\"> Public (browser, native, TV: no secret)</label>\
<label>Redirect URIs, one per line (https, or http on a loopback address)<textarea name=\"redirect_uris\" rows=\"3\"></textarea></label>\
<fieldset><legend>Allowed scopes (as few as the app needs)</legend>{scope_boxes}</fieldset>\
<button type=\"submit\">Create app</button></form>",
            signed_in_as(app, csrf, user),
            attr(base),
            csrf_input(csrf)
        ),
    )
}

/// PP-REVOKE-1.
pub fn connected_apps(
    app: &App,
    csrf: &str,
    user: &str,
    apps: &[(String, String, String)],
) -> String {
    let base = app.core.profile.path("connected_apps");
    let rows: String = apps
        .iter()
        .map(|(id, name, scope)| {
            format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td><form method=\"post\" action=\"{}/{}/revoke\">{}<button type=\"submit\">Revoke</button></form></td></tr>",
                text(name),
                text(id),
                text(scope),
                attr(base),
                attr(id),
                csrf_input(csrf)
            )
        })
        .collect();
    let body = if apps.is_empty() {
        "<p>No apps have access to your account.</p>".to_owned()
    } else {
        format!(
            "<table><tr><th>App</th><th>client_id</th><th>Access</th><th></th></tr>{rows}</table>"
        )
    };
    page(
        "Connected apps",
        &format!(
            "{}<h1>Connected apps</h1>{body}",
            signed_in_as(app, csrf, user)
        ),
    )
}
