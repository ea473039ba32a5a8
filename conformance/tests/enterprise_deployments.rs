//! The enterprise suite (EN-*) against a small deployment written for the test
//! (`support/enterprise_server.rs`), not the reference server: conformant but different
//! where a deployment may be (JWT-looking tokens, extension members, headers of its own,
//! latency), it passes with the committed snapshots gating; and with each clause broken
//! on purpose, a check citing that clause fails.

#[path = "support/enterprise_server.rs"]
mod enterprise_server;
#[path = "support/enterprise_suite.rs"]
mod enterprise_suite;
mod support;

use conformance::runner::{RunReport, Status};
use conformance::snapshot::SnapshotMode;
use enterprise_server::Wrong;
use enterprise_suite::{
    assert_all_pass, builtin, not_passed, other_identities, reason, run_checks, run_suite,
};

async fn run_against(wrong: Option<Wrong>, mode: SnapshotMode) -> RunReport {
    let b = builtin();
    let profile = b.profile();
    let server = enterprise_server::start(profile.clone(), b.identities(), wrong, true).await;
    let report = run_suite(&server.base_url(), &profile, b.identities(), mode).await;
    server.stop().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conformant_deployment_that_differs_passes_with_snapshots_gating() {
    let report = run_against(None, SnapshotMode::Compare).await;
    assert_all_pass(&report);
    assert!(
        report.notes.iter().any(|n| n.contains("EN-OPEN-1")),
        "the notes list the clause without a check: {:#?}",
        report.notes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_deployments_identities_pass_with_snapshots_gating() {
    let profile = builtin().profile();
    let server = enterprise_server::start(profile.clone(), other_identities(), None, true).await;
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
async fn checks_whose_app_is_missing_skip_with_the_trait_they_need() {
    let b = builtin();
    let profile = b.profile();
    let mut ids = b.identities();
    ids.apps.retain(|a| a.client_id == "en-acme");
    let server = enterprise_server::start(profile.clone(), b.identities(), None, true).await;
    let report = run_suite(&server.base_url(), &profile, ids, SnapshotMode::Compare).await;
    server.stop().await;
    assert!(
        reason(&report, "EN-TOKEN-3/inactive-enterprise-is-refused")
            .contains("inactive enterprise")
    );
    assert!(
        reason(&report, "EN-API-1/token-without-the-scope-is-refused")
            .contains("not allowed `tags:read`")
    );
    assert!(
        reason(
            &report,
            "EN-API-1/client-without-company-is-company-not-found"
        )
        .contains("linked to no company")
    );
    let others: Vec<String> = not_passed(&report)
        .into_iter()
        .filter(|l| !l.contains(" Skip: needs an app"))
        .collect();
    assert!(others.is_empty(), "{}", others.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_test_controls_clock_and_control_checks_say_why_they_did_not_run() {
    let b = builtin();
    let profile = b.profile();
    let server = enterprise_server::start(profile.clone(), b.identities(), None, true).await;
    // Every check but the count, which watches the window for ten seconds of real time
    // without clock control.
    let checks = conformance::checks::all(&profile)
        .into_iter()
        .filter(|c| !c.id.ends_with("admits-the-documented-number"))
        .collect();
    let report = run_checks(
        &server.base_url(),
        &profile,
        b.identities(),
        SnapshotMode::Compare,
        false,
        checks,
    )
    .await;
    server.stop().await;
    for id in [
        "EN-INTRO-1/expired-token-is-invalid-or-expired",
        "EN-API-1/expired-token-is-unauthenticated",
        "EN-RATE-1/api-reopens-at-retry-after",
    ] {
        assert!(reason(&report, id).contains("--allow-slow"), "{id}");
    }
    for id in [
        "EN-TOKEN-3/deactivating-the-enterprise-refuses-new-tokens",
        "EN-API-1/unlinking-the-company-is-company-not-found",
    ] {
        assert!(reason(&report, id).contains("test controls"), "{id}");
    }
    let others: Vec<String> = not_passed(&report)
        .into_iter()
        .filter(|l| !l.contains(" Skip: "))
        .collect();
    assert!(others.is_empty(), "{}", others.join("\n"));
    support::deployment::assert_skips_sent_nothing(&report);
}

/// Each broken clause fails a check citing it.
async fn caught(wrong: Wrong, clause: &str) {
    let report = run_against(Some(wrong), SnapshotMode::Off).await;
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
        .collect();
    assert!(
        failing.iter().any(|c| c.clause == clause),
        "with {wrong:?}, no check citing {clause} fails: {:?}",
        failing
            .iter()
            .map(|c| (&c.id, &c.message))
            .collect::<Vec<_>>()
    );
    support::suite::assert_failures_cite_the_family(&report, &builtin().profile());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broken_clause_is_caught_by_a_check_citing_it() {
    for (wrong, clause) in [
        (Wrong::InvalidClientStatus, "EN-TOKEN-2"),
        (Wrong::InactiveEnterpriseAdmitted, "EN-TOKEN-3"),
        (Wrong::ValidationOneField, "EN-VALID-1"),
        (Wrong::IntrospectsExpired, "EN-INTRO-1"),
        (Wrong::RevokedStillAccepted, "EN-REVOKE-1"),
        (Wrong::CompanySkipped, "EN-API-1"),
        (Wrong::ScopeSkipped, "EN-API-1"),
        (Wrong::LimiterAdmitsExtra, "EN-RATE-1"),
        (Wrong::NoRetryAfter, "EN-RATE-1"),
    ] {
        caught(wrong, clause).await;
    }
}

/// Records the snapshots from the test deployment's bare answers (no extension members or
/// headers of its own): `cargo test -p conformance --test enterprise_deployments --
/// --ignored record`. Review them; the reference server is held to them too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes fixtures/snapshots/enterprise: run on purpose with --ignored"]
async fn record_snapshots() {
    let b = builtin();
    let profile = b.profile();
    let server = enterprise_server::start(profile.clone(), b.identities(), None, false).await;
    let report = run_suite(
        &server.base_url(),
        &profile,
        b.identities(),
        SnapshotMode::Update,
    )
    .await;
    server.stop().await;
    let bad = not_passed(&report);
    assert!(
        bad.iter().all(|b| b.contains("snapshot")),
        "{}",
        bad.join("\n")
    );
}
