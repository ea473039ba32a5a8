//! Skip before sending (issue 18 item 5): against a target without test controls and
//! without `--allow-slow`, a check that needs either is skipped before it sends anything,
//! with the reason, and is never FAIL or ERROR; every other check passes.

mod support;

use conformance::check::Schedule;
use conformance::drivers::Driver;
use conformance::runner::{self, Status};
use conformance::snapshot::SnapshotMode;
use profile::Profile;
use support::suite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn punchplay_without_test_controls_skips_before_sending_and_nothing_fails() {
    let profile = Profile::punchplay();
    let server = suite::reference(&profile, false, false).await;
    let env = suite::env(&server.base_url(), &profile, false, Driver::Pages, false);
    // The limit checks exhaust their limits and watch a window for ten seconds each
    // without clock control: the rate tests judge them (tests/rate_limiters.rs).
    let checks = conformance::checks::all(&profile)
        .into_iter()
        .filter(|c| c.schedule != Schedule::Exhausting)
        .collect();
    let report = runner::run(
        env,
        checks,
        suite::options(SnapshotMode::Compare, 30),
        |_| {},
    )
    .await;
    server.stop().await;
    support::deployment::assert_every_check_is(&report, &[Status::Pass, Status::Skip]);
    support::deployment::assert_skips_sent_nothing(&report);
    let reason = |id: &str| {
        let c = report.checks.iter().find(|c| c.id == id).expect("ran");
        assert_eq!(c.status, Status::Skip, "{id}");
        c.message.clone().unwrap_or_default()
    };
    assert!(reason("PP-REFRESH-5/refresh-token-idles-out").contains("--allow-slow"));
    assert!(reason("PP-API-1/expired-access-token-is-invalid-token").contains("--allow-slow"));
    assert!(reason("PP-ERR-3/temporary-failure-is-500-server-error").contains("test controls"));
}
