//! Apps: developer registration as JSON and as pages (PP-APP-7, PP-APP-8), deactivation
//! (PP-APP-5), and the connected-apps revoke (PP-REVOKE-1).

mod common;

use common::{
    ClientApp, OTHER_USER, Pkce, Reply, TestServer, Tokens, USER, browser, hidden_input, page_csrf,
    param, send,
};
use serde_json::{Value, json};

/// A developer-page request as JSON, signed in with `cookie`.
async fn dev(
    s: &TestServer,
    cookie: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = s
        .http
        .request(method.clone(), s.url(path))
        .header("cookie", cookie)
        .header("accept", "application/json");
    // A POST always sends JSON, as a script does: only a JSON body needs no CSRF token.
    let body = body.or_else(|| (method == reqwest::Method::POST).then(|| json!({})));
    if let Some(body) = body {
        request = request.json(&body);
    }
    send(request).await
}

/// The signed-in user's apps, `GET /developer/apps` as JSON, which must be a 200 (PP-APP-7).
async fn list_developer_apps(s: &TestServer, cookie: &str) -> Value {
    dev(s, cookie, reqwest::Method::GET, "/developer/apps", None)
        .await
        .ok()
}

/// The signed-in user's connected apps, `GET /settings/connected-apps` as JSON, which must
/// be a 200 (PP-REVOKE-1).
async fn list_connected_apps(s: &TestServer, cookie: &str) -> Value {
    dev(
        s,
        cookie,
        reqwest::Method::GET,
        "/settings/connected-apps",
        None,
    )
    .await
    .ok()
}

/// PP-APP-1, PP-APP-7: a signed-in user registers a confidential app as JSON (a client_id,
/// a name, allowed_scopes, redirect URIs, a kind), sees its secret once, and the app works
/// at once with its own redirect URI and scopes.
#[tokio::test]
async fn registered_confidential_app_gets_a_secret_once_and_works() {
    let s = TestServer::start().await;
    let cookie = s.session_cookie(USER).await;
    let reply = s.register_app(&cookie, &json!({"name": "My Couch App", "kind": "confidential", "redirect_uris": ["http://127.0.0.1:9911/cb", "https://couch.example/cb"], "allowed_scopes": ["profile:read", "playback:read"]}),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.describe());
    assert_eq!(
        reply.header("cache-control"),
        Some("no-store"),
        "the one answer that shows the secret must not be cached"
    );
    let created = reply.json();
    assert_eq!(created["name"], "My Couch App");
    assert_eq!(created["kind"], "confidential");
    assert_eq!(created["active"], true);
    assert_eq!(
        created["allowed_scopes"],
        json!(["profile:read", "playback:read"])
    );
    assert_eq!(
        created["redirect_uris"],
        json!(["http://127.0.0.1:9911/cb", "https://couch.example/cb"])
    );
    let secret = created["client_secret"]
        .as_str()
        .expect("PP-APP-7: the secret, shown at creation");
    assert!(!secret.is_empty());

    // Listed without the secret; shown once means once.
    let list = list_developer_apps(&s, &cookie).await;
    let apps = list["apps"].as_array().expect("apps");
    assert_eq!(apps.len(), 1, "only the user's own apps: {list}");
    assert_eq!(apps[0]["client_id"], created["client_id"]);
    assert!(
        !list.to_string().contains(secret),
        "PP-APP-7: the secret is never shown again"
    );

    // It works: code flow with its redirect URI; scopes within allowed_scopes.
    let app = ClientApp::registered(&created);
    let tokens = s.code_login(&app, USER, None).await;
    assert_eq!(tokens.scope, "profile:read playback:read", "PP-SCOPE-2");
    let url = s.authorize_url(&app, &Pkce::new(), Some("playback:write"), None);
    assert_eq!(
        param(
            &common::query_of(&s.decide(&url, USER, true).await),
            "error"
        ),
        Some("invalid_scope"),
        "PP-SCOPE-3"
    );
    // Its second redirect URI works too; an unregistered one does not (PP-AUTHZ-5).
    let mut second = app.clone();
    second.redirect_uri = "https://couch.example/cb".into();
    s.code_login(&second, OTHER_USER, None).await;
    let mut unregistered = app.clone();
    unregistered.redirect_uri = "http://127.0.0.1:9912/cb".into();
    assert_eq!(
        s.get(&s.authorize_url(&unregistered, &Pkce::new(), None, None))
            .await
            .status,
        400
    );
    // The device flow with its secret (PP-APP-2).
    s.device_login(&app, USER, None).await;
}

