//! The device authorization grant over real HTTP (PP-DEVICE-*), with the QR code decoded
//! back to its URL.

mod common;

use common::{ClientApp, OTHER_USER, TestServer, Tokens, USER, decode_qr, form};
use serde_json::Value;

const DEVICE_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// PP-DEVICE-1, PP-DEVICE-5, PP-SCOPE-4: every documented field, the decided lifetimes
/// and the user-code shape.
#[tokio::test]
async fn device_code_response_has_every_documented_field() {
    let s = TestServer::start().await;
    let start = s
        .device_start(&ClientApp::tv(), Some("playback:read events:read"))
        .await;
    for field in [
        "user_code",
        "device_code",
        "verification_uri",
        "verification_uri_complete",
        "verification_uri_qr",
    ] {
        assert!(
            start[field].as_str().is_some_and(|v| !v.is_empty()),
            "PP-DEVICE-1: `{field}` in {start}"
        );
    }
    assert_eq!(
        start["expires_in"].as_u64(),
        Some(s.profile.lifetimes.device_code)
    );
    assert_eq!(
        start["interval"].as_u64(),
        Some(s.profile.lifetimes.device_poll_interval)
    );
    assert_eq!(start["scope"], "playback:read events:read", "PP-SCOPE-4");

    // Like WDJB-MJHT: two halves of letters from the profile's alphabet.
    let user_code = start["user_code"].as_str().unwrap();
    let device = &s.profile.punchplay_settings().unwrap().device;
    let alphabet = &device.user_code_alphabet;
    let half = device.user_code_length / 2;
    let (a, b) = user_code
        .split_once('-')
        .unwrap_or_else(|| panic!("PP-DEVICE-1: {user_code}"));
    assert!(
        a.len() == half
            && b.len() == half
            && a.chars().chain(b.chars()).all(|c| alphabet.contains(c)),
        "PP-DEVICE-1: {user_code}"
    );

    // PP-DEVICE-5: /activate, and the complete form carries the user code.
    let uri = start["verification_uri"].as_str().unwrap();
    assert_eq!(uri, s.endpoint("activate"));
    let complete = start["verification_uri_complete"].as_str().unwrap();
    assert_eq!(complete, format!("{uri}?user_code={user_code}"));
}

/// PP-SCOPE-2: no scope requested, the app's allowed_scopes granted.
#[tokio::test]
async fn device_code_without_scope_gets_the_allowed_scopes() {
    let s = TestServer::start().await;
    let start = s.device_start(&ClientApp::tv(), None).await;
    assert_eq!(
        start["scope"].as_str(),
        Some(s.profile.scopes.known.join(" ").as_str())
    );
}

/// PP-DEVICE-2: `verification_uri_qr` is a PNG whose QR code decodes to
/// `verification_uri_complete`.
#[tokio::test]
async fn qr_code_decodes_to_verification_uri_complete() {
    let s = TestServer::start().await;
    let start = s.device_start(&ClientApp::tv(), None).await;
    let decoded = decode_qr(start["verification_uri_qr"].as_str().unwrap());
    assert_eq!(
        decoded,
        start["verification_uri_complete"].as_str().unwrap()
    );
}

/// PP-DEVICE-3: pending until approved, then tokens exactly once, then `expired`.
#[tokio::test]
async fn polling_is_pending_until_approval_then_yields_tokens_once() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let start = s.device_start(&tv, Some("profile:read")).await;
    let device_code = start["device_code"].as_str().unwrap();
    for _ in 0..3 {
        s.device_poll(&tv, device_code)
            .await
            .assert_error(400, "authorization_pending");
    }
    s.device_decide(start["user_code"].as_str().unwrap(), USER, true)
        .await;
    let tokens = Tokens::from_reply(&s.device_poll(&tv, device_code).await);
    assert_eq!(tokens.scope, "profile:read", "PP-SCOPE-4");
    assert_eq!(s.me(&tokens.access_token).await.ok()["username"], USER);
    for _ in 0..2 {
        s.device_poll(&tv, device_code)
            .await
            .assert_error(400, "expired");
    }
}

