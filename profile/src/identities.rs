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
    pub allowed_scopes: Vec<String>,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
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
