//! The punchplay family (seeds 000-002): its `[punchplay]` section (request ids, device
//! codes, playback actions) and what a punchplay profile must define.

use serde::{Deserialize, Serialize};

use crate::{Profile, ProfileError};

/// `[punchplay]`: the settings only punchplay has.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PunchplaySettings {
    /// `[punchplay.request_id]` (PP-ERR-2).
    pub request_id: RequestIdFormat,
    /// `[punchplay.device]` (PP-DEVICE-1).
    pub device: DeviceSettings,
    /// `[punchplay.playback]` (PP-API-3).
    pub playback: PlaybackSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestIdFormat {
    pub header: String,
    pub prefix: String,
    pub hex_len: usize,
}

impl RequestIdFormat {
    /// Whether `value` has this profile's request-id format (PP-ERR-2).
    pub fn matches(&self, value: &str) -> bool {
        value.strip_prefix(&self.prefix).is_some_and(|hex| {
            hex.len() == self.hex_len
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSettings {
    pub user_code_alphabet: String,
    pub user_code_length: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybackSettings {
    pub actions: Vec<String>,
}

/// The endpoints a punchplay profile must name under `[paths]`.
pub const PATHS: &[&str] = &[
    "authorize",
    "token",
    "device_code",
    "device_token",
    "refresh",
    "activate",
    "login",
    "logout",
    "developer_apps",
    "connected_apps",
    "me",
    "playback",
    "now_playing",
    "events",
    "public_user",
    "platform_api",
    "public_api",
];

/// The error codes a punchplay profile must give a status for (PP-ERR-4).
pub const ERRORS: &[&str] = &[
    "authorization_pending",
    "expired",
    "invalid_client",
    "invalid_grant",
    "invalid_request",
    "invalid_scope",
    "invalid_token",
    "insufficient_scope",
    "not_found",
    "rate_limited",
    "server_error",
    "unauthorized_client",
    "unsupported_grant_type",
    "unsupported_response_type",
    "access_denied",
];

/// Every lifetime punchplay uses.
pub const LIFETIMES: &[&str] = crate::Lifetimes::NAMES;

pub(crate) fn validate(profile: &Profile, lifetimes_given: &[String]) -> Result<(), ProfileError> {
    super::require_all(profile, PATHS, ERRORS, LIFETIMES, lifetimes_given)?;
    let settings = profile
        .punchplay_settings()
        .ok_or(ProfileError::MissingSection("punchplay"))?;
    let alphabet = settings.device.user_code_alphabet.len();
    let length = settings.device.user_code_length;
    if alphabet < 2 || length == 0 || !length.is_multiple_of(2) {
        return Err(ProfileError::Invalid(
            "[punchplay.device] needs an alphabet of 2 or more letters and an even user_code_length"
                .into(),
        ));
    }
    Ok(())
}
