//! The token endpoints (`oauth/token`, PP-TOKEN-*; `auth/refresh`, PP-REFRESH-1;
//! `auth/device/token`, PP-DEVICE-5) as lists of grant handlers, in the manner of ory
//! fosite: each handler says whether it owns a request, by its `grant_type`, and handles
//! the ones it owns. The endpoint asks each in turn; a request every handler declines is
//! `unsupported_grant_type` (PP-TOKEN-3). A family registers its lists
//! ([`punchplay_grants`](super::grant_handlers::punchplay_grants) for punchplay's
//! `oauth/token`); a new grant is a new handler (`grant_handlers.rs`).
//!
//! One acquisition of the state lock per request (issue 7 item 4): the endpoint takes it
//! once, authenticates the client under it, and hands the handler the state.

use super::client_auth::{self, ClientCredentials};
use super::clock::Millis;
use super::components::Components;
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::grants::{GrantId, MintedPair, TokenPair};
use super::scope::ScopeSet;
use super::{Core, Params, State};

/// One grant type's rules at a token endpoint.
pub trait GrantHandler: Send + Sync {
    /// The `grant_type` it serves, as answers listing an endpoint's grants name it.
    fn grant_type(&self) -> &'static str;

    /// Whether it owns a request that sent `grant_type`.
    fn owns(&self, grant_type: &str) -> bool {
        grant_type == self.grant_type()
    }

    /// What the request must carry, checked before the state lock is taken and before
    /// the client is authenticated. None by default.
    fn check_request(&self, _params: &Params) -> ProtocolResult<()> {
        Ok(())
    }

    /// Applies the grant for the authenticated client.
    fn handle(&self, grant: GrantRequest<'_>) -> ProtocolResult<TokenPair>;
}

/// What a handler works with: the state under the request's one lock, the client it
/// authenticated, the request, the clock's reading and the components the rules call.
pub struct GrantRequest<'a> {
    pub core: &'a Core,
    pub state: &'a mut State,
    pub rules: Components,
    pub client_id: &'a str,
    pub params: &'a Params,
    pub now: Millis,
    /// The pair the grant issues, drawn before the lock was taken.
    minted: MintedPair,
}

impl<'a> GrantRequest<'a> {
    fn new(
        core: &'a Core,
        state: &'a mut State,
        rules: Components,
        client_id: &'a str,
        params: &'a Params,
        now: Millis,
        minted: MintedPair,
    ) -> Self {
        GrantRequest {
            core,
            state,
            rules,
            client_id,
            params,
            now,
            minted,
        }
    }

    /// A parameter, `None` when absent or empty.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        let params: &'a Params = self.params;
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Issues the request's token pair under `grant` with the profile's lifetimes
    /// (PP-TOKEN-1).
    pub fn issue(self, grant: GrantId, scopes: &ScopeSet) -> TokenPair {
        self.issue_keeping_state(grant, scopes).0
    }

    /// [`GrantRequest::issue`] for a client not configured for the refresh grant: the
    /// access token only, its refresh token withdrawn before anyone sees it (FX-TOKEN-5).
    pub fn issue_access_only(self, grant: GrantId, scopes: &ScopeSet) -> TokenPair {
        let (mut pair, state) = self.issue_keeping_state(grant, scopes);
        state
            .grants
            .withdraw_refresh(&std::mem::take(&mut pair.refresh_token));
        pair
    }

    fn issue_keeping_state(self, grant: GrantId, scopes: &ScopeSet) -> (TokenPair, &'a mut State) {
        let lifetimes = &self.core.profile.lifetimes;
        let pair = self.state.grants.issue_minted(
            grant,
            self.minted,
            scopes,
            lifetimes.access_token,
            lifetimes.refresh_token_idle,
            self.now,
        );
        (pair, self.state)
    }

    /// Whether the client is configured for the refresh grant (FX-TOKEN-5).
    pub fn client_gets_refresh_tokens(&self) -> bool {
        self.state
            .registry
            .apps
            .get(self.client_id)
            .is_some_and(|a| self.rules.grant_types.allows(a, "refresh_token"))
    }

    /// Whether the client may still be issued tokens. Checked again under the lock that
    /// issues them, so a deactivation between authentication and issuance wins (PP-APP-5).
    pub fn client_may_get_tokens(&self) -> bool {
        self.state
            .registry
            .apps
            .get(self.client_id)
            .is_some_and(|a| self.rules.activity.allows(a))
    }
}

