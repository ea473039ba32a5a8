//! The device authorization grant (RFC 8628; PP-DEVICE-*): the device codes (punchplay's
//! own table), `auth/device/code` with its QR code (PP-DEVICE-1, PP-DEVICE-2), the grant
//! that polls them at `auth/device/token` (PP-DEVICE-3..5), the `/activate` pages where a
//! user decides (PP-DEVICE-5) and the test control that decides for one; the components
//! these call and the faults that bend them.

use std::collections::HashMap;

use hyper::{Response, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::oauth::{oauth_input, token_pair_endpoint};
use super::pages::{self, DeviceForPage};
use super::{PunchplayState, qr};
use crate::core::client_auth::BodyOrBasic;
use crate::core::clock::{Millis, secs};
use crate::core::error::{ErrorCode, ProtocolError, ProtocolResult};
use crate::core::expiring::Expiring;
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec};
use crate::core::grants::TokenPair;
use crate::core::scope::{self, ScopeSet};
use crate::core::secrets::{random_from, random_token};
use crate::core::token_endpoint::{
    GrantEndpoint, GrantHandler, GrantRequest, GrantTypeParam, Issues, Order,
};
use crate::core::{ClientCall, Params};
use crate::http::request::{RequestBody, parse_form, query_params};
use crate::http::respond::{self, Body};
use crate::http::test_controls::{body_as, ok_with_now};
use crate::http::{App, Ctx};

/// The RFC 8628 grant type, accepted at the device token endpoint (PP-DEVICE-5).
pub const DEVICE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    Pending,
    Approved {
        user: String,
    },
    Denied,
    /// Tokens were handed out; the code is used up (PP-DEVICE-3).
    Issued,
}

#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    pub client_id: String,
    pub user_code: String,
    pub scopes: ScopeSet,
    pub expires_at: Millis,
    pub state: DeviceState,
}

/// The most device authorizations kept at once; past it the oldest is evicted (issue 12
/// item 1). Each one is started by an authenticated client under a rate limit.
pub const MAX_DEVICE_CODES: usize = 10_000;

#[derive(Debug)]
pub struct Devices {
    pub by_device_code: Expiring<String, DeviceAuthorization>,
    /// Normalised user code (letters only, upper case) → device code.
    pub by_user_code: HashMap<String, String>,
}

impl Default for Devices {
    fn default() -> Self {
        Devices {
            by_device_code: Expiring::new(MAX_DEVICE_CODES),
            by_user_code: HashMap::new(),
        }
    }
}

impl Devices {
    fn insert(&mut self, device_code: String, user_code_key: String, d: DeviceAuthorization) {
        self.by_user_code.insert(user_code_key, device_code.clone());
        let expires_at = d.expires_at;
        if let Some((_, evicted)) = self.by_device_code.insert(device_code, d, expires_at) {
            self.by_user_code
                .remove(&normalise_user_code(&evicted.user_code));
        }
    }

    /// Forgets expired device codes, at most `budget`; answers whether none due is left.
    pub fn purge(&mut self, now: Millis, budget: usize) -> bool {
        let by_user_code = &mut self.by_user_code;
        self.by_device_code.purge(now, budget, |_, d| {
            by_user_code.remove(&normalise_user_code(&d.user_code));
        })
    }

    /// A user revoked the app (PP-REVOKE-1): its approved codes not yet polled are
    /// denied, so they mint nothing after the revoke.
    pub fn deny_approved(&mut self, user: &str, client_id: &str) {
        for device in self.by_device_code.values_mut() {
            if device.client_id == client_id
                && matches!(&device.state, DeviceState::Approved { user: u } if u == user)
            {
                device.state = DeviceState::Denied;
            }
        }
    }
}

/// `wdjb-mjht`, `WDJBMJHT` and ` WDJB-MJHT ` all name the same code.
pub fn normalise_user_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// `authorization_pending` (PP-DEVICE-3).
pub fn authorization_pending() -> ProtocolError {
    ProtocolError::new(
        ErrorCode::AuthorizationPending,
        "The user has not approved the device code yet. Keep polling at the interval.",
    )
}

/// `expired`: unknown, expired or used up (PP-DEVICE-3).
pub fn device_code_expired() -> ProtocolError {
    ProtocolError::new(
        ErrorCode::Expired,
        "The device code is invalid or expired. Request a new one.",
    )
}

