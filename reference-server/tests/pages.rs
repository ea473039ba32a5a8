//! The HTML pages as a browser uses them, with a cookie jar: sign-in, the approval page
//! and its form (PP-AUTHZ-2..4), `/activate` (PP-DEVICE-5), sign-out. No test control
//! stands in for a person here.

mod common;

use common::{
    ClientApp, OTHER_USER, Pkce, Reply, TestServer, Tokens, USER, browser, hidden_input, page_csrf,
    param, send,
};

/// Follows a same-site redirect (a path) as a browser would.
async fn follow(s: &TestServer, b: &reqwest::Client, reply: &Reply) -> Reply {
    let location = reply.location();
    assert!(location.starts_with('/'), "a local redirect: {location}");
    send(b.get(s.url(location))).await
}

/// Posts the approval form of a page with `decision`.
async fn decide_on_page(
    s: &TestServer,
    b: &reqwest::Client,
    page: &Reply,
    decision: &str,
) -> Reply {
    let html = page.text();
    assert!(
        html.contains("<form method=\"post\" action=\"/oauth/authorize\">"),
        "PP-AUTHZ-2: {html}"
    );
    assert!(
        html.contains(&format!("name=\"decision\" value=\"{decision}\"")),
        "PP-AUTHZ-2"
    );
    let id = hidden_input(&html, "authorization").expect("the hidden authorization id");
    let csrf = page_csrf(&html);
    send(b.post(s.url("/oauth/authorize")).form(&[
        ("authorization", id.as_str()),
        ("decision", decision),
        ("csrf_token", &csrf),
    ]))
    .await
}

/// PP-AUTHZ-2, PP-AUTHZ-3: signed out, the authorize URL shows the sign-in form; after
/// signing in, the approval page names the app and the scopes; approving redirects with
/// code, state and scope; the code redeems.
#[tokio::test]
async fn browser_signs_in_approves_and_the_app_gets_a_code() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let b = browser();
    let url = s.authorize_url(
        &web,
        &pkce,
        Some("profile:read events:read"),
        Some("state-42"),
    );

    let login = send(b.get(&url)).await;
    assert_eq!(login.status, 200);
    let html = login.text();
    assert!(
        html.contains("<form method=\"post\" action=\"/login\">"),
        "{html}"
    );
    let next = hidden_input(&html, "next").expect("next");
    assert_eq!(
        s.url(&next),
        url,
        "the sign-in form comes back to the authorize URL"
    );

    let signed_in = s.sign_in(&b, USER, &next).await;
    assert_eq!(
        (signed_in.status, signed_in.location()),
        (303, next.as_str())
    );
    let cookie = signed_in.header("set-cookie").expect("a session cookie");
    assert!(cookie.starts_with("pp_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "`{attribute}` in {cookie}");
    }

    let approval = follow(&s, &b, &signed_in).await;
    assert_eq!(approval.status, 200);
    let html = approval.text();
    assert!(
        html.contains("Couch Critic Web"),
        "PP-AUTHZ-2: the app's name"
    );
    assert!(
        html.contains("profile:read") && html.contains("events:read"),
        "PP-AUTHZ-2: the scopes"
    );
    assert!(
        !html.contains("playback:write"),
        "only the requested scopes"
    );

    let redirect = decide_on_page(&s, &b, &approval, "approve").await;
    assert_eq!(redirect.status, 302, "PP-AUTHZ-3: {}", redirect.describe());
    assert!(redirect.location().starts_with(&web.redirect_uri));
    let params = redirect.location_params();
    assert_eq!(param(&params, "state"), Some("state-42"));
    assert_eq!(param(&params, "scope"), Some("profile:read events:read"));
    let code = param(&params, "code").expect("a code");
    let tokens = Tokens::from_reply(&s.exchange(&web, code, &pkce.verifier).await);
    assert_eq!(s.me(&tokens.access_token).await.ok()["username"], USER);

    // The approval form is single-use.
    let again = decide_on_page(&s, &b, &approval, "approve").await;
    assert_eq!(again.status, 400);
    assert!(again.is_html() && again.text().contains(again.request_id()));

    // Signed in already: the authorize URL goes straight to the approval page.
    let direct = send(b.get(s.authorize_url(&web, &Pkce::new(), None, None))).await;
    assert!(hidden_input(&direct.text(), "authorization").is_some());
}

/// PP-AUTHZ-4: denying on the page redirects with `access_denied`, the state and the
/// request id of the decision.
#[tokio::test]
async fn browser_denies_and_the_app_gets_access_denied() {
    let s = TestServer::start().await;
    let spa = ClientApp::spa();
    let b = browser();
    let url = s.authorize_url(&spa, &Pkce::new(), None, Some("s-deny"));
    let next = hidden_input(&send(b.get(&url)).await.text(), "next").unwrap();
    let approval = follow(&s, &b, &s.sign_in(&b, OTHER_USER, &next).await).await;
    assert!(approval.text().contains("Binge Buddy"));
    let redirect = decide_on_page(&s, &b, &approval, "deny").await;
    assert_eq!(redirect.status, 302);
    assert!(redirect.location().starts_with(&spa.redirect_uri));
    let params = redirect.location_params();
    assert_eq!(param(&params, "error"), Some("access_denied"));
    assert_eq!(param(&params, "state"), Some("s-deny"));
    assert_eq!(param(&params, "request_id"), Some(redirect.request_id()));
    assert_eq!(param(&params, "code"), None);
}

