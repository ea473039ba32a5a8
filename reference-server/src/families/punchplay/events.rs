//! The live stream of a user's playback changes, `GET events` (PP-API-8): server-sent
//! events from the user's log (`playback.rs`), resumed with `Last-Event-ID`, ended when the
//! token stops being valid or the server shuts down.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::body::Frame;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::{broadcast, mpsc};

use super::playback::{LiveEvent, subscribe};
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::http::request::bearer_token;
use crate::http::respond::{self, Body};
use crate::http::{App, Ctx};

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
    let who = app.core.authenticate_bearer(
        bearer_token(&ctx.headers),
        app.core.profile.required_scope("events"),
    )?;
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
    let (backlog, mut live) = subscribe(app, &who.user, last_id);
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
    let mut res = Response::new(respond::stream(StreamBody::new(stream)));
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(res)
}
