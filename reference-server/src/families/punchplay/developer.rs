//! The developer pages (PP-APP-7, PP-APP-8) and the connected-apps page
//! (PP-REVOKE-1). Each answers JSON when asked (`Accept: application/json`), a page
//! otherwise.

use hyper::{Response, StatusCode};
use profile::AppKind;
use serde::Deserialize;

use super::pages;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::registry::{AppRecord, NewApp};
use crate::http::request::{self, form_pairs, parse_json, wants_json};
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx, ok_json};

/// The signed-in user, or the answer for a signed-out one: JSON 401 `invalid_token`, or
/// a redirect to the sign-in page.
fn signed_in(app: &App, ctx: &Ctx) -> Result<String, Box<Response<Body>>> {
    if let Some((_, user)) = app.session(ctx) {
        return Ok(user);
    }
    if wants_json(&ctx.headers) {
        let e = ProtocolError::invalid_token("Sign in first: this page needs a PunchPlay session.");
        return Err(Box::new(app.error_response(&e, ctx)));
    }
    let next = ctx.path_and_query();
    let location = format!(
        "{}?next={}",
        app.core.profile.path("login"),
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    Err(Box::new(respond::redirect(
        StatusCode::SEE_OTHER,
        &location,
    )))
}

pub fn app_json(a: &AppRecord) -> serde_json::Value {
    serde_json::json!({
        "client_id": a.client_id,
        "name": a.name,
        "kind": match a.kind { AppKind::Public => "public", AppKind::Confidential => "confidential" },
        "allowed_scopes": a.allowed_scopes.iter().collect::<Vec<_>>(),
        "redirect_uris": a.redirect_uris,
        "active": a.active,
    })
}

pub fn list_apps(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let user = match signed_in(app, ctx) {
        Ok(u) => u,
        Err(answer) => return Ok(*answer),
    };
    let apps = app.core.apps_of(&user);
    if wants_json(&ctx.headers) {
        return ok_json(
            &serde_json::json!({"apps": apps.iter().map(app_json).collect::<Vec<_>>()}),
        );
    }
    Ok(respond::html(
        StatusCode::OK,
        pages::developer_apps(app, ctx.csrf.for_form(), &user, &apps, None),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAppJson {
    name: String,
    kind: AppKind,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    allowed_scopes: Vec<String>,
}

fn new_app_from_form(bytes: &[u8]) -> ProtocolResult<NewApp> {
    let pairs = form_pairs(bytes)?;
    let one = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let kind = match one("kind").as_deref() {
        Some("public") => AppKind::Public,
        Some("confidential") => AppKind::Confidential,
        _ => {
            return Err(ProtocolError::invalid_request(
                "kind must be `public` or `confidential`.",
            ));
        }
    };
    Ok(NewApp {
        name: one("name").unwrap_or_default(),
        kind,
        redirect_uris: one("redirect_uris")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        allowed_scopes: pairs
            .iter()
            .filter(|(k, _)| k == "allowed_scopes")
            .flat_map(|(_, v)| v.split_whitespace().map(str::to_owned))
            .collect(),
    })
}

/// `POST /developer/apps` (PP-APP-7): the secret appears in this answer only.
pub fn create_app(app: &App, ctx: &Ctx, bytes: &[u8]) -> ProtocolResult<Response<Body>> {
    let user = match signed_in(app, ctx) {
        Ok(u) => u,
        Err(answer) => return Ok(*answer),
    };
    let as_json = wants_json(&ctx.headers);
    let is_json_body = request::media_type_is(&ctx.headers, "application/json");
    let new = if is_json_body {
        let value = parse_json(bytes)?;
        let parsed: NewAppJson = serde_json::from_value(value)
            .map_err(|e| ProtocolError::invalid_request(format!("The app is malformed: {e}.")))?;
        NewApp {
            name: parsed.name,
            kind: parsed.kind,
            redirect_uris: parsed.redirect_uris,
            allowed_scopes: parsed.allowed_scopes,
        }
    } else {
        new_app_from_form(bytes)?
    };
    match app.core.register_app(&user, new) {
        Ok((record, secret)) if as_json => {
            let mut body = app_json(&record);
            if let Some(secret) = secret {
                body["client_secret"] = secret.into();
            }
            // The secret is shown once: no cache keeps it.
            Ok(respond::no_store(respond::json(StatusCode::CREATED, &body)))
        }
        Ok((record, secret)) => {
            let apps = app.core.apps_of(&user);
            let notice = pages::Notice::Created {
                app: record,
                secret,
            };
            Ok(respond::html(
                StatusCode::CREATED,
                pages::developer_apps(app, ctx.csrf.for_form(), &user, &apps, Some(notice)),
            ))
        }
        Err(e) if as_json => Err(e),
        Err(e) => {
            let apps = app.core.apps_of(&user);
            Ok(respond::html(
                StatusCode::BAD_REQUEST,
                pages::developer_apps(
                    app,
                    ctx.csrf.for_form(),
                    &user,
                    &apps,
                    Some(pages::Notice::Error(e.message)),
                ),
            ))
        }
    }
}

/// The app a developer or connected-apps POST names in its path.
fn client_id_of(ctx: &Ctx) -> &str {
    ctx.param.as_deref().unwrap_or_default()
}

/// `POST /developer/apps/{client_id}/secret` (PP-APP-8).
pub fn rotate_secret(app: &App, ctx: &Ctx, _body: &[u8]) -> ProtocolResult<Response<Body>> {
    let client_id = client_id_of(ctx);
    let user = match signed_in(app, ctx) {
        Ok(u) => u,
        Err(answer) => return Ok(*answer),
    };
    let secret = app.core.rotate_secret(&user, client_id)?;
    if wants_json(&ctx.headers) {
        return Ok(respond::no_store(respond::json(
            StatusCode::OK,
            &serde_json::json!({"client_id": client_id, "client_secret": secret}),
        )));
    }
    let apps = app.core.apps_of(&user);
    let record = apps.iter().find(|a| a.client_id == client_id).cloned();
    let notice = match record {
        Some(app) => pages::Notice::Rotated { app, secret },
        None => pages::Notice::Error("The app disappeared.".into()),
    };
    Ok(respond::html(
        StatusCode::OK,
        pages::developer_apps(app, ctx.csrf.for_form(), &user, &apps, Some(notice)),
    ))
}

/// `POST /developer/apps/{client_id}/deactivate` (PP-APP-8, PP-APP-5).
pub fn deactivate_app(app: &App, ctx: &Ctx, _body: &[u8]) -> ProtocolResult<Response<Body>> {
    let client_id = client_id_of(ctx);
    let user = match signed_in(app, ctx) {
        Ok(u) => u,
        Err(answer) => return Ok(*answer),
    };
    let (record, revoked) = app.core.deactivate_app(Some(&user), client_id)?;
    if wants_json(&ctx.headers) {
        let mut body = app_json(&record);
        body["revoked_tokens"] = revoked.into();
        return ok_json(&body);
    }
    Ok(respond::redirect(
        StatusCode::SEE_OTHER,
        app.core.profile.path("developer_apps"),
    ))
}

/// `GET /settings/connected-apps` (PP-REVOKE-1).
pub fn connected_apps(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let user = match signed_in(app, ctx) {
        Ok(u) => u,
        Err(answer) => return Ok(*answer),
    };
    let apps = app.core.connected_apps(&user);
    if wants_json(&ctx.headers) {
        let list: Vec<_> = apps
            .iter()
            .map(|(id, name, scope)| serde_json::json!({"client_id": id, "name": name, "scope": scope}))
            .collect();
        return ok_json(&serde_json::json!({"apps": list}));
    }
    Ok(respond::html(
        StatusCode::OK,
        pages::connected_apps(app, ctx.csrf.for_form(), &user, &apps),
    ))
}

/// `POST /settings/connected-apps/{client_id}/revoke` (PP-REVOKE-1).
pub fn revoke_connected_app(app: &App, ctx: &Ctx, _body: &[u8]) -> ProtocolResult<Response<Body>> {
    let client_id = client_id_of(ctx);
    let user = match signed_in(app, ctx) {
        Ok(u) => u,
        Err(answer) => return Ok(*answer),
    };
    let revoked = app.core.revoke_user_app(&user, client_id)?;
    if wants_json(&ctx.headers) {
        return ok_json(&serde_json::json!({"client_id": client_id, "revoked_tokens": revoked}));
    }
    Ok(respond::redirect(
        StatusCode::SEE_OTHER,
        app.core.profile.path("connected_apps"),
    ))
}
