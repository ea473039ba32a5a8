//! PP-APP: apps (clients), their authentication, registration, rotation, deactivation.

use profile::{App, AppKind, Level};
use serde_json::{Value, json};

use super::roles;
use super::{deactivate_app, inactive_or_skip, register_app, signed_in, with_secret};
use crate::check::{Check, Ctx};
use crate::client::{Req, Resp};
use crate::drivers::hidden_inputs;
use crate::kit::flows::{self, with_auth};
use crate::kit::made_up::made_up;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "PP-APP-1/registered-app-has-id-name-scopes-redirects-kind",
            "A registered app is listed with a stable client_id, name, allowed_scopes, redirect URIs and kind",
            run!(registered_app_shape),
        ),
        Check::new(
            "PP-APP-2/confidential-client-authenticates-everywhere",
            "A confidential client must send its secret at the token, refresh and device endpoints; a public one sends client_id only",
            run!(confidential_everywhere),
        )
        .budget("device-code", 3)
        .budget("device-token", 1)
        .budget("refresh", 1)
        .budget("token", 1),
        Check::new(
            "PP-APP-3/wrong-or-missing-secret-is-invalid-client",
            "A wrong or missing secret of a confidential client is 401 invalid_client",
            run!(wrong_secret),
        )
        .budget("token", 2),
        Check::new(
            "PP-APP-3/public-client-sending-secret-is-invalid-client",
            "A public client that sends a secret is 401 invalid_client",
            run!(public_with_secret),
        )
        .budget("device-code", 1)
        .budget("token", 1)
        .part(Level::Decided),
        Check::new(
            "PP-APP-4/inactive-app-is-unauthorized-client",
            "A deactivated app is 400 unauthorized_client at the token and device endpoints",
            run!(inactive_app),
        )
        .budget("device-code", 1)
        .budget("token", 1),
        Check::new(
            "PP-APP-4/unknown-client-is-invalid-client",
            "An unknown client_id at the token and device endpoints is 401 invalid_client",
            run!(unknown_client),
        )
        .budget("device-code", 1)
        .budget("token", 1)
        .part(Level::Decided),
        Check::new(
            "PP-APP-5/deactivation-revokes-every-token",
            "Deactivating an app ends its access and refresh tokens at once",
            run!(deactivation_revokes),
        )
        .budget("token", 2),
        Check::new(
            "PP-APP-6/secrets-are-never-echoed",
            "No response shows a client secret after creation, not even a wrong one sent in",
            run!(secrets_never_echoed),
        )
        .budget("token", 1),
        Check::new(
            "PP-APP-7/register-confidential-and-public-apps",
            "A signed-in user registers apps; a confidential app's secret is shown once, at creation",
            run!(register_apps),
        ),
        Check::new(
            "PP-APP-7/developer-page-lists-and-creates-apps",
            "The /developer/apps page offers the create form, and posting it creates the app",
            run!(developer_page),
        )
        .part(Level::Decided),
        Check::new(
            "PP-APP-7/redirect-uris-must-be-https-or-loopback",
            "A plain-http, non-loopback redirect URI is refused",
            run!(redirect_uri_rules),
        )
        .part(Level::Decided),
        Check::new(
            "PP-APP-8/rotated-secret-replaces-the-old-one-at-once",
            "Rotating a secret issues a new one and the old one stops working at once",
            run!(rotate_secret),
        )
        .budget("token", 2),
        Check::new(
            "PP-APP-8/owner-deactivates-app",
            "The owner deactivates an app; it then cannot run OAuth flows",
            run!(owner_deactivates),
        )
        .budget("token", 1),
    ]
}

