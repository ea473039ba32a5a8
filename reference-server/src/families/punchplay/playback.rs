//! Playback (PP-API-3..6, PP-API-8): each user's events, now-playing state and live event
//! log (punchplay's own table), the `playback/{action}` and `playback/now-playing`
//! endpoints, the rules of event order and of the live feed, and the faults that bend them.
//! The live stream itself is `events.rs`.

use std::collections::{HashSet, VecDeque};

use hyper::Response;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

use super::PunchplayState;
use crate::core::clock::{Millis, rfc3339};
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::fault::bends;
use crate::core::fault::{Bends, FaultSpec};
use crate::http::request::{RequestBody, bearer_token, media_type_is, parse_json};
use crate::http::respond::Body;
use crate::http::{App, Ctx, ok_json};

/// How many live events a user's log keeps for `Last-Event-ID` resumes.
pub const EVENT_LOG_LEN: usize = 1024;
/// How many `event_id`s a user's dedup set remembers.
const SEEN_EVENT_IDS: usize = 4096;
/// The longest string field an event may carry (`event_id`, `media.*`): the log and the
/// dedup set keep them, so their length bounds a user's memory (issue 12 item 1).
pub const MAX_FIELD_LEN: usize = 1024;
/// How far ahead of the server's clock an `occurred_at` may be. PP-API-4 orders events by
/// `occurred_at`, so one stamped years ahead would freeze a user's now-playing state: every
/// real event after it would be "older" (DECIDED).
pub const MAX_CLOCK_SKEW_MS: Millis = 5 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Pause,
    Resume,
    Progress,
    Stop,
}

impl Action {
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "start" => Some(Action::Start),
            "pause" => Some(Action::Pause),
            "resume" => Some(Action::Resume),
            "progress" => Some(Action::Progress),
            "stop" => Some(Action::Stop),
            _ => None,
        }
    }

    /// The live event type (PP-API-8).
    pub fn event_type(self) -> &'static str {
        match self {
            Action::Start => "playback.started",
            Action::Pause => "playback.paused",
            Action::Resume => "playback.resumed",
            Action::Progress => "playback.progress",
            Action::Stop => "playback.stopped",
        }
    }
}

/// Whether an event is older than the last one applied (PP-API-4); [`NewestWins`] is the
/// rule.
pub trait PlaybackOrder: Sync {
    fn is_stale(&self, last_applied: Option<Millis>, occurred_at: Millis) -> bool;
}

/// PP-API-4: an event older than the last one applied changes nothing.
pub struct NewestWins;

impl PlaybackOrder for NewestWins {
    fn is_stale(&self, last_applied: Option<Millis>, occurred_at: Millis) -> bool {
        last_applied.is_some_and(|last| occurred_at < last)
    }
}

fn playback_order(bends: Bends) -> &'static dyn PlaybackOrder {
    bends.pick::<dyn PlaybackOrder>(&NewestWins)
}

/// `stale_event_applied` (PP-API-4): no event counts as older than the last applied.
struct StaleEventApplied;

impl PlaybackOrder for StaleEventApplied {
    fn is_stale(&self, _last_applied: Option<Millis>, _occurred_at: Millis) -> bool {
        false
    }
}

pub static STALE_EVENT_APPLIED: FaultSpec = FaultSpec::bending(
    "stale_event_applied",
    "PP-API-4",
    "playback events older than the last applied one change now-playing",
    bends!(dyn PlaybackOrder = StaleEventApplied),
);

/// Which applied events reach the live stream and its log (PP-API-8); [`EveryEvent`] is
/// the rule.
pub trait LiveFeed: Sync {
    fn publishes(&self, action: Action) -> bool;
}

/// PP-API-8: every applied event, implicit stops included.
pub struct EveryEvent;

impl LiveFeed for EveryEvent {
    fn publishes(&self, _action: Action) -> bool {
        true
    }
}

fn live_feed(bends: Bends) -> &'static dyn LiveFeed {
    bends.pick::<dyn LiveFeed>(&EveryEvent)
}

/// `sse_drops_stops` (PP-API-8): `playback.stopped` never reaches the live stream.
struct SseDropsStops;

impl LiveFeed for SseDropsStops {
    fn publishes(&self, action: Action) -> bool {
        action != Action::Stop
    }
}

