//! The request recorder (issue 21 item 2): what `GET /__test/requests` and
//! `RunningServer::received_requests` show of the requests a server answered.

mod common;

use common::{ClientApp, TestServer, USER};
use reference_server::ServerConfig;
use serde_json::{Value, json};

async fn requests(s: &TestServer, query: &str) -> Value {
    s.get(&s.url(&format!("/__test/requests{query}")))
        .await
        .ok()
}

/// A code login and a `GET me` are recorded with their method, path, status, client and
/// request id, on the server's clock; no secret, code or token appears; the test controls
/// themselves are not recorded; the filter, `after` and `DELETE` work.
#[tokio::test]
async fn answered_requests_are_recorded_without_secrets() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let tokens = s.code_login(&web, USER, None).await;
    // A browser sent to the authorize URL (the sign-in form answers it).
    let pkce = common::Pkce::new();
    let shown = s.get(&s.authorize_url(&web, &pkce, None, Some("st"))).await;
    assert_eq!(shown.status, 200);
    let me = s.me(&tokens.access_token).await;
    assert_eq!(me.status, 200);

    let all = requests(&s, "?client_id=pp-web").await;
    let listed = all["requests"].as_array().expect("requests");
    let token = listed
        .iter()
        .find(|r| r["path"] == s.profile.path("token"))
        .expect("the token request is recorded");
    assert_eq!(token["method"], "POST");
    assert_eq!(token["status"], 200);
    assert_eq!(token["client_id"], "pp-web");
    assert!(token["request_id"].as_str().unwrap().starts_with("ppreq_"));
    let last = listed.last().expect("GET me");
    assert_eq!(last["path"], s.profile.path("me"));
    assert_eq!(
        last["client_id"], "pp-web",
        "a bearer request is its token's app's"
    );
    assert_eq!(last["request_id"], me.request_id());
    assert!(chrono::DateTime::parse_from_rfc3339(last["at"].as_str().unwrap()).is_ok());
    let authorize = listed
        .iter()
        .find(|r| r["path"] == s.profile.path("authorize"))
        .expect("the authorize request is recorded, by its query's client_id");
    assert!(
        authorize["query"]
            .as_str()
            .unwrap()
            .contains("code_challenge=")
    );

    let text = all.to_string();
    for secret in [
        tokens.access_token.as_str(),
        tokens.refresh_token.as_str(),
        web.secret.as_deref().unwrap(),
    ] {
        assert!(
            !text.contains(secret),
            "the recorder shows a secret: {text}"
        );
    }
    assert!(!text.contains("/__test/"), "test controls are not recorded");
    assert_eq!(all["dropped"], 0);

    let none = requests(&s, "?client_id=pp-tv").await;
    assert_eq!(none["requests"], json!([]));
    let seq = last["seq"].as_u64().unwrap();
    let after = requests(&s, &format!("?after={}", seq - 1)).await;
    assert_eq!(after["requests"].as_array().unwrap().len(), 1);

    let cleared = s
        .http
        .delete(s.url("/__test/requests"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), 200);
    let cleared: Value = cleared.json().await.unwrap();
    assert_eq!(cleared["cleared"], listed.len());
    assert_eq!(requests(&s, "").await["requests"], json!([]));
}

/// A bad query is a clear 400, never a silent empty list.
#[tokio::test]
async fn a_bad_requests_query_is_refused() {
    let s = TestServer::start().await;
    for query in ["?client=pp-web", "?after=-1", "?client_id=a&client_id=b"] {
        s.get(&s.url(&format!("/__test/requests{query}")))
            .await
            .assert_error(400, "invalid_request");
    }
}

/// Without `--test-controls` the recorder is not served, but the Rust handle reads it.
#[tokio::test]
async fn the_recorder_is_served_only_with_test_controls() {
    let server = reference_server::spawn(ServerConfig::punchplay())
        .await
        .unwrap();
    let url = format!("{}/__test/requests", server.base_url());
    let reply = common::send(common::client().get(&url)).await;
    assert_eq!(reply.status, 404);
    let recorded = server.received_requests(None);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].path.as_ref(), "/__test/requests");
    assert_eq!(recorded[0].status, 404);
    assert!(server.received_requests(Some("pp-web")).is_empty());
    server.clear_received_requests();
    assert!(server.received_requests(None).is_empty());
}
