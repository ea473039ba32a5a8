//! What a window's checks find: failures, and what is only noted.

use super::Clauses;

/// What a window's checks found: failures, and what is only noted. A DECIDED clause
/// fails only when `strict` (against the reference server); against a deployment it is
/// informational (CONTRACT.md, "Levels").
pub(super) struct Findings {
    pub(super) clauses: Clauses,
    strict: bool,
    pub(super) problems: Vec<String>,
    pub(super) notes: Vec<String>,
}

impl Findings {
    pub(super) fn new(clauses: Clauses, strict: bool) -> Findings {
        Findings {
            clauses,
            strict,
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(super) fn must(&mut self, clause: &str, text: String) {
        self.problems.push(format!("{clause}: {text}"));
    }

    pub(super) fn decided(&mut self, clause: &str, text: String) {
        if self.strict {
            self.problems.push(format!("{clause}: {text}"));
        } else {
            self.notes.push(format!(
                "{clause} (DECIDED, informational against a deployment): {text}"
            ));
        }
    }

    pub(super) fn note(&mut self, text: String) {
        self.notes.push(text);
    }
}

/// Seconds, for messages: `2.31 s`.
pub(super) fn secs(x: f64) -> String {
    format!("{x:.2} s")
}
