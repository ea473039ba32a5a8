//! The authorization code grant with PKCE, the token endpoint and scopes, over real HTTP
//! (PP-AUTHZ-*, PP-TOKEN-*, PP-SCOPE-*, PP-APP-2..4).

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{
    ClientApp, Pkce, TestServer, Tokens, USER, assert_error_redirect, assert_no_server_errors,
    concurrently, param, query_of, status_counts,
};
use serde_json::json;

/// PP-AUTHZ-1, PP-AUTHZ-3, PP-TOKEN-1, PP-TOKEN-4, PP-SCOPE-4.
#[tokio::test]
async fn code_flow_with_pkce_issues_a_bearer_token_pair() {
    let s = TestServer::start().await;
    let app = ClientApp::web();
    let pkce = Pkce::new();
    let url = s.authorize_url(
        &app,
        &pkce,
        Some("profile:read playback:read"),
        Some("xyz-123"),
    );
    let location = s.decide(&url, USER, true).await;
    // PP-AUTHZ-3: back to the registered redirect URI with code, state and scope.
    assert!(location.starts_with(&app.redirect_uri), "{location}");
    let params = query_of(&location);
    assert_eq!(param(&params, "state"), Some("xyz-123"));
    assert_eq!(param(&params, "scope"), Some("profile:read playback:read"));
    let code = param(&params, "code").expect("a code");

    let tokens = Tokens::from_reply(&s.exchange(&app, code, &pkce.verifier).await);
    // PP-TOKEN-4: access tokens live as long as the profile says.
    assert_eq!(tokens.expires_in, s.profile.lifetimes.access_token);
    assert_eq!(tokens.scope, "profile:read playback:read");
    let me = s.me(&tokens.access_token).await.ok();
    assert_eq!(me["username"], USER);
}

/// PP-AUTHZ-3: the real authorize endpoint answers the approval with a 302 (the page flow
/// is in pages.rs); a public client redeems with `client_id` only (PP-APP-2).
#[tokio::test]
async fn public_client_redeems_its_code_with_client_id_only() {
    let s = TestServer::start().await;
    let tokens = s.code_login(&ClientApp::spa(), USER, None).await;
    // PP-SCOPE-2: no scope requested, the app's allowed_scopes granted.
    assert_eq!(tokens.scope, "profile:read playback:read");
}

/// PP-SCOPE-1, PP-SCOPE-2: a request without `scope` gets the app's allowed_scopes, in the
/// redirect and in the token response.
#[tokio::test]
async fn request_without_scope_is_granted_the_allowed_scopes() {
    let s = TestServer::start().await;
    let app = ClientApp::web();
    let pkce = Pkce::new();
    let location = s
        .decide(&s.authorize_url(&app, &pkce, None, None), USER, true)
        .await;
    let params = query_of(&location);
    let all = s.profile.scopes.known.join(" ");
    // PP-SCOPE-1: the four scopes, space-separated.
    assert_eq!(all, "profile:read playback:read playback:write events:read");
    assert_eq!(param(&params, "scope"), Some(all.as_str()));
    // No state sent, none echoed.
    assert_eq!(param(&params, "state"), None);
    let tokens = Tokens::from_reply(
        &s.exchange(&app, param(&params, "code").unwrap(), &pkce.verifier)
            .await,
    );
    assert_eq!(tokens.scope, all);
}

/// PP-SCOPE-3, PP-AUTHZ-4: a scope outside allowed_scopes, or an unknown one, is an error
/// redirect with `error`, `state` and `request_id`.
#[tokio::test]
async fn scope_outside_allowed_scopes_redirects_with_invalid_scope() {
    let s = TestServer::start().await;
    for scope in ["playback:write", "profile:read admin", "nonsense"] {
        let url = s.authorize_url(&ClientApp::spa(), &Pkce::new(), Some(scope), Some("st"));
        let reply = s.get(&url).await;
        assert_eq!(reply.status, 302, "{scope}: {}", reply.describe());
        assert!(reply.location().starts_with(&ClientApp::spa().redirect_uri));
        let params = assert_error_redirect(reply.location(), "invalid_scope", "st");
        assert_eq!(
            param(&params, "request_id"),
            Some(reply.request_id()),
            "PP-AUTHZ-4: the redirect names this request"
        );
    }
}

