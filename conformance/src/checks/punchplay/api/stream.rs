//! PP-API-8: the live event stream, read by the client crate's reader and recorded when
//! closed, and the checks of what it delivers. A stream carries every playback change of
//! the user, another client's too (issue 18 item 7a): the checks read and record only the
//! events of their own items.

use std::time::Duration;

use contract_client::sse::EventStream;
use profile::AppKind;
use serde_json::Value;

use super::session::{alone, interfered, media, token};
use super::{playback, playback_body};
use crate::check::Ctx;
use crate::client::{Exchange, Req, Resp, recorded_headers};
use crate::ensure;
use crate::kit::flows;
use crate::outcome::{CheckResult, Problem};

pub use contract_client::sse::{SseEvent, StreamRead, parse_events};

/// An open event stream (the client crate's reader); its text so far is recorded when
/// it is closed.
pub struct Stream {
    req: Req,
    at: chrono::DateTime<chrono::Utc>,
    status: u16,
    headers: Vec<(String, String)>,
    reader: EventStream,
}

pub async fn open_stream(
    ctx: &mut Ctx,
    access: &str,
    last_event_id: Option<u64>,
) -> Result<Stream, Problem> {
    let mut req = Req::get(ctx.path("events"))
        .bearer(access)
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id.to_string());
    }
    let (at, resp) = ctx.http.open_stream(&req).await?;
    let status = resp.status().as_u16();
    let headers = recorded_headers(resp.headers());
    Ok(Stream {
        req,
        at,
        status,
        headers,
        reader: EventStream::new(resp),
    })
}

impl Stream {
    /// The status the stream opened with.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Reads until `n` events arrived or `wait` passed; answers every event so far.
    pub async fn events(&mut self, n: usize, wait: Duration) -> Vec<SseEvent> {
        self.reader.events(n, wait).await
    }

    /// Reads one chunk before `deadline`, keeping a bounded text so a stream that never
    /// stops cannot exhaust memory.
    pub async fn read_until(&mut self, deadline: tokio::time::Instant) -> StreamRead {
        self.reader.read_until(deadline).await
    }

    /// The events of the text received so far.
    pub fn delivered(&self) -> Vec<SseEvent> {
        parse_events(self.reader.text())
    }

    /// The events of `ours` (media ids) received so far.
    pub fn delivered_for(&self, ours: &[&str]) -> Vec<SseEvent> {
        let mut events = self.delivered();
        events.retain(|e| is_ours(e, ours));
        events
    }

    /// Reads until `n` events of `ours` arrived or `wait` passed; answers them.
    pub async fn events_for(&mut self, ours: &[&str], n: usize, wait: Duration) -> Vec<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mine = self.delivered_for(ours);
            if mine.len() >= n || self.read_until(deadline).await != StreamRead::More {
                return self.delivered_for(ours);
            }
        }
    }

    /// Closes the stream and records what it delivered.
    pub fn close(self, ctx: &mut Ctx) -> Resp {
        ctx.record(Exchange {
            req: self.req,
            at: self.at,
            elapsed: Duration::ZERO,
            status: self.status,
            headers: self.headers,
            body: self.reader.into_text(),
        })
    }

    /// Closes the stream and records the events of `ours` it delivered (another
    /// client's are not this check's).
    pub fn close_for(self, ctx: &mut Ctx, ours: &[&str]) -> Resp {
        let body: String = self
            .reader
            .text()
            .split("\n\n")
            // Events of other items out; the stream's own lines (retry) stay.
            .filter(|block| {
                !block.lines().any(|l| l.starts_with("data:"))
                    || parse_events(&format!("{block}\n\n"))
                        .first()
                        .is_some_and(|e| is_ours(e, ours))
            })
            .map(|block| format!("{block}\n\n"))
            .collect();
        ctx.record(Exchange {
            req: self.req,
            at: self.at,
            elapsed: Duration::ZERO,
            status: self.status,
            headers: self.headers,
            body,
        })
    }
}

pub const STREAM_WAIT: Duration = Duration::from_secs(3);

