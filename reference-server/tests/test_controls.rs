//! The test controls as docs/reference-server.md lists them: the clock, modes, faults
//! and reset. (Login, authorize/decide, device/decide, deactivate and revoke are used
//! throughout the other files.)

mod common;

use common::{ClientApp, Pkce, TestServer, Tokens, USER, form};
use reference_server::{Fault, ServerConfig};
use serde_json::json;

fn parse_time(value: &serde_json::Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a time")).expect("RFC 3339")
}

/// `POST /__test/clock/advance` moves the clock by N seconds (fractions too) and answers
/// the new time; `GET /__test/clock` reads it.
#[tokio::test]
async fn clock_advances_by_the_seconds_asked() {
    let s = TestServer::start().await;
    let before = parse_time(&s.get(&s.url("/__test/clock")).await.ok()["now"]);
    let after = parse_time(&s.control("clock/advance", json!({"seconds": 3600.5})).await["now"]);
    let moved = (after - before).num_milliseconds();
    assert!((3_600_500..3_610_000).contains(&moved), "moved {moved} ms");
    let zero = parse_time(&s.control("clock/advance", json!({"seconds": 0})).await["now"]);
    assert!(zero >= after);
}

/// In both failure modes the token, device and refresh endpoints answer 500
/// `server_error` (PP-ERR-3, PP-ERR-4) and authorize redirects with the mode's name.
#[tokio::test]
async fn failure_modes_reach_every_oauth_endpoint() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let tokens = s.device_login(&tv, USER, None).await;
    let start = s.device_start(&tv, None).await;
    let device_code = start["device_code"].as_str().unwrap();
    for mode in ["server_error", "temporarily_unavailable"] {
        assert_eq!(s.control("mode", json!({"mode": mode})).await["mode"], mode);
        s.refresh_at_auth(&tv, &tokens.refresh_token)
            .await
            .assert_error(500, "server_error");
        s.refresh_at_token(&tv, &tokens.refresh_token)
            .await
            .assert_error(500, "server_error");
        s.device_poll(&tv, device_code)
            .await
            .assert_error(500, "server_error");
        s.post_form(&s.endpoint("device_code"), &tv.credentials())
            .await
            .assert_error(500, "server_error");
        // The mode answers before the request is looked at.
        s.post_form(
            &s.endpoint("token"),
            &form(&[("grant_type", "password"), ("client_id", "pp-tv")]),
        )
        .await
        .assert_error(500, "server_error");
    }
    // Nothing was spent while the endpoints failed.
    s.set_mode("normal").await;
    Tokens::from_reply(&s.refresh_at_auth(&tv, &tokens.refresh_token).await);
    s.device_poll(&tv, device_code)
        .await
        .assert_error(400, "authorization_pending");
}

