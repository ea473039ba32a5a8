//! Runs checks of the suite against a deployment with its own apps and users, as the CLI
//! does: with test controls, the committed punchplay snapshots (or others) compared, and
//! every level gating.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use conformance::check::{Check, Env};
use conformance::client::HttpOptions;
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::runner::{self, RunOptions, RunReport, Status};
use conformance::snapshot::{SnapshotMode, SnapshotStatus, SnapshotStore};
use profile::{Identities, Level, Profile};

/// Runs `checks` against `base` (a target with test controls and the apps and users of
/// `ids`), approving through `driver`.
pub async fn run_checks(
    base: &str,
    ids: Identities,
    driver: Driver,
    checks: Vec<Check>,
) -> RunReport {
    let committed = conformance::cli::default_snapshot_dir("punchplay");
    run_checks_against_snapshots(base, ids, driver, checks, committed).await
}

/// [`run_checks`], comparing with the snapshots in `snapshot_dir`.
pub async fn run_checks_against_snapshots(
    base: &str,
    ids: Identities,
    driver: Driver,
    checks: Vec<Check>,
    snapshot_dir: PathBuf,
) -> RunReport {
    let profile = Profile::punchplay();
    let http = HttpOptions {
        base: url::Url::parse(base).expect("a URL"),
        timeout: Duration::from_secs(10),
        request_id_header: profile.expect_punchplay().request_id.header.clone(),
    };
    let env =
        Env::new(profile, ids, http, true, driver, false).expect("the identities fill every role");
    let opts = RunOptions {
        concurrency: 8,
        check_timeout: Duration::from_secs(30),
        snapshots: SnapshotStore {
            dir: snapshot_dir,
            mode: SnapshotMode::Compare,
        },
        expected: Expected::default(),
    };
    let mut report = runner::run(Arc::new(env), checks, opts, |_| {}).await;
    report.gate = vec![Level::Must, Level::Should, Level::Decided];
    report
}

/// Asserts that every check of `report` ended in one of `allowed` (a snapshot that
/// differs counts as a failure), listing the others with their messages and diffs.
pub fn assert_every_check_is(report: &RunReport, allowed: &[Status]) {
    let others: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !allowed.contains(&c.status) || c.snapshot.is_failure())
        .map(|c| {
            let diff = match &c.snapshot {
                SnapshotStatus::Mismatched { diff, .. } => diff.as_str(),
                _ => "",
            };
            format!(
                "{} {:?}: {}\n{diff}",
                c.id,
                c.status,
                c.message.clone().unwrap_or_default()
            )
        })
        .collect();
    assert!(others.is_empty(), "{}", others.join("\n"));
}

/// Asserts that every skipped check of `report` decided so before it sent anything: its
/// transcript is empty (issue 18 item 5).
pub fn assert_skips_sent_nothing(report: &RunReport) {
    let sent: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Skip && c.transcript.contains("→ "))
        .map(|c| format!("{} skipped after sending:\n{}", c.id, c.transcript))
        .collect();
    assert!(sent.is_empty(), "{}", sent.join("\n"));
}