/// PP-AUTHZ-5: an unknown client or a redirect URI that is not registered byte for byte
/// gets a 400 HTML page with the request id, never a redirect.
#[tokio::test]
async fn unknown_client_or_unregistered_redirect_uri_gets_an_error_page() {
    let s = TestServer::start().await;
    let pkce = Pkce::new();
    let mut unknown = ClientApp::web();
    unknown.client_id = "no-such-app".into();
    let mut trailing_slash = ClientApp::web();
    trailing_slash.redirect_uri.push('/');
    let mut elsewhere = ClientApp::web();
    elsewhere.redirect_uri = "https://attacker.example/callback".into();
    let mut other_apps = ClientApp::web();
    other_apps.redirect_uri = ClientApp::spa().redirect_uri;
    for app in [unknown, trailing_slash, elsewhere, other_apps] {
        let reply = s.get(&s.authorize_url(&app, &pkce, None, Some("st"))).await;
        assert_eq!(reply.status, 400, "{app:?}: {}", reply.describe());
        assert!(reply.is_html(), "{app:?}");
        assert!(
            reply.header("location").is_none(),
            "PP-AUTHZ-5: never a redirect"
        );
        assert!(
            reply.text().contains(reply.request_id()),
            "PP-AUTHZ-5: the page shows the request id"
        );
    }
    // No client_id or no redirect_uri at all: nowhere to redirect either.
    let reply = s
        .get(&s.authorize_url_from(&[("response_type", "code")]))
        .await;
    assert_eq!((reply.status, reply.is_html()), (400, true));
    let reply = s
        .get(&s.authorize_url_from(&[("response_type", "code"), ("client_id", "pp-web")]))
        .await;
    assert_eq!((reply.status, reply.is_html()), (400, true));
}

/// PP-AUTHZ-6: PKCE is required and only S256; `plain` or no challenge is an
/// `invalid_request` redirect.
#[tokio::test]
async fn plain_or_missing_pkce_is_invalid_request() {
    let s = TestServer::start().await;
    let app = ClientApp::web();
    let pkce = Pkce::new();
    let base = [
        ("response_type", "code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("state", "s1"),
    ];
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("code_challenge", pkce.challenge.as_str())],
        vec![
            ("code_challenge", pkce.verifier.as_str()),
            ("code_challenge_method", "plain"),
        ],
        vec![("code_challenge_method", "S256")],
        vec![
            ("code_challenge", "short"),
            ("code_challenge_method", "S256"),
        ],
        vec![
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S512"),
        ],
    ];
    for extra in cases {
        let mut pairs = base.to_vec();
        pairs.extend(extra.iter().copied());
        let reply = s.get(&s.authorize_url_from(&pairs)).await;
        assert_eq!(reply.status, 302, "{extra:?}: {}", reply.describe());
        assert_error_redirect(reply.location(), "invalid_request", "s1");
    }
}

