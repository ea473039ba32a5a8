//! Fixture identities: the apps and users a reference server ships with, or that a
//! conformance run signs in as against a deployment (then secrets may come from the
//! environment, never only from the command line).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ProfileError;

/// A credential value. `Debug` never prints it, so it cannot reach a log line by accident.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppKind {
    /// `client_id` only (PP-APP-1).
    Public,
    /// `client_id` + `client_secret` (PP-APP-1).
    Confidential,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    pub client_id: String,
    pub name: String,
    pub kind: AppKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// The environment variable that holds the secret, for credentials files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// The scopes the app may be granted. In a credentials file they are also what the
    /// conformance suite asks for, as `scope`, in every authorization it drives for the
    /// app (RFC 6749 §3.3: a client that wants a scope sends it); a server's answer to a
    /// request without `scope` is a check of its own.
    pub allowed_scopes: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Punchplay: an inactive app (PP-APP-4). Flexslot: a client disabled in partner admin
    /// (FX-TOKEN-3). Enterprise reads its enterprise's `active` instead.
    #[serde(default = "yes")]
    pub active: bool,
    /// Flexslot: the grant types the client is configured for (FX-TOKEN-5). Empty means
    /// every grant type its family serves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grant_types: Vec<String>,
    /// Enterprise: the id of the enterprise that owns the client (EN-TOKEN-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<String>,
    /// Enterprise: the id of the company the client is linked to, if any (EN-API-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

impl App {
    /// Whether the client is configured for `grant_type` (FX-TOKEN-5).
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.is_empty() || self.grant_types.iter().any(|g| g == grant_type)
    }
}

/// Enterprise: an account that owns clients; an inactive one gets no tokens (EN-TOKEN-3).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enterprise {
    pub id: String,
    pub name: String,
    #[serde(default = "yes")]
    pub active: bool,
}

/// Enterprise: a company, whose resources `/api/*` serves to its linked clients (EN-API-1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Company {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    pub display_name: String,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identities {
    #[serde(default)]
    pub apps: Vec<App>,
    #[serde(default)]
    pub users: Vec<User>,
    /// Enterprise only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enterprises: Vec<Enterprise>,
    /// Enterprise only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub companies: Vec<Company>,
}

