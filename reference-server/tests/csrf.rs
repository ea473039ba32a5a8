//! Issue 12 item 6: every state-changing form carries a CSRF token. A form POST without
//! the page's token, with a wrong one or with another session's is refused (403, its own
//! page) and changes nothing; with the page's token it works. JSON bodies to the
//! developer endpoints are exempt; `Accept: application/json` alone is not.

mod common;

use common::{
    ClientApp, OTHER_USER, Reply, TestServer, USER, browser, hidden_input, page_csrf, send,
};
use serde_json::json;

/// A refusal for want of a token: 403, a page that says so, and no cookie given out.
fn assert_refused(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {}", reply.describe());
    assert!(reply.is_html(), "{what}: a page");
    assert!(reply.text().contains("This form has expired"), "{what}");
    assert!(reply.text().contains(reply.request_id()), "{what}");
    assert!(
        !reply
            .headers
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap_or("").starts_with("pp_session=")),
        "{what}: no session"
    );
}

/// The sign-in form's token, as its page set it; the browser then holds `pp_csrf`.
#[tokio::test]
async fn the_sign_in_form_needs_its_pages_token() {
    let s = TestServer::start().await;
    let b = browser();
    let page = send(b.get(s.url("/login"))).await;
    let cookie = page
        .header("set-cookie")
        .expect("the page sets pp_csrf")
        .to_owned();
    assert!(cookie.starts_with("pp_csrf="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "`{attribute}` in {cookie}");
    }
    let token = page_csrf(&page.text());
    assert!(cookie.starts_with(&format!("pp_csrf={token};")));
    let fields = |token: Option<&str>| {
        let mut form = vec![
            ("username", USER.to_owned()),
            ("password", format!("{USER}-password")),
            ("next", "/".to_owned()),
        ];
        if let Some(t) = token {
            form.push(("csrf_token", t.to_owned()));
        }
        form
    };
    let missing = send(b.post(s.url("/login")).form(&fields(None))).await;
    assert_refused(&missing, "no token");
    let wrong = send(b.post(s.url("/login")).form(&fields(Some("ppc_wrong")))).await;
    assert_refused(&wrong, "a wrong token");
    // The right token without the cookie (another browser): refused too.
    let elsewhere = send(s.http.post(s.url("/login")).form(&fields(Some(&token)))).await;
    assert_refused(&elsewhere, "the token without its cookie");
    // A forged cookie and the same value in the form: not a token this server gave out
    // in this shape is never compared.
    let forged = send(
        s.http
            .post(s.url("/login"))
            .header("cookie", "pp_csrf=x")
            .form(&fields(Some("x"))),
    )
    .await;
    assert_refused(&forged, "a forged short token");
    let ok = send(b.post(s.url("/login")).form(&fields(Some(&token)))).await;
    assert_eq!(ok.status, 303, "{}", ok.describe());
}

