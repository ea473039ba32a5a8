//! Punchplay's checks, one file per area of the contract (PP-*). Each file's `checks()`
//! lists its checks; [`checks`] is the family's suite, in the order the reports and
//! snapshots have always had. The helpers below are shared by these files.

use profile::{App, AppKind, Profile};
use serde_json::{Value, json};

use crate::check::{Check, Ctx, str_of};
use crate::client::{Req, Resp};
use crate::drivers::sign_in;
use crate::ensure;
use crate::outcome::Problem;

pub mod api;
pub mod app;
pub mod authorize;
pub mod budgets;
pub mod device;
pub mod errors;
pub mod members;
pub mod public;
pub mod rate;
pub mod refresh;
pub mod revoke;
pub mod scope;
pub mod time;
pub mod token;

/// Every punchplay check for a profile (rate checks are one set per limit), each with
/// its request budget per rate limit.
pub fn checks(profile: &Profile) -> Vec<Check> {
    let mut v = Vec::new();
    v.extend(app::checks());
    v.extend(scope::checks());
    v.extend(authorize::checks());
    v.extend(token::checks());
    v.extend(device::checks());
    v.extend(refresh::checks());
    v.extend(api::checks());
    v.extend(public::checks());
    v.extend(revoke::checks());
    v.extend(errors::checks());
    v.extend(rate::checks(profile));
    for c in &mut v {
        c.budget = budgets::BUDGETS
            .iter()
            .filter(|(id, _, _)| *id == c.id)
            .map(|(_, limit, n)| (*limit, *n))
            .collect();
    }
    v
}

/// An id the target remembers once sent (a playback `event_id`): fresh per run, so a
/// second run against the same target never repeats one of the first (issue 10 item 4),
/// and redacted to `[kind-n]` so the snapshot stays the same.
pub fn fresh_id(ctx: &mut Ctx, stem: &str, kind: &str) -> String {
    let id = format!("{stem}-{:016x}", rand::random::<u64>());
    ctx.volatile(&id, kind);
    id
}

/// Signs the primary user in through the sign-in form (recorded: the page flow is part
/// of what some checks assert).
pub async fn signed_in(ctx: &mut Ctx, other: bool) -> Result<profile::User, Problem> {
    let user = if other {
        ctx.env
            .roles
            .other_user
            .clone()
            .ok_or_else(|| Problem::skip("needs a second test user in the credentials"))?
    } else {
        ctx.env.roles.user.clone()
    };
    let r = sign_in(ctx, &user, "/").await?;
    if !(300..400).contains(&r.status()) {
        return Err(r.fail(format!(
            "signing in as `{}` through the sign-in form answered {}",
            user.username,
            r.status()
        )));
    }
    Ok(user)
}

