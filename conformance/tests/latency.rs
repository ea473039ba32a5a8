//! Latency-proof (issue 10 item 5): every check holds when each request takes 20 to 50 ms.
//! The whole suite, compared with the committed snapshots, runs against a reference
//! server behind the test gateway holding every request that long; it must be
//! CONFORMANT at every level. Checks of time read the server's clock around their
//! requests instead of assuming that none passed between them.
//!
//! The profile's limits are lowered much as in `tests/faults.rs` (a profile is data; no
//! check changes): at 20-50 ms a request, the documented limits alone would take two minutes of
//! serial requests without proving more.

mod support;

use std::sync::Arc;
use std::time::Duration;

use conformance::check::Env;
use conformance::client::HttpOptions;
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::runner::{self, RunOptions};
use conformance::snapshot::{SnapshotMode, SnapshotStore};
use profile::{Identities, Level, LimitKey, Profile};
use support::gateway::{self, GatewayOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_holds_when_every_request_takes_20_to_50_ms() {
    let mut profile = Profile::punchplay();
    for l in &mut profile.rate_limits {
        l.max = match (l.key, l.endpoint.as_str()) {
            (LimitKey::User, _) => l.max.min(60),
            (_, "token") => l.max.min(8),
            // The spoofed X-Forwarded-For check's snapshot names one address per request
            // of the first IP limit: that one keeps its documented 10.
            (_, "device_code") => l.max,
            _ => l.max.min(4),
        };
    }
    let server = reference_server::spawn(reference_server::ServerConfig {
        profile: profile.clone(),
        test_controls: true,
        // The gateway forwards the client's address: IP keys stay per check (PP-RATE-4).
        trust_proxy: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    let gw = gateway::start(
        &server.base_url(),
        GatewayOptions::slow(Duration::from_millis(20)..Duration::from_millis(50)),
    )
    .await;
    let http = HttpOptions {
        base: url::Url::parse(&gw.base_url()).expect("a URL"),
        timeout: Duration::from_secs(10),
        request_id_header: profile.request_id.header.clone(),
    };
    let env = Env::new(
        profile,
        Identities::punchplay(),
        http,
        true,
        Driver::TestControls,
        false,
    );
    let env = Arc::new(env.expect("the fixtures fill every role"));
    let checks = conformance::checks::all(&env.profile);
    let opts = RunOptions {
        concurrency: 8,
        check_timeout: Duration::from_secs(60),
        snapshots: SnapshotStore {
            dir: conformance::cli::default_snapshot_dir("punchplay"),
            mode: SnapshotMode::Compare,
        },
        expected: Expected::default(),
    };
    let mut report = runner::run(env, checks, opts, |_| {}).await;
    server.stop().await;
    report.gate = vec![Level::Must, Level::Should, Level::Decided];
    let bad: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status.is_bad())
        .map(|c| (&c.id, c.status, &c.message))
        .collect();
    assert!(report.conformant(), "{bad:#?}");
}
