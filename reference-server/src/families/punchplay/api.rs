//! The bearer-token API (PP-API-*) and the public users API (PP-PUBLIC-1).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, StreamBody};
use hyper::body::Frame;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::{broadcast, mpsc};

use super::request::{RequestBody, bearer_token, media_type, parse_json};
use super::respond::Body;
use super::{App, Ctx, ok_json};
use crate::core::Bearer;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::playback::{self, Action, LiveEvent};

fn bearer(app: &App, ctx: &Ctx, endpoint: &str) -> ProtocolResult<Bearer> {
    app.core.authenticate_bearer(
        bearer_token(&ctx.headers),
        app.core.profile.required_scope(endpoint),
    )
}

/// `{username, display_name}` (PP-API-7, PP-PUBLIC-1), written without building a JSON
/// map first; the fields are in the order such a map sorts them, so the bytes are the same.
#[derive(serde::Serialize)]
struct UserProfile<'a> {
    display_name: &'a str,
    username: &'a str,
}

/// `GET me` (PP-API-7), in one acquisition of the state lock.
pub fn me(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let (username, display_name) = app.core.bearer_user_profile(
        bearer_token(&ctx.headers),
        app.core.profile.required_scope("me"),
    )?;
    ok_json(&UserProfile {
        display_name: &display_name,
        username: &username,
    })
}

/// `POST playback/{action}` (PP-API-3..5): scope, action and body. The shell already
/// authenticated and counted a per-user limit (PP-RATE-4).
pub async fn playback(
    app: &App,
    ctx: &Ctx,
    action: &str,
    body: RequestBody,
) -> ProtocolResult<Response<Body>> {
    let who = bearer(app, ctx, "playback")?;
    let actions = app
        .core
        .profile
        .expect_punchplay()
        .playback
        .actions
        .as_slice();
    let action = Action::parse(action)
        .filter(|_| actions.iter().any(|a| a == action))
        .ok_or_else(|| {
            ProtocolError::not_found(format!(
                "There is no playback action `{action}`; use one of {}.",
                actions.join(", ")
            ))
        })?;
    let bytes = body
        .read(&ctx.headers, app.core.profile.http.max_body_bytes)
        .await?;
    if media_type(&ctx.headers).as_deref() != Some("application/json") {
        return Err(ProtocolError::invalid_request(
            "Send the playback event as application/json.",
        ));
    }
    let event = playback::parse_event(action, &parse_json(&bytes)?, app.core.now())?;
    ok_json(&app.core.apply_playback(&who.user, event))
}

/// `GET playback/now-playing` (PP-API-6).
pub fn now_playing(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let who = bearer(app, ctx, "now_playing")?;
    ok_json(&app.core.now_playing(&who.user))
}

/// `GET /api/public/v1/users/{username}` (PP-PUBLIC-1).
pub fn public_user(app: &App, username: &str) -> ProtocolResult<Response<Body>> {
    let (username, display_name) = app
        .core
        .user_profile(username)
        .ok_or_else(|| ProtocolError::not_found(format!("There is no user `{username}`.")))?;
    ok_json(&UserProfile {
        display_name: &display_name,
        username: &username,
    })
}

fn sse_frame(event: &LiveEvent) -> Bytes {
    let data = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    Bytes::from(format!(
        "id: {}\nevent: playback\ndata: {data}\n\n",
        event.id
    ))
}

/// `GET events`: server-sent playback events (PP-API-8). The token comes in the header
/// only; the stream ends when the token stops being valid or the server shuts down.
pub fn events(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let who = bearer(app, ctx, "events")?;
    let last_id = match ctx.headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ProtocolError::invalid_request(
                        "Last-Event-ID must be an event id from this stream.",
                    )
                })?,
        ),
    };
    let (backlog, mut live) = app.core.subscribe(&who.user, last_id);
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let heartbeat = Duration::from_secs(app.core.profile.lifetimes.sse_heartbeat.max(1));
    let mut shutdown = app.shutdown.subscribe();
    let mut revoked = app.core.revocations();
    let core = app.core.clone();
    let still_valid = move || core.bearer_still_valid(&who);
    tokio::spawn(async move {
        // Not `last_id`: an id this stream never reached (kept by a client across a reset
        // or restart) must resume from now, not swallow events until the ids catch up.
        // The backlog and the receiver were taken under one lock, so nothing repeats.
        let mut sent = 0;
        if tx
            .send(Bytes::from_static(b": connected\nretry: 3000\n\n"))
            .await
            .is_err()
        {
            return;
        }
        // A revocation between authentication and subscribing is caught here.
        if !still_valid() {
            return;
        }
        for event in backlog {
            sent = event.id;
            if tx.send(sse_frame(&event)).await.is_err() {
                return;
            }
        }
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        loop {
            let frame = tokio::select! {
                event = live.recv() => match event {
                    Ok(event) if event.id > sent => {
                        sent = event.id;
                        sse_frame(&event)
                    }
                    Ok(_) => continue,
                    // Too far behind: end, and the client resumes with Last-Event-ID.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick() => {
                    if !still_valid() {
                        return;
                    }
                    Bytes::from_static(b": heartbeat\n\n")
                }
                // A revocation anywhere: end at once if it was this token's grant.
                changed = revoked.changed() => {
                    if changed.is_err() || !still_valid() {
                        return;
                    }
                    continue;
                }
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            if !still_valid() || tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, std::convert::Infallible>(Frame::data(bytes)), rx))
    });
    let mut res = Response::new(StreamBody::new(stream).boxed());
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}