async fn registered_app_shape(ctx: &mut Ctx) -> CheckResult {
    signed_in(ctx, false).await?;
    let (app, _) = register_app(ctx, AppKind::Confidential).await?;
    let path = ctx.path("developer_apps");
    for _ in 0..2 {
        // The list holds the apps of other checks too: note only this one.
        let r = app_list(ctx, &path).await?;
        let body = ctx.ok_json(&r)?;
        let apps = body
            .get("apps")
            .and_then(Value::as_array)
            .ok_or_else(|| r.fail("the app list has no `apps` array"))?;
        let mine = apps
            .iter()
            .find(|a| a.get("client_id").and_then(Value::as_str) == Some(app.client_id.as_str()))
            .ok_or_else(|| {
                r.fail("the registered app is missing from the list (client_id not stable?)")
            })?;
        for key in [
            "client_id",
            "name",
            "kind",
            "allowed_scopes",
            "redirect_uris",
            "active",
        ] {
            ensure!(
                mine.get(key).is_some(),
                r,
                "the listed app has no `{key}`: {mine}"
            );
        }
        ensure!(
            mine["kind"] == "confidential",
            r,
            "the app's kind is {}, registered as confidential",
            mine["kind"]
        );
        ensure!(
            mine["name"] == app.name.as_str(),
            r,
            "the app's name is {}, registered as {:?}",
            mine["name"],
            app.name
        );
        ensure!(
            mine["redirect_uris"] == json!(app.redirect_uris),
            r,
            "redirect_uris differ from the registered ones: {}",
            mine["redirect_uris"]
        );
        ctx.note(format!("GET {path} lists the app: {mine}"));
    }
    Ok(())
}

async fn confidential_everywhere(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let tv = roles(ctx)?.tv.clone();
    let no_secret = vec![("client_id".to_owned(), web.client_id.clone())];
    // Device code: with the secret 200, without it invalid_client.
    let dc = ctx.path("device_code");
    let r = ctx.send(Req::post(&dc).form(with_auth(&web, &[]))).await?;
    ctx.ok_json(&r)?;
    let r = ctx.send(Req::post(&dc).form(no_secret.clone())).await?;
    ctx.error_as("PP-APP-3", &r, "invalid_client")?;
    // Token endpoint (refresh grant) and auth/refresh without the secret.
    let token = ctx.path("token");
    let mut form = no_secret.clone();
    form.extend([
        ("grant_type".to_owned(), "refresh_token".to_owned()),
        (
            "refresh_token".to_owned(),
            "conformance-unknown-refresh".to_owned(),
        ),
    ]);
    let r = ctx.send(Req::post(&token).form(form)).await?;
    ctx.error_as("PP-APP-3", &r, "invalid_client")?;
    let refresh = ctx.path("refresh");
    let mut form = no_secret;
    form.push((
        "refresh_token".to_owned(),
        "conformance-unknown-refresh".to_owned(),
    ));
    let r = ctx.send(Req::post(&refresh).form(form)).await?;
    ctx.error_as("PP-APP-3", &r, "invalid_client")?;
    // Device-token polling without the secret.
    let dt = ctx.path("device_token");
    let form = vec![
        ("client_id".to_owned(), web.client_id.clone()),
        (
            "device_code".to_owned(),
            "conformance-unknown-device-code".to_owned(),
        ),
    ];
    let r = ctx.send(Req::post(&dt).form(form)).await?;
    ctx.error_as("PP-APP-3", &r, "invalid_client")?;
    // A public client with client_id only is fine.
    let r = ctx.send(Req::post(&dc).form(with_auth(&tv, &[]))).await?;
    ctx.ok_json(&r)?;
    Ok(())
}

async fn wrong_secret(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let token = ctx.path("token");
    let wrong = with_secret(&web, "conformance-wrong-secret");
    let grant = [
        ("grant_type", "authorization_code"),
        ("code", "conformance-unknown-code"),
        ("redirect_uri", web.redirect_uris[0].as_str()),
        (
            "code_verifier",
            "conformance-verifier-0123456789-0123456789-0123456789",
        ),
    ];
    let r = ctx
        .send(Req::post(&token).form(with_auth(&wrong, &grant)))
        .await?;
    ctx.error(&r, "invalid_client")?;
    let mut missing: Vec<(String, String)> = grant
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    missing.push(("client_id".into(), web.client_id.clone()));
    let r = ctx.send(Req::post(&token).form(missing)).await?;
    ctx.error(&r, "invalid_client")?;
    Ok(())
}

