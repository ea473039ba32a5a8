//! The enterprise family's rules (seed 003): the client-credentials token endpoint
//! (EN-TOKEN-1..4), introspection (EN-INTRO-1), revocation (EN-REVOKE-1) and the
//! company-scoped API's token, scope and company checks (EN-API-1), over the enterprises,
//! companies and links of the fixture identities ([`Directory`]).
//!
//! Each operation takes the state lock once. The decisions a fault of state can bend go
//! through [`EnterpriseRules`] (`Components::enterprise`); the rules here name no fault.
//! Validation of the request's fields (EN-VALID-1) is the family's http handler's: it
//! hands over strings only.

use std::collections::HashMap;

use profile::Identities;

use super::Core;
use super::client_credentials::{ClientTokens, MintedToken};
use super::clock::{Millis, secs};
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::grants::{TokenKey, token_key};

/// The longest company id the link control accepts: ids are names, not documents.
const MAX_COMPANY_ID_LEN: usize = 100;

/// Enterprises, companies and which client belongs to which, as the fixtures say and the
/// test controls change them; back to the fixtures on reset.
#[derive(Debug, Default)]
pub struct Directory {
    /// Enterprise id → active (EN-TOKEN-3).
    enterprises: HashMap<String, bool>,
    /// Company id → its tags, in file order (EN-API-1).
    companies: HashMap<String, Vec<String>>,
    /// client_id → its membership. One per registered app: bounded by the registry.
    members: HashMap<String, Membership>,
}

#[derive(Debug, Clone)]
struct Membership {
    enterprise: Option<String>,
    company: Option<String>,
    /// The app's own `active`, which counts for an app that names no enterprise.
    app_active: bool,
}

impl Directory {
    pub fn from_identities(ids: &Identities) -> Self {
        Directory {
            enterprises: ids
                .enterprises
                .iter()
                .map(|e| (e.id.clone(), e.active))
                .collect(),
            companies: ids
                .companies
                .iter()
                .map(|c| (c.id.clone(), c.tags.clone()))
                .collect(),
            members: ids
                .apps
                .iter()
                .map(|a| {
                    let membership = Membership {
                        enterprise: a.enterprise.clone(),
                        company: a.company.clone(),
                        app_active: a.active,
                    };
                    (a.client_id.clone(), membership)
                })
                .collect(),
        }
    }

    /// Whether the enterprise owning `client_id` is active (EN-TOKEN-3). A client naming
    /// no enterprise is as active as the app itself (`Identities::enterprise_active`).
    pub fn enterprise_active(&self, client_id: &str) -> bool {
        match self.members.get(client_id) {
            Some(Membership {
                enterprise: Some(id),
                ..
            }) => self.enterprises.get(id).copied().unwrap_or(false),
            Some(m) => m.app_active,
            None => false,
        }
    }

    /// The tags of the company `client_id` is linked to; `None` when it is linked to none,
    /// or to a company not listed (EN-API-1).
    pub fn company_tags(&self, client_id: &str) -> Option<&[String]> {
        let company = self.members.get(client_id)?.company.as_ref()?;
        self.companies.get(company).map(Vec::as_slice)
    }
}

/// The enterprise decisions a fault of state can bend. The default methods are the
/// contract ([`EnterpriseAsDocumented`] keeps them all).
pub trait EnterpriseRules: Sync {
    /// EN-TOKEN-3: whether a client whose enterprise is (in)active gets a token.
    fn issues_to(&self, enterprise_active: bool) -> bool {
        enterprise_active
    }

    /// EN-INTRO-1: whether introspection answers "active" for a token expiring at
    /// `expires_at`.
    fn introspects_as_active(&self, expires_at: Millis, now: Millis) -> bool {
        expires_at > now
    }

    /// Whether an expired token may be forgotten; a rule that still sees expired tokens
    /// needs them kept.
    fn forgets_expired(&self) -> bool {
        true
    }

    /// EN-REVOKE-1: ends the live token under `key`; answers whether it was live.
    fn revoke(&self, tokens: &mut ClientTokens, key: &TokenKey) -> bool {
        tokens.remove(key)
    }

    /// EN-API-1: the tags `client_id` may read, `None` for "Company not found.".
    fn company_tags<'d>(&self, directory: &'d Directory, client_id: &str) -> Option<&'d [String]> {
        directory.company_tags(client_id)
    }
}

/// EN-TOKEN-3, EN-INTRO-1, EN-REVOKE-1, EN-API-1 as written.
pub struct EnterpriseAsDocumented;

impl EnterpriseRules for EnterpriseAsDocumented {}

/// A token request whose fields passed validation (EN-VALID-1).
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub scope: Option<&'a str>,
}

/// An issued access token (EN-TOKEN-1).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: u64,
    /// Space-separated; empty for a client allowed no scopes.
    pub scope: String,
}

/// What introspection tells of a live token (EN-INTRO-1).
#[derive(Debug, Clone)]
pub struct TokenFacts {
    pub client_id: String,
    pub scope: String,
    /// Unix seconds.
    pub exp: i64,
}