/// The approval id is bound to the session that saw the page: another user's session, or
/// no session, cannot decide it.
#[tokio::test]
async fn approval_is_bound_to_the_session_that_saw_it() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let alice = browser();
    let url = s.authorize_url(&web, &Pkce::new(), None, None);
    let next = hidden_input(&send(alice.get(&url)).await.text(), "next").unwrap();
    let approval = follow(&s, &alice, &s.sign_in(&alice, USER, &next).await).await;
    let id = hidden_input(&approval.text(), "authorization").unwrap();

    let mallory = browser();
    s.sign_in(&mallory, OTHER_USER, "/").await;
    let mallory_csrf = s.csrf_token(&mallory, "/developer/apps").await;
    let stolen = send(mallory.post(s.url("/oauth/authorize")).form(&[
        ("authorization", id.as_str()),
        ("decision", "approve"),
        ("csrf_token", &mallory_csrf),
    ]))
    .await;
    assert_eq!(stolen.status, 400, "{}", stolen.describe());
    assert!(stolen.header("location").is_none());
    let stranger = browser();
    let stranger_csrf = s.csrf_token(&stranger, "/login").await;
    let anonymous = send(stranger.post(s.url("/oauth/authorize")).form(&[
        ("authorization", id.as_str()),
        ("decision", "approve"),
        ("csrf_token", &stranger_csrf),
    ]))
    .await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.header("location").is_none());

    // Alice still can.
    let redirect = decide_on_page(&s, &alice, &approval, "approve").await;
    assert!(param(&redirect.location_params(), "code").is_some());
}

/// A wrong password shows the form again with 401 and sets no cookie; `next` may only be
/// a local path.
#[tokio::test]
async fn sign_in_refuses_wrong_passwords_and_foreign_next() {
    let s = TestServer::start().await;
    let b = browser();
    let reply = s
        .sign_in_with(&b, USER, "bob-password", "/developer/apps")
        .await;
    assert_eq!(reply.status, 401);
    assert!(reply.header("set-cookie").is_none());
    assert!(reply.text().contains("action=\"/login\""));
    let reply = s.sign_in_with(&b, "mallory", "", "/").await;
    assert_eq!(reply.status, 401);

    for next in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "/a\r\nX-Evil: 1",
        "/tab\there",
        "",
    ] {
        let reply = s.sign_in(&browser(), USER, next).await;
        assert_eq!(
            (reply.status, reply.location()),
            (303, "/developer/apps"),
            "next = {next}"
        );
    }
    let reply = send(s.http.get(s.url("/login?next=https%3A%2F%2Fevil.example"))).await;
    assert_eq!(
        hidden_input(&reply.text(), "next").as_deref(),
        Some("/developer/apps")
    );
}

/// `POST /logout` ends the session: the same cookie no longer signs anyone in.
#[tokio::test]
async fn sign_out_ends_the_session() {
    let s = TestServer::start().await;
    let b = browser();
    let reply = s.sign_in(&b, USER, "/developer/apps").await;
    let cookie = reply
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(send(b.get(s.url("/developer/apps"))).await.status, 200);
    let csrf = s.csrf_token(&b, "/developer/apps").await;
    let out = send(b.post(s.url("/logout")).form(&[("csrf_token", csrf)])).await;
    assert_eq!((out.status, out.location()), (303, "/login"));
    let page = send(b.get(s.url("/developer/apps"))).await;
    assert_eq!(page.status, 303, "signed out");
    let replayed = send(
        s.http
            .get(s.url("/developer/apps"))
            .header("cookie", &cookie),
    )
    .await;
    assert_eq!(replayed.status, 303, "the old session cookie is dead");
}

/// The session expires after its lifetime.
#[tokio::test]
async fn session_expires_after_its_lifetime() {
    let s = TestServer::start().await;
    let b = browser();
    s.sign_in(&b, USER, "/").await;
    s.advance(s.profile.lifetimes.session as f64).await;
    assert_eq!(send(b.get(s.url("/developer/apps"))).await.status, 303);
}

