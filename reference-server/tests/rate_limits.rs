//! The six documented rate limits as exact sliding windows (PP-RATE-1..4), each driven
//! with real concurrent requests. Every number comes from the profile's `[[rate_limits]]`.

mod common;

use std::net::Ipv4Addr;
use std::time::Instant;

use common::{
    ClientApp, OTHER_USER, Reply, TestServer, USER, client, client_from, concurrently, form,
    playback_body, send, status_counts,
};
use reference_server::ServerConfig;

/// How many requests over the limit each burst sends.
const OVER: usize = 50;

/// One burst at a time in this file: the Retry-After - 1 s check needs the burst to fit
/// in a second of real time, so two bursts must not share the two cores.
static ONE_BURST_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The request a limit counts, built for one client (so a test can be several IPs).
type MakeRequest<'a> =
    Box<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync + 'a>;

/// Checks a 429 (PP-RATE-2): the envelope with `rate_limited`, the request id, and
/// Retry-After in whole seconds from 1 up to the window. Answers Retry-After.
fn retry_after(reply: &Reply, window_secs: u64) -> u64 {
    reply.assert_error(429, "rate_limited");
    let value = reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("PP-RATE-2: no Retry-After on {}", reply.describe()));
    let secs: u64 = value
        .parse()
        .unwrap_or_else(|_| panic!("PP-RATE-2: Retry-After `{value}` is not whole seconds"));
    assert!(
        (1..=window_secs).contains(&secs),
        "PP-RATE-2: Retry-After {secs} outside 1..={window_secs}"
    );
    secs
}

/// The whole check of one limit:
/// - N+50 concurrent requests of one key: exactly N admitted (whatever their status),
///   50 refused with 429 (PP-RATE-1, PP-RATE-2);
/// - a request of another key is still admitted (PP-RATE-4);
/// - after Retry-After - 1 s the key is still refused, after Retry-After admitted, and the
///   refusals in between did not count (PP-RATE-3).
async fn check_limit(
    s: &TestServer,
    name: &str,
    key: &reqwest::Client,
    make: MakeRequest<'_>,
    other_key: MakeRequest<'_>,
) {
    let limit = s
        .profile
        .rate_limit(name)
        .unwrap_or_else(|| panic!("the profile has no limit `{name}`"))
        .clone();
    let n = limit.max as usize;
    let _alone = ONE_BURST_AT_A_TIME.lock().await;

    // Open the connections first, on an endpoint no limit counts, so the burst is quick:
    // the Retry-After - 1 check needs it to fit in a second of real time.
    let clock = s.url("/__test/clock");
    let warm = concurrently(n + OVER, |_| key.get(&clock)).await;
    assert!(warm.iter().all(|r| r.status == 200));

    let started = Instant::now();
    let replies = concurrently(n + OVER, |i| make(key, i)).await;
    common::assert_no_server_errors(&replies);
    let counts = status_counts(&replies);
    let refused: Vec<_> = replies.iter().filter(|r| r.status == 429).collect();
    assert_eq!(
        replies.len() - refused.len(),
        n,
        "PP-RATE-1 `{name}`: exactly {n} admitted: {counts:?}"
    );
    assert_eq!(refused.len(), OVER, "PP-RATE-1 `{name}`: {counts:?}");
    for r in &refused {
        retry_after(r, limit.window_secs);
    }

    // PP-RATE-4: another key has its own window.
    let other = send(other_key(&client(), 0)).await;
    assert_ne!(
        other.status,
        429,
        "PP-RATE-4 `{name}`: another key is admitted: {}",
        other.describe()
    );

    // PP-RATE-3: just before Retry-After still refused, at Retry-After admitted.
    let wait = retry_after(&send(make(key, n)).await, limit.window_secs);
    s.advance(wait as f64 - 1.0).await;
    let before = send(make(key, n + 1)).await;
    assert_eq!(
        before.status,
        429,
        "PP-RATE-3 `{name}`: admitted 1 s before Retry-After ({wait} s; {:?} since the burst began): {}",
        started.elapsed(),
        before.describe()
    );
    retry_after(&before, limit.window_secs);
    s.advance(1.0).await;
    let after = send(make(key, n + 2)).await;
    assert_ne!(
        after.status,
        429,
        "PP-RATE-3 `{name}`: refused at Retry-After ({wait} s): {}",
        after.describe()
    );
}

