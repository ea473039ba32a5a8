//! PP-API: the bearer API: authentication, scopes, playback, now-playing, me, the live
//! event stream, unknown routes.

use profile::Level;
use serde_json::{Value, json};

use self::session::{PLAYBACK, alone, expect_state, judged, media, not_foreign, sent_at, token};
use self::stream::{STREAM_WAIT, StreamRead, open_stream, types};
use super::fresh_id;
use crate::check::{Check, Ctx};
use crate::checks::punchplay::roles;
use crate::client::Req;
use crate::kit::flows;
use crate::outcome::CheckResult;
use crate::{ensure, run};

mod session;
pub mod stream;

pub fn checks() -> Vec<Check> {
    vec![
        Check::new("PP-API-1/missing-malformed-or-unknown-bearer-is-invalid-token", "No Authorization, a non-Bearer scheme, an empty or unknown token: 401 invalid_token", run!(bad_bearer)),
        Check::new("PP-API-1/expired-access-token-is-invalid-token", "An access token past its lifetime is 401 invalid_token", run!(expired)).budget("token", 1).exclusive().waits(3601),
        Check::new("PP-API-1/invalid-token-answers-carry-a-bearer-challenge", "401 answers carry WWW-Authenticate: Bearer, with error=\"invalid_token\" when a token was sent (RFC 6750 §3)", run!(bearer_challenge)).part(Level::Should),
        Check::new("PP-API-2/token-without-the-scope-is-insufficient-scope", "Each endpoint refuses a token without its scope: 403 insufficient_scope naming required_scope", run!(insufficient)).budget("playback", 1).budget("token", 4),
        Check::new("PP-API-3/every-playback-action-applies", "start, pause, resume, progress and stop answer {accepted, applied, now_playing} and move now-playing", run!(actions)).budget("playback", 6).budget("token", 1).lock(PLAYBACK),
        Check::new("PP-API-3/unknown-action-is-not-found", "POST playback/{action} with an undocumented action is 404 not_found", run!(unknown_action)).budget("playback", 1).budget("token", 1),
        Check::new("PP-API-3/malformed-body-is-invalid-request-naming-the-field", "A missing or malformed field is 400 invalid_request whose message names it", run!(malformed)).budget("playback", 6).budget("token", 1),
        Check::new("PP-API-4/older-event-is-accepted-and-changes-nothing", "An event older than the last applied one is accepted with applied false", run!(older_event)).budget("playback", 3).budget("token", 1).lock(PLAYBACK),
        Check::new("PP-API-4/repeated-event-id-changes-nothing", "A repeated event_id is acknowledged and changes nothing", run!(repeated_event)).budget("playback", 4).budget("token", 1).lock(PLAYBACK),
        Check::new("PP-API-5/start-of-another-item-ends-the-first", "Starting another item ends the first with an implicit stop on the stream and switches now-playing", run!(switch_item)).budget("playback", 3).budget("token", 1).lock(PLAYBACK),
        Check::new("PP-API-6/now-playing-has-state-media-position-updated-at", "now-playing answers {state, media, position_ms, updated_at}, idle after stop", run!(now_playing)).budget("playback", 3).budget("token", 1).lock(PLAYBACK),
        Check::new("PP-API-7/me-answers-username-and-display-name", "GET me answers the user's username and display_name", run!(me)).budget("token", 1),
        Check::new("PP-API-8/stream-delivers-every-action-in-order", "The event stream delivers one event per playback action, in order, with increasing ids", run!(stream::stream_every_action)).budget("playback", 6).budget("token", 1).lock(PLAYBACK),
        Check::new("PP-API-8/last-event-id-resumes-the-stream", "Reconnecting with Last-Event-ID replays what came after it", run!(stream::resume)).budget("playback", 3).budget("token", 1).lock(PLAYBACK),
        Check::new("PP-API-8/stream-ends-when-the-grant-is-revoked", "After its token is revoked (here by deactivating the app), an open stream delivers no further event and ends", run!(stream::stream_ends_on_revocation)).budget("playback", 2).budget("token", 2).lock(PLAYBACK),
        Check::new("PP-API-8/query-string-token-is-refused", "The stream takes the token from the header only, never from the query string", run!(stream::query_token)).budget("token", 1),
        Check::new("PP-API-9/unknown-platform-route-is-not-found", "An unknown route under the platform API is 404 not_found, with or without a token", run!(unknown_route)).budget("token", 1),
    ]
}

