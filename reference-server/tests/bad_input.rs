//! Bad input over real HTTP: malformed JSON and forms, wrong content types, bodies over
//! the profile's limit, non-UTF-8, unknown routes and methods, oversized headers, garbage
//! bearer tokens and raw garbage on the socket. Never a panic or a 500: the documented
//! error in the envelope (PP-ERR-1, PP-ERR-2, PP-ERR-3), and the server keeps serving
//! (each test ends with a good request).

mod common;

use std::time::Duration;

use common::{
    Reply, TestServer, USER, assert_no_server_errors, concurrently, playback_body, send,
    status_counts,
};
use reqwest::header::HeaderValue;
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Every endpoint that reads a body, as (method, path) with the test token where one is
/// needed. Bad bodies must get `invalid_request` on each.
struct BodyEndpoints {
    oauth: Vec<String>,
    playback: String,
}

fn body_endpoints(s: &TestServer) -> BodyEndpoints {
    BodyEndpoints {
        oauth: ["token", "device_code", "device_token", "refresh"]
            .iter()
            .map(|e| s.endpoint(e))
            .collect(),
        playback: s.endpoint_with("playback", "start"),
    }
}

/// The two body types the endpoints read, as `post_raw` takes a content type.
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const JSON: Option<&str> = Some("application/json");

async fn post_raw(
    s: &TestServer,
    url: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    token: Option<&str>,
) -> Reply {
    post_raw_from(&s.http, url, content_type, body, token).await
}

/// Posts a raw body and checks it is refused as 400 `invalid_request` (PP-ERR-1).
async fn assert_invalid_request(
    s: &TestServer,
    url: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    token: Option<&str>,
) {
    post_raw(s, url, content_type, body, token)
        .await
        .assert_error(400, "invalid_request");
}

async fn post_raw_from(
    client: &reqwest::Client,
    url: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
    token: Option<&str>,
) -> Reply {
    let mut request = client.post(url).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    send(request).await
}

/// PP-TOKEN-4, PP-API-3: malformed JSON is 400 `invalid_request` at every JSON endpoint.
#[tokio::test]
async fn malformed_json_is_invalid_request() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let e = body_endpoints(&s);
    let bodies: [&[u8]; 9] = [
        b"{",
        b"{\"client_id\":",
        b"not json",
        b"",
        b"{\"a\":1}}",
        b"{'a': 1}",
        b"\"just a string\"",
        b"[1, 2]",
        b"null",
    ];
    for (i, body) in bodies.into_iter().enumerate() {
        // One source address per body, so the per-IP device-code limit stays out of it.
        let from = common::client_from(std::net::Ipv4Addr::new(127, 0, 2, i as u8 + 1));
        for url in &e.oauth {
            let reply = post_raw_from(&from, url, JSON, body.to_vec(), None).await;
            reply.assert_error(400, "invalid_request");
        }
        assert_invalid_request(&s, &e.playback, JSON, body.to_vec(), Some(&token)).await;
    }
    // OAuth parameters are strings: objects and arrays are refused.
    for url in &e.oauth {
        for body in [
            json!({"client_id": {"nested": true}}),
            json!({"client_id": ["pp-tv", "pp-web"]}),
        ] {
            s.post_json(url, &body)
                .await
                .assert_error(400, "invalid_request");
        }
    }
    // Deeply nested JSON does not take the server down.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_invalid_request(&s, &e.playback, JSON, deep.into_bytes(), Some(&token)).await;
    s.assert_still_serving().await;
}

/// PP-TOKEN-4: malformed forms are `invalid_request`; a repeated parameter too (RFC 6749
/// §3.2).
#[tokio::test]
async fn malformed_forms_are_invalid_request() {
    let s = TestServer::start().await;
    let url = s.endpoint("token");
    let bodies: [&[u8]; 5] = [
        b"grant_type=refresh_token&grant_type=authorization_code&client_id=pp-tv",
        b"client_id=pp-tv&client_id=pp-web&grant_type=refresh_token",
        b"=&=&&&",
        b"grant_type",
        b"%%%%%",
    ];
    for body in bodies {
        assert_invalid_request(&s, &url, FORM, body.to_vec(), None).await;
    }
    for endpoint in ["device_code", "device_token", "refresh"] {
        assert_invalid_request(
            &s,
            &s.endpoint(endpoint),
            FORM,
            b"client_id=pp-tv&client_id=pp-tv".to_vec(),
            None,
        )
        .await;
    }
    s.assert_still_serving().await;
}

