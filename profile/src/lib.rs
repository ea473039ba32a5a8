//! The contract as data.
//!
//! A [`Profile`] holds everything `CONTRACT.md` says about one documented system that a
//! program needs to enforce, check or load-test it: paths, lifetimes, scopes, error codes
//! with their statuses, rate limits and the clause ids with their levels. [`Identities`]
//! holds the apps and users a server ships with (or a suite signs in as).
//!
//! This crate owns parsing and validation of those files. It does no I/O and knows
//! nothing of HTTP: callers read the files and hand the text in.

mod identities;
mod path_template;
pub mod sliding;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use identities::{App, AppKind, Identities, Secret, User};
pub use path_template::PathTemplate;

/// The punchplay profile as committed in `fixtures/profiles/punchplay.toml`.
pub const PUNCHPLAY_PROFILE_TOML: &str = include_str!("../../fixtures/profiles/punchplay.toml");
/// The punchplay fixture identities as committed in `fixtures/identities/punchplay.toml`.
pub const PUNCHPLAY_IDENTITIES_TOML: &str =
    include_str!("../../fixtures/identities/punchplay.toml");

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the profile is not valid TOML for a profile: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the profile is missing the path `{0}`; add it under [paths]")]
    MissingPath(&'static str),
    #[error("rate limit `{limit}` names the endpoint `{endpoint}`, which [paths] does not define")]
    UnknownLimitEndpoint { limit: String, endpoint: String },
    #[error("rate limit `{0}` must have max >= 1 and window_secs >= 1")]
    EmptyLimit(String),
    #[error("the profile is missing the status of error code `{0}` under [errors]")]
    MissingError(&'static str),
    #[error("{0}")]
    Invalid(String),
}

/// Which family of systems a profile describes: it picks the error-envelope renderer and
/// the endpoint set. Only `punchplay` is served today; `enterprise` and `flexslot` add a
/// renderer and their endpoint pieces, not a fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Envelope {
    /// `{error, message, request_id}` (PP-ERR-1).
    Punchplay,
    /// `{success, message, details}` (EN-TOKEN-2).
    Enterprise,
    /// `{error, error_description}` (FX-TOKEN-1).
    Flexslot,
}

/// A clause's level (CONTRACT.md, "Levels").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Level {
    #[serde(rename = "MUST")]
    Must,
    #[serde(rename = "SHOULD")]
    Should,
    #[serde(rename = "DECIDED")]
    Decided,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Must, Level::Should, Level::Decided];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::Decided => "DECIDED",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "MUST" => Ok(Level::Must),
            "SHOULD" => Ok(Level::Should),
            "DECIDED" => Ok(Level::Decided),
            other => Err(format!(
                "unknown level `{other}`: use MUST, SHOULD or DECIDED"
            )),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Clause {
    pub id: String,
    pub level: Level,
    pub summary: String,
}

impl Clause {
    /// The clause's area: `PP-REFRESH` for `PP-REFRESH-3`.
    pub fn area(&self) -> &str {
        self.id.rsplit_once('-').map_or(&self.id, |(area, _)| area)
    }
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
pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifetimes {
    pub authorization_code: u64,
    pub access_token: u64,
    pub refresh_token_idle: u64,
    pub device_code: u64,
    pub device_poll_interval: u64,
    pub sse_heartbeat: u64,
    pub session: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scopes {
    /// Every scope the profile knows (PP-SCOPE-1).
    pub known: Vec<String>,
    /// The scope each bearer endpoint requires, by endpoint name (PP-API-2).
    pub required: BTreeMap<String, String>,
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

/// What a rate limit counts requests by (PP-RATE-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKey {
    /// The TCP peer address, or the last `X-Forwarded-For` entry behind a trusted proxy.
    Ip,
    /// The request's `client_id` together with the IP.
    ClientAndIp,
    /// The bearer token's user.
    User,
}

impl LimitKey {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKey::Ip => "IP",
            LimitKey::ClientAndIp => "client and IP",
            LimitKey::User => "user",
        }
    }
}

/// One documented rate limit (PP-RATE-1): at most `max` requests per `window_secs`
/// sliding window (PP-RATE-3), per key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub name: String,
    pub method: String,
    /// The name of a path under `[paths]`.
    pub endpoint: String,
    pub max: u32,
    pub window_secs: u64,
    pub key: LimitKey,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub title: String,
    pub envelope: Envelope,
    #[serde(default)]
    pub seeds: Vec<String>,
    pub request_id: RequestIdFormat,
    pub http: HttpLimits,
    /// Endpoint name to path; `{name}` segments are parameters.
    pub paths: BTreeMap<String, String>,
    pub lifetimes: Lifetimes,
    pub scopes: Scopes,
    pub device: DeviceSettings,
    pub playback: PlaybackSettings,
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    /// Error code to HTTP status (PP-ERR-3, PP-ERR-4).
    pub errors: BTreeMap<String, u16>,
    #[serde(default)]
    pub clauses: Vec<Clause>,
}

