//! The punchplay family (seeds 000-002) as a rule pack: its routes, declared once in
//! [`ROUTES`]; its grants (the kernel's authorization code and refresh token, its own
//! device code, `device_code.rs`); its tables (device codes and playback,
//! [`PunchplayState`]); its faults, the kernel's it accepts included ([`FAULTS`]); its
//! error envelope `{error, message, request_id}` (PP-ERR-1); its pages and its test
//! control. The shell serves it as [`Punchplay`].

mod api;
mod developer;
mod device_code;
mod envelope;
mod events;
mod oauth;
mod pages;
mod playback;
mod qr;

use std::collections::HashMap;

use html_escape::encode_double_quoted_attribute as attr;
use hyper::Response;
use profile::{Identities, Profile};

use crate::core::clock::Millis;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::family_state::FamilyState;
use crate::core::fault::{Bends, FaultSpec};
use crate::core::{
    authorization_code, client_auth, grants, pkce, rate_limit, refresh_token, revocation, scope,
    token_endpoint,
};
use crate::http::consent::{self, AuthorizeRedirects};
use crate::http::fault_layer::ShapeFacts;
use crate::http::pack::RulePack;
use crate::http::request::OAuthInput;
use crate::http::respond::Body;
use crate::http::routes::RoutePath::{Endpoint, Item, Root, Template};
use crate::http::routes::body;
use crate::http::routes::{ClientSource, Layer, Route, Serve};
use crate::http::{App, Ctx, pages as shared_pages, sign_in};

/// Punchplay as the shell serves it.
pub struct Punchplay;

/// Every route, once (CONTRACT.md, profile `punchplay`). Each page form's POST is a
/// [`Serve::Form`], whose CSRF token the shell checks first.
static ROUTES: &[Route] = &[
    Route::get(Root, Serve::Head(shared_pages::index_page)).doc("the index page"),
    Route::get(Endpoint("authorize"), Serve::Head(consent::authorize_page))
        .shows_forms()
        .shape(ShapeFacts::CLIENT_REDIRECT)
        .doc("authorization request: sign-in, then consent (PP-AUTHZ-1, PP-AUTHZ-2)"),
    Route::post(
        Endpoint("authorize"),
        Serve::Form(consent::authorize_decision),
    )
    .shape(ShapeFacts::CLIENT_REDIRECT)
    .doc("the consent form's Approve or Deny (PP-AUTHZ-3, PP-AUTHZ-4)"),
    Route::post(Endpoint("token"), body!(oauth::token))
        .client(ClientSource::OAuthBody)
        .shape(ShapeFacts::GRANT_ENDPOINT)
        .doc("token endpoint: authorization code, refresh token (PP-TOKEN-*)"),
    Route::post(Endpoint("device_code"), body!(device_code::device_code))
        .client(ClientSource::OAuthBody)
        .shape(ShapeFacts::SCOPE_ANSWER)
        .doc("device authorization (PP-DEVICE-1, PP-DEVICE-2)"),
    Route::post(Endpoint("device_token"), body!(device_code::device_token))
        .client(ClientSource::OAuthBody)
        .shape(ShapeFacts::TOKEN_ANSWER)
        .doc("device token polling (PP-DEVICE-3..5)"),
    Route::post(Endpoint("refresh"), body!(oauth::refresh))
        .client(ClientSource::OAuthBody)
        .shape(ShapeFacts::TOKEN_ANSWER)
        .doc("device-flow refresh (PP-REFRESH-1)"),
    Route::get(
        Endpoint("developer_apps"),
        Serve::Head(developer::list_apps),
    )
    .shows_forms()
    .index("Developer apps (Get API key)")
    .doc("your apps, and Get API key (PP-APP-7)"),
    Route::post(
        Endpoint("developer_apps"),
        Serve::Form(developer::create_app),
    )
    .answers_json()
    .doc("register an app (PP-APP-7)"),
    Route::post(
        Item("developer_apps", "/secret"),
        Serve::Form(developer::rotate_secret),
    )
    .answers_json()
    .doc("rotate an app's secret (PP-APP-8)"),
    Route::post(
        Item("developer_apps", "/deactivate"),
        Serve::Form(developer::deactivate_app),
    )
    .answers_json()
    .doc("deactivate an app (PP-APP-8, PP-APP-5)"),
    Route::get(
        Endpoint("connected_apps"),
        Serve::Head(developer::connected_apps),
    )
    .shows_forms()
    .index("Connected apps")
    .doc("the apps with access to your account (PP-REVOKE-1)"),
    Route::post(
        Item("connected_apps", "/revoke"),
        Serve::Form(developer::revoke_connected_app),
    )
    .answers_json()
    .doc("revoke an app's access (PP-REVOKE-1)"),
    Route::get(
        Endpoint("activate"),
        Serve::Head(device_code::activate_page),
    )
    .shows_forms()
    .index("Activate a device")
    .doc("enter and approve a device's code (PP-DEVICE-5)"),
    Route::post(
        Endpoint("activate"),
        Serve::Form(device_code::activate_decision),
    )
    .doc("approve or deny a device code (PP-DEVICE-5)"),
    Route::get(Endpoint("login"), Serve::Head(sign_in::login_page))
        .shows_forms()
        .doc("the sign-in form"),
    Route::post(Endpoint("login"), Serve::Form(sign_in::login)).doc("sign in"),
    Route::post(Endpoint("logout"), Serve::Form(sign_in::logout)).doc("sign out"),
    Route::get(Endpoint("me"), Serve::Head(api::me))
        .client(ClientSource::Bearer)
        .doc("the token's user (PP-API-7)"),
    Route::get(Endpoint("now_playing"), Serve::Head(playback::now_playing))
        .client(ClientSource::Bearer)
        .doc("now playing (PP-API-6)"),
    Route::get(Endpoint("events"), Serve::Head(events::events))
        .client(ClientSource::Bearer)
        .doc("live playback events (PP-API-8)"),
    Route::post(Template("playback"), body!(playback::playback))
        .client(ClientSource::Bearer)
        .doc("a playback event (PP-API-3..5)"),
    Route::get(Template("public_user"), Serve::Head(api::public_user))
        .doc("a public user (PP-PUBLIC-1)"),
];

