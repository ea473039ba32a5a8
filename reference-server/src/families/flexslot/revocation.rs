//! `POST /revoke` (RFC 7009 §2.1, §2.2; FX-REVOKE-1): the client authenticates as at
//! `/token`; a live refresh token of the client revokes its whole grant, a live access
//! token only itself; anything else is a success that changes nothing. The rule for a
//! token it does not know and the fault that bends it.

use hyper::{Response, StatusCode};

use super::client_auth::BasicOnly;
use super::token::{answer_no_store, strict_input};
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec};
use crate::core::grants::{RefreshLookup, token_key};
use crate::core::{ClientCall, Params};
use crate::http::request::RequestBody;
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx};

/// The `token` a revocation or introspection request names.
pub fn token_param(params: &Params) -> Option<&str> {
    params
        .get("token")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
}

/// `POST /revoke`: 200 with an empty body for every token once the client authenticated;
/// a missing `token` is `invalid_request`. `token_type_hint` may be sent: both kinds are
/// searched whatever it says (RFC 7009 §2.1).
pub async fn revoke(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let answer = async {
        let (params, creds) = strict_input(app, ctx, body).await?;
        let key = token_param(&params).map(token_key);
        app.core
            .with_client(&creds, &BasicOnly, |call: ClientCall<'_, ()>| {
                let Some(key) = key else {
                    return Err(ProtocolError::invalid_request(
                        "token is required: the access or refresh token to revoke.",
                    ));
                };
                let grants = call.tokens;
                let client_id = call.client.client_id.as_str();
                let owner_of = |grant| grants.grant(grant).map(|g| g.client_id.to_string());
                let found = if let Some(access) = grants.access_by_key(&key) {
                    Some((owner_of(access.grant), Some(access.grant), false))
                } else {
                    match grants.refresh_by_key(&key) {
                        Some(RefreshLookup::Live(live)) => {
                            Some((owner_of(live.grant), Some(live.grant), true))
                        }
                        Some(RefreshLookup::Spent(spent)) => {
                            Some((owner_of(spent.grant), None, true))
                        }
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
                    None if unknown_tokens(call.bends).revoking_succeeds() => Ok(()),
                    None => Err(ProtocolError::invalid_request("The token is not known.")),
                }
            })?;
        let mut res = Response::new(respond::full(bytes::Bytes::new()));
        *res.status_mut() = StatusCode::OK;
        Ok(res)
    };
    answer_no_store(app, ctx, answer.await)
}

/// What `/revoke` says of a token it does not know (unknown, already revoked, expired).
pub trait UnknownTokens: Sync {
    /// A success, so that `/revoke` tells nobody whether a token was ever valid (RFC 7009
    /// §2.2).
    fn revoking_succeeds(&self) -> bool {
        true
    }
}

/// RFC 7009 §2.2 as written.
pub struct Silent;

impl UnknownTokens for Silent {}

fn unknown_tokens(bends: Bends) -> &'static dyn UnknownTokens {
    bends.pick::<dyn UnknownTokens>(&Silent)
}

/// `fx_revoke_unknown_400` (FX-REVOKE-1): `/revoke` tells an unknown token apart.
struct TellsUnknown;

impl UnknownTokens for TellsUnknown {
    fn revoking_succeeds(&self) -> bool {
        false
    }
}

pub static FX_REVOKE_UNKNOWN_400: FaultSpec = FaultSpec::bending(
    "fx_revoke_unknown_400",
    "FX-REVOKE-1",
    "/revoke answers 400 invalid_request for a token it does not know (revoked, expired or unknown)",
    bends!(dyn UnknownTokens = TellsUnknown),
);
