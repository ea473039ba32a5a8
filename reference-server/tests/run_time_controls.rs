//! The test controls that shape the server at run time (issue 21 items 2 and 6), in every
//! family: an app with the id, secret, scopes, redirect URIs and grant types a test
//! chooses serves real flows; a created user signs in and approves; a token minted in one
//! call is a real token; bad input is refused in the family's envelope with nothing
//! half-created; a reset removes it all; many tests creating and minting at once are safe.

mod common;

use base64::Engine as _;
use common::{
    ClientApp, Pkce, TestServer, assert_no_server_errors, concurrently, param, query_of,
    status_counts,
};
use reference_server::ServerConfig;
use serde_json::{Value, json};

async fn flexslot() -> TestServer {
    TestServer::start_with(ServerConfig {
        test_controls: true,
        ..ServerConfig::flexslot()
    })
    .await
}

async fn enterprise() -> TestServer {
    TestServer::start_with(ServerConfig {
        test_controls: true,
        ..ServerConfig::enterprise()
    })
    .await
}

/// A reply of any family (`common::send` reads punchplay's request-id header).
struct Answer {
    status: u16,
    body: Value,
}

impl Answer {
    fn describe(&self) -> String {
        format!("{} {}", self.status, self.body)
    }

    /// A 200's JSON.
    fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.describe());
        self.body.clone()
    }

    /// An error of `status` whose message says `says`.
    fn refused(&self, status: u16, says: &str) -> &Value {
        assert_eq!(self.status, status, "{}", self.describe());
        assert!(self.body.to_string().contains(says), "{}", self.describe());
        &self.body
    }
}

async fn call(request: reqwest::RequestBuilder) -> Answer {
    let reply = request.send().await.expect("an answer");
    let status = reply.status().as_u16();
    let text = reply.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status, body }
}

/// docs/test-controls.schema.json's definition `name`.
fn schema_of(name: &str) -> jsonschema::Validator {
    static SCHEMA: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/test-controls.schema.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("the schema"))
            .expect("the schema is JSON")
    });
    let mut schema = SCHEMA.clone();
    assert!(schema["$defs"].get(name).is_some(), "no definition {name}");
    schema["$ref"] = json!(format!("#/$defs/{name}"));
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// Fails unless `value` is valid as the schema's `name`.
fn assert_valid(name: &str, value: &Value) {
    let validator = schema_of(name);
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{name}: {value}: {errors:?}");
}

/// `POST /__test/{path}` with `body`. A control the schema describes has its body, and
/// its answer when it succeeds, checked against it.
async fn post(s: &TestServer, path: &str, body: Value) -> Answer {
    let answer = call(s.http.post(s.url(&format!("/__test/{path}"))).json(&body)).await;
    if ["apps", "users", "tokens"].contains(&path) && answer.status < 300 {
        assert_valid(&format!("{path}.request"), &body);
        assert_valid(&format!("{path}.answer"), &answer.body);
    }
    answer
}

/// A created thing: 201 and its JSON.
fn created(reply: &Answer) -> Value {
    assert_eq!(reply.status, 201, "{}", reply.describe());
    reply.body.clone()
}

fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// Flexslot: an app and a user made at run time run code + PKCE and refresh at the real
/// endpoints, and the app's grant types hold (FX-TOKEN-5).
#[tokio::test]
async fn a_created_flexslot_app_and_user_run_code_with_pkce_and_refresh() {
    let s = flexslot().await;
    let app = created(
        &post(
            &s,
            "apps",
            json!({
                "client_id": "my-planner",
                "client_secret": "planner-secret",
                "allowed_scopes": ["profile"],
                "redirect_uris": ["http://127.0.0.1:9911/callback"],
            }),
        )
        .await,
    );
    assert_eq!(app["client_secret"], "planner-secret");
    assert_eq!(app["kind"], "confidential");
    let user = created(
        &post(
            &s,
            "users",
            json!({"username": "carol", "display_name": "Carol C"}),
        )
        .await,
    );
    assert!(!user["password"].as_str().unwrap().is_empty());

    let pkce = Pkce::new();
    let authorize = format!(
        "{}?response_type=code&client_id=my-planner&redirect_uri={}&scope=profile&state=s1&code_challenge={}&code_challenge_method=S256",
        s.endpoint("authorize"),
        "http%3A%2F%2F127.0.0.1%3A9911%2Fcallback",
        pkce.challenge
    );
    let decided = post(
        &s,
        "authorize/decide",
        json!({"url": authorize, "username": "carol", "approve": true}),
    )
    .await
    .ok();
    let location = decided["location"].as_str().unwrap();
    let code = param(&query_of(location), "code")
        .expect("a code")
        .to_owned();
    let token = |form: Vec<(&'static str, String)>| {
        call(
            s.http
                .post(s.endpoint("token"))
                .header("authorization", basic("my-planner", "planner-secret"))
                .form(&form),
        )
    };
    let tokens = token(vec![
        ("grant_type", "authorization_code".into()),
        ("code", code),
        ("redirect_uri", "http://127.0.0.1:9911/callback".into()),
        ("code_verifier", pkce.verifier.clone()),
    ])
    .await
    .ok();
    let me = call(
        s.http
            .get(s.endpoint("me"))
            .bearer_auth(tokens["access_token"].as_str().unwrap()),
    )
    .await
    .ok();
    assert!(me.to_string().contains("carol"), "{me}");
    let refreshed = token(vec![
        ("grant_type", "refresh_token".into()),
        (
            "refresh_token",
            tokens["refresh_token"].as_str().unwrap().into(),
        ),
    ])
    .await
    .ok();
    assert_ne!(refreshed["access_token"], tokens["access_token"]);

    // An app configured for the code grant only gets no refresh token, minted or not.
    created(
        &post(
            &s,
            "apps",
            json!({"client_id": "code-only", "grant_types": ["authorization_code"]}),
        )
        .await,
    );
    let minted = post(
        &s,
        "tokens",
        json!({"client_id": "code-only", "username": "alice"}),
    )
    .await
    .ok();
    assert!(minted.get("refresh_token").is_none(), "{minted}");
    assert!(
        minted["access_token"]
            .as_str()
            .unwrap()
            .starts_with("fxat_")
    );
}

/// A minted token is a real one: the resource server takes it for that user and those
/// scopes, its refresh token rotates, and a scope the app may not have is refused.
#[tokio::test]
async fn a_minted_token_is_the_users_for_the_scopes_asked() {
    let s = TestServer::start().await;
    created(&post(&s, "users", json!({"username": "dana"})).await);
    let minted = post(
        &s,
        "tokens",
        json!({"client_id": "pp-web", "username": "dana", "scopes": ["profile:read"]}),
    )
    .await
    .ok();
    assert_eq!(minted["scope"], "profile:read");
    assert_eq!(minted["token_type"], "Bearer");
    let access = minted["access_token"].as_str().unwrap();
    assert!(access.starts_with("ppat_"), "{access}");
    let me = s.me(access).await.ok();
    assert_eq!(me["username"], "dana", "{me}");
    // playback:read was not minted.
    s.get_with_bearer(&s.endpoint("now_playing"), access)
        .await
        .assert_error(403, "insufficient_scope");
    let refreshed = s
        .refresh_at_token(&ClientApp::web(), minted["refresh_token"].as_str().unwrap())
        .await
        .ok();
    assert!(refreshed["access_token"].is_string());

    let refusals = [
        (
            json!({"client_id": "pp-spa", "username": "dana", "scopes": ["events:read"]}),
            400,
            "may be granted only",
        ),
        (
            json!({"client_id": "pp-web", "username": "nobody"}),
            404,
            "no user `nobody`",
        ),
        (
            json!({"client_id": "pp-inactive", "username": "dana"}),
            400,
            "inactive",
        ),
        (json!({"client_id": "pp-web"}), 400, "username is required"),
        (
            json!({"client_id": "pp-web", "username": "dana", "scopes": []}),
            400,
            "at least one scope",
        ),
    ];
    for (body, status, says) in refusals {
        post(&s, "tokens", body).await.refused(status, says);
    }
}