pub static SSE_DROPS_STOPS: FaultSpec = FaultSpec::bending(
    "sse_drops_stops",
    "PP-API-8",
    "the live stream drops playback.stopped events",
    bends!(dyn LiveFeed = SseDropsStops),
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Media {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub season: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub episode: Option<u64>,
}

/// A validated playback request body (PP-API-3).
#[derive(Debug, Clone)]
pub struct PlaybackEvent {
    pub action: Action,
    pub media: Media,
    pub position_ms: u64,
    pub duration_ms: Option<u64>,
    pub occurred_at: Millis,
    pub event_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlayState {
    Playing,
    Paused,
    Idle,
}

/// `GET playback/now-playing` (PP-API-6).
#[derive(Debug, Clone, Serialize)]
pub struct NowPlaying {
    pub state: PlayState,
    pub media: Option<Media>,
    pub position_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    pub updated_at: Option<String>,
}

/// One server-sent event (PP-API-8).
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    #[serde(skip)]
    pub id: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub media: Media,
    pub position_ms: u64,
    pub occurred_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// True for the stop that a `start` of another item implies (PP-API-5).
    pub implicit: bool,
}

/// `{accepted, applied, now_playing}` (PP-API-3).
#[derive(Debug, Clone, Serialize)]
pub struct PlaybackOutcome {
    pub accepted: bool,
    pub applied: bool,
    pub now_playing: NowPlaying,
}

#[derive(Debug)]
pub struct UserPlayback {
    state: PlayState,
    media: Option<Media>,
    position_ms: u64,
    duration_ms: Option<u64>,
    last_applied: Option<Millis>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    log: VecDeque<LiveEvent>,
    next_id: u64,
    live: broadcast::Sender<LiveEvent>,
}

impl Default for UserPlayback {
    fn default() -> Self {
        UserPlayback {
            state: PlayState::Idle,
            media: None,
            position_ms: 0,
            duration_ms: None,
            last_applied: None,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            log: VecDeque::new(),
            next_id: 1,
            live: broadcast::channel(256).0,
        }
    }
}

impl UserPlayback {
    pub fn now_playing(&self) -> NowPlaying {
        NowPlaying {
            state: self.state,
            media: self.media.clone(),
            position_ms: self.position_ms,
            duration_ms: self.duration_ms,
            updated_at: self.last_applied.map(rfc3339),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        feed: &dyn LiveFeed,
        action: Action,
        media: Media,
        position_ms: u64,
        occurred_at: Millis,
        event_id: Option<String>,
        implicit: bool,
    ) {
        if !feed.publishes(action) {
            return;
        }
        let event = LiveEvent {
            id: self.next_id,
            kind: action.event_type(),
            media,
            position_ms,
            occurred_at: rfc3339(occurred_at),
            event_id,
            implicit,
        };
        self.next_id += 1;
        if self.log.len() == EVENT_LOG_LEN {
            self.log.pop_front();
        }
        self.log.push_back(event.clone());
        // No subscriber is fine: the log keeps it for a later resume.
        let _ = self.live.send(event);
    }

    fn remember(&mut self, event_id: &str) {
        if self.seen_order.len() == SEEN_EVENT_IDS
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.seen.insert(event_id.to_owned());
        self.seen_order.push_back(event_id.to_owned());
    }
}

fn field<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(body, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

fn too_long(path: &str) -> ProtocolError {
    ProtocolError::invalid_request(format!(
        "`{path}` is longer than {MAX_FIELD_LEN} bytes; send a shorter one."
    ))
}

fn required_str(body: &Value, path: &str) -> ProtocolResult<String> {
    match field(body, path) {
        Some(Value::String(s)) if s.len() > MAX_FIELD_LEN => Err(too_long(path)),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(_) => Err(ProtocolError::invalid_request(format!(
            "`{path}` must be a non-empty string."
        ))),
        None => Err(ProtocolError::invalid_request(format!(
            "`{path}` is required."
        ))),
    }
}

fn optional_str(body: &Value, path: &str) -> ProtocolResult<Option<String>> {
    match field(body, path) {
        None => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_FIELD_LEN => Err(too_long(path)),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ProtocolError::invalid_request(format!(
            "`{path}` must be a string."
        ))),
    }
}

fn optional_count(body: &Value, path: &str) -> ProtocolResult<Option<u64>> {
    match field(body, path) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            ProtocolError::invalid_request(format!("`{path}` must be a whole number of 0 or more."))
        }),
    }
}

