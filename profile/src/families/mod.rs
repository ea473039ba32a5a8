//! Profile families: which documented system a profile describes, and what each family
//! requires of a profile. A family's own settings live in its own section (`[punchplay]`)
//! and its own module here; nothing one family needs is required of another.
//!
//! Adding a family: a variant of [`Family`], a module with its settings section and its
//! `validate`, one arm in [`validate`], one line in `crate::builtin::ALL`.

pub mod enterprise;
pub mod flexslot;
pub mod punchplay;

use std::fmt;

use serde::Deserialize;

use crate::{Profile, ProfileError};

/// Which family of systems a profile describes (`family = "punchplay"` at the top of the
/// file; the older key `envelope` is read as the same thing). It picks the server's routes,
/// error envelopes and grant handlers, the suite's checks and load's request recipes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Seeds 000-002: `{error, message, request_id}` errors (PP-ERR-1).
    Punchplay,
    /// Seed 003: `{success, message, details}` and per-layer envelopes (EN-TOKEN-2).
    Enterprise,
    /// Seed 004: `{error, error_description}` (FX-TOKEN-1).
    Flexslot,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Punchplay => "punchplay",
            Family::Enterprise => "enterprise",
            Family::Flexslot => "flexslot",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The family-specific checks of a parsed profile: the paths, error codes and lifetimes
/// the family needs, and its own section.
pub(crate) fn validate(profile: &Profile, lifetimes_given: &[String]) -> Result<(), ProfileError> {
    match profile.family {
        Family::Punchplay => punchplay::validate(profile, lifetimes_given),
        Family::Enterprise => enterprise::validate(profile, lifetimes_given),
        Family::Flexslot => flexslot::validate(profile, lifetimes_given),
    }
}

/// The part of validation every family shares: each named thing is present.
pub(crate) fn require_all(
    profile: &Profile,
    paths: &[&'static str],
    errors: &[&'static str],
    lifetimes: &[&'static str],
    lifetimes_given: &[String],
) -> Result<(), ProfileError> {
    if let Some(name) = paths.iter().find(|n| !profile.paths.contains_key(**n)) {
        return Err(ProfileError::MissingPath(name));
    }
    if let Some(code) = errors.iter().find(|c| !profile.errors.contains_key(**c)) {
        return Err(ProfileError::MissingError(code));
    }
    if let Some(name) = lifetimes
        .iter()
        .find(|n| !lifetimes_given.iter().any(|g| g == *n))
    {
        return Err(ProfileError::MissingLifetime {
            family: profile.family,
            name,
        });
    }
    Ok(())
}
