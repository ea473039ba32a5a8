//! Issue 22 item 3: load breaks the client rules the reference server judges only on
//! purpose. One window of the token limit's scenario against a reference server with
//! test controls, client observation on and the tool's traffic not excluded: its bursts
//! go on past a 429 on purpose (that is what a limit test does), so every key's client
//! gets a `retry-after` finding, and nothing else. Before each request carried its own
//! made-up refresh token, every goose user also resent one failing request
//! (`repeated-failure`).

use std::collections::BTreeSet;

use load::{LoadOptions, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_limit_run_leaves_only_its_retry_after_findings() {
    let server = reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    let report = run(LoadOptions {
        target: Some(server.base_url().parse().expect("a URL")),
        limit: Some("token".into()),
        windows: 1,
        reports_dir: None,
        print: false,
        ..LoadOptions::default()
    })
    .await
    .expect("the run can be made");
    assert!(
        report.holds,
        "the token limit holds against the reference server"
    );
    let findings = server.client_findings(None);
    let found: BTreeSet<(&str, Option<&str>)> = findings
        .iter()
        .map(|f| (f.rule.id, f.client_id.as_deref()))
        .collect();
    // The token limit is keyed by client and address (PP-RATE-4); load sends as each of
    // the fixture's apps, and each key's burst goes on past its 429 on purpose.
    let want: BTreeSet<(&str, Option<&str>)> = ["pp-spa", "pp-tv", "pp-web"]
        .into_iter()
        .map(|c| ("retry-after", Some(c)))
        .collect();
    let details: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {:?} x{}: {}",
                f.rule.id, f.client_id, f.occurrences, f.detail
            )
        })
        .collect();
    assert_eq!(found, want, "findings:\n{}", details.join("\n"));
    server.stop().await;
}
