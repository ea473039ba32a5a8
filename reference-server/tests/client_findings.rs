//! Client observation (issue 22 item 4): each rule proven both ways. A scripted client
//! that breaks exactly one rule gets exactly that finding, with the request ids involved;
//! the same client behaving gets none. Times are the server's clock, moved by the test
//! control.

mod common;

use common::{ClientApp, Pkce, Reply, TestServer, Tokens, USER, form, send};
use reference_server::ServerConfig;
use serde_json::{Value, json};

/// The findings of `client` (all when `None`) as `GET /__test/findings` answers them.
async fn findings(s: &TestServer, client: Option<&str>) -> Vec<Value> {
    let query = client
        .map(|c| format!("?client_id={c}"))
        .unwrap_or_default();
    let answer = s
        .get(&s.url(&format!("/__test/findings{query}")))
        .await
        .ok();
    answer["findings"].as_array().expect("findings").clone()
}

/// The rule ids of `client`'s findings, in order.
async fn rules(s: &TestServer, client: Option<&str>) -> Vec<String> {
    findings(s, client)
        .await
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect()
}

/// The one finding there is, of `rule`, with these request ids.
async fn assert_only_finding(s: &TestServer, client: Option<&str>, rule: &str, ids: &[&str]) {
    let all = findings(s, None).await;
    assert_eq!(all.len(), 1, "exactly one finding, {rule}: {all:#?}");
    let f = &all[0];
    assert_eq!(f["rule"], rule, "{f:#}");
    assert_eq!(f["client_id"].as_str(), client, "{f:#}");
    let got: Vec<&str> = f["request_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(got, ids, "{f:#}");
    assert!(f["source"].as_str().unwrap().len() > 5 && f["instead"].is_string());
}

async fn assert_no_findings(s: &TestServer) {
    let all = findings(s, None).await;
    assert!(all.is_empty(), "no findings expected: {all:#?}");
}

fn web() -> ClientApp {
    ClientApp::web()
}

/// A user's tokens for pp-web through code + PKCE S256 (the client crate's flow).
async fn login(s: &TestServer) -> Tokens {
    s.code_login(&web(), USER, None).await
}

// --- the well-behaved client ---

/// Every punchplay flow of the contract's client crate, done right, with pauses where
/// the rules ask for them: no finding at all.
#[tokio::test]
async fn a_well_behaved_client_has_no_findings() {
    let s = TestServer::start().await;
    let tokens = login(&s).await;
    assert_eq!(s.me(&tokens.access_token).await.status, 200);
    let refreshed = Tokens::from_reply(&s.refresh_at_token(&web(), &tokens.refresh_token).await);
    assert_eq!(s.me(&refreshed.access_token).await.status, 200);
    let tv = ClientApp::tv();
    let device = s.device_login(&tv, USER, None).await;
    s.advance(1.0).await;
    Tokens::from_reply(&s.refresh_at_auth(&tv, &device.refresh_token).await);
    // A device flow polled at its interval while pending.
    let start = s.device_start(&tv, None).await;
    let code = start["device_code"].as_str().unwrap();
    for _ in 0..3 {
        s.device_poll(&tv, code)
            .await
            .assert_error(400, "authorization_pending");
        s.advance(5.0).await;
    }
    // One 401 after a revocation is how a client learns; it then signs in again.
    s.control("users/alice/apps/pp-web/revoke", json!({})).await;
    assert_eq!(s.me(&refreshed.access_token).await.status, 401);
    login(&s).await;
    assert_no_findings(&s).await;
    assert!(!rules(&s, Some("pp-web")).await.iter().any(|_| true));
}

// --- PKCE (PP-AUTHZ-6, RFC 9700 §2.1.1) ---

#[tokio::test]
async fn authorization_without_pkce_is_a_finding() {
    let s = TestServer::start().await;
    let app = web();
    let url = s.authorize_url_from(&[
        ("response_type", "code"),
        ("client_id", &app.client_id),
        ("redirect_uri", &app.redirect_uri),
        ("state", "s1"),
    ]);
    let reply = s.get(&url).await;
    assert_only_finding(&s, Some("pp-web"), "pkce-s256", &[reply.request_id()]).await;
}

#[tokio::test]
async fn authorization_with_plain_pkce_is_a_finding_and_s256_is_not() {
    let s = TestServer::start().await;
    let app = web();
    let pkce = Pkce::new();
    // S256, the right way: nothing.
    s.get(&s.authorize_url(&app, &pkce, None, Some("s"))).await;
    assert_no_findings(&s).await;
    let url = s.authorize_url_from(&[
        ("response_type", "code"),
        ("client_id", &app.client_id),
        ("redirect_uri", &app.redirect_uri),
        (
            "code_challenge",
            "a-plain-challenge-that-is-long-enough-to-pass-43-chars",
        ),
        ("code_challenge_method", "plain"),
    ]);
    let reply = s.get(&url).await;
    assert_only_finding(&s, Some("pp-web"), "pkce-s256", &[reply.request_id()]).await;
}

// --- redirect_uri (RFC 6749 §4.1.3) ---

#[tokio::test]
async fn a_different_redirect_uri_at_the_token_endpoint_is_a_finding() {
    let s = TestServer::start().await;
    let app = web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&app, USER, &pkce, None).await;
    let mut body = s.exchange_form(&app, &code, &pkce.verifier);
    for (k, v) in &mut body {
        if k == "redirect_uri" {
            *v = "http://127.0.0.1:8765/callback/".into();
        }
    }
    let reply = s.post_form(&s.endpoint("token"), &body).await;
    reply.assert_error(400, "invalid_grant");
    assert_only_finding(
        &s,
        Some("pp-web"),
        "redirect-uri-mismatch",
        &[reply.request_id()],
    )
    .await;
}

// --- a public client's secret (PP-APP-3) ---

#[tokio::test]
async fn a_public_client_sending_a_secret_is_a_finding() {
    let s = TestServer::start().await;
    let body = form(&[("client_id", "pp-tv"), ("client_secret", "anything")]);
    let reply = s.post_form(&s.endpoint("device_code"), &body).await;
    reply.assert_error(401, "invalid_client");
    assert_only_finding(
        &s,
        Some("pp-tv"),
        "public-client-secret",
        &[reply.request_id()],
    )
    .await;
    // Without the secret: nothing more.
    s.device_start(&ClientApp::tv(), None).await;
    assert_eq!(findings(&s, None).await.len(), 1);
}

// --- credentials in the query (RFC 6750 §2.3, RFC 9700 §4.3.2) ---

#[tokio::test]
async fn a_credential_in_the_query_string_is_a_finding() {
    let s = TestServer::start().await;
    let tokens = login(&s).await;
    assert_no_findings(&s).await;
    let url = format!("{}?access_token={}", s.endpoint("me"), tokens.access_token);
    let reply = send(s.http.get(&url).bearer_auth(&tokens.access_token)).await;
    assert_only_finding(
        &s,
        Some("pp-web"),
        "credentials-in-query",
        &[reply.request_id()],
    )
    .await;
    let listed = s
        .get(&s.url("/__test/requests?client_id=pp-web"))
        .await
        .ok();
    assert!(
        !listed.to_string().contains(&tokens.access_token),
        "the recorder redacts it"
    );
}

// --- refresh tokens (seed 004, PP-REFRESH-2..4) ---

#[tokio::test]
async fn one_refresh_token_sent_twice_within_a_second_is_a_race_not_a_replay() {
    let s = TestServer::start().await;
    let tokens = login(&s).await;
    let first = s.refresh_at_token(&web(), &tokens.refresh_token).await;
    let second = s.refresh_at_token(&web(), &tokens.refresh_token).await;
    assert_eq!(first.status, 200);
    second.assert_error(400, "invalid_grant");
    assert_only_finding(
        &s,
        Some("pp-web"),
        "concurrent-refresh",
        &[first.request_id(), second.request_id()],
    )
    .await;
}

#[tokio::test]
async fn a_rotated_refresh_token_replayed_later_is_a_finding() {
    let s = TestServer::start().await;
    let tokens = login(&s).await;
    let first = s.refresh_at_token(&web(), &tokens.refresh_token).await;
    assert_eq!(first.status, 200);
    s.advance(2.0).await;
    let replay = s.refresh_at_token(&web(), &tokens.refresh_token).await;
    replay.assert_error(400, "invalid_grant");
    assert_only_finding(
        &s,
        Some("pp-web"),
        "refresh-replay",
        &[first.request_id(), replay.request_id()],
    )
    .await;
}

/// Refreshes while the access token has more than half its life: three in ten minutes
/// are tolerated, the fourth is a storm.
#[tokio::test]
async fn a_refresh_storm_is_a_finding() {
    let s = TestServer::start().await;
    let mut tokens = login(&s).await;
    let mut ids = Vec::new();
    for n in 1..=4 {
        s.advance(2.0).await;
        let reply = s.refresh_at_token(&web(), &tokens.refresh_token).await;
        ids.push(reply.request_id().to_owned());
        tokens = Tokens::from_reply(&reply);
        if n == 3 {
            assert_no_findings(&s).await;
        }
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_only_finding(&s, Some("pp-web"), "refresh-storm", &ids).await;
}

/// Refreshing when the access token is past half its life is what clients should do.
#[tokio::test]
async fn refreshing_near_expiry_is_no_storm() {
    let s = TestServer::start().await;
    let mut tokens = login(&s).await;
    for _ in 0..5 {
        s.advance(1900.0).await;
        tokens = Tokens::from_reply(&s.refresh_at_token(&web(), &tokens.refresh_token).await);
    }
    assert_no_findings(&s).await;
}

// --- dead access tokens (RFC 6750 §3.1) ---

#[tokio::test]
async fn a_revoked_access_token_used_twice_is_a_finding() {
    let s = TestServer::start().await;
    let tokens = login(&s).await;
    assert_eq!(s.me(&tokens.access_token).await.status, 200);
    s.control("users/alice/apps/pp-web/revoke", json!({})).await;
    let first = s.me(&tokens.access_token).await;
    assert_eq!(first.status, 401);
    assert_no_findings(&s).await;
    let second = s.me(&tokens.access_token).await;
    assert_only_finding(
        &s,
        Some("pp-web"),
        "dead-token",
        &[first.request_id(), second.request_id()],
    )
    .await;
    // The recorder attributes the dead token's requests to its app.
    let listed = s
        .get(&s.url("/__test/requests?client_id=pp-web"))
        .await
        .ok();
    assert!(listed.to_string().contains(second.request_id()));
}

#[tokio::test]
async fn an_expired_access_token_used_twice_is_a_finding() {
    let s = TestServer::start().await;
    let tokens = login(&s).await;
    assert_eq!(s.me(&tokens.access_token).await.status, 200);
    s.advance(3601.0).await;
    let first = s.me(&tokens.access_token).await;
    let second = s.me(&tokens.access_token).await;
    assert_eq!((first.status, second.status), (401, 401));
    assert_only_finding(
        &s,
        Some("pp-web"),
        "dead-token",
        &[first.request_id(), second.request_id()],
    )
    .await;
}

// --- device polling (PP-DEVICE-1, RFC 8628 §3.5) ---

#[tokio::test]
async fn polling_faster_than_the_interval_twice_is_a_finding() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let start = s.device_start(&tv, None).await;
    let code = start["device_code"].as_str().unwrap();
    s.device_poll(&tv, code).await;
    s.advance(2.0).await;
    let early = s.device_poll(&tv, code).await;
    assert_no_findings(&s).await;
    s.advance(2.0).await;
    let again = s.device_poll(&tv, code).await;
    assert_only_finding(
        &s,
        Some("pp-tv"),
        "device-poll-interval",
        &[early.request_id(), again.request_id()],
    )
    .await;
}

// --- Retry-After (PP-RATE-2, PP-RATE-3) ---

/// `device/code` allows 10 per hour per IP: the 11th is refused; two more before its
/// Retry-After are the finding, with the refusal's id first.
#[tokio::test]
async fn requests_before_retry_after_are_a_finding() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let send_one = || async {
        s.post_form(&s.endpoint("device_code"), &tv.credentials())
            .await
    };
    for _ in 0..10 {
        assert_eq!(send_one().await.status, 200);
    }
    let refused = send_one().await;
    refused.assert_error(429, "rate_limited");
    let early: Vec<Reply> = vec![send_one().await, send_one().await];
    assert_only_finding(
        &s,
        Some("pp-tv"),
        "retry-after",
        &[
            refused.request_id(),
            early[0].request_id(),
            early[1].request_id(),
        ],
    )
    .await;
}

