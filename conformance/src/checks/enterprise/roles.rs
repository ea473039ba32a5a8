//! The apps the enterprise checks act as, picked from the credentials by trait (never by
//! fixture id), so a deployment's file with other ids, secrets and companies works: an app
//! of an active enterprise linked to a company and allowed the tags scope; one of an
//! inactive enterprise; one linked to no company; one not allowed the tags scope. A
//! check whose app is missing is skipped with the trait it needs.

use profile::{App, AppKind, Identities, Profile};

use crate::check::Ctx;
use crate::dialect;
use crate::outcome::Problem;

/// The scope `GET /api/tags` needs (EN-API-1, DECIDED `tags:read`).
pub fn tags_scope(profile: &Profile) -> Option<&str> {
    profile.scopes.required.get("tags").map(String::as_str)
}

/// The apps of the credentials, by trait.
#[derive(Debug, Clone, Default)]
pub struct Apps {
    /// Of an active enterprise, linked to a company, allowed the tags scope.
    pub active: Option<App>,
    /// Of an inactive enterprise (EN-TOKEN-3).
    pub inactive: Option<App>,
    /// Of an active enterprise, allowed the tags scope, linked to no company (EN-API-1).
    pub no_company: Option<App>,
    /// Of an active enterprise, not allowed the tags scope (EN-API-1).
    pub no_scopes: Option<App>,
}

impl Apps {
    pub fn pick(ids: &Identities, profile: &Profile) -> Apps {
        let scope = tags_scope(profile);
        let allowed = |a: &App| scope.is_some_and(|s| a.allowed_scopes.iter().any(|x| x == s));
        let usable = |a: &&App| a.kind == AppKind::Confidential && a.secret.is_some();
        let active = |a: &App| a.active && ids.enterprise_active(a);
        let find =
            |keep: &dyn Fn(&App) -> bool| ids.apps.iter().filter(usable).find(|a| keep(a)).cloned();
        Apps {
            active: find(&|a| active(a) && a.company.is_some() && allowed(a)),
            inactive: find(&|a| a.enterprise.is_some() && !ids.enterprise_active(a)),
            no_company: find(&|a| active(a) && a.company.is_none() && allowed(a)),
            no_scopes: find(&|a| active(a) && !allowed(a)),
        }
    }
}

impl dialect::Roles for Apps {
    /// `active`, `inactive`, `no-company`, `no-scopes`.
    fn app_role(&self, app: &App) -> Option<&'static str> {
        [
            ("active", &self.active),
            ("inactive", &self.inactive),
            ("no-company", &self.no_company),
            ("no-scopes", &self.no_scopes),
        ]
        .into_iter()
        .find(|(_, a)| a.as_ref().is_some_and(|a| a.client_id == app.client_id))
        .map(|(role, _)| role)
    }
}

/// The apps of this run (enterprise's checks run with enterprise's environment only).
fn apps(ctx: &Ctx) -> Result<&Apps, Problem> {
    ctx.env.roles::<Apps>().ok_or_else(|| {
        Problem::error("an enterprise check ran with another family's environment (a suite bug)")
    })
}

fn needs(app: Option<App>, what: String) -> Result<App, Problem> {
    app.ok_or_else(|| Problem::skip(format!("needs {what} in the credentials")))
}

fn scope_name(ctx: &Ctx) -> String {
    tags_scope(&ctx.env.profile).unwrap_or("tags").to_owned()
}

/// The app of an active enterprise with a company and the tags scope, or a skip.
pub fn active(ctx: &Ctx) -> Result<App, Problem> {
    let what = format!(
        "an app of an active enterprise, linked to a company and allowed `{}`",
        scope_name(ctx)
    );
    needs(apps(ctx)?.active.clone(), what)
}

pub fn inactive(ctx: &Ctx) -> Result<App, Problem> {
    needs(
        apps(ctx)?.inactive.clone(),
        "an app of an inactive enterprise".to_owned(),
    )
}

pub fn no_company(ctx: &Ctx) -> Result<App, Problem> {
    let what = format!(
        "an app of an active enterprise, allowed `{}` and linked to no company",
        scope_name(ctx)
    );
    needs(apps(ctx)?.no_company.clone(), what)
}

pub fn no_scopes(ctx: &Ctx) -> Result<App, Problem> {
    let what = format!(
        "an app of an active enterprise not allowed `{}`",
        scope_name(ctx)
    );
    needs(apps(ctx)?.no_scopes.clone(), what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixtures_fill_every_role_by_trait() {
        let b = profile::builtin::find("enterprise").expect("built in");
        let apps = Apps::pick(&b.identities(), &b.profile());
        let id = |a: &Option<App>| a.as_ref().map(|a| a.client_id.clone());
        assert_eq!(id(&apps.active).as_deref(), Some("en-acme"));
        assert_eq!(id(&apps.inactive).as_deref(), Some("en-dormant"));
        assert_eq!(id(&apps.no_company).as_deref(), Some("en-orphan"));
        assert_eq!(id(&apps.no_scopes).as_deref(), Some("en-narrow"));
    }
}
