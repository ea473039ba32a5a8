//! Latency-proof (issue 10 item 5): every check holds when each request takes 20 to 50 ms.
//! The whole suite, compared with the committed snapshots, runs against a reference
//! server behind the test gateway holding every request that long; it must be
//! CONFORMANT at every level. Checks of time read the server's clock around their
//! requests instead of assuming that none passed between them.
//!
//! The profile's limits are lowered as in `tests/faults.rs` (a profile is data; no check
//! changes): at 20-50 ms a request, the documented limits alone would take two minutes
//! of serial requests without proving more.

mod support;

use std::time::Duration;

use conformance::drivers::Driver;
use conformance::runner;
use conformance::snapshot::SnapshotMode;
use profile::Level;
use support::gateway::{self, GatewayOptions};
use support::suite;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_holds_when_every_request_takes_20_to_50_ms() {
    let mut profile = suite::lowered_profile();
    // The spoofed X-Forwarded-For check's snapshot names one address per request of the
    // first IP limit: that one keeps its documented 10.
    for l in &mut profile.rate_limits {
        if l.endpoint() == Some("device_code") {
            l.max = profile::Profile::punchplay()
                .rate_limit(&l.name)
                .map_or(l.max, |d| d.max);
        }
    }
    // Test controls; the gateway forwards the client's address, which the server trusts,
    // so IP keys stay per check (PP-RATE-4).
    let (server, gw) = gateway::reference_behind(
        reference_server::ServerConfig {
            profile: profile.clone(),
            ..reference_server::ServerConfig::punchplay()
        },
        GatewayOptions::slow(Duration::from_millis(20)..Duration::from_millis(50)),
    )
    .await;
    let env = suite::env(&gw.base_url(), &profile, true, Driver::TestControls, false);
    let checks = conformance::checks::all(&profile);
    let opts = suite::options(SnapshotMode::Compare, 60);
    let mut report = runner::run(env, checks, opts, |_| {}).await;
    server.stop().await;
    report.gate = vec![Level::Must, Level::Should, Level::Decided];
    assert!(report.conformant(), "{:#?}", suite::outcomes(&report, true));
}
