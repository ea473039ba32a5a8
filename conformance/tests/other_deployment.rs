//! Proof that the committed snapshots describe the contract, not the punchplay fixtures:
//! the whole suite, comparing every transcript with its committed snapshot, is
//! CONFORMANT at every level against a reference server started with other apps and
//! users (`fixtures/identities/other-deployment.toml`: other client ids, names, secrets,
//! redirect URIs and users, the same traits, in another order).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use conformance::check::Env;
use conformance::client::HttpOptions;
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::runner::{self, RunOptions, RunReport, Status};
use conformance::snapshot::{SnapshotMode, SnapshotStatus, SnapshotStore};
use profile::{Identities, Level, Profile};

fn other_identities() -> Identities {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/identities/other-deployment.toml");
    let text = std::fs::read_to_string(&path).expect("the other-deployment identities");
    Identities::from_toml_str(&text, |_| None).expect("a valid identities file")
}

/// Runs the whole suite, snapshots compared, against `base` (a server with `ids`).
async fn run_suite(base: &str, ids: Identities) -> RunReport {
    let profile = Profile::punchplay();
    let http = HttpOptions {
        base: url::Url::parse(base).expect("a URL"),
        timeout: Duration::from_secs(10),
        request_id_header: profile.request_id.header.clone(),
    };
    let env = Env::new(
        profile.clone(),
        ids,
        http,
        true,
        Driver::TestControls,
        false,
    )
    .expect("the identities fill every role");
    let opts = RunOptions {
        concurrency: 8,
        check_timeout: Duration::from_secs(30),
        snapshots: SnapshotStore {
            dir: conformance::cli::default_snapshot_dir("punchplay"),
            mode: SnapshotMode::Compare,
        },
        expected: Expected::default(),
    };
    let mut report = runner::run(
        Arc::new(env),
        conformance::checks::all(&profile),
        opts,
        |_| {},
    )
    .await;
    report.gate = vec![Level::Must, Level::Should, Level::Decided];
    report
}

/// Every check passed (none skipped) and its transcript matched its snapshot.
fn assert_conformant_everywhere(report: &RunReport) {
    let bad: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass || c.snapshot.is_failure())
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
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(report.conformant());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_snapshots_gate_a_server_with_other_apps_and_users() {
    let ids = other_identities();
    let server = reference_server::spawn(reference_server::ServerConfig {
        identities: ids.clone(),
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    let report = run_suite(&server.base_url(), ids).await;
    server.stop().await;
    assert_conformant_everywhere(&report);
}
