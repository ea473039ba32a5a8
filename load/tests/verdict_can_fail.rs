//! The verdict is not a test that cannot fail: with a rate-limit defect switched on in
//! the reference server (`POST /__test/fault`), the limit must be reported as broken, for
//! the right reason.

use load::{LimitVerdict, LoadOptions, run};

async fn public_user_with(fault: &str, windows: usize) -> LimitVerdict {
    let report = run(LoadOptions {
        limit: Some("public-user".into()),
        windows,
        reports_dir: None,
        print: false,
        fault: Some(fault.into()),
        ..LoadOptions::default()
    })
    .await
    .expect("the run can be made");
    assert!(!report.holds, "{fault}: the run holds");
    report.limits.into_iter().next().unwrap()
}

fn problems(limit: &LimitVerdict) -> Vec<String> {
    limit
        .keys
        .iter()
        .flat_map(|k| k.windows.iter().flat_map(|w| w.problems.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verdict_catches_each_rate_limit_defect() {
    // PP-RATE-1: one admission too many, on every key.
    let v = public_user_with("limiter_admits_extra", 1).await;
    assert!(!v.holds);
    assert!(v.keys.iter().all(|k| !k.holds));
    assert!(
        v.keys.iter().all(|k| k.windows[0].admitted == v.max + 1),
        "{:?}",
        problems(&v)
    );

    // PP-RATE-2: refusals without Retry-After.
    let v = public_user_with("retry_after_missing", 1).await;
    let p = problems(&v);
    assert!(p.iter().any(|p| p.contains("no Retry-After")), "{p:#?}");

    // PP-RATE-3: refusals counted. The first window's refusals all fall at its burst and
    // leave with it; the not-before refusal, sent late in the window, still fills a place
    // when the second window opens, which then admits one less than its room.
    let v = public_user_with("limiter_counts_rejected", 2).await;
    let p = problems(&v);
    assert!(v.keys.iter().all(|k| k.windows[0].holds()), "{p:#?}");
    assert!(
        p.iter()
            .any(|p| p.contains("admitted 58 of") && p.contains("room for exactly 59")),
        "{p:#?}"
    );
}