async fn public_with_secret(ctx: &mut Ctx) -> CheckResult {
    let tv = roles(ctx)?.tv.clone();
    let dc = ctx.path("device_code");
    let r = ctx
        .send(Req::post(dc).form([
            ("client_id", tv.client_id.as_str()),
            ("client_secret", "conformance-unexpected-secret"),
        ]))
        .await?;
    ctx.error(&r, "invalid_client")?;
    let token = ctx.path("token");
    let r = ctx
        .send(Req::post(token).form([
            ("grant_type", "refresh_token"),
            ("refresh_token", "conformance-unknown-refresh"),
            ("client_id", tv.client_id.as_str()),
            ("client_secret", "conformance-unexpected-secret"),
        ]))
        .await?;
    ctx.error(&r, "invalid_client")?;
    Ok(())
}

async fn inactive_app(ctx: &mut Ctx) -> CheckResult {
    let app = inactive_or_skip(ctx)?;
    let token = ctx.path("token");
    let redirect = app.redirect_uris.first().cloned().unwrap_or_default();
    let r = ctx
        .send(Req::post(token).form(with_auth(
            &app,
            &[
                ("grant_type", "authorization_code"),
                ("code", "conformance-unknown-code"),
                ("redirect_uri", &redirect),
                (
                    "code_verifier",
                    "conformance-verifier-0123456789-0123456789-0123456789",
                ),
            ],
        )))
        .await?;
    ctx.error(&r, "unauthorized_client")?;
    let dc = ctx.path("device_code");
    let r = ctx.send(Req::post(dc).form(with_auth(&app, &[]))).await?;
    ctx.error(&r, "unauthorized_client")?;
    Ok(())
}

async fn unknown_client(ctx: &mut Ctx) -> CheckResult {
    let token = ctx.path("token");
    let r = ctx
        .send(Req::post(token).form([
            ("grant_type", "refresh_token"),
            ("refresh_token", "conformance-unknown-refresh"),
            ("client_id", made_up("conformance-no-such-client").as_str()),
        ]))
        .await?;
    ctx.error(&r, "invalid_client")?;
    let dc = ctx.path("device_code");
    let r = ctx
        .send(Req::post(dc).form([("client_id", made_up("conformance-no-such-client").as_str())]))
        .await?;
    ctx.error(&r, "invalid_client")?;
    Ok(())
}

/// The owner deactivates `app` and the answer says it is no longer active (PP-APP-8).
async fn owner_deactivates_app(ctx: &mut Ctx, app: &App) -> CheckResult {
    let r = deactivate_app(ctx, app).await?;
    let body = ctx.ok_json(&r)?;
    ensure!(
        body.get("active") == Some(&json!(false)),
        r,
        "the deactivated app answers active={:?}",
        body.get("active")
    );
    Ok(())
}

/// The owner's app list at `path` as JSON, left out of the transcript: it holds the apps
/// of other checks too, so each check notes only what it found of its own.
async fn app_list(ctx: &mut Ctx, path: &str) -> Result<Resp, Problem> {
    ctx.unrecorded(Req::get(path).header("accept", "application/json"))
        .await
}

async fn deactivation_revokes(ctx: &mut Ctx) -> CheckResult {
    signed_in(ctx, false).await?;
    let (app, _) = register_app(ctx, AppKind::Confidential).await?;
    let t = flows::code_tokens(ctx, &app, None).await?;
    let r = flows::me(ctx, &t.access).await?;
    ctx.ok_json(&r)?;
    owner_deactivates_app(ctx, &app).await?;
    let r = flows::me(ctx, &t.access).await?;
    ctx.error(&r, "invalid_token")?;
    let r = flows::refresh_at_token(ctx, &app, &t.refresh, None).await?;
    // Which of the two codes comes is PP-TOKEN-2's or PP-APP-4's to say.
    ctx.pass_through(&r, "PP-APP-4");
    let code = r.error_code().unwrap_or_default();
    if r.status() == 400 && r.error_code().is_none() {
        // Refused, with no envelope to read which code: PP-ERR-1's difference.
        return ctx.error(&r, "invalid_grant").map(drop);
    }
    ensure!(
        r.status() == 400 && (code == "invalid_grant" || code == "unauthorized_client"),
        r,
        "refreshing a deactivated app's token answered {} {code:?}; expected 400 invalid_grant (revoked, PP-TOKEN-2) or unauthorized_client (inactive, PP-APP-4)",
        r.status()
    );
    Ok(())
}

