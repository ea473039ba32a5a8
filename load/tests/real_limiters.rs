//! The verdict against limiters no one here wrote (issue 11): small in-process servers
//! (`support/limiters.rs`) in real time, on a profile copy whose public-user limit is
//! 20 per 3 s. A sliding log holds; a refilling bucket, an off-by-one log and a limiter
//! keyed on a header the client picks fail PP-RATE-1; a fixed window is told apart from
//! a sliding one (PP-RATE-3, DECIDED: a note, a failure with `--strict`); an exact
//! limiter that answers late is never judged wrong; a server that hangs gives its
//! verdict within the run time and the grace.
//!
//! The runs share two cores with the build, so they take turns (`SERIAL`): each judges
//! real times.

#[path = "support/limiters.rs"]
mod limiters;

use std::time::{Duration, Instant};

use limiters::{Behaviour, Limiter, serve};
use load::cli::{EXIT_DOES_NOT_HOLD, EXIT_HOLDS, EXIT_NOT_JUDGED, exit_code};
use load::run::GRACE;
use load::verdict::{LimitVerdict, Status, WindowKind};
use load::{LoadError, LoadOptions, run};
use profile::Profile;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const LIMIT: &str = "public-user";

fn profile() -> Profile {
    let mut profile = Profile::punchplay();
    let limit = profile
        .rate_limits
        .iter_mut()
        .find(|l| l.name == LIMIT)
        .expect("punchplay has a public-user limit");
    limit.max = 20;
    limit.window_secs = 3;
    profile
}

async fn attempt(
    behaviour: Behaviour,
    run_time: Duration,
    strict: bool,
) -> (Result<load::report::RunReport, LoadError>, f64) {
    let _turn = SERIAL.lock().await;
    let profile = profile();
    let server = serve(&profile, LIMIT, behaviour).await;
    let started = Instant::now();
    let result = run(LoadOptions {
        target: Some(server.base.parse().expect("a URL")),
        limit: Some(LIMIT.into()),
        run_time,
        reports_dir: None,
        print: false,
        profile,
        strict,
        ..LoadOptions::default()
    })
    .await;
    (result, started.elapsed().as_secs_f64())
}

async fn judged(behaviour: Behaviour, strict: bool) -> LimitVerdict {
    let (report, _) = attempt(behaviour, Duration::from_secs(5), strict).await;
    report
        .expect("the run can be made")
        .limits
        .into_iter()
        .next()
        .expect("one limit")
}

fn problems(v: &LimitVerdict) -> Vec<String> {
    v.keys
        .iter()
        .flat_map(|k| k.windows.iter().flat_map(|w| w.problems.clone()))
        .chain(v.problems.iter().cloned())
        .collect()
}

fn notes(v: &LimitVerdict) -> Vec<String> {
    v.keys
        .iter()
        .flat_map(|k| k.windows.iter().flat_map(|w| w.notes.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sliding_log_holds_and_is_seen_to_slide() {
    let v = judged(Behaviour::of(Limiter::SlidingLog), true).await;
    assert_eq!(v.status, Status::Holds, "{:#?}", problems(&v));
    assert_eq!(exit_code(v.status), EXIT_HOLDS);
    assert!(v.windows_judged >= 1);
    let kinds: Vec<WindowKind> = v.keys.iter().map(|k| k.windows[0].kind).collect();
    assert!(kinds.iter().all(|k| *k != WindowKind::Fixed), "{kinds:?}");
    assert!(
        kinds.contains(&WindowKind::Sliding),
        "{kinds:?} {:#?}",
        notes(&v)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_that_refills_during_the_window_fails_pp_rate_1() {
    let v = judged(Behaviour::of(Limiter::RefillingBucket), false).await;
    assert_eq!(v.status, Status::DoesNotHold);
    assert_eq!(exit_code(v.status), EXIT_DOES_NOT_HOLD);
    let p = problems(&v);
    assert!(
        p.iter()
            .any(|p| p.starts_with("PP-RATE-1: admitted")
                && p.contains("where the limit is 20 per 3 s")),
        "{p:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_window_is_told_apart_and_fails_only_with_strict() {
    let v = judged(Behaviour::of(Limiter::FixedFromFirstRequest), false).await;
    assert_eq!(v.status, Status::Holds, "{:#?}", problems(&v));
    assert!(
        v.keys
            .iter()
            .any(|k| k.windows[0].kind == WindowKind::Fixed),
        "{:#?}",
        notes(&v)
    );
    assert!(
        notes(&v)
            .iter()
            .any(|n| n.contains("PP-RATE-3 (DECIDED") && n.contains("a fixed window"))
    );

    let v = judged(Behaviour::of(Limiter::FixedFromFirstRequest), true).await;
    assert_eq!(v.status, Status::DoesNotHold);
    let p = problems(&v);
    assert!(
        p.iter().all(|p| p.starts_with("PP-RATE-3: a fixed window")),
        "{p:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_by_one_and_a_spoofable_key_still_fail() {
    let v = judged(Behaviour::of(Limiter::OffByOne), false).await;
    let p = problems(&v);
    assert!(
        p.iter()
            .any(|p| p.starts_with("PP-RATE-1: admitted 21 within")),
        "{p:#?}"
    );

    let v = judged(Behaviour::of(Limiter::ByForwardedFor), false).await;
    assert_eq!(v.status, Status::DoesNotHold);
    let p = problems(&v);
    assert!(
        p.iter().any(|p| p.starts_with("PP-RATE-1: admitted")),
        "{p:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exact_limiter_that_answers_late_is_never_judged_wrong() {
    let behaviour = Behaviour {
        refusal_delay: Duration::from_millis(2_500),
        ..Behaviour::of(Limiter::SlidingLog)
    };
    let (report, took) = attempt(behaviour, Duration::from_secs(6), true).await;
    let v = &report.expect("the run can be made").limits[0];
    assert_ne!(v.status, Status::DoesNotHold, "{:#?}", problems(v));
    assert!(took <= 6.0 + GRACE.as_secs_f64(), "{took} s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_hangs_gives_its_verdict_within_the_run_time_and_the_grace() {
    let behaviour = Behaviour {
        hang: true,
        ..Behaviour::of(Limiter::SlidingLog)
    };
    let (report, took) = attempt(behaviour, Duration::from_secs(5), false).await;
    let report = report.expect("the run can be made");
    assert!(took <= 5.0 + GRACE.as_secs_f64(), "{took} s");
    assert_eq!(report.status, Status::NotJudged);
    assert_eq!(exit_code(report.status), EXIT_NOT_JUDGED);
    let v = &report.limits[0];
    assert!(
        v.cancelled > 0,
        "requests in flight are counted as cancelled"
    );
    assert!(problems(v).is_empty(), "{:#?}", problems(v));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_answers_nothing_is_reported_within_the_run_time() {
    let behaviour = Behaviour {
        hang_all: true,
        ..Behaviour::of(Limiter::SlidingLog)
    };
    let (report, took) = attempt(behaviour, Duration::from_secs(3), false).await;
    assert!(took <= 3.0 + GRACE.as_secs_f64(), "{took} s");
    let error = report.expect_err("nothing answered");
    assert!(matches!(error, LoadError::NoAnswer(_)), "{error}");
    assert!(error.to_string().contains("--run-time"), "{error}");
}