#[tokio::test]
async fn waiting_for_retry_after_is_no_finding() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let send_one = || async {
        s.post_form(&s.endpoint("device_code"), &tv.credentials())
            .await
    };
    for _ in 0..10 {
        send_one().await;
    }
    let refused = send_one().await;
    let wait: f64 = refused.header("retry-after").unwrap().parse().unwrap();
    s.advance(wait).await;
    assert_eq!(send_one().await.status, 200);
    assert_no_findings(&s).await;
}

// --- repeated failures (seed 000) ---

#[tokio::test]
async fn the_same_failing_request_repeated_three_times_is_a_finding() {
    let s = TestServer::start().await;
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "pprt_not-a-token"),
        ("client_id", "pp-web"),
        ("client_secret", "wrong"),
    ]);
    let mut ids = Vec::new();
    for n in 1..=4 {
        let reply = s.post_form(&s.endpoint("token"), &body).await;
        reply.assert_error(401, "invalid_client");
        ids.push(reply.request_id().to_owned());
        if n == 3 {
            assert_no_findings(&s).await;
        }
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_only_finding(&s, Some("pp-web"), "repeated-failure", &ids).await;
}

#[tokio::test]
async fn failures_a_minute_apart_are_no_finding() {
    let s = TestServer::start().await;
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "pprt_not-a-token"),
        ("client_id", "pp-web"),
        ("client_secret", "pp-web-secret"),
    ]);
    for _ in 0..5 {
        s.post_form(&s.endpoint("token"), &body)
            .await
            .assert_error(400, "invalid_grant");
        s.advance(31.0).await;
    }
    assert_no_findings(&s).await;
}

