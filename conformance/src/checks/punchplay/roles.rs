//! The apps and users punchplay's checks act as, picked from the credentials by their
//! traits, so a deployment's file needs no role names: a confidential web app and a
//! public device app with every scope (required), a narrow public app and a deactivated
//! one (checks that need them skip without), the primary and a second user.

use profile::{App, AppKind, Identities, Profile, User};

use crate::check::Ctx;
use crate::dialect;
use crate::outcome::Problem;

#[derive(Debug, Clone)]
pub struct Roles {
    /// Confidential, active, with a redirect URI and every known scope.
    pub web: App,
    /// Public, active, with every known scope (device flow).
    pub tv: App,
    /// Public, active, with a redirect URI and fewer scopes than the profile knows.
    pub spa: Option<App>,
    /// Deactivated.
    pub inactive: Option<App>,
    pub user: User,
    pub other_user: Option<User>,
}

impl Roles {
    pub fn pick(ids: &Identities, profile: &Profile) -> Result<Roles, String> {
        let all_scopes = |a: &App| {
            profile
                .scopes
                .known
                .iter()
                .all(|s| a.allowed_scopes.contains(s))
        };
        let web = ids
            .apps
            .iter()
            .find(|a| a.active && a.kind == AppKind::Confidential && !a.redirect_uris.is_empty() && all_scopes(a))
            .cloned()
            .ok_or("the credentials need an active confidential app with a redirect URI and every scope of the profile")?;
        let tv = ids
            .apps
            .iter()
            .find(|a| a.active && a.kind == AppKind::Public && all_scopes(a))
            .cloned()
            .ok_or("the credentials need an active public app with every scope of the profile (a device app)")?;
        let spa = ids
            .apps
            .iter()
            .find(|a| {
                a.active
                    && a.kind == AppKind::Public
                    && !a.redirect_uris.is_empty()
                    && !all_scopes(a)
            })
            .cloned();
        let inactive = ids.apps.iter().find(|a| !a.active).cloned();
        let mut users = ids.users.iter();
        let user = users
            .next()
            .cloned()
            .ok_or("the credentials need at least one test user")?;
        let other_user = users.next().cloned();
        Ok(Roles {
            web,
            tv,
            spa,
            inactive,
            user,
            other_user,
        })
    }
}

impl dialect::Roles for Roles {
    fn app_role(&self, app: &App) -> Option<&'static str> {
        [
            ("web", Some(&self.web)),
            ("tv", Some(&self.tv)),
            ("spa", self.spa.as_ref()),
            ("inactive", self.inactive.as_ref()),
        ]
        .into_iter()
        .find(|(_, a)| a.is_some_and(|a| a.client_id == app.client_id))
        .map(|(role, _)| role)
    }

    fn user_role(&self, user: &User) -> Option<&'static str> {
        if user.username == self.user.username {
            Some("primary")
        } else if self
            .other_user
            .as_ref()
            .is_some_and(|u| u.username == user.username)
        {
            Some("second")
        } else {
            None
        }
    }
}

/// The roles of this run (punchplay's checks run with punchplay's environment only).
pub fn roles(ctx: &Ctx) -> Result<&Roles, Problem> {
    ctx.env.roles::<Roles>().ok_or_else(|| {
        Problem::error("a punchplay check ran with another family's environment (a suite bug)")
    })
}
