//! Issue 12 items 1 and 2: every in-memory table is bounded, expired state goes as the
//! clock moves (the test clock's included), and revoking touches only what it ends.

mod common;

use std::sync::Arc;

use common::{ClientApp, Pkce, USER, client, form, param, query_of, send};
use reference_server::ServerConfig;
use reference_server::core::Core;
use reference_server::core::scope::ScopeSet;
use reference_server::http::App;
use serde_json::json;

/// A server whose core the test can look into, with the test controls on.
async fn inspectable_server() -> (Arc<App>, String, tokio::sync::oneshot::Sender<()>) {
    let app = Arc::new(
        App::new(ServerConfig {
            test_controls: true,
            ..ServerConfig::punchplay()
        })
        .expect("the punchplay profile is served"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(reference_server::http::server::run(
        listener,
        app.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    (app, base, stop)
}

#[tokio::test]
async fn invented_client_ids_share_one_limiter_key_per_address() {
    let (app, base, _stop) = inspectable_server().await;
    let http = client();
    let token = format!("{base}{}", app.core.profile.path("token"));
    let long = "x".repeat(4096);
    for i in 0..200 {
        let client_id = format!("{long}{i}");
        let reply = send(http.post(&token).form(&form(&[
            ("grant_type", "authorization_code"),
            ("client_id", &client_id),
            ("client_secret", "nope"),
            ("code", "c"),
        ])))
        .await;
        // Refused either way: unknown client (401) or, once the shared key is full, 429.
        assert!(
            reply.status == 401 || reply.status == 429,
            "{}",
            reply.describe()
        );
    }
    let keys = app.core.limiter().len();
    assert!(
        keys <= 2,
        "200 invented client_ids made {keys} limiter keys"
    );
    // A registered client still gets its own key.
    let web = ClientApp::web();
    let _ = send(http.post(&token).form(&form(&[
        ("grant_type", "authorization_code"),
        ("client_id", &web.client_id),
        ("client_secret", "wrong"),
    ])))
    .await;
    assert_eq!(app.core.limiter().len(), keys + 1);
}

#[tokio::test]
async fn expired_state_is_purged_as_the_test_clock_moves() {
    let (app, base, _stop) = inspectable_server().await;
    let http = client();
    for _ in 0..20 {
        let reply = send(
            http.post(format!("{base}/__test/login"))
                .json(&json!({"username": USER})),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.describe());
    }
    let lifetimes = app.core.profile.lifetimes.clone();
    {
        let mut state = app.core.lock();
        let scopes = ScopeSet::default();
        let now = app.core.now();
        for _ in 0..50 {
            let grant = state.grants.create(USER, "pp-web", scopes.clone());
            state.grants.issue(
                grant,
                &app.core.profile.tokens,
                &scopes,
                (lifetimes.access_token, lifetimes.refresh_token_idle),
                now,
            );
        }
    }
    assert_eq!(app.core.lock().sessions.len(), 20);
    let advance = |seconds: u64| {
        let http = http.clone();
        let url = format!("{base}/__test/clock/advance");
        async move {
            let reply = send(http.post(url).json(&json!({"seconds": seconds}))).await;
            assert_eq!(reply.status, 200, "{}", reply.describe());
        }
    };
    advance(lifetimes.access_token + 1).await;
    let counts = app.core.lock().grants.counts();
    assert_eq!(counts.access, 0, "access tokens expired: {counts:?}");
    assert_eq!(counts.refresh, 50, "refresh tokens live on: {counts:?}");
    advance(lifetimes.refresh_token_idle.max(lifetimes.session) + 1).await;
    let state = app.core.lock();
    assert_eq!(state.grants.counts().grants, 0, "grants without tokens go");
    assert_eq!(state.sessions.len(), 0, "expired sessions go");
}

#[tokio::test]
async fn an_overlong_state_is_refused_and_pending_requests_are_capped_per_session() {
    let (app, base, _stop) = inspectable_server().await;
    let server_base = base.clone();
    let http = client();
    let cookie = {
        let reply = send(
            http.post(format!("{base}/__test/login"))
                .json(&json!({"username": USER})),
        )
        .await;
        reply.json()["cookie"].as_str().unwrap().to_owned()
    };
    let web = ClientApp::web();
    let pkce = Pkce::new();
    let authorize = |state: &str| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", web.client_id.as_str()),
                ("redirect_uri", web.redirect_uri.as_str()),
                ("code_challenge", pkce.challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("state", state),
            ])
            .finish();
        format!(
            "{server_base}{}?{query}",
            app.core.profile.path("authorize")
        )
    };
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let long = "s".repeat(5000);
    let reply = send(no_redirects.get(authorize(&long)).header("cookie", &cookie)).await;
    assert_eq!(reply.status, 302, "{}", reply.describe());
    let params = query_of(reply.location());
    assert_eq!(param(&params, "error"), Some("invalid_request"));
    assert_eq!(
        param(&params, "state"),
        None,
        "an oversized state is not echoed"
    );

    for i in 0..40 {
        let reply = send(
            no_redirects
                .get(authorize(&format!("st{i}")))
                .header("cookie", &cookie),
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.describe());
    }
    let pending = app.core.lock().pending.len();
    assert_eq!(
        pending,
        reference_server::core::authorization_code::MAX_PENDING_PER_SESSION
    );
}

#[test]
fn revoking_a_users_app_ends_only_its_tokens() {
    let core = Core::bare(
        profile::Profile::punchplay(),
        profile::Identities::punchplay(),
    );
    let now = core.now();
    let prefixes = core.profile.tokens.clone();
    let mut state = core.lock();
    let scopes = ScopeSet::default();
    let mut issue = |user: &str, client: &str| {
        let grant = state.grants.create(user, client, scopes.clone());
        state
            .grants
            .issue(grant, &prefixes, &scopes, (3600, 3600), now)
    };
    let alice_web = issue("alice", "pp-web");
    let alice_spa = issue("alice", "pp-spa");
    let bob_web = issue("bob", "pp-web");
    assert_eq!(state.grants.revoke_user_app("alice", "pp-web"), 2);
    assert!(state.grants.access(&alice_web.access_token).is_none());
    assert!(state.grants.access(&alice_spa.access_token).is_some());
    assert!(state.grants.access(&bob_web.access_token).is_some());
    assert_eq!(state.grants.revoke_client("pp-web"), 2, "bob's pair");
    assert_eq!(state.grants.counts().grants, 1);
}
