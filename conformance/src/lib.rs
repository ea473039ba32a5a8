//! The conformance suite (punchplay, enterprise): checks any deployment against `CONTRACT.md`, clause by
//! clause, and gates on committed spec snapshots.
//!
//! Layout: [`client`] (the one HTTP wrapper) records [`transcript`]s; [`redact`] makes them
//! stable and [`snapshot`] compares them with `fixtures/snapshots/`; [`check`] defines a
//! check and its context, [`checks`] holds one file per contract area, [`flows`] the OAuth
//! steps they share and [`drivers`] the ways a user approves; [`runner`] plans and runs
//! them and emits events that the [`report`] writers consume; [`expected`] reads the
//! expected-deviations file; [`cli`] is the command line.

pub mod approval;
pub mod check;
pub mod checks;
pub mod cli;
pub mod client;
pub mod drivers;
pub mod expected;
pub mod flows;
pub mod outcome;
pub mod preflight;
pub mod redact;
pub mod report;
pub mod runner;
pub mod snapshot;
pub mod transcript;
