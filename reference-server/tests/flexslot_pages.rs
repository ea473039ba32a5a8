//! Flexslot's pages through real form posts, as a person's browser sends them: the
//! sign-in page at `/authorize`, the consent page with Approve and Deny (FX-AUTHZ-1), their
//! CSRF tokens, and pages that name no punchplay-only path.

mod flexslot_support;

use contract_client::pkce::Pkce;
use flexslot_support::*;

/// Signs alice in through the sign-in form an authorize URL shows; answers the consent
/// page that follows.
async fn sign_in_and_see_consent(fx: &Fx, browser: &reqwest::Client, url: &str) -> String {
    let page = send(browser.get(url)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<title>Sign in · Flexslot</title>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Sign in to Flexslot"));
    let csrf = hidden_input(&page.body, "csrf_token").expect("a csrf token");
    let next = hidden_input(&page.body, "next").expect("next");
    assert_eq!(
        fx.url(&next),
        url,
        "the form comes back to the authorize request"
    );

    let wrong = send(browser.post(fx.endpoint("login")).form(&[
        ("csrf_token", csrf.as_str()),
        ("next", next.as_str()),
        ("username", "alice"),
        ("password", "nope"),
    ]))
    .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("do not match"));

    let signed_in = send(browser.post(fx.endpoint("login")).form(&[
        ("csrf_token", csrf.as_str()),
        ("next", next.as_str()),
        ("username", "alice"),
        ("password", "alice-password"),
    ]))
    .await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    assert_eq!(fx.url(signed_in.location()), url);
    let consent = send(browser.get(url)).await;
    assert_eq!(consent.status, 200);
    consent.body
}

#[tokio::test]
async fn a_person_signs_in_and_approves_on_the_pages() {
    let fx = Fx::start().await;
    let browser = browser();
    let pkce = Pkce::new();
    let url = fx.authorize_url(WEB, Some("profile slots:read"), "page-1", &pkce);
    let consent = sign_in_and_see_consent(&fx, &browser, &url).await;
    assert!(
        consent.contains(
            "<span class=\"app-name\">Slot Planner</span> wants to use your Flexslot account"
        ),
        "{consent}"
    );
    assert!(consent.contains("<li>profile</li><li>slots:read</li>"));
    assert!(consent.contains("value=\"approve\">Approve</button>"));
    assert!(consent.contains("value=\"deny\">Deny</button>"));
    // Nothing points at punchplay's pages, which flexslot has not.
    for other in [
        "PunchPlay",
        "connected apps",
        "/api/platform",
        "developer",
        "activate",
    ] {
        assert!(
            !consent.to_lowercase().contains(&other.to_lowercase()),
            "{other} in {consent}"
        );
    }
    let csrf = hidden_input(&consent, "csrf_token").unwrap();
    let id = hidden_input(&consent, "authorization").unwrap();
    // A person may read the page longer than a code lives: the 60 s start at the decision.
    fx.advance(fx.profile.lifetimes.authorization_code + 1)
        .await;

    // Without the page's token the decision is refused, and the request stays pending.
    let forged = send(
        browser
            .post(fx.endpoint("authorize"))
            .form(&[("authorization", id.as_str()), ("decision", "approve")]),
    )
    .await;
    assert_eq!(forged.status, 403);
    assert_eq!(forged.header("location"), None);

    let approved = send(browser.post(fx.endpoint("authorize")).form(&[
        ("csrf_token", csrf.as_str()),
        ("authorization", id.as_str()),
        ("decision", "approve"),
    ]))
    .await;
    assert_eq!(approved.status, 302);
    let location = approved.location();
    assert!(location.starts_with(CALLBACK), "{location}");
    let params = query_of(location);
    assert_eq!(params["state"], "page-1");
    let tokens = Tokens::from_reply(&fx.redeem(WEB, &params["code"], &pkce).await);
    assert_eq!(tokens.scope, "profile slots:read");

    // The same decision again: the request was used up.
    let again = send(browser.post(fx.endpoint("authorize")).form(&[
        ("csrf_token", csrf.as_str()),
        ("authorization", id.as_str()),
        ("decision", "approve"),
    ]))
    .await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("This approval has expired"));

    // Signing out ends the session: the next authorize shows the sign-in page again.
    let out = send(
        browser
            .post(fx.endpoint("logout"))
            .form(&[("csrf_token", csrf.as_str())]),
    )
    .await;
    assert_eq!(out.status, 303);
    let page = send(browser.get(&url)).await;
    assert!(page.body.contains("Sign in to Flexslot"));
}

#[tokio::test]
async fn a_person_denies_on_the_consent_page() {
    let fx = Fx::start().await;
    let browser = browser();
    let pkce = Pkce::new();
    let url = fx.authorize_url(SPA, None, "no thanks", &pkce);
    let consent = sign_in_and_see_consent(&fx, &browser, &url).await;
    assert!(consent.contains("Slot Peek"));
    let denied = send(browser.post(fx.endpoint("authorize")).form(&[
        (
            "csrf_token",
            hidden_input(&consent, "csrf_token").unwrap().as_str(),
        ),
        (
            "authorization",
            hidden_input(&consent, "authorization").unwrap().as_str(),
        ),
        ("decision", "deny"),
    ]))
    .await;
    assert_eq!(denied.status, 302);
    let params = query_of(denied.location());
    let keys: Vec<&str> = params.keys().map(String::as_str).collect();
    assert_eq!(keys, ["error", "error_description", "state"]);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "no thanks");
}

#[tokio::test]
async fn the_index_and_error_pages_are_flexslot_s() {
    let fx = Fx::start().await;
    let index = send(fx.http.get(fx.url("/"))).await;
    assert_eq!(index.status, 200);
    assert!(index.body.contains("Flexslot authorization server"));
    assert!(
        index
            .body
            .contains("href=\"/.well-known/oauth-authorization-server\"")
    );
    assert!(!index.body.contains("Developer apps"));
    let error = send(fx.http.get(fx.url("/authorize?client_id=nobody"))).await;
    assert_eq!(error.status, 400);
    assert!(error.body.contains("· Flexslot</title>"), "{}", error.body);
    // A sign-in with no `next` lands on the index, which exists.
    let browser = browser();
    let page = send(browser.get(fx.endpoint("login"))).await;
    let csrf = hidden_input(&page.body, "csrf_token").unwrap();
    let signed_in = send(browser.post(fx.endpoint("login")).form(&[
        ("csrf_token", csrf.as_str()),
        ("username", "bob"),
        ("password", "bob-password"),
    ]))
    .await;
    assert_eq!(signed_in.location(), "/");
}