/// A playback event body (PP-API-3) for media `id` at a fresh `occurred_at`.
pub fn playback_body(ctx: &Ctx, media_id: &str, position_ms: u64) -> Value {
    json!({
        "media": {"id": media_id, "type": "episode", "title": "Pilot", "show": "Conformance Street", "season": 1, "episode": 1},
        "position_ms": position_ms,
        "duration_ms": 1_800_000,
        "occurred_at": ctx.env.occurred_at(),
    })
}

/// `POST playback/{action}` with a bearer token and `body` (PP-API-3).
pub async fn playback(
    ctx: &mut Ctx,
    access: &str,
    action: &str,
    body: Value,
) -> Result<crate::client::Resp, crate::outcome::Problem> {
    let path = ctx.path_with("playback", &[("action", action)]);
    ctx.send(Req::post(path).bearer(access).json(body)).await
}

async fn bad_bearer(ctx: &mut Ctx) -> CheckResult {
    let me = ctx.path("me");
    let reqs = [
        Req::get(&me),
        Req::get(&me).header("authorization", "Bearer"),
        Req::get(&me).header("authorization", "Basic Y29uZm9ybWFuY2U6bm90LWEtYmVhcmVy"),
        Req::get(&me).bearer("conformance-unknown-access-token"),
    ];
    for req in reqs {
        let r = ctx.send(req).await?;
        ctx.error(&r, "invalid_token")?;
    }
    Ok(())
}

async fn expired(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    let r = flows::me(ctx, &access).await?;
    ctx.ok_json(&r)?;
    let lifetime = ctx.env.profile.lifetimes.access_token;
    ctx.advance(lifetime as f64 + 1.0).await?;
    let r = flows::me(ctx, &access).await?;
    ensure!(
        r.status() != 200,
        r,
        "an access token {} s past issue (lifetime {lifetime} s) is still accepted",
        lifetime + 1
    );
    ctx.error(&r, "invalid_token")?;
    Ok(())
}

async fn insufficient(ctx: &mut Ctx) -> CheckResult {
    let required = ctx.env.profile.scopes.required.clone();
    let known = ctx.env.profile.scopes.known.clone();
    for (endpoint, scope) in &required {
        // A token with every scope but the one this endpoint needs.
        let others: Vec<&str> = known
            .iter()
            .filter(|s| *s != scope)
            .map(String::as_str)
            .collect();
        let access = token(ctx, Some(&others.join(" "))).await?;
        let r = match endpoint.as_str() {
            "playback" => {
                let req = Req::post(ctx.path_with("playback", &[("action", "start")]))
                    .json(playback_body(ctx, "conformance-scope", 0));
                ctx.send(req.bearer(&access)).await?
            }
            "events" => {
                // A stream that wrongly opens must not hold the check until a timeout.
                let mut stream = open_stream(ctx, &access, None).await?;
                // An error answer that keeps sending is read until a deadline and a cap;
                // a stream that opened is closed unread.
                if stream.status() != 200 {
                    let deadline = tokio::time::Instant::now() + STREAM_WAIT;
                    while stream.read_until(deadline).await == StreamRead::More {}
                }
                stream.close(ctx)
            }
            other => ctx.send(Req::get(ctx.path(other)).bearer(&access)).await?,
        };
        let body = ctx.error(&r, "insufficient_scope")?;
        if body.is_null() {
            // No JSON envelope to carry `required_scope` (PP-ERR-1's difference, seen):
            // the refusal must still name the scope.
            ensure!(
                r.body().contains(scope.as_str()),
                r,
                "the insufficient_scope answer does not name `{scope}`"
            );
            continue;
        }
        ensure!(
            body.get("required_scope").and_then(Value::as_str) == Some(scope.as_str()),
            r,
            "required_scope is {:?}, expected `{scope}`",
            body.get("required_scope")
        );
    }
    Ok(())
}

async fn actions(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    alone(ctx, move |ctx| Box::pin(actions_once(ctx, access.clone()))).await
}

