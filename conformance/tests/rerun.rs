//! Re-runnable (issue 10 item 4): the same target checked twice in a row gives the same
//! verdict. Nothing a check sends collides with what an earlier run sent, and a key an
//! earlier run still spends is found before its checks: they are skipped with the time
//! left (or wait, with --allow-slow), never failed or errored.

use std::sync::Arc;
use std::time::Duration;

use conformance::check::Env;
use conformance::client::HttpOptions;
use conformance::drivers::Driver;
use conformance::expected::Expected;
use conformance::runner::{self, RunOptions, RunReport, Status};
use conformance::snapshot::{SnapshotMode, SnapshotStore};
use profile::{Identities, Level, Profile};

fn options(mode: SnapshotMode) -> RunOptions {
    RunOptions {
        concurrency: 8,
        check_timeout: Duration::from_secs(30),
        snapshots: SnapshotStore {
            dir: conformance::cli::default_snapshot_dir("punchplay"),
            mode,
        },
        expected: Expected::default(),
    }
}

fn bad(report: &RunReport) -> Vec<(String, Status, String)> {
    report
        .checks
        .iter()
        .filter(|c| c.status.is_bad())
        .map(|c| {
            (
                c.id.clone(),
                c.status,
                c.message.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// The whole suite twice against one reference server with test controls, no reset in
/// between, each compared with the committed snapshots: CONFORMANT both times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_twice_against_one_server_is_conformant_twice() {
    let server = reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    for run in ["first", "second"] {
        let env = Arc::new(
            conformance::cli::reference_env(&server.base_url())
                .expect("the fixtures fill every role"),
        );
        let checks = conformance::checks::all(&env.profile);
        let mut report = runner::run(env, checks, options(SnapshotMode::Compare), |_| {}).await;
        report.gate = vec![Level::Must, Level::Should, Level::Decided];
        assert!(
            report.conformant(),
            "the {run} run is not conformant: {:#?}",
            bad(&report)
        );
    }
    server.stop().await;
}

/// Without clock control, a first run exhausts the user-keyed playback limit (its key is
/// shared by every check). A second run right after finds it still spent before any check
/// and skips the checks that need it, saying when it reopens: the verdict is the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_spent_by_the_previous_run_is_skipped_with_the_time_left() {
    let mut profile = Profile::punchplay();
    for l in &mut profile.rate_limits {
        if l.name == "playback" {
            // Fewer requests for a shorter test; the window stays long enough to still
            // be spent when the second run starts.
            l.max = 30;
        }
    }
    let server = reference_server::spawn(reference_server::ServerConfig {
        profile: profile.clone(),
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    let playback_checks = |profile: &Profile| {
        conformance::checks::all(profile)
            .into_iter()
            .filter(|c| {
                c.exhausts == Some("playback") || c.budget.iter().any(|(l, _)| *l == "playback")
            })
            .collect::<Vec<_>>()
    };
    let mut reports = Vec::new();
    for _ in 0..2 {
        let http = HttpOptions {
            base: url::Url::parse(&server.base_url()).expect("a URL"),
            timeout: Duration::from_secs(10),
            request_id_header: profile.request_id.header.clone(),
        };
        let env = Env::new(
            profile.clone(),
            Identities::punchplay(),
            http,
            false,
            Driver::Pages,
            false,
        )
        .expect("the fixtures fill every role");
        let env = Arc::new(env);
        let checks = playback_checks(&profile);
        let mut report = runner::run(env, checks, options(SnapshotMode::Off), |_| {}).await;
        report.gate = vec![Level::Must, Level::Should, Level::Decided];
        assert!(report.conformant(), "{:#?}", bad(&report));
        reports.push(report);
    }
    server.stop().await;
    let (first, second) = (&reports[0], &reports[1]);
    let exhausting = "PP-RATE-1/playback-admits-the-documented-number";
    assert!(
        first
            .checks
            .iter()
            .any(|c| c.id == exhausting && c.status == Status::Pass),
        "the first run exhausts the playback limit: {:#?}",
        first
            .checks
            .iter()
            .map(|c| (&c.id, c.status, &c.message))
            .collect::<Vec<_>>()
    );
    // Every check that needs the playback limit and passed the first time is skipped
    // the second time, with the reason and the time left.
    let needs_playback: Vec<&'static str> = playback_checks(&profile)
        .iter()
        .filter(|c| {
            c.exhausts == Some("playback")
                || c.budget.iter().any(|(l, n)| *l == "playback" && *n > 0)
        })
        .map(|c| c.id)
        .collect();
    let passed_first: Vec<&str> = first
        .checks
        .iter()
        .filter(|c| c.status == Status::Pass && needs_playback.contains(&c.id.as_str()))
        .map(|c| c.id.as_str())
        .collect();
    assert!(!passed_first.is_empty());
    for id in passed_first {
        let again = second
            .checks
            .iter()
            .find(|c| c.id == id)
            .expect("the same checks run twice");
        let message = again.message.as_deref().unwrap_or_default();
        assert!(
            again.status == Status::Skip
                && message.contains("still spent by traffic before this run")
                && message.contains("reopens in"),
            "{id} on the second run: {:?} {message}",
            again.status
        );
    }
}
