//! The test controls that shape the server at run time (issue 21 item 2), for every
//! family: `POST /__test/apps` (an app with the id, secret, scopes, redirect URIs and grant
//! types a test chooses; for enterprise its enterprise and company), `POST /__test/users`
//! and `POST /__test/tokens` (a token for client, user and scopes in one call, without a
//! browser). The rules live in `core/shaping.rs` and the family's hooks; this parses and
//! answers. Served only with `--test-controls`; a reset removes what they made.
//! `docs/test-controls.schema.json` describes every body and answer.

use hyper::{Response, StatusCode};
use profile::{App as NewApp, AppKind, Secret};
use serde::Deserialize;
use serde_json::{Value, json};

use super::pack::MintRequest;
use super::respond::{self, Body};
use super::test_answers::{body_as, ok_with_now};
use super::{App, Ctx};
use crate::core::clock::rfc3339;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::secrets::random_from;

/// `POST /__test/apps`' body; what is left out takes the default the schema names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppBody {
    client_id: Option<String>,
    name: Option<String>,
    kind: Option<AppKind>,
    client_secret: Option<String>,
    allowed_scopes: Option<Vec<String>>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    grant_types: Vec<String>,
    active: Option<bool>,
    enterprise: Option<String>,
    company: Option<String>,
}

/// `POST /__test/users`' body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    username: String,
    password: Option<String>,
    display_name: Option<String>,
}

/// Serves the shaping controls; `None` for any other path.
pub fn handle(
    app: &App,
    ctx: &Ctx,
    segments: &[&str],
    body: &[u8],
) -> Option<ProtocolResult<Response<Body>>> {
    if ctx.method != hyper::Method::POST {
        return None;
    }
    match segments {
        ["apps"] => Some(create_app(app, body)),
        ["users"] => Some(create_user(app, body)),
        ["tokens"] => Some(mint_token(app, body)),
        _ => None,
    }
}

/// A 201 answer with the server's clock as `now`, as every test control's.
fn created(app: &App, mut value: Value) -> ProtocolResult<Response<Body>> {
    if let Value::Object(members) = &mut value {
        members.insert("now".into(), Value::String(rfc3339(app.core.now())));
    }
    Ok(respond::json(StatusCode::CREATED, &value))
}

fn create_app(app: &App, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let b: AppBody = body_as(body)?;
    let client_id = b.client_id.unwrap_or_else(|| {
        format!(
            "app-{}",
            random_from(b"abcdefghijkmnpqrstuvwxyz23456789", 12)
        )
    });
    let new = NewApp {
        name: b.name.unwrap_or_else(|| client_id.clone()),
        client_id,
        kind: b.kind.unwrap_or(AppKind::Confidential),
        secret: b.client_secret.map(Secret::new),
        secret_env: None,
        allowed_scopes: b
            .allowed_scopes
            .unwrap_or_else(|| app.core.profile.scopes.known.clone()),
        redirect_uris: b.redirect_uris,
        active: b.active.unwrap_or(true),
        grant_types: b.grant_types,
        enterprise: b.enterprise,
        company: b.company,
    };
    let (enterprise, company) = (new.enterprise.clone(), new.company.clone());
    let (record, secret) = app.core.create_app(new, app.pack().app_grant_types())?;
    tracing::info!(client_id = %record.client_id, "app created by the test controls");
    let mut answer = json!({
        "client_id": record.client_id,
        "name": record.name,
        "kind": record.kind,
        "allowed_scopes": record.allowed_scopes.iter().collect::<Vec<_>>(),
        "redirect_uris": record.redirect_uris,
        "grant_types": record.grant_types,
        "active": record.active,
    });
    let members = answer.as_object_mut().expect("an object");
    if let Some(secret) = secret {
        members.insert("client_secret".into(), secret.into());
    }
    if let Some(e) = enterprise {
        members.insert("enterprise".into(), e.into());
    }
    if let Some(c) = company {
        members.insert("company".into(), c.into());
    }
    created(app, answer)
}

fn create_user(app: &App, body: &[u8]) -> ProtocolResult<Response<Body>> {
    if !app.pack().has_users() {
        return Err(ProtocolError::not_found(format!(
            "The {} family has no users: its tokens are a client's own. Create an app instead (POST /__test/apps).",
            app.pack().name()
        )));
    }
    let b: UserBody = body_as(body)?;
    let (user, password) = app
        .core
        .create_user(&b.username, b.password, b.display_name)?;
    created(
        app,
        json!({
            "username": user.username,
            "password": password,
            "display_name": user.display_name,
        }),
    )
}

fn mint_token(app: &App, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let request: MintRequest = body_as(body)?;
    let mut answer = app.pack().mint_token(app, &request)?;
    if let Value::Object(members) = &mut answer {
        members.insert("client_id".into(), request.client_id.into());
        if let Some(user) = request.username {
            members.insert("username".into(), user.into());
        }
    }
    ok_with_now(app, answer)
}
