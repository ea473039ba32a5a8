//! Runs the enterprise suite (EN-*) against a target, as the CLI does, for the tests of
//! `tests/enterprise_*.rs`.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use conformance::check::{Check, Env};
use conformance::client::HttpOptions;
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::runner::{self, RunOptions, RunReport, Status};
use conformance::snapshot::{SnapshotMode, SnapshotStore};
use profile::{Identities, Level, Profile};

pub fn builtin() -> &'static profile::builtin::Builtin {
    profile::builtin::find("enterprise").expect("the enterprise profile is built in")
}

/// Runs every enterprise check against `base` with `ids`, as the CLI does in-process.
/// Runs every enterprise check against `base` (a target with test controls) with `ids`,
/// as the CLI does in-process, every level gating.
pub async fn run_suite(
    base: &str,
    profile: &Profile,
    ids: Identities,
    mode: SnapshotMode,
) -> RunReport {
    run_checks(
        base,
        profile,
        ids,
        mode,
        true,
        conformance::checks::all(profile),
    )
    .await
}

/// Runs `checks` against `base` with `ids`, using the target's test controls or not, the
/// committed enterprise snapshots compared (`SnapshotMode::Compare`) or not.
pub async fn run_checks(
    base: &str,
    profile: &Profile,
    ids: Identities,
    mode: SnapshotMode,
    controls: bool,
    checks: Vec<Check>,
) -> RunReport {
    let http = HttpOptions {
        base: url::Url::parse(base).expect("a URL"),
        timeout: Duration::from_secs(10),
        request_id_header: String::new(),
    };
    let driver = if controls {
        Driver::TestControls
    } else {
        Driver::Pages
    };
    let env = Env::new(profile.clone(), ids, http, controls, driver, false)
        .expect("an enterprise environment needs no punchplay roles");
    let opts = RunOptions {
        concurrency: 8,
        check_timeout: Duration::from_secs(30),
        snapshots: SnapshotStore {
            dir: conformance::cli::default_snapshot_dir("enterprise"),
            mode,
        },
        expected: Expected::default(),
    };
    let mut report = runner::run(Arc::new(env), checks, opts, |_| {}).await;
    report.gate = Level::ALL.to_vec();
    report
}

/// Asserts every check of `report` passed, listing the others with their messages.
pub fn assert_all_pass(report: &RunReport) {
    let bad = not_passed(report);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

pub fn not_passed(report: &RunReport) -> Vec<String> {
    report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .map(|c| {
            format!(
                "{} {:?}: {}",
                c.id,
                c.status,
                c.message.clone().unwrap_or_default()
            )
        })
        .collect()
}

/// Another deployment's identities (other ids, secrets, enterprises, companies, tags, in
/// another order): the snapshots recorded with the fixtures still gate.
pub fn other_identities() -> Identities {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/identities/enterprise-other.toml"),
    )
    .expect("the other identities file");
    Identities::from_toml_str(&text, |_| None).expect("valid identities")
}

pub fn reason(report: &RunReport, id: &str) -> String {
    let c = report
        .checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("{id} ran"));
    assert_eq!(c.status, Status::Skip, "{id}: {:?}", c.message);
    c.message.clone().unwrap_or_default()
}
