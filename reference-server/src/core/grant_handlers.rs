//! The grant handlers (`token_endpoint.rs` says how an endpoint asks them): the
//! authorization code (PP-TOKEN-1, PP-AUTHZ-7, PP-AUTHZ-8), the refresh token with
//! rotation (PP-REFRESH-*) and the device code (PP-DEVICE-3..5), and punchplay's lists of
//! them per endpoint. A family's new grant is a new handler here or in a file beside it.

use super::client_auth::ClientCredentials;
use super::clock::secs;
use super::device_code::{DEVICE_GRANT_TYPE, device_code_expired};
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::grants::{Grants, RefreshLookup, RefreshToken, TokenPair, token_key};
use super::pkce;
use super::refresh_token::Replay;
use super::scope::{self, ScopeSet};
use super::token_endpoint::{GrantEndpoint, GrantHandler, GrantRequest};
use super::{Core, Params};

/// `grant_type=authorization_code` at the token endpoint (PP-TOKEN-1, PP-TOKEN-2,
/// PP-AUTHZ-7, PP-AUTHZ-8).
pub struct AuthorizationCodeGrant;

impl GrantHandler for AuthorizationCodeGrant {
    fn grant_type(&self) -> &'static str {
        "authorization_code"
    }

    fn handle(&self, g: GrantRequest<'_>) -> ProtocolResult<TokenPair> {
        redeem_code(g, ErrorCode::InvalidGrant)
    }
}

/// Redeems an authorization code for the authenticated client (PP-TOKEN-1, PP-AUTHZ-7,
/// PP-AUTHZ-8; FX-TOKEN-2, FX-TOKEN-4). A `redirect_uri` that differs from the one sent
/// to the authorize endpoint is `redirect_mismatch`: `invalid_grant` for punchplay,
/// `invalid_request` for flexslot (FX-TOKEN-2 as written). A client not configured for
/// the refresh grant gets the access token only (FX-TOKEN-5).
pub fn redeem_code(g: GrantRequest<'_>, redirect_mismatch: ErrorCode) -> ProtocolResult<TokenPair> {
    let code = g
        .param("code")
        .ok_or_else(|| ProtocolError::invalid_request("code is required."))?;
    let redirect_uri = g
        .param("redirect_uri")
        .ok_or_else(|| ProtocolError::invalid_request("redirect_uri is required."))?;
    let verifier = g
        .param("code_verifier")
        .ok_or_else(|| ProtocolError::invalid_request("code_verifier is required (PKCE)."))?;
    pkce::check_verifier_format(verifier)?;

    let bad = || {
        ProtocolError::invalid_grant(
            "The authorization code is invalid, expired, already used, or was issued for another client or redirect URI.",
        )
    };
    let record = g.rules.codes.find(&g.state.codes, code).ok_or_else(bad)?;
    if !g.client_may_get_tokens() {
        return Err(super::inactive_client());
    }
    if record.expires_at <= g.now || record.client_id != g.client_id {
        return Err(bad());
    }
    if let Some(grant) = record.redeemed {
        // PP-AUTHZ-8: a second redemption revokes what the first one issued.
        g.state.grants.revoke(grant);
        return Err(bad());
    }
    if !g
        .rules
        .redirects
        .same_redirect(&record.redirect_uri, redirect_uri)
    {
        return Err(ProtocolError::new(
            redirect_mismatch,
            "redirect_uri differs from the one sent to the authorize endpoint.",
        ));
    }
    if !g
        .rules
        .pkce
        .verifies(verifier, &record.challenge, record.challenge_is_plain)
    {
        return Err(ProtocolError::invalid_grant(
            "code_verifier does not match the code_challenge.",
        ));
    }
    let grant = g
        .state
        .grants
        .create(&record.user, g.client_id, record.scopes.clone());
    if let Some(c) = g.state.codes.get_mut(code) {
        c.redeemed = Some(grant);
    }
    if g.client_gets_refresh_tokens() {
        Ok(g.issue(grant, &record.scopes))
    } else {
        Ok(g.issue_access_only(grant, &record.scopes))
    }
}

/// `grant_type=refresh_token`, at `oauth/token` and `auth/refresh` (PP-REFRESH-1):
/// rotates the refresh token for the authenticated client.
pub struct RefreshTokenGrant;

