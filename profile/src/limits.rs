//! Rate limits as data (PP-RATE-1, EN-RATE-1) and the one lookup every crate uses to
//! decide which limit applies to a request: [`crate::Profile::rate_limit_for`].

use serde::Deserialize;

/// What a rate limit counts requests by (PP-RATE-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
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

/// Which requests a limit counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitTarget {
    /// One endpoint, by its name under `[paths]` (`endpoint = "token"`, PP-RATE-1).
    Endpoint(String),
    /// Every path under a prefix, matched at a segment boundary (`path_prefix = "/api/"`,
    /// EN-RATE-1's `/api/*`).
    PathPrefix(String),
}

/// One documented rate limit: at most `max` requests per `window_secs` sliding window
/// (PP-RATE-3), per key.
#[derive(Debug, Clone)]
pub struct RateLimit {
    pub name: String,
    /// An HTTP method, or `*` for every method.
    pub method: String,
    pub target: LimitTarget,
    pub max: u32,
    pub window_secs: u64,
    pub key: LimitKey,
}

impl RateLimit {
    /// The endpoint name the limit is on, if it is an endpoint limit.
    pub fn endpoint(&self) -> Option<&str> {
        match &self.target {
            LimitTarget::Endpoint(name) => Some(name),
            LimitTarget::PathPrefix(_) => None,
        }
    }

    pub fn path_prefix(&self) -> Option<&str> {
        match &self.target {
            LimitTarget::PathPrefix(prefix) => Some(prefix),
            LimitTarget::Endpoint(_) => None,
        }
    }

    pub fn covers_method(&self, method: &str) -> bool {
        self.method == "*" || self.method.eq_ignore_ascii_case(method)
    }
}

/// Whether `path` lies under `prefix`: `/api/` and `/api` both cover `/api/tags`, neither
/// covers `/apix`.
pub fn is_under_prefix(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// A `[[rate_limits]]` entry as written: exactly one of `endpoint` and `path_prefix`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimitFile {
    name: String,
    method: String,
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    path_prefix: Option<String>,
    max: u32,
    window_secs: u64,
    key: LimitKey,
}

impl RateLimitFile {
    pub(crate) fn into_limit(self) -> Result<RateLimit, crate::ProfileError> {
        let target = match (self.endpoint, self.path_prefix) {
            (Some(endpoint), None) => LimitTarget::Endpoint(endpoint),
            (None, Some(prefix)) if prefix.starts_with('/') => LimitTarget::PathPrefix(prefix),
            (None, Some(prefix)) => {
                return Err(crate::ProfileError::Invalid(format!(
                    "rate limit `{}` has path_prefix `{prefix}`, which must start with `/`",
                    self.name
                )));
            }
            _ => return Err(crate::ProfileError::LimitTarget(self.name)),
        };
        if self.method.is_empty() {
            return Err(crate::ProfileError::Invalid(format!(
                "rate limit `{}` needs a method (an HTTP method, or `*` for every method)",
                self.name
            )));
        }
        Ok(RateLimit {
            name: self.name,
            method: self.method,
            target,
            max: self.max,
            window_secs: self.window_secs,
            key: self.key,
        })
    }
}
