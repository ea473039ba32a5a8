//! Proof that the flexslot suite notices the server's faults (issue 9 item 2): for every
//! named fault that bends a flexslot rule (the `fx_` faults of /work/notes/FX_FAULTS.md and
//! the generic ones that bend the same component in flexslot), a flexslot server of its
//! own with the fault switched on, the whole suite against it with the committed snapshots
//! compared, and the assertion that the checks failing are exactly those of the FX clause
//! the fault breaks (issue 18 item 4: one defect, one failing clause), every error naming
//! it as its root; and the suite passes with every fault off. A generic fault's own clause
//! id stays punchplay's (`Fault::clause`), so the FX clause it breaks is written here.

mod support;

use conformance::drivers::Driver;
use conformance::runner::{RunReport, Status};
use reference_server::Fault;
use support::flexslot as fx;

async fn run_suite(fault: Option<Fault>) -> RunReport {
    fx::serve_and_run(fx::fixtures(), fault, true, Driver::TestControls, true).await
}

async fn suite_catches(name: &str, clause: &str) {
    let fault: Fault = name.parse().expect("a fault of the reference server");
    let report = run_suite(Some(fault)).await;
    let what = format!("with `{name}` ({}) on", fault.description());
    support::suite::assert_fails_exactly(&report, &[clause], &what);
    support::suite::assert_failures_cite_the_family(&report, &fx::profile());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_with_every_fault_off() {
    let report = run_suite(None).await;
    support::deployment::assert_every_check_is(&report, &[Status::Pass]);
}

macro_rules! faults {
    ($($test:ident => $name:literal, $clause:literal;)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                suite_catches($name, $clause).await;
            }
        )*

        #[test]
        fn every_flexslot_fault_of_the_server_is_listed() {
            let listed: Vec<&str> = vec![$($name),*];
            let missing: Vec<&str> = Fault::ALL
                .iter()
                .map(|f| f.name())
                .filter(|n| n.starts_with("fx_") && !listed.contains(n))
                .collect();
            assert!(missing.is_empty(), "tests/flexslot_faults.rs must list {missing:?}");
            for name in listed {
                let fault: Fault = name.parse().expect("listed faults exist");
                if name.starts_with("fx_") {
                    assert!(fault.clause().starts_with("FX-"), "{name}: {}", fault.clause());
                }
            }
        }
    };
}

faults! {
    fx_body_credentials_accepted => "fx_body_credentials_accepted", "FX-TOKEN-3";
    fx_basic_challenge_missing => "fx_basic_challenge_missing", "FX-TOKEN-3";
    fx_code_outlives_60s => "fx_code_outlives_60s", "FX-TOKEN-4";
    fx_redirect_uri_mismatch_accepted => "fx_redirect_uri_mismatch_accepted", "FX-TOKEN-2";
    fx_json_body_accepted => "fx_json_body_accepted", "FX-TOKEN-1";
    fx_grant_types_ignored => "fx_grant_types_ignored", "FX-TOKEN-5";
    fx_unknown_scope_granted => "fx_unknown_scope_granted", "FX-TOKEN-7";
    fx_revoke_unknown_400 => "fx_revoke_unknown_400", "FX-REVOKE-1";
    fx_revoked_token_active => "fx_revoked_token_active", "FX-INTRO-1";
    fx_error_state_dropped => "fx_error_state_dropped", "FX-AUTHZ-1";
    fx_bearer_challenge_missing => "fx_bearer_challenge_missing", "FX-RS-1";
    replay_not_revoking => "replay_not_revoking", "FX-TOKEN-4";
    // The fault honours a rotated token again for 2 s, sequential reuse included: FX-TOKEN-4's
    // "a refresh token already rotated → invalid_grant", which the race presumes (tests/faults.rs).
    refresh_race => "refresh_race", "FX-TOKEN-4";
    open_redirect => "open_redirect", "FX-AUTHZ-2";
    wrong_grant_type_error => "wrong_grant_type_error", "FX-TOKEN-6";
    verifier_ignored => "verifier_ignored", "FX-TOKEN-4";
    code_reusable => "code_reusable", "FX-TOKEN-4";
    plain_pkce_accepted => "plain_pkce_accepted", "FX-AUTHZ-1";
    expired_token_accepted => "expired_token_accepted", "FX-RS-1";
    scope_check_skipped => "scope_check_skipped", "FX-RS-1";
    inactive_app_allowed => "inactive_app_allowed", "FX-TOKEN-3";
    secret_not_checked => "secret_not_checked", "FX-TOKEN-3";
}