/// Whether an event is about one of `ours` (media ids).
fn is_ours(e: &SseEvent, ours: &[&str]) -> bool {
    e.data
        .pointer("/media/id")
        .and_then(Value::as_str)
        .is_some_and(|id| ours.contains(&id))
}

/// Errors with "interfered" when this check's item was stopped by another client's start
/// (an implicit stop this check did not cause).
fn no_implicit_stop(events: &[SseEvent]) -> CheckResult {
    match events
        .iter()
        .find(|e| e.data.get("implicit") == Some(&Value::Bool(true)))
    {
        Some(e) => Err(interfered(format!(
            "the stream carries an implicit stop of this check's item (event {:?}) that another client's start caused",
            e.id
        ))),
        None => Ok(()),
    }
}

pub fn types(events: &[SseEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e.data
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        })
        .collect()
}

pub async fn stream_every_action(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    alone(ctx, move |ctx| {
        Box::pin(every_action_once(ctx, access.clone()))
    })
    .await
}

async fn every_action_once(ctx: &mut Ctx, access: String) -> CheckResult {
    let ep = media(ctx, "conformance-ep-5");
    let ours = [ep.as_str()];
    let mut stream = open_stream(ctx, &access, None).await?;
    ensure!(
        stream.status == 200,
        Resp {
            ex: std::sync::Arc::new(Exchange {
                req: stream.req.clone(),
                at: stream.at,
                elapsed: Duration::ZERO,
                status: stream.status,
                headers: stream.headers.clone(),
                body: String::new()
            }),
            request_id_header: ctx.profile().expect_punchplay().request_id.header.clone(),
            target: None,
        },
        "the event stream answered {}",
        stream.status
    );
    let actions = ["start", "pause", "resume", "progress", "stop"];
    for (i, action) in actions.iter().enumerate() {
        play_ours(ctx, &access, &ours, action, i as u64 * 1000).await?;
    }
    let events = stream.events_for(&ours, 5, STREAM_WAIT).await;
    let sr = stream.close_for(ctx, &ours);
    no_implicit_stop(&events)?;
    let ct = sr.header("content-type").unwrap_or("");
    ensure!(
        ct.starts_with("text/event-stream"),
        sr,
        "the stream's content-type is {ct:?}"
    );
    let got = types(&events);
    let want: Vec<String> = ["started", "paused", "resumed", "progress", "stopped"]
        .iter()
        .map(|t| format!("playback.{t}"))
        .collect();
    ensure!(
        got == want,
        sr,
        "the stream delivered {got:?}, expected {want:?}"
    );
    ensure!(
        events.iter().all(|e| e.event == "playback"),
        sr,
        "an event is not `event: playback`"
    );
    let ids: Vec<Option<u64>> = events.iter().map(|e| e.id).collect();
    ensure!(
        ids.iter().all(Option::is_some) && ids.windows(2).all(|w| w[0] < w[1]),
        sr,
        "event ids {ids:?} are not increasing numbers"
    );
    Ok(())
}

pub async fn resume(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    alone(ctx, move |ctx| Box::pin(resume_once(ctx, access.clone()))).await
}

async fn resume_once(ctx: &mut Ctx, access: String) -> CheckResult {
    let ep = media(ctx, "conformance-ep-6");
    let ours = [ep.as_str()];
    let mut stream = open_stream(ctx, &access, None).await?;
    for (action, pos) in [("start", 0), ("pause", 1000)] {
        play_ours(ctx, &access, &ours, action, pos).await?;
    }
    let first = stream.events_for(&ours, 2, STREAM_WAIT).await;
    let sr = stream.close_for(ctx, &ours);
    no_implicit_stop(&first)?;
    ensure!(
        first.len() == 2,
        sr,
        "the stream delivered {} of 2 events",
        first.len()
    );
    let first_id = first[0]
        .id
        .ok_or_else(|| sr.fail("the first event has no numeric id"))?;
    let mut again = open_stream(ctx, &access, Some(first_id)).await?;
    let replayed = again.events_for(&ours, 1, STREAM_WAIT).await;
    let sr = again.close_for(ctx, &ours);
    no_implicit_stop(&replayed)?;
    ensure!(
        !replayed.is_empty(),
        sr,
        "reconnecting with Last-Event-ID {first_id} replayed nothing"
    );
    ensure!(
        replayed[0].id == first[1].id && types(&replayed[..1]) == ["playback.paused"],
        sr,
        "after Last-Event-ID {first_id} the stream replayed {:?} (id {:?}), expected the pause (id {:?})",
        types(&replayed),
        replayed[0].id,
        first[1].id
    );
    Ok(())
}

