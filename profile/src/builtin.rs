//! The profiles this workspace ships, by short name, so `--profile punchplay` works
//! without a path. A new family adds one [`Builtin`] line to [`ALL`].
//!
//! This crate does no I/O: [`ProfileArg::parse`] only decides whether a `--profile`
//! argument names a built-in or a file; the caller reads the file, through the reader it
//! hands to [`load_profile`] and [`load_credentials`].
//!
//! Those two are the one wording of the setup errors the three binaries share (issue 23
//! item 2): an unknown profile name lists the built-ins, an unreadable file names its
//! flag, a malformed credentials file is called a credentials file.

use std::path::Path;

use crate::{Identities, Profile, ProfileError};

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

/// The built-in profile called `name`, in any case (`Enterprise` is `enterprise`).
pub fn find(name: &str) -> Option<&'static Builtin> {
    ALL.iter()
        .find(|b| b.name.eq_ignore_ascii_case(name.trim()))
}

/// The built-in names, for help texts and error messages: `punchplay, enterprise, flexslot`.
pub fn names() -> String {
    ALL.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
}

/// What a `--profile` argument stands for.
#[derive(Debug, Clone, Copy)]
pub enum ProfileArg<'a> {
    /// A built-in name as listed in [`ALL`], in any case.
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

/// Whether a `--profile` argument reads as a file path rather than a name: it has a
/// folder or an extension. A bare word that is no built-in is an unknown name.
fn looks_like_a_path(arg: &Path) -> bool {
    arg.components().count() > 1 || arg.extension().is_some()
}

/// The profile a `--profile` argument stands for (`None`: punchplay). `read` reads a
/// file (`std::fs::read_to_string`). Every error is one sentence that says what to do.
pub fn load_profile(
    arg: Option<&Path>,
    read: impl FnOnce(&Path) -> std::io::Result<String>,
) -> Result<Profile, String> {
    let path = match arg.map(ProfileArg::parse) {
        None => return Ok(Profile::punchplay()),
        Some(ProfileArg::Builtin(b)) => return Ok(b.profile()),
        Some(ProfileArg::File(path)) => path,
    };
    let text = match read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !looks_like_a_path(path) => {
            return Err(unknown_profile(&path.display().to_string()));
        }
        Err(e) => {
            return Err(format!(
                "could not read the profile file {}: {e}; check the path given to --profile, or name a built-in profile ({})",
                path.display(),
                names()
            ));
        }
    };
    Profile::from_toml_str(&text).map_err(|e| {
        let why = match e {
            ProfileError::Parse(e) => format!("it is not valid TOML ({})", one_line(&e.to_string())),
            other => one_line(&other.to_string()),
        };
        format!(
            "the profile file {} is not valid: {why}; fix it (fixtures/profiles/punchplay.toml is a complete example) or name a built-in profile ({})",
            path.display(),
            names()
        )
    })
}

/// The sentence for a `--profile` name that is no built-in and no file.
pub fn unknown_profile(name: &str) -> String {
    format!(
        "there is no built-in profile `{name}`; the built-in profiles are {} (any case), and a profile file is given by its path (./{name}.toml)",
        names()
    )
}

/// The identities of a `--credentials` file (`read` reads it, `env` answers `secret_env`
/// and `password_env`). Every error names the file and the flag and says where the
/// format is shown.
pub fn load_credentials(
    path: &Path,
    family: crate::Family,
    read: impl FnOnce(&Path) -> std::io::Result<String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Identities, String> {
    let example = format!("fixtures/identities/{family}.toml");
    let text = read(path).map_err(|e| {
        format!(
            "could not read the credentials file {}: {e}; check the path given to --credentials ({example} shows the format)",
            path.display()
        )
    })?;
    Identities::from_toml_str(&text, env).map_err(|e| {
        let why = match e {
            ProfileError::Parse(e) => {
                format!("it is not valid TOML ({})", one_line(&e.to_string()))
            }
            other => one_line(&other.to_string()),
        };
        format!(
            "the credentials file {} is not valid: {why}; {example} shows the format",
            path.display()
        )
    })
}

/// The fixture identities of a family's reference server, for a run with test controls
/// and no `--credentials`.
pub fn fixtures_of(family: crate::Family) -> Option<Identities> {
    find(family.as_str()).map(Builtin::identities)
}

/// A parser's message on one line (a TOML error draws the line it points at).
pub fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Identities, Profile};

    /// The workspace's `fixtures/profiles/*.toml` and `fixtures/identities/*.toml`, the
    /// paths users rely on, are links to this crate's files (the crate must hold what it
    /// embeds to be packaged). A checkout without symbolic links (Windows without
    /// `core.symlinks`) would leave a file holding the link's target instead: this fails
    /// then. Skipped outside the workspace (a packaged crate has no `../fixtures`).
    #[test]
    fn the_workspace_fixture_paths_are_this_crates_files() {
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
        if !workspace.is_dir() {
            return;
        }
        for b in ALL {
            for (folder, text) in [
                ("profiles", b.profile_toml),
                ("identities", b.identities_toml),
            ] {
                let path = workspace.join(folder).join(format!("{}.toml", b.name));
                let read = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(
                    read,
                    text,
                    "{} is not profile/fixtures/{folder}/{}.toml",
                    path.display(),
                    b.name
                );
            }
        }
    }

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
    fn names_are_read_in_any_case_and_an_unknown_one_lists_the_builtins() {
        assert_eq!(find("Enterprise").map(|b| b.name), Some("enterprise"));
        let missing = |_: &Path| Err(std::io::Error::from(std::io::ErrorKind::NotFound));
        let e = load_profile(Some(Path::new("bogus")), missing).unwrap_err();
        assert!(
            e.contains("no built-in profile `bogus`")
                && e.contains("punchplay, enterprise, flexslot"),
            "{e}"
        );
        let e = load_profile(Some(Path::new("conf/p.toml")), missing).unwrap_err();
        assert!(
            e.contains("could not read the profile file conf/p.toml"),
            "{e}"
        );
        let p = load_profile(Some(Path::new("FLEXSLOT")), missing).unwrap();
        assert_eq!(p.name, "flexslot");
    }

    #[test]
    fn a_malformed_credentials_file_is_called_a_credentials_file() {
        let e = load_credentials(
            Path::new("c.toml"),
            crate::Family::Enterprise,
            |_| Ok("[[apps]\nclient_id = 1".into()),
            |_| None,
        )
        .unwrap_err();
        assert!(
            e.contains("the credentials file c.toml is not valid"),
            "{e}"
        );
        assert!(e.contains("fixtures/identities/enterprise.toml"), "{e}");
        assert!(!e.contains("for a profile"), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
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
