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
        "[[deviation]]\ncheck = \"PP-AUTHZ-8/second-redemption-fails-and-revokes-tokens\"\nfailure = \"invalid_grant\"\nreason = \"known: codes are reusable on this deployment\"\n",
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
    // An entry names its failure: another failure of the same check is a new one.
    let other = temp_file(
        "expected-other.toml",
        "[[deviation]]\ncheck = \"PP-AUTHZ-8/second-redemption-fails-and-revokes-tokens\"\nfailure = \"answered 500\"\nreason = \"a failure this run does not have\"\n",
    );
    let hidden = cli::run(args(&[
        "--only",
        "PP-AUTHZ-8",
        "--fault",
        "code_reusable",
        "--expected",
        other.to_str().expect("utf-8"),
        "--no-reports",
    ]))
    .await;
    assert_eq!(
        hidden, EXIT_NON_CONFORMANT,
        "a listed check failing another way is not hidden"
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

// ---------------------------------------------------------------------------------------
// Reaching real staging, wrong setups, one language (issue 23 items 0-5, issue 18 item 1).
// The runs that pass --ca-cert or --header run the binary: how a run reaches its target
// is a setting of the process.

#[path = "support/tls.rs"]
mod tls;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Runs the conformance binary (never longer than two minutes) with `NO_COLOR`.
fn binary(args: &[&str]) -> Output {
    Command::new("timeout")
        .arg("120")
        .arg(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// The binary's stderr, checked for what must never appear: a panic or a stack trace.
fn stderr_of(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !err.contains("panicked") && !err.contains("stack backtrace"),
        "{err}"
    );
    err
}

fn repo_file(path: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
        .display()
        .to_string()
}

async fn reference(profile: &str, test_controls: bool) -> reference_server::RunningServer {
    let builtin = profile::builtin::find(profile).expect("a built-in");
    reference_server::spawn(reference_server::ServerConfig {
        profile: builtin.profile(),
        identities: builtin.identities(),
        test_controls,
        ..reference_server::ServerConfig::punchplay()
    })
    .await
    .expect("the reference server starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_runs_over_https_with_a_ca_of_its_own_and_names_an_untrusted_certificate() {
    let dir = std::env::temp_dir().join(format!("conformance-tls-{}", std::process::id()));
    let certs = tls::make(&dir);
    let tls_config =
        reference_server::http::server::tls_config(&certs.cert, &certs.key).expect("TLS");
    let server = reference_server::http::server::TlsServer::spawn(
        reference_server::ServerConfig {
            test_controls: true,
            ..reference_server::ServerConfig::punchplay()
        },
        tls_config,
    )
    .await
    .expect("an HTTPS server");
    let url = server.base_url();
    let ca = certs.ca.to_str().expect("utf-8");
    let ok = tokio::task::spawn_blocking({
        let (url, ca) = (url.clone(), ca.to_owned());
        move || {
            binary(&[
                "--target",
                &url,
                "--ca-cert",
                &ca,
                "--only",
                "PP-TOKEN-2",
                "--no-reports",
                "--no-progress",
            ])
        }
    })
    .await
    .expect("joined");
    // A self-signed certificate, no --ca-cert: named as a TLS failure, with the fix.
    let lone = reference_server::http::server::TlsServer::spawn(
        reference_server::ServerConfig::punchplay(),
        reference_server::http::server::tls_config(&certs.self_signed_cert, &certs.self_signed_key)
            .expect("TLS"),
    )
    .await
    .expect("an HTTPS server");
    let untrusted = tokio::task::spawn_blocking({
        let url = lone.base_url();
        move || binary(&["--target", &url, "--no-reports", "--no-progress"])
    })
    .await
    .expect("joined");
    lone.stop().await;
    server.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr_of(&ok));
    assert_eq!(untrusted.status.code(), Some(2));
    let err = stderr_of(&untrusted);
    assert!(
        err.contains("the certificate of 127.0.0.1 is not trusted") && err.contains("--ca-cert"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

/// A target that answers every request with `answer(head)` and records each request head.
async fn raw_target(
    answer: fn(&str) -> String,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let heads = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut head = String::new();
                while !head.contains("\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.push_str(&String::from_utf8_lossy(&buf[..n])),
                    }
                }
                seen.lock().expect("lock").push(head.clone());
                let _ = s.write_all(answer(&head).as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (url, heads)
}

fn http(status: &str, content_type: &str, extra: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Punchplay's envelope for everything: enough for the preflight to go on.
fn punchplay_404(_: &str) -> String {
    http(
        "404 Not Found",
        "application/json",
        "x-punchplay-request-id: ppreq_0123456789abcdef0123\r\n",
        r#"{"error":"not_found","message":"no","request_id":"ppreq_0123456789abcdef0123"}"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_goes_on_every_request_and_its_value_stays_out_of_reports() {
    let (url, heads) = raw_target(punchplay_404).await;
    let reports = std::env::temp_dir().join(format!("conformance-header-{}", std::process::id()));
    let creds = repo_file("fixtures/identities/punchplay.toml");
    let out = tokio::task::spawn_blocking({
        let reports = reports.clone();
        move || {
            binary(&[
                "--target",
                &url,
                "--credentials",
                &creds,
                "--header",
                "X-Gateway-Key: s3cret-gateway-value",
                "--only",
                "PP-API-9",
                "--no-progress",
                "--report-dir",
                reports.to_str().expect("utf-8"),
            ])
        }
    })
    .await
    .expect("joined");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(EXIT_NON_CONFORMANT), "{err}");
    let heads = heads.lock().expect("lock").clone();
    assert!(heads.len() > 3, "{heads:?}");
    for head in &heads {
        assert!(
            head.to_ascii_lowercase()
                .contains("x-gateway-key: s3cret-gateway-value"),
            "a request went without the header: {head}"
        );
    }
    let run = std::fs::read_link(reports.join("latest")).expect("a latest pointer");
    let mut everything = String::from_utf8_lossy(&out.stdout).into_owned() + &err;
    for f in ["junit.xml", "report.json", "report.md", "report.html"] {
        everything += &std::fs::read_to_string(reports.join(&run).join(f)).expect(f);
    }
    let _ = std::fs::remove_dir_all(&reports);
    assert!(
        !everything.contains("s3cret-gateway-value"),
        "the value leaked"
    );
    assert!(
        everything.contains("x-gateway-key: [redacted]"),
        "the reports say which header went along"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_of_another_family_is_refused_naming_the_family_found() {
    let server = reference("punchplay", false).await;
    let url = server.base_url();
    let creds = repo_file("fixtures/identities/enterprise.toml");
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        binary(&[
            "--profile",
            "enterprise",
            "--target",
            &url,
            "--credentials",
            &creds,
            "--no-reports",
        ])
    })
    .await
    .expect("joined");
    let took = started.elapsed();
    server.stop().await;
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("this target serves punchplay, not enterprise")
            && err.contains("--profile punchplay"),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

fn same_html(_: &str) -> String {
    http(
        "200 OK",
        "text/html; charset=utf-8",
        "",
        "<!doctype html><title>Welcome to nginx!</title><h1>Welcome</h1>",
    )
}

/// Text/plain 404s for unknown routes and pages, but punchplay's envelope at the token
/// endpoint: a real deployment whose gateway answers text/plain (issue 18 item 1).
fn plain_404s_but_an_api(head: &str) -> String {
    if head.starts_with("POST") {
        punchplay_404(head)
    } else {
        http("404 Not Found", "text/plain", "", "404 page not found")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_page_for_every_endpoint_is_refused_and_text_plain_404s_are_judged_by_the_checks() {
    let creds = repo_file("fixtures/identities/punchplay.toml");
    let (site, _) = raw_target(same_html).await;
    let (gateway, _) = raw_target(plain_404s_but_an_api).await;
    let out = tokio::task::spawn_blocking({
        let creds = creds.clone();
        move || binary(&["--target", &site, "--credentials", &creds, "--no-reports"])
    })
    .await
    .expect("joined");
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("with one and the same page, not the API")
            && err.contains("200 text/html; charset=utf-8")
            && err.contains("Welcome to nginx!"),
        "the message names what was seen: {err}"
    );
    let judged = tokio::task::spawn_blocking(move || {
        binary(&[
            "--target",
            &gateway,
            "--credentials",
            &creds,
            "--only",
            "PP-API-9",
            "--no-reports",
            "--no-progress",
        ])
    })
    .await
    .expect("joined");
    let err = stderr_of(&judged);
    assert_eq!(
        judged.status.code(),
        Some(EXIT_NON_CONFORMANT),
        "text/plain 404s fail PP-API-9, they are not refused up front: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_controls_are_detected_and_the_family_fixtures_used_without_credentials() {
    let with = reference("punchplay", true).await;
    let without = reference("punchplay", false).await;
    let (with_url, without_url) = (with.base_url(), without.base_url());
    let (detected, required, no_creds) = tokio::task::spawn_blocking(move || {
        (
            binary(&[
                "--target",
                &with_url,
                "--only",
                "PP-TOKEN-2",
                "--no-reports",
                "--no-progress",
            ]),
            binary(&["--target", &without_url, "--test-controls", "--no-reports"]),
            binary(&["--target", &without_url, "--no-reports"]),
        )
    })
    .await
    .expect("joined");
    with.stop().await;
    without.stop().await;
    assert_eq!(detected.status.code(), Some(0), "{}", stderr_of(&detected));
    let err = stderr_of(&required);
    assert_eq!(required.status.code(), Some(2));
    assert!(
        err.contains("does not serve the reference server's test controls"),
        "{err}"
    );
    let err = stderr_of(&no_creds);
    assert_eq!(no_creds.status.code(), Some(2));
    assert!(
        err.contains("--credentials FILE") && err.contains("fixtures/identities/punchplay.toml"),
        "{err}"
    );
}

async fn fault_now(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/__test/fault"))
        .await
        .expect("the server answers")
        .json::<serde_json::Value>()
        .await
        .expect("JSON")["fault"]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_against_a_target_is_switched_off_when_the_run_ends_and_on_ctrl_c() {
    let server = reference("punchplay", true).await;
    let url = server.base_url();
    let out = tokio::task::spawn_blocking({
        let url = url.clone();
        move || {
            binary(&[
                "--target",
                &url,
                "--fault",
                "scope_omitted",
                "--only",
                "PP-SCOPE-4",
                "--no-reports",
                "--no-progress",
            ])
        }
    })
    .await
    .expect("joined");
    let err = stderr_of(&out);
    assert_eq!(
        out.status.code(),
        Some(EXIT_NON_CONFORMANT),
        "the fault was on: {err}"
    );
    assert_eq!(
        fault_now(&url).await,
        serde_json::Value::Null,
        "switched off at the end"
    );

    // Ctrl-C in the middle of a whole run: the fault goes off, exit 130.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args([
            "--target",
            &url,
            "--fault",
            "scope_omitted",
            "--no-reports",
            "--no-progress",
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while fault_now(&url).await != "scope_omitted" {
        assert!(Instant::now() < deadline, "the fault never went on");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = child.id().expect("a pid").to_string();
    let killed = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("it ends")
        .expect("status");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .await
        .expect("read");
    let fault = fault_now(&url).await;
    server.stop().await;
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("the fault scope_omitted was switched off"),
        "{err}"
    );
    assert_eq!(fault, serde_json::Value::Null, "switched off on Ctrl-C");
}

#[test]
fn setup_errors_speak_one_language() {
    // An unknown fault lists the running family's faults only.
    let out = binary(&[
        "--profile",
        "enterprise",
        "--fault",
        "bogus",
        "--no-reports",
    ]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("there is no enterprise fault `bogus`")
            && err.contains("en_scope_check_skipped"),
        "{err}"
    );
    assert!(
        !err.contains("code_reusable") && !err.contains("fx_"),
        "{err}"
    );
    // An unknown profile lists the built-ins; any case is a built-in.
    let out = binary(&["--profile", "bogus", "--list"]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("no built-in profile `bogus`")
            && err.contains("punchplay, enterprise, flexslot"),
        "{err}"
    );
    let out = binary(&["--profile", "Enterprise", "--list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("EN-TOKEN-1"));
    // A flag's values are listed.
    let out = binary(&["--level", "bogus"]);
    let err = stderr_of(&out);
    assert!(
        err.contains("possible values: must, should, decided"),
        "{err}"
    );
    // A malformed credentials file is called one.
    let bad = temp_file("bad.toml", "[[apps]\nclient_id = 1\n");
    let out = binary(&[
        "--credentials",
        bad.to_str().expect("utf-8"),
        "--no-reports",
    ]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("the credentials file") && err.contains("is not valid: it is not valid TOML"),
        "{err}"
    );
    assert!(!err.contains("for a profile"), "{err}");
    // Punchplay's credentials for the enterprise profile.
    let pp = repo_file("fixtures/identities/punchplay.toml");
    let out = binary(&[
        "--profile",
        "enterprise",
        "--credentials",
        &pp,
        "--no-reports",
    ]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        err.contains("these credentials are punchplay's, not enterprise's"),
        "{err}"
    );
    // The identities file has one name; the old ones still parse and are not shown.
    for old in ["--identities", "--fixtures"] {
        let a = Args::try_parse_from(["conformance", old, "x.toml"]).expect("an alias");
        assert_eq!(a.credentials, Some(std::path::PathBuf::from("x.toml")));
    }
    let help = String::from_utf8_lossy(&binary(&["--help"]).stdout).into_owned();
    assert!(
        help.contains("--credentials")
            && !help.contains("--identities")
            && !help.contains("--fixtures"),
        "{help}"
    );
    assert!(
        help.contains("Test controls: detected")
            && help.contains("--ca-cert")
            && help.contains("--header"),
        "{help}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_points_at_the_last_run() {
    let dir = std::env::temp_dir().join(format!("conformance-latest-{}", std::process::id()));
    let d = dir.to_str().expect("utf-8");
    for _ in 0..2 {
        let code = cli::run(args(&["--only", "PP-TOKEN-2/unknown", "--report-dir", d])).await;
        assert_eq!(code, EXIT_CONFORMANT);
    }
    let mut runs: Vec<String> = std::fs::read_dir(&dir)
        .expect("the report dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n != "latest")
        .collect();
    runs.sort();
    let latest = std::fs::read_link(dir.join("latest")).expect("a link");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(runs.len(), 2, "one folder per run: {runs:?}");
    assert_eq!(latest, std::path::PathBuf::from(&runs[1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_and_no_proxy_are_honoured() {
    // The "proxy" answers punchplay's envelope for whatever it is asked to forward.
    let (proxy, heads) = raw_target(punchplay_404).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let target = format!("http://{closed}");
    let creds = repo_file("fixtures/identities/punchplay.toml");
    let run = |no_proxy: &'static str| {
        let (proxy, target, creds) = (proxy.clone(), target.clone(), creds.clone());
        tokio::task::spawn_blocking(move || {
            Command::new("timeout")
                .arg("120")
                .arg(env!("CARGO_BIN_EXE_conformance"))
                .args(["--target", &target, "--credentials", &creds])
                .args(["--only", "PP-API-9", "--no-reports", "--no-progress"])
                .env("NO_COLOR", "1")
                .env("HTTP_PROXY", &proxy)
                .env("NO_PROXY", no_proxy)
                .stdin(Stdio::null())
                .output()
                .expect("the binary runs")
        })
    };
    let through = run("").await.expect("joined");
    let err = stderr_of(&through);
    assert_eq!(through.status.code(), Some(EXIT_NON_CONFORMANT), "{err}");
    let seen = heads.lock().expect("lock").clone();
    assert!(
        !seen.is_empty() && seen.iter().all(|h| h.contains(&format!("{target}/"))),
        "every request went through the proxy, in absolute form: {seen:?}"
    );
    let before = seen.len();
    let direct = run("127.0.0.1").await.expect("joined");
    let err = stderr_of(&direct);
    assert_eq!(
        direct.status.code(),
        Some(2),
        "the closed port, reached directly: {err}"
    );
    assert_eq!(
        heads.lock().expect("lock").len(),
        before,
        "NO_PROXY skipped the proxy"
    );
}
