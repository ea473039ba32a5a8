//! The token endpoint, the one entry point of every family's grants
//! ([`Core::serve_grant`]), in the manner of ory fosite: an endpoint is a list of grant
//! handlers, each saying whether it owns a request by its `grant_type` and handling the
//! ones it owns; a request every handler declines is `unsupported_grant_type` (RFC 6749
//! §5.2; PP-TOKEN-3, FX-TOKEN-6). What differs between families is data of the
//! [`GrantEndpoint`]: its handlers, whether `grant_type` is required, whether the client is
//! authenticated before or after the grant type is looked at, and how.
//!
//! One acquisition of the state lock per request (issue 7 item 4): the endpoint takes it
//! once, authenticates the client under it, and hands the handler the stores it may use
//! ([`GrantRequest`]), never the whole state.

use profile::Profile;

use super::State;
use super::client_auth::{ClientAuthenticator, ClientCredentials};
use super::clock::Millis;
use super::codes::Codes;
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::family_state::FamilyState;
use super::fault::{Bends, FaultSpec, Shape};
use super::grants::{GrantId, Grants, MintedPair, MintedToken, TokenPair};
use super::registry::AppRecord;
use super::scope::ScopeSet;
use super::{Core, Params};

/// One grant type's rules at a token endpoint.
pub trait GrantHandler: Sync {
    /// The `grant_type` it serves, as answers listing an endpoint's grants name it.
    fn grant_type(&self) -> &'static str;

    /// Whether it owns a request that sent `grant_type`.
    fn owns(&self, grant_type: &str) -> bool {
        grant_type == self.grant_type()
    }

    /// What the request must carry, checked before the handler runs: before the state
    /// lock is taken at an endpoint that looks at the grant type first. None by default.
    fn check_request(&self, _params: &Params) -> ProtocolResult<()> {
        Ok(())
    }

    /// Applies the grant for the authenticated client.
    fn handle(&self, grant: GrantRequest<'_>) -> ProtocolResult<TokenPair>;
}

/// How an endpoint treats `grant_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantTypeParam {
    /// Required (`oauth/token`, `/token`): missing is `invalid_request`.
    Required,
    /// Optional (`auth/refresh`, `auth/device/token`): missing means the endpoint's one
    /// grant; sent, it must name one of its grants (PP-REFRESH-1, PP-DEVICE-5).
    Optional,
    /// Not read: the endpoint serves its one grant whatever the body says (EN-TOKEN-1
    /// documents no `grant_type`).
    Implied,
}

/// Whether the client or the grant type is looked at first, which decides the error a
/// request wrong in both ways gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `unsupported_grant_type` and the grant's own checks before client authentication
    /// (PP-TOKEN-3).
    GrantTypeFirst,
    /// Client authentication first, then the grant type, then whether the client is
    /// configured for it (FX-TOKEN-3..6).
    ClientFirst,
}

/// What the endpoint's grants issue, drawn before the lock is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issues {
    /// An access and a refresh token under a grant of the token store.
    TokenPair,
    /// One access token, which the handler stores where its family keeps them.
    AccessToken,
}

/// The grant handlers one token endpoint asks in turn, and how it asks them.
pub struct GrantEndpoint {
    pub handlers: &'static [&'static dyn GrantHandler],
    pub grant_type: GrantTypeParam,
    pub order: Order,
    pub authenticator: &'static dyn ClientAuthenticator,
    pub issues: Issues,
}

impl GrantEndpoint {
    /// The handler that owns the request, or why none does (PP-TOKEN-3).
    fn handler_for(&self, params: &Params) -> ProtocolResult<&'static dyn GrantHandler> {
        let only = || self.handlers.first().copied();
        let sent = params.get("grant_type").map(String::as_str);
        let grant_type = match (self.grant_type, sent) {
            (GrantTypeParam::Implied, _) => {
                return only().ok_or_else(|| unsupported("", "nothing"));
            }
            (GrantTypeParam::Required, None | Some("")) => {
                return Err(ProtocolError::invalid_request("grant_type is required."));
            }
            (GrantTypeParam::Optional, None) => match only() {
                Some(handler) => return Ok(handler),
                None => "",
            },
            (_, Some(g)) => g,
        };
        if let Some(handler) = self.handlers.iter().find(|h| h.owns(grant_type)) {
            return Ok(*handler);
        }
        let names: Vec<&str> = self.handlers.iter().map(|h| h.grant_type()).collect();
        let hint = match self.grant_type {
            GrantTypeParam::Optional => format!("omit it or send {}", one_of(&names)),
            _ => format!("use {}", one_of(&names)),
        };
        Err(unsupported(grant_type, &hint))
    }
}

fn unsupported(grant_type: &str, hint: &str) -> ProtocolError {
    ProtocolError::new(
        ErrorCode::UnsupportedGrantType,
        format!("grant_type `{grant_type}` is not supported here; {hint}."),
    )
}

/// `a`, `a or b`, `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".to_owned(),
        [only] => (*only).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Which grants a client may use (RFC 6749 §5.2 `unauthorized_client`; PP-APP-4,
/// FX-TOKEN-5, FX-AUTHZ-1). The default method is the contract.
pub trait GrantTypes: Sync {
    fn allows(&self, app: &AppRecord, grant_type: &str) -> bool {
        app.allows_grant(grant_type)
    }
}

/// The client's configuration decides: an app that names no grant types may use all.
pub struct ConfiguredGrantsOnly;

impl GrantTypes for ConfiguredGrantsOnly {}

/// The grant-type rule the rules call.
pub fn grant_types(bends: Bends) -> &'static dyn GrantTypes {
    bends.pick::<dyn GrantTypes>(&ConfiguredGrantsOnly)
}