/// The faults a punchplay server switches on, in the order `GET /__test/fault` lists them.
static FAULTS: &[&FaultSpec] = &[
    &client_auth::SECRET_NOT_CHECKED,
    &client_auth::INVALID_CLIENT_400,
    &client_auth::INACTIVE_APP_ALLOWED,
    &revocation::DEACTIVATION_KEEPS_TOKENS,
    &client_auth::OLD_SECRET_STILL_VALID,
    &scope::UNKNOWN_SCOPE_GRANTED,
    &token_endpoint::SCOPE_OMITTED,
    &authorization_code::STATE_NOT_ECHOED,
    &oauth::ERROR_REDIRECT_WITHOUT_REQUEST_ID,
    &authorization_code::OPEN_REDIRECT,
    &pkce::PLAIN_PKCE_ACCEPTED,
    &pkce::VERIFIER_IGNORED,
    &authorization_code::CODE_REUSABLE,
    &token_endpoint::NO_STORE_MISSING,
    &token_endpoint::WRONG_GRANT_TYPE_ERROR,
    &device_code::QR_WRONG_URL,
    &device_code::DEVICE_TOKENS_TWICE,
    &device_code::DEVICE_DENY_PENDING,
    &refresh_token::REFRESH_NOT_ROTATED,
    &refresh_token::REPLAY_NOT_REVOKING,
    &refresh_token::REFRESH_RACE,
    &scope::REFRESH_WIDENS_SCOPE,
    &grants::EXPIRED_TOKEN_ACCEPTED,
    &scope::SCOPE_CHECK_SKIPPED,
    &playback::STALE_EVENT_APPLIED,
    &playback::SSE_DROPS_STOPS,
    &api::UNKNOWN_ROUTE_SERVER_ERROR,
    &api::PUBLIC_USER_NEEDS_TOKEN,
    &revocation::REVOKE_KEEPS_TOKENS,
    &envelope::REQUEST_ID_MISMATCH,
    &rate_limit::LIMITER_ADMITS_EXTRA,
    &rate_limit::RETRY_AFTER_MISSING,
    &rate_limit::LIMITER_COUNTS_REJECTED,
];