pub async fn query_token(ctx: &mut Ctx) -> CheckResult {
    let access = token(ctx, None).await?;
    let path = format!("{}?access_token={access}", ctx.path("events"));
    let r = ctx
        .send(Req::get(path).timeout(Duration::from_secs(5)))
        .await?;
    ctx.error(&r, "invalid_token")?;
    Ok(())
}

pub async fn stream_ends_on_revocation(ctx: &mut Ctx) -> CheckResult {
    alone(ctx, |ctx| Box::pin(ends_on_revocation_once(ctx))).await
}

async fn ends_on_revocation_once(ctx: &mut Ctx) -> CheckResult {
    // An app of our own, so that revoking it touches no other check's tokens.
    crate::checks::punchplay::signed_in(ctx, false).await?;
    let (app, _) = crate::checks::punchplay::register_app(ctx, AppKind::Confidential).await?;
    let access = flows::code_tokens(ctx, &app, None).await?.access;
    let other = token(ctx, None).await?;
    let mut stream = open_stream(ctx, &access, None).await?;
    if stream.status != 200 {
        let r = stream.close(ctx);
        return Err(r.fail(format!("the event stream answered {}", r.status())));
    }
    let r = crate::checks::punchplay::deactivate_app(ctx, &app).await?;
    ctx.ok_json(&r)?;
    // A playback change of the same user through another app: the revoked stream must
    // not carry it, and must end. Another client's changes are not this check's.
    let after = media(ctx, "conformance-after-revocation");
    let body = playback_body(ctx, &after, 0);
    let r = playback(ctx, &other, "start", body).await?;
    let b = ctx.ok_json(&r)?;
    super::session::not_foreign(&r, &b, &[after.as_str()])?;
    let deadline = tokio::time::Instant::now() + STREAM_WAIT;
    let ended = loop {
        match stream.read_until(deadline).await {
            StreamRead::More => {}
            StreamRead::Ended => break true,
            StreamRead::TimedOut | StreamRead::TooLong => break false,
        }
    };
    let delivered = stream.delivered_for(&[after.as_str()]);
    let sr = stream.close_for(ctx, &[after.as_str()]);
    // The token is revoked by deactivating its app: judged only where that revokes it
    // at all (PP-APP-5).
    if !delivered.is_empty() {
        let p = sr.fail(format!(
            "after its token was revoked the stream still delivered {:?}",
            types(&delivered)
        ));
        return Err(p.presuming("PP-APP-5"));
    }
    if !ended {
        let p = sr.fail(format!(
            "the event stream stayed open {} s after its token was revoked and a playback change followed",
            STREAM_WAIT.as_secs()
        ));
        return Err(p.presuming("PP-APP-5"));
    }
    ctx.note("the stream ended");
    Ok(())
}

/// Sends `action` for this run's media (`ours[0]`) at `position_ms`. An event of ours
/// not applied is judged as another client's newer one having come first (issue 18
/// item 7a): interfered, never a failure.
async fn play_ours(
    ctx: &mut Ctx,
    access: &str,
    ours: &[&str],
    action: &str,
    position_ms: u64,
) -> CheckResult {
    let body = playback_body(ctx, ours[0], position_ms);
    let at = super::session::sent_at(&body);
    let r = playback(ctx, access, action, body).await?;
    let b = ctx.ok_json(&r)?;
    super::session::not_foreign(&r, &b, ours)?;
    if b.get("applied") != Some(&Value::Bool(true)) {
        super::session::changed_after(&b, &at)?;
    }
    Ok(())
}
