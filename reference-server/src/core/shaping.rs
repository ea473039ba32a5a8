//! What the test controls create at run time (issue 21 item 2): an app with the
//! client_id, secret, scopes, redirect URIs and grant types a test chooses, a user, and a
//! token pair minted for (client, user, scopes) without a browser. Each is checked in full
//! before anything changes, then made under one acquisition of the state lock, so a
//! refused request leaves nothing half-created and concurrent requests from many tests
//! cannot both take one id. A reset (`Core::reset`) rebuilds the registry from the
//! fixtures, which removes all of it. Served only with `--test-controls`.

use profile::{App, AppKind};

use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::grants::TokenPair;
use super::registry::{AppRecord, MAX_APPS, UserRecord, check_redirect_uri};
use super::scope::ScopeSet;
use super::secrets::{PasswordDigest, SecretDigest, random_token};
use super::token_endpoint::grant_types;
use super::{Core, State};

/// The most users the server keeps, fixtures included; users are created only by the
/// test controls, and a reset forgets those.
pub const MAX_USERS: usize = 10_000;
/// The most grants the token store holds before `POST /__test/tokens` refuses to mint
/// more: minting skips the rate limits that bound every other issuance.
pub const MAX_MINTED_GRANTS: usize = 100_000;
/// The longest client_id or username a test may choose.
pub const MAX_ID_LEN: usize = 100;
/// The most redirect URIs one app holds (as the developer pages).
const MAX_REDIRECT_URIS: usize = 20;

/// Checks an id a test chose: 1 to [`MAX_ID_LEN`] bytes of RFC 3986's unreserved
/// characters, so that it fits a path segment (`/__test/apps/{client_id}/...`), a form
/// and HTTP Basic as it is.
pub fn check_id(what: &str, id: &str) -> ProtocolResult<()> {
    let fits = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if fits {
        Ok(())
    } else {
        Err(ProtocolError::invalid_request(format!(
            "{what} must be 1 to {MAX_ID_LEN} characters of A-Z, a-z, 0-9, `-`, `.`, `_` and `~`."
        )))
    }
}

/// Scope names a test chose, each one the profile knows (`invalid_scope` otherwise).
fn known_scopes(known: &[String], names: &[String]) -> ProtocolResult<ScopeSet> {
    if let Some(unknown) = names.iter().find(|n| !known.contains(n)) {
        return Err(ProtocolError::new(
            ErrorCode::InvalidScope,
            format!(
                "`{unknown}` is not a scope of this profile; choose from {}.",
                known.join(", ")
            ),
        ));
    }
    Ok(ScopeSet::from_known(known, |s| {
        names.iter().any(|n| n == s)
    }))
}

