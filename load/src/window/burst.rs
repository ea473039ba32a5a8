//! A key's share of one burst step, claimed request by request by the key's goose users.

use crate::observe::RequestKind;

/// A key's burst in one step, in two stages.
///
/// The first `sure` requests (the room less the straddle) are sent concurrently and must
/// all be admitted. Only once every one of them has been answered does the second stage
/// start, so no later request can overtake one of them and take its place. The second
/// stage sends the rest concurrently across the boundary: exactly `room - sure` of them
/// may be admitted, and which ones cannot be known, so each is an edge request, until
/// the room has been seen used up; every request claimed after that must be refused.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyBurst {
    /// How many requests the window has room for in this step.
    room: u32,
    /// First-stage requests, each of which must be admitted.
    sure: u32,
    /// Counted requests to send: `room + extra`.
    offered: u32,
    /// Requests with a failing bearer token to mix in (per-user limits).
    noise: u32,
    claimed: u32,
    claimed_noise: u32,
    /// Counted requests answered.
    settled: u32,
    admitted: u32,
}

/// What a player does next for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Claim {
    Send(usize, RequestKind),
    /// The first stage is still being answered.
    Wait,
    Done,
}

impl KeyBurst {
    pub(crate) fn new(room: u32, straddle: u32, extra: u32, with_noise: bool) -> Self {
        let offered = room + extra;
        KeyBurst {
            room,
            sure: room.saturating_sub(straddle),
            offered,
            noise: if with_noise { offered.div_ceil(5) } else { 0 },
            ..KeyBurst::default()
        }
    }

    /// Exactly `room` requests, all of which must be admitted (the early half).
    pub(crate) fn within(room: u32, with_noise: bool) -> Self {
        KeyBurst {
            sure: room,
            ..KeyBurst::new(room, 0, 0, with_noise)
        }
    }

    /// Counted requests admitted so far.
    pub(crate) fn admitted(&self) -> u32 {
        self.admitted
    }

    /// The next request to send, and what it must get.
    pub(crate) fn claim(&mut self) -> Claim {
        let index = (self.claimed + self.claimed_noise) as usize;
        let noise_due = self.claimed_noise < self.noise
            && ((self.claimed_noise + 1) * 5 <= self.claimed || self.claimed >= self.offered);
        if noise_due {
            self.claimed_noise += 1;
            return Claim::Send(index, RequestKind::Noise);
        }
        if self.claimed >= self.offered {
            return Claim::Done;
        }
        let kind = if self.claimed < self.sure {
            RequestKind::Within
        } else if self.settled < self.sure {
            return Claim::Wait;
        } else if self.admitted >= self.room {
            RequestKind::Over
        } else {
            RequestKind::Edge
        };
        self.claimed += 1;
        Claim::Send(index, kind)
    }

    pub(crate) fn settle(&mut self, admitted: bool) {
        self.settled += 1;
        if admitted {
            self.admitted += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_stage_waits_for_the_first_and_straddles_the_boundary() {
        let mut b = KeyBurst::new(4, 2, 2, false);
        assert_eq!(b.claim(), Claim::Send(0, RequestKind::Within));
        assert_eq!(b.claim(), Claim::Send(1, RequestKind::Within));
        // Nothing may overtake the first stage.
        assert_eq!(b.claim(), Claim::Wait);
        b.settle(true);
        assert_eq!(b.claim(), Claim::Wait);
        b.settle(true);
        assert_eq!(b.claim(), Claim::Send(2, RequestKind::Edge));
        assert_eq!(b.claim(), Claim::Send(3, RequestKind::Edge));
        assert_eq!(b.claim(), Claim::Send(4, RequestKind::Edge));
        b.settle(true);
        b.settle(true);
        // The room is seen used up: what follows must be refused.
        assert_eq!(b.claim(), Claim::Send(5, RequestKind::Over));
        assert_eq!(b.claim(), Claim::Done);
    }

    #[test]
    fn the_early_half_is_all_within() {
        let mut b = KeyBurst::within(3, false);
        for i in 0..3 {
            assert_eq!(b.claim(), Claim::Send(i, RequestKind::Within));
        }
        assert_eq!(b.claim(), Claim::Done);
    }

    #[test]
    fn noise_is_mixed_in_one_in_six() {
        let mut b = KeyBurst::new(10, 20, 0, true);
        let kinds: Vec<_> = std::iter::from_fn(|| match b.claim() {
            Claim::Send(_, kind) => {
                b.settle(false);
                Some(kind)
            }
            _ => None,
        })
        .collect();
        assert_eq!(kinds.len(), 12);
        assert_eq!(
            kinds.iter().filter(|k| **k == RequestKind::Noise).count(),
            2
        );
        assert_eq!(kinds[5], RequestKind::Noise);
    }
}
