//! Judges a deployment as the command line does, through the crate's public run API: the
//! preflight first (`preflight::check_target`: a target it refuses is "cannot be checked",
//! exit 2), then
//! every check of the family, the committed snapshots compared, every level gating. And
//! the two verdicts `tests/rfc_variants.rs` asserts: CONFORMANT, or NOT CONFORMANT failing
//! exactly the named clauses.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use conformance::check::Env;
use conformance::client::HttpOptions;
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::runner::{self, RunOptions, RunReport};
use conformance::snapshot::{SnapshotMode, SnapshotStatus, SnapshotStore};
use profile::{Identities, Level, Profile};

/// What the suite made of a deployment.
#[derive(Debug)]
pub enum Judged {
    /// The probe refused it (the CLI's exit 2), with the suite's reason.
    Refused(String),
    Ran(RunReport),
}

/// Preflights `base` and runs every check of `profile`'s family against it, as the CLI does
/// with `--target base` (and `--test-controls` when `controls`), every level gating.
pub async fn judge(
    base: &str,
    profile: Profile,
    ids: Identities,
    controls: bool,
    driver: Driver,
) -> Judged {
    let http = HttpOptions {
        base: url::Url::parse(base).expect("a URL"),
        timeout: Duration::from_secs(10),
        request_id_header: profile
            .request_id()
            .map(|f| f.header.clone())
            .unwrap_or_default(),
    };
    if let Err(why) = conformance::preflight::check_target(&http.base, &profile, http.timeout).await
    {
        return Judged::Refused(why);
    }
    let checks = conformance::checks::all(&profile);
    let snapshots = conformance::cli::default_snapshot_dir(&profile.name);
    let env = Env::new(profile, ids, http, controls, driver, false).expect("an environment");
    let opts = RunOptions {
        concurrency: 8,
        check_timeout: Duration::from_secs(30),
        snapshots: SnapshotStore {
            dir: snapshots,
            mode: SnapshotMode::Compare,
        },
        expected: Expected::default(),
    };
    let mut report = runner::run(Arc::new(env), checks, opts, |_| {}).await;
    report.gate = Level::ALL.to_vec();
    Judged::Ran(report)
}

/// Every check that failed, errored or passed unexpectedly, with its level and message.
pub fn bad_checks(report: &RunReport) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| c.status.is_bad())
        .map(|c| {
            // A snapshot mismatch: the lines saying what differs, not the whole diff.
            let why: Vec<&str> = match &c.snapshot {
                SnapshotStatus::Mismatched { diff, .. } => diff
                    .lines()
                    .skip(1)
                    .take_while(|l| l.starts_with("  "))
                    .collect(),
                _ => Vec::new(),
            };
            format!(
                "{} ({:?}, {:?}): {}{}",
                c.id,
                c.level,
                c.status,
                c.message.as_deref().unwrap_or_default(),
                why.iter()
                    .map(|l| format!("\n    {}", l.trim()))
                    .collect::<String>()
            )
        })
        .collect()
}

/// The clauses of the checks that failed, errored or passed unexpectedly.
pub fn failing_clauses(report: &RunReport) -> BTreeSet<String> {
    report
        .checks
        .iter()
        .filter(|c| c.status.is_bad())
        .map(|c| c.clause.clone())
        .collect()
}

/// The report of a run the probe did not refuse.
pub fn ran(judged: &Judged) -> &RunReport {
    match judged {
        Judged::Ran(report) => report,
        Judged::Refused(why) => panic!("the suite refused the deployment before any check: {why}"),
    }
}

/// CONFORMANT at every level: no check failed, errored or passed unexpectedly.
pub fn assert_conformant(judged: &Judged) {
    let report = ran(judged);
    let bad = bad_checks(report);
    assert!(
        bad.is_empty() && report.conformant(),
        "expected CONFORMANT, but {} checks failed:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// NOT CONFORMANT, and the failing checks cite exactly `clauses`.
pub fn assert_fails_only(judged: &Judged, clauses: &[&str]) {
    let report = ran(judged);
    let expected: BTreeSet<String> = clauses.iter().map(|c| (*c).to_owned()).collect();
    assert!(
        !report.conformant() && failing_clauses(report) == expected,
        "expected NOT CONFORMANT failing exactly {expected:?}; failing: {:?}\n{}",
        failing_clauses(report),
        bad_checks(report).join("\n")
    );
}

/// CONFORMANT when only `levels` gate.
pub fn assert_conformant_at(judged: &Judged, levels: &[Level]) {
    let mut report = ran(judged).clone();
    report.gate = levels.to_vec();
    assert!(
        report.conformant(),
        "expected CONFORMANT at {levels:?}:\n{}",
        bad_checks(&report).join("\n")
    );
}

/// Exactly the checks `ids` failed, errored or passed unexpectedly.
pub fn assert_fails_only_checks(judged: &Judged, ids: &[&str]) {
    let report = ran(judged);
    let failed: BTreeSet<&str> = report
        .checks
        .iter()
        .filter(|c| c.status.is_bad())
        .map(|c| c.id.as_str())
        .collect();
    let expected: BTreeSet<&str> = ids.iter().copied().collect();
    assert!(
        failed == expected,
        "expected exactly {expected:?} to fail:\n{}",
        bad_checks(report).join("\n")
    );
}