async fn secrets_never_echoed(ctx: &mut Ctx) -> CheckResult {
    let web = roles(ctx)?.web.clone();
    let sent = "conformance-echo-probe-secret-7f3a";
    let token = ctx.path("token");
    let r = ctx
        .send(Req::post(token).form(with_auth(
            &with_secret(&web, sent),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "conformance-unknown-refresh"),
            ],
        )))
        .await?;
    // The refusal itself is PP-APP-3's; this check judges that the secret is not echoed.
    ctx.error_of("PP-APP-3", &r, "invalid_client")?;
    ensure!(
        !r.body().contains(sent),
        r,
        "the error response echoes the secret that was sent"
    );
    signed_in(ctx, false).await?;
    let (app, _) = register_app(ctx, AppKind::Confidential).await?;
    let secret = super::client_secret(&app);
    let path = ctx.path("developer_apps");
    let r = app_list(ctx, &path).await?;
    ensure!(r.status() == 200, r, "the app list answered {}", r.status());
    ensure!(
        !secret.is_empty() && !r.body().contains(&secret),
        r,
        "the app list shows a client secret after creation"
    );
    ensure!(
        !r.body().contains("client_secret"),
        r,
        "the app list carries a `client_secret` member"
    );
    ctx.note(format!("GET {path} shows no client secret"));
    Ok(())
}

async fn register_apps(ctx: &mut Ctx) -> CheckResult {
    signed_in(ctx, false).await?;
    let (conf, r) = register_app(ctx, AppKind::Confidential).await?;
    ensure!(
        conf.secret.is_some(),
        r,
        "a confidential app was created without a `client_secret` in the answer"
    );
    let (public, r) = register_app(ctx, AppKind::Public).await?;
    ensure!(
        public.secret.is_none(),
        r,
        "a public app was given a client_secret"
    );
    ensure!(
        conf.client_id != public.client_id,
        r,
        "two apps got the same client_id"
    );
    // Signed out, the JSON API refuses.
    let mut anon = crate::client::Http::new(ctx.env.http.clone(), ctx.http.source)?;
    std::mem::swap(&mut anon, &mut ctx.http);
    let path = ctx.path("developer_apps");
    let r = ctx
        .send(Req::get(path).header("accept", "application/json"))
        .await;
    std::mem::swap(&mut anon, &mut ctx.http);
    let r = r?;
    ensure!(
        r.status() == 401,
        r,
        "the app list answered {} to a signed-out JSON request, expected 401",
        r.status()
    );
    Ok(())
}

async fn redirect_uri_rules(ctx: &mut Ctx) -> CheckResult {
    signed_in(ctx, false).await?;
    let path = ctx.path("developer_apps");
    let r = ctx
        .send(Req::post(&path).header("accept", "application/json").json(json!({
            "name": "Plain HTTP", "kind": "public", "redirect_uris": ["http://apps.example.com/callback"], "allowed_scopes": ["profile:read"],
        })))
        .await?;
    ctx.error(&r, "invalid_request")?;
    let r = ctx
        .send(Req::post(&path).header("accept", "application/json").json(json!({
            "name": "Secure", "kind": "public", "redirect_uris": ["https://apps.example.com/callback", "http://127.0.0.1:9/cb"], "allowed_scopes": ["profile:read"],
        })))
        .await?;
    ensure!(
        r.status() == 201,
        r,
        "https and loopback-http redirect URIs were refused with {}",
        r.status()
    );
    if let Some(id) = r
        .json()?
        .pointer("/client_id")
        .or(r.json()?.pointer("/app/client_id"))
        .and_then(Value::as_str)
    {
        ctx.volatile(id, "client-id");
    }
    Ok(())
}

