//! The flexslot suite (FX-*) against deployments that may legitimately differ, and
//! against ones that may not:
//!
//! - the in-process flexslot server with its fixtures, every transcript compared with the
//!   committed snapshots, approvals through the test controls and through the real pages;
//! - the same server with another deployment's apps and users
//!   (`fixtures/identities/flexslot-other.toml`), behind a gateway that adds headers,
//!   Title-Case names and an extension member to every JSON object; behind a slow one;
//! - without test controls (a deployment): the checks that need the clock or a control say
//!   why they did not run, and nothing fails;
//! - a small resource server written here that answers RFC 6750 differently but rightly
//!   (another realm, a lower-case scheme, parameters in another order, a second
//!   challenge, no body) passes FX-RS-1, and three wrong ones fail it;
//! - the command line: `conformance --profile flexslot` exits 0, and a credentials file
//!   without the required app exits 2 saying which.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use conformance::drivers::Driver;
use conformance::runner::{RunReport, Status};
use conformance::snapshot::SnapshotStatus;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use support::flexslot as fx;
use support::gateway::{self, GatewayOptions};

/// Every check passed (none skipped) and matched its snapshot.
fn assert_all_pass(report: &RunReport) {
    support::deployment::assert_every_check_is(report, &[Status::Pass]);
    assert!(report.conformant());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_in_process_and_matches_its_snapshots() {
    let report = fx::serve_and_run(fx::fixtures(), None, true, Driver::TestControls, true).await;
    assert_all_pass(&report);
    assert!(
        report
            .checks
            .iter()
            .all(|c| matches!(c.snapshot, SnapshotStatus::Matched)),
        "every check has a committed snapshot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_passes_approving_through_the_real_pages() {
    let report = fx::serve_and_run(fx::fixtures(), None, true, Driver::Pages, true).await;
    assert_all_pass(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_identities_behind_an_ordinary_gateway_pass_the_same_snapshots() {
    let server = fx::server(fx::other_identities(), None).await;
    let gateway = gateway::start(&server.base_url(), GatewayOptions::ordinary()).await;
    let report = fx::run(
        &gateway.base_url(),
        fx::other_identities(),
        true,
        Driver::TestControls,
        fx::all_checks(),
        true,
    )
    .await;
    server.stop().await;
    // The gateway's extension member rides on every answer, the inactive introspection
    // included: it tells nothing of the token, so FX-INTRO-1's SHOULD passes too.
    assert_all_pass(&report);
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("extension members") && n.contains("x_gateway")),
        "{:?}",
        report.notes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_network_changes_no_verdict() {
    let server = fx::server(fx::fixtures(), None).await;
    let slow = GatewayOptions::slow(Duration::from_millis(10)..Duration::from_millis(80));
    let gateway = gateway::start(&server.base_url(), slow).await;
    let report = fx::run(
        &gateway.base_url(),
        fx::fixtures(),
        true,
        Driver::TestControls,
        fx::all_checks(),
        true,
    )
    .await;
    server.stop().await;
    assert_all_pass(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_test_controls_the_clock_and_control_checks_say_why_and_nothing_fails() {
    let report = fx::serve_and_run(fx::fixtures(), None, false, Driver::Pages, true).await;
    support::deployment::assert_every_check_is(&report, &[Status::Pass, Status::Skip]);
    let skipped: Vec<(&str, &str)> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Skip)
        .map(|c| (c.id.as_str(), c.message.as_deref().unwrap_or_default()))
        .collect();
    for id in [
        "FX-TOKEN-4/code-older-than-its-lifetime-is-invalid-grant",
        "FX-TOKEN-4/refresh-token-idle-for-its-lifetime-is-invalid-grant",
        "FX-RS-1/expired-token-is-invalid-token",
        "FX-TOKEN-5/grant-type-disabled-after-issue-is-unauthorized-client",
        "FX-AUTHZ-1/server-failures-redirect-server-error-and-temporarily-unavailable",
    ] {
        let (_, why) = skipped
            .iter()
            .find(|(c, _)| *c == id)
            .unwrap_or_else(|| panic!("{id} is not skipped: {skipped:?}"));
        assert!(
            why.contains("clock") || why.contains("test controls"),
            "{id}: {why}"
        );
    }
    assert_eq!(skipped.len(), 6, "{skipped:?}");
    support::deployment::assert_skips_sent_nothing(&report);
}

// --- a resource server of our own (FX-RS-1) ---

/// How the resource server written for the test answers.
#[derive(Clone, Copy, Debug)]
enum Resource {
    /// Right, but not as the reference server: `bearer` in lower case, another realm, an
    /// extra parameter, a second challenge of another scheme first, parameters in another
    /// order, no body.
    Different,
    /// A missing header is answered with `error="invalid_token"` (RFC 6750 §3.1: no code).
    ErrorOnBareChallenge,
    /// No `WWW-Authenticate` at all.
    NoChallenge,
    /// An unknown token is 400 invalid_request.
    UnknownTokenIs400,
}

fn answer(resource: Resource, req: &Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let bearer = auth
        .split_once(' ')
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.is_empty());
    let mut resp = Response::builder().status(StatusCode::UNAUTHORIZED);
    resp = match (resource, bearer) {
        (Resource::NoChallenge, _) => resp,
        (Resource::ErrorOnBareChallenge, None) => resp.header(
            "www-authenticate",
            r#"Bearer realm="partner", error="invalid_token""#,
        ),
        (Resource::UnknownTokenIs400, Some(_)) => resp.status(StatusCode::BAD_REQUEST),
        (_, None) => resp
            .header("www-authenticate", r#"DPoP algs="ES256""#)
            .header("www-authenticate", r#"bearer charset="UTF-8", realm="partner api""#),
        (_, Some(_)) => resp
            .header("www-authenticate", r#"DPoP algs="ES256""#)
            .header(
                "www-authenticate",
                r#"bearer error_description="token not recognised, sorry", error=invalid_token, realm="partner api""#,
            ),
    };
    resp.header("x-partner-trace", "t-1")
        .body(Full::new(Bytes::new()))
        .expect("a response")
}

async fn start_resource(resource: Resource) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| async move {
                    Ok::<_, Infallible>(answer(resource, &req))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// FX-RS-1's checks that need no token from an authorization server.
async fn run_tokenless_resource_checks(resource: Resource) -> RunReport {
    let addr = start_resource(resource).await;
    let checks = fx::all_checks()
        .into_iter()
        .filter(|c| {
            c.id.starts_with("FX-RS-1/missing-or-other-scheme")
                || c.id == "FX-RS-1/unknown-token-is-invalid-token"
        })
        .collect::<Vec<_>>();
    assert_eq!(checks.len(), 2);
    fx::run(
        &format!("http://{addr}"),
        fx::fixtures(),
        false,
        Driver::Pages,
        checks,
        true,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_server_that_differs_rightly_passes_fx_rs_1() {
    let report = run_tokenless_resource_checks(Resource::Different).await;
    assert_all_pass(&report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_resource_servers_fail_fx_rs_1() {
    for wrong in [
        Resource::ErrorOnBareChallenge,
        Resource::NoChallenge,
        Resource::UnknownTokenIs400,
    ] {
        let report = run_tokenless_resource_checks(wrong).await;
        assert!(
            report
                .checks
                .iter()
                .any(|c| c.status == Status::Fail && c.clause == "FX-RS-1"),
            "{wrong:?} passes FX-RS-1: {:?}",
            support::suite::outcomes(&report, false)
        );
    }
}

// --- the command line ---

fn conformance_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .args(args)
        .env_remove("CI")
        .output()
        .expect("the conformance binary runs")
}

#[test]
fn conformance_profile_flexslot_runs_the_suite_in_process_and_exits_0() {
    let out = conformance_cli(&["--profile", "flexslot", "--no-reports", "--no-progress"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("CONFORMANT at DECIDED. 49 checks (0 skipped)"),
        "{stdout}"
    );
}

#[test]
fn a_flexslot_credentials_file_without_the_required_app_exits_2_saying_which() {
    let dir = std::env::temp_dir().join(format!("fx-creds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let file = dir.join("public-only.toml");
    std::fs::write(
        &file,
        "[[apps]]\nclient_id = \"p\"\nname = \"P\"\nkind = \"public\"\nallowed_scopes = [\"profile\"]\nredirect_uris = [\"http://127.0.0.1:9/cb\"]\n\n[[users]]\nusername = \"u\"\ndisplay_name = \"U\"\n",
    )
    .expect("write");
    let out = conformance_cli(&[
        "--profile",
        "flexslot",
        "--credentials",
        file.to_str().expect("a path"),
        "--no-reports",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("enabled confidential app"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