/// Enterprise: an app with its enterprise and company gets client-credential tokens at
/// the real endpoint with its secret, a minted token reads its company's tags, and an
/// inactive enterprise's app gets none (EN-TOKEN-3). Enterprise has no users.
#[tokio::test]
async fn a_created_enterprise_app_belongs_to_its_enterprise_and_company() {
    let s = enterprise().await;
    let app = created(
        &post(
            &s,
            "apps",
            json!({"client_id": "en-mine", "client_secret": "mine-secret", "enterprise": "acme", "company": "acme"}),
        )
        .await,
    );
    assert_eq!(app["enterprise"], "acme");
    assert_eq!(app["company"], "acme");
    let issued = call(
        s.http
            .post(s.endpoint("token"))
            .json(&json!({"client_id": "en-mine", "client_secret": "mine-secret"})),
    )
    .await
    .ok();
    let tags = |token: String| call(s.http.get(s.endpoint("tags")).bearer_auth(token));
    let token = issued["data"]["access_token"].as_str().unwrap().to_owned();
    let by_endpoint = tags(token).await.ok();
    let minted = post(&s, "tokens", json!({"client_id": "en-mine"}))
        .await
        .ok();
    assert!(
        minted["access_token"]
            .as_str()
            .unwrap()
            .starts_with("enat_")
    );
    let by_mint = tags(minted["access_token"].as_str().unwrap().to_owned())
        .await
        .ok();
    assert_eq!(by_mint, by_endpoint);

    created(
        &post(
            &s,
            "apps",
            json!({"client_id": "en-sleepy", "enterprise": "dormant"}),
        )
        .await,
    );
    post(&s, "tokens", json!({"client_id": "en-sleepy"}))
        .await
        .refused(400, "inactive");
    post(&s, "users", json!({"username": "carol"}))
        .await
        .refused(404, "no users");
    post(
        &s,
        "tokens",
        json!({"client_id": "en-mine", "username": "x"}),
    )
    .await
    .refused(400, "leave out username");
}

/// Issue 21 item 6: a duplicate id, an invalid redirect URI, unknown scopes, a grant type
/// the family does not serve and an unknown company are refused in the family's envelope
/// with a message that says what to do, and nothing of the refused app exists after.
#[tokio::test]
async fn bad_apps_are_refused_whole_in_the_family_envelope() {
    let s = TestServer::start().await;
    let refusals = [
        (
            json!({"client_id": "pp-web"}),
            "invalid_request",
            "exists already",
        ),
        (
            json!({"client_id": "new-one", "redirect_uris": ["http://evil.example/cb"]}),
            "invalid_request",
            "https, or http on a loopback",
        ),
        (
            json!({"client_id": "new-one", "allowed_scopes": ["profile:read", "admin"]}),
            "invalid_scope",
            "`admin` is not a scope",
        ),
        (
            json!({"client_id": "new-one", "grant_types": ["password"]}),
            "invalid_request",
            "leave grant_types out",
        ),
        (
            json!({"client_id": "new-one", "company": "acme"}),
            "invalid_request",
            "no enterprise or company",
        ),
        (
            json!({"client_id": "has space"}),
            "invalid_request",
            "client_id must be",
        ),
        (
            json!({"client_id": "new-one", "kind": "public", "client_secret": "x"}),
            "invalid_request",
            "public app has no client_secret",
        ),
        (
            json!({"client_id": "new-one", "scopes": []}),
            "invalid_request",
            "unknown field",
        ),
    ];
    // The schema refuses what the server refuses, where a schema can tell.
    for (body, _, _) in &refusals[5..] {
        assert!(!schema_of("apps.request").is_valid(body), "{body}");
    }
    for (body, code, says) in refusals {
        // Through common::send: punchplay's envelope with the request id (PP-ERR-1, 2).
        let reply = s.post_json(&s.url("/__test/apps"), &body).await;
        let answer = reply.assert_error(400, code);
        assert!(
            answer["message"].as_str().unwrap().contains(says),
            "{body}: {answer}"
        );
    }
    // Nothing half-created: new-one's id is free, and a valid app takes it.
    post(
        &s,
        "tokens",
        json!({"client_id": "new-one", "username": "alice"}),
    )
    .await
    .refused(404, "no app `new-one`");
    created(&post(&s, "apps", json!({"client_id": "new-one"})).await);
    post(&s, "users", json!({"username": "alice"}))
        .await
        .refused(400, "exists already");

    // Enterprise: its own envelope, and an unknown enterprise leaves no membership behind.
    let e = enterprise().await;
    let reply = post(
        &e,
        "apps",
        json!({"client_id": "en-x", "client_secret": "x", "enterprise": "nope"}),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.describe());
    assert_eq!(
        reply.body,
        json!({"message": "There is no enterprise `nope`; name one of acme, dormant, or leave enterprise out."})
    );
    let token = call(
        e.http
            .post(e.endpoint("token"))
            .json(&json!({"client_id": "en-x", "client_secret": "x"})),
    )
    .await;
    assert_eq!(token.status, 401, "{}", token.describe());
}

