//! Issue 22 item 3: the suite breaks the client rules the reference server judges only on
//! purpose. Each family's whole suite runs against a reference server with test controls,
//! client observation on and the tool's traffic not excluded; the set of (rule, client)
//! findings it leaves must be exactly the table of each family, each row naming the check
//! that breaks that rule deliberately. A check that starts breaking another rule by
//! accident (a repeated made-up credential, an early device poll, a replay sent as a race)
//! fails here.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use conformance::check::Env;
use conformance::client::HttpOptions;
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::runner::{self, RunOptions, RunReport};
use conformance::snapshot::{SnapshotMode, SnapshotStore};
use profile::{Identities, Level, Profile};
use support::suite;

type Table = BTreeSet<(String, String)>;

/// The (rule, client) pairs of every finding the server recorded.
fn found(server: &reference_server::RunningServer) -> Table {
    server
        .client_findings(None)
        .iter()
        .map(|f| {
            (
                f.rule.id.to_string(),
                f.client_id.as_deref().unwrap_or("(no client)").to_string(),
            )
        })
        .collect()
}

/// A table of (rule, client) rows.
fn table(rows: &[(&str, &str)]) -> Table {
    rows.iter()
        .map(|(r, c)| (r.to_string(), c.to_string()))
        .collect()
}

/// The run passed (a finding is worth nothing from a failing check), and its findings are
/// exactly `want`; on a difference, every finding with its detail.
fn assert_findings(server: &reference_server::RunningServer, report: &RunReport, want: Table) {
    assert!(
        report.conformant(),
        "the run is not conformant: {:#?}",
        suite::outcomes(report, true)
    );
    let got = found(server);
    // Each finding's requests as the recorder has them, to find the check that sent them.
    let recorded = server.received_requests(None);
    let request = |id: &str| {
        recorded
            .iter()
            .find(|e| &*e.finding_id() == id)
            .map_or(id.to_string(), |e| {
                format!(
                    "{} {} {} {:?} at {}",
                    e.method, e.path, e.status, e.error, e.at
                )
            })
    };
    let details: Vec<String> = server
        .client_findings(None)
        .iter()
        .map(|f| {
            let requests: Vec<String> =
                f.request_ids.iter().take(4).map(|id| request(id)).collect();
            format!(
                "{} {:?} x{}: {}\n    {}",
                f.rule.id,
                f.client_id,
                f.occurrences,
                f.detail,
                requests.join("\n    ")
            )
        })
        .collect();
    assert_eq!(got, want, "findings:\n{}", details.join("\n"));
}

/// Runs every check of `profile` against `server` with its test controls, one check at a
/// time: the checks share the server's clock, and another check moving it between the
/// requests of a race (or a replay's two uses) would change which rule they break.
async fn run_suite(
    server: &reference_server::RunningServer,
    profile: &Profile,
    ids: Identities,
) -> RunReport {
    let http = HttpOptions {
        base: url::Url::parse(&server.base_url()).expect("a URL"),
        timeout: Duration::from_secs(10),
        request_id_header: profile
            .request_id()
            .map(|r| r.header.clone())
            .unwrap_or_default(),
    };
    let env = Env::new(
        profile.clone(),
        ids,
        http,
        true,
        Driver::TestControls,
        false,
    )
    .expect("the fixtures fill every role");
    let opts = RunOptions {
        concurrency: 1,
        check_timeout: Duration::from_secs(30),
        snapshots: SnapshotStore {
            dir: conformance::cli::default_snapshot_dir(&profile.name),
            mode: SnapshotMode::Off,
        },
        expected: Expected::default(),
    };
    let checks = conformance::checks::all(profile);
    let mut report = runner::run(Arc::new(env), checks, opts, |_| {}).await;
    report.gate = Level::ALL.to_vec();
    report
}

async fn serve(config: reference_server::ServerConfig) -> reference_server::RunningServer {
    reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        ..config
    })
    .await
    .expect("the reference server starts")
}

/// Runs the built-in `family`'s whole suite against a reference server started from
/// `config` with the family's profile and fixtures, and asserts its findings are `want`.
async fn suite_leaves(family: &str, config: reference_server::ServerConfig, want: Table) {
    let b = profile::builtin::find(family).expect("a built-in family");
    let server = serve(reference_server::ServerConfig {
        profile: b.profile(),
        identities: b.identities(),
        ..config
    })
    .await;
    let report = run_suite(&server, &b.profile(), b.identities()).await;
    assert_findings(&server, &report, want);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_punchplay_suite_breaks_only_the_rules_it_means_to() {
    suite_leaves(
        "punchplay",
        reference_server::ServerConfig::punchplay(),
        table(&[
            // PP-AUTHZ-6/plain-or-missing-challenge-is-invalid-request.
            ("pkce-s256", "pp-web"),
            // PP-AUTHZ-7/code-is-bound-to-client-and-redirect-uri.
            ("redirect-uri-mismatch", "pp-web"),
            // PP-APP-3/public-client-sending-secret-is-invalid-client.
            ("public-client-secret", "pp-tv"),
            // PP-API-8/query-string-token-is-refused: a made-up token names no client.
            ("credentials-in-query", "(no client)"),
            // PP-REFRESH-3/replay-revokes-the-grant, more than a second after the rotation.
            ("refresh-replay", "pp-web"),
            // PP-REFRESH-4/concurrent-refreshes-exactly-one-wins, and
            // PP-REFRESH-2/spent-refresh-token-is-invalid-grant, which reuses the token at
            // once (what a reuse grace, fault `refresh_race`, would honour).
            ("concurrent-refresh", "pp-web"),
            // The PP-RATE checks keep asking after a 429 (PP-RATE-1's admitted count over
            // the rest of the window, PP-RATE-3 just before Retry-After): the device app's
            // limits (device code, device token, refresh), the web app's token limit and the
            // per-user playback limit, and the public profile's per-IP limit (no client).
            ("retry-after", "pp-tv"),
            ("retry-after", "pp-web"),
            ("retry-after", "(no client)"),
        ]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_flexslot_suite_breaks_only_the_rules_it_means_to() {
    suite_leaves(
        "flexslot",
        reference_server::ServerConfig::punchplay(),
        table(&[
            // FX-AUTHZ-1/missing-code-challenge-…, plain-challenge-method-… and
            // challenge-without-method-redirects-invalid-request.
            ("pkce-s256", "fx-web"),
            // FX-TOKEN-2/redirect-uri-differing-from-authorize-is-invalid-request-or-invalid-grant.
            ("redirect-uri-mismatch", "fx-web"),
            // FX-TOKEN-4/replaying-a-rotated-refresh-token-revokes-the-grant, more than a
            // second after the rotation.
            ("refresh-replay", "fx-web"),
            // FX-TOKEN-8/concurrent-refreshes-one-wins-and-the-grant-is-revoked, and
            // FX-TOKEN-4/rotated-refresh-token-is-invalid-grant, which reuses the token at
            // once (what a reuse grace, fault `refresh_race`, would honour).
            ("concurrent-refresh", "fx-web"),
        ]),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_enterprise_suite_breaks_only_the_rules_it_means_to() {
    suite_leaves(
        "enterprise",
        reference_server::ServerConfig::enterprise(),
        table(&[
            // The EN-RATE-1 checks keep asking after a 429: as the app, and with tokens
            // that name no client.
            ("retry-after", "en-acme"),
            ("retry-after", "(no client)"),
        ]),
    )
    .await;
}
