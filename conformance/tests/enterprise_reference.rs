//! The enterprise suite (EN-*) against the in-process reference server: the whole suite
//! passes with the committed snapshots gating, with the fixture identities and with
//! another deployment's (`fixtures/identities/enterprise-other.toml`); behind an ordinary
//! gateway (extension members, extra headers, Title-Case names); from the command line;
//! and every named fault that breaks an EN clause is caught by a check citing that clause
//! behind the same gateway with the snapshots compared, the same run passing with the
//! fault off.

#[path = "support/enterprise_suite.rs"]
mod enterprise_suite;
mod support;

use clap::Parser as _;
use conformance::client::{Http, Req};
use conformance::snapshot::SnapshotMode;
use enterprise_suite::{assert_all_pass, builtin, not_passed, other_identities, run_suite};
use profile::{Identities, Profile};
use support::gateway::{self, GatewayOptions};

async fn reference(
    profile: &Profile,
    ids: Identities,
    trust_proxy: bool,
) -> reference_server::RunningServer {
    reference_server::spawn(reference_server::ServerConfig {
        profile: profile.clone(),
        identities: ids,
        test_controls: true,
        trust_proxy,
        ..reference_server::ServerConfig::enterprise()
    })
    .await
    .expect("the reference server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_against_the_reference_server_with_snapshots_gating() {
    let b = builtin();
    let profile = b.profile();
    let server = reference(&profile, b.identities(), false).await;
    let report = run_suite(
        &server.base_url(),
        &profile,
        b.identities(),
        SnapshotMode::Compare,
    )
    .await;
    server.stop().await;
    assert_all_pass(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_against_the_reference_server_with_other_identities() {
    let profile = builtin().profile();
    let server = reference(&profile, other_identities(), false).await;
    let report = run_suite(
        &server.base_url(),
        &profile,
        other_identities(),
        SnapshotMode::Compare,
    )
    .await;
    server.stop().await;
    assert_all_pass(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_behind_an_ordinary_gateway() {
    let b = builtin();
    let profile = b.profile();
    let server = reference(&profile, b.identities(), true).await;
    let gw = gateway::start(&server.base_url(), GatewayOptions::ordinary()).await;
    let report = run_suite(
        &gw.base_url(),
        &profile,
        b.identities(),
        SnapshotMode::Compare,
    )
    .await;
    drop(gw);
    server.stop().await;
    assert_all_pass(&report);
    assert!(
        report.notes.iter().any(|n| n.contains("x_gateway")),
        "the extension member is listed in the notes: {:#?}",
        report.notes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_profile_enterprise_runs_in_process_and_against_a_target() {
    let dir = std::env::temp_dir().join(format!("en-suite-cli-{}", std::process::id()));
    let dir = dir.to_string_lossy().into_owned();
    let args = |extra: &[&str]| {
        let mut argv = vec![
            "conformance",
            "--profile",
            "enterprise",
            "--no-progress",
            "--report-dir",
            &dir,
        ];
        argv.extend_from_slice(extra);
        conformance::cli::Args::parse_from(argv)
    };
    assert_eq!(
        conformance::cli::run(args(&[])).await,
        conformance::cli::EXIT_CONFORMANT
    );
    let server = reference(&builtin().profile(), other_identities(), false).await;
    let base = server.base_url();
    let creds = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/identities/enterprise-other.toml"
    );
    let code = conformance::cli::run(args(&[
        "--target",
        &base,
        "--credentials",
        creds,
        "--test-controls",
    ]))
    .await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, conformance::cli::EXIT_CONFORMANT);
}

/// The enterprise profile with its `/api/*` limit lowered to a few requests, for the fault
/// runs that must stay quick (a profile is data; the checks read the limit from it).
fn lowered_profile() -> Profile {
    let mut p = builtin().profile();
    for l in &mut p.rate_limits {
        l.max = l.max.min(5);
    }
    p
}

/// Every enterprise check against a fresh reference server with `fault` on (or none),
/// behind an ordinary gateway, the committed snapshots compared: the tolerances of the
/// comparison (extension members, header case, other headers) hide no fault.
async fn run_with(fault: Option<&str>) -> conformance::runner::RunReport {
    let b = builtin();
    let profile = lowered_profile();
    let server = reference(&profile, b.identities(), true).await;
    let gw = gateway::start(&server.base_url(), GatewayOptions::ordinary()).await;
    if let Some(fault) = fault {
        let client = Http::new(
            std::sync::Arc::new(conformance::client::HttpOptions {
                base: url::Url::parse(&server.base_url()).expect("a URL"),
                timeout: std::time::Duration::from_secs(10),
                request_id_header: String::new(),
            }),
            None,
        )
        .expect("a client");
        let ex = client
            .execute(Req::post("/__test/fault").json(serde_json::json!({ "fault": fault })))
            .await
            .expect("the fault control answers");
        assert_eq!(ex.status, 200, "switching on {fault}: {}", ex.body);
    }
    let report = run_suite(
        &gw.base_url(),
        &profile,
        b.identities(),
        SnapshotMode::Compare,
    )
    .await;
    drop(gw);
    server.stop().await;
    report
}

/// The faults that break an EN clause (docs/enterprise.md, "Faults"), each with the one
/// clause whose checks fail with it on (issue 18 item 4). The generic limiter faults carry
/// punchplay's clause in the server's table; in this family they break EN-RATE-1, and
/// expired tokens on /api break EN-API-1.
const FAULTS: &[(&str, &str)] = &[
    ("en_invalid_client_400", "EN-TOKEN-2"),
    ("en_inactive_enterprise_allowed", "EN-TOKEN-3"),
    ("en_validation_drops_field", "EN-VALID-1"),
    ("en_introspect_expired_active", "EN-INTRO-1"),
    ("en_revoke_keeps_token", "EN-REVOKE-1"),
    ("en_company_check_skipped", "EN-API-1"),
    ("en_scope_check_skipped", "EN-API-1"),
    ("limiter_admits_extra", "EN-RATE-1"),
    ("retry_after_missing", "EN-RATE-1"),
    ("limiter_counts_rejected", "EN-RATE-1"),
    ("expired_token_accepted", "EN-API-1"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_enterprise_fault_fails_its_clause_and_no_other() {
    let clean = run_with(None).await;
    let bad = not_passed(&clean);
    assert!(
        bad.is_empty(),
        "the lowered profile alone fails: {}",
        bad.join("\n")
    );
    for (fault, clause) in FAULTS {
        let report = run_with(Some(fault)).await;
        support::suite::assert_fails_exactly(&report, &[clause], &format!("with `{fault}` on"));
    }
}

#[test]
fn every_enterprise_fault_of_the_server_is_listed() {
    let own: Vec<&str> = reference_server::Fault::ALL
        .iter()
        .filter(|f| f.clause().starts_with("EN-"))
        .map(|f| f.name())
        .collect();
    for name in &own {
        assert!(
            FAULTS.iter().any(|(f, _)| f == name),
            "the server's fault `{name}` breaks an EN clause: list it in FAULTS"
        );
    }
}
