//! The flexslot family's strict OAuth rules over the shared state (seed 004, FX-*): client
//! authentication with HTTP Basic only for confidential clients (FX-TOKEN-3), its token
//! endpoint's grants (FX-TOKEN-2..8), RFC 7009 revocation (FX-REVOKE-1), RFC 7662
//! introspection (FX-INTRO-1), its failure modes, and the test control that changes a
//! client's grant types (FX-TOKEN-5). The decisions a fault can bend are components
//! (`strict_rules.rs`); nothing here asks which fault is on.

use serde::Serialize;

use super::client_auth::ClientCredentials;
use super::clock::{Millis, secs};
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::grant_handlers::{RefreshTokenGrant, redeem_code};
use super::grants::{RefreshLookup, TokenPair, token_key};
use super::strict_client_auth::authenticate_basic_only;
use super::token_endpoint::{GrantEndpoint, GrantHandler, GrantRequest};
use super::{Core, Mode, Params};

/// The grant types a strict client may be configured for (FX-TOKEN-6 lists no others).
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token"];

/// `grant_type=authorization_code` as flexslot documents it: a `redirect_uri` that
/// differs from the authorize request's is `invalid_request` (FX-TOKEN-2 as written; the
/// seed lists it under `invalid_grant` too).
pub struct StrictAuthorizationCodeGrant;

impl GrantHandler for StrictAuthorizationCodeGrant {
    fn grant_type(&self) -> &'static str {
        "authorization_code"
    }

    fn handle(&self, g: GrantRequest<'_>) -> ProtocolResult<TokenPair> {
        redeem_code(g, ErrorCode::InvalidRequest)
    }
}

/// Flexslot's `/token` grants: the code (FX-TOKEN-2, -4) and the rotating refresh token,
/// whose replay revokes the grant (FX-TOKEN-4, -8), the same rule as punchplay's.
pub fn flexslot_grants() -> Vec<Box<dyn GrantHandler>> {
    vec![
        Box::new(StrictAuthorizationCodeGrant),
        Box::new(RefreshTokenGrant),
    ]
}

fn flexslot_token_endpoint() -> &'static GrantEndpoint {
    static ENDPOINT: std::sync::LazyLock<GrantEndpoint> =
        std::sync::LazyLock::new(|| GrantEndpoint::new(flexslot_grants()));
    &ENDPOINT
}

/// What `/introspect` answers (RFC 7662 §2.2; FX-INTRO-1). Not live: `{"active": false}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `Bearer` for an access token; a refresh token has no RFC 6749 §5.1 type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

fn unix_seconds(at: Millis) -> i64 {
    at.div_euclid(1000)
}

/// The `token` a revocation or introspection request names.
fn token_param(params: &Params) -> Option<&str> {
    params
        .get("token")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
}

impl Core {
    /// The failure mode at the authorize and token endpoints: `server_error` (500) or
    /// `temporarily_unavailable` (503), each with its own code (FX-AUTHZ-1, RFC 6749
    /// §5.2). Lock-free.
    pub fn strict_failure_mode(&self) -> ProtocolResult<()> {
        match self.mode() {
            Mode::Normal => Ok(()),
            Mode::TemporarilyUnavailable => Err(ProtocolError::new(
                ErrorCode::TemporarilyUnavailable,
                "The authorization server is temporarily unavailable. Retry with backoff.",
            )),
            Mode::ServerError => Err(ProtocolError::new(
                ErrorCode::ServerError,
                "The authorization server failed. Retry with backoff.",
            )),
        }
    }

    /// `POST /token` with flexslot's grants, the client authenticated first (FX-TOKEN-2..8).
    pub fn strict_token(
        &self,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        self.serve_grant_client_first(flexslot_token_endpoint(), params, creds)
    }