/// PP-APP-7: a public app gets no secret and uses `client_id` only.
#[tokio::test]
async fn registered_public_app_has_no_secret() {
    let s = TestServer::start().await;
    let cookie = s.session_cookie(USER).await;
    let reply = s.register_app(&cookie, &json!({"name": "Pocket", "kind": "public", "redirect_uris": ["http://localhost:7000/cb"], "allowed_scopes": ["profile:read"]})).await;
    assert_eq!(reply.status, 201, "{}", reply.describe());
    let created = reply.json();
    assert!(
        created.get("client_secret").is_none_or(Value::is_null),
        "{created}"
    );
    let app = ClientApp::registered(&created);
    assert_eq!(s.code_login(&app, USER, None).await.scope, "profile:read");
    // A public app has no secret to rotate.
    let path = format!("/developer/apps/{}/secret", app.client_id);
    dev(&s, &cookie, reqwest::Method::POST, &path, None)
        .await
        .assert_error(400, "invalid_request");
}

/// PP-APP-7: redirect URIs must be https or loopback http; scopes must be known; the
/// request must be well formed.
#[tokio::test]
async fn registration_refuses_bad_redirect_uris_scopes_and_fields() {
    let s = TestServer::start().await;
    let cookie = s.session_cookie(USER).await;
    let base = json!({"name": "X", "kind": "public", "redirect_uris": ["https://ok.example/cb"], "allowed_scopes": ["profile:read"]});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    for uri in [
        "http://couch.example/cb",
        "https://ok.example/cb#frag",
        "/relative",
        "ftp://127.0.0.1/cb",
        "not a url",
        "javascript:alert(1)",
        "https://user:pw@ok.example/cb",
    ] {
        let reply = s
            .register_app(&cookie, &with("redirect_uris", json!([uri])))
            .await;
        reply.assert_error(400, "invalid_request");
    }
    s.register_app(&cookie, &with("allowed_scopes", json!(["admin"])))
        .await
        .assert_error(400, "invalid_scope");
    s.register_app(&cookie, &with("allowed_scopes", json!([])))
        .await
        .assert_error(400, "invalid_request");
    s.register_app(&cookie, &with("name", json!("  ")))
        .await
        .assert_error(400, "invalid_request");
    s.register_app(&cookie, &with("name", json!("n".repeat(101))))
        .await
        .assert_error(400, "invalid_request");
    s.register_app(&cookie, &with("kind", json!("secret-ish")))
        .await
        .assert_error(400, "invalid_request");
    s.register_app(&cookie, &with("owner", json!("bob")))
        .await
        .assert_error(400, "invalid_request");
    s.register_app(&cookie, &json!({"kind": "public"}))
        .await
        .assert_error(400, "invalid_request");
    // Nothing was registered by any of those.
    let list = list_developer_apps(&s, &cookie).await;
    assert_eq!(list["apps"], json!([]));
    // Loopback http in its three spellings is fine.
    let loopback = json!([
        "http://127.0.0.1:1/cb",
        "http://localhost/cb",
        "http://[::1]:8080/cb"
    ]);
    assert_eq!(
        s.register_app(&cookie, &with("redirect_uris", loopback))
            .await
            .status,
        201
    );
}

