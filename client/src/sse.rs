//! The live event stream's reader (server-sent events, PP-API-8): the parser of the
//! stream's text, and [`EventStream`], which reads a response chunk by chunk with a
//! bound on what it keeps.

use std::time::Duration;

use serde_json::Value;

/// The most of a stream's text a reader keeps: a stream that never stops cannot take
/// the reader's memory.
pub const MAX_STREAM_BYTES: usize = 1024 * 1024;

/// One server-sent event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// `id:`, when it is a number.
    pub id: Option<u64>,
    /// `event:`, `message` when the block has none.
    pub event: String,
    /// `data:` as JSON, or as a string when it is not JSON (see `data_is_json`).
    pub data: Value,
    pub data_is_json: bool,
}

/// The events of a stream's text so far: every complete block (ended by a blank line)
/// with data; comments, `retry:` lines and blocks without data are skipped.
pub fn parse_events(text: &str) -> Vec<SseEvent> {
    let complete = match text.rfind("\n\n") {
        Some(i) => &text[..i],
        None => return Vec::new(),
    };
    complete.split("\n\n").filter_map(parse_block).collect()
}

fn parse_block(block: &str) -> Option<SseEvent> {
    let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id:") {
            id = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_owned();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim_start());
        }
    }
    if data.is_empty() {
        return None;
    }
    let (data, data_is_json) = match serde_json::from_str(&data) {
        Ok(v) => (v, true),
        Err(_) => (Value::String(data), false),
    };
    Some(SseEvent {
        id,
        event,
        data,
        data_is_json,
    })
}

/// What one read of a live stream came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRead {
    More,
    /// The server closed the stream (or the connection failed).
    Ended,
    TimedOut,
    /// [`MAX_STREAM_BYTES`] arrived; nothing more is read.
    TooLong,
}

/// An open event stream being read; its text so far is kept.
pub struct EventStream {
    response: reqwest::Response,
    text: String,
    /// Events already handed out by [`EventStream::next`].
    taken: usize,
}

impl EventStream {
    pub fn new(response: reqwest::Response) -> EventStream {
        EventStream {
            response,
            text: String::new(),
            taken: 0,
        }
    }

    pub fn response(&self) -> &reqwest::Response {
        &self.response
    }

    /// The text received so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn into_text(self) -> String {
        self.text
    }

    /// Reads one chunk before `deadline`.
    pub async fn read_until(&mut self, deadline: tokio::time::Instant) -> StreamRead {
        if self.text.len() >= MAX_STREAM_BYTES {
            return StreamRead::TooLong;
        }
        match tokio::time::timeout_at(deadline, self.response.chunk()).await {
            Ok(Ok(Some(bytes))) => {
                self.text.push_str(&String::from_utf8_lossy(&bytes));
                StreamRead::More
            }
            Ok(Ok(None) | Err(_)) => StreamRead::Ended,
            Err(_) => StreamRead::TimedOut,
        }
    }

    /// Reads until `n` events arrived or `wait` passed; answers every event so far.
    pub async fn events(&mut self, n: usize, wait: Duration) -> Vec<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let events = parse_events(&self.text);
            if events.len() >= n || self.read_until(deadline).await != StreamRead::More {
                return events;
            }
        }
    }

    /// The next event not handed out before, or `None` when none arrives within `wait`
    /// or the stream ends.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let events = self.events(self.taken + 1, wait).await;
        let event = events.into_iter().nth(self.taken)?;
        self.taken += 1;
        Some(event)
    }

    /// Whether the server ends the stream within `wait` with no further event.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        let before = parse_events(&self.text).len();
        loop {
            match self.read_until(deadline).await {
                StreamRead::More if parse_events(&self.text).len() > before => return false,
                StreamRead::More => {}
                StreamRead::Ended => return true,
                StreamRead::TimedOut | StreamRead::TooLong => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_blocks_are_events_and_the_rest_waits() {
        let text = ": hello\nretry: 1000\n\nid: 3\nevent: playback\ndata: {\"type\":\"playback.started\"}\n\nid: 4\ndata: not json\n\nid: 5\ndata: {\"half\"";
        let events = parse_events(text);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].id, Some(3));
        assert_eq!(events[0].event, "playback");
        assert_eq!(events[0].data["type"], "playback.started");
        assert!(events[0].data_is_json);
        assert_eq!(events[1].event, "message");
        assert_eq!(events[1].data, Value::String("not json".into()));
        assert!(!events[1].data_is_json);
        assert!(parse_events("id: 1\ndata: {}").is_empty());
    }
}