/// PP-TOKEN-4: any content type but a form or JSON is `invalid_request`; playback takes
/// JSON only (PP-API-3).
#[tokio::test]
async fn wrong_content_type_is_invalid_request() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let e = body_endpoints(&s);
    let form = b"client_id=pp-tv&device_code=x&refresh_token=y&grant_type=refresh_token".to_vec();
    for content_type in [
        Some("text/plain"),
        Some("application/xml"),
        Some("multipart/form-data; boundary=xyz"),
        Some("application/jsonx"),
        Some(""),
        None,
    ] {
        for url in &e.oauth {
            assert_invalid_request(&s, url, content_type, form.clone(), None).await;
        }
    }
    let body = serde_json::to_vec(&playback_body("m1", "2026-06-09T12:00:00Z", 0)).unwrap();
    for content_type in [Some("text/plain"), FORM, None] {
        assert_invalid_request(&s, &e.playback, content_type, body.clone(), Some(&token)).await;
    }
    // The same body with the right type is fine, with or without parameters.
    let reply = post_raw(
        &s,
        &e.playback,
        Some("application/json; charset=utf-8"),
        body,
        Some(&token),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
    s.assert_still_serving().await;
}

/// Bodies over the profile's limit are 413 with `invalid_request` in the envelope; a
/// body of exactly the limit is read.
#[tokio::test]
async fn bodies_over_the_limit_are_413_invalid_request() {
    let s = TestServer::start().await;
    let max = s.profile.http.max_body_bytes;
    let token = s.web_access_token(USER).await;
    let cookie = s.session_cookie(USER).await;
    let e = body_endpoints(&s);
    let over = |n: usize| {
        let mut body = b"client_id=pp-tv&pad=".to_vec();
        body.resize(n, b'a');
        body
    };
    for size in [max + 1, 4 * max, 16 * max] {
        for url in &e.oauth {
            let reply = post_raw(&s, url, FORM, over(size), None).await;
            reply.assert_error(413, "invalid_request");
        }
        let reply = post_raw(&s, &e.playback, JSON, over(size), Some(&token)).await;
        reply.assert_error(413, "invalid_request");
        // The browser and developer endpoints, and the test controls.
        for path in [
            "/login",
            "/oauth/authorize",
            "/activate",
            "/developer/apps",
            "/__test/clock/advance",
        ] {
            let request = s
                .http
                .post(s.url(path))
                .header("cookie", &cookie)
                .header("accept", "application/json");
            let reply = send(
                request
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(over(size)),
            )
            .await;
            reply.assert_error(413, "invalid_request");
        }
    }
    // Exactly the limit is read (and then refused for what it says, not for its size).
    let reply = post_raw(&s, &s.endpoint("device_code"), FORM, over(max), None).await;
    assert_ne!(reply.status, 413, "{}", reply.describe());
    s.assert_still_serving().await;
}

/// Sends raw bytes on a fresh connection and answers the status line and the raw answer
/// (empty when the server closed without one).
async fn raw_exchange(s: &TestServer, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(s.addr()).await.expect("connect");
    // The server may answer and close before reading everything; that is fine.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// A chunked body (no Content-Length) over the limit is 413 too.
#[tokio::test]
async fn chunked_body_over_the_limit_is_413() {
    let s = TestServer::start().await;
    let chunk = format!("8000\r\n{}\r\n", "a".repeat(0x8000));
    let chunks = s.profile.http.max_body_bytes / 0x8000 + 1;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{}0\r\n\r\n",
        s.profile.path("token"),
        chunk.repeat(chunks)
    );
    let answer = raw_exchange(&s, request.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "{}",
        &answer[..answer.len().min(300)]
    );
    assert!(answer.contains("\"invalid_request\""), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-punchplay-request-id: ppreq_"),
        "PP-ERR-2: {answer}"
    );
    s.assert_still_serving().await;
}

/// Non-UTF-8 bodies are `invalid_request`, as forms and as JSON.
#[tokio::test]
async fn non_utf8_bodies_are_invalid_request() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let e = body_endpoints(&s);
    for url in &e.oauth {
        assert_invalid_request(&s, url, FORM, b"client_id=pp-\xff\xfe".to_vec(), None).await;
        assert_invalid_request(
            &s,
            url,
            JSON,
            b"{\"client_id\": \"pp-\xff\"}".to_vec(),
            None,
        )
        .await;
    }
    let mut body = serde_json::to_vec(&playback_body("m1", "2026-06-09T12:00:00Z", 0)).unwrap();
    let at = body.iter().position(|&b| b == b'm').unwrap();
    body[at] = 0xc3; // the start of a two-byte sequence, cut short
    assert_invalid_request(&s, &e.playback, JSON, body, Some(&token)).await;
    assert_invalid_request(
        &s,
        &s.url("/login"),
        FORM,
        b"username=\xff&password=x".to_vec(),
        None,
    )
    .await;
    // Percent-encoded invalid UTF-8 in a path is just an unknown route.
    s.get(&s.url("/api/platform/v1/%ff%fe"))
        .await
        .assert_error(404, "not_found");
    s.assert_still_serving().await;
}

