//! The CLI against the in-process reference server: exit codes, levels and the
//! expected-deviations file.

mod support;

use clap::Parser as _;
use conformance::cli::{self, Args, EXIT_CONFORMANT, EXIT_NON_CONFORMANT};
use support::gateway::{self, GatewayOptions};

fn args(extra: &[&str]) -> Args {
    let mut argv = vec!["conformance", "--no-progress", "--no-snapshots"];
    argv.extend_from_slice(extra);
    Args::parse_from(argv)
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("conformance-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// The one run folder the CLI wrote under `--report-dir`.
fn run_folder(report_dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(report_dir)
        .expect("a run folder")
        .next()
        .expect("one")
        .expect("entry")
        .path()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_written_and_a_conformant_run_exits_0() {
    let dir = std::env::temp_dir().join(format!("conformance-reports-{}", std::process::id()));
    let d = dir.to_str().expect("utf-8");
    let code = cli::run(args(&["--only", "PP-TOKEN-2", "--report-dir", d])).await;
    assert_eq!(code, EXIT_CONFORMANT);
    let run = run_folder(&dir);
    for f in ["junit.xml", "report.json", "report.md", "report.html"] {
        assert!(run.join(f).is_file(), "{f} was not written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_makes_the_run_non_conformant_with_support_fields() {
    let dir = std::env::temp_dir().join(format!("conformance-fault-{}", std::process::id()));
    let d = dir.to_str().expect("utf-8");
    let code = cli::run(args(&[
        "--only",
        "PP-AUTHZ-8",
        "--fault",
        "code_reusable",
        "--report-dir",
        d,
    ]))
    .await;
    assert_eq!(code, EXIT_NON_CONFORMANT);
    let run = run_folder(&dir);
    let md = std::fs::read_to_string(run.join("report.md")).expect("report.md");
    for field in [
        "request_id: ppreq_",
        "timestamp:",
        "endpoint:   POST /api/platform/v1/oauth/token",
        "status:     200",
        "client_id:  pp-web",
        "body:",
    ] {
        assert!(md.contains(field), "report.md lacks `{field}`:\n{md}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A header only a part below MUST asks for, missing from every response (no `no-store`:
/// PP-TOKEN-4, SHOULD; no Retry-After: PP-RATE-2, DECIDED), with the committed snapshots
/// compared: it fails that part's checks, not the MUST checks whose transcripts show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_below_must_missing_everywhere_gates_only_its_own_level() {
    for (fault, its_level) in [
        ("no_store_missing", "should"),
        ("retry_after_missing", "decided"),
    ] {
        let run = |level: &'static str| {
            let argv = [
                "conformance",
                "--no-progress",
                "--no-reports",
                "--fault",
                fault,
                "--level",
                level,
            ];
            cli::run(Args::parse_from(argv))
        };
        assert_eq!(
            run("must").await,
            EXIT_CONFORMANT,
            "{fault} at --level must"
        );
        assert_eq!(
            run(its_level).await,
            EXIT_NON_CONFORMANT,
            "{fault} at --level {its_level}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expected_failure_passes_and_a_stale_one_fails() {
    let expected = temp_file(
        "expected.toml",
        "[[deviation]]\ncheck = \"PP-AUTHZ-8/second-redemption-fails-and-revokes-tokens\"\nreason = \"known: codes are reusable on this deployment\"\n",
    );
    let e = expected.to_str().expect("utf-8");
    let with_fault = cli::run(args(&[
        "--only",
        "PP-AUTHZ-8",
        "--fault",
        "code_reusable",
        "--expected",
        e,
        "--no-reports",
    ]))
    .await;
    assert_eq!(
        with_fault, EXIT_CONFORMANT,
        "the listed failure is expected"
    );
    let without = cli::run(args(&[
        "--only",
        "PP-AUTHZ-8",
        "--expected",
        e,
        "--no-reports",
    ]))
    .await;
    assert_eq!(
        without, EXIT_NON_CONFORMANT,
        "an expected failure that now passes fails the run"
    );
}

/// The punchplay profile with other paths, another access-token lifetime and a lower
/// public-user limit: a deployment described by data, not code.
fn other_profile() -> std::path::PathBuf {
    let text = profile::PUNCHPLAY_PROFILE_TOML
        .replace(
            "token = \"/api/platform/v1/oauth/token\"",
            "token = \"/api/platform/v1/oauth2/token\"",
        )
        .replace(
            "device_code = \"/api/platform/v1/auth/device/code\"",
            "device_code = \"/api/platform/v1/device/authorize\"",
        )
        .replace("activate = \"/activate\"", "activate = \"/link\"")
        .replace("access_token = 3600 ", "access_token = 1800 ")
        .replace("max = 60\n", "max = 7\n");
    assert_ne!(text, profile::PUNCHPLAY_PROFILE_TOML);
    temp_file("other-profile.toml", &text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_with_other_paths_lifetimes_and_limits_is_checked_from_the_data() {
    let p = other_profile();
    let code = cli::run(args(&[
        "--profile",
        p.to_str().expect("utf-8"),
        "--no-reports",
    ]))
    .await;
    assert_eq!(
        code, EXIT_CONFORMANT,
        "the server and the suite both follow the profile"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_that_does_not_describe_the_target_finds_it_non_conformant() {
    let server = reference_server::spawn(reference_server::ServerConfig {
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts");
    let p = other_profile();
    let creds = format!(
        "{}/../fixtures/identities/punchplay.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let url = server.base_url();
    let code = cli::run(args(&[
        "--target",
        &url,
        "--test-controls",
        "--credentials",
        &creds,
        "--profile",
        p.to_str().expect("utf-8"),
        "--only",
        "PP-TOKEN-1",
        "--only",
        "PP-RATE-1/public-user",
        "--no-reports",
    ]))
    .await;
    server.stop().await;
    assert_eq!(code, EXIT_NON_CONFORMANT);
}

/// A copy of the punchplay profile, same name, with `me` served elsewhere: a deployment
/// that moved one endpoint.
fn whoami_profile() -> std::path::PathBuf {
    let text = profile::PUNCHPLAY_PROFILE_TOML.replace(
        "me = \"/api/platform/v1/me\"",
        "me = \"/api/platform/v1/whoami\"",
    );
    assert_ne!(text, profile::PUNCHPLAY_PROFILE_TOML);
    temp_file("whoami-profile.toml", &text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_copy_with_another_path_is_not_compared_with_the_committed_snapshots() {
    let p = whoami_profile();
    let dir = std::env::temp_dir().join(format!("conformance-whoami-{}", std::process::id()));
    let d = dir.to_str().expect("utf-8");
    // Snapshots on (no --no-snapshots), no --snapshot-dir: the in-process server serves the copy.
    let code = cli::run(Args::parse_from([
        "conformance",
        "--no-progress",
        "--profile",
        p.to_str().expect("utf-8"),
        "--report-dir",
        d,
    ]))
    .await;
    let run = run_folder(&dir);
    let md = std::fs::read_to_string(run.join("report.md")).expect("report.md");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run.join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    let html = std::fs::read_to_string(run.join("report.html")).expect("report.html");
    let junit = std::fs::read_to_string(run.join("junit.xml")).expect("junit.xml");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        code, EXIT_CONFORMANT,
        "a moved path is no reason for snapshot failures:\n{md}"
    );
    let notes = json["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 1, "one note: {notes:?}");
    let note = notes[0].as_str().expect("text");
    for part in [
        "not compared with snapshots",
        "me = /api/platform/v1/whoami",
        "--update-snapshots --snapshot-dir DIR",
    ] {
        assert!(note.contains(part), "the note lacks `{part}`: {note}");
    }
    assert!(md.contains(note), "report.md shows the note");
    assert!(
        html.contains("not compared with snapshots"),
        "report.html shows the note"
    );
    assert!(
        junit.contains("not compared with snapshots"),
        "junit.xml shows the note"
    );
    assert!(
        json["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["snapshot"]["state"] == "not_compared"),
        "no check was compared"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_snapshot_dir_is_compared_even_for_a_profile_with_another_path() {
    let p = whoami_profile();
    let committed = cli::default_snapshot_dir("punchplay");
    let code = cli::run(Args::parse_from([
        "conformance",
        "--no-progress",
        "--no-reports",
        "--profile",
        p.to_str().expect("utf-8"),
        "--snapshot-dir",
        committed.to_str().expect("utf-8"),
        "--only",
        "PP-ERR-1",
    ]))
    .await;
    assert_eq!(
        code, EXIT_NON_CONFORMANT,
        "the committed snapshots show /me, this run /whoami"
    );
}

/// Runs PP-AUTHZ-8's check against a copy of its committed snapshot with `from` replaced
/// by `to`, and answers the support fields of its (failing) report row.
async fn support_of_a_mismatch(name: &str, from: &str, to: &str) -> serde_json::Value {
    let id = "PP-AUTHZ-8/second-redemption-fails-and-revokes-tokens";
    let file = "PP-AUTHZ-8__second-redemption-fails-and-revokes-tokens.snap";
    let committed =
        std::fs::read_to_string(cli::default_snapshot_dir("punchplay").join(file)).expect("snap");
    assert_eq!(committed.matches(from).count(), 1, "`{from}` is unique");
    let snaps = std::env::temp_dir().join(format!(
        "conformance-mismatch-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&snaps).expect("dir");
    std::fs::write(snaps.join(file), committed.replace(from, to)).expect("write");
    let reports = snaps.join("reports");
    let code = cli::run(Args::parse_from([
        "conformance",
        "--no-progress",
        "--only",
        id,
        "--snapshot-dir",
        snaps.to_str().expect("utf-8"),
        "--report-dir",
        reports.to_str().expect("utf-8"),
    ]))
    .await;
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run_folder(&reports).join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    let _ = std::fs::remove_dir_all(&snaps);
    assert_eq!(code, EXIT_NON_CONFORMANT);
    let row = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == id)
        .expect("the row")
        .clone();
    assert_eq!(row["snapshot"]["state"], "mismatched", "{row}");
    row["support"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_mismatch_names_the_first_exchange_that_differs() {
    // The first exchange (the code redeemed, 200) differs; the check's last is a 400.
    let first =
        support_of_a_mismatch("first", "\"expires_in\": 3600", "\"expires_in\": 3599").await;
    assert_eq!(first["endpoint"], "/api/platform/v1/oauth/token", "{first}");
    assert_eq!(first["status"], 200, "{first}");
    // The third (GET me with the revoked token, 401) differs.
    let third = support_of_a_mismatch(
        "third",
        "→ GET /api/platform/v1/me",
        "→ GET /api/platform/v1/you",
    )
    .await;
    assert_eq!(third["method"], "GET", "{third}");
    assert_eq!(third["endpoint"], "/api/platform/v1/me", "{third}");
    assert_eq!(third["status"], 401, "{third}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_with_its_own_apps_behind_a_gateway_is_conformant_and_its_extensions_noted() {
    let creds = format!(
        "{}/../fixtures/identities/other-deployment.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let ids = profile::Identities::from_toml_str(
        &std::fs::read_to_string(&creds).expect("the credentials"),
        |_| None,
    )
    .expect("valid");
    let (server, gateway) = gateway::reference_behind(
        reference_server::ServerConfig {
            identities: ids,
            ..reference_server::ServerConfig::punchplay()
        },
        GatewayOptions::ordinary(),
    )
    .await;
    let reports = std::env::temp_dir().join(format!("conformance-gateway-{}", std::process::id()));
    let code = cli::run(Args::parse_from([
        "conformance",
        "--no-progress",
        "--target",
        &gateway.base_url(),
        "--test-controls",
        "--credentials",
        &creds,
        "--level",
        "decided",
        "--only",
        "PP-TOKEN",
        "--only",
        "PP-APP-1",
        "--report-dir",
        reports.to_str().expect("utf-8"),
    ]))
    .await;
    server.stop().await;
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(run_folder(&reports).join("report.json")).expect("report.json"),
    )
    .expect("JSON");
    let _ = std::fs::remove_dir_all(&reports);
    assert_eq!(code, EXIT_CONFORMANT, "{json:#}");
    let notes: Vec<&str> = json["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n.as_str())
        .filter(|n| n.contains("extension members"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("`$.x_gateway`"), "{}", notes[0]);
    let equivalent = json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["snapshot"]["state"] == "equivalent")
        .count();
    assert!(equivalent > 5, "{equivalent} rows equivalent");
    // The published schema describes the equivalent rows too.
    let schema_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/report.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("the schema"))
            .expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}
