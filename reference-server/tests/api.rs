//! The bearer-token API over real HTTP (PP-API-*): `/me`, playback with ordering,
//! idempotency and the multi-episode rule, now-playing, and the live event stream with
//! `Last-Event-ID` resume.

mod common;

use std::time::Duration;

use common::{
    ClientApp, OTHER_USER, TestServer, USER, assert_no_server_errors, concurrently, playback_body,
    status_counts,
};
use reference_server::ServerConfig;
use serde_json::json;

/// How long a test waits for an event it expects. Events arrive in milliseconds; this is
/// only the bound for a failing test.
const EVENT_WAIT: Duration = Duration::from_secs(5);
/// How long a test waits to be sure an event does not come.
const QUIET_WAIT: Duration = Duration::from_millis(300);

/// PP-API-7.
#[tokio::test]
async fn me_answers_the_username_and_display_name() {
    let s = TestServer::start().await;
    let tokens = s.code_login(&ClientApp::web(), OTHER_USER, None).await;
    let me = s.me(&tokens.access_token).await.ok();
    assert_eq!(
        me,
        json!({"username": "bob", "display_name": "Bob Example"})
    );
}

/// PP-API-1: missing, malformed, unknown and revoked tokens are 401 `invalid_token`, with
/// the RFC 6750 challenge.
#[tokio::test]
async fn missing_malformed_or_unknown_bearer_is_invalid_token() {
    let s = TestServer::start().await;
    let url = s.endpoint("me");
    let reply = s.get(&url).await;
    reply.assert_error(401, "invalid_token");
    assert!(
        reply
            .header("www-authenticate")
            .is_some_and(|c| c.starts_with("Bearer")),
        "RFC 6750 §3"
    );
    for value in [
        "Bearer",
        "Bearer ",
        "Basic cHAtd2ViOng=",
        "Bearer a b",
        "Token ppat_x",
        "Bearer ppat_unknown",
        "bearer",
    ] {
        let reply = common::send(s.http.get(&url).header("authorization", value)).await;
        reply.assert_error(401, "invalid_token");
    }
    // The token goes in the header only (PP-API-8): no query-string token anywhere.
    let tokens = s.code_login(&ClientApp::web(), USER, None).await;
    let reply = s
        .get(&format!("{url}?access_token={}", tokens.access_token))
        .await;
    reply.assert_error(401, "invalid_token");
    let reply = s
        .get(&format!(
            "{}?access_token={}",
            s.endpoint("events"),
            tokens.access_token
        ))
        .await;
    reply.assert_error(401, "invalid_token");
}

/// PP-API-2: a valid token without the endpoint's scope is 403 `insufficient_scope`
/// naming it, for every bearer endpoint.
#[tokio::test]
async fn token_without_the_endpoint_scope_is_insufficient_scope() {
    let s = TestServer::start().await;
    let web = ClientApp::web();
    for (endpoint, scope) in &s.profile.scopes.required {
        // A token with every scope but this one.
        let others: Vec<&str> = s
            .profile
            .scopes
            .known
            .iter()
            .map(String::as_str)
            .filter(|k| k != scope)
            .collect();
        let tokens = s.code_login(&web, USER, Some(&others.join(" "))).await;
        let reply = if endpoint == "playback" {
            s.playback(
                &tokens.access_token,
                "start",
                &playback_body("m1", "2026-06-09T12:00:00Z", 0),
            )
            .await
        } else {
            s.get_with_bearer(&s.endpoint(endpoint), &tokens.access_token)
                .await
        };
        let body = reply.assert_error(403, "insufficient_scope");
        assert_eq!(
            body["required_scope"].as_str(),
            Some(scope.as_str()),
            "PP-ERR-1 on {endpoint}"
        );
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|c| c.contains("insufficient_scope")),
            "RFC 6750 §3.1 on {endpoint}"
        );
    }
}

