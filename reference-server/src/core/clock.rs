//! The one clock of the server. Protocol code reads time only through [`Clock::now`], so
//! the test controls can move it (`POST /__test/clock/advance`) and every lifetime and
//! rate window follows.
//!
//! It runs on [`tokio::time::Instant`]: the same as `std`'s in a server, but a test on a
//! runtime with paused time (`#[tokio::test(start_paused = true)]`, tokio's `test-util`)
//! moves it with `tokio::time::advance`, without sleeping (issue 13 item 6).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Milliseconds since the Unix epoch, on the server's (movable) clock.
pub type Millis = i64;

#[derive(Debug)]
pub struct Clock {
    wall_at_start: Millis,
    start: Instant,
    offset_ms: AtomicU64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    pub fn new() -> Self {
        let wall_at_start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Millis);
        Clock {
            wall_at_start,
            start: Instant::now(),
            offset_ms: AtomicU64::new(0),
        }
    }

    /// Monotonic: real time elapsed since start, plus every advance.
    pub fn now(&self) -> Millis {
        self.wall_at_start
            + self.start.elapsed().as_millis() as Millis
            + self.offset_ms.load(Ordering::Relaxed) as Millis
    }

    pub fn advance(&self, millis: u64) -> Millis {
        self.offset_ms.fetch_add(millis, Ordering::Relaxed);
        self.now()
    }

    /// Back to real time (used by `/__test/reset`, which also clears every window).
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}

/// RFC 3339 with milliseconds, UTC: `2026-06-09T12:00:00.000Z`.
pub fn rfc3339(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn secs(s: u64) -> Millis {
    (s as Millis) * 1000
}