async fn actions_once(ctx: &mut Ctx, access: String) -> CheckResult {
    let ep = media(ctx, "conformance-ep-1");
    for (action, state, pos) in [
        ("start", "playing", 0),
        ("pause", "paused", 60_000),
        ("resume", "playing", 60_000),
        ("progress", "playing", 120_000),
        ("stop", "idle", 180_000),
    ] {
        let body = playback_body(ctx, &ep, pos);
        let at = sent_at(&body);
        let r = playback(ctx, &access, action, body).await?;
        let b = ctx.ok_json(&r)?;
        let verdict = (|| {
            ensure!(
                b.get("accepted") == Some(&json!(true)) && b.get("applied") == Some(&json!(true)),
                r,
                "`{action}` answered accepted={:?} applied={:?}",
                b.get("accepted"),
                b.get("applied")
            );
            expect_state(&r, &b, state)
        })();
        judged(&r, &b, (&[&ep], &at), verdict)?;
    }
    Ok(())
}

async fn unknown_action(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    let body = playback_body(ctx, "conformance-ep-1", 0);
    let r = playback(ctx, &access, "rewind", body).await?;
    ctx.error(&r, "not_found")?;
    Ok(())
}

async fn malformed(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    let mut no_position = playback_body(ctx, "conformance-ep-1", 0);
    no_position
        .as_object_mut()
        .expect("an object")
        .remove("position_ms");
    let mut bad_type = playback_body(ctx, "conformance-ep-1", 0);
    bad_type["media"]["type"] = json!("podcast");
    let mut bad_time = playback_body(ctx, "conformance-ep-1", 0);
    bad_time["occurred_at"] = json!("yesterday");
    let mut no_media_id = playback_body(ctx, "conformance-ep-1", 0);
    no_media_id["media"]
        .as_object_mut()
        .expect("an object")
        .remove("id");
    let mut negative = playback_body(ctx, "conformance-ep-1", 0);
    negative["position_ms"] = json!(-5);
    let mut no_time = playback_body(ctx, "conformance-ep-1", 0);
    no_time
        .as_object_mut()
        .expect("an object")
        .remove("occurred_at");
    for (body, field) in [
        (no_position, "position_ms"),
        (bad_type, "type"),
        (bad_time, "occurred_at"),
        (no_media_id, "id"),
        (negative, "position_ms"),
        (no_time, "occurred_at"),
    ] {
        let r = playback(ctx, &access, "start", body).await?;
        let b = ctx.error(&r, "invalid_request")?;
        // No JSON envelope (PP-ERR-1's difference, seen): the answer's text names it.
        let msg = match b.is_null() {
            true => r.body(),
            false => b.get("message").and_then(Value::as_str).unwrap_or_default(),
        };
        ensure!(
            msg.contains(field),
            r,
            "the invalid_request message {msg:?} does not name the field `{field}`"
        );
    }
    Ok(())
}

async fn older_event(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    alone(ctx, move |ctx| {
        Box::pin(older_event_once(ctx, access.clone()))
    })
    .await
}

async fn older_event_once(ctx: &mut Ctx, access: String) -> CheckResult {
    let ep = media(ctx, "conformance-ep-2");
    let body = playback_body(ctx, &ep, 0);
    let at = sent_at(&body);
    let r = playback(ctx, &access, "start", body).await?;
    let b = ctx.ok_json(&r)?;
    not_foreign(&r, &b, &[&ep])?;
    let mut old = playback_body(ctx, &ep, 5_000);
    old["occurred_at"] = json!("2020-01-01T00:00:00Z");
    let r = playback(ctx, &access, "pause", old).await?;
    let b = ctx.ok_json(&r)?;
    not_foreign(&r, &b, &[&ep])?;
    ensure!(
        b.get("accepted") == Some(&json!(true)) && b.get("applied") == Some(&json!(false)),
        r,
        "an older event answered accepted={:?} applied={:?}, expected true/false",
        b.get("accepted"),
        b.get("applied")
    );
    let path = ctx.path("now_playing");
    let r = ctx.send(Req::get(path).bearer(&access)).await?;
    let b = ctx.ok_json(&r)?;
    judged(&r, &b, (&[&ep], &at), expect_state(&r, &b, "playing"))?;
    Ok(())
}

async fn repeated_event(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    alone(ctx, move |ctx| {
        Box::pin(repeated_event_once(ctx, access.clone()))
    })
    .await
}