/// PP-API-3, PP-API-6: each action answers `{accepted, applied, now_playing}` and
/// now-playing follows: playing, paused, playing, idle.
#[tokio::test]
async fn playback_actions_drive_now_playing() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let idle = s.now_playing(&token).await;
    assert_eq!(idle["state"], "idle");
    assert_eq!(idle["media"], serde_json::Value::Null);
    assert_eq!(idle["position_ms"], 0);
    assert!(
        idle.get("updated_at").is_some(),
        "PP-API-6: updated_at is present (null): {idle}"
    );

    let steps = [
        ("start", "2026-06-09T12:00:00Z", 0, "playing"),
        ("progress", "2026-06-09T12:00:30Z", 30_000, "playing"),
        ("pause", "2026-06-09T12:01:00Z", 60_000, "paused"),
        ("resume", "2026-06-09T12:02:00Z", 60_000, "playing"),
        ("stop", "2026-06-09T12:03:00Z", 120_000, "idle"),
    ];
    for (action, at, position, state) in steps {
        let out = s
            .playback(&token, action, &playback_body("ep-1", at, position))
            .await
            .ok();
        assert_eq!(
            (out["accepted"].as_bool(), out["applied"].as_bool()),
            (Some(true), Some(true)),
            "{action}: {out}"
        );
        assert_eq!(out["now_playing"]["state"], state, "{action}: {out}");
        let now = s.now_playing(&token).await;
        assert_eq!(now["state"], state);
        assert_eq!(now["state"], out["now_playing"]["state"]);
        if state != "idle" {
            assert_eq!(now["media"]["id"], "ep-1");
            assert_eq!(now["media"]["type"], "episode");
            assert_eq!(now["media"]["show"], "The Show");
            assert_eq!(now["position_ms"], position);
            assert!(
                now["updated_at"]
                    .as_str()
                    .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
                "{now}"
            );
        } else {
            assert_eq!(now["media"], serde_json::Value::Null);
            assert_eq!(now["position_ms"], 0);
        }
    }
}

/// PP-API-3: an unknown action is 404 `not_found`; a missing or malformed field is
/// `invalid_request` naming the field.
#[tokio::test]
async fn bad_playback_requests_name_what_is_wrong() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let good = playback_body("m1", "2026-06-09T12:00:00Z", 5);
    for action in ["rewind", "START", "now-playing"] {
        s.playback(&token, action, &good)
            .await
            .assert_error(404, "not_found");
    }
    let cases = [
        ("media", json!(null)),
        ("media", json!("m1")),
        ("media.id", json!(null)),
        ("media.type", json!("song")),
        ("media.title", json!(7)),
        ("media.season", json!(-1)),
        ("position_ms", json!(null)),
        ("position_ms", json!(-5)),
        ("position_ms", json!("12")),
        ("duration_ms", json!(1.5)),
        ("occurred_at", json!(null)),
        ("occurred_at", json!("yesterday")),
        // Years ahead of the server's clock would freeze now-playing (PP-API-4).
        ("occurred_at", json!("9999-12-31T23:59:59+14:00")),
        ("event_id", json!(12)),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        match field.split_once('.') {
            Some((outer, inner)) => body[outer][inner] = value.clone(),
            None => body[field] = value.clone(),
        }
        let reply = s.playback(&token, "start", &body).await;
        let error = reply.assert_error(400, "invalid_request");
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "PP-API-3: `{field}` = {value}: {error}"
        );
    }
    for body in [json!([1, 2]), json!("start"), json!(5)] {
        s.playback(&token, "start", &body)
            .await
            .assert_error(400, "invalid_request");
    }
    // Nothing of that changed now-playing.
    assert_eq!(s.now_playing(&token).await["state"], "idle");
}

