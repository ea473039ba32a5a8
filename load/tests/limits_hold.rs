//! The CI run: all six limits of the punchplay profile, one window each, against the
//! in-process reference server, under 64 concurrent goose users per limit.

use std::time::Instant;

use load::verdict::WindowKind;
use load::{LoadOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_limit_holds_exactly_for_one_window() {
    let reports = std::env::temp_dir().join(format!("load-limits-hold-{}", std::process::id()));
    let started = Instant::now();
    let report = run(LoadOptions {
        windows: 1,
        reports_dir: Some(reports.clone()),
        print: false,
        ..LoadOptions::default()
    })
    .await
    .expect("the run can be made");
    let elapsed = started.elapsed();

    let names: Vec<&str> = report.limits.iter().map(|l| l.limit.as_str()).collect();
    assert_eq!(
        names,
        [
            "device-code",
            "device-token",
            "refresh",
            "token",
            "playback",
            "public-user"
        ]
    );
    for limit in &report.limits {
        let failures: Vec<String> = limit
            .keys
            .iter()
            .flat_map(|k| {
                k.windows
                    .iter()
                    .flat_map(move |w| w.problems.iter().map(move |p| format!("{}: {p}", k.key)))
            })
            .chain(limit.problems.iter().cloned())
            .collect();
        assert!(limit.holds, "{} does not hold: {failures:#?}", limit.limit);
        assert_eq!(limit.windows_checked, 1, "{}", limit.limit);
        assert!(limit.users >= 64);
        for key in &limit.keys {
            let w = &key.windows[0];
            assert_eq!(
                w.first_span_admitted, limit.max,
                "{} {}",
                limit.limit, key.key
            );
            assert_eq!(w.kind, WindowKind::Sliding, "{} {}", limit.limit, key.key);
            assert!(
                w.refused > 0,
                "{} {}: the burst went over the limit",
                limit.limit,
                key.key
            );
        }
        for ext in ["html", "json", "md"] {
            // Each run writes its own folder; `latest` points at it.
            let file = reports
                .join("latest")
                .join(format!("{}.{ext}", limit.limit));
            assert!(file.is_file(), "goose wrote no {}", file.display());
        }
    }
    // Keys are real: several source addresses, clients and users.
    let keys = |name: &str| {
        report
            .limits
            .iter()
            .find(|l| l.limit == name)
            .unwrap()
            .keys
            .len()
    };
    assert!(keys("public-user") >= 8);
    assert!(keys("token") >= 9, "every client on several addresses");
    assert_eq!(keys("playback"), 2, "alice and bob");

    let verdict: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("latest").join("verdict.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(verdict["holds"], true);
    let _ = std::fs::remove_dir_all(&reports);
    eprintln!(
        "six limits, one window each, in {:.1} s",
        elapsed.as_secs_f64()
    );
}
