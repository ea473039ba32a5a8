//! `POST /oauth/revoke` (EN-REVOKE-1): ends a live client-credentials token, with no
//! client authentication (EN-TOKEN-4); the rule that ends it and the fault that bends it.

use hyper::Response;

use super::EnterpriseState;
use super::client_credentials::ClientTokens;
use super::envelope::{TOKEN_NOT_FOUND, success};
use super::introspection::token_field;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec};
use crate::core::grants::{TokenKey, access_expiry, token_key};
use crate::http::request::RequestBody;
use crate::http::respond::Body;
use crate::http::{App, Ctx};

/// `POST /oauth/revoke` (EN-REVOKE-1): ends a live token; one that is not live (unknown,
/// expired, revoked already) is "Token not found.". Under one lock, so of concurrent
/// revokes of one token exactly one succeeds.
pub async fn revoke(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let token = token_field(app, ctx, body).await?;
    let key = token_key(&token);
    let bends = app.core.bends();
    let now = app.core.now();
    let revoked = app.core.with_family(|state: &mut EnterpriseState| {
        let live = state
            .tokens
            .get(&key)
            .is_some_and(|t| !access_expiry(bends).is_expired(t.expires_at, now));
        live && ending(bends).end(&mut state.tokens, &key)
    });
    if !revoked {
        return Err(ProtocolError::new(TOKEN_NOT_FOUND, "Token not found."));
    }
    Ok(success("Token revoked.", ()))
}

/// How a revocation ends a live token (EN-REVOKE-1); [`Forget`] is the rule.
pub trait TokenEnding: Sync {
    /// Ends the live token under `key`; answers whether it was live.
    fn end(&self, tokens: &mut ClientTokens, key: &TokenKey) -> bool {
        tokens.remove(key)
    }
}

/// EN-REVOKE-1 as written: the token is forgotten, and refused afterwards.
pub struct Forget;

impl TokenEnding for Forget {}

fn ending(bends: Bends) -> &'static dyn TokenEnding {
    bends.pick::<dyn TokenEnding>(&Forget)
}

/// `en_revoke_keeps_token` (EN-REVOKE-1): a revoke reports success and ends nothing.
struct KeepsToken;

impl TokenEnding for KeepsToken {
    fn end(&self, tokens: &mut ClientTokens, key: &TokenKey) -> bool {
        tokens.get(key).is_some()
    }
}

pub static EN_REVOKE_KEEPS_TOKEN: FaultSpec = FaultSpec::bending(
    "en_revoke_keeps_token",
    "EN-REVOKE-1",
    "revocation answers 200 but the token keeps working on /api",
    bends!(dyn TokenEnding = KeepsToken),
);