/// PP-API-4: events apply in `occurred_at` order; an older one is accepted, not applied,
/// and changes nothing.
#[tokio::test]
async fn older_events_are_accepted_but_change_nothing() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    s.report_playback(&token, "start", "m1", "2026-06-09T12:00:10Z", 10)
        .await;
    let out = s
        .report_playback(&token, "pause", "m1", "2026-06-09T12:00:05Z", 5)
        .await;
    assert_eq!(
        (out["accepted"].as_bool(), out["applied"].as_bool()),
        (Some(true), Some(false)),
        "{out}"
    );
    assert_eq!(out["now_playing"]["state"], "playing");
    assert_eq!(out["now_playing"]["position_ms"], 10);
    // An older stop does not end playback either.
    let out = s
        .report_playback(&token, "stop", "m1", "2026-06-09T12:00:01Z", 1)
        .await;
    assert_eq!(out["applied"], false);
    assert_eq!(s.now_playing(&token).await["state"], "playing");
    // Another user's timeline is their own.
    let bob = s.web_access_token(OTHER_USER).await;
    let out = s
        .report_playback(&bob, "start", "m9", "2026-06-09T11:00:00Z", 0)
        .await;
    assert_eq!(out["applied"], true);
}

/// PP-API-4: a repeated `event_id` is acknowledged and changes nothing, even when the
/// repeats arrive at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_event_id_is_acknowledged_once_applied() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let mut body = playback_body("m1", "2026-06-09T12:00:00Z", 0);
    body["event_id"] = json!("evt-1");
    let url = s.endpoint_with("playback", "start");
    let replies = concurrently(20, |_| s.http.post(&url).bearer_auth(&token).json(&body)).await;
    assert_no_server_errors(&replies);
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        status_counts(&replies)
    );
    let applied = replies
        .iter()
        .filter(|r| r.json()["applied"] == true)
        .count();
    assert_eq!(applied, 1, "PP-API-4: one of the repeats applies");

    // A later event that reuses the id changes nothing either.
    let mut pause = playback_body("m1", "2026-06-09T12:05:00Z", 300);
    pause["event_id"] = json!("evt-1");
    let out = s.playback(&token, "pause", &pause).await.ok();
    assert_eq!(
        (out["accepted"].as_bool(), out["applied"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(out["now_playing"]["state"], "playing");
}

/// PP-API-5, PP-API-8: starting another item ends the first with an implicit stop on the
/// live stream and switches now-playing.
#[tokio::test]
async fn starting_another_episode_stops_the_first_on_the_live_stream() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let mut stream = s.events(&token, None).await;
    s.report_playback(&token, "start", "ep-1", "2026-06-09T12:00:00Z", 0)
        .await;
    s.report_playback(&token, "progress", "ep-1", "2026-06-09T12:10:00Z", 600_000)
        .await;
    let out = s
        .report_playback(&token, "start", "ep-2", "2026-06-09T12:20:00Z", 0)
        .await;
    assert_eq!(out["now_playing"]["media"]["id"], "ep-2");
    assert_eq!(out["now_playing"]["state"], "playing");

    let mut seen = Vec::new();
    for _ in 0..4 {
        let event = stream.next(EVENT_WAIT).await.expect("PP-API-8: an event");
        assert_eq!(event.event, "playback");
        seen.push(event);
    }
    let summary: Vec<_> = seen
        .iter()
        .map(|e| {
            (
                e.data["type"].as_str().unwrap().to_owned(),
                e.data["media"]["id"].as_str().unwrap().to_owned(),
                e.data["implicit"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("playback.started", "ep-1", false),
        ("playback.progress", "ep-1", false),
        ("playback.stopped", "ep-1", true),
        ("playback.started", "ep-2", false),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(t, m, i)| ((*t).to_owned(), (*m).to_owned(), *i))
        .collect();
    assert_eq!(summary, expected, "PP-API-5");
    // The implicit stop keeps where the first item was.
    assert_eq!(seen[2].data["position_ms"], 600_000);
    assert!(
        seen.windows(2).all(|w| w[0].id < w[1].id),
        "PP-API-8: ids increase"
    );
    // A stop of the item that is no longer playing changes nothing and sends nothing.
    let out = s
        .report_playback(&token, "stop", "ep-1", "2026-06-09T12:30:00Z", 0)
        .await;
    assert_eq!(out["applied"], false);
    assert!(stream.next(QUIET_WAIT).await.is_none());
}

/// PP-API-8: every applied event reaches the stream with the documented data; a stale one
/// does not; `Last-Event-ID` replays what came after it and then goes live.
#[tokio::test]
async fn live_stream_resumes_after_last_event_id() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let mut first = s.events(&token, None).await;
    let mut body = playback_body("m1", "2026-06-09T12:00:00Z", 0);
    body["event_id"] = json!("e-start");
    s.playback(&token, "start", &body).await.ok();
    s.report_playback(&token, "pause", "m1", "2026-06-09T12:01:00Z", 60_000)
        .await;
    // Stale: accepted, not applied, not streamed.
    s.report_playback(&token, "resume", "m1", "2026-06-09T11:00:00Z", 0)
        .await;
    s.report_playback(&token, "resume", "m1", "2026-06-09T12:02:00Z", 60_000)
        .await;

    let a = first.next(EVENT_WAIT).await.expect("started");
    assert_eq!(a.data["type"], "playback.started");
    assert_eq!(a.data["event_id"], "e-start");
    assert_eq!(
        a.data["occurred_at"]
            .as_str()
            .map(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
        Some(true)
    );
    assert_eq!(a.data["media"]["title"], "Episode m1");
    let b = first.next(EVENT_WAIT).await.expect("paused");
    assert_eq!(
        (b.data["type"].as_str(), b.data["position_ms"].as_u64()),
        (Some("playback.paused"), Some(60_000))
    );
    let c = first.next(EVENT_WAIT).await.expect("resumed");
    assert_eq!(c.data["type"], "playback.resumed");
    assert!(a.id < b.id && b.id < c.id, "PP-API-8: ids increase");
    drop(first);

    s.report_playback(&token, "progress", "m1", "2026-06-09T12:03:00Z", 120_000)
        .await;
    s.report_playback(&token, "stop", "m1", "2026-06-09T12:04:00Z", 180_000)
        .await;

    let mut resumed = s.events(&token, Some(b.id)).await;
    let replayed: Vec<_> = [
        resumed.next(EVENT_WAIT).await.expect("replayed 1"),
        resumed.next(EVENT_WAIT).await.expect("replayed 2"),
        resumed.next(EVENT_WAIT).await.expect("replayed 3"),
    ]
    .into_iter()
    .map(|e| (e.id, e.data["type"].as_str().unwrap().to_owned()))
    .collect();
    assert_eq!(replayed[0], (c.id, "playback.resumed".to_owned()));
    assert_eq!(replayed[1].1, "playback.progress");
    assert_eq!(replayed[2].1, "playback.stopped");
    assert!(replayed[0].0 < replayed[1].0 && replayed[1].0 < replayed[2].0);

    // Then live, with no duplicate of what was replayed.
    s.report_playback(&token, "start", "m2", "2026-06-09T12:05:00Z", 0)
        .await;
    let live = resumed
        .next(EVENT_WAIT)
        .await
        .expect("live after the replay");
    assert!(live.id > replayed[2].0);
    assert_eq!(
        (
            live.data["type"].as_str(),
            live.data["media"]["id"].as_str()
        ),
        (Some("playback.started"), Some("m2"))
    );

    // A stream opened without Last-Event-ID only sees what comes next.
    let mut fresh = s.events(&token, None).await;
    assert!(
        fresh.next(QUIET_WAIT).await.is_none(),
        "no backlog without Last-Event-ID"
    );
    // A Last-Event-ID that is not an id of this stream is invalid_request.
    let reply = common::send(
        s.http
            .get(s.endpoint("events"))
            .bearer_auth(&token)
            .header("last-event-id", "abc"),
    )
    .await;
    reply.assert_error(400, "invalid_request");
}

/// PP-API-8: a user's stream carries only that user's events, from any of their apps.
#[tokio::test]
async fn live_stream_carries_only_the_users_own_events() {
    let s = TestServer::start().await;
    let alice_web = s.web_access_token(USER).await;
    let alice_tv = s
        .device_login(&ClientApp::tv(), USER, None)
        .await
        .access_token;
    let bob = s.web_access_token(OTHER_USER).await;
    let mut stream = s.events(&alice_web, None).await;
    s.report_playback(&bob, "start", "bob-1", "2026-06-09T12:00:00Z", 0)
        .await;
    s.report_playback(&alice_tv, "start", "alice-1", "2026-06-09T12:00:00Z", 0)
        .await;
    let event = stream.next(EVENT_WAIT).await.expect("alice's event");
    assert_eq!(event.data["media"]["id"], "alice-1");
    assert!(stream.next(QUIET_WAIT).await.is_none());
}

/// PP-API-8, PP-REVOKE-1: the stream ends when its token is revoked; the next event is not
/// delivered on it.
#[tokio::test]
async fn live_stream_ends_when_its_token_is_revoked() {
    let s = TestServer::start().await;
    let watcher = s.code_login(&ClientApp::web(), USER, None).await;
    let player = s.device_login(&ClientApp::tv(), USER, None).await;
    let mut stream = s.events(&watcher.access_token, None).await;
    s.control("users/alice/apps/pp-web/revoke", json!({})).await;
    s.report_playback(
        &player.access_token,
        "start",
        "m1",
        "2026-06-09T12:00:00Z",
        0,
    )
    .await;
    assert!(
        stream.ends_within(EVENT_WAIT).await,
        "PP-API-8: the stream of a revoked token ends"
    );
}

/// PP-API-8, PP-REVOKE-1: a revocation ends the stream at once, without waiting for the
/// next event or heartbeat (15 s away).
#[tokio::test]
async fn live_stream_ends_promptly_on_revocation_with_nothing_to_send() {
    let s = TestServer::start().await;
    let watcher = s.code_login(&ClientApp::web(), USER, None).await;
    let mut stream = s.events(&watcher.access_token, None).await;
    s.control("users/alice/apps/pp-web/revoke", json!({})).await;
    assert!(
        stream.ends_within(EVENT_WAIT).await,
        "PP-API-8: the stream of a revoked token ends at once"
    );
}

/// PP-API-9: unknown routes under the platform API are 404 `not_found`, with or without a
/// token.
#[tokio::test]
async fn unknown_platform_routes_are_not_found() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let base = s.endpoint("platform_api");
    for path in [
        "/nope",
        "/me/extra",
        "/playback",
        "/users/alice",
        "/oauth",
        "",
    ] {
        s.get(&format!("{base}{path}"))
            .await
            .assert_error(404, "not_found");
        s.get_with_bearer(&format!("{base}{path}"), &token)
            .await
            .assert_error(404, "not_found");
    }
    // A known path with a method it does not serve.
    for (method, endpoint) in [
        ("DELETE", "me"),
        ("POST", "me"),
        ("PUT", "now_playing"),
        ("GET", "token"),
        ("POST", "events"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let reply = common::send(
            s.http
                .request(method.clone(), s.endpoint(endpoint))
                .bearer_auth(&token),
        )
        .await;
        reply.assert_error(404, "not_found");
    }
    let reply = common::send(
        s.http
            .get(s.endpoint_with("playback", "start"))
            .bearer_auth(&token),
    )
    .await;
    reply.assert_error(404, "not_found");
}

/// Many concurrent requests on one token all succeed and see one consistent state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_on_one_token_all_succeed() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let me = s.endpoint("me");
    let replies = concurrently(100, |_| s.http.get(&me).bearer_auth(&token)).await;
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        status_counts(&replies)
    );
    let ids: std::collections::HashSet<_> =
        replies.iter().map(|r| r.request_id().to_owned()).collect();
    assert_eq!(
        ids.len(),
        replies.len(),
        "PP-ERR-2: request ids are unique per request"
    );

    // 60 progress events at once, each at its own time: all accepted, now-playing ends at
    // the latest whatever order they were applied in (PP-API-4).
    s.report_playback(&token, "start", "m1", "2026-06-09T12:00:00Z", 0)
        .await;
    let url = s.endpoint_with("playback", "progress");
    let replies = concurrently(60, |i| {
        let at = format!("2026-06-09T12:01:{i:02}Z");
        s.http
            .post(&url)
            .bearer_auth(&token)
            .json(&playback_body("m1", &at, (i as u64 + 1) * 1000))
    })
    .await;
    assert!(
        replies.iter().all(|r| r.status == 200),
        "{:?}",
        status_counts(&replies)
    );
    let now = s.now_playing(&token).await;
    assert_eq!(
        now["position_ms"], 60_000,
        "PP-API-4: the newest event wins: {now}"
    );
}

/// PP-PUBLIC-1: the public users API needs no token and uses the platform envelope.
#[tokio::test]
async fn public_users_need_no_token() {
    let s = TestServer::start().await;
    let alice = s.get(&s.endpoint_with("public_user", "alice")).await.ok();
    assert_eq!(
        alice,
        json!({"username": "alice", "display_name": "Alice Example"})
    );
    let bob = s.get(&s.endpoint_with("public_user", "bob")).await.ok();
    assert_eq!(bob["display_name"], "Bob Example");
    s.get(&s.endpoint_with("public_user", "mallory"))
        .await
        .assert_error(404, "not_found");
    // A token is not needed, and an invalid one does not matter.
    let reply = s
        .get_with_bearer(&s.endpoint_with("public_user", "alice"), "garbage")
        .await;
    assert_eq!(reply.status, 200);
    s.get(&format!("{}/nope", s.endpoint("public_api")))
        .await
        .assert_error(404, "not_found");
}

/// PP-API-8: a `Last-Event-ID` the stream never reached (one kept from before the server
/// was reset, as a browser's EventSource keeps it across reconnects) resumes from now: new
/// events are delivered, not swallowed until the ids catch up.
#[tokio::test]
async fn unknown_last_event_id_does_not_hide_new_events() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let mut stream = s.events(&token, None).await;
    for minute in 0..5 {
        let at = format!("2026-06-09T12:0{minute}:00Z");
        s.report_playback(&token, "progress", "m1", &at, minute * 60_000)
            .await;
    }
    let mut last = 0;
    for _ in 0..5 {
        last = stream.next(EVENT_WAIT).await.expect("an event").id;
    }
    drop(stream);

    s.control("reset", json!({})).await;
    let token = s.web_access_token(USER).await;
    let mut resumed = s.events(&token, Some(last)).await;
    s.report_playback(&token, "start", "m2", "2026-06-09T13:00:00Z", 0)
        .await;
    let event = resumed
        .next(EVENT_WAIT)
        .await
        .expect("PP-API-8: the new event is delivered");
    assert_eq!(event.data["media"]["id"], "m2");
}

/// PP-API-8: a comment heartbeat every `sse_heartbeat` seconds, from the profile (set to
/// 1 s here so the test waits one second, not fifteen); and a stream whose token expired
/// ends at the next heartbeat (PP-API-1).
#[tokio::test]
async fn heartbeats_follow_the_profile_and_an_expired_token_ends_the_stream() {
    let mut config = ServerConfig {
        test_controls: true,
        ..ServerConfig::punchplay()
    };
    config.profile.lifetimes.sse_heartbeat = 1;
    let s = TestServer::start_with(config).await;
    let token = s.web_access_token(USER).await;
    let mut response = s
        .http
        .get(s.endpoint("events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !text.contains(": heartbeat\n\n") {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
            other => panic!("PP-API-8: no heartbeat within 5 s ({other:?}): {text:?}"),
        }
    }
    s.advance(s.profile.lifetimes.access_token as f64).await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = response.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "PP-API-8: the stream of an expired token ends"
    );
}

/// Shutdown is graceful: live event streams are closed, so stopping does not wait for
/// them, and the listener is gone afterwards.
#[tokio::test]
async fn stopping_the_server_closes_live_streams_promptly() {
    let s = TestServer::start().await;
    let token = s.web_access_token(USER).await;
    let mut stream = s.events(&token, None).await;
    let addr = s.addr();
    let started = std::time::Instant::now();
    s.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stop took {:?}",
        started.elapsed()
    );
    assert!(
        stream.ends_within(EVENT_WAIT).await,
        "the stream ends with the server"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}