/// PP-APP-8: rotating a secret shows the new one once; the old one stops working at once.
#[tokio::test]
async fn rotated_secret_replaces_the_old_one_at_once() {
    let s = TestServer::start().await;
    let cookie = s.session_cookie(USER).await;
    let created = s.register_app(&cookie, &json!({"name": "Rotator", "kind": "confidential", "redirect_uris": ["https://r.example/cb"], "allowed_scopes": ["profile:read"]}))
        .await
        .json();
    let old = ClientApp::registered(&created);
    let tokens = s.code_login(&old, USER, None).await;

    let path = format!("/developer/apps/{}/secret", old.client_id);
    let rotated = dev(&s, &cookie, reqwest::Method::POST, &path, None)
        .await
        .ok();
    assert_eq!(
        rotated["client_id"], created["client_id"],
        "PP-APP-1: a stable client_id"
    );
    let new_secret = rotated["client_secret"]
        .as_str()
        .expect("the new secret")
        .to_owned();
    assert_ne!(Some(new_secret.as_str()), old.secret.as_deref());

    s.refresh_at_auth(&old, &tokens.refresh_token)
        .await
        .assert_error(401, "invalid_client");
    s.device_poll(&old, "ppdc_x")
        .await
        .assert_error(401, "invalid_client");
    let mut new = old.clone();
    new.secret = Some(new_secret);
    Tokens::from_reply(&s.refresh_at_auth(&new, &tokens.refresh_token).await);
    s.code_login(&new, USER, None).await;
}

/// PP-APP-8, PP-APP-5: the owner deactivates the app; every token it was issued ends at
/// once, for every user, and its flows are `unauthorized_client` (PP-APP-4).
#[tokio::test]
async fn deactivating_an_app_revokes_every_token_it_was_issued() {
    let s = TestServer::start().await;
    let cookie = s.session_cookie(USER).await;
    let created = s.register_app(&cookie, &json!({"name": "Shortlived", "kind": "confidential", "redirect_uris": ["https://d.example/cb"], "allowed_scopes": ["profile:read", "events:read"]}))
        .await
        .json();
    let app = ClientApp::registered(&created);
    let alice = s.code_login(&app, USER, None).await;
    let bob = s.device_login(&app, OTHER_USER, None).await;
    let bystander = s.code_login(&ClientApp::web(), USER, None).await;
    let mut stream = s.events(&alice.access_token, None).await;

    let path = format!("/developer/apps/{}/deactivate", app.client_id);
    let answer = dev(&s, &cookie, reqwest::Method::POST, &path, None)
        .await
        .ok();
    assert_eq!(answer["active"], false);
    assert_eq!(answer["client_id"], created["client_id"]);

    for tokens in [&alice, &bob] {
        s.me(&tokens.access_token)
            .await
            .assert_error(401, "invalid_token");
        s.refresh_at_auth(&app, &tokens.refresh_token)
            .await
            .assert_error(400, "unauthorized_client");
    }
    s.assert_live(&bystander).await;
    let url = s.authorize_url(&app, &Pkce::new(), None, None);
    assert_eq!(
        param(
            &common::query_of(&s.decide(&url, USER, true).await),
            "error"
        ),
        Some("unauthorized_client")
    );
    let mut form = app.credentials();
    form.push(("scope".into(), "profile:read".into()));
    s.post_form(&s.endpoint("device_code"), &form)
        .await
        .assert_error(400, "unauthorized_client");
    // The live stream of a revoked token ends with the next event (PP-API-8).
    let player = s.device_login(&ClientApp::tv(), USER, None).await;
    s.report_playback(
        &player.access_token,
        "start",
        "m",
        "2026-06-09T12:00:00Z",
        0,
    )
    .await;
    assert!(stream.ends_within(std::time::Duration::from_secs(5)).await);
    // Listed as inactive.
    let list = list_developer_apps(&s, &cookie).await;
    assert_eq!(list["apps"][0]["active"], false);
}

