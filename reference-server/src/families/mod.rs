//! Families as this server serves them (issue 7 item 1): the registry of which family
//! serves a profile. Each family is a module here implementing
//! [`crate::http::family::ServedFamily`]: its route table and handlers, its error
//! envelopes per layer, its bearer challenge, and the core's grant handlers its token
//! endpoints serve (each declining a grant type it does not own).
//!
//! `App::new` lives here, with the registry, so that the generic shell in `crate::http`
//! imports no family: families depend on the shell, never the other way round.

pub mod flexslot;
pub mod punchplay;

use profile::Family;

use crate::ServerConfig;
use crate::http::App;
use crate::http::family::ServedFamily;

/// The family that serves `profile`. A new family adds one arm.
pub fn for_profile(profile: &profile::Profile) -> std::io::Result<Box<dyn ServedFamily>> {
    match profile.family {
        Family::Flexslot => Ok(Box::new(flexslot::Flexslot)),
        Family::Punchplay => Ok(Box::new(punchplay::Punchplay)),
        other => Err(std::io::Error::other(format!(
            "profile `{}` is of the {other} family, which this server does not serve yet; use a punchplay profile",
            profile.name
        ))),
    }
}

impl App {
    /// The server for `config`, served by its profile's family; refuses a profile this
    /// server cannot serve (another family, a limit it cannot key).
    pub fn new(config: ServerConfig) -> std::io::Result<App> {
        let family = for_profile(&config.profile)?;
        App::with_family(config, family)
    }
}