/// Validates a playback body, naming the first field that is missing or malformed
/// (PP-API-3); `now` bounds how far ahead `occurred_at` may be.
pub fn parse_event(action: Action, body: &Value, now: Millis) -> ProtocolResult<PlaybackEvent> {
    if !body.is_object() {
        return Err(ProtocolError::invalid_request(
            "The body must be a JSON object.",
        ));
    }
    if !field(body, "media").is_some_and(Value::is_object) {
        return Err(ProtocolError::invalid_request(
            if field(body, "media").is_none() {
                "`media` is required."
            } else {
                "`media` must be an object."
            },
        ));
    }
    let kind = required_str(body, "media.type")?;
    if kind != "episode" && kind != "movie" {
        return Err(ProtocolError::invalid_request(
            "`media.type` must be `episode` or `movie`.",
        ));
    }
    let media = Media {
        id: required_str(body, "media.id")?,
        kind,
        title: required_str(body, "media.title")?,
        show: optional_str(body, "media.show")?,
        season: optional_count(body, "media.season")?,
        episode: optional_count(body, "media.episode")?,
    };
    let position_ms = optional_count(body, "position_ms")?
        .ok_or_else(|| ProtocolError::invalid_request("`position_ms` is required."))?;
    let duration_ms = optional_count(body, "duration_ms")?;
    let occurred_raw = required_str(body, "occurred_at")?;
    let occurred_at = chrono::DateTime::parse_from_rfc3339(&occurred_raw)
        .map_err(|_| {
            ProtocolError::invalid_request(
                "`occurred_at` must be an RFC 3339 date-time, like 2026-06-09T12:00:00Z.",
            )
        })?
        .timestamp_millis();
    if occurred_at > now + MAX_CLOCK_SKEW_MS {
        return Err(ProtocolError::invalid_request(format!(
            "`occurred_at` is more than {} s ahead of the server's clock; send the time the event happened.",
            MAX_CLOCK_SKEW_MS / 1000
        )));
    }
    let event_id = optional_str(body, "event_id")?;
    Ok(PlaybackEvent {
        action,
        media,
        position_ms,
        duration_ms,
        occurred_at,
        event_id,
    })
}

/// Applies a user's playback event to `users` (PP-API-3, PP-API-4, PP-API-5).
pub fn apply(
    users: &mut std::collections::HashMap<String, UserPlayback>,
    bends: Bends,
    user: &str,
    event: PlaybackEvent,
) -> PlaybackOutcome {
    let (order, feed) = (playback_order(bends), live_feed(bends));
    let p = users.entry(user.to_owned()).or_default();
    let unchanged = |p: &UserPlayback| PlaybackOutcome {
        accepted: true,
        applied: false,
        now_playing: p.now_playing(),
    };
    // PP-API-4: a repeated event_id is acknowledged and changes nothing.
    if let Some(id) = &event.event_id
        && p.seen.contains(id)
    {
        return unchanged(p);
    }
    if let Some(id) = &event.event_id {
        p.remember(id);
    }
    // PP-API-4: an event older than the last one applied changes nothing.
    if order.is_stale(p.last_applied, event.occurred_at) {
        return unchanged(p);
    }
    let same_item = p.media.as_ref().is_some_and(|m| m.id == event.media.id);
    if event.action == Action::Stop && p.media.is_some() && !same_item {
        // A stop for an item that is not playing is stale.
        return unchanged(p);
    }
    // PP-API-5: another item while one is active ends the first with an implicit stop.
    if event.action != Action::Stop
        && !same_item
        && let Some(previous) = p.media.clone()
    {
        p.emit(
            feed,
            Action::Stop,
            previous,
            p.position_ms,
            event.occurred_at,
            None,
            true,
        );
    }
    p.last_applied = Some(event.occurred_at);
    p.position_ms = event.position_ms;
    p.duration_ms = event
        .duration_ms
        .or(if same_item { p.duration_ms } else { None });
    match event.action {
        Action::Start | Action::Resume | Action::Progress => {
            p.state = PlayState::Playing;
            p.media = Some(event.media.clone());
        }
        Action::Pause => {
            p.state = PlayState::Paused;
            p.media = Some(event.media.clone());
        }
        Action::Stop => {
            p.state = PlayState::Idle;
            p.media = None;
            p.position_ms = 0;
            p.duration_ms = None;
        }
    }
    p.emit(
        feed,
        event.action,
        event.media,
        event.position_ms,
        event.occurred_at,
        event.event_id,
        false,
    );
    PlaybackOutcome {
        accepted: true,
        applied: true,
        now_playing: p.now_playing(),
    }
}

/// The events after `last_event_id` and a receiver for the ones to come, taken under
/// one lock so nothing falls between them (PP-API-8).
pub fn subscribe(
    app: &App,
    user: &str,
    last_event_id: Option<u64>,
) -> (Vec<LiveEvent>, broadcast::Receiver<LiveEvent>) {
    app.core.with_family(|state: &mut PunchplayState| {
        let p = state.playback.entry(user.to_owned()).or_default();
        let after = last_event_id.unwrap_or(0);
        let backlog = if last_event_id.is_some() {
            p.log.iter().filter(|e| e.id > after).cloned().collect()
        } else {
            Vec::new()
        };
        (backlog, p.live.subscribe())
    })
}