/// PP-APP-5 through the test control, for a fixture app.
#[tokio::test]
async fn deactivating_a_fixture_app_revokes_its_tokens() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let alice = s.code_login(&web, USER, None).await;
    let bob = s.code_login(&web, OTHER_USER, None).await;
    let tv = s.device_login(&ClientApp::tv(), USER, None).await;
    let answer = s.control("apps/pp-web/deactivate", json!({})).await;
    assert!(
        answer["revoked_tokens"].as_u64().is_some_and(|n| n >= 4),
        "{answer}"
    );
    for tokens in [&alice, &bob] {
        s.me(&tokens.access_token)
            .await
            .assert_error(401, "invalid_token");
    }
    s.refresh_at_token(&web, &alice.refresh_token)
        .await
        .assert_error(400, "unauthorized_client");
    s.assert_live(&tv).await;
}

/// Another user's app is not theirs to see, rotate or deactivate.
#[tokio::test]
async fn apps_are_managed_only_by_their_owner() {
    let s = TestServer::start().await;
    let alice = s.session_cookie(USER).await;
    let bob = s.session_cookie(OTHER_USER).await;
    let created = s.register_app(&alice, &json!({"name": "Mine", "kind": "confidential", "redirect_uris": [], "allowed_scopes": ["profile:read"]}),
    )
    .await
    .json();
    let id = created["client_id"].as_str().unwrap();
    assert_eq!(list_developer_apps(&s, &bob).await["apps"], json!([]));
    for action in ["secret", "deactivate"] {
        for client_id in [id, "pp-web"] {
            let path = format!("/developer/apps/{client_id}/{action}");
            dev(&s, &bob, reqwest::Method::POST, &path, None)
                .await
                .assert_error(404, "not_found");
        }
    }
    let list = list_developer_apps(&s, &alice).await;
    assert_eq!(list["apps"][0]["active"], true);
}

/// Signed out, the developer pages answer JSON 401 `invalid_token`, or send a browser to
/// sign in.
#[tokio::test]
async fn signed_out_developer_pages_ask_for_a_sign_in() {
    let s = TestServer::start().await;
    for (method, path) in [
        (reqwest::Method::GET, "/developer/apps"),
        (reqwest::Method::POST, "/developer/apps"),
        (reqwest::Method::POST, "/developer/apps/pp-web/secret"),
        (reqwest::Method::GET, "/settings/connected-apps"),
        (
            reqwest::Method::POST,
            "/settings/connected-apps/pp-web/revoke",
        ),
    ] {
        let reply = send(
            s.http
                .request(method.clone(), s.url(path))
                .header("accept", "application/json"),
        )
        .await;
        reply.assert_error(401, "invalid_token");
        let reply = send(
            s.http
                .request(method.clone(), s.url(path))
                .header("cookie", "pp_session=forged"),
        )
        .await;
        assert_eq!(reply.status, 303, "{method} {path}: {}", reply.describe());
        let next = param(&reply.location_params(), "next").map(str::to_owned);
        assert!(
            reply.location().starts_with("/login?"),
            "{}",
            reply.location()
        );
        assert_eq!(next.as_deref(), Some(path));
    }
}

