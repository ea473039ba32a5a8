//! The checks, one folder per family (`punchplay/`, `enterprise/`). [`for_family`] picks a
//! profile's list; [`all`] is the suite for a profile. Ids name their clause and are test
//! names, snapshot names and report rows at once. A new family adds its folder, one
//! `pub mod` line and one arm in each function below.

use std::sync::Arc;

use profile::{Family, Profile};

use crate::check::{Admission, Check, Env};
use crate::outcome::Problem;
use crate::redact::Redactor;

pub mod enterprise;
pub mod flexslot;
pub mod punchplay;

/// The checks of a profile's family, or `None` for a family the suite has no checks for.
pub fn for_family(profile: &Profile) -> Option<Vec<Check>> {
    match profile.family {
        Family::Punchplay => Some(punchplay::checks(profile)),
        Family::Enterprise => Some(enterprise::checks(profile)),
        Family::Flexslot => Some(flexslot::checks(profile)),
    }
}

/// Every check of the suite for a profile (none for a family without checks; the CLI
/// refuses such a profile when it loads it).
pub fn all(profile: &Profile) -> Vec<Check> {
    for_family(profile).unwrap_or_default()
}

/// A check by id.
pub fn find(profile: &Profile, id: &str) -> Option<Check> {
    all(profile).into_iter().find(|c| c.id == id)
}

/// Whether a check's admitted requests went over a documented limit: the family's
/// over-admission watch (punchplay: PP-RATE-1).
pub fn over_admission(profile: &Profile, admitted: &[Admission]) -> Option<Problem> {
    match profile.family {
        Family::Punchplay => punchplay::rate::over_admission(profile, admitted),
        Family::Enterprise => enterprise::rate::over_admission(profile, admitted),
        // Flexslot documents no limit.
        Family::Flexslot => None,
    }
}

/// The clause an over-admission breaks, wherever it is seen (the runner reports the
/// check under it).
pub fn over_admission_clause(profile: &Profile) -> &'static str {
    match profile.family {
        Family::Enterprise => enterprise::rate::OVER_ADMISSION_CLAUSE,
        _ => punchplay::rate::OVER_ADMISSION_CLAUSE,
    }
}

/// Registers the identities of the credentials (client ids, names, secrets) under the
/// family's role placeholders, so a snapshot recorded with one deployment's apps gates
/// another's.
pub fn redact_identities(env: &Env, redactor: &mut Redactor) {
    match env.profile.family {
        Family::Enterprise => enterprise::roles::redact_identities(env, redactor),
        Family::Flexslot => flexslot::redact_identities(env, redactor),
        Family::Punchplay => {
            if let Some(roles) = env.roles.get() {
                roles.redact_identities(&env.ids, redactor);
            }
        }
    }
}

/// Two paths the probe asks without credentials before a run: an unknown route and a
/// protected one, whose errors the family's contract answers in JSON.
pub fn probe_paths(profile: &Profile) -> [String; 2] {
    match profile.family {
        Family::Enterprise => enterprise::probe_paths(profile),
        // An unknown route, and GET on the token endpoint (a 404 `not_found` in JSON; the
        // resource's 401 may have no body, RFC 6750 §3).
        Family::Flexslot => [
            "/conformance-probe".to_owned(),
            profile.path("token").to_owned(),
        ],
        Family::Punchplay => [
            format!("{}/conformance-probe", profile.path("platform_api")),
            profile.path("me").to_owned(),
        ],
    }
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

/// What of each rate limit was spent before the run (limit name, seconds until it
/// reopens), for the plan's first wait.
pub async fn spent_before_the_run(env: &Arc<Env>) -> Vec<(String, u64)> {
    match env.profile.family {
        Family::Punchplay => punchplay::rate::spent_before_the_run(env).await,
        Family::Enterprise => enterprise::rate::spent_before_the_run(env).await,
        Family::Flexslot => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    /// Every built-in family: each clause has a check but the ones the contract leaves
    /// open (listed in the run's notes instead), each check names a clause of its profile,
    /// and no check id is used twice.
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
            }
            let ids: HashSet<&str> = checks.iter().map(|c| c.id).collect();
            assert_eq!(
                ids.len(),
                checks.len(),
                "{family}: a check id is used twice"
            );
        }
    }
}
