//! Reference server (issue 2).