async fn rotate_secret(ctx: &mut Ctx) -> CheckResult {
    signed_in(ctx, false).await?;
    let (app, _) = register_app(ctx, AppKind::Confidential).await?;
    let path = format!("{}/{}/secret", ctx.path("developer_apps"), app.client_id);
    // A JSON body, as a script sends it (a page's form would carry its CSRF token).
    let r = ctx
        .send(
            Req::post(path)
                .header("accept", "application/json")
                .json(json!({})),
        )
        .await?;
    let body = ctx.ok_json(&r)?;
    let new = crate::check::str_of(&r, &body, "client_secret")?.to_owned();
    ctx.volatile(&new, "client-secret");
    ensure!(
        Some(new.as_str()) != app.secret.as_ref().map(|s| s.expose()),
        r,
        "the rotated secret equals the old one"
    );
    let token = ctx.path("token");
    let probe = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "conformance-unknown-refresh"),
    ];
    let r = ctx
        .send(Req::post(&token).form(with_auth(&app, &probe)))
        .await?;
    // Judged only where secrets are checked at all (PP-APP-3).
    ctx.error_as("PP-APP-3", &r, "invalid_client")?;
    let r = ctx
        .send(Req::post(&token).form(with_auth(&with_secret(&app, &new), &probe)))
        .await?;
    ctx.error(&r, "invalid_grant")?;
    Ok(())
}

async fn owner_deactivates(ctx: &mut Ctx) -> CheckResult {
    signed_in(ctx, false).await?;
    let (app, _) = register_app(ctx, AppKind::Confidential).await?;
    owner_deactivates_app(ctx, &app).await?;
    let token = ctx.path("token");
    let r = ctx
        .send(Req::post(token).form(with_auth(
            &app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", "conformance-unknown-refresh"),
            ],
        )))
        .await?;
    ctx.error_as("PP-APP-4", &r, "unauthorized_client")?;
    Ok(())
}

async fn developer_page(ctx: &mut Ctx) -> CheckResult {
    signed_in(ctx, false).await?;
    let path = ctx.path("developer_apps");
    let r = ctx.send(Req::get(&path)).await?;
    ensure!(
        r.status() == 200,
        r,
        "the developer page answered {}",
        r.status()
    );
    ensure!(
        r.header("content-type")
            .unwrap_or("")
            .starts_with("text/html"),
        r,
        "the developer page is not HTML"
    );
    for field in [
        "name=\"name\"",
        "name=\"kind\"",
        "name=\"redirect_uris\"",
        "name=\"allowed_scopes\"",
    ] {
        ensure!(
            r.body().contains(field),
            r,
            "the developer page's form has no field {field}"
        );
    }
    let name = format!("Conformance Form {:08x}", rand::random::<u32>());
    ctx.volatile(&name, "app-name");
    let redirect = roles(ctx)?.web.redirect_uris[0].clone();
    let scopes = ctx.env.profile.scopes.known.clone();
    let mut form = vec![
        ("name".to_owned(), name.clone()),
        ("kind".to_owned(), "confidential".to_owned()),
        ("redirect_uris".to_owned(), redirect.clone()),
    ];
    form.extend(
        scopes
            .iter()
            .take(2)
            .map(|s| ("allowed_scopes".to_owned(), s.clone())),
    );
    let hidden = hidden_inputs(r.body(), "name=\"redirect_uris\"").unwrap_or_default();
    let r = ctx.send(Req::post(&path).page_form(hidden, form)).await?;
    ensure!(
        r.status() == 201,
        r,
        "posting the create form answered {}, expected 201",
        r.status()
    );
    let list = app_list(ctx, &path).await?;
    let body = ctx.ok_json(&list)?;
    let apps = body
        .get("apps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mine = apps
        .iter()
        .find(|a| a.get("name").and_then(Value::as_str) == Some(name.as_str()))
        .ok_or_else(|| list.fail("the app created through the form is not in the app list"))?;
    if let Some(id) = mine.get("client_id").and_then(Value::as_str) {
        ctx.volatile(id, "client-id");
    }
    ensure!(
        mine["kind"] == "confidential",
        list,
        "the form's app has kind {}",
        mine["kind"]
    );
    ensure!(
        mine["redirect_uris"] == json!([redirect]),
        list,
        "the form's app has redirect_uris {}",
        mine["redirect_uris"]
    );
    ensure!(
        mine["allowed_scopes"] == json!(scopes[..2]),
        list,
        "the form's app has allowed_scopes {}",
        mine["allowed_scopes"]
    );
    ctx.note(format!("GET {path} lists the app: {mine}"));
    Ok(())
}