/// The endpoints a punchplay-envelope profile must name under `[paths]`.
const PUNCHPLAY_PATHS: &[&str] = &[
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

/// The error codes a punchplay-envelope profile must give a status for (PP-ERR-4).
const PUNCHPLAY_ERRORS: &[&str] = &[
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

impl Profile {
    /// Parses and validates a profile file's text.
    pub fn from_toml_str(text: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = toml::from_str(text)?;
        profile.validate()?;
        Ok(profile)
    }

    /// The committed punchplay profile.
    pub fn punchplay() -> Profile {
        Profile::from_toml_str(PUNCHPLAY_PROFILE_TOML)
            .expect("the committed punchplay profile is valid")
    }

    fn validate(&self) -> Result<(), ProfileError> {
        if self.envelope == Envelope::Punchplay {
            for name in PUNCHPLAY_PATHS {
                if !self.paths.contains_key(*name) {
                    return Err(ProfileError::MissingPath(name));
                }
            }
            for code in PUNCHPLAY_ERRORS {
                if !self.errors.contains_key(*code) {
                    return Err(ProfileError::MissingError(code));
                }
            }
        }
        for limit in &self.rate_limits {
            if !self.paths.contains_key(&limit.endpoint) {
                return Err(ProfileError::UnknownLimitEndpoint {
                    limit: limit.name.clone(),
                    endpoint: limit.endpoint.clone(),
                });
            }
            if limit.max == 0 || limit.window_secs == 0 {
                return Err(ProfileError::EmptyLimit(limit.name.clone()));
            }
        }
        for (name, path) in &self.paths {
            if !path.starts_with('/') {
                return Err(ProfileError::Invalid(format!(
                    "path `{name}` = `{path}` must start with `/`"
                )));
            }
        }
        let alphabet = self.device.user_code_alphabet.len();
        if alphabet < 2
            || self.device.user_code_length == 0
            || !self.device.user_code_length.is_multiple_of(2)
        {
            return Err(ProfileError::Invalid(
                "[device] needs an alphabet of 2 or more letters and an even user_code_length"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The path of a named endpoint. Panics on a name the profile does not define, which
    /// validation rules out for the names a profile's envelope requires.
    pub fn path(&self, endpoint: &str) -> &str {
        self.paths
            .get(endpoint)
            .unwrap_or_else(|| panic!("profile `{}` has no path `{endpoint}`", self.name))
    }

    pub fn path_template(&self, endpoint: &str) -> PathTemplate<'_> {
        PathTemplate::new(self.path(endpoint))
    }

    /// The HTTP status that goes with an error code; 500 for a code the profile lacks.
    pub fn status_of(&self, error_code: &str) -> u16 {
        self.errors.get(error_code).copied().unwrap_or(500)
    }

    pub fn rate_limit(&self, name: &str) -> Option<&RateLimit> {
        self.rate_limits.iter().find(|l| l.name == name)
    }

    /// The rate limit for a request, if any (method and endpoint name).
    pub fn rate_limit_for(&self, method: &str, endpoint: &str) -> Option<&RateLimit> {
        self.rate_limits
            .iter()
            .find(|l| l.endpoint == endpoint && l.method.eq_ignore_ascii_case(method))
    }

    pub fn clause(&self, id: &str) -> Option<&Clause> {
        self.clauses.iter().find(|c| c.id == id)
    }

    /// The scope a bearer endpoint requires (PP-API-2).
    pub fn required_scope(&self, endpoint: &str) -> Option<&str> {
        self.scopes.required.get(endpoint).map(String::as_str)
    }

    pub fn is_known_scope(&self, scope: &str) -> bool {
        self.scopes.known.iter().any(|s| s == scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_punchplay_profile_is_valid_and_has_the_six_limits() {
        let p = Profile::punchplay();
        assert_eq!(p.rate_limits.len(), 6);
        let token = p.rate_limit_for("POST", "token").unwrap();
        assert_eq!(
            (token.max, token.window_secs, token.key),
            (120, 60, LimitKey::ClientAndIp)
        );
        assert_eq!(p.status_of("invalid_client"), 401);
        assert_eq!(p.clause("PP-REFRESH-3").unwrap().level, Level::Should);
        assert_eq!(p.clause("PP-REFRESH-3").unwrap().area(), "PP-REFRESH");
    }

    #[test]
    fn every_pp_clause_of_the_contract_is_listed_once() {
        let p = Profile::punchplay();
        let mut ids: Vec<_> = p.clauses.iter().map(|c| c.id.as_str()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "a clause id is listed twice");
        assert_eq!(n, 54);
    }

    #[test]
    fn a_limit_naming_an_unknown_endpoint_is_refused() {
        let text = PUNCHPLAY_PROFILE_TOML.replace("endpoint = \"refresh\"", "endpoint = \"nope\"");
        let err = Profile::from_toml_str(&text).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn request_id_format_is_prefix_and_lowercase_hex() {
        let f = Profile::punchplay().request_id;
        assert!(f.matches("ppreq_1234567890abcdef1234"));
        assert!(!f.matches("ppreq_1234567890ABCDEF1234"));
        assert!(!f.matches("ppreq_1234"));
        assert!(!f.matches("req_1234567890abcdef1234"));
    }
}