impl Core {
    /// Creates `new` (its fields checked as the developer pages check them, its
    /// grant types against `grant_types_served`, the family's part by the family's
    /// `FamilyState::add_app`); answers the record and, for a confidential app, its secret
    /// (the one given, or a new one). A duplicate client_id is refused, whoever made it.
    pub fn create_app(
        &self,
        mut new: App,
        grant_types_served: &[&str],
    ) -> ProtocolResult<(AppRecord, Option<String>)> {
        check_id("client_id", &new.client_id)?;
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ProtocolError::invalid_request(
                "name is at most 100 characters, and not blank.",
            ));
        }
        new.name = name.to_owned();
        match (new.kind, &new.secret) {
            (AppKind::Public, Some(_)) => {
                return Err(ProtocolError::invalid_request(
                    "A public app has no client_secret; leave it out, or make the app confidential.",
                ));
            }
            (AppKind::Confidential, None) => {
                new.secret = Some(profile::Secret::new(random_token("cs_")));
            }
            (AppKind::Confidential, Some(s)) if s.expose().is_empty() || s.expose().len() > 200 => {
                return Err(ProtocolError::invalid_request(
                    "client_secret is 1 to 200 characters; leave it out for a new one.",
                ));
            }
            _ => {}
        }
        if new.redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err(ProtocolError::invalid_request(format!(
                "redirect_uris holds at most {MAX_REDIRECT_URIS} URIs."
            )));
        }
        for uri in &new.redirect_uris {
            check_redirect_uri(uri)?;
        }
        if new.allowed_scopes.is_empty() {
            return Err(ProtocolError::invalid_request(format!(
                "allowed_scopes names at least one scope of {}; leave it out for all of them.",
                self.profile.scopes.known.join(", ")
            )));
        }
        let allowed_scopes = known_scopes(&self.profile.scopes.known, &new.allowed_scopes)?;
        if let Some(bad) = new
            .grant_types
            .iter()
            .find(|g| !grant_types_served.contains(&g.as_str()))
        {
            return Err(ProtocolError::invalid_request(
                if grant_types_served.is_empty() {
                    format!(
                        "`{bad}`: this family's apps are not configured by grant type; leave grant_types out."
                    )
                } else {
                    format!(
                        "`{bad}` is not a grant type this server serves; use {}.",
                        grant_types_served.join(" or ")
                    )
                },
            ));
        }
        let secret = new.secret.as_ref().map(|s| s.expose().to_owned());
        let record = AppRecord {
            client_id: new.client_id.clone(),
            name: new.name.clone(),
            kind: new.kind,
            secret: secret.as_deref().map(SecretDigest::of),
            previous_secret: None,
            allowed_scopes,
            redirect_uris: new.redirect_uris.clone(),
            active: new.active,
            grant_types: new.grant_types.clone(),
            owner: None,
        };
        let mut state = self.lock();
        let State {
            registry, family, ..
        } = &mut *state;
        if registry.apps.contains_key(&new.client_id) {
            return Err(ProtocolError::invalid_request(format!(
                "An app `{}` exists already; choose another client_id (tests that share a server each need their own).",
                new.client_id
            )));
        }
        if registry.apps.len() >= MAX_APPS {
            return Err(ProtocolError::invalid_request(format!(
                "This server holds {MAX_APPS} apps, the most it keeps; reset it or reuse an app."
            )));
        }
        // The family's part last: it either takes the app whole or refuses, changing nothing.
        family.add_app(&new)?;
        registry.apps.insert(new.client_id.clone(), record.clone());
        self.client_ids
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(new.client_id);
        Ok((record, secret))
    }

    /// Creates a user who signs in with `password` (a new one when `None`); answers the
    /// password. A taken username is refused.
    pub fn create_user(
        &self,
        username: &str,
        password: Option<String>,
        display_name: Option<String>,
    ) -> ProtocolResult<(UserRecord, String)> {
        check_id("username", username)?;
        let password = match password {
            Some(p) if p.is_empty() || p.len() > 200 => {
                return Err(ProtocolError::invalid_request(
                    "password is 1 to 200 characters; leave it out for a new one.",
                ));
            }
            Some(p) => p,
            None => random_token("pw_"),
        };
        let display_name = display_name.unwrap_or_else(|| username.to_owned());
        let display_name = display_name.trim();
        if display_name.is_empty() || display_name.chars().count() > 100 {
            return Err(ProtocolError::invalid_request(
                "display_name is at most 100 characters, and not blank.",
            ));
        }
        // Hashed before the lock: it is the slow part.
        let record = UserRecord {
            username: username.to_owned(),
            password: PasswordDigest::of(&password),
            display_name: display_name.to_owned(),
        };
        let mut state = self.lock();
        let State {
            registry, family, ..
        } = &mut *state;
        let users = &mut registry.users;
        if users.contains_key(username) {
            return Err(ProtocolError::invalid_request(format!(
                "A user `{username}` exists already; choose another username."
            )));
        }
        if users.len() >= MAX_USERS {
            return Err(ProtocolError::invalid_request(format!(
                "This server holds {MAX_USERS} users, the most it keeps; reset it or reuse a user."
            )));
        }
        family.add_user(username, &record.display_name);
        users.insert(username.to_owned(), record.clone());
        Ok((record, password))
    }

    /// Mints what the token endpoint issues after an approved authorization: a grant of
    /// `client_id` for `username` with `scopes` (the app's allowed scopes when `None`),
    /// and its access and refresh token (the access token only for an app not configured
    /// for the refresh grant, FX-TOKEN-5), with the profile's lifetimes and prefixes.
    pub fn mint_grant(
        &self,
        client_id: &str,
        username: &str,
        scopes: Option<&[String]>,
    ) -> ProtocolResult<TokenPair> {
        let bends = self.bends();
        let now = self.now();
        let mut state = self.lock();
        let State {
            registry, grants, ..
        } = &mut *state;
        let (app, scopes) = self.mintable_app(registry, client_id, scopes)?;
        if !registry.users.contains_key(username) {
            return Err(ProtocolError::not_found(format!(
                "There is no user `{username}`; create it with POST /__test/users."
            )));
        }
        if grants.counts().grants >= MAX_MINTED_GRANTS {
            return Err(ProtocolError::invalid_request(format!(
                "The token store holds {MAX_MINTED_GRANTS} grants, the most minting adds to; reset the server or let tokens expire."
            )));
        }
        let refresh_too = grant_types(bends).allows(app, "refresh_token");
        let grant = grants.create(username, client_id, scopes.clone());
        let lifetimes = &self.profile.lifetimes;
        let mut pair = grants.issue(
            grant,
            &self.profile.tokens,
            &scopes,
            (lifetimes.access_token, lifetimes.refresh_token_idle),
            now,
        );
        if !refresh_too {
            grants.withdraw_refresh(&std::mem::take(&mut pair.refresh_token));
        }
        Ok(pair)
    }

    /// The app a token is minted for, active, and the scopes asked (its allowed scopes
    /// when `None`), each one it may be granted: for [`Core::mint_grant`] and a family's
    /// own minting.
    pub fn mintable_app<'r>(
        &self,
        registry: &'r super::registry::Registry,
        client_id: &str,
        scopes: Option<&[String]>,
    ) -> ProtocolResult<(&'r AppRecord, ScopeSet)> {
        let app = registry.apps.get(client_id).ok_or_else(|| {
            ProtocolError::not_found(format!(
                "There is no app `{client_id}`; create it with POST /__test/apps."
            ))
        })?;
        if !app.active {
            return Err(ProtocolError::invalid_request(format!(
                "The app `{client_id}` is inactive: it gets no tokens."
            )));
        }
        let scopes = match scopes {
            None => app.allowed_scopes.clone(),
            Some([]) => {
                return Err(ProtocolError::invalid_request(
                    "scopes names at least one scope; leave it out for the app's allowed scopes.",
                ));
            }
            Some(names) => {
                let asked = known_scopes(&self.profile.scopes.known, names)?;
                if !asked.is_subset_of(&app.allowed_scopes) {
                    return Err(ProtocolError::new(
                        ErrorCode::InvalidScope,
                        format!(
                            "The app `{client_id}` may be granted only {}.",
                            app.allowed_scopes.as_wire()
                        ),
                    ));
                }
                asked
            }
        };
        Ok((app, scopes))
    }
}
