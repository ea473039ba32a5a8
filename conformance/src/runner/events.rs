//! The run's events and results, as every reporter reads them (nextest's
//! `reporter/events.rs`): a check's status and report, the events the runner emits while
//! it runs, and the whole run's report.

use std::collections::BTreeMap;

use profile::Level;
use serde::Serialize;

use super::plan::Plan;
use crate::outcome::{Seen, Support};
use crate::snapshot::SnapshotStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// The check could not reach a verdict (transport failure, timeout).
    Error,
    Skip,
    /// Failed, as the expected-deviations file says it will.
    ExpectedFail,
    /// Listed as an expected deviation, but passed: the file is out of date.
    UnexpectedPass,
    /// No verdict: the target stopped answering before the check finished (the run is
    /// INCOMPLETE, issue 23 item 1).
    Unfinished,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "FAIL",
            Status::Error => "ERROR",
            Status::Skip => "skip",
            Status::ExpectedFail => "expected-fail",
            Status::UnexpectedPass => "UNEXPECTED-PASS",
            Status::Unfinished => "unfinished",
        }
    }
    /// Whether this status makes a gating check non-conformant.
    pub fn is_bad(self) -> bool {
        matches!(self, Status::Fail | Status::Error | Status::UnexpectedPass)
    }
}

/// The result of one check, as every report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub id: String,
    pub clause: String,
    pub level: Level,
    pub area: String,
    pub title: String,
    pub status: Status,
    pub message: Option<String>,
    /// The support fields of the exchange the failure is about (seed 000).
    pub support: Option<Support>,
    pub snapshot: SnapshotStatus,
    pub duration_ms: u64,
    /// The redacted transcript.
    pub transcript: String,
    /// Requests sent per rate limit.
    pub usage: BTreeMap<String, u32>,
    /// Differences this check saw on its way that belong to other clauses: each is
    /// reported under the failing check of its clause, never as this check's failure
    /// (issue 18 item 4).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<Seen>,
    /// The clause of the difference this check could not go past (no token to go on
    /// with): it is an error naming that clause's checks, not a failure of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Event {
    Planned(Plan),
    Started {
        id: String,
    },
    Finished(Box<CheckReport>),
    /// Once a second while real-time waits are under way: what waits, seconds left.
    Waiting(Vec<(String, u64)>),
}

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub profile: String,
    pub target: String,
    pub driver: String,
    pub started_at: String,
    pub duration_ms: u64,
    pub gate: Vec<Level>,
    /// What a reader must know about the run as a whole (e.g. why snapshots were not
    /// compared); every report shows them.
    pub notes: Vec<String>,
    pub checks: Vec<CheckReport>,
    /// What checks saw on their way, each under the clause it belongs to and that
    /// clause's failing check: the roots the report leads with (issue 18 item 4).
    pub root_causes: Vec<RootCause>,
    /// Where and when the target stopped answering, for a run it ended early: the verdict
    /// is INCOMPLETE, whatever the checks reached (issue 23 item 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<Box<Incomplete>>,
}

impl RunReport {
    /// Counts by level and status.
    pub fn counts(&self, level: Level) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for c in self.checks.iter().filter(|c| c.level == level) {
            *m.entry(c.status.as_str()).or_insert(0) += 1;
        }
        m
    }
    /// Conformant: the run finished, and no gating check failed or errored. An
    /// INCOMPLETE run is neither conformant nor judged non-conformant ([`RunReport::incomplete`]).
    pub fn conformant(&self) -> bool {
        self.incomplete.is_none()
            && !self
                .checks
                .iter()
                .any(|c| self.gate.contains(&c.level) && c.status.is_bad())
    }
}

/// Where and when the target stopped answering, as every report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incomplete {
    /// UTC, RFC 3339: when the first request went unanswered.
    pub stopped_at: String,
    /// Milliseconds into the run at that moment.
    pub after_ms: u64,
    /// The check whose request went unanswered first, and that request.
    pub check: String,
    pub method: String,
    pub endpoint: String,
    /// What that request met (refused, reset, timed out).
    pub error: String,
    /// What the probe sent after it met.
    pub probe: String,
    /// Checks that reached a verdict before the stop (kept in every report).
    pub reached: usize,
    /// Checks the stop cut short or left unstarted (status `unfinished`).
    pub unfinished: usize,
}

impl Incomplete {
    /// The sentence every report leads with.
    pub fn sentence(&self) -> String {
        format!(
            "the target stopped answering {:.1} s into the run, at {}: {} {} in {} met no answer ({}), and a new connection a moment later met none either ({}); {} check{} reached a verdict before it (kept), {} did not finish",
            self.after_ms as f64 / 1000.0,
            self.stopped_at,
            self.method,
            self.endpoint,
            self.check,
            self.error,
            self.probe,
            self.reached,
            if self.reached == 1 { "" } else { "s" },
            self.unfinished
        )
    }
}

/// One difference's clause and every check it touched.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RootCause {
    /// The clause the difference belongs to (the one that names that member, header or
    /// status).
    pub clause: String,
    /// The checks of that clause that failed in this run: the root, first in report order.
    pub failing: Vec<String>,
    /// The checks that saw it on their way and were judged on their own clause.
    pub seen_in: Vec<String>,
    /// The checks that could not go on past it: errors naming the root, not failures.
    pub blocked: Vec<String>,
    /// What was seen first, with its support fields.
    pub first: Seen,
    /// Where no check of the clause ran: the command that judges it.
    pub run: Option<String>,
}

impl RootCause {
    /// The check the report points to: the first failing check of the clause.
    pub fn root(&self) -> Option<&str> {
        self.failing.first().map(String::as_str)
    }
}