/// Registers an app as the signed-in user through `/developer/apps` (JSON, PP-APP-7) and
/// returns it with its secret; the new client id and secret are redacted.
pub async fn register_app(ctx: &mut Ctx, kind: AppKind) -> Result<(App, Resp), Problem> {
    let redirect = ctx.env.roles.web.redirect_uris[0].clone();
    let scopes = ctx.env.profile.scopes.known.clone();
    let kind_s = match kind {
        AppKind::Public => "public",
        AppKind::Confidential => "confidential",
    };
    let path = ctx.path("developer_apps");
    // A name of its own per run, so a rerun's apps are told from the last run's.
    let name = fresh_id(ctx, "Conformance Probe", "app-name");
    let r = ctx
        .send(Req::post(path).header("accept", "application/json").json(json!({
            "name": name, "kind": kind_s, "redirect_uris": [redirect], "allowed_scopes": scopes,
        })))
        .await?;
    if r.status() != 201 {
        return Err(r.fail(format!(
            "PP-APP-7: registering an app answered {}, expected 201: {}",
            r.status(),
            r.body()
        )));
    }
    let body = r.json()?;
    let app_v = body.get("app").unwrap_or(&body);
    let client_id = str_of(&r, app_v, "client_id")
        .or_else(|_| str_of(&r, &body, "client_id"))?
        .to_owned();
    ctx.volatile(&client_id, "client-id");
    let secret = body
        .get("client_secret")
        .or_else(|| app_v.get("client_secret"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(s) = &secret {
        ctx.volatile(s, "client-secret");
    }
    let app = App {
        client_id,
        name,
        kind,
        secret: secret.map(profile::Secret::new),
        secret_env: None,
        allowed_scopes: ctx.env.profile.scopes.known.clone(),
        redirect_uris: vec![redirect],
        active: true,
        grant_types: Vec::new(),
        enterprise: None,
        company: None,
    };
    Ok((app, r))
}

/// Fails unless `resp` is a 302 whose Location is `redirect_uri` with `error=code`,
/// `state` echoed and a `request_id` in the profile's format (PP-AUTHZ-4).
pub fn error_redirect(
    ctx: &Ctx,
    resp: &Resp,
    redirect_uri: &str,
    code: &str,
    state: &str,
) -> Result<(), Problem> {
    if resp.status() != 302 {
        return Err(resp.fail(format!(
            "expected a 302 error redirect with `{code}`, got {}",
            resp.status()
        )));
    }
    let loc = resp.location()?;
    let base = format!("{}{}", loc.origin().ascii_serialization(), loc.path());
    crate::ensure!(
        base == redirect_uri,
        resp,
        "the error redirect goes to {base}, not the registered {redirect_uri}"
    );
    let q = |k: &str| crate::flows::query(&loc, k);
    crate::ensure!(
        q("error").as_deref() == Some(code),
        resp,
        "the error redirect carries error={:?}, expected `{code}`",
        q("error")
    );
    crate::ensure!(
        q("state").as_deref() == Some(state),
        resp,
        "PP-AUTHZ-4: the error redirect does not echo `state` (got {:?})",
        q("state")
    );
    let rid = q("request_id");
    crate::ensure!(
        rid.as_deref()
            .is_some_and(|r| ctx.env.profile.expect_punchplay().request_id.matches(r)),
        resp,
        "PP-AUTHZ-4: the error redirect carries request_id={rid:?}, expected `{}` + {} hex",
        ctx.env.profile.expect_punchplay().request_id.prefix,
        ctx.env.profile.expect_punchplay().request_id.hex_len
    );
    Ok(())
}

/// How a check names a page a person reads, in the failures of [`page_shows_app`].
pub struct PageWording {
    /// What answered, as in "… answered 500".
    pub answered: &'static str,
    /// The failure when the app's name is missing; the name follows.
    pub lacks_name: &'static str,
    /// The failure when a scope is missing; the scope follows in backticks.
    pub lacks_scope: &'static str,
}

/// The page is a 200 showing the app's name, HTML-escaped, and each of `scopes`: what a
/// person must see before deciding for an app (approval, activate) or revoking it
/// (connected apps).
pub fn page_shows_app<'s>(
    r: &Resp,
    wording: &PageWording,
    app: &App,
    scopes: impl IntoIterator<Item = &'s str>,
) -> Result<(), Problem> {
    ensure!(
        r.status() == 200,
        r,
        "{} answered {}",
        wording.answered,
        r.status()
    );
    let name = html_escape::encode_text(&app.name).into_owned();
    ensure!(
        r.body().contains(&name),
        r,
        "{} {:?}",
        wording.lacks_name,
        app.name
    );
    for s in scopes {
        ensure!(r.body().contains(s), r, "{} `{s}`", wording.lacks_scope);
    }
    Ok(())
}

/// The owner deactivates `app` on the developer pages (PP-APP-8), asking for JSON.
pub async fn deactivate_app(ctx: &mut Ctx, app: &App) -> Result<Resp, Problem> {
    let path = format!(
        "{}/{}/deactivate",
        ctx.path("developer_apps"),
        app.client_id
    );
    // A JSON body, as a script sends it: a page's form would carry the page's CSRF token
    // instead, and `Accept` alone proves nothing about where the request came from.
    ctx.send(
        Req::post(path)
            .header("accept", "application/json")
            .json(json!({})),
    )
    .await
}

/// The scope set of a space-separated string, sorted.
pub fn scope_set(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split_whitespace().map(str::to_owned).collect();
    v.sort();
    v.dedup();
    v
}

/// The public app the checks use when a narrow public app is needed but absent.
pub fn spa_or_skip(ctx: &Ctx) -> Result<App, Problem> {
    ctx.env.roles.spa.clone().ok_or_else(|| {
        Problem::skip("needs an active public app with a redirect URI and fewer scopes than the profile knows")
    })
}

pub fn inactive_or_skip(ctx: &Ctx) -> Result<App, Problem> {
    ctx.env
        .roles
        .inactive
        .clone()
        .ok_or_else(|| Problem::skip("needs a deactivated app in the credentials"))
}

/// The app's client secret in the clear, for HTTP Basic; empty when it has none.
pub fn client_secret(app: &App) -> String {
    app.secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .unwrap_or_default()
}

/// A copy of `app` whose secret is replaced.
pub fn with_secret(app: &App, secret: &str) -> App {
    let mut a = app.clone();
    a.secret = Some(profile::Secret::new(secret));
    a.kind = AppKind::Confidential;
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_budget_row_names_a_check_and_a_limit() {
        let profile = Profile::punchplay();
        let checks = super::checks(&profile);
        for (id, limit, _) in budgets::BUDGETS {
            assert!(
                checks.iter().any(|c| c.id == *id),
                "budgets.rs names no check {id}"
            );
            assert!(
                profile.rate_limit(limit).is_some(),
                "budgets.rs names no limit {limit}"
            );
        }
    }
}