/// [`check_limit`] for a limit keyed by IP alone: the same form posted to `endpoint`
/// from this client, and from `other_ip` as the other key.
async fn check_per_ip_form_limit(
    s: &TestServer,
    name: &str,
    endpoint: &str,
    body: &[(String, String)],
    other_ip: Ipv4Addr,
) {
    let url = s.endpoint(endpoint);
    let make: MakeRequest = Box::new(|c, _| c.post(&url).form(body));
    let other = client_from(other_ip);
    let other_key: MakeRequest = Box::new(|_, _| other.post(&url).form(body));
    check_limit(s, name, &client(), make, other_key).await;
}

/// Every limit of the profile has a test here, and there are the six of PP-RATE-1.
#[test]
fn every_profile_limit_is_tested() {
    let profile = profile::Profile::punchplay();
    let mut names: Vec<_> = profile
        .rate_limits
        .iter()
        .map(|l| l.name.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "device-code",
            "device-token",
            "playback",
            "public-user",
            "refresh",
            "token"
        ]
    );
}

/// `POST auth/device/code`, per IP (PP-RATE-1). The burst asks for a scope the app does
/// not have: admitted requests count whatever their status (PP-RATE-3), and an
/// `invalid_scope` answer draws no QR code, which keeps the burst well inside a second.
/// The last request, after Retry-After, and the other key's are good ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_limit_admits_exactly_n_per_ip() {
    let s = TestServer::start().await;
    let n = s.profile.rate_limit("device-code").expect("the limit").max as usize;
    let url = s.endpoint("device_code");
    let good = form(&[("client_id", "pp-tv")]);
    let bad_scope = form(&[("client_id", "pp-tv"), ("scope", "admin")]);
    let make: MakeRequest = Box::new(|c, i| {
        c.post(&url)
            .form(if i == n + 2 { &good } else { &bad_scope })
    });
    let other = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let other_key: MakeRequest = Box::new(|_, _| other.post(&url).form(&good));
    check_limit(&s, "device-code", &client(), make, other_key).await;
}

/// `POST auth/device/token`, per IP (PP-RATE-1); admitted polls of an unknown code are
/// `expired` and still count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_token_limit_admits_exactly_n_per_ip() {
    let s = TestServer::start().await;
    let body = form(&[("client_id", "pp-tv"), ("device_code", "ppdc_unknown")]);
    let other_ip = Ipv4Addr::new(127, 0, 0, 3);
    check_per_ip_form_limit(&s, "device-token", "device_token", &body, other_ip).await;
}

/// `POST auth/refresh`, per IP (PP-RATE-1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_limit_admits_exactly_n_per_ip() {
    let s = TestServer::start().await;
    let body = form(&[("client_id", "pp-tv"), ("refresh_token", "pprt_unknown")]);
    let other_ip = Ipv4Addr::new(127, 0, 0, 4);
    check_per_ip_form_limit(&s, "refresh", "refresh", &body, other_ip).await;
}

/// `POST oauth/token`, per client and IP (PP-RATE-1, PP-RATE-4): another client from the
/// same IP, and the same client from another IP, have their own windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_limit_admits_exactly_n_per_client_and_ip() {
    let s = TestServer::start().await;
    let url = s.endpoint("token");
    let web = form(&[
        ("client_id", "pp-web"),
        ("client_secret", "pp-web-secret"),
        ("grant_type", "refresh_token"),
        ("refresh_token", "pprt_x"),
    ]);
    let spa = form(&[
        ("client_id", "pp-spa"),
        ("grant_type", "refresh_token"),
        ("refresh_token", "pprt_x"),
    ]);
    let make: MakeRequest = Box::new(|c, _| c.post(&url).form(&web));
    let other_client: MakeRequest = Box::new(|c, _| c.post(&url).form(&spa));
    let key = client();
    check_limit(&s, "token", &key, make, other_client).await;

    s.control("reset", serde_json::json!({})).await;
    let make: MakeRequest = Box::new(|c, _| c.post(&url).form(&web));
    let elsewhere = client_from(Ipv4Addr::new(127, 0, 0, 5));
    let other_ip: MakeRequest = Box::new(|_, _| elsewhere.post(&url).form(&web));
    check_limit(&s, "token", &key, make, other_ip).await;
}

