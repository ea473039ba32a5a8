//! `load --profile enterprise`: the `/api/*` limit (EN-RATE-1) holds exactly, per source
//! address, against the in-process reference server and against a `--target`; and the
//! verdict fails, quoting EN-RATE-1, when the server admits one too many or leaves out
//! Retry-After.

use load::verdict::WindowKind;
use load::{LimitVerdict, LoadOptions, run};
use profile::{Identities, Profile};

fn enterprise() -> (Profile, Identities) {
    let builtin = profile::builtin::find("enterprise").expect("enterprise is built in");
    (builtin.profile(), builtin.identities())
}

fn options(windows: usize) -> LoadOptions {
    let (profile, identities) = enterprise();
    LoadOptions {
        windows,
        reports_dir: None,
        print: false,
        profile,
        identities,
        ..LoadOptions::default()
    }
}

fn problems(limit: &LimitVerdict) -> Vec<String> {
    limit
        .keys
        .iter()
        .flat_map(|k| k.windows.iter().flat_map(|w| w.problems.clone()))
        .chain(limit.problems.iter().cloned())
        .collect()
}

fn assert_holds_exactly(limit: &LimitVerdict, windows: usize) {
    assert!(limit.holds, "{:#?}", problems(limit));
    assert_eq!(limit.limit, "api");
    assert_eq!(limit.path, "/api/tags");
    assert_eq!(limit.windows_checked, windows);
    assert!(limit.keys.len() >= 8, "one key per source address");
    for key in &limit.keys {
        for w in &key.windows {
            assert_eq!(w.first_span_admitted, limit.max, "{}", key.key);
            assert_eq!(w.kind, WindowKind::Sliding, "{}", key.key);
            assert!(w.refused > 0, "{}: the burst went over the limit", key.key);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_limit_holds_exactly_over_windows() {
    let report = run(options(2)).await.expect("the run can be made");
    assert_eq!(report.limits.len(), 1, "enterprise has one limit");
    assert_holds_exactly(&report.limits[0], 2);
}

/// The same verdict against a server named with `--target` (test controls detected).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_limit_holds_against_a_target() {
    let (profile, identities) = enterprise();
    let server = reference_server::spawn(reference_server::ServerConfig {
        profile,
        identities,
        test_controls: true,
        ..reference_server::ServerConfig::enterprise()
    })
    .await
    .unwrap();
    let report = run(LoadOptions {
        target: Some(server.base_url().parse().unwrap()),
        ..options(1)
    })
    .await
    .expect("the run can be made");
    assert_holds_exactly(&report.limits[0], 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_admitting_one_too_many_or_omitting_retry_after_fails() {
    let with = |fault: &str| LoadOptions {
        fault: Some(fault.into()),
        ..options(1)
    };
    let report = run(with("limiter_admits_extra")).await.unwrap();
    assert!(!report.holds);
    let v = &report.limits[0];
    assert!(
        v.keys
            .iter()
            .all(|k| k.windows[0].first_span_admitted == v.max + 1)
    );
    let p = problems(v);
    assert!(
        !p.is_empty()
            && p.iter()
                .all(|p| p.starts_with("EN-RATE-1: admitted 61 within")),
        "{p:#?}"
    );

    let report = run(with("retry_after_missing")).await.unwrap();
    assert!(!report.holds);
    let p = problems(&report.limits[0]);
    assert!(p.iter().any(|p| p.contains("no Retry-After")), "{p:#?}");
}

/// Without an app that can read the route, the run says what the credentials lack.
#[tokio::test]
async fn credentials_without_a_reading_app_are_refused_with_the_reason() {
    let (profile, mut identities) = enterprise();
    identities.apps.retain(|a| a.company.is_none());
    let error = run(LoadOptions {
        identities,
        profile,
        ..options(1)
    })
    .await
    .expect_err("no app can read /api/tags");
    let text = error.to_string();
    assert!(text.contains("linked to a company"), "{text}");
}