/// PP-AUTHZ-4: `unsupported_response_type` and a missing `response_type` redirect.
#[tokio::test]
async fn wrong_response_type_redirects_with_an_error() {
    let s = TestServer::start().await;
    let app = ClientApp::web();
    let pkce = Pkce::new();
    for (response_type, error) in [
        (Some("token"), "unsupported_response_type"),
        (None, "invalid_request"),
    ] {
        let mut pairs = vec![
            ("client_id", app.client_id.as_str()),
            ("redirect_uri", app.redirect_uri.as_str()),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if let Some(rt) = response_type {
            pairs.push(("response_type", rt));
        }
        let reply = s.get(&s.authorize_url_from(&pairs)).await;
        assert_eq!(reply.status, 302, "{}", reply.describe());
        assert_eq!(param(&reply.location_params(), "error"), Some(error));
    }
}

/// RFC 6749 §4.1.2.1: a repeated parameter is `invalid_request`; a repeated client_id
/// or redirect_uri cannot be trusted for a redirect, so it gets the error page.
#[tokio::test]
async fn repeated_authorize_parameters_are_invalid_request() {
    let s = TestServer::start().await;
    let app = ClientApp::web();
    let pkce = Pkce::new();
    let base = vec![
        ("response_type", "code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let mut scope_twice = base.clone();
    scope_twice.extend([("scope", "profile:read"), ("scope", "playback:read")]);
    let reply = s.get(&s.authorize_url_from(&scope_twice)).await;
    assert_eq!(reply.status, 302, "{}", reply.describe());
    assert_eq!(
        param(&reply.location_params(), "error"),
        Some("invalid_request")
    );

    let mut redirect_twice = base.clone();
    redirect_twice.push(("redirect_uri", "http://127.0.0.1:8765/other"));
    let reply = s.get(&s.authorize_url_from(&redirect_twice)).await;
    assert_eq!(reply.status, 400, "{}", reply.describe());
    assert!(reply.is_html() && reply.header("location").is_none());
}

/// PP-APP-4: an inactive app is `unauthorized_client`, at authorize (a redirect) and at
/// the token endpoint (400 JSON).
#[tokio::test]
async fn inactive_app_is_unauthorized_client() {
    let s = TestServer::start().await;
    let app = ClientApp::inactive();
    let reply = s
        .get(&s.authorize_url(&app, &Pkce::new(), None, Some("st")))
        .await;
    assert_eq!(reply.status, 302, "{}", reply.describe());
    assert_error_redirect(reply.location(), "unauthorized_client", "st");
    s.exchange(&app, "ppac_whatever", &Pkce::new().verifier)
        .await
        .assert_error(400, "unauthorized_client");
}

/// PP-AUTHZ-4 (SHOULD): a user who denies sends the browser back with `access_denied`.
#[tokio::test]
async fn denied_authorization_redirects_with_access_denied() {
    let s = TestServer::start().await;
    let app = ClientApp::web();
    let location = s
        .decide(
            &s.authorize_url(&app, &Pkce::new(), None, Some("st-9")),
            USER,
            false,
        )
        .await;
    assert!(location.starts_with(&app.redirect_uri), "{location}");
    assert_error_redirect(&location, "access_denied", "st-9");
}

/// PP-AUTHZ-7, PP-TOKEN-2: a code is bound to its client, redirect URI and challenge; a
/// mismatch is `invalid_grant`, and the right redemption still works afterwards.
#[tokio::test]
async fn code_is_bound_to_client_redirect_uri_and_verifier() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;

    s.exchange(&web, &code, &Pkce::new().verifier)
        .await
        .assert_error(400, "invalid_grant");
    let mut other_redirect = web.clone();
    other_redirect.redirect_uri = "http://127.0.0.1:8765/other".into();
    s.exchange(&other_redirect, &code, &pkce.verifier)
        .await
        .assert_error(400, "invalid_grant");
    s.exchange(&ClientApp::spa(), &code, &pkce.verifier)
        .await
        .assert_error(400, "invalid_grant");
    s.exchange(&web, "ppac_not-a-code", &pkce.verifier)
        .await
        .assert_error(400, "invalid_grant");

    Tokens::from_reply(&s.exchange(&web, &code, &pkce.verifier).await);
}

/// PP-AUTHZ-6: a verifier that is not 43-128 unreserved characters is `invalid_request`.
#[tokio::test]
async fn verifier_of_the_wrong_shape_is_invalid_request() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    for verifier in [
        "short".to_owned(),
        "a".repeat(129),
        format!("{}!", &pkce.verifier[..42]),
    ] {
        s.exchange(&web, &code, &verifier)
            .await
            .assert_error(400, "invalid_request");
    }
    // 128 characters is the upper bound and is well formed (it just does not match).
    s.exchange(&web, &code, &"a".repeat(128))
        .await
        .assert_error(400, "invalid_grant");
}

/// PP-AUTHZ-7: a code lives as long as the profile says, then it is `invalid_grant`.
#[tokio::test]
async fn code_expires_after_its_lifetime() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let lifetime = s.profile.lifetimes.authorization_code as f64;

    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    s.advance(lifetime - 5.0).await;
    Tokens::from_reply(&s.exchange(&web, &code, &pkce.verifier).await);

    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    s.advance(lifetime).await;
    s.exchange(&web, &code, &pkce.verifier)
        .await
        .assert_error(400, "invalid_grant");
}

