//! The kernel and the shell against the built-in profiles, from outside (they name no
//! family themselves): lifetimes and windows on paused time, the start-up fault across a
//! reset, the route tables against routing, the start-up check of limits, and one state
//! lock per request on the hot path (issue 7 item 4).

use std::sync::Arc;
use std::time::Duration;

use profile::{Identities, LimitKey, LimitTarget, Profile};
use reference_server::ServerConfig;
use reference_server::core::Core;
use reference_server::core::error::ErrorCode;
use reference_server::http::App;
use reference_server::http::routes::Resolved;

fn punchplay_kernel() -> Core {
    Core::bare(Profile::punchplay(), Identities::punchplay())
}

/// PP-API-1 with paused tokio time: the access token works until its lifetime has passed
/// on the core's clock and not a millisecond longer, and nothing sleeps.
#[tokio::test(start_paused = true)]
async fn an_access_token_ends_when_paused_time_passes_its_lifetime() {
    let core = punchplay_kernel();
    let lifetime = core.profile.lifetimes.access_token;
    let pair = {
        let now = core.now();
        let mut state = core.lock();
        let scopes = state.registry.apps["pp-web"].allowed_scopes.clone();
        let grant = state.grants.create("alice", "pp-web", scopes.clone());
        state
            .grants
            .issue(grant, &core.profile.tokens, &scopes, (lifetime, 3600), now)
    };
    let me = || core.bearer_user_profile(Some(&pair.access_token), None);
    assert_eq!(me().expect("fresh").0, "alice");
    tokio::time::advance(Duration::from_millis(lifetime * 1000 - 1)).await;
    assert!(me().is_ok(), "one millisecond before its lifetime ends");
    tokio::time::advance(Duration::from_millis(1)).await;
    let ended = me().expect_err("expired");
    assert_eq!(ended.code, ErrorCode::InvalidToken);
}