impl Identities {
    /// Parses an identities file. `env` looks up `secret_env` / `password_env` names
    /// (pass `|name| std::env::var(name).ok()` in a binary).
    pub fn from_toml_str(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Identities, ProfileError> {
        let mut ids: Identities = toml::from_str(text)?;
        for app in &mut ids.apps {
            if app.secret.is_none()
                && let Some(var) = &app.secret_env
            {
                let value = env(var).ok_or_else(|| {
                    ProfileError::Invalid(format!(
                        "app `{}` takes its secret from ${var}, which is not set",
                        app.client_id
                    ))
                })?;
                app.secret = Some(Secret(value));
            }
            if app.kind == AppKind::Confidential && app.secret.is_none() {
                return Err(ProfileError::Invalid(format!(
                    "confidential app `{}` needs `secret` or `secret_env`",
                    app.client_id
                )));
            }
        }
        for user in &mut ids.users {
            if user.password.is_none()
                && let Some(var) = &user.password_env
            {
                let value = env(var).ok_or_else(|| {
                    ProfileError::Invalid(format!(
                        "user `{}` takes its password from ${var}, which is not set",
                        user.username
                    ))
                })?;
                user.password = Some(Secret(value));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for app in &ids.apps {
            if !seen.insert(app.client_id.as_str()) {
                return Err(ProfileError::Invalid(format!(
                    "client_id `{}` is listed twice",
                    app.client_id
                )));
            }
            if let Some(enterprise) = &app.enterprise
                && ids.enterprise(enterprise).is_none()
            {
                return Err(ProfileError::Invalid(format!(
                    "app `{}` belongs to enterprise `{enterprise}`, which [[enterprises]] does not list",
                    app.client_id
                )));
            }
        }
        Ok(ids)
    }

    /// The committed punchplay fixtures.
    pub fn punchplay() -> Identities {
        Identities::from_toml_str(crate::PUNCHPLAY_IDENTITIES_TOML, |_| None)
            .expect("the committed punchplay identities are valid")
    }

    pub fn app(&self, client_id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.client_id == client_id)
    }

    pub fn user(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|u| u.username == username)
    }

    pub fn enterprise(&self, id: &str) -> Option<&Enterprise> {
        self.enterprises.iter().find(|e| e.id == id)
    }

    /// A company a client may name but that is not listed (a company deleted since) is
    /// `None`, as is an app with no company: both are "Company not found." (EN-API-1).
    pub fn company(&self, id: &str) -> Option<&Company> {
        self.companies.iter().find(|c| c.id == id)
    }

    /// Whether the enterprise owning `app` is active (EN-TOKEN-3). An app that names no
    /// enterprise is as active as the app itself.
    pub fn enterprise_active(&self, app: &App) -> bool {
        match &app.enterprise {
            Some(id) => self.enterprise(id).is_some_and(|e| e.active),
            None => app.active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_match_the_contract_table() {
        let ids = Identities::punchplay();
        let web = ids.app("pp-web").unwrap();
        assert_eq!(web.secret.as_ref().unwrap().expose(), "pp-web-secret");
        assert_eq!(format!("{:?}", web.secret), "Some([redacted])");
        assert!(!ids.app("pp-inactive").unwrap().active);
        assert_eq!(
            ids.app("pp-spa").unwrap().allowed_scopes,
            ["profile:read", "playback:read"]
        );
        assert_eq!(ids.user("bob").unwrap().display_name, "Bob Example");
    }

    #[test]
    fn enterprise_and_flexslot_fixtures_match_the_contract_table() {
        let en = Identities::from_toml_str(crate::ENTERPRISE_IDENTITIES_TOML, |_| None).unwrap();
        let app = |id| en.app(id).unwrap();
        assert!(en.enterprise_active(app("en-acme")));
        assert_eq!(app("en-acme").company.as_deref(), Some("acme"));
        assert!(!en.company("acme").unwrap().tags.is_empty());
        assert!(!en.enterprise_active(app("en-dormant")));
        assert!(en.enterprise_active(app("en-orphan")) && app("en-orphan").company.is_none());
        assert!(app("en-narrow").allowed_scopes.is_empty());
        for id in ["en-acme", "en-dormant", "en-orphan", "en-narrow"] {
            assert_eq!(
                app(id).secret.as_ref().unwrap().expose(),
                format!("{id}-secret")
            );
        }

        let fx = Identities::from_toml_str(crate::FLEXSLOT_IDENTITIES_TOML, |_| None).unwrap();
        let app = |id| fx.app(id).unwrap();
        assert!(app("fx-web").allows_grant("refresh_token"));
        assert_eq!(app("fx-spa").kind, AppKind::Public);
        assert!(app("fx-codeonly").allows_grant("authorization_code"));
        assert!(!app("fx-codeonly").allows_grant("refresh_token"));
        assert!(!app("fx-disabled").active);
        assert_eq!(fx.user("alice").unwrap().display_name, "Alice Example");
    }

    #[test]
    fn an_app_of_an_unlisted_enterprise_is_refused() {
        let text = r#"
            [[apps]]
            client_id = "x"
            name = "X"
            kind = "confidential"
            secret = "s"
            allowed_scopes = []
            enterprise = "nowhere"
        "#;
        let err = Identities::from_toml_str(text, |_| None).unwrap_err();
        assert!(err.to_string().contains("nowhere"), "{err}");
    }

    #[test]
    fn secrets_come_from_the_environment_when_named() {
        let text = r#"
            [[apps]]
            client_id = "x"
            name = "X"
            kind = "confidential"
            secret_env = "X_SECRET"
            allowed_scopes = []
        "#;
        let ids =
            Identities::from_toml_str(text, |v| (v == "X_SECRET").then(|| "s3".into())).unwrap();
        assert_eq!(ids.apps[0].secret.as_ref().unwrap().expose(), "s3");
        let err = Identities::from_toml_str(text, |_| None).unwrap_err();
        assert!(err.to_string().contains("X_SECRET"));
    }
}