/// PP-AUTHZ-8: a second redemption fails with `invalid_grant` and revokes what the first
/// one issued.
#[tokio::test]
async fn second_redemption_fails_and_revokes_the_first_tokens() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    let tokens = Tokens::from_reply(&s.exchange(&web, &code, &pkce.verifier).await);
    s.assert_live(&tokens).await;
    s.exchange(&web, &code, &pkce.verifier)
        .await
        .assert_error(400, "invalid_grant");
    s.assert_revoked(&web, &tokens).await;
}

/// PP-AUTHZ-8 under load: 500 concurrent redemptions of one code. The token endpoint's
/// limit (PP-RATE-1) refuses some with 429; of the rest exactly one gets tokens and every
/// other is `invalid_grant`; no 5xx; and the winner's tokens end up revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_redemptions_of_one_code_have_exactly_one_winner() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    let form = s.exchange_form(&web, &code, &pkce.verifier);
    let url = s.endpoint("token");
    let replies = concurrently(500, |_| s.http.post(&url).form(&form)).await;

    assert_no_server_errors(&replies);
    let counts = status_counts(&replies);
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "PP-AUTHZ-8: exactly one redemption succeeds: {counts:?}"
    );
    let limit = s
        .profile
        .rate_limit_for("POST", Some("token"), s.profile.path("token"))
        .expect("the token limit");
    for r in replies.iter().filter(|r| r.status != 200) {
        match r.status {
            400 => assert_eq!(
                r.error_code().as_deref(),
                Some("invalid_grant"),
                "{}",
                r.describe()
            ),
            429 => assert_eq!(r.error_code().as_deref(), Some("rate_limited")),
            _ => panic!("unexpected {}: {counts:?}", r.describe()),
        }
    }
    let admitted = replies.iter().filter(|r| r.status != 429).count();
    assert_eq!(admitted, limit.max as usize, "PP-RATE-1: {counts:?}");

    let tokens = Tokens::from_reply(winners[0]);
    s.assert_revoked(&web, &tokens).await;
}

/// PP-AUTHZ-7, PP-AUTHZ-8: with the token limit raised in a copy of the profile (so no
/// request is refused before it reaches the code), all 500 concurrent redemptions race on
/// the code itself: exactly one wins, 499 are `invalid_grant`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_redemptions_race_on_the_code_itself() {
    let mut profile = profile::Profile::punchplay();
    for limit in profile
        .rate_limits
        .iter_mut()
        .filter(|l| l.endpoint() == Some("token"))
    {
        limit.max = 10_000;
    }
    let s = TestServer::start_with(reference_server::ServerConfig {
        profile,
        test_controls: true,
        ..reference_server::ServerConfig::punchplay()
    })
    .await;
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    let form = s.exchange_form(&web, &code, &pkce.verifier);
    let url = s.endpoint("token");
    let replies = concurrently(500, |_| s.http.post(&url).form(&form)).await;

    assert_no_server_errors(&replies);
    let counts = status_counts(&replies);
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "PP-AUTHZ-8: one winner: {counts:?}");
    let losers = replies
        .iter()
        .filter(|r| r.status == 400 && r.error_code().as_deref() == Some("invalid_grant"))
        .count();
    assert_eq!(
        losers, 499,
        "every other redemption is invalid_grant: {counts:?}"
    );
    s.assert_revoked(&web, &Tokens::from_reply(winners[0]))
        .await;
}

