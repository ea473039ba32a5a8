//! The apps the enterprise checks act as, picked from the credentials by trait (never by
//! fixture id), so a deployment's file with other ids, secrets and companies works: an app
//! of an active enterprise linked to a company and allowed the tags scope; one of an
//! inactive enterprise; one linked to no company; one not allowed the tags scope. A
//! check whose app is missing is skipped with the trait it needs.

use profile::{App, AppKind, Identities, Profile};

use crate::check::{Ctx, Env};
use crate::outcome::Problem;
use crate::redact::Redactor;

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

    /// The role an app plays, as its placeholders name it: `active`, `inactive`,
    /// `no-company`, `no-scopes`, or `app<N>` (its place in the file).
    pub fn role_of(&self, ids: &Identities, app: &App) -> String {
        [
            ("active", &self.active),
            ("inactive", &self.inactive),
            ("no-company", &self.no_company),
            ("no-scopes", &self.no_scopes),
        ]
        .iter()
        .find(|(_, a)| a.as_ref().is_some_and(|a| a.client_id == app.client_id))
        .map(|(role, _)| (*role).to_owned())
        .unwrap_or_else(|| {
            let n = ids.apps.iter().position(|a| a.client_id == app.client_id);
            format!("app{}", n.map_or(0, |n| n + 1))
        })
    }
}

/// Registers every app's client id, name and secret under its role placeholder.
pub fn redact_identities(env: &Env, redactor: &mut Redactor) {
    let apps = Apps::pick(&env.ids, &env.profile);
    for app in &env.ids.apps {
        let role = apps.role_of(&env.ids, app);
        if let Some(s) = &app.secret {
            redactor.register_named(s.expose(), &format!("[secret:{role}]"));
        }
        redactor.register_identity(&app.client_id, &format!("[client:{role}]"));
        redactor.register_identity(&app.name, &format!("[app-name:{role}]"));
    }
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
    needs(Apps::pick(&ctx.env.ids, &ctx.env.profile).active, what)
}

pub fn inactive(ctx: &Ctx) -> Result<App, Problem> {
    needs(
        Apps::pick(&ctx.env.ids, &ctx.env.profile).inactive,
        "an app of an inactive enterprise".to_owned(),
    )
}

pub fn no_company(ctx: &Ctx) -> Result<App, Problem> {
    let what = format!(
        "an app of an active enterprise, allowed `{}` and linked to no company",
        scope_name(ctx)
    );
    needs(Apps::pick(&ctx.env.ids, &ctx.env.profile).no_company, what)
}

pub fn no_scopes(ctx: &Ctx) -> Result<App, Problem> {
    let what = format!(
        "an app of an active enterprise not allowed `{}`",
        scope_name(ctx)
    );
    needs(Apps::pick(&ctx.env.ids, &ctx.env.profile).no_scopes, what)
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
