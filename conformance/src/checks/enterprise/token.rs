//! The token endpoint (EN-TOKEN-1..4) and its request validation (EN-VALID-1): client
//! credentials in a JSON body, the refusals with their exact bodies, the scope rules.

use profile::Level;
use serde_json::json;

use contract_client::families::enterprise as answers;

use super::{issue, refusal, roles, scope_set, token_request};
use crate::check::{Check, Ctx};
use crate::client::{Req, Resp};
use crate::kit::controls::control;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

/// EN-TOKEN-2: the body of every client-authentication failure, exactly.
const INVALID_CLIENT_MESSAGE: &str = "Client authentication failed. Check client ID/secret.";
const INVALID_CLIENT_DETAIL: &str = "Client authentication failed";
/// EN-TOKEN-3.
const INACTIVE_ENTERPRISE: &str = "Inactive enterprise.";

pub fn checks() -> Vec<Check> {
    vec![
        Check::new(
            "EN-TOKEN-1/client-credentials-issue-a-bearer-token",
            "JSON client_id and client_secret get 200 {success: true, message, data: {access_token, token_type Bearer, expires_in, scope}}",
            run!(issues),
        ),
        Check::new(
            "EN-TOKEN-1/expires-in-is-the-profile-lifetime",
            "expires_in is the profile's access-token lifetime",
            run!(expires_in),
        )
        .part(Level::Decided),
        Check::new(
            "EN-TOKEN-2/wrong-secret-is-invalid-client",
            "A wrong secret is 401 with the documented invalid_client body",
            run!(wrong_secret),
        ),
        Check::new(
            "EN-TOKEN-2/unknown-client-is-invalid-client",
            "An unknown client id is 401 with the documented invalid_client body",
            run!(unknown_client),
        ),
        Check::new(
            "EN-TOKEN-3/inactive-enterprise-is-refused",
            "A client of an inactive enterprise is 403 {success: false, message: \"Inactive enterprise.\"}",
            run!(inactive_enterprise),
        ),
        Check::new(
            "EN-TOKEN-3/deactivating-the-enterprise-refuses-new-tokens",
            "Once its enterprise is deactivated a client gets 403, and tokens again once it is reactivated (test controls)",
            run!(deactivated_enterprise),
        )
        .needs_test_controls("(POST /__test/enterprises/{id}/deactivate): a deployment's enterprises are deactivated by a person; EN-TOKEN-3/inactive-enterprise-is-refused checks an inactive one")
        .exclusive(),
        Check::new(
            "EN-VALID-1/missing-fields-get-one-entry-each",
            "Missing client_id and client_secret are 422 {field: [message]}, one entry per missing field and only those",
            run!(missing_fields),
        ),
        Check::new(
            "EN-VALID-1/messages-name-the-field",
            "Each entry says \"The client id field is required.\" style",
            run!(validation_messages),
        )
        .part(Level::Decided),
        Check::new(
            "EN-TOKEN-4/omitted-scope-grants-the-allowed-scopes",
            "Without scope a client gets every scope it is allowed; asking one it is allowed gets it",
            run!(omitted_scope),
        ),
        Check::new(
            "EN-TOKEN-4/client-allowed-no-scope-gets-none",
            "Without scope a client allowed no scope gets a token with an empty scope",
            run!(no_scope_allowed),
        ),
        Check::new(
            "EN-TOKEN-4/scope-the-client-is-not-allowed-is-invalid-scope",
            "Asking a known scope the client is not allowed is 400 invalid_scope",
            run!(scope_not_allowed),
        ),
        Check::new(
            "EN-TOKEN-4/scope-outside-the-allowed-is-invalid-scope",
            "An unknown scope is 400 {success: false, message, details: {error: invalid_scope}}",
            run!(scope_outside),
        ),
    ]
}

async fn issues(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    issue(ctx, &app, None).await?;
    Ok(())
}

async fn expires_in(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let token = issue(ctx, &app, None).await?;
    let want = ctx.profile().lifetimes.access_token;
    let r = ctx.last_response()?;
    ensure!(
        token.expires_in == want,
        r,
        "EN-TOKEN-1: expires_in is {}, the profile's access-token lifetime is {want} s",
        token.expires_in
    );
    Ok(())
}