/// PP-TOKEN-3: an unknown `grant_type` is `unsupported_grant_type`; a missing one, or
/// missing fields, `invalid_request`.
#[tokio::test]
async fn unknown_grant_type_is_unsupported_and_missing_fields_are_invalid_request() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let url = s.endpoint("token");
    for grant_type in [
        "password",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let mut form = web.credentials();
        form.push(("grant_type".into(), grant_type.into()));
        s.post_form(&url, &form)
            .await
            .assert_error(400, "unsupported_grant_type");
    }
    s.post_form(&url, &web.credentials())
        .await
        .assert_error(400, "invalid_request");
    let pkce = Pkce::new();
    let full = s.exchange_form(&web, "ppac_x", &pkce.verifier);
    for missing in ["code", "redirect_uri", "code_verifier"] {
        let form: Vec<_> = full.iter().filter(|(k, _)| k != missing).cloned().collect();
        s.post_form(&url, &form)
            .await
            .assert_error(400, "invalid_request");
    }
    let mut form = web.credentials();
    form.push(("grant_type".into(), "refresh_token".into()));
    s.post_form(&url, &form)
        .await
        .assert_error(400, "invalid_request");
}

/// PP-TOKEN-4: the token endpoint takes forms and JSON alike; any other content type is
/// `invalid_request`.
#[tokio::test]
async fn token_endpoint_takes_json_as_well_as_forms() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    let body = json!({
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": web.redirect_uri,
        "code_verifier": pkce.verifier,
        "client_id": web.client_id,
        "client_secret": web.secret,
    });
    let tokens = Tokens::from_reply(&s.post_json(&s.endpoint("token"), &body).await);

    let refresh = json!({"grant_type": "refresh_token", "refresh_token": tokens.refresh_token, "client_id": "pp-web", "client_secret": "pp-web-secret"});
    Tokens::from_reply(&s.post_json(&s.endpoint("token"), &refresh).await);

    let form = serde_urlencoded::to_string(s.refresh_form(&web, "pprt_x")).unwrap();
    for content_type in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
    ] {
        let reply = common::send(
            s.http
                .post(s.endpoint("token"))
                .header("content-type", content_type)
                .body(form.clone()),
        )
        .await;
        reply.assert_error(400, "invalid_request");
    }
}

/// PP-APP-3: a wrong or missing secret, or an unknown client, is 401 `invalid_client`; a
/// public client that sends a secret too (DECIDED).
#[tokio::test]
async fn bad_client_credentials_are_invalid_client() {
    let s = TestServer::start().await;
    let url = s.endpoint("token");
    let pkce = Pkce::new();
    let mut wrong_secret = ClientApp::web();
    wrong_secret.secret = Some("pp-web-secreT".into());
    let mut no_secret = ClientApp::web();
    no_secret.secret = None;
    let mut public_with_secret = ClientApp::spa();
    public_with_secret.secret = Some("anything".into());
    let mut unknown = ClientApp::web();
    unknown.client_id = "nobody".into();
    for app in [wrong_secret, no_secret, public_with_secret, unknown] {
        let reply = s
            .post_form(&url, &s.exchange_form(&app, "ppac_x", &pkce.verifier))
            .await;
        reply.assert_error(401, "invalid_client");
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "RFC 6749 §5.2"
        );
    }
}

