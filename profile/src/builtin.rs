//! The profiles this workspace ships, by short name, so `--profile punchplay` works
//! without a path. A new family adds one [`Builtin`] line to [`ALL`].
//!
//! This crate does no I/O: [`ProfileArg::parse`] only decides whether a `--profile`
//! argument names a built-in or a file; the caller reads the file.

use std::path::Path;

/// A committed profile and the fixture identities its reference server ships with.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The short name (`punchplay`), equal to the profile's `name`.
    pub name: &'static str,
    pub profile_toml: &'static str,
    pub identities_toml: &'static str,
}

/// Every built-in profile.
pub const ALL: &[Builtin] = &[
    Builtin {
        name: "punchplay",
        profile_toml: crate::PUNCHPLAY_PROFILE_TOML,
        identities_toml: crate::PUNCHPLAY_IDENTITIES_TOML,
    },
    Builtin {
        name: "enterprise",
        profile_toml: crate::ENTERPRISE_PROFILE_TOML,
        identities_toml: crate::ENTERPRISE_IDENTITIES_TOML,
    },
    Builtin {
        name: "flexslot",
        profile_toml: crate::FLEXSLOT_PROFILE_TOML,
        identities_toml: crate::FLEXSLOT_IDENTITIES_TOML,
    },
];

impl Builtin {
    /// The parsed profile; every built-in is valid (a unit test proves it).
    pub fn profile(&self) -> crate::Profile {
        crate::Profile::from_toml_str(self.profile_toml)
            .unwrap_or_else(|e| panic!("the built-in profile {} is invalid: {e}", self.name))
    }

    /// The parsed fixture identities; every built-in is valid (a unit test proves it).
    pub fn identities(&self) -> crate::Identities {
        crate::Identities::from_toml_str(self.identities_toml, |_| None)
            .unwrap_or_else(|e| panic!("the built-in identities {} are invalid: {e}", self.name))
    }
}

/// The built-in profile called `name`.
pub fn find(name: &str) -> Option<&'static Builtin> {
    ALL.iter().find(|b| b.name == name)
}

/// The built-in names, for help texts and error messages: `punchplay, enterprise, flexslot`.
pub fn names() -> String {
    ALL.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

/// What a `--profile` argument stands for.
#[derive(Debug, Clone, Copy)]
pub enum ProfileArg<'a> {
    /// A built-in name exactly as listed in [`ALL`].
    Builtin(&'static Builtin),
    /// Anything else is a file path. A file that happens to be called like a built-in is
    /// reached with a path that says so (`./punchplay`).
    File(&'a Path),
}

impl<'a> ProfileArg<'a> {
    pub fn parse(arg: &'a Path) -> ProfileArg<'a> {
        match arg.to_str().and_then(find) {
            Some(builtin) => ProfileArg::Builtin(builtin),
            None => ProfileArg::File(arg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Identities, Profile};

    #[test]
    fn every_builtin_parses_and_carries_its_own_name() {
        for b in ALL {
            let p = Profile::from_toml_str(b.profile_toml).unwrap();
            assert_eq!(p.name, b.name);
            assert_eq!(
                p.family.as_str(),
                b.name,
                "a built-in is named after its family"
            );
            Identities::from_toml_str(b.identities_toml, |_| None).unwrap();
        }
    }

    #[test]
    fn a_name_is_a_builtin_and_anything_else_a_file() {
        assert!(matches!(
            ProfileArg::parse(Path::new("punchplay")),
            ProfileArg::Builtin(b) if b.name == "punchplay"
        ));
        for path in [
            "./punchplay",
            "punchplay.toml",
            "fixtures/profiles/punchplay.toml",
        ] {
            assert!(matches!(
                ProfileArg::parse(Path::new(path)),
                ProfileArg::File(_)
            ));
        }
    }
}
