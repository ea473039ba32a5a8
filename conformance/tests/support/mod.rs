//! Test support shared by the suite's integration tests. Each test file that needs it says
//! `mod support;`; not every file uses every piece.
#![allow(dead_code)]

pub mod deployment;
pub mod flexslot;
pub mod gateway;
pub mod suite;
