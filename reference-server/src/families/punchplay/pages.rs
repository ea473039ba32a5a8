//! Punchplay's own pages: `/activate` (PP-DEVICE-5), the developer apps (PP-APP-7,
//! PP-APP-8) and the connected apps (PP-REVOKE-1), made of the shell's shared page pieces.
//! Plain server-rendered HTML forms, no script, every value escaped.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use profile::AppKind;

use crate::core::registry::AppRecord;
use crate::core::scope::ScopeSet;
use crate::http::App;
use crate::http::pages::{brand, csrf_input, page, scope_list, signed_in_as};

/// A pending device request as the `/activate` page shows it.
#[derive(Debug, Clone)]
pub struct DeviceForPage {
    pub user_code: String,
    pub app_name: String,
    pub scopes: ScopeSet,
}

pub fn activate_enter_code(app: &App, csrf: &str, user: &str, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!("<p class=\"error\">{}</p>", text(e))
    });
    page(
        app,
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
        app,
        "Activate a device",
        &format!(
            "{}<h1><span class=\"app-name\">{}</span> wants to use your {} account</h1>\
<p>Code <strong class=\"user-code\">{}</strong>. It asks for:</p>{}<form method=\"post\" action=\"{}\">{}\
<input type=\"hidden\" name=\"user_code\" value=\"{}\">\
<button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
            signed_in_as(app, csrf, user),
            text(&device.app_name),
            text(brand(app)),
            text(&device.user_code),
            scope_list(device.scopes.iter()),
            attr(app.core.profile.path("activate")),
            csrf_input(csrf),
            attr(&device.user_code)
        ),
    )
}

pub fn activate_done(app: &App, user_code: &str, approved: bool) -> String {
    let (title, line) = if approved {
        ("Device approved", "You can go back to your device now.")
    } else {
        ("Device denied", "The device will not get access.")
    };
    page(
        app,
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
    // How the user's own apps behaved (issue 22 item 2): their findings, to them only.
    let findings: Vec<_> = apps
        .iter()
        .flat_map(|a| app.observatory.findings(Some(&a.client_id)).0)
        .collect();
    let behaviour = if apps.is_empty() {
        String::new()
    } else {
        format!(
            "<h2>How your apps behaved</h2><p class=\"muted\">What this server saw your apps do against the documents' guidance (client findings), newest last.</p>{}",
            crate::http::observing::findings_table(&findings)
        )
    };
    page(
        app,
        "Developer apps",
        &format!(
            "{}<h1>Your apps</h1>{notice}<table><tr><th>Name</th><th>client_id</th><th>Kind</th><th>Allowed scopes</th><th>Redirect URIs</th><th></th></tr>{rows}</table>{behaviour}\
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
        app,
        "Connected apps",
        &format!(
            "{}<h1>Connected apps</h1>{body}",
            signed_in_as(app, csrf, user)
        ),
    )
}