/// What a handler works with: the client it authenticated, the request, the clock's
/// reading, and the stores a grant may touch, under the request's one lock.
pub struct GrantRequest<'a> {
    pub client: &'a AppRecord,
    pub params: &'a Params,
    pub now: Millis,
    pub bends: Bends,
    pub profile: &'a Profile,
    /// Grants and their tokens.
    pub tokens: &'a mut Grants,
    /// Authorization codes.
    pub codes: &'a mut Codes,
    /// The family's own state.
    pub family: &'a mut dyn FamilyState,
    minted: Minted,
}

/// What an endpoint drew before the lock, by [`Issues`].
enum Minted {
    Pair(MintedPair),
    Access(MintedToken),
    /// The handler took it.
    Taken,
}

impl<'a> GrantRequest<'a> {
    /// A parameter, `None` when absent or empty.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        let params: &'a Params = self.params;
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The family's own state, as the family's type.
    pub fn family<T: FamilyState>(&mut self) -> &mut T {
        super::family_state::downcast(&mut *self.family)
    }

    /// Issues the request's token pair under `grant` with the profile's lifetimes
    /// (PP-TOKEN-1); for a client not configured for the refresh grant the access token
    /// only, its refresh token withdrawn before anyone sees it (FX-TOKEN-5).
    pub fn issue(self, grant: GrantId, scopes: &ScopeSet) -> TokenPair {
        let refresh_too = grant_types(self.bends).allows(self.client, "refresh_token");
        let lifetimes = &self.profile.lifetimes;
        let minted = match self.minted {
            Minted::Pair(pair) => pair,
            // An endpoint that mints single tokens has no grants of the token store.
            Minted::Access(_) | Minted::Taken => MintedPair::new(&self.profile.tokens),
        };
        let mut pair = self.tokens.issue_minted(
            grant,
            minted,
            scopes,
            lifetimes.access_token,
            lifetimes.refresh_token_idle,
            self.now,
        );
        if !refresh_too {
            self.tokens
                .withdraw_refresh(&std::mem::take(&mut pair.refresh_token));
        }
        pair
    }

    /// The access token drawn for an endpoint that issues single tokens
    /// ([`Issues::AccessToken`]), for the handler to store.
    pub fn access_token(&mut self) -> MintedToken {
        match std::mem::replace(&mut self.minted, Minted::Taken) {
            Minted::Access(token) => token,
            Minted::Pair(_) | Minted::Taken => MintedToken::new(&self.profile.tokens.access),
        }
    }
}

impl Core {
    /// Serves a token request at `endpoint`, for every family: the owning handler and its
    /// own checks (when the endpoint looks at the grant type first), then under one
    /// acquisition of the state lock the client's authentication by the endpoint's
    /// authenticator, the owning handler (when the client comes first), whether the
    /// client is configured for the grant (`unauthorized_client`), and the grant. The
    /// caller answers the failure mode and the body's form before.
    pub fn serve_grant(
        &self,
        endpoint: &GrantEndpoint,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        let first = match endpoint.order {
            Order::GrantTypeFirst => {
                let handler = endpoint.handler_for(params)?;
                handler.check_request(params)?;
                Some(handler)
            }
            Order::ClientFirst => None,
        };
        super::notes::note_client(creds.client_id.as_deref(), Some(params));
        let bends = self.bends();
        let minted = match endpoint.issues {
            Issues::TokenPair => Minted::Pair(MintedPair::new(&self.profile.tokens)),
            Issues::AccessToken => Minted::Access(MintedToken::new(&self.profile.tokens.access)),
        };
        let (mut state, now) = self.lock_at();
        let State {
            registry,
            grants,
            codes,
            family,
            ..
        } = &mut *state;
        let client = endpoint
            .authenticator
            .authenticate(registry, creds, bends)?;
        let handler = match first {
            Some(handler) => handler,
            None => endpoint.handler_for(params)?,
        };
        if !grant_types(bends).allows(client, handler.grant_type()) {
            return Err(ProtocolError::new(
                ErrorCode::UnauthorizedClient,
                format!(
                    "This client is not configured for the {} grant.",
                    handler.grant_type()
                ),
            ));
        }
        if first.is_none() {
            handler.check_request(params)?;
        }
        handler.handle(GrantRequest {
            client,
            params,
            now,
            bends,
            profile: &self.profile,
            tokens: grants,
            codes,
            family: family.as_mut(),
            minted,
        })
    }
}

pub static NO_STORE_MISSING: FaultSpec = FaultSpec::shaping(
    "no_store_missing",
    "PP-TOKEN-4",
    "token responses lack Cache-Control: no-store",
    Shape::Cacheable,
);

pub static WRONG_GRANT_TYPE_ERROR: FaultSpec = FaultSpec::shaping(
    "wrong_grant_type_error",
    "PP-TOKEN-3",
    "an unknown grant_type is answered with invalid_request",
    Shape::UnsupportedGrantTypeAsInvalidRequest,
);

pub static SCOPE_OMITTED: FaultSpec = FaultSpec::shaping(
    "scope_omitted",
    "PP-SCOPE-4",
    "token responses leave out `scope`",
    Shape::ScopeOmitted,
);
