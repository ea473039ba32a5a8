//! The conformance suite (punchplay, enterprise, flexslot): checks any deployment against
//! `CONTRACT.md`, clause by clause, and gates on committed spec snapshots.
//!
//! Layout: [`client`] (the one HTTP wrapper) records [`transcript`]s; [`redact`] makes them
//! stable and [`snapshot`] compares them with `fixtures/snapshots/`; [`check`] defines a
//! check, [`ctx`] the context it runs in and [`env`] what a run shares; a family's
//! [`dialect`] says how its exchanges read, [`free`] what its contract leaves to the
//! server, and [`family`] what else it gives the suite; [`passing`] says which clause a
//! difference a check sees on its way belongs to;
//! [`kit`] holds the steps every family's checks are built from (flows, rate, time,
//! races) and [`drivers`] the ways a user approves; [`checks`] holds one folder per
//! family and the registry; [`runner`] plans and runs them and emits events that the
//! [`report`] writers consume; [`expected`] reads the expected-deviations file; [`cli`]
//! is the command line.

pub mod approval;
pub mod check;
pub mod checks;
pub mod cli;
pub mod client;
pub mod ctx;
pub mod dialect;
pub mod drivers;
pub mod env;
pub mod expected;
pub mod family;
pub mod free;
pub mod kit;
pub mod outcome;
pub mod passing;
pub mod preflight;
pub mod redact;
pub mod report;
pub mod runner;
pub mod snapshot;
pub mod transcript;
