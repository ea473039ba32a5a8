//! The bearer API (PP-API-1, PP-API-2, PP-API-7, PP-API-9) and the public users API
//! (PP-PUBLIC-1), with the rules for an unknown route and for a public read and the faults
//! that bend them. Playback is `playback.rs`, the live stream `events.rs`.

use std::collections::HashMap;

use bytes::Bytes;
use hyper::{Response, StatusCode};
use profile::Identities;

use super::PunchplayState;

use crate::core::error::{ErrorCode, ProtocolError, ProtocolResult};
use crate::core::family_state::downcast_ref;
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec};
use crate::http::request::bearer_token;
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx};

/// `{username, display_name}` (PP-API-7, PP-PUBLIC-1), written without building a JSON
/// map first; the fields are in the order such a map sorts them, so the bytes are the same.
#[derive(serde::Serialize)]
struct UserProfile<'a> {
    display_name: &'a str,
    username: &'a str,
}

/// Each fixture user's `{username, display_name}`, written once for [`PunchplayState`].
pub fn user_profiles(identities: &Identities) -> HashMap<String, Bytes> {
    identities
        .users
        .iter()
        .filter_map(|u| {
            let answer = user_profile(&u.username, &u.display_name)?;
            Some((u.username.clone(), answer))
        })
        .collect()
}

/// One user's profile as `GET me` answers it (PP-API-7).
pub fn user_profile(username: &str, display_name: &str) -> Option<Bytes> {
    serde_json::to_vec(&UserProfile {
        display_name,
        username,
    })
    .ok()
    .map(Bytes::from)
}

/// `GET me` (PP-API-7), in one acquisition of the state lock: the token's user's profile
/// as written when the state was made.
pub fn me(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let answer = app.core.bearer_user(
        bearer_token(&ctx.headers),
        app.core.profile.required_scope("me"),
        |user, family| {
            downcast_ref::<PunchplayState>(family)
                .profiles
                .get(&user.username)
                .cloned()
        },
    )?;
    let answer =
        answer.ok_or_else(|| ProtocolError::not_found("The token's user no longer exists."))?;
    Ok(respond::json_bytes(StatusCode::OK, answer))
}

/// Whether a public read needs a bearer token (PP-PUBLIC-1); [`Public`] is the rule.
pub trait PublicAccess: Sync {
    fn needs_token(&self) -> bool {
        false
    }
}

/// PP-PUBLIC-1: no token.
pub struct Public;

impl PublicAccess for Public {}

/// `GET /api/public/v1/users/{username}` (PP-PUBLIC-1).
pub fn public_user(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    if app
        .core
        .bends()
        .pick::<dyn PublicAccess>(&Public)
        .needs_token()
    {
        app.core
            .authenticate_bearer(bearer_token(&ctx.headers), None)?;
    }
    let username = ctx.param.as_deref().unwrap_or_default();
    let answer = app
        .core
        .with_family(|state: &mut PunchplayState| state.profiles.get(username).cloned())
        .ok_or_else(|| ProtocolError::not_found(format!("There is no user `{username}`.")))?;
    Ok(respond::json_bytes(StatusCode::OK, answer))
}

/// What an unknown route gets (PP-API-9); [`NotFound`] is the rule.
pub trait UnknownRoutes: Sync {
    /// The error for `path`, which no route serves with the request's method.
    fn error(&self, _app: &App, message: String) -> ProtocolError {
        ProtocolError::not_found(message)
    }
}

/// PP-API-9: 404 `not_found`, under the platform API and everywhere else.
pub struct NotFound;

impl UnknownRoutes for NotFound {}

/// PP-API-9: an unknown route, or a known path with a method it does not serve, is 404
/// `not_found`.
pub fn unrouted(app: &App, ctx: &Ctx, bends: Bends) -> ProtocolError {
    let message = format!(
        "There is no route {} {}. Check the method and path against the API reference.",
        ctx.method,
        ctx.path()
    );
    let rule = bends.pick::<dyn UnknownRoutes>(&NotFound);
    if ctx
        .path()
        .starts_with(app.core.profile.path("platform_api"))
    {
        rule.error(app, message)
    } else {
        NotFound.error(app, message)
    }
}

/// `public_user_needs_token` (PP-PUBLIC-1): the public users API demands a bearer token.
struct TokenRequired;

impl PublicAccess for TokenRequired {
    fn needs_token(&self) -> bool {
        true
    }
}

pub static PUBLIC_USER_NEEDS_TOKEN: FaultSpec = FaultSpec::bending(
    "public_user_needs_token",
    "PP-PUBLIC-1",
    "the public users API demands a bearer token",
    bends!(dyn PublicAccess = TokenRequired),
);

/// `unknown_route_server_error` (PP-API-9): unknown routes under the platform API answer
/// 500.
struct ServerErrors;

impl UnknownRoutes for ServerErrors {
    fn error(&self, _app: &App, _message: String) -> ProtocolError {
        ProtocolError::new(ErrorCode::ServerError, "Something went wrong.")
    }
}

pub static UNKNOWN_ROUTE_SERVER_ERROR: FaultSpec = FaultSpec::bending(
    "unknown_route_server_error",
    "PP-API-9",
    "unknown platform routes answer 500 instead of 404",
    bends!(dyn UnknownRoutes = ServerErrors),
);
