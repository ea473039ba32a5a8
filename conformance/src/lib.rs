//! Conformance checks (issue 3).