// --- the tools' own traffic ---

/// With `exclude_tools`, a request naming a tool is recorded but not judged.
#[tokio::test]
async fn tool_traffic_can_be_left_out() {
    let mut config = ServerConfig {
        test_controls: true,
        ..ServerConfig::punchplay()
    };
    config.observation.exclude_tools = true;
    let s = TestServer::start_with(config).await;
    let app = web();
    let url = s.authorize_url_from(&[
        ("response_type", "code"),
        ("client_id", &app.client_id),
        ("redirect_uri", &app.redirect_uri),
    ]);
    let reply = send(s.http.get(&url).header("user-agent", "conformance/test")).await;
    assert_no_findings(&s).await;
    let listed = s.get(&s.url("/__test/requests")).await.ok();
    let entry = &listed["requests"][0];
    assert_eq!(entry["request_id"], reply.request_id());
    assert_eq!(entry["tool"], "conformance/test");
    // Without the header the same request is judged.
    s.get(&url).await;
    assert_eq!(rules(&s, None).await, ["pkce-s256"]);
}

// --- where integrators see them ---

/// The findings page (test controls), the JSON report and JUnit with one test case per
/// rule per client, and `DELETE /__test/findings`.
#[tokio::test]
async fn findings_show_as_a_page_json_and_junit() {
    let s = TestServer::start().await;
    login(&s).await;
    let app = web();
    let url = s.authorize_url_from(&[
        ("response_type", "code"),
        ("client_id", &app.client_id),
        ("redirect_uri", &app.redirect_uri),
    ]);
    s.get(&url).await;
    let page = send(
        s.http
            .get(s.url("/__test/findings"))
            .header("accept", "text/html"),
    )
    .await;
    assert_eq!(page.status, 200);
    assert!(page.is_html());
    assert!(page.text().contains("pkce-s256") && page.text().contains("RFC 9700"));

    let report = s.get(&s.url("/__test/client-report")).await.ok();
    assert_eq!(report["findings"].as_array().unwrap().len(), 1);
    let web_rules = &report["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "pp-web")
        .expect("pp-web is reported")["rules"];
    assert_eq!(
        web_rules.as_array().unwrap().len(),
        11,
        "every punchplay rule is a row"
    );
    let junit = s.get(&s.url("/__test/client-report?format=junit")).await;
    let xml = junit.text();
    assert!(xml.contains("<testcase name=\"pkce-s256\""), "{xml}");
    assert_eq!(xml.matches("<failure").count(), 1, "{xml}");
    assert_eq!(xml.matches("<testcase").count(), 11, "{xml}");

    let cleared = send(s.http.delete(s.url("/__test/findings"))).await.ok();
    assert_eq!(cleared["cleared"], 1);
    assert_no_findings(&s).await;
}

// --- enterprise ---

async fn en_token(http: &reqwest::Client, base: &str) -> String {
    let r: Value = http
        .post(format!("{base}/oauth/access-token"))
        .json(&json!({"client_id": "en-acme", "client_secret": "en-acme-secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["data"]["access_token"]
        .as_str()
        .expect("a token")
        .to_owned()
}

async fn en_tags(http: &reqwest::Client, base: &str, token: &str) -> u16 {
    let r = http.get(format!("{base}/api/tags")).bearer_auth(token);
    r.send().await.unwrap().status().as_u16()
}

/// Enterprise's documented calls in order, with one 401 after revocation to learn from:
/// no finding; the revoked token sent once more is the dead-token finding, of its app.
#[tokio::test]
async fn enterprise_clients_are_observed_too() {
    let server = reference_server::spawn(ServerConfig::enterprise())
        .await
        .unwrap();
    let (http, base) = (common::client(), server.base_url());
    let token = en_token(&http, &base).await;
    assert_eq!(en_tags(&http, &base, &token).await, 200);
    for path in ["/oauth/introspect", "/oauth/revoke"] {
        let r = http
            .post(format!("{base}{path}"))
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let first = en_tags(&http, &base, &token).await;
    assert_eq!(first, 401);
    let fresh = en_token(&http, &base).await;
    assert_eq!(en_tags(&http, &base, &fresh).await, 200);
    assert!(server.client_findings(None).is_empty());

    let again = en_tags(&http, &base, &token).await;
    let found = server.client_findings(None);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule.id, "dead-token");
    assert_eq!(found[0].client_id.as_deref(), Some("en-acme"));
    let ids: Vec<&str> = found[0].request_ids.iter().map(|i| &**i).collect();
    // Enterprise has no request-id header: the recorder's ids are the server's own.
    let recorded = server.received_requests(Some("en-acme"));
    let last_two: Vec<Box<str>> = recorded
        .iter()
        .filter(|e| e.status == 401)
        .map(|e| e.finding_id())
        .collect();
    let last_two: Vec<&str> = last_two.iter().map(|i| &**i).collect();
    assert_eq!(ids, last_two);
    assert_eq!(again, 401);
}

/// The developer page shows an app's findings to its signed-in owner, and to no one else.
#[tokio::test]
async fn the_developer_page_shows_an_apps_findings_to_its_owner_only() {
    let s = TestServer::start().await;
    let alice = s.session_cookie(USER).await;
    let created = s
        .register_app(
            &alice,
            &json!({"name": "Observed", "kind": "public",
                    "redirect_uris": ["http://127.0.0.1:9999/cb"], "allowed_scopes": ["profile:read"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.describe());
    let app = ClientApp::registered(&created.json());
    let url = s.authorize_url_from(&[
        ("response_type", "code"),
        ("client_id", &app.client_id),
        ("redirect_uri", &app.redirect_uri),
    ]);
    let refused = s.get(&url).await;
    let page_of = |cookie: String| {
        let s = &s;
        async move {
            let r = s
                .http
                .get(s.url("/developer/apps"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            r.text().await.unwrap()
        }
    };
    let own = page_of(alice).await;
    assert!(own.contains("How your apps behaved"), "{own}");
    assert!(own.contains("pkce-s256") && own.contains(refused.request_id()));
    let bob = s.session_cookie("bob").await;
    let other = page_of(bob).await;
    assert!(!other.contains("pkce-s256"), "{other}");
}
