//! Load scenarios that prove each documented rate limit (PP-RATE-1..4) under
//! concurrency: one goose attack per limit of the profile, from real keys (many loopback
//! source addresses, several clients, several users' tokens), and a verdict per limit,
//! key and window that says whether the limit holds exactly.
//!
//! - [`keys`]: which addresses, clients and tokens make each key.
//! - [`families`]: each family's request recipes (what each limited endpoint gets);
//!   [`traffic`]: a limit's requests, as the generic machinery sends them.
//! - [`window`]: the goose players and the conductor that walks them through windows.
//! - [`attack`]: the goose attack for one limit.
//! - [`observe`], [`verdict`]: what a response says, and whether a limit holds.
//! - [`report`]: the terminal table and `verdict.json`; [`progress`]: the progress line.
//! - [`setup`]: device codes and users' tokens a scenario needs.
//! - [`target`]: the server and its test controls; the clock between windows.
//! - [`run`]: a whole run; [`bench`]: the benchmark; [`cli`]: the command line.
//!
//! The crate meets the server only through HTTP and the profile: limits, paths, keys and
//! statuses come from the profile, never from literals.

pub mod attack;
pub mod bench;
pub mod cli;
pub mod families;
pub mod keys;
pub mod observe;
pub mod progress;
pub mod report;
pub mod run;
pub mod setup;
pub mod target;
pub mod traffic;
pub mod verdict;
pub mod window;

pub use run::{LoadError, LoadOptions, run};
pub use verdict::LimitVerdict;