/// The developer pages as a browser uses them: sign in, create with the form, the secret
/// on that page only, rotate, deactivate (PP-APP-7, PP-APP-8).
#[tokio::test]
async fn developer_pages_work_in_a_browser() {
    let s = TestServer::start().await;
    let b = browser();
    let reply = s.sign_in(&b, USER, "/developer/apps").await;
    assert_eq!((reply.status, reply.location()), (303, "/developer/apps"));
    let page = send(b.get(s.url("/developer/apps"))).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Get API key"), "PP-APP-7");

    let csrf = page_csrf(&page.text());
    let form = format!(
        "name=Form+App&kind=confidential&redirect_uris=https%3A%2F%2Fform.example%2Fcb%0D%0Ahttp%3A%2F%2F127.0.0.1%3A9000%2Fcb&allowed_scopes=profile%3Aread&allowed_scopes=events%3Aread&csrf_token={csrf}"
    );
    let created = send(
        b.post(s.url("/developer/apps"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.describe());
    let html = created.text();
    let client_id =
        between(&html, "class=\"client-id\">", "<").expect("the new client_id on the page");
    let secret = between(&html, "class=\"secret client-secret\">", "<")
        .expect("PP-APP-7: the secret on the creation page");

    // The app as registered, and the secret not shown again.
    let again = send(b.get(s.url("/developer/apps"))).await.text();
    assert!(
        again.contains(&client_id)
            && again.contains("https://form.example/cb")
            && again.contains("http://127.0.0.1:9000/cb")
    );
    assert!(!again.contains(&secret), "PP-APP-7: shown once");
    let mut app = ClientApp::web();
    app.client_id = client_id.clone();
    app.secret = Some(secret.clone());
    app.redirect_uri = "https://form.example/cb".into();
    assert_eq!(
        s.code_login(&app, USER, None).await.scope,
        "profile:read events:read"
    );

    // Rotate with the page's form.
    let token = [("csrf_token", csrf.as_str())];
    let rotated = send(
        b.post(s.url(&format!("/developer/apps/{client_id}/secret")))
            .form(&token),
    )
    .await;
    assert_eq!(rotated.status, 200);
    let new_secret = between(&rotated.text(), "class=\"secret client-secret\">", "<")
        .expect("PP-APP-8: the new secret");
    assert_ne!(new_secret, secret);
    s.device_poll(&app, "ppdc_x")
        .await
        .assert_error(401, "invalid_client");

    // Deactivate with the page's form.
    let reply = send(
        b.post(s.url(&format!("/developer/apps/{client_id}/deactivate")))
            .form(&token),
    )
    .await;
    assert_eq!((reply.status, reply.location()), (303, "/developer/apps"));
    assert!(
        send(b.get(s.url("/developer/apps")))
            .await
            .text()
            .contains("inactive")
    );

    // A bad form shows the page again with the reason.
    let bad = send(b.post(s.url("/developer/apps")).form(&[
        ("name", "Bad"),
        ("kind", "public"),
        ("redirect_uris", "http://bad.example/cb"),
        ("csrf_token", &csrf),
    ]))
    .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.is_html() && bad.text().contains("https"),
        "{}",
        bad.describe()
    );
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}

/// PP-REVOKE-1: the connected-apps list, and a revoke that ends every token of that user
/// for that app at once, and nothing else.
#[tokio::test]
async fn revoking_a_connected_app_ends_its_tokens_for_that_user_only() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let tv = ClientApp::tv();
    let alice_web = s.code_login(&web, USER, Some("profile:read")).await;
    let alice_web_2 = s.code_login(&web, USER, Some("playback:read")).await;
    let alice_tv = s.device_login(&tv, USER, None).await;
    let bob_web = s.code_login(&web, OTHER_USER, None).await;
    let cookie = s.session_cookie(USER).await;

    let listed = list_connected_apps(&s, &cookie).await;
    let apps = listed["apps"].as_array().expect("apps");
    let ids: Vec<_> = apps
        .iter()
        .map(|a| a["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    assert!(
        ids.contains(&"pp-web") && ids.contains(&"pp-tv"),
        "{listed}"
    );
    let web_entry = apps.iter().find(|a| a["client_id"] == "pp-web").unwrap();
    assert_eq!(web_entry["name"], "Couch Critic Web");
    assert_eq!(web_entry["scope"], "profile:read playback:read");

    let answer = dev(
        &s,
        &cookie,
        reqwest::Method::POST,
        "/settings/connected-apps/pp-web/revoke",
        None,
    )
    .await
    .ok();
    assert!(
        answer["revoked_tokens"].as_u64().is_some_and(|n| n >= 2),
        "{answer}"
    );
    for tokens in [&alice_web, &alice_web_2] {
        s.assert_revoked(&web, tokens).await;
    }
    s.assert_live(&alice_tv).await;
    s.assert_live(&bob_web).await;
    let listed = list_connected_apps(&s, &cookie).await;
    assert_eq!(listed["apps"].as_array().map(Vec::len), Some(1), "{listed}");

    // Signing in again makes a new, working grant.
    s.assert_live(&s.code_login(&web, USER, None).await).await;
}

/// PP-REVOKE-1 as a browser: the page lists the app and its Revoke form works.
#[tokio::test]
async fn connected_apps_page_revokes_with_its_form() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let tokens = s.device_login(&tv, USER, None).await;
    let b = browser();
    let reply = s.sign_in(&b, USER, "/settings/connected-apps").await;
    assert_eq!(reply.location(), "/settings/connected-apps");
    let page = send(b.get(s.url("/settings/connected-apps"))).await.text();
    assert!(page.contains("Living Room TV"), "{page}");
    assert!(
        page.contains("action=\"/settings/connected-apps/pp-tv/revoke\""),
        "{page}"
    );
    let reply = send(
        b.post(s.url("/settings/connected-apps/pp-tv/revoke"))
            .form(&[("csrf_token", page_csrf(&page))]),
    )
    .await;
    assert_eq!(
        (reply.status, reply.location()),
        (303, "/settings/connected-apps")
    );
    s.assert_revoked(&tv, &tokens).await;
    let page = send(b.get(s.url("/settings/connected-apps"))).await.text();
    assert!(!page.contains("Living Room TV"));
    assert!(hidden_input(&page, "authorization").is_none());
}

