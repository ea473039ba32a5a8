//! The company-scoped API (EN-API-1): a bearer token on every route under the `api` path,
//! checked in the order token → scope → company, `{message}` errors.

use profile::{Level, Profile};
use serde_json::json;

use super::introspect::issued_with_lifetime;
use super::{api_error, issue, roles, tags_request, tags_with};
use crate::check::{Check, Ctx};
use crate::client::Req;
use crate::kit::controls::control;
use crate::outcome::{CheckResult, Problem};
use crate::{ensure, run};

const UNAUTHENTICATED: &str = "Unauthenticated.";
const INSUFFICIENT_SCOPE: &str = "Token does not have the required scope.";
const COMPANY_NOT_FOUND: &str = "Company not found.";

pub fn checks(profile: &Profile) -> Vec<Check> {
    vec![
        Check::new(
            "EN-API-1/missing-or-malformed-token-is-unauthenticated",
            "No Authorization, another scheme, an empty or unknown bearer token: 401 {\"message\": \"Unauthenticated.\"}",
            run!(missing_token),
        )
        .budget("api", 4),
        Check::new(
            "EN-API-1/expired-token-is-unauthenticated",
            "A token past its lifetime is 401 Unauthenticated.; a second before, it still works",
            run!(expired_token),
        )
        .budget("api", 2)
        .exclusive()
        .waits(profile.lifetimes.access_token + 1),
        Check::new(
            "EN-API-1/token-without-the-scope-is-refused",
            "A token without the route's scope is 403 {\"message\": \"Token does not have the required scope.\"}",
            run!(without_scope),
        )
        .budget("api", 1),
        Check::new(
            "EN-API-1/client-without-company-is-company-not-found",
            "A client linked to no company is 404 {\"message\": \"Company not found.\"}",
            run!(without_company),
        )
        .budget("api", 1),
        Check::new(
            "EN-API-1/tags-lists-the-company-tags",
            "GET /api/tags answers {data: [...]}, the client's company's tags in order",
            run!(tags),
        )
        .budget("api", 1)
        .part(Level::Decided),
        Check::new(
            "EN-API-1/unlinking-the-company-is-company-not-found",
            "Once the client is unlinked from its company its token gets 404 Company not found.; linked again, 200 (test controls)",
            run!(unlinked_company),
        )
        .needs_test_controls("(POST /__test/apps/{client_id}/company); EN-API-1/client-without-company-is-company-not-found checks a client with no company")
        .budget("api", 2)
        .exclusive()
        .part(Level::Decided),
    ]
}

async fn missing_token(ctx: &mut Ctx) -> CheckResult {
    let path = ctx.path("tags");
    let requests = [
        Req::get(path.clone()),
        Req::get(path.clone()).header("authorization", "Basic Y29uZm9ybWFuY2U6eA=="),
        Req::get(path.clone()).header("authorization", "Bearer "),
        Req::get(path).bearer("conformance-unknown-token"),
    ];
    for req in requests {
        let r = ctx.send(req).await?;
        api_error(ctx, &r, "unauthenticated", UNAUTHENTICATED, "EN-API-1")?;
    }
    Ok(())
}

async fn expired_token(ctx: &mut Ctx) -> CheckResult {
    let (token, lifetime) = issued_with_lifetime(ctx).await?;
    lifetime.to_just_before_its_end(ctx).await?;
    let r = ctx.send(tags_request(ctx, Some(&token))).await?;
    if r.status() != 200 {
        lifetime.landed_before_its_end(ctx, "the call").await?;
    }
    ensure!(
        r.status() == 200,
        r,
        "EN-API-1: a second before its lifetime ends the token is refused with {}: {}",
        r.status(),
        r.body()
    );
    lifetime.to_just_after_its_end(ctx).await?;
    let r = ctx.send(tags_request(ctx, Some(&token))).await?;
    api_error(ctx, &r, "unauthenticated", UNAUTHENTICATED, "EN-API-1")
}

async fn without_scope(ctx: &mut Ctx) -> CheckResult {
    let app = roles::no_scopes(ctx)?;
    let token = issue(ctx, &app, None).await?.access_token;
    let r = ctx.send(tags_request(ctx, Some(&token))).await?;
    api_error(
        ctx,
        &r,
        "insufficient_scope",
        INSUFFICIENT_SCOPE,
        "EN-API-1",
    )
}

async fn without_company(ctx: &mut Ctx) -> CheckResult {
    let app = roles::no_company(ctx)?;
    let token = issue(ctx, &app, None).await?.access_token;
    let r = ctx.send(tags_request(ctx, Some(&token))).await?;
    api_error(ctx, &r, "company_not_found", COMPANY_NOT_FOUND, "EN-API-1")
}

async fn tags(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let token = issue(ctx, &app, None).await?.access_token;
    let got = tags_with(ctx, &token, "EN-API-1").await?;
    let company = app.company.as_deref().unwrap_or_default();
    let Some(listed) = ctx.env.ids.company(company) else {
        // A deployment's credentials may name the company without listing its tags.
        ctx.note("the credentials do not list the company: its tags are not compared");
        return Ok(());
    };
    if got != listed.tags {
        return Err(Problem::fail(format!(
            "EN-API-1: GET {} lists {got:?}; the credentials give company `{company}` the tags {:?}, in that order",
            ctx.path("tags"),
            listed.tags
        )));
    }
    Ok(())
}

async fn unlinked_company(ctx: &mut Ctx) -> CheckResult {
    let app = roles::active(ctx)?;
    let company = app.company.clone().unwrap_or_default();
    let token = issue(ctx, &app, None).await?.access_token;
    ctx.note("the client is unlinked from its company");
    control(
        ctx,
        &company_control(&app),
        json!({ "company": null }),
        "to link a client to a company",
    )
    .await?;
    let r = ctx.send(tags_request(ctx, Some(&token))).await;
    // Linked again whatever happened: every other check uses this client.
    ctx.note("the client is linked to its company again");
    control(
        ctx,
        &company_control(&app),
        json!({ "company": company }),
        "to link a client to a company",
    )
    .await?;
    api_error(ctx, &r?, "company_not_found", COMPANY_NOT_FOUND, "EN-API-1")?;
    tags_with(ctx, &token, "EN-API-1").await?;
    Ok(())
}

/// The test control linking a client to a company: `POST /__test/apps/{client_id}/company`.
fn company_control(app: &profile::App) -> String {
    format!("/__test/apps/{}/company", app.client_id)
}