/// Unknown routes, and known paths with a method they do not serve, are 404 `not_found`
/// everywhere (PP-API-9 under the platform API; docs/reference-server.md elsewhere).
#[tokio::test]
async fn unknown_routes_and_methods_are_not_found() {
    let s = TestServer::start().await;
    let cases = [
        ("GET", "/nope"),
        ("GET", "/oauth/nope"),
        ("DELETE", "/oauth/authorize"),
        ("PUT", "/oauth/authorize"),
        ("PATCH", "/login"),
        ("GET", "/logout"),
        ("GET", "/developer/apps/pp-web/secret"),
        ("POST", "/developer/apps/pp-web/rename"),
        ("POST", "/"),
        ("GET", "/api"),
        ("GET", "/api/public/v1/users"),
        ("GET", "/api/public/v1/users/alice/extra"),
        ("POST", "/api/public/v1/users/alice"),
        ("OPTIONS", "/api/platform/v1/oauth/token"),
        ("GET", "/api/platform/v1/auth/device/code"),
        ("TRACE", "/api/platform/v1/me"),
        ("GET", "/__test/nope"),
        ("POST", "/__test/clock/rewind"),
    ];
    for (method, path) in cases {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let reply = send(s.http.request(method.clone(), s.url(path))).await;
        let body = reply.assert_error(404, "not_found");
        assert!(
            body["message"].as_str().unwrap().contains(path) || path.starts_with("/__test"),
            "{method} {path}: {body}"
        );
    }
    // HEAD of an unknown route: the status and the request id, no body.
    let response = s.http.head(s.url("/nope")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    common::check_request_id_header(response.headers(), "HEAD /nope");
    s.assert_still_serving().await;
}

/// Without `--test-controls` the controls do not exist: 404 `not_found`.
#[tokio::test]
async fn test_controls_are_off_by_default() {
    let s = TestServer::start_with(reference_server::ServerConfig::punchplay()).await;
    for path in [
        "/__test/clock/advance",
        "/__test/reset",
        "/__test/login",
        "/__test/fault",
    ] {
        s.post_json(&s.url(path), &json!({"seconds": 100, "username": "alice"}))
            .await
            .assert_error(404, "not_found");
    }
    s.assert_still_serving().await;
}

/// Headers over the profile's limit are 431 `invalid_request` in the envelope, whether one
/// header or many make them up.
#[tokio::test]
async fn headers_over_the_limit_are_431_invalid_request() {
    let s = TestServer::start().await;
    let max = s.profile.http.max_header_bytes;
    let big = HeaderValue::from_str(&"a".repeat(max + 10)).unwrap();
    let url = s.endpoint_with("public_user", USER);
    let reply = send(s.http.get(&url).header("x-padding", big.clone())).await;
    reply.assert_error(431, "invalid_request");
    let reply = send(
        s.http
            .post(s.endpoint("token"))
            .header("x-padding", big)
            .form(&[("grant_type", "x")]),
    )
    .await;
    reply.assert_error(431, "invalid_request");
    // Forty headers of 500 bytes.
    let mut request = s.http.get(&url);
    for i in 0..40 {
        request = request.header(format!("x-pad-{i}"), "b".repeat(500));
    }
    send(request).await.assert_error(431, "invalid_request");
    // A cookie header that size, too.
    let reply = send(
        s.http
            .get(s.url("/developer/apps"))
            .header("cookie", format!("pp_session={}", "c".repeat(max))),
    )
    .await;
    reply.assert_error(431, "invalid_request");
    // Just under the limit is fine.
    let reply = send(s.http.get(&url).header("x-padding", "a".repeat(max / 2))).await;
    assert_eq!(reply.status, 200);
    s.assert_still_serving().await;
}

/// Known gap: hyper refuses a head with more than 100 header fields itself, with a bare
/// 431 that has no request id and no envelope, although the head is far under the
/// profile's 16 KiB (PP-ERR-2). The fix is `http1::Builder::max_headers` in
/// `http/server.rs`, which costs a heap allocation per request; left to the server's owner.
#[tokio::test]
#[ignore = "PP-ERR-2 gap: >100 header fields get hyper's bare 431; see the comment"]
async fn many_small_headers_get_the_envelope() {
    let s = TestServer::start().await;
    let mut request = s.http.get(s.endpoint_with("public_user", USER));
    for i in 0..120 {
        request = request.header(format!("x-h{i}"), "v");
    }
    let reply = send(request).await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
}

/// PP-API-1: garbage in `Authorization` is 401 `invalid_token`, never a 500.
#[tokio::test]
async fn garbage_bearer_tokens_are_invalid_token() {
    let s = TestServer::start().await;
    let long = format!("Bearer {}", "x".repeat(10_000));
    let values: Vec<HeaderValue> = vec![
        HeaderValue::from_bytes(b"Bearer \xff\xfe\xfd").unwrap(),
        HeaderValue::from_bytes(b"\xffBearer abc").unwrap(),
        HeaderValue::from_static("Bearer\tppat_x"),
        HeaderValue::from_static("Bearer  ppat_x"),
        HeaderValue::from_static("Bearer ppat_x extra"),
        HeaderValue::from_static("Bearer ../../etc/passwd"),
        HeaderValue::from_static("Bearer ' OR 1=1 --"),
        HeaderValue::from_static("Bearer %00%ff"),
        HeaderValue::from_str(&long).unwrap(),
        HeaderValue::from_static(""),
        HeaderValue::from_static("    "),
    ];
    for endpoint in ["me", "now_playing", "events"] {
        for value in &values {
            let reply = send(
                s.http
                    .get(s.endpoint(endpoint))
                    .header("authorization", value.clone()),
            )
            .await;
            reply.assert_error(401, "invalid_token");
        }
    }
    for value in &values {
        let request = s
            .http
            .post(s.endpoint_with("playback", "start"))
            .header("authorization", value.clone());
        send(request.json(&playback_body("m1", "2026-06-09T12:00:00Z", 0)))
            .await
            .assert_error(401, "invalid_token");
    }
    // Two Authorization headers: not a valid bearer either.
    let token = s.web_access_token(USER).await;
    let request = s
        .http
        .get(s.endpoint("me"))
        .header("authorization", "Bearer nope")
        .header("authorization", format!("Bearer {token}"));
    let reply = send(request).await;
    assert_ne!(reply.status, 500, "{}", reply.describe());
    s.assert_still_serving().await;
}

/// The test controls refuse bad input in the envelope like everything else.
#[tokio::test]
async fn test_controls_refuse_bad_input() {
    let s = TestServer::start().await;
    let bad = [
        ("clock/advance", json!({"seconds": -1})),
        ("clock/advance", json!({"seconds": "ten"})),
        ("clock/advance", json!({})),
        ("clock/advance", json!({"seconds": 1e300})),
        ("mode", json!({"mode": "chaos"})),
        ("fault", json!({"fault": "no_such_fault"})),
        ("login", json!({"user": "alice"})),
        (
            "authorize/decide",
            json!({"url": "not a url", "username": "alice", "approve": true}),
        ),
    ];
    for (path, body) in bad {
        let reply = s.post_json(&s.url(&format!("/__test/{path}")), &body).await;
        reply.assert_error(400, "invalid_request");
    }
    let reply = s
        .post_json(&s.url("/__test/fault"), &json!({"fault": "no_such_fault"}))
        .await;
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("code_reusable"),
        "the names are listed"
    );
    // Well formed, but naming a user or an app that does not exist.
    for (path, body) in [
        ("/__test/login", json!({"username": "mallory"})),
        ("/__test/apps/nope/deactivate", json!({})),
        ("/__test/users/alice/apps/nope/revoke", json!({})),
        ("/__test/users/mallory/apps/pp-web/revoke", json!({})),
    ] {
        s.post_json(&s.url(path), &body)
            .await
            .assert_error(404, "not_found");
    }
    s.assert_still_serving().await;
}