/// PP-DEVICE-3 with concurrent polls after approval: exactly one gets tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_polls_of_an_approved_code_yield_tokens_once() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let start = s.device_start(&tv, None).await;
    s.device_decide(start["user_code"].as_str().unwrap(), USER, true)
        .await;
    let mut form = tv.credentials();
    form.push((
        "device_code".into(),
        start["device_code"].as_str().unwrap().into(),
    ));
    let url = s.endpoint("device_token");
    let replies = common::concurrently(40, |_| s.http.post(&url).form(&form)).await;
    common::assert_no_server_errors(&replies);
    assert_eq!(
        replies.iter().filter(|r| r.status == 200).count(),
        1,
        "{:?}",
        common::status_counts(&replies)
    );
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_error(400, "expired");
    }
}

/// PP-DEVICE-4: a denied code polls `access_denied`, and the code cannot be approved later.
#[tokio::test]
async fn denied_device_code_polls_access_denied() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let start = s.device_start(&tv, None).await;
    let user_code = start["user_code"].as_str().unwrap();
    s.device_decide(user_code, USER, false).await;
    s.device_poll(&tv, start["device_code"].as_str().unwrap())
        .await
        .assert_error(400, "access_denied");
    s.device_decision(user_code, OTHER_USER, true)
        .await
        .assert_error(404, "not_found");
    s.device_poll(&tv, start["device_code"].as_str().unwrap())
        .await
        .assert_error(400, "access_denied");
}

/// PP-DEVICE-3: an unknown code, or one past its lifetime, is `expired`; the user code
/// no longer decides anything.
#[tokio::test]
async fn unknown_or_timed_out_device_codes_are_expired() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    s.device_poll(&tv, "ppdc_no-such-code")
        .await
        .assert_error(400, "expired");

    let start = s.device_start(&tv, None).await;
    let device_code = start["device_code"].as_str().unwrap();
    s.advance(s.profile.lifetimes.device_code as f64 - 5.0)
        .await;
    s.device_poll(&tv, device_code)
        .await
        .assert_error(400, "authorization_pending");
    s.advance(5.0).await;
    s.device_poll(&tv, device_code)
        .await
        .assert_error(400, "expired");
    s.device_decision(start["user_code"].as_str().unwrap(), USER, true)
        .await
        .assert_error(404, "not_found");

    // An approved code that nobody polls in time expires too.
    let start = s.device_start(&tv, None).await;
    s.device_decide(start["user_code"].as_str().unwrap(), USER, true)
        .await;
    s.advance(s.profile.lifetimes.device_code as f64).await;
    s.device_poll(&tv, start["device_code"].as_str().unwrap())
        .await
        .assert_error(400, "expired");
}

/// A device code belongs to the app that asked for it: another app polling it is told
/// it is `expired`, and the right app still gets the tokens.
#[tokio::test]
async fn device_code_is_bound_to_its_client() {
    let s = TestServer::start().await;
    let start = s.device_start(&ClientApp::tv(), None).await;
    let device_code = start["device_code"].as_str().unwrap();
    s.device_decide(start["user_code"].as_str().unwrap(), USER, true)
        .await;
    s.device_poll(&ClientApp::spa(), device_code)
        .await
        .assert_error(400, "expired");
    Tokens::from_reply(&s.device_poll(&ClientApp::tv(), device_code).await);
}

/// PP-DEVICE-5: the RFC 8628 grant_type is accepted; any other is
/// `unsupported_grant_type`. JSON bodies work too (PP-TOKEN-4).
#[tokio::test]
async fn rfc8628_grant_type_and_json_bodies_are_accepted() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let start = s.device_start(&tv, None).await;
    let device_code = start["device_code"].as_str().unwrap();
    let url = s.endpoint("device_token");
    let body = |grant_type: &str| serde_json::json!({"client_id": "pp-tv", "device_code": device_code, "grant_type": grant_type});
    s.post_json(&url, &body("authorization_code"))
        .await
        .assert_error(400, "unsupported_grant_type");
    s.post_json(&url, &body(DEVICE_GRANT_TYPE))
        .await
        .assert_error(400, "authorization_pending");
    s.device_decide(start["user_code"].as_str().unwrap(), USER, true)
        .await;
    Tokens::from_reply(&s.post_json(&url, &body(DEVICE_GRANT_TYPE)).await);

    let json_start = s
        .post_json(
            &s.endpoint("device_code"),
            &serde_json::json!({"client_id": "pp-tv", "scope": "profile:read"}),
        )
        .await;
    assert_eq!(json_start.ok()["scope"], "profile:read");
}