/// How an endpoint treats `grant_type`.
enum GrantTypeParam {
    /// Required (`oauth/token`): missing is `invalid_request`.
    Required,
    /// Optional (`auth/refresh`, `auth/device/token`): missing means the endpoint's one
    /// grant; sent, it must name it.
    Optional,
}

/// The grant handlers one endpoint asks in turn.
pub struct GrantEndpoint {
    handlers: Vec<Box<dyn GrantHandler>>,
    grant_type: GrantTypeParam,
}

impl GrantEndpoint {
    /// An endpoint that requires `grant_type` and serves every grant in `handlers`.
    pub fn new(handlers: Vec<Box<dyn GrantHandler>>) -> Self {
        GrantEndpoint {
            handlers,
            grant_type: GrantTypeParam::Required,
        }
    }

    /// An endpoint of one grant, where `grant_type` may be left out (PP-REFRESH-1,
    /// PP-DEVICE-5).
    pub fn single(handler: Box<dyn GrantHandler>) -> Self {
        GrantEndpoint {
            handlers: vec![handler],
            grant_type: GrantTypeParam::Optional,
        }
    }

    /// The handler that owns the request, or why none does (PP-TOKEN-3).
    fn handler_for(&self, params: &Params) -> ProtocolResult<&dyn GrantHandler> {
        let sent = params.get("grant_type").map(String::as_str);
        let grant_type = match (&self.grant_type, sent) {
            (GrantTypeParam::Required, None | Some("")) => {
                return Err(ProtocolError::invalid_request("grant_type is required."));
            }
            (GrantTypeParam::Optional, None) => {
                if let Some(only) = self.handlers.first() {
                    return Ok(only.as_ref());
                }
                ""
            }
            (_, Some(g)) => g,
        };
        if let Some(handler) = self.handlers.iter().find(|h| h.owns(grant_type)) {
            return Ok(handler.as_ref());
        }
        let names: Vec<&str> = self.handlers.iter().map(|h| h.grant_type()).collect();
        let hint = match self.grant_type {
            GrantTypeParam::Required => format!("use {}", one_of(&names)),
            GrantTypeParam::Optional => format!("omit it or send {}", one_of(&names)),
        };
        Err(ProtocolError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type `{grant_type}` is not supported here; {hint}."),
        ))
    }
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".to_owned(),
        [only] => (*only).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

impl Core {
    /// Serves a token request at `endpoint`: the owning handler (PP-TOKEN-3), the failure
    /// mode, the request's own checks, then under one acquisition of the state lock the
    /// client's authentication (PP-APP-2..4) and the grant.
    pub fn serve_grant(
        &self,
        endpoint: &GrantEndpoint,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        let handler = endpoint.handler_for(params)?;
        self.check_failure_mode()?;
        handler.check_request(params)?;
        let rules = self.components();
        let minted = MintedPair::new();
        let now = self.now();
        let mut state = self.lock();
        let client_id =
            client_auth::authenticate(&state.registry, creds, rules.secrets, rules.activity)?
                .client_id
                .clone();
        handler.handle(GrantRequest::new(
            self, &mut state, rules, &client_id, params, now, minted,
        ))
    }
}

impl Core {
    /// Serves a token request in the order flexslot documents (FX-TOKEN-3..6): under one
    /// acquisition of the state lock, the client's authentication (HTTP Basic only for a
    /// confidential client), then `grant_type` (missing: `invalid_request`; not served:
    /// `unsupported_grant_type`), then whether the client is configured for that grant
    /// (`unauthorized_client`), then the grant's own checks. The caller answers the
    /// failure mode and the content type before.
    pub fn serve_grant_client_first(
        &self,
        endpoint: &GrantEndpoint,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        let rules = self.components();
        let minted = MintedPair::new();
        let now = self.now();
        let mut state = self.lock();
        let app =
            super::strict_client_auth::authenticate_basic_only(&state.registry, creds, &rules)?;
        let handler = endpoint.handler_for(params)?;
        if !rules.grant_types.allows(app, handler.grant_type()) {
            return Err(ProtocolError::new(
                ErrorCode::UnauthorizedClient,
                format!(
                    "This client is not configured for the {} grant.",
                    handler.grant_type()
                ),
            ));
        }
        handler.check_request(params)?;
        let client_id = app.client_id.clone();
        handler.handle(GrantRequest::new(
            self, &mut state, rules, &client_id, params, now, minted,
        ))
    }
}