/// Garbage that is not HTTP at all gets an answer from the HTTP layer or a closed
/// connection, and the server keeps serving everyone else.
#[tokio::test]
async fn raw_garbage_on_the_socket_does_not_hurt_the_server() {
    let s = TestServer::start().await;
    let requests: [&[u8]; 6] = [
        b"GARBAGE\r\n\r\n",
        b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
        b"GET /api/public/v1/users/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/platform/v1/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST /api/platform/v1/oauth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nConnection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
    ];
    for request in requests {
        let answer = raw_exchange(&s, request).await;
        assert!(!answer.starts_with("HTTP/1.1 5"), "{answer}");
    }
    // A body that never arrives in full: the client gives up, the server moves on.
    {
        let mut stream = TcpStream::connect(s.addr()).await.unwrap();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"a\"",
            s.profile.path("token")
        );
        stream.write_all(head.as_bytes()).await.unwrap();
    }
    // A head that never ends.
    let mut slow = TcpStream::connect(s.addr()).await.unwrap();
    slow.write_all(b"GET /api/platform/v1/me HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    s.assert_still_serving().await;
    drop(slow);
}

/// A shotgun of bad bodies at every body-reading endpoint, concurrently: no 5xx, every
/// answer in the envelope with its request id (checked by `send`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bad_body_anywhere_gets_a_server_error() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let cookie = s.session_cookie(USER).await;
    let mut urls: Vec<String> = ["token", "device_code", "device_token", "refresh"]
        .iter()
        .map(|e| s.endpoint(e))
        .collect();
    urls.extend(
        s.profile
            .punchplay_settings()
            .unwrap()
            .playback
            .actions
            .iter()
            .map(|a| s.endpoint_with("playback", a)),
    );
    for path in [
        "/login",
        "/logout",
        "/oauth/authorize",
        "/activate",
        "/developer/apps",
        "/developer/apps/pp-web/secret",
        "/developer/apps/nope/deactivate",
        "/settings/connected-apps/pp-web/revoke",
    ] {
        urls.push(s.url(path));
    }
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{".to_vec()),
        (
            "application/json",
            b"{\"media\": {\"id\": 1}, \"position_ms\": 1e999}".to_vec(),
        ),
        (
            "application/json",
            b"{\"name\": null, \"kind\": 5}".to_vec(),
        ),
        ("application/json", b"\xff\xfe".to_vec()),
        (
            "application/x-www-form-urlencoded",
            b"a=%ff&b=%&c==".to_vec(),
        ),
        (
            "application/x-www-form-urlencoded",
            b"authorization=x&decision=approve&user_code=ZZZZ-ZZZZ".to_vec(),
        ),
        ("text/plain", b"hello".to_vec()),
        ("application/octet-stream", vec![0u8; 2048]),
    ];
    let mut cases = Vec::new();
    for url in &urls {
        for (ct, body) in &bodies {
            cases.push((url.clone(), *ct, body.clone()));
        }
    }
    let replies = concurrently(cases.len(), |i| {
        let (url, ct, body) = &cases[i];
        s.http
            .post(url)
            .header("content-type", *ct)
            .header("cookie", &cookie)
            .bearer_auth(&token)
            .body(body.clone())
    })
    .await;
    assert_no_server_errors(&replies);
    assert!(
        replies.iter().all(|r| r.status < 500),
        "{:?}",
        status_counts(&replies)
    );
    s.assert_still_serving().await;
}