/// PP-APP-2, PP-APP-3, PP-APP-4, PP-SCOPE-3 at the device endpoints.
#[tokio::test]
async fn device_endpoints_authenticate_the_client_and_check_scope() {
    let s = TestServer::start().await;
    let url = s.endpoint("device_code");
    // A confidential app needs its secret; with it, it may use the device flow.
    s.post_form(&url, &form(&[("client_id", "pp-web")]))
        .await
        .assert_error(401, "invalid_client");
    s.post_form(
        &url,
        &form(&[("client_id", "pp-web"), ("client_secret", "nope")]),
    )
    .await
    .assert_error(401, "invalid_client");
    s.post_form(
        &url,
        &form(&[("client_id", "pp-web"), ("client_secret", "pp-web-secret")]),
    )
    .await
    .ok();
    s.post_form(
        &url,
        &form(&[("client_id", "pp-tv"), ("client_secret", "x")]),
    )
    .await
    .assert_error(401, "invalid_client");
    s.post_form(&url, &form(&[("client_id", "who")]))
        .await
        .assert_error(401, "invalid_client");
    s.post_form(&url, &form(&[]))
        .await
        .assert_error(400, "invalid_request");
    s.post_form(
        &url,
        &form(&[
            ("client_id", "pp-inactive"),
            ("client_secret", "pp-inactive-secret"),
        ]),
    )
    .await
    .assert_error(400, "unauthorized_client");
    let reply = s
        .post_form(
            &url,
            &form(&[("client_id", "pp-spa"), ("scope", "playback:write")]),
        )
        .await;
    reply.assert_error(400, "invalid_scope");
    let reply = s
        .post_form(
            &url,
            &form(&[("client_id", "pp-tv"), ("scope", "profile:read admin")]),
        )
        .await;
    reply.assert_error(400, "invalid_scope");

    // The poll authenticates too.
    let start: Value = s
        .post_form(
            &url,
            &form(&[("client_id", "pp-web"), ("client_secret", "pp-web-secret")]),
        )
        .await
        .ok();
    let mut no_secret = ClientApp::web();
    no_secret.secret = None;
    s.device_poll(&no_secret, start["device_code"].as_str().unwrap())
        .await
        .assert_error(401, "invalid_client");
    s.device_poll(&ClientApp::web(), start["device_code"].as_str().unwrap())
        .await
        .assert_error(400, "authorization_pending");
}

/// The user code is typed by a person: case and the dash do not matter.
#[tokio::test]
async fn user_code_may_be_typed_in_lower_case_without_the_dash() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let start = s.device_start(&tv, None).await;
    let typed = start["user_code"]
        .as_str()
        .unwrap()
        .replace('-', "")
        .to_lowercase();
    s.device_decide(&typed, USER, true).await;
    Tokens::from_reply(
        &s.device_poll(&tv, start["device_code"].as_str().unwrap())
            .await,
    );
}

/// PP-DEVICE-3, PP-DEVICE-4: when two people decide one user code at once, exactly one
/// decision counts and the device sees that one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_decisions_on_one_user_code_have_one_winner() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let start = s.device_start(&tv, None).await;
    let user_code = start["user_code"].as_str().unwrap().to_owned();
    let url = s.url("/__test/device/decide");
    let replies = common::concurrently(30, |i| {
        let (user, approve) = if i % 2 == 0 {
            (USER, true)
        } else {
            (OTHER_USER, false)
        };
        s.http.post(&url).json(
            &serde_json::json!({"user_code": user_code, "username": user, "approve": approve}),
        )
    })
    .await;
    common::assert_no_server_errors(&replies);
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", common::status_counts(&replies));
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_error(404, "not_found");
    }
    let poll = s
        .device_poll(&tv, start["device_code"].as_str().unwrap())
        .await;
    if winners[0].json()["approved"] == true {
        let tokens = Tokens::from_reply(&poll);
        assert_eq!(s.me(&tokens.access_token).await.ok()["username"], USER);
    } else {
        poll.assert_error(400, "access_denied");
    }
}
