//! Where an attack stands: the window and the step in it. Players wait until the phase
//! reaches theirs; the conductor moves it on once every expected player has reported.

use std::fmt;

use serde::Serialize;

use crate::observe::RequestKind;

/// The steps of one window, in order (see the module comment of [`crate::window`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Half the limit, all at once, into an empty window.
    Early,
    /// A third of a window later: the rest of the limit and `extra` beyond it.
    Burst,
    /// One request per key after the burst: refused, with Retry-After.
    FirstRefusal,
    /// One request per key, again and again until the early half leaves the window,
    /// whatever Retry-After said: a limiter that refills admits some.
    Hold(u8),
    /// One request per key shortly before Retry-After has passed: still refused.
    NotBefore,
    /// One request per key once Retry-After has passed: admitted.
    Resume,
    /// At once after the resume: a sliding window admits the places the early half
    /// freed; a fixed window starts afresh and admits a whole limit.
    Slide,
}

impl Step {
    /// Steps every goose user of a key takes part in; the others are one request per
    /// key, sent by its first user.
    pub fn is_burst(self) -> bool {
        matches!(self, Step::Early | Step::Burst | Step::Slide)
    }

    /// The early half and the burst: sent into a window that began empty.
    pub fn opens_window(self) -> bool {
        matches!(self, Step::Early | Step::Burst)
    }

    /// What a probe step's request must get.
    pub fn probe_kind(self) -> RequestKind {
        match self {
            Step::FirstRefusal => RequestKind::FirstRefusal,
            Step::Hold(_) => RequestKind::Hold,
            Step::NotBefore => RequestKind::NotBefore,
            Step::Resume => RequestKind::Resume,
            Step::Early | Step::Burst | Step::Slide => RequestKind::Within,
        }
    }

    /// A request index per probe, apart from the bursts' indices.
    pub fn probe_index(self, window: usize) -> usize {
        let ordinal = match self {
            Step::FirstRefusal => 0,
            Step::Hold(n) => 1 + n as usize,
            Step::NotBefore => 300,
            Step::Resume => 301,
            Step::Early | Step::Burst | Step::Slide => 302,
        };
        1_000_000 + window * 1_000 + ordinal
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Early => f.write_str("early half"),
            Step::Burst => f.write_str("burst"),
            Step::FirstRefusal => f.write_str("first refusal"),
            Step::Hold(n) => write!(f, "hold {}", n + 1),
            Step::NotBefore => f.write_str("not before"),
            Step::Resume => f.write_str("resume"),
            Step::Slide => f.write_str("slide"),
        }
    }
}

/// Where the attack stands. Ordered, by window and then by the step's place in the
/// window's schedule (`seq`: the probes are placed in time, so a hold may come after the
/// not-before probe): players wait until the phase passes the last one they took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Phase {
    Ready,
    Window { window: usize, seq: u16, step: Step },
    Finished,
}

impl Phase {
    pub fn at(window: usize, seq: u16, step: Step) -> Phase {
        Phase::Window { window, seq, step }
    }

    pub fn window(self) -> Option<usize> {
        match self {
            Phase::Window { window, .. } => Some(window),
            _ => None,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Ready => f.write_str("seating the goose users"),
            Phase::Window { window, step, .. } => write!(f, "window {}, {step}", window + 1),
            Phase::Finished => f.write_str("finished"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_order_by_window_then_schedule() {
        assert!(Phase::Ready < Phase::at(0, 0, Step::Early));
        // A hold placed after the not-before probe comes after it.
        assert!(Phase::at(0, 3, Step::NotBefore) < Phase::at(0, 4, Step::Hold(1)));
        assert!(Phase::at(0, 9, Step::Slide) < Phase::at(1, 0, Step::Early));
        assert!(Phase::at(7, 9, Step::Slide) < Phase::Finished);
    }

    #[test]
    fn phases_read_as_words() {
        assert_eq!(Phase::at(0, 1, Step::Burst).to_string(), "window 1, burst");
        assert_eq!(
            Phase::at(2, 3, Step::Hold(0)).to_string(),
            "window 3, hold 1"
        );
    }
}
