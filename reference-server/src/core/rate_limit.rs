//! Exact sliding-window rate limits (PP-RATE-1..4).
//!
//! Each key keeps the times of the requests it was admitted, oldest first. A request is
//! admitted when fewer than `max` admitted requests lie inside the last window; refused
//! requests are not recorded (PP-RATE-3). Retry-After is the time until the oldest
//! admitted request leaves the window, rounded up to whole seconds, at least 1.
//!
//! Bound (issue 12 item 1): at most [`MAX_KEYS`] keys. Callers build keys only from what
//! they can vouch for (an IP, a registered client_id, a user), so the length of a key is
//! bounded by the registry. A key whose window emptied is dropped when its last admission
//! leaves the window ([`RateLimiter::purge`], oldest first). A new key arriving while the
//! table is full is refused like an over-limit request: failing closed keeps the limits
//! true under a flood of addresses, and the refusal says when to retry.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use super::clock::{Millis, secs};
use super::fault::{Bends, FaultSpec, Shape};
use crate::core::fault::bends;

/// The most keys kept at once, over every limit.
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Default)]
pub struct RateLimiter {
    /// (limit index in the profile, key) → admitted request times.
    windows: HashMap<(usize, String), VecDeque<Millis>>,
    /// (when the key's newest admission leaves its window, limit index, key), soonest
    /// first: one entry per key, re-queued when it turns out to have been used since.
    expiry: BinaryHeap<Reverse<(Millis, usize, String)>>,
}

/// How many requests a window admits, and whether refused ones count. The default
/// methods are the contract ([`ExactLimits`] keeps them): exactly `max` per window, and
/// refusals are not recorded (PP-RATE-1, PP-RATE-3).
pub trait LimitPolicy: Sync {
    /// Admitted requests a window holds for a documented `max`.
    fn room(&self, max: u32) -> usize {
        max as usize
    }

    /// Whether a refused request is recorded in the window as if admitted.
    fn records_refusals(&self) -> bool {
        false
    }
}

/// PP-RATE-1, PP-RATE-3 as written.
pub struct ExactLimits;

impl LimitPolicy for ExactLimits {}

/// The limit rule the limiter calls for the profile's documented limits.
pub fn limit_policy(bends: Bends) -> &'static dyn LimitPolicy {
    bends.pick::<dyn LimitPolicy>(&ExactLimits)
}

/// `limiter_admits_extra` (PP-RATE-1): every window holds one more than documented.
struct LimiterAdmitsExtra;

impl LimitPolicy for LimiterAdmitsExtra {
    fn room(&self, max: u32) -> usize {
        max as usize + 1
    }
}

pub static LIMITER_ADMITS_EXTRA: FaultSpec = FaultSpec::bending(
    "limiter_admits_extra",
    "PP-RATE-1",
    "every rate limit admits one request more than documented",
    bends!(dyn LimitPolicy = LimiterAdmitsExtra),
);

/// `limiter_counts_rejected` (PP-RATE-3): refusals fill the window too.
struct LimiterCountsRejected;

impl LimitPolicy for LimiterCountsRejected {
    fn records_refusals(&self) -> bool {
        true
    }
}

pub static LIMITER_COUNTS_REJECTED: FaultSpec = FaultSpec::bending(
    "limiter_counts_rejected",
    "PP-RATE-3",
    "refused requests count against the window, so it never reopens on time",
    bends!(dyn LimitPolicy = LimiterCountsRejected),
);

pub static RETRY_AFTER_MISSING: FaultSpec = FaultSpec::shaping(
    "retry_after_missing",
    "PP-RATE-2",
    "429 answers carry no Retry-After",
    Shape::NoRetryAfter,
);

impl RateLimiter {
    /// Admits and records one request of `key`, or answers the whole seconds to wait.
    pub fn admit(
        &mut self,
        limit_index: usize,
        max: u32,
        window_secs: u64,
        key: &str,
        now: Millis,
        policy: &dyn LimitPolicy,
    ) -> Result<(), u64> {
        let window = secs(window_secs);
        let id = (limit_index, key.to_owned());
        if !self.windows.contains_key(&id) {
            if self.windows.len() >= MAX_KEYS {
                // Full: the soonest a key leaves is when the oldest queued one expires.
                let soonest = self
                    .expiry
                    .peek()
                    .map_or(now + 1000, |Reverse((at, ..))| *at);
                return Err(seconds_until(soonest, now));
            }
            self.expiry
                .push(Reverse((now + window, limit_index, key.to_owned())));
        }
        let times = self.windows.entry(id).or_default();
        slide(times, window, now);
        if times.len() < policy.room(max) {
            times.push_back(now);
            return Ok(());
        }
        let oldest = *times.front().expect("a full window has an oldest request");
        if policy.records_refusals() {
            times.push_back(now);
        }
        Err(seconds_until(oldest + window, now))
    }

    /// The whole seconds to wait if one more request of `key` would be refused now;
    /// records nothing.
    pub fn peek(
        &mut self,
        limit_index: usize,
        max: u32,
        window_secs: u64,
        key: &str,
        now: Millis,
    ) -> Option<u64> {
        let window = secs(window_secs);
        let times = self.windows.get_mut(&(limit_index, key.to_owned()))?;
        slide(times, window, now);
        let oldest = *times.front()?;
        (times.len() >= max as usize).then(|| seconds_until(oldest + window, now))
    }

    pub fn clear(&mut self) {
        self.windows.clear();
        self.expiry.clear();
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Drops keys whose windows emptied by `now`, looking at no more than `budget` queued
    /// keys; answers whether it got through everything due.
    pub fn purge(&mut self, now: Millis, window_of: impl Fn(usize) -> u64, budget: usize) -> bool {
        for _ in 0..budget {
            let Some(Reverse((at, ..))) = self.expiry.peek() else {
                return true;
            };
            if *at > now {
                return true;
            }
            let Some(Reverse((_, index, key))) = self.expiry.pop() else {
                return true;
            };
            let id = (index, key);
            let newest = self.windows.get(&id).and_then(|t| t.back().copied());
            match newest {
                // Used since it was queued: queue it again for its newest admission.
                Some(t) if t + secs(window_of(index)) > now => {
                    self.expiry
                        .push(Reverse((t + secs(window_of(index)), id.0, id.1)));
                }
                _ => {
                    self.windows.remove(&id);
                }
            }
        }
        false
    }
}

/// Drops the admitted times that left the window.
fn slide(times: &mut VecDeque<Millis>, window: Millis, now: Millis) {
    while times.front().is_some_and(|&t| t + window <= now) {
        times.pop_front();
    }
}

/// Whole seconds from `now` until `at`, rounded up, at least 1 (Retry-After, PP-RATE-2).
fn seconds_until(at: Millis, now: Millis) -> u64 {
    ((at - now).max(1) as u64).div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_exactly_max_then_refuses_until_the_oldest_leaves() {
        let mut rl = RateLimiter::default();
        let d = &ExactLimits;
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
        let d = &ExactLimits;
        assert!(rl.admit(0, 1, 60, "k", 0, d).is_ok());
        assert_eq!(rl.admit(0, 1, 60, "k", 59_999, d), Err(1));
        assert_eq!(rl.admit(0, 1, 60, "k", 500, d), Err(60));
    }
}
