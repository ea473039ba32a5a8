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
        v.keys
            .iter()
            .all(|k| k.windows[0].first_span_admitted == v.max + 1),
        "{:?}",
        problems(&v)
    );
    let p = problems(&v);
    assert!(
        p.iter()
            .all(|p| p.starts_with("PP-RATE-1: admitted 61 within")),
        "{p:#?}"
    );

    // PP-RATE-2: refusals without Retry-After.
    let v = public_user_with("retry_after_missing", 1).await;
    let p = problems(&v);
    assert!(p.iter().any(|p| p.contains("no Retry-After")), "{p:#?}");

    // PP-RATE-3: refusals counted. The burst's refusals still fill places when the early
    // half has left the window, so the slide is refused with room left.
    let v = public_user_with("limiter_counts_rejected", 1).await;
    let p = problems(&v);
    assert!(
        p.iter().all(|p| p.starts_with("PP-RATE-3: refused")
            && p.contains("the first in the slide step")
            && p.contains("while at most 38 had been admitted")),
        "{p:#?}"
    );
}