/// `POST playback/{action}`, per user (PP-RATE-1, PP-RATE-4): another token of the same
/// user shares the window, another user has their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playback_limit_admits_exactly_n_per_user() {
    let s = TestServer::start().await;
    let alice = s.web_access_token(USER).await;
    let alice_tv = s
        .device_login(&ClientApp::tv(), USER, None)
        .await
        .access_token;
    let bob = s.web_access_token(OTHER_USER).await;
    let url = s.endpoint_with("playback", "progress");
    let body = |i: usize| {
        playback_body(
            "m1",
            &format!("2026-06-09T12:00:{:02}.{:03}Z", i / 1000 % 60, i % 1000),
            i as u64,
        )
    };
    // Half the burst on each of alice's tokens: one user, one window.
    let make: MakeRequest = Box::new(|c, i| {
        c.post(&url)
            .bearer_auth(if i % 2 == 0 { &alice } else { &alice_tv })
            .json(&body(i))
    });
    let other_user: MakeRequest = Box::new(|c, i| c.post(&url).bearer_auth(&bob).json(&body(i)));
    check_limit(&s, "playback", &client(), make, other_user).await;
}

/// `GET /api/public/v1/users/{username}`, per IP (PP-RATE-1); an unknown user's 404 is
/// admitted and counts too (PP-RATE-3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_user_limit_admits_exactly_n_per_ip() {
    let s = TestServer::start().await;
    let known = s.endpoint_with("public_user", USER);
    let unknown = s.endpoint_with("public_user", "nobody");
    let make: MakeRequest = Box::new(|c, i| c.get(if i % 3 == 0 { &unknown } else { &known }));
    let other = client_from(Ipv4Addr::new(127, 0, 0, 6));
    let other_key: MakeRequest = Box::new(|_, _| other.get(&known));
    check_limit(&s, "public-user", &client(), make, other_key).await;
}

/// PP-RATE-4: requests that fail authentication are not counted against a user; the
/// playback limit comes after authentication.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_playback_requests_do_not_count_against_the_user() {
    let s = TestServer::start().await;
    let n = s
        .profile
        .rate_limit("playback")
        .expect("the playback limit")
        .max as usize;
    let token = s.web_access_token(USER).await;
    let url = s.endpoint_with("playback", "start");
    let body = playback_body("m1", "2026-06-09T12:00:00Z", 0);
    let garbage = concurrently(n + OVER, |_| {
        s.http
            .post(&url)
            .bearer_auth("ppat_not-a-token")
            .json(&body)
    })
    .await;
    assert!(
        garbage.iter().all(|r| r.status == 401),
        "{:?}",
        status_counts(&garbage)
    );
    let good = concurrently(n, |_| s.http.post(&url).bearer_auth(&token).json(&body)).await;
    assert!(
        good.iter().all(|r| r.status == 200),
        "{:?}",
        status_counts(&good)
    );
    send(s.http.post(&url).bearer_auth(&token).json(&body))
        .await
        .assert_error(429, "rate_limited");
}

/// PP-RATE-3: a sliding window, not a fixed one. Half the limit at t0, half at t0 + W/2:
/// at t0 + W only the first half has left, so exactly half is admitted again. Refusals in
/// between do not push the reopening back.
#[tokio::test]
async fn window_slides_and_refusals_do_not_count() {
    let s = TestServer::start().await;
    let limit = s
        .profile
        .rate_limit("public-user")
        .expect("the public-user limit")
        .clone();
    let (n, window) = (limit.max as usize, limit.window_secs as f64);
    let (first, second) = (n / 2, n - n / 2);
    let url = s.endpoint_with("public_user", USER);
    let burst = |count: usize| concurrently(count, |_| s.http.get(&url));
    assert!(burst(first).await.iter().all(|r| r.status == 200));
    s.advance(window / 2.0).await;
    assert!(burst(second).await.iter().all(|r| r.status == 200));
    let refused = s.get(&url).await;
    let wait = retry_after(&refused, limit.window_secs);
    assert!(
        wait as f64 <= window / 2.0 + 1.0,
        "PP-RATE-3: the oldest leaves in about W/2, not {wait} s"
    );
    for _ in 0..10 {
        s.get(&url).await.assert_error(429, "rate_limited");
    }
    s.advance(window / 2.0).await;
    let again = burst(first + 5).await;
    assert_eq!(
        again.iter().filter(|r| r.status == 200).count(),
        first,
        "PP-RATE-3: {:?}",
        status_counts(&again)
    );
}

/// A server with `--trust-proxy`, the public-user limit and its URL.
async fn behind_a_trusted_proxy() -> (TestServer, usize, String) {
    let trusted = TestServer::start_with(ServerConfig {
        test_controls: true,
        trust_proxy: true,
        ..ServerConfig::punchplay()
    })
    .await;
    let n = trusted
        .profile
        .rate_limit("public-user")
        .expect("the public-user limit")
        .max as usize;
    let url = trusted.endpoint_with("public_user", USER);
    (trusted, n, url)
}