/// Punchplay's own tables: device codes (PP-DEVICE-*), each user's playback (PP-API-3..8,
/// one entry per registered user who played something) and each user's public profile as
/// `GET me` and the public users API answer it (PP-API-7, PP-PUBLIC-1), written once: the
/// users are the fixtures' and those the test controls create.
#[derive(Default)]
pub struct PunchplayState {
    devices: device_code::Devices,
    playback: HashMap<String, playback::UserPlayback>,
    profiles: HashMap<String, bytes::Bytes>,
}

impl FamilyState for PunchplayState {
    fn purge(&mut self, now: Millis, _bends: Bends, budget: usize) -> bool {
        self.devices.purge(now, budget)
    }

    fn access_revoked(&mut self, user: &str, client_id: &str) {
        self.devices.deny_approved(user, client_id);
    }

    fn add_user(&mut self, username: &str, display_name: &str) {
        if let Some(answer) = api::user_profile(username, display_name) {
            self.profiles.insert(username.to_owned(), answer);
        }
    }
}

impl RulePack for Punchplay {
    fn name(&self) -> &'static str {
        "punchplay"
    }

    fn routes(&self) -> &'static [Route] {
        ROUTES
    }

    fn faults(&self) -> &'static [&'static FaultSpec] {
        FAULTS
    }

    fn new_state(&self, _profile: &Profile, identities: &Identities) -> Box<dyn FamilyState> {
        Box::new(PunchplayState {
            profiles: api::user_profiles(identities),
            ..PunchplayState::default()
        })
    }

    /// PP-API-9: a route this table does not serve, whatever the method, is 404.
    fn unrouted(
        &self,
        app: &App,
        ctx: &Ctx,
        _allow: Option<&str>,
    ) -> ProtocolResult<Response<Body>> {
        Err(api::unrouted(app, ctx, app.core.bends()))
    }

    fn oauth_input(&self, headers: &hyper::HeaderMap, body: &[u8]) -> ProtocolResult<OAuthInput> {
        oauth::oauth_credentials(headers, body)
    }

    fn error_body(&self, layer: Layer, error: &ProtocolError, request_id: &str) -> Vec<u8> {
        envelope::error_body(layer, error, request_id)
    }

    fn challenge(&self, layer: Layer, error: &ProtocolError) -> Option<String> {
        envelope::challenge(layer, error)
    }

    fn authorize_redirects(&self) -> Option<&'static dyn AuthorizeRedirects> {
        Some(&oauth::Redirects)
    }

    fn consent_note(&self, profile: &Profile) -> Option<String> {
        profile.paths.get("connected_apps").map(|path| {
            format!(
                "<p class=\"muted\">You can revoke access later in <a href=\"{}\">connected apps</a>.</p>",
                attr(path)
            )
        })
    }

    /// The developer pages: where a person signs in to get an API key.
    fn home<'p>(&self, profile: &'p Profile) -> &'p str {
        profile
            .paths
            .get("developer_apps")
            .map_or("/", String::as_str)
    }

    fn test_control(
        &self,
        app: &App,
        ctx: &Ctx,
        segments: &[&str],
        body: &[u8],
    ) -> Option<ProtocolResult<Response<Body>>> {
        match (ctx.method == hyper::Method::POST, segments) {
            (true, ["device", "decide"]) => Some(device_code::decide_control(app, body)),
            _ => None,
        }
    }
}
