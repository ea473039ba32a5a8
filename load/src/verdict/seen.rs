//! One key's requests in one window, sorted the ways the checks read them.

use super::RunFacts;
use crate::window::{Observation, Step, WindowLog};

/// One key's requests in one window, sorted the ways the checks read them.
pub(super) struct Seen<'a> {
    pub(super) facts: &'a RunFacts,
    pub(super) wlog: &'a WindowLog,
    /// Every request of the key in the window.
    pub(super) mine: &'a [&'a Observation],
    /// Every request of the key, in any window.
    pub(super) of_key: &'a [&'a Observation],
    /// Those that count against the key (PP-RATE-4: not those failing authentication).
    pub(super) counted: Vec<&'a Observation>,
    /// Those counted and admitted.
    pub(super) admitted: Vec<&'a Observation>,
    /// When the window's first counted request was sent.
    pub(super) first_sent: Option<f64>,
    /// When its first admission was answered.
    pub(super) first_answered_admission: Option<f64>,
    /// The window's length in seconds.
    pub(super) w: f64,
}

impl<'a> Seen<'a> {
    /// The window's request of a probe step.
    pub(super) fn find(&self, step: Step) -> Option<&'a Observation> {
        self.mine.iter().copied().find(|o| o.step == step)
    }
}
