//! Apps (clients) and users: the fixtures, plus the apps users register themselves
//! (PP-APP-1, PP-APP-7, PP-APP-8), and the operations on them.

use std::collections::HashMap;

use profile::{AppKind, Identities};

use super::Core;
use super::error::{ProtocolError, ProtocolResult};
use super::scope::ScopeSet;
use super::secrets::{PasswordDigest, SecretDigest, random_from, random_token};

#[derive(Debug, Clone)]
pub struct AppRecord {
    pub client_id: String,
    pub name: String,
    pub kind: AppKind,
    /// Only the digest is kept (PP-APP-6).
    pub secret: Option<SecretDigest>,
    /// The secret before the last rotation; honoured only under fault `old_secret_still_valid`.
    pub previous_secret: Option<SecretDigest>,
    pub allowed_scopes: ScopeSet,
    pub redirect_uris: Vec<String>,
    pub active: bool,
    /// The grant types it is configured for; empty allows every grant the endpoint
    /// serves (FX-TOKEN-5; a family whose apps have no grant types names none).
    pub grant_types: Vec<String>,
    /// The user who registered it; `None` for fixtures.
    pub owner: Option<String>,
}

impl AppRecord {
    /// Whether the app is configured for `grant_type` (FX-TOKEN-5); an app that names no
    /// grant types is configured for all of them.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        self.grant_types.is_empty() || self.grant_types.iter().any(|g| g == grant_type)
    }
}

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub username: String,
    pub password: PasswordDigest,
    pub display_name: String,
}

#[derive(Debug, Default)]
pub struct Registry {
    pub apps: HashMap<String, AppRecord>,
    pub users: HashMap<String, UserRecord>,
}

/// What a user asks for when registering an app (PP-APP-7).
#[derive(Debug, Clone)]
pub struct NewApp {
    pub name: String,
    pub kind: AppKind,
    pub redirect_uris: Vec<String>,
    pub allowed_scopes: Vec<String>,
}

impl Registry {
    pub fn from_identities(ids: &Identities, known_scopes: &[String]) -> Self {
        let apps = ids
            .apps
            .iter()
            .map(|a| {
                let record = AppRecord {
                    client_id: a.client_id.clone(),
                    name: a.name.clone(),
                    kind: a.kind,
                    secret: a.secret.as_ref().map(|s| SecretDigest::of(s.expose())),
                    previous_secret: None,
                    allowed_scopes: ScopeSet::from_known(known_scopes, |s| {
                        a.allowed_scopes.iter().any(|x| x == s)
                    }),
                    redirect_uris: a.redirect_uris.clone(),
                    active: a.active,
                    grant_types: a.grant_types.clone(),
                    owner: None,
                };
                (a.client_id.clone(), record)
            })
            .collect();
        let users = ids
            .users
            .iter()
            .map(|u| {
                let record = UserRecord {
                    username: u.username.clone(),
                    password: PasswordDigest::of(u.password.as_ref().map_or("", |p| p.expose())),
                    display_name: u.display_name.clone(),
                };
                (u.username.clone(), record)
            })
            .collect();
        Registry { apps, users }
    }

    /// Checks a sign-in in constant time per user.
    pub fn check_password(&self, username: &str, password: &str) -> bool {
        match self.users.get(username) {
            Some(u) => u.password.matches(password),
            // The same work for an unknown user, so timing does not tell who exists.
            None => {
                static NOBODY: std::sync::LazyLock<PasswordDigest> =
                    std::sync::LazyLock::new(|| PasswordDigest::of(""));
                let _ = NOBODY.matches(password);
                false
            }
        }
    }

