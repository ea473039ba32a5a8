//! The checks, one folder per family (`punchplay/`, `enterprise/`, `flexslot/`), and the
//! registry that maps a profile's family to its [`SuiteFamily`]: one line per family in
//! [`family`], the only place the suite names them. Ids name their clause and are test
//! names, snapshot names and report rows at once. `Env::new` lives here, beside the
//! registry, so that the check context below imports no family.

use profile::{Family, Identities, Profile};

use crate::approval::Driver;
use crate::check::{Check, Env};
use crate::client::HttpOptions;
use crate::family::SuiteFamily;

pub mod enterprise;
pub mod flexslot;
pub mod punchplay;

/// The suite of a family.
pub fn family(family: Family) -> &'static dyn SuiteFamily {
    match family {
        Family::Punchplay => &punchplay::Punchplay,
        Family::Enterprise => &enterprise::Enterprise,
        Family::Flexslot => &flexslot::Flexslot,
    }
}

impl Env {
    /// The run's environment for `profile`'s family; fails (exit 2) when the credentials
    /// lack an app or user every check of the family needs, naming it.
    pub fn new(
        profile: Profile,
        ids: Identities,
        http: HttpOptions,
        controls: bool,
        driver: Driver,
        allow_slow: bool,
    ) -> Result<Env, String> {
        let dialect = family(profile.family);
        Env::of_family(dialect, profile, ids, http, controls, driver, allow_slow)
    }
}

/// Every check of the suite for a profile.
pub fn all(profile: &Profile) -> Vec<Check> {
    family(profile.family).checks(profile)
}

/// A check by id.
pub fn find(profile: &Profile, id: &str) -> Option<Check> {
    all(profile).into_iter().find(|c| c.id == id)
}

/// The two paths the probe asks before a run (`runner::probe`).
pub fn probe_paths(profile: &Profile) -> [String; 2] {
    family(profile.family).probe_paths(profile)
}

/// The profile's clauses that no check of the suite covers (with their summaries), for
/// the run's notes: a clause the contract leaves open (EN-OPEN-1) is listed, not hidden.
pub fn clauses_without_checks(profile: &Profile) -> Vec<String> {
    let checks = all(profile);
    profile
        .clauses
        .iter()
        .filter(|c| !checks.iter().any(|k| k.clause == c.id))
        .map(|c| format!("{} ({})", c.id, c.summary))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    /// Every built-in family: each clause has a check but the ones the contract leaves
    /// open (listed in the run's notes instead), each check names a clause of its profile,
    /// no check id is used twice, and every budget names a limit of the profile.
    #[test]
    fn every_clause_has_a_check_and_every_check_a_clause() {
        for (family, open) in [
            ("punchplay", &[][..]),
            ("enterprise", &["EN-OPEN-1"][..]),
            ("flexslot", &[][..]),
        ] {
            let profile = profile::builtin::find(family).expect("built in").profile();
            let checks = super::all(&profile);
            let covered: HashSet<&str> = checks.iter().map(|c| c.clause).collect();
            let missing: Vec<&str> = profile
                .clauses
                .iter()
                .map(|c| c.id.as_str())
                .filter(|id| !covered.contains(id))
                .collect();
            assert_eq!(missing, open, "{family}: clauses without a check");
            assert_eq!(
                super::clauses_without_checks(&profile).len(),
                open.len(),
                "{family}: the run's notes list the open clauses"
            );
            for c in &checks {
                assert!(
                    profile.clause(c.clause).is_some(),
                    "{family}: {} names no clause of the profile",
                    c.id
                );
                for (limit, _) in &c.budget {
                    assert!(
                        profile.rate_limit(limit).is_some(),
                        "{family}: {} budgets requests of `{limit}`, which the profile does not limit",
                        c.id
                    );
                }
            }
            let ids: HashSet<&str> = checks.iter().map(|c| c.id).collect();
            assert_eq!(
                ids.len(),
                checks.len(),
                "{family}: a check id is used twice"
            );
            let over = super::family(profile.family).over_admission_clause();
            if let Some(clause) = over {
                assert!(
                    checks.iter().any(|c| c.clause == clause),
                    "{family}: over-admission is reported under {clause}, which no check has"
                );
            }
        }
    }
}