/// What a poll of an unexpired device code of the polling client answers; [`PollRules`]
/// is the rule.
pub trait DevicePolls: Sync {
    /// The approving user, with the code used up; or why there are no tokens.
    fn poll(&self, device: &mut DeviceAuthorization) -> ProtocolResult<String>;
}

/// PP-DEVICE-3, PP-DEVICE-4: pending until decided, tokens once after approval, then
/// `expired`; a denial is `access_denied`.
pub struct PollRules;

impl DevicePolls for PollRules {
    fn poll(&self, device: &mut DeviceAuthorization) -> ProtocolResult<String> {
        match &device.state {
            DeviceState::Pending => Err(authorization_pending()),
            DeviceState::Denied => Err(ProtocolError::new(
                ErrorCode::AccessDenied,
                "The user denied the request.",
            )),
            DeviceState::Issued => Err(device_code_expired()),
            DeviceState::Approved { user } => {
                let user = user.clone();
                device.state = DeviceState::Issued;
                Ok(user)
            }
        }
    }
}

fn device_polls(bends: Bends) -> &'static dyn DevicePolls {
    bends.pick::<dyn DevicePolls>(&PollRules)
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

    fn handle(&self, mut g: GrantRequest<'_>) -> ProtocolResult<TokenPair> {
        let device_code = g.param("device_code").ok_or_else(device_code_expired)?;
        let (now, bends) = (g.now, g.bends);
        let client_id = g.client.client_id.clone();
        let state: &mut PunchplayState = g.family();
        let device = state
            .devices
            .by_device_code
            .get_mut(device_code)
            .filter(|d| d.client_id == client_id && d.expires_at > now)
            .ok_or_else(device_code_expired)?;
        let user = device_polls(bends).poll(device)?;
        let scopes = device.scopes.clone();
        let grant = g.tokens.create(&user, &client_id, scopes.clone());
        Ok(g.issue(grant, &scopes))
    }
}

/// `POST auth/device/token`: the device code grant alone; an optional `grant_type` must
/// be RFC 8628's (PP-DEVICE-5).
pub static DEVICE_TOKEN: GrantEndpoint = GrantEndpoint {
    handlers: &[&DeviceCodeGrant],
    grant_type: GrantTypeParam::Optional,
    order: Order::GrantTypeFirst,
    authenticator: &BodyOrBasic,
    issues: Issues::TokenPair,
};

/// `POST auth/device/token` (PP-DEVICE-3).
pub async fn device_token(
    app: &App,
    ctx: &Ctx,
    body: RequestBody,
) -> ProtocolResult<Response<Body>> {
    token_pair_endpoint(app, ctx, body, &DEVICE_TOKEN).await
}

/// What a device authorization starts (PP-DEVICE-1).
struct DeviceStart {
    device_code: String,
    user_code: String,
    scope: String,
}

/// `POST auth/device/code` (PP-DEVICE-1, PP-DEVICE-2): the client authenticates as at the
/// token endpoint; the answer carries the codes, the verification URIs and the QR code.
pub async fn device_code(
    app: &App,
    ctx: &Ctx,
    body: RequestBody,
) -> ProtocolResult<Response<Body>> {
    let input = oauth_input(app, ctx, body).await;
    app.core.check_failure_mode()?;
    let (params, creds) = input?;
    let profile = &app.core.profile;
    let settings = &profile.expect_punchplay().device;
    let known = &profile.scopes.known;
    let lifetime = profile.lifetimes.device_code;
    let start = app.core.with_client(
        &creds,
        &BodyOrBasic,
        |call: ClientCall<'_, PunchplayState>| {
            let scopes = scope::policy(call.bends).grant(
                params.get("scope").map(String::as_str),
                &call.client.allowed_scopes,
                known,
            )?;
            let devices = &mut call.family.devices;
            let (user_code, key) = loop {
                let raw = random_from(
                    settings.user_code_alphabet.as_bytes(),
                    settings.user_code_length,
                );
                if !devices.by_user_code.contains_key(&raw) {
                    let half = raw.len() / 2;
                    break (format!("{}-{}", &raw[..half], &raw[half..]), raw);
                }
            };
            let device_code = random_token("ppdc_");
            devices.insert(
                device_code.clone(),
                key,
                DeviceAuthorization {
                    client_id: call.client.client_id.clone(),
                    user_code: user_code.clone(),
                    scopes: scopes.clone(),
                    expires_at: call.now + secs(lifetime),
                    state: DeviceState::Pending,
                },
            );
            Ok(DeviceStart {
                device_code,
                user_code,
                scope: scopes.to_wire(),
            })
        },
    )?;
    let verification_uri = format!("{}{}", ctx.base_url(), profile.path("activate"));
    let complete = format!(
        "{verification_uri}?user_code={}",
        url::form_urlencoded::byte_serialize(start.user_code.as_bytes()).collect::<String>()
    );
    // PP-DEVICE-2: the QR code decodes to verification_uri_complete.
    let encoded = qr_payload(app.core.bends()).encodes(&verification_uri, &complete);
    let qr = qr::png_data_uri(encoded).map_err(|_| {
        ProtocolError::new(ErrorCode::ServerError, "The QR code could not be drawn.")
    })?;
    let body = json!({
        "device_code": start.device_code,
        "user_code": start.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "verification_uri_qr": qr,
        "expires_in": lifetime,
        "interval": profile.lifetimes.device_poll_interval,
        "scope": start.scope,
    });
    Ok(respond::no_store(respond::json(StatusCode::OK, &body)))
}