async fn repeated_event_once(ctx: &mut Ctx, access: String) -> CheckResult {
    let ep = media(ctx, "conformance-ep-3");
    // Event ids the target remembers: fresh per run, so a rerun never repeats them.
    let start_id = fresh_id(ctx, "conformance-evt-start", "event-id");
    let pause_id = fresh_id(ctx, "conformance-evt-pause", "event-id");
    let mut start = playback_body(ctx, &ep, 0);
    start["event_id"] = json!(start_id);
    let at = sent_at(&start);
    let r = playback(ctx, &access, "start", start).await?;
    let b = ctx.ok_json(&r)?;
    judged(&r, &b, (&[&ep], &at), expect_state(&r, &b, "playing"))?;
    let mut pause = playback_body(ctx, &ep, 10_000);
    pause["event_id"] = json!(pause_id);
    let at = sent_at(&pause);
    let r = playback(ctx, &access, "pause", pause).await?;
    let b = ctx.ok_json(&r)?;
    judged(&r, &b, (&[&ep], &at), expect_state(&r, &b, "paused"))?;
    let mut again = playback_body(ctx, &ep, 20_000);
    again["event_id"] = json!(pause_id);
    let r = playback(ctx, &access, "resume", again).await?;
    let b = ctx.ok_json(&r)?;
    let verdict = (|| {
        ensure!(
            b.get("applied") == Some(&json!(false)),
            r,
            "a repeated event_id answered applied={:?}, expected false",
            b.get("applied")
        );
        expect_state(&r, &b, "paused")
    })();
    judged(&r, &b, (&[&ep], &at), verdict)?;
    Ok(())
}

async fn switch_item(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    alone(ctx, move |ctx| {
        Box::pin(switch_item_once(ctx, access.clone()))
    })
    .await
}

