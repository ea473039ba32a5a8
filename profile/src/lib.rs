//! The contract as data.
//!
//! A [`Profile`] holds everything `CONTRACT.md` says about one documented system that a
//! program needs to enforce, check or load-test it: its [`Family`], paths, lifetimes,
//! scopes, error codes with their statuses, rate limits, the clause ids with their levels,
//! and its family's own section (`[punchplay]`). [`Identities`] holds the apps and users a
//! server ships with (or a suite signs in as). [`builtin`] names the committed profiles.
//!
//! This crate owns parsing and validation of those files. It does no I/O and knows
//! nothing of HTTP: callers read the files and hand the text in.

pub mod builtin;
pub mod families;
mod identities;
mod limits;
mod path_template;
pub mod sliding;
mod tokens;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use families::Family;
pub use families::punchplay::{
    DeviceSettings, PlaybackSettings, PunchplaySettings, RequestIdFormat,
};
pub use identities::{App, AppKind, Company, Enterprise, Identities, Secret, User};
pub use limits::{LimitKey, LimitTarget, RateLimit, is_under_prefix};
pub use path_template::PathTemplate;
pub use tokens::TokenPrefixes;

/// The punchplay profile as committed in `fixtures/profiles/punchplay.toml`.
pub const PUNCHPLAY_PROFILE_TOML: &str = include_str!("../fixtures/profiles/punchplay.toml");
/// The punchplay fixture identities as committed in `fixtures/identities/punchplay.toml`.
pub const PUNCHPLAY_IDENTITIES_TOML: &str = include_str!("../fixtures/identities/punchplay.toml");
/// The enterprise profile as committed in `fixtures/profiles/enterprise.toml`.
pub const ENTERPRISE_PROFILE_TOML: &str = include_str!("../fixtures/profiles/enterprise.toml");
/// The enterprise fixture identities as committed in `fixtures/identities/enterprise.toml`.
pub const ENTERPRISE_IDENTITIES_TOML: &str = include_str!("../fixtures/identities/enterprise.toml");
/// The flexslot profile as committed in `fixtures/profiles/flexslot.toml`.
pub const FLEXSLOT_PROFILE_TOML: &str = include_str!("../fixtures/profiles/flexslot.toml");
/// The flexslot fixture identities as committed in `fixtures/identities/flexslot.toml`.
pub const FLEXSLOT_IDENTITIES_TOML: &str = include_str!("../fixtures/identities/flexslot.toml");

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("the profile is not valid TOML for a profile: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the profile is missing the path `{0}`; add it under [paths]")]
    MissingPath(&'static str),
    #[error("rate limit `{limit}` names the endpoint `{endpoint}`, which [paths] does not define")]
    UnknownLimitEndpoint { limit: String, endpoint: String },
    #[error(
        "rate limit `{0}` must name exactly one of `endpoint` (a name under [paths]) or `path_prefix` (such as \"/api/\")"
    )]
    LimitTarget(String),
    #[error("rate limit `{0}` must have max >= 1 and window_secs >= 1")]
    EmptyLimit(String),
    #[error("the profile is missing the status of error code `{0}` under [errors]")]
    MissingError(&'static str),
    #[error("a {family} profile needs the lifetime `{name}` under [lifetimes]")]
    MissingLifetime { family: Family, name: &'static str },
    #[error("the profile is missing its [{0}] section")]
    MissingSection(&'static str),
    #[error("{0}")]
    Invalid(String),
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
pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub max_header_bytes: usize,
}

/// Lifetimes in seconds. A family requires the ones it uses (validation says which is
/// missing); one its family does not use may be left out of the file and reads 0 here.
#[derive(Debug, Clone, Serialize)]
pub struct Lifetimes {
    pub authorization_code: u64,
    pub access_token: u64,
    pub refresh_token_idle: u64,
    pub device_code: u64,
    pub device_poll_interval: u64,
    pub sse_heartbeat: u64,
    pub session: u64,
}

impl Lifetimes {
    /// Every lifetime a profile may give, as named under `[lifetimes]`.
    pub const NAMES: &[&str] = &[
        "authorization_code",
        "access_token",
        "refresh_token_idle",
        "device_code",
        "device_poll_interval",
        "sse_heartbeat",
        "session",
    ];

    fn from_table(table: &BTreeMap<String, u64>) -> Result<Lifetimes, ProfileError> {
        if let Some(unknown) = table.keys().find(|k| !Self::NAMES.contains(&k.as_str())) {
            return Err(ProfileError::Invalid(format!(
                "unknown lifetime `{unknown}` under [lifetimes]; the known ones are {}",
                Self::NAMES.join(", ")
            )));
        }
        let get = |name: &str| table.get(name).copied().unwrap_or(0);
        Ok(Lifetimes {
            authorization_code: get("authorization_code"),
            access_token: get("access_token"),
            refresh_token_idle: get("refresh_token_idle"),
            device_code: get("device_code"),
            device_poll_interval: get("device_poll_interval"),
            sse_heartbeat: get("sse_heartbeat"),
            session: get("session"),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scopes {
    /// Every scope the profile knows (PP-SCOPE-1).
    pub known: Vec<String>,
    /// The scope each bearer endpoint requires, by endpoint name (PP-API-2).
    #[serde(default)]
    pub required: BTreeMap<String, String>,
}

/// A parsed, validated profile. Built only by [`Profile::from_toml_str`].
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub title: String,
    /// The short name people know the system by, on its pages (`PunchPlay`); the
    /// profile's `name` when the file gives none.
    pub product: String,
    pub family: Family,
    pub seeds: Vec<String>,
    pub http: HttpLimits,
    /// Endpoint name to path; `{name}` segments are parameters.
    pub paths: BTreeMap<String, String>,
    pub lifetimes: Lifetimes,
    pub scopes: Scopes,
    pub rate_limits: Vec<RateLimit>,
    /// Error code to HTTP status (PP-ERR-3, PP-ERR-4).
    pub errors: BTreeMap<String, u16>,
    pub clauses: Vec<Clause>,
    /// `[tokens]`: what the server's tokens and codes start with.
    pub tokens: TokenPrefixes,
    /// `[punchplay]`: present exactly when `family` is punchplay (validation sees to it).
    punchplay: Option<PunchplaySettings>,
}

/// A profile file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    name: String,
    title: String,
    #[serde(default)]
    product: Option<String>,
    /// `envelope` is the key's name before families (issue 7); copies that use it still parse.
    #[serde(alias = "envelope")]
    family: Family,
    #[serde(default)]
    seeds: Vec<String>,
    http: HttpLimits,
    paths: BTreeMap<String, String>,
    lifetimes: BTreeMap<String, u64>,
    scopes: Scopes,
    #[serde(default)]
    rate_limits: Vec<limits::RateLimitFile>,
    errors: BTreeMap<String, u16>,
    #[serde(default)]
    clauses: Vec<Clause>,
    #[serde(default)]
    tokens: TokenPrefixes,
    #[serde(default)]
    punchplay: Option<PunchplaySettings>,
    // The layout before families put punchplay's sections at the top level; a copy written
    // that way still parses, as long as it does not also have a [punchplay] section.
    #[serde(default)]
    request_id: Option<RequestIdFormat>,
    #[serde(default)]
    device: Option<DeviceSettings>,
    #[serde(default)]
    playback: Option<PlaybackSettings>,
}

impl ProfileFile {
    /// The `[punchplay]` settings, from the section or from the older top-level layout.
    fn punchplay_settings(&mut self) -> Result<Option<PunchplaySettings>, ProfileError> {
        let legacy = (
            self.request_id.take(),
            self.device.take(),
            self.playback.take(),
        );
        match (self.punchplay.take(), legacy) {
            (section, (None, None, None)) => Ok(section),
            (None, (Some(request_id), Some(device), Some(playback))) => {
                Ok(Some(PunchplaySettings {
                    request_id,
                    device,
                    playback,
                }))
            }
            (None, _) => Err(ProfileError::Invalid(
                "[request_id], [device] and [playback] go together under [punchplay] \
                 ([punchplay.request_id], [punchplay.device], [punchplay.playback])"
                    .into(),
            )),
            (Some(_), _) => Err(ProfileError::Invalid(
                "[request_id], [device] and [playback] are punchplay settings: keep them only \
                 under [punchplay], not also at the top level"
                    .into(),
            )),
        }
    }
}

impl Profile {
    /// Parses and validates a profile file's text.
    pub fn from_toml_str(text: &str) -> Result<Profile, ProfileError> {
        let mut file: ProfileFile = toml::from_str(text)?;
        let punchplay = file.punchplay_settings()?;
        if punchplay.is_some() && file.family != Family::Punchplay {
            return Err(ProfileError::Invalid(format!(
                "[punchplay] settings in a profile of family `{}`; remove them or set family = \"punchplay\"",
                file.family
            )));
        }
        let lifetimes_given: Vec<String> = file.lifetimes.keys().cloned().collect();
        let profile = Profile {
            lifetimes: Lifetimes::from_table(&file.lifetimes)?,
            rate_limits: file
                .rate_limits
                .into_iter()
                .map(limits::RateLimitFile::into_limit)
                .collect::<Result<_, _>>()?,
            product: file.product.unwrap_or_else(|| file.name.clone()),
            name: file.name,
            title: file.title,
            family: file.family,
            seeds: file.seeds,
            http: file.http,
            paths: file.paths,
            scopes: file.scopes,
            errors: file.errors,
            clauses: file.clauses,
            tokens: file.tokens,
            punchplay,
        };
        profile.validate(&lifetimes_given)?;
        Ok(profile)
    }

    /// The committed punchplay profile.
    pub fn punchplay() -> Profile {
        Profile::from_toml_str(PUNCHPLAY_PROFILE_TOML)
            .expect("the committed punchplay profile is valid")
    }

    fn validate(&self, lifetimes_given: &[String]) -> Result<(), ProfileError> {
        if self.product.trim().is_empty() || self.product.chars().count() > 40 {
            return Err(ProfileError::Invalid(
                "product must be a short name of 1 to 40 characters, like \"PunchPlay\"".into(),
            ));
        }
        self.tokens.validate()?;
        for (name, path) in &self.paths {
            if !path.starts_with('/') {
                return Err(ProfileError::Invalid(format!(
                    "path `{name}` = `{path}` must start with `/`"
                )));
            }
        }
        for limit in &self.rate_limits {
            if let Some(endpoint) = limit.endpoint()
                && !self.paths.contains_key(endpoint)
            {
                return Err(ProfileError::UnknownLimitEndpoint {
                    limit: limit.name.clone(),
                    endpoint: endpoint.to_owned(),
                });
            }
            if limit.max == 0 || limit.window_secs == 0 {
                return Err(ProfileError::EmptyLimit(limit.name.clone()));
            }
        }
        families::validate(self, lifetimes_given)
    }

    /// The `[punchplay]` settings (request ids, device codes, playback actions): `Some`
    /// exactly for a punchplay profile. Code that serves only punchplay reads them here.
    pub fn punchplay_settings(&self) -> Option<&PunchplaySettings> {
        self.punchplay.as_ref()
    }

    /// The `[punchplay]` settings, for code that serves or checks only punchplay and whose
    /// caller checked the family when the profile was loaded (the CLIs refuse a family they
    /// do not serve). Panics, naming the family, on a profile of another family.
    pub fn expect_punchplay(&self) -> &PunchplaySettings {
        self.punchplay_settings().unwrap_or_else(|| {
            panic!(
                "profile `{}` is of the {} family, not punchplay; check the family where the profile is loaded",
                self.name, self.family
            )
        })
    }

    /// The support request id the answers of this profile carry (PP-ERR-2), if its family
    /// has one: generic code (the shell, the suite's support block, load's reader) asks
    /// this, never a family's section.
    pub fn request_id(&self) -> Option<&RequestIdFormat> {
        self.punchplay.as_ref().map(|pp| &pp.request_id)
    }

    /// For tests and tools that derive a variant of a punchplay profile.
    pub fn punchplay_settings_mut(&mut self) -> Option<&mut PunchplaySettings> {
        self.punchplay.as_mut()
    }

    /// The path of a named endpoint. Panics on a name the profile does not define, which
    /// validation rules out for the names a profile's family requires.
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

    /// The rate limit that applies to a request: its method, the name of the endpoint its
    /// route serves (if the route is one of `[paths]`) and its path (without the query).
    /// The server, the suite and load all decide with this one function.
    ///
    /// An endpoint limit applies to its endpoint only; a prefix limit to every path under
    /// its prefix. When both kinds match, the endpoint limit wins, and of two prefixes the
    /// longer one: the most specific documented limit counts the request.
    pub fn rate_limit_for(
        &self,
        method: &str,
        endpoint: Option<&str>,
        path: &str,
    ) -> Option<&RateLimit> {
        let covering = || self.rate_limits.iter().filter(|l| l.covers_method(method));
        let by_endpoint = endpoint.and_then(|e| covering().find(|l| l.endpoint() == Some(e)));
        let prefix_len = |l: &RateLimit| l.path_prefix().map_or(0, str::len);
        by_endpoint.or_else(|| {
            covering()
                .filter(|l| l.path_prefix().is_some_and(|p| is_under_prefix(path, p)))
                .fold(None, |best: Option<&RateLimit>, l| match best {
                    Some(b) if prefix_len(b) >= prefix_len(l) => Some(b),
                    _ => Some(l),
                })
        })
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
        assert_eq!(p.request_id().unwrap().header, "X-PunchPlay-Request-Id");
        let token = p
            .rate_limit_for("POST", Some("token"), p.path("token"))
            .unwrap();
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
        let p = Profile::punchplay();
        let f = &p.punchplay_settings().unwrap().request_id;
        assert!(f.matches("ppreq_1234567890abcdef1234"));
        assert!(!f.matches("ppreq_1234567890ABCDEF1234"));
        assert!(!f.matches("ppreq_1234"));
        assert!(!f.matches("req_1234567890abcdef1234"));
    }

    /// The committed profile's text with its `[[rate_limits]]` replaced by `limits`.
    fn with_limits(limits: &str) -> String {
        let start = PUNCHPLAY_PROFILE_TOML.find("[[rate_limits]]").unwrap();
        let end = PUNCHPLAY_PROFILE_TOML.find("[errors]").unwrap();
        format!(
            "{}{limits}\n{}",
            &PUNCHPLAY_PROFILE_TOML[..start],
            &PUNCHPLAY_PROFILE_TOML[end..]
        )
    }

    const API_PREFIX_LIMIT: &str = r#"
[[rate_limits]]
name = "api"
method = "*"
path_prefix = "/api/"
max = 60
window_secs = 60
key = "ip"
"#;

    #[test]
    fn a_prefix_limit_covers_its_paths_at_a_segment_boundary_for_every_method() {
        let p = Profile::from_toml_str(&with_limits(API_PREFIX_LIMIT)).unwrap();
        for method in ["GET", "post", "DELETE"] {
            let limit = p.rate_limit_for(method, None, "/api/tags").unwrap();
            assert_eq!(limit.name, "api");
            assert_eq!(limit.path_prefix(), Some("/api/"));
        }
        assert!(p.rate_limit_for("GET", None, "/apix").is_none());
        assert!(p.rate_limit_for("GET", None, "/apix/tags").is_none());
        assert!(p.rate_limit_for("GET", None, "/oauth/token").is_none());
        assert!(is_under_prefix("/api/tags", "/api"));
        assert!(is_under_prefix("/api", "/api"));
        assert!(!is_under_prefix("/apix", "/api"));
    }

    #[test]
    fn an_endpoint_limit_covers_its_endpoint_and_method_only() {
        let p = Profile::punchplay();
        let token = p.path("token");
        assert_eq!(
            p.rate_limit_for("POST", Some("token"), token).unwrap().name,
            "token"
        );
        assert!(p.rate_limit_for("GET", Some("token"), token).is_none());
        assert!(p.rate_limit_for("POST", Some("me"), p.path("me")).is_none());
        // The path alone does not make an endpoint limit apply: the route decides.
        assert!(p.rate_limit_for("POST", None, token).is_none());
        let public = p
            .rate_limit_for("GET", Some("public_user"), "/api/public/v1/users/alice")
            .unwrap();
        assert_eq!(public.name, "public-user");
    }

    #[test]
    fn the_endpoint_limit_beats_a_prefix_limit_and_the_longer_prefix_the_shorter() {
        let limits = format!(
            "{API_PREFIX_LIMIT}{}",
            r#"
[[rate_limits]]
name = "public"
method = "GET"
path_prefix = "/api/public/"
max = 5
window_secs = 60
key = "ip"

[[rate_limits]]
name = "me"
method = "GET"
endpoint = "me"
max = 7
window_secs = 60
key = "user"
"#
        );
        let p = Profile::from_toml_str(&with_limits(&limits)).unwrap();
        let name = |endpoint, path| {
            p.rate_limit_for("GET", endpoint, path)
                .unwrap()
                .name
                .clone()
        };
        assert_eq!(name(Some("me"), p.path("me")), "me");
        assert_eq!(name(None, "/api/public/v1/users/bob"), "public");
        assert_eq!(name(None, "/api/platform/v1/nope"), "api");
    }

    #[test]
    fn a_limit_with_both_or_neither_target_is_refused() {
        let both = with_limits(
            "[[rate_limits]]\nname = \"x\"\nmethod = \"GET\"\nendpoint = \"me\"\npath_prefix = \"/api/\"\nmax = 1\nwindow_secs = 1\nkey = \"ip\"\n",
        );
        let neither = with_limits(
            "[[rate_limits]]\nname = \"x\"\nmethod = \"GET\"\nmax = 1\nwindow_secs = 1\nkey = \"ip\"\n",
        );
        for text in [both, neither] {
            let err = Profile::from_toml_str(&text).unwrap_err();
            assert!(
                matches!(err, ProfileError::LimitTarget(ref n) if n == "x"),
                "{err}"
            );
        }
        let relative = with_limits(
            "[[rate_limits]]\nname = \"x\"\nmethod = \"GET\"\npath_prefix = \"api/\"\nmax = 1\nwindow_secs = 1\nkey = \"ip\"\n",
        );
        assert!(Profile::from_toml_str(&relative).is_err());
    }

    /// The layout before families: `envelope = ` and the punchplay sections at the top.
    fn pre_family_text() -> String {
        PUNCHPLAY_PROFILE_TOML
            .replace("family = \"punchplay\"", "envelope = \"punchplay\"")
            .replace("[punchplay.request_id]", "[request_id]")
            .replace("[punchplay.device]", "[device]")
            .replace("[punchplay.playback]", "[playback]")
    }

    #[test]
    fn a_copy_in_the_layout_before_families_still_parses_the_same() {
        let text = pre_family_text();
        assert!(text.contains("envelope = \"punchplay\"") && text.contains("\n[device]"));
        let old = Profile::from_toml_str(&text).unwrap();
        let new = Profile::punchplay();
        assert_eq!(old.family, Family::Punchplay);
        assert_eq!(format!("{old:?}"), format!("{new:?}"));
    }

    #[test]
    fn family_and_envelope_together_or_punchplay_sections_twice_are_refused() {
        let both_keys = PUNCHPLAY_PROFILE_TOML.replace(
            "family = \"punchplay\"",
            "family = \"punchplay\"\nenvelope = \"punchplay\"",
        );
        assert!(Profile::from_toml_str(&both_keys).is_err());
        let twice = PUNCHPLAY_PROFILE_TOML.replace(
            "[http]",
            "[device]\nuser_code_alphabet = \"AB\"\nuser_code_length = 2\n\n[http]",
        );
        let err = Profile::from_toml_str(&twice).unwrap_err();
        assert!(err.to_string().contains("[punchplay]"), "{err}");
    }

    #[test]
    fn a_punchplay_profile_without_its_section_or_a_lifetime_is_refused() {
        let start = PUNCHPLAY_PROFILE_TOML
            .find("[punchplay.request_id]")
            .unwrap();
        let end = PUNCHPLAY_PROFILE_TOML.find("# PP-RATE-1").unwrap();
        let without = format!(
            "{}{}",
            &PUNCHPLAY_PROFILE_TOML[..start],
            &PUNCHPLAY_PROFILE_TOML[end..]
        );
        let err = Profile::from_toml_str(&without).unwrap_err();
        assert!(
            matches!(err, ProfileError::MissingSection("punchplay")),
            "{err}"
        );
        let no_heartbeat = PUNCHPLAY_PROFILE_TOML.replace("sse_heartbeat = 15", "");
        let err = Profile::from_toml_str(&no_heartbeat).unwrap_err();
        assert!(err.to_string().contains("sse_heartbeat"), "{err}");
    }

    /// Another family needs nothing of punchplay's: no device, playback or request-id
    /// section, none of its paths, error codes or lifetimes; and may not carry them.
    #[test]
    fn another_family_needs_nothing_of_punchplays() {
        let text = ENTERPRISE_PROFILE_TOML;
        let p = Profile::from_toml_str(text).unwrap();
        assert_eq!(p.family, Family::Enterprise);
        assert!(p.punchplay_settings().is_none());
        assert!(
            p.request_id().is_none(),
            "no request-id header is asked of it"
        );
        assert_eq!(p.lifetimes.device_code, 0);
        let with_device = format!(
            "{text}[punchplay.request_id]\nheader = \"X\"\nprefix = \"x_\"\nhex_len = 4\n[punchplay.device]\nuser_code_alphabet = \"AB\"\nuser_code_length = 2\n[punchplay.playback]\nactions = []\n"
        );
        let err = Profile::from_toml_str(&with_device).unwrap_err();
        assert!(err.to_string().contains("family `enterprise`"), "{err}");
        let without_tags = text.replace("tags = \"/api/tags\"", "");
        let err = Profile::from_toml_str(&without_tags).unwrap_err();
        assert!(matches!(err, ProfileError::MissingPath("tags")), "{err}");
        let unknown_lifetime = text.replace("access_token = 3600", "acess_token = 3600");
        assert!(Profile::from_toml_str(&unknown_lifetime).is_err());
    }

    /// Pages name the product, not the long title; tokens say which system issued them,
    /// and no other family's tokens say "pp" (issue 23 item 6). A file without the two
    /// keys still parses, with its name and neutral prefixes.
    #[test]
    fn the_product_and_token_prefixes_come_from_the_profile() {
        let pp = Profile::punchplay();
        assert_eq!(pp.product, "PunchPlay");
        assert_eq!(
            (pp.tokens.access.as_str(), pp.tokens.refresh.as_str()),
            ("ppat_", "pprt_")
        );
        for text in [ENTERPRISE_PROFILE_TOML, FLEXSLOT_PROFILE_TOML] {
            let p = Profile::from_toml_str(text).unwrap();
            assert!(!p.product.is_empty() && p.product != p.title);
            let prefixes = [&p.tokens.access, &p.tokens.refresh, &p.tokens.code];
            assert!(
                prefixes.iter().all(|t| !t.starts_with("pp")),
                "{prefixes:?}"
            );
        }
        let start = PUNCHPLAY_PROFILE_TOML.find("product = ").unwrap();
        let end = start + PUNCHPLAY_PROFILE_TOML[start..].find('\n').unwrap();
        let mut old = format!(
            "{}{}",
            &PUNCHPLAY_PROFILE_TOML[..start],
            &PUNCHPLAY_PROFILE_TOML[end..]
        );
        let start = old.find("[tokens]").unwrap();
        let end = old.find("[http]").unwrap();
        old.replace_range(start..end, "");
        let old = Profile::from_toml_str(&old).unwrap();
        assert_eq!(old.product, "punchplay");
        assert_eq!(old.tokens, TokenPrefixes::default());
        let bad = PUNCHPLAY_PROFILE_TOML.replace("access = \"ppat_\"", "access = \"pp at\"");
        let err = Profile::from_toml_str(&bad).unwrap_err();
        assert!(err.to_string().contains("[tokens] access"), "{err}");
    }

    /// Each committed profile lists exactly its family's clauses of CONTRACT.md, once each.
    #[test]
    fn every_family_lists_its_contract_clauses_once() {
        for (text, prefix, count) in [
            (ENTERPRISE_PROFILE_TOML, "EN-", 10),
            (FLEXSLOT_PROFILE_TOML, "FX-", 13),
        ] {
            let p = Profile::from_toml_str(text).unwrap();
            let mut ids: Vec<_> = p.clauses.iter().map(|c| c.id.as_str()).collect();
            assert!(ids.iter().all(|id| id.starts_with(prefix)), "{ids:?}");
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), count, "{prefix}: {ids:?}");
        }
        let en = Profile::from_toml_str(ENTERPRISE_PROFILE_TOML).unwrap();
        let api = en.rate_limit_for("GET", Some("tags"), "/api/tags").unwrap();
        assert_eq!((api.max, api.window_secs, api.key), (60, 60, LimitKey::Ip));
        assert!(
            en.rate_limit_for("POST", Some("token"), "/oauth/access-token")
                .is_none()
        );
        let fx = Profile::from_toml_str(FLEXSLOT_PROFILE_TOML).unwrap();
        assert_eq!(fx.lifetimes.authorization_code, 60);
        assert!(fx.rate_limits.is_empty());
    }
}
