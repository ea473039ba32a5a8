//! Runs the flexslot suite (or some of its checks) against a target, as the CLI does:
//! test controls or not, a driver, the committed flexslot snapshots compared, every
//! level gating. Shared by tests/flexslot.rs and tests/flexslot_faults.rs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use conformance::check::{Check, Env};
use conformance::client::HttpOptions;
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::runner::{self, RunOptions, RunReport};
use conformance::snapshot::{SnapshotMode, SnapshotStore};
use profile::{Identities, Level, Profile};

pub fn profile() -> Profile {
    profile::builtin::find("flexslot")
        .expect("flexslot is built in")
        .profile()
}

pub fn fixtures() -> Identities {
    profile::builtin::find("flexslot")
        .expect("flexslot is built in")
        .identities()
}

/// `fixtures/identities/flexslot-other.toml`: another deployment's apps and users.
pub fn other_identities() -> Identities {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/identities/flexslot-other.toml");
    let text = std::fs::read_to_string(&path).expect("the other flexslot identities");
    Identities::from_toml_str(&text, |_| None).expect("a valid identities file")
}

/// The flexslot reference server with `ids`, test controls on, `fault` switched on.
pub async fn server(
    ids: Identities,
    fault: Option<reference_server::Fault>,
) -> reference_server::RunningServer {
    let server = reference_server::spawn(reference_server::ServerConfig {
        profile: profile(),
        identities: ids,
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the flexslot server starts");
    if let Some(fault) = fault {
        let answer = reqwest::Client::new()
            .post(format!("{}/__test/fault", server.base_url()))
            .json(&serde_json::json!({"fault": fault.name()}))
            .send()
            .await
            .expect("the fault control answers");
        assert_eq!(answer.status(), 200, "switching on {fault}");
    }
    server
}

/// Runs `checks` against `base` with `ids`, comparing with the committed snapshots when
/// `snapshots` is on.
pub async fn run(
    base: &str,
    ids: Identities,
    controls: bool,
    driver: Driver,
    checks: Vec<Check>,
    snapshots: bool,
) -> RunReport {
    let http = HttpOptions {
        base: url::Url::parse(base).expect("a URL"),
        timeout: Duration::from_secs(10),
        request_id_header: String::new(),
    };
    let env = Env::new(profile(), ids, http, controls, driver, false).expect("an environment");
    let opts = RunOptions {
        concurrency: 8,
        check_timeout: Duration::from_secs(30),
        snapshots: SnapshotStore {
            dir: conformance::cli::default_snapshot_dir("flexslot"),
            mode: if snapshots {
                SnapshotMode::Compare
            } else {
                SnapshotMode::Off
            },
        },
        expected: Expected::default(),
    };
    let mut report = runner::run(Arc::new(env), checks, opts, |_| {}).await;
    report.gate = vec![Level::Must, Level::Should, Level::Decided];
    report
}

/// Every flexslot check.
pub fn all_checks() -> Vec<Check> {
    conformance::checks::all(&profile())
}

/// Starts the flexslot server with `ids` (and `fault`), runs the whole suite against it
/// and stops it.
pub async fn serve_and_run(
    ids: Identities,
    fault: Option<reference_server::Fault>,
    controls: bool,
    driver: Driver,
    snapshots: bool,
) -> RunReport {
    let server = server(ids.clone(), fault).await;
    let report = run(
        &server.base_url(),
        ids,
        controls,
        driver,
        all_checks(),
        snapshots,
    )
    .await;
    server.stop().await;
    report
}