/// `POST playback/{action}` (PP-API-3..5): scope, action and body. The shell already
/// authenticated and counted a per-user limit (PP-RATE-4).
pub async fn playback(app: &App, ctx: &Ctx, body: RequestBody) -> ProtocolResult<Response<Body>> {
    let action = ctx.param.as_deref().unwrap_or_default();
    let who = app.core.authenticate_bearer(
        bearer_token(&ctx.headers),
        app.core.profile.required_scope("playback"),
    )?;
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
    if !media_type_is(&ctx.headers, "application/json") {
        return Err(ProtocolError::invalid_request(
            "Send the playback event as application/json.",
        ));
    }
    let event = parse_event(action, &parse_json(&bytes)?, app.core.now())?;
    let bends = app.core.bends();
    let outcome = app.core.with_family(|state: &mut PunchplayState| {
        apply(&mut state.playback, bends, &who.user, event)
    });
    ok_json(&outcome)
}

/// `GET playback/now-playing` (PP-API-6).
pub fn now_playing(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let who = app.core.authenticate_bearer(
        bearer_token(&ctx.headers),
        app.core.profile.required_scope("now_playing"),
    )?;
    let now_playing = app.core.with_family(|state: &mut PunchplayState| {
        state
            .playback
            .entry(who.user.clone())
            .or_default()
            .now_playing()
    });
    ok_json(&now_playing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2026-06-09T12:00:00Z, the day the fixtures' events happen.
    const NOW: Millis = 1_781_006_400_000;

    fn body(id: &str, at: &str) -> Value {
        json!({"media": {"id": id, "type": "episode", "title": "Pilot"}, "position_ms": 10, "occurred_at": at})
    }

    #[test]
    fn malformed_bodies_name_the_field() {
        let err = parse_event(Action::Start, &json!({"position_ms": 1}), NOW).unwrap_err();
        assert!(err.message.contains("`media`"), "{}", err.message);
        let mut b = body("m1", "2026-06-09T12:00:00Z");
        b["media"]["type"] = json!("song");
        assert!(
            parse_event(Action::Start, &b, NOW)
                .unwrap_err()
                .message
                .contains("media.type")
        );
        let b = body("m1", "yesterday");
        assert!(
            parse_event(Action::Start, &b, NOW)
                .unwrap_err()
                .message
                .contains("occurred_at")
        );
    }

    #[test]
    fn older_events_and_repeated_ids_change_nothing() {
        let mut users = std::collections::HashMap::new();
        let mut apply = |event| apply(&mut users, Bends::NONE, "alice", event);
        let start = parse_event(Action::Start, &body("m1", "2026-06-09T12:00:10Z"), NOW).unwrap();
        assert!(apply(start).applied);
        let older = parse_event(Action::Pause, &body("m1", "2026-06-09T12:00:05Z"), NOW).unwrap();
        let out = apply(older);
        assert!(out.accepted && !out.applied);
        assert_eq!(out.now_playing.state, PlayState::Playing);
        let mut b = body("m1", "2026-06-09T12:00:20Z");
        b["event_id"] = json!("e1");
        assert!(apply(parse_event(Action::Pause, &b, NOW).unwrap()).applied);
        b["occurred_at"] = json!("2026-06-09T12:00:30Z");
        assert!(!apply(parse_event(Action::Resume, &b, NOW).unwrap()).applied);
    }

    #[test]
    fn starting_another_item_implies_a_stop_of_the_first() {
        let mut users: std::collections::HashMap<String, UserPlayback> = Default::default();
        let mut rx = users.entry("bob".into()).or_default().live.subscribe();
        let mut apply = |event| apply(&mut users, Bends::NONE, "bob", event);
        apply(parse_event(Action::Start, &body("m1", "2026-06-09T12:00:00Z"), NOW).unwrap());
        let out =
            apply(parse_event(Action::Start, &body("m2", "2026-06-09T12:01:00Z"), NOW).unwrap());
        assert_eq!(out.now_playing.media.unwrap().id, "m2");
        let kinds: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| (e.kind, e.media.id, e.implicit))
            .collect();
        assert_eq!(
            kinds,
            [
                ("playback.started", "m1".to_owned(), false),
                ("playback.stopped", "m1".to_owned(), true),
                ("playback.started", "m2".to_owned(), false)
            ]
        );
    }
}