/// `GET /__test/fault` lists the running family's named faults with their clauses (for
/// punchplay, every fault whose clause is punchplay's); one can be switched on, changes
/// what it names, and switches off again; another family's fault is refused with this
/// family's names.
#[tokio::test]
async fn faults_are_listed_and_switch_on_and_off() {
    let s = TestServer::start().await;
    let listed = s.get(&s.url("/__test/fault")).await.ok();
    assert_eq!(listed["fault"], serde_json::Value::Null);
    let names: Vec<&str> = listed["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = Fault::ALL
        .iter()
        .filter(|f| f.clause().starts_with("PP-"))
        .map(|f| f.name())
        .collect();
    assert_eq!(names, expected);
    let refused = s
        .post_json(
            &s.url("/__test/fault"),
            &json!({"fault": "fx_json_body_accepted"}),
        )
        .await;
    refused.assert_error(400, "invalid_request");
    let message = refused.json()["message"].as_str().unwrap().to_owned();
    let (_, names_listed) = message.split_once("faults are").expect("the faults listed");
    assert!(
        names_listed.contains("code_reusable") && !names_listed.contains("fx_"),
        "{message}"
    );
    assert!(
        listed["faults"]
            .as_array()
            .unwrap()
            .iter()
            .all(
                |f| f["clause"].as_str().is_some_and(|c| profile::builtin::ALL
                    .iter()
                    .any(|b| b.profile().clause(c).is_some()))
            )
    );

    let web = ClientApp::web();
    let answer = s.control("fault", json!({"fault": "code_reusable"})).await;
    assert_eq!(answer["fault"], "code_reusable");
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    Tokens::from_reply(&s.exchange(&web, &code, &pkce.verifier).await);
    Tokens::from_reply(&s.exchange(&web, &code, &pkce.verifier).await);

    assert_eq!(
        s.control("fault", json!({"fault": null})).await["fault"],
        serde_json::Value::Null
    );
    s.exchange(&web, &code, &pkce.verifier)
        .await
        .assert_error(400, "invalid_grant");
}

/// `POST /__test/reset`: fixtures, clock, limits, mode and fault fresh; grants, sessions
/// and registered apps gone.
#[tokio::test]
async fn reset_brings_back_the_fixtures() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let tokens = s.code_login(&web, USER, None).await;
    let cookie = s.session_cookie(USER).await;
    s.control("apps/pp-web/deactivate", json!({})).await;
    s.control("fault", json!({"fault": "scope_omitted"})).await;
    s.set_mode("server_error").await;
    let limit = s.profile.rate_limit("public-user").expect("the limit").max as usize;
    let user_url = s.endpoint_with("public_user", USER);
    for _ in 0..limit {
        s.get(&user_url).await;
    }
    s.get(&user_url).await.assert_error(429, "rate_limited");
    s.advance(1_000_000.0).await;

    let answer = s.control("reset", json!({})).await;
    let now = parse_time(&answer["now"]);
    let drift = (now.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .num_seconds()
        .abs();
    assert!(drift < 60, "the clock is back to real time: {now}");
    assert_eq!(s.get(&user_url).await.status, 200, "limits are fresh");
    s.me(&tokens.access_token)
        .await
        .assert_error(401, "invalid_token");
    let page = common::send(
        s.http
            .get(s.url("/developer/apps"))
            .header("cookie", &cookie)
            .header("accept", "application/json"),
    )
    .await;
    page.assert_error(401, "invalid_token");
    // pp-web is active again, normal mode, no fault: the full flow works with scope.
    let fresh = s.code_login(&web, USER, None).await;
    assert!(!fresh.scope.is_empty());
    assert_eq!(
        s.get(&s.url("/__test/fault")).await.ok()["fault"],
        serde_json::Value::Null
    );
}

/// A fault given at start (`--fault`, `ServerConfig::fault`) is on from the start, and a
/// reset returns to the start-up state: it stays on (issue 23 item 3). One that is not the
/// family's is refused at start, naming the family's faults one per line.
#[tokio::test]
async fn a_fault_given_at_start_survives_a_reset() {
    let s = TestServer::start_with(ServerConfig {
        test_controls: true,
        fault: Some("scope_omitted".into()),
        ..ServerConfig::punchplay()
    })
    .await;
    let on = || async { s.get(&s.url("/__test/fault")).await.ok()["fault"].clone() };
    assert_eq!(on().await, "scope_omitted");
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    let answer = s.exchange(&web, &code, &pkce.verifier).await.json();
    assert!(answer["access_token"].is_string() && answer.get("scope").is_none());
    s.control("fault", json!({"fault": null})).await;
    assert_eq!(on().await, serde_json::Value::Null);
    s.control("reset", json!({})).await;
    assert_eq!(
        on().await,
        "scope_omitted",
        "reset returns to the start-up fault"
    );

    let refused = reference_server::spawn(ServerConfig {
        test_controls: true,
        fault: Some("en_revoke_keeps_token".into()),
        ..ServerConfig::punchplay()
    })
    .await
    .err()
    .expect("another family's fault is refused at start")
    .to_string();
    assert!(
        refused.contains("punchplay") && refused.contains("\n  code_reusable"),
        "{refused}"
    );
}