impl GrantHandler for RefreshTokenGrant {
    fn grant_type(&self) -> &'static str {
        "refresh_token"
    }

    fn handle(&self, g: GrantRequest<'_>) -> ProtocolResult<TokenPair> {
        let refresh_token = g
            .param("refresh_token")
            .ok_or_else(|| ProtocolError::invalid_request("refresh_token is required."))?;
        let (now, rules, client_id) = (g.now, g.rules, g.client_id);
        let bad = || {
            ProtocolError::invalid_grant(
                "The refresh token is invalid, expired, revoked, or already used. Sign the user in again.",
            )
        };
        // Another client's refresh token is as good as unknown to this one.
        let own_grant = |grants: &Grants, grant| {
            grants
                .grant(grant)
                .filter(|grant| &*grant.client_id == client_id)
                .map(|grant| grant.scopes.clone())
                .ok_or_else(bad)
        };
        let key = token_key(refresh_token);
        let record = match g.state.grants.refresh_by_key(&key).ok_or_else(bad)? {
            RefreshLookup::Live(live) => live,
            RefreshLookup::Spent(spent) => {
                let scopes = own_grant(&g.state.grants, spent.grant)?;
                if !g.client_may_get_tokens() {
                    return Err(super::inactive_client());
                }
                match rules.refresh.on_replay(&mut g.state.grants, &spent, now) {
                    Replay::Refused => return Err(bad()),
                    Replay::Honoured => RefreshToken {
                        grant: spent.grant,
                        scopes,
                        last_used_at: now,
                    },
                }
            }
        };
        own_grant(&g.state.grants, record.grant)?;
        if !g.client_may_get_tokens() {
            return Err(super::inactive_client());
        }
        let lifetimes = &g.core.profile.lifetimes;
        if record.last_used_at + secs(lifetimes.refresh_token_idle) <= now {
            return Err(bad());
        }
        let known = &g.core.profile.scopes.known;
        let scopes: ScopeSet = match scope::requested_names(g.param("scope")) {
            None => record.scopes.clone(),
            Some(requested) => {
                let allowed = g
                    .state
                    .registry
                    .apps
                    .get(client_id)
                    .map(|a| a.allowed_scopes.clone())
                    .unwrap_or_default();
                rules
                    .scopes
                    .refresh(&requested, &record.scopes, &allowed, known)?
            }
        };
        rules.refresh.spend(&mut g.state.grants, &key, now);
        Ok(g.issue(record.grant, &scopes))
    }
}

/// The device code grant at `auth/device/token` (RFC 8628 §3.4; PP-DEVICE-3..5).
pub struct DeviceCodeGrant;

impl GrantHandler for DeviceCodeGrant {
    fn grant_type(&self) -> &'static str {
        DEVICE_GRANT_TYPE
    }

    fn check_request(&self, params: &Params) -> ProtocolResult<()> {
        match params.get("device_code").filter(|d| !d.is_empty()) {
            Some(_) => Ok(()),
            None => Err(ProtocolError::invalid_request("device_code is required.")),
        }
    }

    fn handle(&self, g: GrantRequest<'_>) -> ProtocolResult<TokenPair> {
        let device_code = g.param("device_code").ok_or_else(device_code_expired)?;
        let (now, client_id) = (g.now, g.client_id);
        let device = g
            .state
            .devices
            .by_device_code
            .get_mut(device_code)
            .filter(|d| d.client_id == client_id && d.expires_at > now)
            .ok_or_else(device_code_expired)?;
        let user = g.rules.device_polls.poll(device)?;
        let scopes = device.scopes.clone();
        let grant = g.state.grants.create(&user, client_id, scopes.clone());
        Ok(g.issue(grant, &scopes))
    }
}

/// Punchplay's `oauth/token` grants: the authorization code (PP-TOKEN-1) and the refresh
/// token (PP-REFRESH-1). The device grant has an endpoint of its own (PP-DEVICE-5).
pub fn punchplay_grants() -> Vec<Box<dyn GrantHandler>> {
    vec![
        Box::new(AuthorizationCodeGrant),
        Box::new(RefreshTokenGrant),
    ]
}

/// Punchplay's three token endpoints, built once.
struct PunchplayEndpoints {
    token: GrantEndpoint,
    refresh: GrantEndpoint,
    device_token: GrantEndpoint,
}

fn punchplay_endpoints() -> &'static PunchplayEndpoints {
    static ENDPOINTS: std::sync::LazyLock<PunchplayEndpoints> =
        std::sync::LazyLock::new(|| PunchplayEndpoints {
            token: GrantEndpoint::new(punchplay_grants()),
            refresh: GrantEndpoint::single(Box::new(RefreshTokenGrant)),
            device_token: GrantEndpoint::single(Box::new(DeviceCodeGrant)),
        });
    &ENDPOINTS
}

impl Core {
    /// `POST /api/platform/v1/oauth/token` with punchplay's grants.
    pub fn token_endpoint(
        &self,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        self.serve_grant(&punchplay_endpoints().token, params, creds)
    }

    /// `POST /api/platform/v1/auth/refresh`: `client_id`, `refresh_token` (+ secret); an
    /// optional `grant_type` must say `refresh_token` (PP-REFRESH-1).
    pub fn refresh_endpoint(
        &self,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        self.serve_grant(&punchplay_endpoints().refresh, params, creds)
    }

    /// `POST auth/device/token` (PP-DEVICE-3, PP-DEVICE-4, PP-DEVICE-5).
    pub fn poll_device(
        &self,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        self.serve_grant(&punchplay_endpoints().device_token, params, creds)
    }
}