/// Which URI the QR code encodes (PP-DEVICE-2); [`CompleteUri`] is the rule.
pub trait QrPayload: Sync {
    fn encodes<'u>(&self, _verification_uri: &'u str, complete: &'u str) -> &'u str {
        complete
    }
}

/// PP-DEVICE-2: `verification_uri_complete`.
pub struct CompleteUri;

impl QrPayload for CompleteUri {}

fn qr_payload(bends: Bends) -> &'static dyn QrPayload {
    bends.pick::<dyn QrPayload>(&CompleteUri)
}

/// The pending device request behind a user code, for the `/activate` page.
fn device_for_page(app: &App, user_code: &str) -> ProtocolResult<DeviceForPage> {
    let now = app.core.now();
    app.core
        .with_family_and_registry(|registry, state: &mut PunchplayState| {
            let devices = &state.devices;
            let device = devices
                .by_user_code
                .get(&normalise_user_code(user_code))
                .and_then(|dc| devices.by_device_code.get(dc))
                .filter(|d| d.expires_at > now && d.state == DeviceState::Pending)
                .ok_or_else(|| {
                    ProtocolError::not_found(
                        "That code is unknown, expired or already used. Check the code on your device.",
                    )
                })?;
            let app_name = registry
                .apps
                .get(&device.client_id)
                .map_or_else(|| device.client_id.clone(), |a| a.name.clone());
            Ok(DeviceForPage {
                user_code: device.user_code.clone(),
                app_name,
                scopes: device.scopes.clone(),
            })
        })
}

/// A user approves or denies a pending device code (PP-DEVICE-3, -4, -5); answers the
/// code as it was issued.
pub fn decide_device(
    app: &App,
    user_code: &str,
    user: &str,
    approve: bool,
) -> ProtocolResult<String> {
    let now = app.core.now();
    app.core
        .with_family_and_registry(|registry, state: &mut PunchplayState| {
            if !registry.users.contains_key(user) {
                return Err(ProtocolError::not_found(format!(
                    "There is no user `{user}`."
                )));
            }
            let gone =
                || ProtocolError::not_found("That code is unknown, expired or already used.");
            let devices = &mut state.devices;
            let dc = devices
                .by_user_code
                .get(&normalise_user_code(user_code))
                .cloned()
                .ok_or_else(gone)?;
            let device = devices
                .by_device_code
                .get_mut(&dc)
                .filter(|d| d.expires_at > now && d.state == DeviceState::Pending)
                .ok_or_else(gone)?;
            device.state = if approve {
                DeviceState::Approved {
                    user: user.to_owned(),
                }
            } else {
                DeviceState::Denied
            };
            Ok(device.user_code.clone())
        })
}

/// `GET /activate` (PP-DEVICE-5): the sign-in form, the code form, or the app and scopes
/// to approve.
pub fn activate_page(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let here = ctx.path_and_query();
    let Some((_, user)) = app.session(ctx) else {
        return Ok(respond::html(
            StatusCode::OK,
            crate::http::pages::login_form(app, ctx.csrf.for_form(), &here, None),
        ));
    };
    let params = query_params(ctx.query());
    Ok(
        match params.get("user_code").filter(|c| !c.trim().is_empty()) {
            None => respond::html(
                StatusCode::OK,
                pages::activate_enter_code(app, ctx.csrf.for_form(), &user, None),
            ),
            Some(code) => match device_for_page(app, code) {
                Ok(device) => respond::html(
                    StatusCode::OK,
                    pages::activate_confirm(app, ctx.csrf.for_form(), &user, &device),
                ),
                Err(e) => respond::html(
                    StatusCode::NOT_FOUND,
                    pages::activate_enter_code(app, ctx.csrf.for_form(), &user, Some(&e.message)),
                ),
            },
        },
    )
}