/// EN-TOKEN-2's body, to the character.
fn invalid_client(ctx: &Ctx, r: &Resp) -> CheckResult {
    let got = refusal(
        ctx,
        r,
        "invalid_client",
        INVALID_CLIENT_MESSAGE,
        "EN-TOKEN-2",
    )?;
    let details = got
        .details
        .ok_or_else(|| r.fail("EN-TOKEN-2: the body has no `details`"))?;
    ensure!(
        details.error == "invalid_client"
            && details.error_description.as_deref() == Some(INVALID_CLIENT_DETAIL)
            && details.message.as_deref() == Some(INVALID_CLIENT_DETAIL),
        r,
        "EN-TOKEN-2: `details` must be {{error: \"invalid_client\", error_description: {INVALID_CLIENT_DETAIL:?}, message: {INVALID_CLIENT_DETAIL:?}}}, got {details:?}"
    );
    Ok(())
}

async fn wrong_secret(ctx: &mut Ctx) -> CheckResult {
    let mut app = roles::active(ctx)?;
    app.secret = Some(profile::Secret::new("conformance-wrong-secret"));
    let r = ctx.send(token_request(ctx, &app, None)).await?;
    invalid_client(ctx, &r)
}

async fn unknown_client(ctx: &mut Ctx) -> CheckResult {
    let mut app = roles::active(ctx)?;
    app.client_id = "conformance-unknown-client".to_owned();
    let r = ctx.send(token_request(ctx, &app, None)).await?;
    invalid_client(ctx, &r)
}

async fn inactive_enterprise(ctx: &mut Ctx) -> CheckResult {
    let app = roles::inactive(ctx)?;
    let r = ctx.send(token_request(ctx, &app, None)).await?;
    refusal(
        ctx,
        &r,
        "inactive_enterprise",
        INACTIVE_ENTERPRISE,
        "EN-TOKEN-3",
    )
    .map(|_| ())
}

async fn deactivated_enterprise(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let enterprise = app
        .enterprise
        .clone()
        .ok_or_else(|| Problem::skip("needs the active app's `enterprise` in the credentials"))?;
    ctx.note("the client's enterprise is deactivated");
    control(
        ctx,
        &format!("/__test/enterprises/{enterprise}/deactivate"),
        json!({}),
        "to deactivate an enterprise",
    )
    .await?;
    let r = ctx.send(token_request(ctx, &app, None)).await;
    // Reactivated whatever happened: every other check uses this enterprise.
    ctx.note("the client's enterprise is activated again");
    control(
        ctx,
        &format!("/__test/enterprises/{enterprise}/activate"),
        json!({}),
        "to deactivate an enterprise",
    )
    .await?;
    refusal(
        ctx,
        &r?,
        "inactive_enterprise",
        INACTIVE_ENTERPRISE,
        "EN-TOKEN-3",
    )?;
    issue(ctx, &app, None).await?;
    Ok(())
}

