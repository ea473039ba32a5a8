//! The families of profiles, as load sends their requests: for each limited endpoint
//! the request to send, the status an admitted one answers with, and the setup it needs
//! (device codes, users' tokens). The window, attack and verdict machinery reaches a
//! family only through [`Family`] and [`Recipe`], and names no family's endpoint.
//!
//! A new family is a file here (its [`Family`] and its recipes) and one line in
//! [`for_profile`]; docs/families.md lists them.

pub mod enterprise;
pub mod punchplay;
mod recipe;

pub use recipe::{Clauses, Context, Family, Recipe, Setup, Statuses, url_of};

use profile::Profile;

/// The family of `profile`, or why load cannot send its requests.
pub fn for_profile(profile: &Profile) -> Result<&'static dyn Family, String> {
    match profile.family {
        profile::Family::Punchplay => Ok(&punchplay::Punchplay),
        profile::Family::Enterprise => Ok(&enterprise::Enterprise),
        // Seed 004 documents no rate limit, so load has nothing to prove for flexslot.
        profile::Family::Flexslot => Err(format!(
            "the profile `{}` is of the flexslot family, which documents no rate limit \
             (seed 004): load has nothing to prove for it",
            profile.name
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_picks_its_family_and_one_without_limits_is_refused() {
        let punchplay = Profile::punchplay();
        let family = for_profile(&punchplay).unwrap();
        assert_eq!(family.clauses().window, "PP-RATE-1");
        let enterprise = profile::builtin::find("enterprise").unwrap().profile();
        assert_eq!(
            for_profile(&enterprise).unwrap().clauses().window,
            "EN-RATE-1"
        );
        let flexslot = profile::builtin::find("flexslot").unwrap().profile();
        let why = for_profile(&flexslot).unwrap_err();
        assert!(
            why.contains("flexslot family") && why.contains("no rate limit"),
            "{why}"
        );
    }
}
