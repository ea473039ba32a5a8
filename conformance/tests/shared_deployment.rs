//! Runs that share a deployment (issue 18 item 7a): two CI pipelines gating on one
//! staging deployment is ordinary. Three suites at once against one reference server,
//! approving through its pages and without test controls (as the report did),
//! each give the verdicts a lone run gives: every check ends as it ends alone. They act
//! as the same users; each check judges only its own items and ids, and an attempt
//! another run spoiled is made again.
//!
//! The server's per-user playback limit is raised: three runs' playback checks together
//! send more than one user's 120 per 5 minutes, and the 429s they would get are the
//! documented limit working, which every run reports as an error, not a failure. The
//! exhausting rate checks are left out: each waits out its window (10 s without
//! `--allow-slow`), and the rate tests judge them.

mod support;

use conformance::check::Schedule;
use conformance::drivers::Driver;
use conformance::runner::{self, RunReport, Status};
use conformance::snapshot::SnapshotMode;
use profile::{Level, Profile};
use support::suite;

/// The punchplay profile with room for three runs' playback on one user.
fn shared_profile() -> Profile {
    let mut p = Profile::punchplay();
    for l in &mut p.rate_limits {
        if l.name == "playback" {
            l.max = 1000;
        }
    }
    p
}

async fn run_one(base: &str, profile: &Profile) -> RunReport {
    let env = suite::env(base, profile, false, Driver::Pages, false);
    let checks = conformance::checks::all(profile)
        .into_iter()
        .filter(|c| c.schedule != Schedule::Exhausting)
        .collect();
    let mut report = runner::run(
        env,
        checks,
        suite::options(SnapshotMode::Compare, 60),
        |_| {},
    )
    .await;
    report.gate = vec![Level::Must, Level::Should, Level::Decided];
    report
}

fn statuses(report: &RunReport) -> Vec<(String, Status)> {
    report
        .checks
        .iter()
        .map(|c| (c.id.clone(), c.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_runs_at_once_give_the_verdicts_of_a_lone_run() {
    let profile = shared_profile();
    let alone = suite::reference(&profile, false, false).await;
    let lone = run_one(&alone.base_url(), &profile).await;
    alone.stop().await;
    assert!(
        lone.conformant(),
        "a lone run fails: {:#?}",
        suite::outcomes(&lone, true)
    );

    let shared = suite::reference(&profile, false, false).await;
    let base = shared.base_url();
    let (a, b, c) = tokio::join!(
        run_one(&base, &profile),
        run_one(&base, &profile),
        run_one(&base, &profile)
    );
    shared.stop().await;
    for (n, report) in [a, b, c].iter().enumerate() {
        let differing: Vec<String> = statuses(report)
            .into_iter()
            .zip(statuses(&lone))
            .filter(|(shared, alone)| shared != alone)
            .map(|((id, got), (_, want))| {
                let (message, transcript) = report
                    .checks
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| (c.message.clone().unwrap_or_default(), c.transcript.clone()))
                    .unwrap_or_default();
                format!("{id}: {got:?} where a lone run gives {want:?}: {message}\n{transcript}")
            })
            .collect();
        assert!(
            differing.is_empty(),
            "run {} of three at once:\n{}",
            n + 1,
            differing.join("\n")
        );
    }
}