/// The fields of a 422 validation map (EN-VALID-1), failing on another status or shape.
fn validation_fields(
    ctx: &Ctx,
    r: &Resp,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, Problem> {
    let want = ctx.profile().status_of("validation");
    ensure!(
        r.status() == want,
        r,
        "EN-VALID-1: expected {want} for missing fields, got {}: {}",
        r.status(),
        r.body()
    );
    answers::read_validation(r.body().as_bytes()).map_err(|p| r.fail(format!("EN-VALID-1: {p}")))
}

/// The three requests with fields missing: none, the secret only, the id only; each with
/// the fields its answer must name. The id is an unknown one where sent alone: the
/// validation runs before authentication.
fn missing_field_requests(ctx: &Ctx, app: &profile::App) -> Vec<(Req, Vec<&'static str>)> {
    let secret = app
        .secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .unwrap_or_default();
    let token = ctx.path("token");
    vec![
        (
            Req::post(token.clone()).json(json!({})),
            vec!["client_id", "client_secret"],
        ),
        (
            Req::post(token.clone()).json(json!({"client_id": app.client_id})),
            vec!["client_secret"],
        ),
        (
            Req::post(token).json(json!({"client_secret": secret})),
            vec!["client_id"],
        ),
    ]
}

/// Sends the three requests and answers each answer with its validation map, after
/// asserting every map names exactly the missing fields. The messages are registered as
/// volatile: their wording is DECIDED and checked by its own check.
async fn sent_missing_fields(
    ctx: &mut Ctx,
) -> Result<Vec<(Resp, std::collections::BTreeMap<String, Vec<String>>)>, Problem> {
    let app = roles::active(ctx)?;
    let mut out = Vec::new();
    for (req, missing) in missing_field_requests(ctx, &app) {
        let r = ctx.send(req).await?;
        let fields = validation_fields(ctx, &r)?;
        let named: Vec<&str> = fields.keys().map(String::as_str).collect();
        ensure!(
            named == missing,
            r,
            "EN-VALID-1: the answer names the fields {named:?}, the request misses {missing:?} (one entry per missing field, only those)"
        );
        for m in fields.values().flatten() {
            ctx.volatile(m, "validation-message");
        }
        out.push((r, fields));
    }
    Ok(out)
}

async fn missing_fields(ctx: &mut Ctx) -> CheckResult {
    sent_missing_fields(ctx).await.map(|_| ())
}

async fn validation_messages(ctx: &mut Ctx) -> CheckResult {
    for (r, fields) in sent_missing_fields(ctx).await? {
        for (field, messages) in &fields {
            let want = format!("The {} field is required.", field.replace('_', " "));
            ensure!(
                messages.first() == Some(&want),
                r,
                "EN-VALID-1: the entry of `{field}` is {messages:?}, expected [{want:?}]"
            );
        }
    }
    Ok(())
}

async fn omitted_scope(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let token = issue(ctx, &app, None).await?;
    let r = ctx.last_response()?;
    let allowed = scope_set(&app.allowed_scopes.join(" "));
    ensure!(
        scope_set(&token.scope) == allowed,
        r,
        "EN-TOKEN-4: without `scope` the token carries {:?}; the client is allowed {allowed:?}",
        token.scope
    );
    let asked = roles::tags_scope(ctx.profile())
        .unwrap_or_default()
        .to_owned();
    let token = issue(ctx, &app, Some(&asked)).await?;
    let r = ctx.last_response()?;
    ensure!(
        scope_set(&token.scope) == scope_set(&asked),
        r,
        "EN-TOKEN-4: asking `{asked}` the token carries {:?}",
        token.scope
    );
    Ok(())
}

async fn no_scope_allowed(ctx: &mut Ctx) -> CheckResult {
    let narrow = roles::no_scopes(ctx)?;
    let token = issue(ctx, &narrow, None).await?;
    let r = ctx.last_response()?;
    let allowed = scope_set(&narrow.allowed_scopes.join(" "));
    ensure!(
        scope_set(&token.scope) == allowed,
        r,
        "EN-TOKEN-4: without `scope` the token carries {:?}; the client is allowed {allowed:?}",
        token.scope
    );
    Ok(())
}

/// EN-TOKEN-4's refusal: 400 `{success: false, message, details: {error: invalid_scope}}`.
fn invalid_scope(ctx: &Ctx, r: &Resp) -> CheckResult {
    let want = ctx.profile().status_of("invalid_scope");
    ensure!(
        r.status() == want,
        r,
        "EN-TOKEN-4: expected {want}, got {}: {}",
        r.status(),
        r.body()
    );
    let got = answers::read_refusal(r.body().as_bytes())
        .map_err(|p| r.fail(format!("EN-TOKEN-4: {p}")))?;
    let error = got.details.map(|d| d.error);
    ensure!(
        error.as_deref() == Some("invalid_scope"),
        r,
        "EN-TOKEN-4: `details.error` is {error:?}, expected \"invalid_scope\""
    );
    Ok(())
}

async fn scope_outside(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let r = ctx
        .send(token_request(ctx, &app, Some("conformance:unknown")))
        .await?;
    invalid_scope(ctx, &r)?;
    Ok(())
}

async fn scope_not_allowed(ctx: &mut Ctx) -> CheckResult {
    let narrow = roles::no_scopes(ctx)?;
    let asked = roles::tags_scope(ctx.profile())
        .unwrap_or_default()
        .to_owned();
    let r = ctx.send(token_request(ctx, &narrow, Some(&asked))).await?;
    invalid_scope(ctx, &r)
}
