//! The families this server serves (issue 20 item 2): each a rule pack in a folder of its
//! own, implementing [`crate::http::pack::RulePack`]. Adding one is its folder and two
//! lines here: its `mod` and its entry in [`ALL`].
//!
//! `App::new` lives here, with the registry, so that the generic shell in `crate::http`
//! imports no family: families depend on the shell and the kernel, never the other way.

pub mod enterprise;
pub mod flexslot;
pub mod punchplay;

#[cfg(test)]
mod api_key;

use crate::config::ServerConfig;
use crate::http::App;
use crate::http::pack::RulePack;

/// Every family this server serves, by the name a profile's `family` gives it.
pub static ALL: &[&dyn RulePack] = &[
    &punchplay::Punchplay,
    &enterprise::Enterprise,
    &flexslot::Flexslot,
];

/// The family that serves `profile`.
pub fn for_profile(profile: &profile::Profile) -> Option<&'static dyn RulePack> {
    ALL.iter()
        .copied()
        .find(|pack| pack.name() == profile.family.as_str())
}

impl App {
    /// The server for `config`, served by its profile's family; refuses a profile this
    /// server cannot serve (a family it has no pack for, a limit it cannot key, a fault
    /// that is not the family's).
    pub fn new(config: ServerConfig) -> std::io::Result<App> {
        let pack = for_profile(&config.profile).ok_or_else(|| {
            std::io::Error::other(format!(
                "this server serves no {} family",
                config.profile.family
            ))
        })?;
        App::with_pack(config, pack)
    }
}