/// PP-TOKEN-5: a confidential client may use HTTP Basic instead of body parameters; both
/// at once is `invalid_request`; bad Basic credentials carry a Basic challenge.
#[tokio::test]
async fn confidential_client_may_authenticate_with_http_basic() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    let mut public_form = web.clone();
    public_form.secret = None;
    let form = s.exchange_form(&public_form, &code, &pkce.verifier);
    let url = s.endpoint("token");

    // Both at once.
    let both = s.exchange_form(&web, &code, &pkce.verifier);
    let reply = common::send(
        s.http
            .post(&url)
            .basic_auth("pp-web", Some("pp-web-secret"))
            .form(&both),
    )
    .await;
    reply.assert_error(400, "invalid_request");

    let reply = common::send(
        s.http
            .post(&url)
            .basic_auth("pp-web", Some("wrong"))
            .form(&form),
    )
    .await;
    reply.assert_error(401, "invalid_client");
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|c| c.starts_with("Basic")),
        "{:?}",
        reply.headers
    );

    // Malformed Basic credentials, and wrong ones under a shouted scheme (schemes are
    // case-insensitive, RFC 9110 §11.1), are all invalid_client.
    for authorization in [
        "Basic !!!not-base64".to_owned(),
        format!("Basic {}", STANDARD.encode(b"no-colon-here")),
        format!("BASIC {}", STANDARD.encode(b"pp-web:wrong")),
    ] {
        let reply = common::send(
            s.http
                .post(&url)
                .header("authorization", &authorization)
                .form(&form),
        )
        .await;
        reply.assert_error(401, "invalid_client");
    }

    let reply = common::send(
        s.http
            .post(&url)
            .basic_auth("pp-web", Some("pp-web-secret"))
            .form(&form),
    )
    .await;
    Tokens::from_reply(&reply);
}

/// PP-TOKEN-4, PP-API-1: an access token lives as long as the profile says, then it is
/// `invalid_token`.
#[tokio::test]
async fn access_token_expires_after_its_lifetime() {
    let s = TestServer::start().await;
    let tokens = s.code_login(&ClientApp::web(), USER, None).await;
    s.advance(s.profile.lifetimes.access_token as f64 - 5.0)
        .await;
    s.assert_live(&tokens).await;
    s.advance(5.0).await;
    s.me(&tokens.access_token)
        .await
        .assert_error(401, "invalid_token");
}

/// The failure modes of the test controls: authorize redirects with the named error; the
/// token endpoint answers 500 `server_error` (PP-ERR-3, PP-ERR-4); `normal` restores.
#[tokio::test]
async fn failure_modes_break_authorize_and_token_as_named() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let code = s.authorization_code(&web, USER, &pkce, None).await;
    for mode in ["temporarily_unavailable", "server_error"] {
        s.set_mode(mode).await;
        let reply = s
            .get(&s.authorize_url(&web, &Pkce::new(), None, Some("m")))
            .await;
        assert_eq!(reply.status, 302);
        assert_error_redirect(reply.location(), mode, "m");
        s.exchange(&web, &code, &pkce.verifier)
            .await
            .assert_error(500, "server_error");
    }
    s.set_mode("normal").await;
    Tokens::from_reply(&s.exchange(&web, &code, &pkce.verifier).await);
}

/// PP-AUTHZ-3, PP-AUTHZ-4: `state` comes back exactly as sent, however it is spelled, on
/// approval, denial and error redirects; a redirect URI's own query is kept.
#[tokio::test]
async fn state_round_trips_exactly_and_the_redirect_query_is_kept() {
    let s = TestServer::start().await;
    let cookie = s.session_cookie(USER).await;
    let created = s.register_app(&cookie, &json!({"name": "Tenant App", "kind": "public", "redirect_uris": ["https://app.example/cb?tenant=7"], "allowed_scopes": ["profile:read"]})).await.json();
    let app = ClientApp::registered(&created);
    let state = "a b&c=d/é%20+~!*'()";
    for (scope, approve, expected) in [
        (None, true, None),
        (None, false, Some("access_denied")),
        (Some("events:read"), true, Some("invalid_scope")),
    ] {
        let pkce = Pkce::new();
        let location = s
            .decide(
                &s.authorize_url(&app, &pkce, scope, Some(state)),
                USER,
                approve,
            )
            .await;
        assert!(
            location.starts_with("https://app.example/cb?"),
            "{location}"
        );
        let params = query_of(&location);
        assert_eq!(param(&params, "tenant"), Some("7"), "{location}");
        assert_eq!(param(&params, "state"), Some(state), "{location}");
        assert_eq!(param(&params, "error"), expected, "{location}");
        if expected.is_none() {
            let code = param(&params, "code").expect("a code");
            Tokens::from_reply(&s.exchange(&app, code, &pkce.verifier).await);
        }
    }
}
