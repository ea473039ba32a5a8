//! Proof that the suite notices faults: for every named fault of the reference server
//! (`POST /__test/fault`), a server of its own with the fault switched on, the whole
//! suite against it, and the assertion that at least one check fails and that a failing
//! check names the fault's clause.
//!
//! The fault runs use the punchplay profile with its rate limits lowered
//! (`support::suite::lowered_profile`: a few requests per IP or client key, 60 for the
//! per-user limit that every playback check shares). A profile is data and the suite reads every limit from it, so this changes no check; it
//! keeps 33 whole-suite runs inside the test budget. The documented limits themselves are
//! exercised by `tests/checks.rs` and by the CLI, and
//! `the_suite_passes_on_the_lowered_profile_without_a_fault` shows the lowering alone
//! fails nothing.

mod support;

use conformance::client::{Http, Req};
use conformance::drivers::Driver;
use conformance::runner::{self, RunReport, Status};
use conformance::snapshot::SnapshotMode;
use reference_server::Fault;
use support::suite;

/// Runs the whole suite against a fresh server with `fault` switched on.
async fn run_suite(fault: Option<Fault>) -> RunReport {
    let profile = suite::lowered_profile();
    let server = suite::reference(&profile, true, false).await;
    let env = suite::env(
        &server.base_url(),
        &profile,
        true,
        Driver::TestControls,
        false,
    );
    if let Some(fault) = fault {
        let client = Http::new(env.http.clone(), None).expect("a client");
        let ex = client
            .execute(Req::post("/__test/fault").json(serde_json::json!({"fault": fault.name()})))
            .await
            .expect("the fault control answers");
        assert_eq!(ex.status, 200, "switching on {fault}: {}", ex.body);
    }
    let opts = suite::options(SnapshotMode::Off, 30);
    let report = runner::run(env, conformance::checks::all(&profile), opts, |_| {}).await;
    server.stop().await;
    report
}

async fn suite_catches(name: &str) {
    let fault: Fault = name.parse().expect("a fault of the reference server");
    let report = run_suite(Some(fault)).await;
    let failing: Vec<_> = report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
        .collect();
    assert!(
        !failing.is_empty(),
        "no check fails with the fault `{name}` ({}) switched on",
        fault.description()
    );
    assert!(
        failing.iter().any(|c| c.clause == fault.clause()),
        "with `{name}` on, checks fail but none names {}: {:?}",
        fault.clause(),
        failing.iter().map(|c| c.id.as_str()).collect::<Vec<_>>()
    );
    suite::assert_failures_cite_the_family(&report, &suite::lowered_profile());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_on_the_lowered_profile_without_a_fault() {
    let report = run_suite(None).await;
    let bad: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Pass)
        .map(|c| (&c.id, &c.message))
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

macro_rules! faults {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                suite_catches($name).await;
            }
        )*

        #[test]
        fn every_fault_of_the_server_is_listed() {
            let listed: Vec<&str> = vec![$($name),*];
            // Punchplay's faults: every one whose clause is punchplay's (another family's
            // faults are listed by that family's fault test, tests/enterprise_reference.rs for EN-*).
            let all: Vec<&str> = Fault::ALL.iter().filter(|f| f.clause().starts_with("PP-")).map(|f| f.name()).collect();
            assert_eq!(listed, all, "tests/faults.rs must list every punchplay fault of reference_server::Fault::ALL");
        }
    };
}

faults! {
    secret_not_checked => "secret_not_checked",
    invalid_client_400 => "invalid_client_400",
    inactive_app_allowed => "inactive_app_allowed",
    deactivation_keeps_tokens => "deactivation_keeps_tokens",
    old_secret_still_valid => "old_secret_still_valid",
    unknown_scope_granted => "unknown_scope_granted",
    scope_omitted => "scope_omitted",
    state_not_echoed => "state_not_echoed",
    error_redirect_without_request_id => "error_redirect_without_request_id",
    open_redirect => "open_redirect",
    plain_pkce_accepted => "plain_pkce_accepted",
    verifier_ignored => "verifier_ignored",
    code_reusable => "code_reusable",
    no_store_missing => "no_store_missing",
    wrong_grant_type_error => "wrong_grant_type_error",
    qr_wrong_url => "qr_wrong_url",
    device_tokens_twice => "device_tokens_twice",
    device_deny_pending => "device_deny_pending",
    refresh_not_rotated => "refresh_not_rotated",
    replay_not_revoking => "replay_not_revoking",
    refresh_race => "refresh_race",
    refresh_widens_scope => "refresh_widens_scope",
    expired_token_accepted => "expired_token_accepted",
    scope_check_skipped => "scope_check_skipped",
    stale_event_applied => "stale_event_applied",
    sse_drops_stops => "sse_drops_stops",
    unknown_route_server_error => "unknown_route_server_error",
    public_user_needs_token => "public_user_needs_token",
    revoke_keeps_tokens => "revoke_keeps_tokens",
    request_id_mismatch => "request_id_mismatch",
    limiter_admits_extra => "limiter_admits_extra",
    retry_after_missing => "retry_after_missing",
    limiter_counts_rejected => "limiter_counts_rejected",
}
