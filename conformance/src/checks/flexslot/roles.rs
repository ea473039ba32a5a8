//! The apps and users flexslot's checks act as, picked from the credentials by trait
//! (issue 9: "apps by trait"), never by fixture id: a confidential web app with both
//! grants (required), a public app, a code-only app and a disabled one (checks that need
//! them skip without), and the first user, who approves.

use profile::{App, AppKind, Identities};

use crate::check::Ctx;
use crate::dialect;
use crate::outcome::Problem;

/// The apps of the credentials, by trait.
#[derive(Debug, Clone)]
pub struct FxRoles {
    /// Confidential, enabled, with a redirect URI, configured for both grants.
    pub web: App,
    /// Public, enabled, with a redirect URI, configured for the code grant.
    pub spa: Option<App>,
    /// Confidential, enabled, with a redirect URI, the code grant but not refresh_token.
    pub codeonly: Option<App>,
    /// Disabled.
    pub disabled: Option<App>,
}

impl FxRoles {
    pub fn pick(ids: &Identities) -> Result<FxRoles, String> {
        let usable = |a: &&App| a.active && !a.redirect_uris.is_empty();
        let both =
            |a: &&App| a.allows_grant("authorization_code") && a.allows_grant("refresh_token");
        let web = ids
            .apps
            .iter()
            .filter(usable)
            .find(|a| a.kind == AppKind::Confidential && a.secret.is_some() && both(a))
            .cloned()
            .ok_or("the credentials need an enabled confidential app with a secret, a redirect URI and both grant types (authorization_code, refresh_token)")?;
        let spa = ids
            .apps
            .iter()
            .filter(usable)
            .find(|a| a.kind == AppKind::Public && a.allows_grant("authorization_code"))
            .cloned();
        let codeonly = ids
            .apps
            .iter()
            .filter(usable)
            .find(|a| {
                a.kind == AppKind::Confidential
                    && a.secret.is_some()
                    && a.allows_grant("authorization_code")
                    && !a.allows_grant("refresh_token")
            })
            .cloned();
        let disabled = ids.apps.iter().find(|a| !a.active).cloned();
        if ids.users.is_empty() {
            return Err("the credentials need at least one test user".to_owned());
        }
        Ok(FxRoles {
            web,
            spa,
            codeonly,
            disabled,
        })
    }
}

impl dialect::Roles for FxRoles {
    /// `web`, `spa`, `codeonly`, `disabled`.
    fn app_role(&self, app: &App) -> Option<&'static str> {
        [
            ("web", Some(&self.web)),
            ("spa", self.spa.as_ref()),
            ("codeonly", self.codeonly.as_ref()),
            ("disabled", self.disabled.as_ref()),
        ]
        .into_iter()
        .find(|(_, a)| a.is_some_and(|a| a.client_id == app.client_id))
        .map(|(role, _)| role)
    }
}

/// The roles of this run (flexslot's checks run with flexslot's environment only).
pub fn roles(ctx: &Ctx) -> Result<FxRoles, Problem> {
    ctx.env.roles::<FxRoles>().cloned().ok_or_else(|| {
        Problem::error("a flexslot check ran with another family's environment (a suite bug)")
    })
}

pub fn spa_or_skip(r: &FxRoles) -> Result<App, Problem> {
    r.spa
        .clone()
        .ok_or_else(|| Problem::skip("needs an enabled public app with a redirect URI"))
}

pub fn codeonly_or_skip(r: &FxRoles) -> Result<App, Problem> {
    r.codeonly.clone().ok_or_else(|| {
        Problem::skip("needs an enabled confidential app configured for authorization_code only")
    })
}

pub fn disabled_or_skip(r: &FxRoles) -> Result<App, Problem> {
    r.disabled
        .clone()
        .ok_or_else(|| Problem::skip("needs a disabled app in the credentials"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_traits_not_fixture_ids() {
        let ids = profile::builtin::find("flexslot").unwrap().identities();
        let r = FxRoles::pick(&ids).unwrap();
        assert_eq!(r.web.client_id, "fx-web");
        assert_eq!(r.spa.unwrap().client_id, "fx-spa");
        assert_eq!(r.codeonly.unwrap().client_id, "fx-codeonly");
        assert_eq!(r.disabled.unwrap().client_id, "fx-disabled");
        let mut renamed = ids.clone();
        for (i, a) in renamed.apps.iter_mut().enumerate() {
            a.client_id = format!("partner-client-{i}");
        }
        renamed.apps.reverse();
        let r = FxRoles::pick(&renamed).unwrap();
        assert!(r.web.allows_grant("refresh_token") && r.web.kind == AppKind::Confidential);
        assert!(!r.codeonly.unwrap().allows_grant("refresh_token"));
    }
}
