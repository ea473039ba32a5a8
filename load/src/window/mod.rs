//! One limit's attack, window by window: the goose users (the players), what they share,
//! and the conductor that moves them through each window's steps, for every key at once.
//!
//! A window of `W` seconds for a limit of `N` starts empty and is asked, per key
//! (PP-RATE-1, PP-RATE-3):
//!
//! 1. **Early half**: `N/2` requests at once; all must be admitted.
//! 2. **Burst**, `W/3` later: the rest of the limit and `extra` beyond it.
//! 3. **First refusal**: one request, refused; its Retry-After is `r`.
//! 4. **Holds**: one request now and then until the early half leaves the window,
//!    whatever `r` said: a limiter that refills during the window admits some.
//! 5. **Not before**: at `r - 1.5 s`, one request, still refused.
//! 6. **Resume**: once `r` has passed and the early half is out, one request, admitted.
//! 7. **Slide**: at once, the places the early half freed and `extra` beyond them. A
//!    sliding window admits exactly those; a fixed window starts afresh and admits more.
//!
//! Then every admission leaves the window before the next one starts. The verdict
//! ([`crate::verdict`]) judges from when each request was sent and answered.
//!
//! - [`phase`]: the steps and where the attack stands.
//! - [`burst`]: a key's share of a burst step.
//! - [`state`]: what players and conductor share; the timeline.
//! - [`players`]: the goose transactions.
//! - [`conductor`]: the schedule.

mod burst;
mod conductor;
mod phase;
mod players;
mod state;

pub use conductor::{ConductorLog, WindowLog, conduct};
pub use phase::{Phase, Step};
pub use players::{play_window, take_seat};
pub use state::{AttackSetup, AttackState, Observation};
