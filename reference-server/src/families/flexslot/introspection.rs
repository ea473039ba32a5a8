//! `POST /introspect` (RFC 7662 §2.1, §2.2; FX-INTRO-1): the client authenticates as at
//! `/token`. A live access or refresh token of that client is active, with its scope,
//! client, expiry, issue time and user; anything else, another client's token and a
//! missing `token` included, is `{"active": false}`: HTTP errors are for client
//! authentication only. The rule for a token that is not live and the fault that bends it.

use hyper::{Response, StatusCode};
use serde::Serialize;

use super::client_auth::BasicOnly;
use super::revocation::token_param;
use super::token::{answer_no_store, strict_input};
use crate::core::ClientCall;
use crate::core::clock::{Millis, secs};
use crate::core::error::ProtocolResult;
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec};
use crate::core::grants::{RefreshLookup, access_expiry, token_key};
use crate::http::request::RequestBody;
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx};

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

/// `POST /introspect`.
pub async fn introspect(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let answer = async {
        let (params, creds) = strict_input(app, ctx, body).await?;
        let key = token_param(&params).map(token_key);
        let lifetimes = &app.core.profile.lifetimes;
        let info = app
            .core
            .with_client(&creds, &BasicOnly, |call: ClientCall<'_, ()>| {
                let (grants, now) = (&*call.tokens, call.now);
                let client_id = call.client.client_id.clone();
                let live = key.and_then(|key| {
                    if let Some(access) = grants.access_by_key(&key) {
                        let expired = access_expiry(call.bends).is_expired(access.expires_at, now);
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
                Ok(match live {
                    Some((grant, scopes, exp, iat, token_type))
                        if *grant.client_id == *client_id =>
                    {
                        Introspection {
                            active: true,
                            scope: Some(scopes.to_wire()),
                            client_id: Some(client_id),
                            exp: Some(unix_seconds(exp)),
                            iat: Some(unix_seconds(iat)),
                            sub: Some(grant.user.to_string()),
                            token_type,
                            username: Some(grant.user.to_string()),
                        }
                    }
                    _ if dead_tokens(call.bends).reads_active() => Introspection {
                        active: true,
                        client_id: Some(client_id),
                        token_type: Some("Bearer"),
                        ..Introspection::default()
                    },
                    _ => Introspection::default(),
                })
            })?;
        Ok(respond::json(StatusCode::OK, &info))
    };
    answer_no_store(app, ctx, answer.await)
}

/// What introspection says of a token that is not live (RFC 7662 §2.2).
pub trait DeadTokens: Sync {
    /// Whether it reads as active. Never.
    fn reads_active(&self) -> bool {
        false
    }
}

/// RFC 7662 §2.2 as written: `{"active": false}`.
pub struct Inactive;

impl DeadTokens for Inactive {}

fn dead_tokens(bends: Bends) -> &'static dyn DeadTokens {
    bends.pick::<dyn DeadTokens>(&Inactive)
}

/// `fx_revoked_token_active` (FX-INTRO-1): a token that is not live introspects active.
struct ReadsActive;

impl DeadTokens for ReadsActive {
    fn reads_active(&self) -> bool {
        true
    }
}

pub static FX_REVOKED_TOKEN_ACTIVE: FaultSpec = FaultSpec::bending(
    "fx_revoked_token_active",
    "FX-INTRO-1",
    "/introspect answers active: true for a token that is not live (revoked, expired or unknown)",
    bends!(dyn DeadTokens = ReadsActive),
);