/// PP-DEVICE-5: `/activate` as a person uses it: sign in, see the app and scopes, approve;
/// the device then gets its tokens (PP-DEVICE-3).
#[tokio::test]
async fn activate_page_approves_a_device() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let start = s
        .device_start(&tv, Some("playback:read playback:write"))
        .await;
    let complete = start["verification_uri_complete"].as_str().unwrap();
    let user_code = start["user_code"].as_str().unwrap();
    let b = browser();

    let login = send(b.get(complete)).await;
    assert_eq!(login.status, 200);
    let next = hidden_input(&login.text(), "next").expect("the sign-in form");
    assert_eq!(s.url(&next), complete);
    let page = follow(&s, &b, &s.sign_in(&b, USER, &next).await).await;
    let html = page.text();
    assert!(
        html.contains("Living Room TV"),
        "PP-DEVICE-5: the app's name"
    );
    assert!(
        html.contains("playback:read") && html.contains("playback:write"),
        "PP-DEVICE-5: the scopes"
    );
    assert!(html.contains(user_code));
    assert!(html.contains("<form method=\"post\" action=\"/activate\">"));
    assert_eq!(hidden_input(&html, "user_code").as_deref(), Some(user_code));

    let device_code = start["device_code"].as_str().unwrap();
    s.device_poll(&tv, device_code)
        .await
        .assert_error(400, "authorization_pending");
    let done = send(b.post(s.url("/activate")).form(&[
        ("user_code", user_code),
        ("decision", "approve"),
        ("csrf_token", &page_csrf(&html)),
    ]))
    .await;
    assert_eq!(done.status, 200);
    assert!(done.text().contains("approved"));
    let tokens = Tokens::from_reply(&s.device_poll(&tv, device_code).await);
    assert_eq!(tokens.scope, "playback:read playback:write");

    // A decided code is gone from the page.
    let gone = send(b.get(complete)).await;
    assert_eq!(gone.status, 404);
    let again = send(b.post(s.url("/activate")).form(&[
        ("user_code", user_code),
        ("decision", "approve"),
        ("csrf_token", &page_csrf(&html)),
    ]))
    .await;
    assert_eq!(again.status, 404);
}

/// PP-DEVICE-4 from the page; the code typed by hand in the entry form.
#[tokio::test]
async fn activate_page_denies_a_device_typed_by_hand() {
    let s = TestServer::start().await;
    let tv = ClientApp::tv();
    let start = s.device_start(&tv, None).await;
    let b = browser();
    s.sign_in(&b, OTHER_USER, "/").await;
    let entry = send(b.get(s.url("/activate"))).await;
    assert_eq!(entry.status, 200);
    assert!(
        entry.text().contains("name=\"user_code\""),
        "a form asking for the code"
    );
    let typed = start["user_code"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .replace('-', " ");
    let page = send(
        b.get(s.url("/activate"))
            .query(&[("user_code", typed.as_str())]),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.describe());
    let code = hidden_input(&page.text(), "user_code").unwrap();
    let done = send(b.post(s.url("/activate")).form(&[
        ("user_code", code.as_str()),
        ("decision", "deny"),
        ("csrf_token", &page_csrf(&page.text())),
    ]))
    .await;
    assert_eq!(done.status, 200);
    s.device_poll(&tv, start["device_code"].as_str().unwrap())
        .await
        .assert_error(400, "access_denied");
    // Unknown codes: 404 with the entry form again.
    let unknown = send(b.get(s.url("/activate?user_code=BBBB-BBBB"))).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.text().contains("name=\"user_code\""));
}

/// Values from requests and from registered apps are escaped on every page.
#[tokio::test]
async fn pages_escape_what_users_and_apps_send() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let b = browser();
    let evil = "\"><script>alert(1)</script>";
    let url = s.authorize_url(&web, &Pkce::new(), None, Some(evil));
    let login = send(b.get(&url)).await.text();
    assert!(!login.contains("<script>"), "{login}");
    // An app whose name is markup.
    let cookie = s.session_cookie(USER).await;
    let created = s.register_app(&cookie, &serde_json::json!({"name": evil, "kind": "public", "redirect_uris": ["https://x.example/cb"], "allowed_scopes": ["profile:read"]})).await.json();
    let app = ClientApp::registered(&created);
    let next = hidden_input(
        &send(b.get(s.authorize_url(&app, &Pkce::new(), None, None)))
            .await
            .text(),
        "next",
    )
    .unwrap();
    let approval = follow(&s, &b, &s.sign_in(&b, USER, &next).await)
        .await
        .text();
    assert!(!approval.contains("<script>"), "{approval}");
    assert!(
        approval.contains("&lt;script&gt;"),
        "the name is shown, escaped"
    );
    let dev_page = send(b.get(s.url("/developer/apps"))).await.text();
    assert!(!dev_page.contains("<script>"));
    let start = s.device_start(&app, None).await;
    let activate = send(b.get(start["verification_uri_complete"].as_str().unwrap()))
        .await
        .text();
    assert!(!activate.contains("<script>"));
}

/// The index page links the pages a person needs.
#[tokio::test]
async fn index_page_links_the_pages() {
    let s = TestServer::start().await;
    let index = s.get(&s.url("/")).await;
    assert_eq!(index.status, 200);
    assert!(index.is_html());
    for path in ["/developer/apps", "/settings/connected-apps", "/activate"] {
        assert!(index.text().contains(&format!("href=\"{path}\"")), "{path}");
    }
}