async fn switch_item_once(ctx: &mut Ctx, access: String) -> CheckResult {
    let (ep_a, ep_b) = (
        media(ctx, "conformance-ep-a"),
        media(ctx, "conformance-ep-b"),
    );
    let ours = [ep_a.as_str(), ep_b.as_str()];
    let mut stream = open_stream(ctx, &access, None).await?;
    let a = playback_body(ctx, &ep_a, 0);
    let at = sent_at(&a);
    let r = playback(ctx, &access, "start", a).await?;
    let b = ctx.ok_json(&r)?;
    not_foreign(&r, &b, &ours)?;
    if b.get("applied") != Some(&json!(true)) {
        session::changed_after(&b, &at)?;
    }
    let b = playback_body(ctx, &ep_b, 0);
    let at = sent_at(&b);
    let r = playback(ctx, &access, "start", b).await?;
    let body = ctx.ok_json(&r)?;
    let media = body
        .pointer("/now_playing/media/id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let events = stream.events_for(&ours, 3, STREAM_WAIT).await;
    let sr = stream.close_for(ctx, &ours);
    let verdict = (|| {
        ensure!(
            media == ep_b,
            r,
            "now-playing is {media:?} after starting conformance-ep-b"
        );
        Ok(())
    })();
    judged(&r, &body, (&ours, &at), verdict)?;
    // The implicit stop is judged on the stream only where the stream delivers stops
    // at all (PP-API-8); the one stop this check causes is b's of a, another is another
    // client's doing.
    let got = types(&events);
    if got != ["playback.started", "playback.stopped", "playback.started"] {
        // The one implicit stop this check causes is a's; one of b, or a second, is
        // another client's start.
        let implicit: Vec<Option<&str>> = events
            .iter()
            .filter(|e| e.data.get("implicit") == Some(&json!(true)))
            .map(|e| e.data.pointer("/media/id").and_then(Value::as_str))
            .collect();
        if implicit.len() > 1 || implicit.contains(&Some(ep_b.as_str())) {
            return Err(session::interfered(
                "the stream carries an implicit stop of this check's item that another client's start caused",
            ));
        }
        let p = sr.fail(format!(
            "the stream delivered {got:?}, expected started, an implicit stopped, started"
        ));
        return Err(p.presuming("PP-API-8"));
    }
    let stop = &events[1].data;
    ensure!(
        stop.pointer("/media/id").and_then(Value::as_str) == Some(ep_a.as_str())
            && stop.get("implicit") == Some(&json!(true)),
        sr,
        "the stop event is {stop}, expected the first item with implicit: true"
    );
    Ok(())
}

async fn now_playing(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    alone(ctx, move |ctx| {
        Box::pin(now_playing_once(ctx, access.clone()))
    })
    .await
}

async fn now_playing_once(ctx: &mut Ctx, access: String) -> CheckResult {
    let ep = media(ctx, "conformance-ep-4");
    let body = playback_body(ctx, &ep, 42_000);
    let at = sent_at(&body);
    let r = playback(ctx, &access, "start", body).await?;
    let b = ctx.ok_json(&r)?;
    not_foreign(&r, &b, &[&ep])?;
    let path = ctx.path("now_playing");
    let r = ctx.send(Req::get(&path).bearer(&access)).await?;
    let b = ctx.ok_json(&r)?;
    let verdict = (|| {
        expect_state(&r, &b, "playing")?;
        ensure!(
            b.pointer("/media/id").and_then(Value::as_str) == Some(ep.as_str()),
            r,
            "media is {:?}",
            b.get("media")
        );
        ensure!(
            b.get("position_ms").and_then(Value::as_u64) == Some(42_000),
            r,
            "position_ms is {:?}, expected 42000",
            b.get("position_ms")
        );
        Ok(())
    })();
    judged(&r, &b, (&[&ep], &at), verdict)?;
    let updated = b
        .get("updated_at")
        .and_then(Value::as_str)
        .unwrap_or_default();
    ensure!(
        chrono::DateTime::parse_from_rfc3339(updated).is_ok(),
        r,
        "updated_at {updated:?} is not RFC 3339"
    );
    let body = playback_body(ctx, &ep, 43_000);
    let at = sent_at(&body);
    let r = playback(ctx, &access, "stop", body).await?;
    let b = ctx.ok_json(&r)?;
    not_foreign(&r, &b, &[&ep])?;
    let r = ctx.send(Req::get(&path).bearer(&access)).await?;
    let b = ctx.ok_json(&r)?;
    let verdict = (|| {
        expect_state(&r, &b, "idle")?;
        ensure!(
            b.get("media") == Some(&Value::Null),
            r,
            "media is {:?} when idle, expected null",
            b.get("media")
        );
        Ok(())
    })();
    judged(&r, &b, (&[&ep], &at), verdict)?;
    Ok(())
}

async fn me(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    let r = flows::me(ctx, &access).await?;
    let b = ctx.ok_json(&r)?;
    let user = roles(ctx)?.user.clone();
    ensure!(
        b.get("username").and_then(Value::as_str) == Some(user.username.as_str()),
        r,
        "username is {:?}, expected {:?}",
        b.get("username"),
        user.username
    );
    ensure!(
        b.get("display_name").and_then(Value::as_str) == Some(user.display_name.as_str()),
        r,
        "display_name is {:?}, expected {:?}",
        b.get("display_name"),
        user.display_name
    );
    Ok(())
}

async fn unknown_route(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    let base = ctx.path("platform_api");
    let r = ctx
        .send(Req::get(format!("{base}/conformance-unknown")))
        .await?;
    ctx.error(&r, "not_found")?;
    let r = ctx
        .send(Req::get(format!("{base}/conformance-unknown/deeper")).bearer(&access))
        .await?;
    ctx.error(&r, "not_found")?;
    let r = ctx
        .send(
            Req::post(format!("{base}/conformance-unknown"))
                .bearer(&access)
                .json(json!({})),
        )
        .await?;
    ctx.error(&r, "not_found")?;
    // A known path with a method it does not serve.
    let r = ctx
        .send(Req::new("DELETE", ctx.path("me")).bearer(&access))
        .await?;
    ctx.error(&r, "not_found")?;
    Ok(())
}

async fn bearer_challenge(ctx: &mut Ctx) -> CheckResult {
    let me = ctx.path("me");
    let r = ctx.send(Req::get(&me)).await?;
    ctx.error(&r, "invalid_token")?;
    let challenge = r.header("www-authenticate").unwrap_or("").to_owned();
    ensure!(
        challenge.to_ascii_lowercase().starts_with("bearer"),
        r,
        "a 401 without a token carries WWW-Authenticate {challenge:?}, expected a Bearer challenge"
    );
    let r = ctx
        .send(Req::get(&me).bearer("conformance-unknown-access-token"))
        .await?;
    ctx.error(&r, "invalid_token")?;
    let challenge = r.header("www-authenticate").unwrap_or("").to_owned();
    ensure!(
        challenge.to_ascii_lowercase().starts_with("bearer")
            && challenge.contains("error=\"invalid_token\""),
        r,
        "a 401 for an unknown token carries WWW-Authenticate {challenge:?}, expected Bearer with error=\"invalid_token\""
    );
    Ok(())
}
