//! Load scenarios (issue 4).