/// Every POST form of every page carries the token, and it is the session's own.
#[tokio::test]
async fn every_post_form_carries_the_token() {
    let s = TestServer::start().await;
    s.device_login(&ClientApp::tv(), USER, None).await;
    let start = s.device_start(&ClientApp::tv(), None).await;
    let b = browser();
    s.sign_in(&b, USER, "/").await;
    let web = ClientApp::web();
    let authorize = s.authorize_url(&web, &common::Pkce::new(), None, None);
    let activate = start["verification_uri_complete"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tokens = Vec::new();
    for url in [
        s.url("/developer/apps"),
        s.url("/settings/connected-apps"),
        authorize,
        activate,
        s.url("/activate"),
        s.url("/login"),
    ] {
        let html = send(b.get(&url)).await.text();
        let forms = html.matches("method=\"post\"").count();
        let inputs = html.matches("name=\"csrf_token\"").count();
        assert!(forms > 0, "{url}: {html}");
        assert_eq!(forms, inputs, "{url}: {html}");
        tokens.push(page_csrf(&html));
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "one token per session: {tokens:?}");
    let other = browser();
    s.sign_in(&other, OTHER_USER, "/").await;
    assert_ne!(s.csrf_token(&other, "/developer/apps").await, tokens[0]);
}

/// The developer form: refused without the token, with a wrong one and with another
/// session's (nothing is created); created with the page's.
#[tokio::test]
async fn developer_forms_refuse_foreign_tokens() {
    let s = TestServer::start().await;
    let alice = browser();
    s.sign_in(&alice, USER, "/").await;
    let bob = browser();
    s.sign_in(&bob, OTHER_USER, "/").await;
    let bobs_token = s.csrf_token(&bob, "/developer/apps").await;
    let alices_token = s.csrf_token(&alice, "/developer/apps").await;
    let create = |token: Option<&str>| {
        let mut form = vec![
            ("name", "Csrf Probe".to_owned()),
            ("kind", "public".to_owned()),
            ("redirect_uris", "https://probe.example/cb".to_owned()),
            ("allowed_scopes", "profile:read".to_owned()),
        ];
        if let Some(t) = token {
            form.push(("csrf_token", t.to_owned()));
        }
        alice.post(s.url("/developer/apps")).form(&form)
    };
    assert_refused(&send(create(None)).await, "no token");
    assert_refused(&send(create(Some("ppc_x"))).await, "a wrong token");
    assert_refused(&send(create(Some(&bobs_token))).await, "bob's token");
    // Even with bob's token in alice's pp_csrf cookie too: alice's session decides.
    let alices_session = s.session_cookie(USER).await;
    let reply = send(
        s.http
            .post(s.url("/developer/apps"))
            .header("cookie", format!("{alices_session}; pp_csrf={bobs_token}"))
            .form(&[
                ("name", "Csrf Probe"),
                ("kind", "public"),
                ("csrf_token", &bobs_token),
            ]),
    )
    .await;
    assert_refused(&reply, "bob's token in alice's cookie jar");
    assert!(
        !send(alice.get(s.url("/developer/apps")))
            .await
            .text()
            .contains("Csrf Probe")
    );
    let ok = send(create(Some(&alices_token))).await;
    assert_eq!(ok.status, 201, "{}", ok.describe());
    assert!(ok.text().contains("Csrf Probe"));
}

/// Approve, activate, revoke and sign out: each refused without the token, and nothing
/// decided; then the same forms work with the page's token.
#[tokio::test]
async fn decision_and_revoke_forms_need_the_token() {
    let s = TestServer::start().await;
    let b = browser();
    let web = ClientApp::web();
    s.sign_in(&b, USER, "/").await;

    let approval = send(b.get(s.authorize_url(&web, &common::Pkce::new(), None, None))).await;
    let id = hidden_input(&approval.text(), "authorization").unwrap();
    let no_token = send(
        b.post(s.url("/oauth/authorize"))
            .form(&[("authorization", id.as_str()), ("decision", "approve")]),
    )
    .await;
    assert_refused(&no_token, "approve");
    let approved = send(b.post(s.url("/oauth/authorize")).form(&[
        ("authorization", id.as_str()),
        ("decision", "approve"),
        ("csrf_token", &page_csrf(&approval.text())),
    ]))
    .await;
    assert_eq!(
        approved.status,
        302,
        "still pending: {}",
        approved.describe()
    );

    let start = s.device_start(&ClientApp::tv(), None).await;
    let user_code = start["user_code"].as_str().unwrap();
    let refused = send(
        b.post(s.url("/activate"))
            .form(&[("user_code", user_code), ("decision", "approve")]),
    )
    .await;
    assert_refused(&refused, "activate");
    s.device_poll(&ClientApp::tv(), start["device_code"].as_str().unwrap())
        .await
        .assert_error(400, "authorization_pending");

    let tokens = s.device_login(&ClientApp::tv(), USER, None).await;
    let refused = send(b.post(s.url("/settings/connected-apps/pp-tv/revoke"))).await;
    assert_refused(&refused, "revoke");
    s.me(&tokens.access_token).await.ok();

    let refused = send(b.post(s.url("/logout"))).await;
    assert_refused(&refused, "sign out");
    assert_eq!(
        send(b.get(s.url("/developer/apps"))).await.status,
        200,
        "still signed in"
    );

    // Not UTF-8, not a form: the 400 of any such body, never a 500, nothing done.
    let garbage = send(
        b.post(s.url("/logout"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![0xff, 0xfe, b'&', b'=']),
    )
    .await;
    garbage.assert_error(400, "invalid_request");
    assert_eq!(
        send(b.get(s.url("/developer/apps"))).await.status,
        200,
        "still signed in"
    );
}

/// JSON bodies to the developer endpoints need no token (a cross-site form cannot send
/// `Content-Type: application/json`); a bodiless POST with only `Accept: application/json`
/// does (`Accept` is CORS-safelisted), and gets the envelope.
#[tokio::test]
async fn json_bodies_are_exempt_and_accept_alone_is_not() {
    let s = TestServer::start().await;
    let cookie = s.session_cookie(USER).await;
    let created = s
        .register_app(
            &cookie,
            &json!({"name": "Json App", "kind": "confidential", "redirect_uris": ["https://j.example/cb"], "allowed_scopes": ["profile:read"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.describe());
    let client_id = created.json()["client_id"].as_str().unwrap().to_owned();
    let secret_path = s.url(&format!("/developer/apps/{client_id}/secret"));

    let accept_only = send(
        s.http
            .post(&secret_path)
            .header("cookie", &cookie)
            .header("accept", "application/json"),
    )
    .await;
    let body = accept_only.assert_error(403, "invalid_request");
    assert!(
        body["message"].as_str().unwrap().contains("csrf_token"),
        "{body}"
    );

    let rotated = send(
        s.http
            .post(&secret_path)
            .header("cookie", &cookie)
            .header("accept", "application/json")
            .json(&json!({})),
    )
    .await;
    assert!(rotated.ok()["client_secret"].is_string());
    let deactivated = send(
        s.http
            .post(s.url(&format!("/developer/apps/{client_id}/deactivate")))
            .header("cookie", &cookie)
            .json(&json!({})),
    )
    .await;
    assert_eq!(deactivated.ok()["active"], false);
}