/// PP-REVOKE-1: a revoke ends the app's access, not only the tokens already out: a code
/// approved before the revoke and redeemed after it gets nothing, and neither does a
/// device code approved before it. Other users' codes are untouched.
#[tokio::test]
async fn revoking_a_connected_app_voids_what_was_approved_but_not_yet_redeemed() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let tv = ClientApp::tv();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    let bob_pkce = Pkce::new();
    let bob_code = s
        .authorization_code(&web, OTHER_USER, &bob_pkce, None)
        .await;
    let start = s.device_start(&tv, None).await;
    s.device_decide(start["user_code"].as_str().unwrap(), USER, true)
        .await;

    s.control("users/alice/apps/pp-web/revoke", json!({})).await;
    s.control("users/alice/apps/pp-tv/revoke", json!({})).await;

    let reply = s.exchange(&web, &code, &pkce.verifier).await;
    reply.assert_error(400, "invalid_grant");
    let reply = s
        .device_poll(&tv, start["device_code"].as_str().unwrap())
        .await;
    assert_eq!(reply.status, 400, "{}", reply.describe());
    Tokens::from_reply(&s.exchange(&web, &bob_code, &bob_pkce.verifier).await);
}

/// PP-APP-7: apps registered at the same moment each get their own stable client_id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_registrations_get_distinct_client_ids() {
    let s = TestServer::start().await;
    let cookie = s.session_cookie(USER).await;
    let url = s.url("/developer/apps");
    let replies = common::concurrently(30, |i| {
        s.http.post(&url).header("cookie", &cookie).json(&json!({"name": format!("App {i}"), "kind": "confidential", "redirect_uris": [], "allowed_scopes": ["profile:read"]}))
    })
    .await;
    assert!(
        replies.iter().all(|r| r.status == 201),
        "{:?}",
        common::status_counts(&replies)
    );
    let ids: std::collections::HashSet<_> = replies
        .iter()
        .map(|r| r.json()["client_id"].as_str().unwrap().to_owned())
        .collect();
    let secrets: std::collections::HashSet<_> = replies
        .iter()
        .map(|r| r.json()["client_secret"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!((ids.len(), secrets.len()), (30, 30));
    let list = list_developer_apps(&s, &cookie).await;
    assert_eq!(list["apps"].as_array().map(Vec::len), Some(30));
}
