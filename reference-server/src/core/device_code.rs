//! The device authorization grant (RFC 8628; PP-DEVICE-*).

use std::collections::HashMap;

use crate::faults::Fault;

use super::client_auth::ClientCredentials;
use super::clock::{Millis, secs};
use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::expiring::Expiring;
use super::grants::TokenPair;
use super::scope::{self, ScopeSet};
use super::secrets::{random_from, random_token};
use super::{Core, Params};

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
}

/// What `auth/device/code` answers (PP-DEVICE-1). The HTTP layer adds
/// `verification_uri_qr` (PP-DEVICE-2), since only it knows the public base URL.
#[derive(Debug, Clone)]
pub struct DeviceStart {
    pub device_code: String,
    pub user_code: String,
    pub expires_in: u64,
    pub interval: u64,
    pub scope: String,
}

/// A pending device request as the `/activate` page shows it.
#[derive(Debug, Clone)]
pub struct DeviceForPage {
    pub user_code: String,
    pub app_name: String,
    pub scopes: ScopeSet,
}

/// `wdjb-mjht`, `WDJBMJHT` and ` WDJB-MJHT ` all name the same code.
pub fn normalise_user_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Core {
    /// `POST auth/device/code` (PP-DEVICE-1, PP-SCOPE-2..4).
    pub fn start_device(
        &self,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<DeviceStart> {
        let now = self.now();
        let mut state = self.lock();
        Self::check_mode(&state)?;
        let app = state.authenticate_client(creds)?;
        let scopes = scope::resolve(
            params.get("scope").map(String::as_str),
            &app.allowed_scopes,
            &self.profile.scopes.known,
            state.has(Fault::UnknownScopeGranted),
        )?;
        // The device flow is punchplay's (PP-DEVICE-1); another family has no device codes.
        let Some(settings) = self.profile.punchplay_settings().map(|pp| &pp.device) else {
            return Err(ProtocolError::not_found("This server has no device flow."));
        };
        let (user_code, key) = loop {
            let raw = random_from(
                settings.user_code_alphabet.as_bytes(),
                settings.user_code_length,
            );
            if !state.devices.by_user_code.contains_key(&raw) {
                let half = raw.len() / 2;
                break (format!("{}-{}", &raw[..half], &raw[half..]), raw);
            }
        };
        let device_code = random_token("ppdc_");
        let lifetime = self.profile.lifetimes.device_code;
        state.devices.insert(
            device_code.clone(),
            key,
            DeviceAuthorization {
                client_id: app.client_id.clone(),
                user_code: user_code.clone(),
                scopes: scopes.clone(),
                expires_at: now + secs(lifetime),
                state: DeviceState::Pending,
            },
        );
        Ok(DeviceStart {
            device_code,
            user_code,
            expires_in: lifetime,
            interval: self.profile.lifetimes.device_poll_interval,
            scope: scopes.to_wire(),
        })
    }

    /// `POST auth/device/token` (PP-DEVICE-3, PP-DEVICE-4, PP-DEVICE-5).
    pub fn poll_device(
        &self,
        params: &Params,
        creds: &ClientCredentials,
    ) -> ProtocolResult<TokenPair> {
        super::token_endpoint::optional_grant_type(params, DEVICE_GRANT_TYPE)?;
        let device_code = params
            .get("device_code")
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ProtocolError::invalid_request("device_code is required."))?
            .clone();
        let now = self.now();
        let mut state = self.lock();
        Self::check_mode(&state)?;
        let app = state.authenticate_client(creds)?;
        let expired = || {
            ProtocolError::new(
                ErrorCode::Expired,
                "The device code is invalid or expired. Request a new one.",
            )
        };
        let twice = state.has(Fault::DeviceTokensTwice);
        let deny_pending = state.has(Fault::DeviceDenyPending);
        let device = state
            .devices
            .by_device_code
            .get_mut(&device_code)
            .filter(|d| d.client_id == app.client_id && d.expires_at > now)
            .ok_or_else(expired)?;
        let user = match &device.state {
            DeviceState::Pending => {
                return Err(ProtocolError::new(
                    ErrorCode::AuthorizationPending,
                    "The user has not approved the device code yet. Keep polling at the interval.",
                ));
            }
            DeviceState::Denied if deny_pending => {
                return Err(ProtocolError::new(
                    ErrorCode::AuthorizationPending,
                    "The user has not approved the device code yet. Keep polling at the interval.",
                ));
            }
            DeviceState::Denied => {
                return Err(ProtocolError::new(
                    ErrorCode::AccessDenied,
                    "The user denied the request.",
                ));
            }
            DeviceState::Issued => return Err(expired()),
            DeviceState::Approved { user } => user.clone(),
        };
        let scopes = device.scopes.clone();
        if !twice {
            device.state = DeviceState::Issued;
        }
        let grant = state.grants.create(&user, &app.client_id, scopes.clone());
        let mut pair = state.grants.issue(
            grant,
            &scopes,
            self.profile.lifetimes.access_token,
            self.profile.lifetimes.refresh_token_idle,
            now,
        );
        drop(state);
        self.apply_response_faults(&mut pair);
        Ok(pair)
    }

    /// The pending device request behind a user code, for the `/activate` page.
    pub fn device_for_page(&self, user_code: &str) -> ProtocolResult<DeviceForPage> {
        let now = self.now();
        let state = self.lock();
        let device = state
            .devices
            .by_user_code
            .get(&normalise_user_code(user_code))
            .and_then(|dc| state.devices.by_device_code.get(dc))
            .filter(|d| d.expires_at > now && d.state == DeviceState::Pending)
            .ok_or_else(|| {
                ProtocolError::not_found(
                    "That code is unknown, expired or already used. Check the code on your device.",
                )
            })?;
        let app_name = state
            .registry
            .apps
            .get(&device.client_id)
            .map_or_else(|| device.client_id.clone(), |a| a.name.clone());
        Ok(DeviceForPage {
            user_code: device.user_code.clone(),
            app_name,
            scopes: device.scopes.clone(),
        })
    }

    /// A signed-in user approves or denies a pending device code (PP-DEVICE-3/4/5).
    pub fn decide_device(
        &self,
        user_code: &str,
        user: &str,
        approve: bool,
    ) -> ProtocolResult<String> {
        let now = self.now();
        let mut state = self.lock();
        if !state.registry.users.contains_key(user) {
            return Err(ProtocolError::not_found(format!(
                "There is no user `{user}`."
            )));
        }
        let Some(dc) = state
            .devices
            .by_user_code
            .get(&normalise_user_code(user_code))
            .cloned()
        else {
            return Err(ProtocolError::not_found(
                "That code is unknown, expired or already used.",
            ));
        };
        let device = state
            .devices
            .by_device_code
            .get_mut(&dc)
            .filter(|d| d.expires_at > now && d.state == DeviceState::Pending)
            .ok_or_else(|| {
                ProtocolError::not_found("That code is unknown, expired or already used.")
            })?;
        device.state = if approve {
            DeviceState::Approved {
                user: user.to_owned(),
            }
        } else {
            DeviceState::Denied
        };
        Ok(device.user_code.clone())
    }
}
