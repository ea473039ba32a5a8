//! The OAuth endpoints' dispatch: `oauth/token` (PP-TOKEN-*), `auth/refresh`
//! (PP-REFRESH-1). Client authentication comes first, then the grant's own rules.

use crate::faults::Fault;

use super::client_auth::ClientCredentials;
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::grants::TokenPair;
use super::{Core, Params};

impl Core {
    /// `POST /api/platform/v1/oauth/token`.
    pub fn token_endpoint(
        &self,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        let grant_type = params
            .get("grant_type")
            .map(String::as_str)
            .filter(|g| !g.is_empty());
        let grant_type =
            grant_type.ok_or_else(|| ProtocolError::invalid_request("grant_type is required."))?;
        if !matches!(grant_type, "authorization_code" | "refresh_token") {
            // PP-TOKEN-3.
            let code = if self.has_fault(Fault::WrongGrantTypeError) {
                ErrorCode::InvalidRequest
            } else {
                ErrorCode::UnsupportedGrantType
            };
            return Err(ProtocolError::new(
                code,
                format!(
                    "grant_type `{grant_type}` is not supported here; use authorization_code or refresh_token."
                ),
            ));
        }
        let app = {
            let state = self.lock();
            Self::check_mode(&state)?;
            state.authenticate_client(creds)?
        };
        let mut pair = match grant_type {
            "authorization_code" => self.exchange_code(&app.client_id, params)?,
            _ => self.refresh(
                &app.client_id,
                params.get("refresh_token").map(String::as_str),
                params.get("scope").map(String::as_str),
            )?,
        };
        self.apply_response_faults(&mut pair);
        Ok(pair)
    }

    /// `POST /api/platform/v1/auth/refresh`: `client_id`, `refresh_token` (+ secret); an
    /// optional `grant_type` must say `refresh_token` (PP-REFRESH-1).
    pub fn refresh_endpoint(
        &self,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        optional_grant_type(params, "refresh_token")?;
        let app = {
            let state = self.lock();
            Self::check_mode(&state)?;
            state.authenticate_client(creds)?
        };
        let mut pair = self.refresh(
            &app.client_id,
            params.get("refresh_token").map(String::as_str),
            params.get("scope").map(String::as_str),
        )?;
        self.apply_response_faults(&mut pair);
        Ok(pair)
    }

    pub(crate) fn apply_response_faults(&self, pair: &mut TokenPair) {
        if self.has_fault(Fault::ScopeOmitted) {
            pair.scope = None;
        }
    }
}

/// The endpoints that serve one grant take `grant_type` as optional, but if it is sent it
/// must name that grant (PP-REFRESH-1, PP-DEVICE-5); anything else is
/// `unsupported_grant_type` (PP-TOKEN-3).
pub(crate) fn optional_grant_type(params: &Params, only: &str) -> ProtocolResult<()> {
    match params.get("grant_type") {
        Some(g) if g != only => Err(ProtocolError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type `{g}` is not supported here; omit it or send {only}."),
        )),
        _ => Ok(()),
    }
}
