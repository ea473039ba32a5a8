//! Set-up shared by the tests that run many checks at once (faults, re-runs, latency,
//! limiters): an environment for a target and the run options.

use std::sync::Arc;
use std::time::Duration;

use conformance::check::Env;
use conformance::client::HttpOptions;
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::runner::{RunOptions, RunReport, Status};
use conformance::snapshot::{SnapshotMode, SnapshotStore};
use profile::{Identities, LimitKey, Profile};

/// The run's environment against `base` with the committed fixture identities.
pub fn env(
    base: &str,
    profile: &Profile,
    controls: bool,
    driver: Driver,
    allow_slow: bool,
) -> Arc<Env> {
    let http = HttpOptions {
        base: url::Url::parse(base).expect("a URL"),
        timeout: Duration::from_secs(10),
        request_id_header: profile.expect_punchplay().request_id.header.clone(),
    };
    let env = Env::new(
        profile.clone(),
        Identities::punchplay(),
        http,
        controls,
        driver,
        allow_slow,
    );
    Arc::new(env.expect("the fixtures fill every role"))
}

/// Eight checks at once, a check timeout of `check_timeout_secs`, the committed punchplay
/// snapshots compared (`SnapshotMode::Compare`) or not.
pub fn options(mode: SnapshotMode, check_timeout_secs: u64) -> RunOptions {
    RunOptions {
        concurrency: 8,
        check_timeout: Duration::from_secs(check_timeout_secs),
        snapshots: SnapshotStore {
            dir: conformance::cli::default_snapshot_dir("punchplay"),
            mode,
        },
        expected: Expected::default(),
    }
}

/// The punchplay profile with its rate limits lowered (a few requests per IP or client
/// key, 60 for the per-user limit every playback check shares), for whole-suite runs that
/// must stay quick, with the committed snapshots still matching. A profile is data and the suite reads every limit from it, so this
/// changes no check.
pub fn lowered_profile() -> Profile {
    let mut p = Profile::punchplay();
    for l in &mut p.rate_limits {
        l.max = match (l.key, l.endpoint().unwrap_or_default()) {
            (LimitKey::User, _) => l.max.min(60),
            (_, "token") => l.max.min(8),
            // 10, the device-code limit's own: the spoofed X-Forwarded-For check's
            // snapshot pins the address after its limit's count.
            _ => l.max.min(10),
        };
    }
    p
}

/// A reference server serving `profile`, with or without test controls; `trust_proxy`
/// when a gateway in front forwards the client's address (PP-RATE-4).
pub async fn reference(
    profile: &Profile,
    test_controls: bool,
    trust_proxy: bool,
) -> reference_server::RunningServer {
    reference_server::spawn(reference_server::ServerConfig {
        profile: profile.clone(),
        test_controls,
        trust_proxy,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts")
}

/// Each check's id, clause, status and message, for an assertion's output; with
/// `only_bad`, the checks that make a run non-conformant.
pub fn outcomes(report: &RunReport, only_bad: bool) -> Vec<(String, String, Status, String)> {
    report
        .checks
        .iter()
        .filter(|c| !only_bad || c.status.is_bad())
        .map(|c| {
            (
                c.id.clone(),
                c.clause.clone(),
                c.status,
                c.message.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Asserts that every failing check's message cites a clause of `profile` and no clause
/// of another family (issue 18 item 7).
pub fn assert_failures_cite_the_family(report: &RunReport, profile: &Profile) {
    let wrong: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .filter_map(|c| {
            let message = c.message.as_deref().unwrap_or_default();
            let cited = conformance::outcome::cited_clauses(message);
            let foreign: Vec<&str> = cited
                .iter()
                .copied()
                .filter(|id| profile.clause(id).is_none())
                .collect();
            (cited.is_empty() || !foreign.is_empty())
                .then(|| format!("{}: {message} (foreign: {foreign:?})", c.id))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Asserts that the clauses of the checks failing in `report` are exactly `clauses`
/// (issue 18 item 4: one defect, one failing clause), and that every check that errored
/// was not judged because of one of them: it names its root, it does not fail.
pub fn assert_fails_exactly(report: &RunReport, clauses: &[&str], what: &str) {
    let failing: std::collections::BTreeSet<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.clause.as_str())
        .collect();
    let want: std::collections::BTreeSet<&str> = clauses.iter().copied().collect();
    assert_eq!(
        failing,
        want,
        "{what}: the failing clauses differ from the table:\n{:#?}",
        outcomes(report, true)
    );
    let stray: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Error)
        .filter(|c| !c.blocked_by.as_deref().is_some_and(|b| want.contains(b)))
        .map(|c| format!("{}: {:?}", c.id, c.message))
        .collect();
    assert!(
        stray.is_empty(),
        "{what}: errors not rooted in a failing clause: {stray:#?}"
    );
}