/// PP-RATE-1 and PP-RATE-3 with paused tokio time: a limit admits its max, refuses the
/// next with a Retry-After inside the window (PP-RATE-2), stays shut one millisecond
/// before the oldest admission slides out and opens exactly when it does.
#[tokio::test(start_paused = true)]
async fn a_limit_reopens_exactly_when_paused_time_slides_its_window() {
    let core = punchplay_kernel();
    let (index, limit) = core
        .profile
        .rate_limits
        .iter()
        .enumerate()
        .find(|(_, l)| l.name == "public-user")
        .expect("punchplay limits public-user");
    let (max, window) = (limit.max, limit.window_secs);
    let key = "127.0.0.9";
    for n in 0..max {
        core.admit(index, key)
            .unwrap_or_else(|e| panic!("request {n} is within the limit: {e:?}"));
    }
    let refused = core.admit(index, key).expect_err("one over the limit");
    assert_eq!(refused.code, ErrorCode::RateLimited);
    assert_eq!(
        refused.retry_after,
        Some(window),
        "all {max} were admitted just now"
    );
    tokio::time::advance(Duration::from_millis(window * 1000 - 1)).await;
    assert!(
        core.admit(index, key).is_err(),
        "the window has not slid yet"
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    core.admit(index, key)
        .expect("the oldest admissions slid out");
}

/// A fault given at start is on from the start and again after a reset; a name that is
/// not the family's is refused with the family's names.
#[test]
fn a_reset_returns_to_the_start_up_fault() {
    let app = App::new(ServerConfig {
        fault: Some("verifier_ignored".into()),
        ..ServerConfig::punchplay()
    })
    .unwrap();
    let core = &app.core;
    assert_eq!(core.fault().map(|f| f.name), Some("verifier_ignored"));
    core.set_fault(Some("scope_check_skipped")).unwrap();
    core.reset();
    assert_eq!(core.fault().map(|f| f.name), Some("verifier_ignored"));
    core.set_fault(None).unwrap();
    assert!(core.fault().is_none());
    let refused = core.set_fault(Some("en_revoke_keeps_token")).unwrap_err();
    assert!(
        refused.message.contains("verifier_ignored"),
        "{}",
        refused.message
    );
}

/// Every endpoint route of each family's table resolves to itself.
#[test]
fn the_endpoint_tables_agree_with_routing() {
    for config in [
        ServerConfig::punchplay(),
        ServerConfig::enterprise(),
        ServerConfig::flexslot(),
    ] {
        let app = App::new(config).expect("a built-in profile is served");
        let profile = &app.core.profile;
        for (method, endpoint, source) in app.routes().endpoint_routes() {
            let path = profile
                .path_template(endpoint)
                .fill(&[("action", "start"), ("username", "alice")]);
            let Resolved::Route(i, _) = app.routes().resolve(&method.parse().unwrap(), &path)
            else {
                panic!("{method} {path} is not routed");
            };
            let route = app.routes().route(i);
            assert_eq!(route.endpoint(), Some(endpoint), "{method} {path}");
            assert_eq!(route.client, source, "{method} {path}");
        }
    }
}

/// A path-prefix limit keyed by IP is served; keyed by client it is refused at start:
/// a prefix also counts unknown paths, which offer only the IP.
#[test]
fn a_prefix_limit_by_ip_is_served_and_by_client_is_not() {
    let mut profile = Profile::punchplay();
    profile.rate_limits[0].target = LimitTarget::PathPrefix("/api/".into());
    profile.rate_limits[0].method = "*".into();
    profile.rate_limits[0].key = LimitKey::Ip;
    let config = |profile: Profile| ServerConfig {
        profile,
        ..ServerConfig::punchplay()
    };
    App::new(config(profile.clone())).expect("an IP-keyed prefix limit is served");
    profile.rate_limits[0].key = LimitKey::ClientAndIp;
    let name = profile.rate_limits[0].name.clone();
    let refused = App::new(config(profile)).err().expect("refused at start");
    assert!(refused.to_string().contains(&name), "{refused}");
}

/// Issue 7 item 4, through the http shell: a rotating refresh at `oauth/token` and at
/// `auth/refresh`, and `GET me`, each take the state lock exactly once. (The fewest of a
/// few tries: the background purge takes it too, once a second.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hot_path_takes_the_state_lock_once_per_request() {
    let app = Arc::new(App::new(ServerConfig::punchplay()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(reference_server::http::server::run(
        listener,
        app.clone(),
        async move {
            let _ = stopped.await;
        },
    ));
    let core = &app.core;
    let mut pair = {
        let now = core.now();
        let mut state = core.lock();
        let scopes = state.registry.apps["pp-web"].allowed_scopes.clone();
        let grant = state.grants.create("alice", "pp-web", scopes.clone());
        state
            .grants
            .issue(grant, &core.profile.tokens, &scopes, (3600, 3600), now)
    };
    let http = reqwest::Client::new();
    let url = |endpoint: &str| format!("{base}{}", core.profile.path(endpoint));
    let mut fewest = [u64::MAX; 3];
    for _ in 0..5 {
        for (i, endpoint) in ["token", "refresh"].into_iter().enumerate() {
            let before = core.state_acquisitions();
            let reply = http
                .post(url(endpoint))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("client_id", "pp-web"),
                    ("client_secret", "pp-web-secret"),
                    ("refresh_token", &pair.refresh_token),
                ])
                .send()
                .await
                .unwrap();
            fewest[i] = fewest[i].min(core.state_acquisitions() - before);
            assert_eq!(reply.status(), 200, "{endpoint}");
            let body: serde_json::Value = reply.json().await.unwrap();
            pair.refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
            pair.access_token = body["access_token"].as_str().unwrap().to_owned();
        }
        let before = core.state_acquisitions();
        let reply = http
            .get(url("me"))
            .bearer_auth(&pair.access_token)
            .send()
            .await
            .unwrap();
        fewest[2] = fewest[2].min(core.state_acquisitions() - before);
        assert_eq!(reply.status(), 200, "me");
    }
    assert_eq!(fewest, [1, 1, 1], "oauth/token, auth/refresh, GET me");
}