/// A Host header that does not name this server is refused with the envelope (issue 12
/// item 7), however long: it never reaches a verification_uri or its QR code (PP-DEVICE-2,
/// PP-ERR-3). The names of this server still work (tests/host.rs has the rest).
#[tokio::test]
async fn an_absurd_host_header_is_refused_not_used() {
    let s = TestServer::start().await;
    for host in [
        "a".repeat(3000),
        format!("{}:8080", "b.".repeat(1400)),
        "tv.example:8080".to_owned(),
    ] {
        let request = s
            .http
            .post(s.endpoint("device_code"))
            .header("host", host.as_str())
            .form(&[("client_id", "pp-tv")]);
        let reply = send(request).await;
        let body = reply.assert_error(400, "invalid_request");
        assert!(
            body["message"].as_str().unwrap().contains("--public-url"),
            "{body}"
        );
        assert!(body.get("verification_uri").is_none(), "{body}");
    }
    s.assert_still_serving().await;
}

/// A JSON body that repeats a member gets the answer a form that repeats a parameter gets
/// (issue 12 item 5), not last-wins.
#[tokio::test]
async fn repeated_json_members_are_refused_like_repeated_form_parameters() {
    let s = TestServer::start().await;
    let json_body = r#"{"client_id":"pp-tv","client_id":"pp-web"}"#;
    let reply = send(
        s.http
            .post(s.endpoint("device_code"))
            .header("content-type", "application/json")
            .body(json_body),
    )
    .await;
    let json_error = reply.assert_error(400, "invalid_request");
    let reply = send(
        s.http
            .post(s.endpoint("device_code"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("client_id=pp-tv&client_id=pp-web"),
    )
    .await;
    let form_error = reply.assert_error(400, "invalid_request");
    assert_eq!(json_error["message"], form_error["message"]);
    // One member each is fine.
    let reply = send(
        s.http
            .post(s.endpoint("device_code"))
            .header("content-type", "application/json")
            .body(r#"{"client_id":"pp-tv"}"#),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.describe());
}
