//! `report.md`: the verdict per level, a table per area, and for every failure the support
//! fields (ready for a ticket) and a readable diff for every snapshot mismatch.

use std::fmt::Write as _;

use profile::Level;

use crate::runner::{CheckReport, RunReport, Status};
use crate::snapshot::SnapshotStatus;

/// The failure block: message, support fields, snapshot diff.
pub fn failure_text(c: &CheckReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", c.message.as_deref().unwrap_or(""));
    if let Some(sup) = &c.support {
        let _ = writeln!(s, "\n{}", sup.ticket_text());
    }
    if let SnapshotStatus::Mismatched { diff, .. } = &c.snapshot {
        let _ = writeln!(s, "\n{diff}");
    }
    s
}

pub fn render(report: &RunReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Conformance report: {}\n", report.profile);
    let _ = writeln!(
        s,
        "- target: `{}`\n- approval driver: {}\n- started: {}\n- duration: {} ms",
        report.target, report.driver, report.started_at, report.duration_ms
    );
    let gate: Vec<&str> = report.gate.iter().map(|l| l.as_str()).collect();
    let _ = writeln!(
        s,
        "- gating levels: {}\n- verdict: **{}**\n",
        gate.join(", "),
        super::verdict(report)
    );
    for note in &report.notes {
        let _ = writeln!(s, "> **Note:** {note}\n");
    }
    let _ = writeln!(
        s,
        "| level | pass | fail | error | skip | expected-fail | unexpected-pass |\n|---|---|---|---|---|---|---|"
    );
    for level in Level::ALL {
        let [pass, fail, error, skip, expected, unexpected] = super::level_counts(report, level);
        let _ = writeln!(
            s,
            "| {level} | {pass} | {fail} | {error} | {skip} | {expected} | {unexpected} |"
        );
    }
    let mut areas: Vec<&str> = report.checks.iter().map(|c| c.area.as_str()).collect();
    areas.sort();
    areas.dedup();
    for area in areas {
        let _ = writeln!(
            s,
            "\n## {area}\n\n| check | level | result |\n|---|---|---|"
        );
        for c in report.checks.iter().filter(|c| c.area == area) {
            let _ = writeln!(s, "| `{}` | {} | {} |", c.id, c.level, c.status.as_str());
        }
    }
    let bad: Vec<&CheckReport> = report
        .checks
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                Status::Fail | Status::Error | Status::UnexpectedPass | Status::ExpectedFail
            )
        })
        .collect();
    if !bad.is_empty() {
        let _ = writeln!(s, "\n## Failures\n");
        for c in bad {
            let _ = writeln!(
                s,
                "### `{}` ({} {}, {})\n\n```\n{}```\n",
                c.id,
                c.level,
                c.clause,
                c.status.as_str(),
                failure_text(c)
            );
        }
    }
    let skipped: Vec<&CheckReport> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Skip)
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(s, "\n## Skipped\n");
        for c in skipped {
            let _ = writeln!(s, "- `{}`: {}", c.id, c.message.as_deref().unwrap_or(""));
        }
    }
    s
}