impl Core {
    /// `POST /oauth/access-token` once its fields are valid: the client's secret
    /// (EN-TOKEN-2; an unknown client_id is the same answer), its enterprise (EN-TOKEN-3,
    /// after the secret), the scope (EN-TOKEN-4), then a token (EN-TOKEN-1). Secrets are
    /// compared as SHA-256 digests in constant time (PP-APP-6's rule, `secrets.rs`).
    pub fn issue_client_token(&self, request: TokenRequest<'_>) -> ProtocolResult<IssuedToken> {
        let rules = self.components();
        let minted = MintedToken::new();
        let lifetime = self.profile.lifetimes.access_token;
        let now = self.now();
        let mut state = self.lock();
        let invalid_client = || {
            ProtocolError::new(
                ErrorCode::InvalidClient,
                "Client authentication failed. Check client ID/secret.",
            )
        };
        let app = state
            .registry
            .apps
            .get(request.client_id)
            .ok_or_else(invalid_client)?;
        if !rules.secrets.accepts(app, Some(request.client_secret)) {
            return Err(invalid_client());
        }
        let active = state.directory.enterprise_active(request.client_id);
        if !rules.enterprise.issues_to(active) {
            return Err(ProtocolError::new(
                ErrorCode::InactiveEnterprise,
                "Inactive enterprise.",
            ));
        }
        let scopes = rules.scopes.grant(
            request.scope,
            &app.allowed_scopes,
            &self.profile.scopes.known,
        )?;
        let scope = scopes.to_wire();
        state
            .client_tokens
            .issue(&minted, request.client_id, scopes, now + secs(lifetime));
        Ok(IssuedToken {
            access_token: minted.value,
            expires_in: lifetime,
            scope,
        })
    }

    /// `POST /oauth/introspect` (EN-INTRO-1): the facts of a live token; an unknown,
    /// expired or revoked one is `invalid_token`.
    pub fn introspect_client_token(&self, token: &str) -> ProtocolResult<TokenFacts> {
        let key = token_key(token);
        let rules = self.components();
        let now = self.now();
        let state = self.lock();
        let inactive = || ProtocolError::invalid_token("Invalid or expired token.");
        let found = state.client_tokens.get(&key).ok_or_else(inactive)?;
        if !rules
            .enterprise
            .introspects_as_active(found.expires_at, now)
        {
            return Err(inactive());
        }
        Ok(TokenFacts {
            client_id: found.client_id.to_string(),
            scope: found.scopes.to_wire(),
            exp: found.expires_at.div_euclid(1000),
        })
    }

    /// `POST /oauth/revoke` (EN-REVOKE-1): ends a live token; one that is not live
    /// (unknown, expired, revoked already) is `token_not_found`. Under one lock, so of
    /// concurrent revokes of one token exactly one succeeds.
    pub fn revoke_client_token(&self, token: &str) -> ProtocolResult<()> {
        let key = token_key(token);
        let rules = self.components();
        let now = self.now();
        let mut state = self.lock();
        let live = state
            .client_tokens
            .get(&key)
            .is_some_and(|t| !rules.access_expiry.is_expired(t.expires_at, now));
        if live && rules.enterprise.revoke(&mut state.client_tokens, &key) {
            return Ok(());
        }
        Err(ProtocolError::new(
            ErrorCode::TokenNotFound,
            "Token not found.",
        ))
    }

    /// A company-scoped route's checks, in order (EN-API-1): a live bearer token
    /// (`unauthenticated`), then `required_scope` when the route has one
    /// (`insufficient_scope`), then the client's company (`company_not_found`) when
    /// `needs_company`. Answers the company's tags (empty when not asked for).
    pub fn company_route(
        &self,
        bearer: Option<&str>,
        required_scope: Option<&str>,
        needs_company: bool,
    ) -> ProtocolResult<Vec<String>> {
        let unauthenticated = || ProtocolError::new(ErrorCode::Unauthenticated, "Unauthenticated.");
        let key = token_key(bearer.ok_or_else(unauthenticated)?);
        let rules = self.components();
        let now = self.now();
        let state = self.lock();
        let token = state
            .client_tokens
            .get(&key)
            .filter(|t| !rules.access_expiry.is_expired(t.expires_at, now))
            .ok_or_else(unauthenticated)?;
        if let Some(scope) = required_scope
            && !rules.scopes.covers(&token.scopes, scope)
        {
            let mut e = ProtocolError::new(
                ErrorCode::InsufficientScope,
                "Token does not have the required scope.",
            );
            e.required_scope = Some(scope.to_owned());
            return Err(e);
        }
        if !needs_company {
            return Ok(Vec::new());
        }
        rules
            .enterprise
            .company_tags(&state.directory, &token.client_id)
            .map(<[String]>::to_vec)
            .ok_or_else(|| ProtocolError::new(ErrorCode::CompanyNotFound, "Company not found."))
    }

    /// Test control: (de)activates an enterprise. Issued tokens are left alone: seed 003
    /// says only that an inactive enterprise gets no new ones (EN-TOKEN-3).
    pub fn set_enterprise_active(&self, enterprise: &str, active: bool) -> ProtocolResult<()> {
        let mut state = self.lock();
        match state.directory.enterprises.get_mut(enterprise) {
            Some(a) => {
                *a = active;
                Ok(())
            }
            None => Err(ProtocolError::not_found(format!(
                "There is no enterprise `{enterprise}`."
            ))),
        }
    }

    /// Test control: links a client to a company, or unlinks it with `None`. A company not
    /// listed may be named: its client then reads "Company not found." (EN-API-1).
    pub fn link_company(&self, client_id: &str, company: Option<&str>) -> ProtocolResult<()> {
        if company.is_some_and(|c| c.is_empty() || c.len() > MAX_COMPANY_ID_LEN) {
            return Err(ProtocolError::invalid_request(format!(
                "company must be a company id of 1 to {MAX_COMPANY_ID_LEN} bytes, or null."
            )));
        }
        let mut state = self.lock();
        match state.directory.members.get_mut(client_id) {
            Some(m) => {
                m.company = company.map(str::to_owned);
                Ok(())
            }
            None => Err(ProtocolError::not_found(format!(
                "There is no app `{client_id}`."
            ))),
        }
    }
}