    /// Registers a user's app; answers the record and, for a confidential app, its secret
    /// in the clear, the one time it is shown (PP-APP-7).
    pub fn register(
        &mut self,
        owner: &str,
        new: NewApp,
        known_scopes: &[String],
    ) -> ProtocolResult<(AppRecord, Option<String>)> {
        // Apps are never deleted (a deactivated one keeps its client_id taken), so the
        // bound is per owner and in total (issue 12 item 1).
        let owned = self
            .apps
            .values()
            .filter(|a| a.owner.as_deref() == Some(owner))
            .count();
        if owned >= MAX_APPS_PER_OWNER {
            return Err(ProtocolError::invalid_request(format!(
                "You have registered {MAX_APPS_PER_OWNER} apps, the most one user may; reuse one of them."
            )));
        }
        if self.apps.len() >= MAX_APPS {
            return Err(ProtocolError::invalid_request(format!(
                "This server holds {MAX_APPS} apps, the most it keeps; restart it or reuse an app."
            )));
        }
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ProtocolError::invalid_request(
                "name is required and at most 100 characters.",
            ));
        }
        if new.redirect_uris.len() > 20 {
            return Err(ProtocolError::invalid_request(
                "redirect_uris holds at most 20 URIs.",
            ));
        }
        for uri in &new.redirect_uris {
            check_redirect_uri(uri)?;
        }
        // PP-APP-7: the app's minimum allowed_scopes; an app with none could do nothing.
        if new.allowed_scopes.is_empty() {
            return Err(ProtocolError::invalid_request(
                "Choose at least one of the allowed_scopes the app needs.",
            ));
        }
        for scope in &new.allowed_scopes {
            if !known_scopes.iter().any(|k| k == scope) {
                return Err(ProtocolError::new(
                    super::error::ErrorCode::InvalidScope,
                    format!(
                        "`{scope}` is not a scope; choose from {}.",
                        known_scopes.join(", ")
                    ),
                ));
            }
        }
        let client_id = loop {
            let id = format!(
                "app-{}",
                random_from(b"abcdefghijkmnpqrstuvwxyz23456789", 12)
            );
            if !self.apps.contains_key(&id) {
                break id;
            }
        };
        let secret = (new.kind == AppKind::Confidential).then(|| random_token("ppcs_"));
        let record = AppRecord {
            client_id: client_id.clone(),
            name: name.to_owned(),
            kind: new.kind,
            secret: secret.as_deref().map(SecretDigest::of),
            previous_secret: None,
            allowed_scopes: ScopeSet::from_known(known_scopes, |s| {
                new.allowed_scopes.iter().any(|x| x == s)
            }),
            redirect_uris: new.redirect_uris,
            active: true,
            grant_types: Vec::new(),
            owner: Some(owner.to_owned()),
        };
        self.apps.insert(client_id, record.clone());
        Ok((record, secret))
    }

    /// The owner's app, or `not_found` (another user's app is not revealed).
    pub fn owned_app_mut(
        &mut self,
        owner: &str,
        client_id: &str,
    ) -> ProtocolResult<&mut AppRecord> {
        self.apps
            .get_mut(client_id)
            .filter(|a| a.owner.as_deref() == Some(owner))
            .ok_or_else(|| ProtocolError::not_found(format!("You have no app `{client_id}`.")))
    }

    /// Issues a new secret; the old one stops working at once (PP-APP-8).
    pub fn rotate_secret(&mut self, owner: &str, client_id: &str) -> ProtocolResult<String> {
        let app = self.owned_app_mut(owner, client_id)?;
        if app.kind != AppKind::Confidential {
            return Err(ProtocolError::invalid_request(
                "A public app has no secret to rotate.",
            ));
        }
        let secret = random_token("ppcs_");
        app.previous_secret = app.secret.replace(SecretDigest::of(&secret));
        Ok(secret)
    }
}

/// The developer pages' operations (PP-APP-7, PP-APP-8) and a client's configuration.
impl Core {
    pub fn register_app(
        &self,
        owner: &str,
        new: NewApp,
    ) -> ProtocolResult<(AppRecord, Option<String>)> {
        let mut state = self.lock();
        let registered = state
            .registry
            .register(owner, new, &self.profile.scopes.known)?;
        self.client_ids
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(registered.0.client_id.clone());
        Ok(registered)
    }

    /// The apps `owner` registered, by name.
    pub fn apps_of(&self, owner: &str) -> Vec<AppRecord> {
        let state = self.lock();
        let mut apps: Vec<_> = state
            .registry
            .apps
            .values()
            .filter(|a| a.owner.as_deref() == Some(owner))
            .cloned()
            .collect();
        apps.sort_by(|a, b| a.name.cmp(&b.name).then(a.client_id.cmp(&b.client_id)));
        apps
    }

    pub fn rotate_secret(&self, owner: &str, client_id: &str) -> ProtocolResult<String> {
        self.lock().registry.rotate_secret(owner, client_id)
    }

    /// Configures the grant types a client may use (RFC 6749 §5.2 `unauthorized_client`);
    /// which names are valid is the caller's family's to check. Tokens already issued stay.
    pub fn set_client_grant_types(
        &self,
        client_id: &str,
        grant_types: Vec<String>,
    ) -> ProtocolResult<()> {
        let mut state = self.lock();
        let app =
            state.registry.apps.get_mut(client_id).ok_or_else(|| {
                ProtocolError::not_found(format!("There is no app `{client_id}`."))
            })?;
        app.grant_types = grant_types;
        Ok(())
    }
}

/// The most apps one user may register, and the most the server keeps.
pub const MAX_APPS_PER_OWNER: usize = 100;
pub const MAX_APPS: usize = 10_000;
/// The longest redirect URI accepted (browsers and servers commonly cap URLs near 8 KiB).
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// Redirect URIs must be `https`, or `http` on a loopback address (RFC 8252 §7.3), with no
/// fragment (RFC 6749 §3.1.2).
pub fn check_redirect_uri(uri: &str) -> ProtocolResult<()> {
    if uri.len() > MAX_REDIRECT_URI_LEN {
        return Err(ProtocolError::invalid_request(format!(
            "a redirect URI is longer than {MAX_REDIRECT_URI_LEN} bytes."
        )));
    }
    let parsed = url::Url::parse(uri).map_err(|_| {
        ProtocolError::invalid_request(format!("redirect URI `{uri}` is not an absolute URL."))
    })?;
    if parsed.fragment().is_some() {
        return Err(ProtocolError::invalid_request(format!(
            "redirect URI `{uri}` must not have a fragment."
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ProtocolError::invalid_request(format!(
            "redirect URI `{uri}` must not carry a user name or password."
        )));
    }
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(ProtocolError::invalid_request(format!(
            "redirect URI `{uri}` must use https, or http on a loopback address."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        assert!(check_redirect_uri("https://app.example/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(check_redirect_uri("http://localhost/cb").is_ok());
        assert!(check_redirect_uri("http://[::1]:8000/cb").is_ok());
        assert!(check_redirect_uri("http://app.example/cb").is_err());
        assert!(check_redirect_uri("https://app.example/cb#x").is_err());
        assert!(check_redirect_uri("https://user:pw@app.example/cb").is_err());
        assert!(check_redirect_uri("/cb").is_err());
    }
}
