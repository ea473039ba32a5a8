//! The right app or a skip: with credentials that lack the optional apps and users (the
//! narrow public app, the deactivated app, the second user), every check that needs one
//! is skipped with the reason, and no check falls back to another app and fails on a
//! snapshot recorded with the right one.

mod support;

use conformance::drivers::Driver;
use conformance::runner::Status;
use profile::{Identities, Profile};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_whose_app_or_user_is_missing_skip_with_the_reason() {
    let server = reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    // Only what every run needs: the web app, the device app, one user.
    let mut ids = Identities::punchplay();
    ids.apps
        .retain(|a| a.client_id == "pp-web" || a.client_id == "pp-tv");
    ids.users.truncate(1);
    let checks = conformance::checks::all(&Profile::punchplay());
    let report =
        support::deployment::run_checks(&server.base_url(), ids, Driver::TestControls, checks)
            .await;
    server.stop().await;

    support::deployment::assert_every_check_is(&report, &[Status::Pass, Status::Skip]);
    let skip_reason = |id: &str| {
        let c = report
            .checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("{id} ran"));
        assert_eq!(c.status, Status::Skip, "{id}: {:?}", c.message);
        c.message.clone().unwrap_or_default()
    };
    for id in [
        "PP-AUTHZ-2/approval-page-shows-app-and-scopes",
        "PP-SCOPE-2/omitted-scope-grants-allowed-scopes",
        "PP-SCOPE-3/device-code-with-unknown-scope-is-invalid-scope",
    ] {
        assert!(skip_reason(id).contains("fewer scopes"), "{id}");
    }
    for id in [
        "PP-APP-4/inactive-app-is-unauthorized-client",
        "PP-AUTHZ-4/inactive-app-redirects-unauthorized-client",
    ] {
        assert!(skip_reason(id).contains("deactivated app"), "{id}");
    }
    for id in [
        "PP-PUBLIC-1/user-profile-needs-no-token",
        "PP-REVOKE-1/connected-apps-revoke-ends-every-token",
    ] {
        assert!(skip_reason(id).contains("second test user"), "{id}");
    }
    // Most of the suite still runs and passes.
    let passed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Pass)
        .count();
    assert!(passed * 10 >= report.checks.len() * 8, "{passed} passed");
}