/// `POST /activate`: approve or deny a device code (PP-DEVICE-3, PP-DEVICE-4).
pub fn activate_decision(app: &App, ctx: &Ctx, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let form = parse_form(body)?;
    let Some((_, user)) = app.session(ctx) else {
        return Ok(respond::html(
            StatusCode::OK,
            crate::http::pages::login_form(
                app,
                ctx.csrf.for_form(),
                app.core.profile.path("activate"),
                None,
            ),
        ));
    };
    let code = form
        .get("user_code")
        .map(String::as_str)
        .unwrap_or_default();
    let approve = form.get("decision").map(String::as_str) == Some("approve");
    match decide_device(app, code, &user, approve) {
        Ok(code) => Ok(respond::html(
            StatusCode::OK,
            pages::activate_done(app, &code, approve),
        )),
        Err(e) => Ok(respond::html(
            StatusCode::NOT_FOUND,
            pages::activate_enter_code(app, ctx.csrf.for_form(), &user, Some(&e.message)),
        )),
    }
}

#[derive(Deserialize)]
struct DeviceDecide {
    user_code: String,
    username: String,
    approve: bool,
}

/// `POST /__test/device/decide` `{"user_code", "username", "approve"}`: approves or denies
/// a pending device code as that user would on `/activate`.
pub fn decide_control(app: &App, body: &[u8]) -> ProtocolResult<Response<Body>> {
    let DeviceDecide {
        user_code,
        username,
        approve,
    } = body_as(body)?;
    let code = decide_device(app, &user_code, &username, approve)?;
    ok_with_now(app, json!({"user_code": code, "approved": approve}))
}

/// `device_tokens_twice` (PP-DEVICE-3): an approved code is never used up.
struct DeviceTokensTwice;

impl DevicePolls for DeviceTokensTwice {
    fn poll(&self, device: &mut DeviceAuthorization) -> ProtocolResult<String> {
        let before = device.state.clone();
        let user = PollRules.poll(device)?;
        device.state = before;
        Ok(user)
    }
}

pub static DEVICE_TOKENS_TWICE: FaultSpec = FaultSpec::bending(
    "device_tokens_twice",
    "PP-DEVICE-3",
    "an approved device code yields tokens on every poll",
    bends!(dyn DevicePolls = DeviceTokensTwice),
);

/// `device_deny_pending` (PP-DEVICE-4): a denied code reads as still pending.
struct DeviceDenyPending;

impl DevicePolls for DeviceDenyPending {
    fn poll(&self, device: &mut DeviceAuthorization) -> ProtocolResult<String> {
        if device.state == DeviceState::Denied {
            return Err(authorization_pending());
        }
        PollRules.poll(device)
    }
}

pub static DEVICE_DENY_PENDING: FaultSpec = FaultSpec::bending(
    "device_deny_pending",
    "PP-DEVICE-4",
    "a denied device code keeps answering authorization_pending",
    bends!(dyn DevicePolls = DeviceDenyPending),
);

/// `qr_wrong_url` (PP-DEVICE-2): the QR code encodes `verification_uri`.
struct PlainUri;

impl QrPayload for PlainUri {
    fn encodes<'u>(&self, verification_uri: &'u str, _complete: &'u str) -> &'u str {
        verification_uri
    }
}

pub static QR_WRONG_URL: FaultSpec = FaultSpec::bending(
    "qr_wrong_url",
    "PP-DEVICE-2",
    "the QR code encodes verification_uri instead of verification_uri_complete",
    bends!(dyn QrPayload = PlainUri),
);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::normalise_user_code;

    proptest! {
        /// Any text normalises without a panic, to letters and digits, and stays put.
        #[test]
        fn user_codes_normalise_without_panic(raw in "\\PC{0,40}") {
            let code = normalise_user_code(&raw);
            prop_assert!(code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
            prop_assert_eq!(normalise_user_code(&code), code.clone());
        }
    }
}