/// PP-RATE-4: behind a trusted proxy the IP is the last `X-Forwarded-For` entry; without
/// the setting the header is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_the_key_only_behind_a_trusted_proxy() {
    let (trusted, n, url) = behind_a_trusted_proxy().await;
    let from = |xff: &'static str| trusted.http.get(&url).header("x-forwarded-for", xff);
    let replies = concurrently(n, |_| from("198.51.100.7, 203.0.113.9")).await;
    assert!(replies.iter().all(|r| r.status == 200));
    send(from("203.0.113.9"))
        .await
        .assert_error(429, "rate_limited");
    // Another client IP behind the same proxy, and the proxy's own requests, are not limited.
    assert_eq!(send(from("203.0.113.9, 198.51.100.7")).await.status, 200);
    assert_eq!(trusted.get(&url).await.status, 200);

    let direct = TestServer::start().await;
    let url = direct.endpoint_with("public_user", USER);
    let replies = concurrently(n, |i| {
        direct
            .http
            .get(&url)
            .header("x-forwarded-for", format!("10.0.0.{i}"))
    })
    .await;
    assert!(replies.iter().all(|r| r.status == 200));
    let reply = send(direct.http.get(&url).header("x-forwarded-for", "10.9.9.9")).await;
    reply.assert_error(429, "rate_limited");
}

/// PP-RATE-4: behind a trusted proxy only the last entry counts. When it does not parse,
/// the key is the TCP peer, never an earlier entry that the client wrote itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparsable_last_forwarded_entry_falls_back_to_the_peer() {
    let (trusted, n, url) = behind_a_trusted_proxy().await;
    let replies = concurrently(n, |i| {
        trusted
            .http
            .get(&url)
            .header("x-forwarded-for", format!("10.0.0.{i}, unknown"))
    })
    .await;
    assert!(replies.iter().all(|r| r.status == 200));
    let reply = send(
        trusted
            .http
            .get(&url)
            .header("x-forwarded-for", "10.0.1.1, unknown"),
    )
    .await;
    reply.assert_error(429, "rate_limited");
    // `ip:port` as some proxies append it is the IP.
    assert_eq!(
        send(
            trusted
                .http
                .get(&url)
                .header("x-forwarded-for", "203.0.113.5:4711")
        )
        .await
        .status,
        200
    );
}

/// Profiles are data (PP-RATE-4): a copy that keys the token limit by IP alone makes
/// every client from one address share one window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_decides_a_limits_key() {
    let _one = ONE_BURST_AT_A_TIME.lock().await;
    let mut profile = profile::Profile::punchplay();
    let limit = profile
        .rate_limits
        .iter_mut()
        .find(|l| l.name == "token")
        .expect("the token limit");
    limit.key = profile::LimitKey::Ip;
    let n = limit.max as usize;
    let s = TestServer::start_with(ServerConfig {
        profile,
        test_controls: true,
        ..ServerConfig::punchplay()
    })
    .await;
    let url = s.endpoint("token");
    let web = form(&[
        ("client_id", "pp-web"),
        ("client_secret", "pp-web-secret"),
        ("grant_type", "refresh_token"),
        ("refresh_token", "pprt_x"),
    ]);
    let replies = concurrently(n, |_| s.http.post(&url).form(&web)).await;
    assert!(
        replies.iter().all(|r| r.status != 429),
        "{:?}",
        status_counts(&replies)
    );
    let spa = form(&[
        ("client_id", "pp-spa"),
        ("grant_type", "refresh_token"),
        ("refresh_token", "pprt_x"),
    ]);
    send(s.http.post(&url).form(&spa))
        .await
        .assert_error(429, "rate_limited");
}

/// A limit on an endpoint this server does not limit, or keyed by something that endpoint
/// cannot offer, is refused at start instead of silently not holding.
#[tokio::test]
async fn a_limit_the_server_cannot_enforce_is_refused_at_start() {
    for (endpoint, key) in [
        ("me", profile::LimitKey::Ip),
        ("public_user", profile::LimitKey::User),
    ] {
        let mut profile = profile::Profile::punchplay();
        let limit = &mut profile.rate_limits[0];
        limit.target = profile::LimitTarget::Endpoint(endpoint.to_owned());
        limit.method = "GET".to_owned();
        limit.key = key;
        let started = reference_server::spawn(ServerConfig {
            profile,
            ..ServerConfig::punchplay()
        })
        .await;
        let err = started.err().expect("the server refuses the profile");
        assert!(err.to_string().contains(endpoint), "{err}");
    }
}