/// A reset removes what the controls made (apps, users, tokens) and keeps the fixtures;
/// without `--test-controls` none of them is served.
#[tokio::test]
async fn reset_removes_what_was_made_and_without_test_controls_nothing_is_served() {
    let s = TestServer::start().await;
    created(&post(&s, "apps", json!({"client_id": "temp-app"})).await);
    created(&post(&s, "users", json!({"username": "temp-user"})).await);
    let minted = post(
        &s,
        "tokens",
        json!({"client_id": "temp-app", "username": "temp-user"}),
    )
    .await
    .ok();
    post(&s, "reset", json!({})).await.ok();
    s.me(minted["access_token"].as_str().unwrap())
        .await
        .assert_error(401, "invalid_token");
    post(
        &s,
        "tokens",
        json!({"client_id": "temp-app", "username": "alice"}),
    )
    .await
    .refused(404, "no app");
    post(
        &s,
        "tokens",
        json!({"client_id": "pp-web", "username": "temp-user"}),
    )
    .await
    .refused(404, "no user");
    post(
        &s,
        "tokens",
        json!({"client_id": "pp-web", "username": "alice"}),
    )
    .await
    .ok();

    let closed = TestServer::start_with(ServerConfig::punchplay()).await;
    for path in ["apps", "users", "tokens"] {
        let reply = post(&closed, path, json!({"client_id": "x", "username": "x"})).await;
        assert_eq!(reply.status, 404, "{}", reply.describe());
    }
}

/// Issue 21 item 6: many tests creating and minting at once. 48 distinct apps all
/// appear; 16 racing for one client_id leave exactly one winner; 48 racing for 24 user
/// names leave 24; 64 concurrent mints give 64 distinct live tokens; never a server error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creation_and_minting_are_safe() {
    let s = TestServer::start().await;
    let url = s.url("/__test/apps");
    let apps = concurrently(48, |i| {
        s.http
            .post(&url)
            .json(&json!({"client_id": format!("racer-{i}")}))
    })
    .await;
    assert_no_server_errors(&apps);
    assert_eq!(status_counts(&apps), [(201, 48)]);
    let same = concurrently(16, |_| {
        s.http
            .post(&url)
            .json(&json!({"client_id": "one-id", "client_secret": "s"}))
    })
    .await;
    assert_no_server_errors(&same);
    assert_eq!(status_counts(&same), [(201, 1), (400, 15)]);

    let users_url = s.url("/__test/users");
    let users = concurrently(48, |i| {
        s.http
            .post(&users_url)
            .json(&json!({"username": format!("user-{}", i % 24)}))
    })
    .await;
    assert_eq!(status_counts(&users), [(201, 24), (400, 24)]);

    let tokens_url = s.url("/__test/tokens");
    let minted = concurrently(64, |i| {
        s.http.post(&tokens_url).json(&json!({
            "client_id": format!("racer-{}", i % 48),
            "username": format!("user-{}", i % 24),
        }))
    })
    .await;
    assert_no_server_errors(&minted);
    assert_eq!(status_counts(&minted), [(200, 64)]);
    let mut access: Vec<String> = minted
        .iter()
        .map(|r| r.json()["access_token"].as_str().unwrap().to_owned())
        .collect();
    for (i, token) in access.iter().enumerate().step_by(8) {
        let me = s.me(token).await.ok();
        assert_eq!(me["username"], format!("user-{}", i % 24));
    }
    access.sort();
    access.dedup();
    assert_eq!(access.len(), 64);
}
