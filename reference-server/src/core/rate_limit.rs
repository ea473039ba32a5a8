//! Exact sliding-window rate limits (PP-RATE-1..4).
//!
//! Each key keeps the times of the requests it was admitted, oldest first. A request is
//! admitted when fewer than `max` admitted requests lie inside the last window; refused
//! requests are not recorded (PP-RATE-3). Retry-After is the time until the oldest
//! admitted request leaves the window, rounded up to whole seconds, at least 1.

use std::collections::{HashMap, VecDeque};

use super::clock::{Millis, secs};

#[derive(Debug, Default)]
pub struct RateLimiter {
    /// (limit index in the profile, key) → admitted request times.
    windows: HashMap<(usize, String), VecDeque<Millis>>,
}

/// How a limiter may be broken on purpose (faults `limiter_admits_extra`,
/// `limiter_counts_rejected`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LimiterDefects {
    pub admit_extra: bool,
    pub count_rejected: bool,
}

impl RateLimiter {
    /// Admits and records one request of `key`, or answers the whole seconds to wait.
    pub fn admit(
        &mut self,
        limit_index: usize,
        max: u32,
        window_secs: u64,
        key: &str,
        now: Millis,
        defects: LimiterDefects,
    ) -> Result<(), u64> {
        let window = secs(window_secs);
        let times = match self.windows.get_mut(&(limit_index, key.to_owned())) {
            Some(times) => times,
            None => self
                .windows
                .entry((limit_index, key.to_owned()))
                .or_default(),
        };
        while times.front().is_some_and(|&t| t + window <= now) {
            times.pop_front();
        }
        let max = max as usize + usize::from(defects.admit_extra);
        if times.len() < max {
            times.push_back(now);
            return Ok(());
        }
        let oldest = *times.front().expect("a full window has an oldest request");
        if defects.count_rejected {
            times.push_back(now);
        }
        let wait_ms = (oldest + window - now).max(1);
        Err((wait_ms as u64).div_ceil(1000).max(1))
    }

    pub fn clear(&mut self) {
        self.windows.clear();
    }

    /// Drops keys whose windows are empty, so idle keys do not pile up.
    pub fn sweep(&mut self, now: Millis, window_of: impl Fn(usize) -> u64) {
        self.windows.retain(|(index, _), times| {
            let window = secs(window_of(*index));
            times.back().is_some_and(|&t| t + window > now)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_exactly_max_then_refuses_until_the_oldest_leaves() {
        let mut rl = RateLimiter::default();
        let d = LimiterDefects::default();
        let t0 = 1_000_000;
        for i in 0..10 {
            assert!(rl.admit(0, 10, 3600, "ip", t0 + i * 1000, d).is_ok());
        }
        // Refused at t0+10s: the oldest (t0) leaves at t0+3600s.
        assert_eq!(rl.admit(0, 10, 3600, "ip", t0 + 10_000, d), Err(3590));
        // Refusals do not count: just before, still refused; at the edge, admitted.
        assert!(rl.admit(0, 10, 3600, "ip", t0 + 3_599_999, d).is_err());
        assert!(rl.admit(0, 10, 3600, "ip", t0 + 3_600_000, d).is_ok());
        // Another key has its own window.
        assert!(rl.admit(0, 10, 3600, "other", t0, d).is_ok());
    }

    #[test]
    fn retry_after_rounds_up_and_is_at_least_one() {
        let mut rl = RateLimiter::default();
        let d = LimiterDefects::default();
        assert!(rl.admit(0, 1, 60, "k", 0, d).is_ok());
        assert_eq!(rl.admit(0, 1, 60, "k", 59_999, d), Err(1));
        assert_eq!(rl.admit(0, 1, 60, "k", 500, d), Err(60));
    }
}
