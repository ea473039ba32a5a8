//! Against a server without test controls the windows pass in real time, as many as the
//! run time allows, and the verdict says how many it observed. A profile with a
//! three-second window keeps this short.

use std::time::Duration;

use load::verdict::ClockMode;
use load::{LoadOptions, run};
use profile::Profile;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_pass_in_real_time_and_the_verdict_counts_them() {
    let mut profile = Profile::punchplay();
    let limit = profile
        .rate_limits
        .iter_mut()
        .find(|l| l.name == "public-user")
        .unwrap();
    limit.max = 5;
    limit.window_secs = 3;
    let server = reference_server::spawn(reference_server::ServerConfig {
        profile: profile.clone(),
        test_controls: false,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .unwrap();

    let report = run(LoadOptions {
        target: Some(server.base_url().parse().unwrap()),
        limit: Some("public-user".into()),
        run_time: Duration::from_secs(9),
        reports_dir: None,
        print: false,
        profile,
        // The reference server without its test controls: its DECIDED clauses are
        // checked all the same.
        strict: true,
        ..LoadOptions::default()
    })
    .await
    .expect("the run can be made");
    server.stop().await;

    let v = &report.limits[0];
    let problems: Vec<_> = v
        .keys
        .iter()
        .flat_map(|k| k.windows.iter().flat_map(|w| w.problems.clone()))
        .collect();
    assert_eq!(v.clock, ClockMode::Real);
    assert!(v.holds, "{problems:#?} {:?}", v.problems);
    // A window takes its 3 s and then 4 s to empty: one complete window, and the
    // next one is not started when it could not end in time.
    assert!(v.windows_checked >= 1, "{v:#?}");
    assert!(v.windows_judged >= v.windows_checked);
    assert!(
        v.wall_secs < 9.0 + load::run::GRACE.as_secs_f64(),
        "the run time bounds the run: {} s",
        v.wall_secs
    );
    for key in &v.keys {
        for w in key.windows.iter().filter(|w| w.judged) {
            assert_eq!(w.first_span_admitted, 5);
            assert_eq!(w.kind, load::verdict::WindowKind::Sliding, "{w:#?}");
        }
    }
}
