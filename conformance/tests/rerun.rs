//! Re-runnable (issue 10 item 4): the same target checked twice in a row gives the same
//! verdict. Nothing a check sends collides with what an earlier run sent, and a key an
//! earlier run still spends is found before its checks: they are skipped with the time
//! left (or wait, with --allow-slow), never failed or errored.

mod support;

use conformance::drivers::Driver;
use conformance::runner::{self, Status};
use conformance::snapshot::SnapshotMode;
use profile::{Level, Profile};
use support::suite;

/// The whole suite twice against one reference server with test controls, no reset in
/// between, each compared with the committed snapshots: CONFORMANT both times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_suite_twice_against_one_server_is_conformant_twice() {
    let server = suite::reference(&Profile::punchplay(), true, false).await;
    for run in ["first", "second"] {
        let profile = Profile::punchplay();
        let env = suite::env(
            &server.base_url(),
            &profile,
            true,
            Driver::TestControls,
            false,
        );
        let checks = conformance::checks::all(&profile);
        let opts = suite::options(SnapshotMode::Compare, 30);
        let mut report = runner::run(env, checks, opts, |_| {}).await;
        report.gate = vec![Level::Must, Level::Should, Level::Decided];
        assert!(
            report.conformant(),
            "the {run} run is not conformant: {:#?}",
            suite::outcomes(&report, true)
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
    let server = suite::reference(&profile, false, false).await;
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
        let env = suite::env(&server.base_url(), &profile, false, Driver::Pages, false);
        let checks = playback_checks(&profile);
        let opts = suite::options(SnapshotMode::Off, 30);
        let mut report = runner::run(env, checks, opts, |_| {}).await;
        report.gate = vec![Level::Must, Level::Should, Level::Decided];
        assert!(report.conformant(), "{:#?}", suite::outcomes(&report, true));
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

/// With `--allow-slow`, the same situation waits instead: the plan lists the wait before
/// the first check (as the report's notes do), the progress counts it down, and the
/// checks then run and pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_allow_slow_a_limit_spent_by_the_previous_run_is_waited_out() {
    let mut profile = Profile::punchplay();
    for l in &mut profile.rate_limits {
        if l.name == "playback" {
            // A short window keeps the real-time wait to a few seconds.
            l.max = 30;
            l.window_secs = 4;
        }
    }
    let server = suite::reference(&profile, false, false).await;
    // The first run spends the key (the refusal-shape check stops at the first 429); the
    // second runs the count check on it.
    let only = |id: &str| {
        conformance::checks::all(&profile)
            .into_iter()
            .filter(|c| c.id == id)
            .collect::<Vec<_>>()
    };
    let env = suite::env(&server.base_url(), &profile, false, Driver::Pages, false);
    let spend = only("PP-RATE-2/playback-refusal-is-rate-limited-with-request-id");
    let first = runner::run(env, spend, suite::options(SnapshotMode::Off, 30), |_| {}).await;
    assert_eq!(
        first.checks[0].status,
        Status::Pass,
        "{:#?}",
        suite::outcomes(&first, false)
    );

    let env = suite::env(&server.base_url(), &profile, false, Driver::Pages, true);
    let mut planned = None;
    let mut countdown = Vec::new();
    let count = only("PP-RATE-1/playback-admits-the-documented-number");
    let second = runner::run(
        env,
        count,
        suite::options(SnapshotMode::Off, 30),
        |ev| match ev {
            runner::Event::Planned(plan) => planned = Some(plan.clone()),
            runner::Event::Waiting(waits) => countdown.extend(waits.iter().cloned()),
            _ => {}
        },
    )
    .await;
    server.stop().await;
    let plan = planned.expect("the plan comes first");
    let before = plan
        .waits
        .iter()
        .find(|w| w.what == runner::BEFORE_THE_FIRST_CHECK)
        .expect("the plan lists the wait before the first check");
    assert!((1..=4).contains(&before.secs), "{:?}", plan.waits);
    assert_eq!(
        second.notes,
        plan.wait_lines(),
        "the report's waits are the plan's"
    );
    assert!(
        countdown
            .iter()
            .any(|(what, _)| what == runner::BEFORE_THE_FIRST_CHECK),
        "the wait is counted down: {countdown:?}"
    );
    assert_eq!(
        second.checks[0].status,
        Status::Pass,
        "{:#?}",
        suite::outcomes(&second, false)
    );
}