    /// `POST /revoke` (RFC 7009 §2.1, §2.2; FX-REVOKE-1): the client authenticates as at
    /// `/token`; a missing `token` is `invalid_request`. A live refresh token of the
    /// client revokes its whole grant, a live access token only itself; anything else
    /// (unknown, expired, already revoked, another client's) is a success that changes
    /// nothing. `token_type_hint` may be sent: both kinds are searched whatever it says
    /// (RFC 7009 §2.1).
    pub fn revoke_token(&self, params: &Params, creds: &ClientCredentials) -> ProtocolResult<()> {
        let key = token_param(params).map(token_key);
        let rules = self.components();
        let mut state = self.lock();
        let client_id = authenticate_basic_only(&state.registry, creds, &rules)?
            .client_id
            .clone();
        let Some(key) = key else {
            return Err(ProtocolError::invalid_request(
                "token is required: the access or refresh token to revoke.",
            ));
        };
        let grants = &mut state.grants;
        let owner_of = |grant| grants.grant(grant).map(|g| g.client_id.to_string());
        let found = if let Some(access) = grants.access_by_key(&key) {
            Some((owner_of(access.grant), Some(access.grant), false))
        } else {
            match grants.refresh_by_key(&key) {
                Some(RefreshLookup::Live(live)) => {
                    Some((owner_of(live.grant), Some(live.grant), true))
                }
                Some(RefreshLookup::Spent(spent)) => Some((owner_of(spent.grant), None, true)),
                None => None,
            }
        };
        match found {
            Some((Some(owner), Some(grant), is_refresh)) if owner == client_id => {
                if is_refresh {
                    grants.revoke(grant);
                } else {
                    grants.revoke_access(&key);
                }
                Ok(())
            }
            // Another client's token, or a rotated-away refresh token: left alone.
            Some(_) => Ok(()),
            None if rules.token_oracle.revoke_unknown_succeeds() => Ok(()),
            None => Err(ProtocolError::invalid_request("The token is not known.")),
        }
    }

    /// `POST /introspect` (RFC 7662 §2.1, §2.2; FX-INTRO-1): the client authenticates as
    /// at `/token`. A live access or refresh token of that client is active, with its
    /// scope, client, expiry, issue time and user; anything else, another client's token
    /// and a missing `token` included, is `{"active": false}`: HTTP errors are for client
    /// authentication only.
    pub fn introspect(
        &self,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<Introspection> {
        let key = token_param(params).map(token_key);
        let rules = self.components();
        let now = self.now();
        let state = self.lock();
        let client_id = authenticate_basic_only(&state.registry, creds, &rules)?
            .client_id
            .clone();
        let lifetimes = &self.profile.lifetimes;
        let grants = &state.grants;
        let live = key.and_then(|key| {
            if let Some(access) = grants.access_by_key(&key) {
                let expired = rules.access_expiry.is_expired(access.expires_at, now);
                let grant = grants.grant(access.grant).filter(|_| !expired)?;
                let issued = access.expires_at - secs(lifetimes.access_token);
                return Some((
                    grant,
                    access.scopes,
                    access.expires_at,
                    issued,
                    Some("Bearer"),
                ));
            }
            match grants.refresh_by_key(&key)? {
                RefreshLookup::Live(live) => {
                    let expires = live.last_used_at + secs(lifetimes.refresh_token_idle);
                    let grant = grants.grant(live.grant).filter(|_| expires > now)?;
                    Some((grant, live.scopes, expires, live.last_used_at, None))
                }
                RefreshLookup::Spent(_) => None,
            }
        });
        match live {
            Some((grant, scopes, exp, iat, token_type)) if *grant.client_id == *client_id => {
                Ok(Introspection {
                    active: true,
                    scope: Some(scopes.to_wire()),
                    client_id: Some(client_id),
                    exp: Some(unix_seconds(exp)),
                    iat: Some(unix_seconds(iat)),
                    sub: Some(grant.user.to_string()),
                    token_type,
                    username: Some(grant.user.to_string()),
                })
            }
            _ if rules.token_oracle.dead_token_active() => Ok(Introspection {
                active: true,
                client_id: Some(client_id),
                token_type: Some("Bearer"),
                ..Introspection::default()
            }),
            _ => Ok(Introspection::default()),
        }
    }

    /// Configures a client for `grant_types` (`POST /__test/apps/{client_id}/grant-types`;
    /// FX-TOKEN-5): at least one, each of [`GRANT_TYPES`]. Tokens already issued stay;
    /// a refresh for a client no longer configured for it is `unauthorized_client`.
    pub fn set_grant_types(
        &self,
        client_id: &str,
        grant_types: &[String],
    ) -> ProtocolResult<Vec<String>> {
        if grant_types.is_empty() {
            return Err(ProtocolError::invalid_request(format!(
                "grant_types must name at least one of {}.",
                GRANT_TYPES.join(", ")
            )));
        }
        if let Some(bad) = grant_types
            .iter()
            .find(|g| !GRANT_TYPES.contains(&g.as_str()))
        {
            return Err(ProtocolError::invalid_request(format!(
                "`{bad}` is not a grant type this server serves; use {}.",
                GRANT_TYPES.join(" or ")
            )));
        }
        // In the server's order, each once.
        let configured: Vec<String> = GRANT_TYPES
            .iter()
            .filter(|g| grant_types.iter().any(|s| s == *g))
            .map(|g| (*g).to_owned())
            .collect();
        let mut state = self.lock();
        let app =
            state.registry.apps.get_mut(client_id).ok_or_else(|| {
                ProtocolError::not_found(format!("There is no app `{client_id}`."))
            })?;
        app.grant_types = configured.clone();
        Ok(configured)
    }
}
