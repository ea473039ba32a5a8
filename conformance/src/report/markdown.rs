//! `report.md`: the same summary the terminal ends with (verdict line, counts per level
//! and per area), then the failures grouped, each with its support fields (ready for a
//! ticket) and a diff for a snapshot mismatch, then the skips and every check by area.

use std::fmt::Write as _;

use profile::Level;

use crate::runner::{CheckReport, RunReport, Status};
use crate::snapshot::SnapshotStatus;

use super::Explain;
use super::explain::fold_opaque;

/// The message and the support fields: what goes into a ticket as is (long opaque
/// values folded).
fn ticket_block(c: &CheckReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", fold_opaque(c.message.as_deref().unwrap_or("")));
    if let Some(sup) = &c.support {
        let _ = writeln!(s, "\n{}", fold_opaque(&sup.ticket_text()));
    }
    s
}

/// The failure block: message, support fields, snapshot diff.
pub fn failure_text(c: &CheckReport) -> String {
    let mut s = ticket_block(c);
    if let SnapshotStatus::Mismatched { diff, .. } = &c.snapshot {
        let _ = writeln!(s, "\n{diff}");
    }
    s
}

/// The failure block with what the check asserts, its clause and the rerun command first,
/// and, for a root, where else its difference was seen.
pub fn explained_failure_text(report: &RunReport, c: &CheckReport, explain: &Explain) -> String {
    let mut s = super::explanation_lines(c, explain).join("\n");
    s.push_str("\n\n");
    for line in super::root_lines(report, c, "", usize::MAX) {
        let _ = writeln!(s, "{line}.\n");
    }
    s.push_str(&ticket_block(c));
    if let SnapshotStatus::Mismatched { diff, .. } = &c.snapshot {
        let _ = writeln!(s, "\n{diff}");
    }
    s
}

pub fn render(report: &RunReport, explain: &Explain) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Conformance report: {}\n", report.profile);
    let _ = writeln!(s, "**{}**\n", super::verdict_line(report));
    let gate: Vec<&str> = report.gate.iter().map(|l| l.as_str()).collect();
    let _ = writeln!(
        s,
        "- target: `{}`\n- approval driver: {}\n- started: {}\n- duration: {} ms\n- gating levels: {}\n- verdict: **{}**\n",
        report.target,
        report.driver,
        report.started_at,
        report.duration_ms,
        gate.join(", "),
        super::verdict(report)
    );
    for line in super::incomplete_lines(report, usize::MAX) {
        let _ = writeln!(s, "> **{line}**\n");
    }
    for note in report.notes.iter().chain(&super::unjudged_notes(report)) {
        let _ = writeln!(s, "> **Note:** {note}\n");
    }
    let _ = writeln!(
        s,
        "| level | gates | pass | fail | error | skip | expected-fail | unexpected-pass |\n|---|---|---|---|---|---|---|---|"
    );
    for level in Level::ALL {
        let [pass, fail, error, skip, expected, unexpected] = super::level_counts(report, level);
        let gates = super::gates_word(report, level);
        let _ = writeln!(
            s,
            "| {level} | {gates} | {pass} | {fail} | {error} | {skip} | {expected} | {unexpected} |"
        );
    }
    let _ = writeln!(
        s,
        "\n| area | pass | fail | error | skip | failing clauses |\n|---|---|---|---|---|---|"
    );
    for a in super::area_counts(report) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            a.area,
            a.pass,
            a.fail,
            a.error,
            a.skip,
            a.clauses.join(" ")
        );
    }
    let groups = super::failure_groups(report);
    if !groups.is_empty() {
        let _ = writeln!(s, "\n## Failures and errors\n");
        for g in &groups {
            let c = g.first;
            let _ = writeln!(
                s,
                "### `{}` ({}, {})\n",
                c.id,
                c.status.as_str(),
                super::failure_context(report, c)
            );
            for line in super::explanation_lines(c, explain) {
                let line = match line.strip_prefix("Rerun alone: ") {
                    Some(cmd) => format!("Rerun alone: `{cmd}`"),
                    None => line,
                };
                let _ = writeln!(s, "- {line}");
            }
            s.push('\n');
            if let Some(same) = super::same_failure_text(g, "`") {
                let _ = writeln!(s, "{same}.\n");
            }
            for line in super::root_lines(report, c, "`", usize::MAX) {
                let _ = writeln!(s, "{line}.\n");
            }
            // Message and support as one block to paste; the diff as `diff` so that
            // GitHub and most viewers colour it.
            let _ = writeln!(s, "```\n{}```\n", ticket_block(c));
            if let SnapshotStatus::Mismatched { diff, .. } = &c.snapshot {
                let _ = writeln!(s, "```diff\n{}\n```\n", diff.trim_end());
            }
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
    let _ = writeln!(s, "\n## Checks by area");
    for a in super::area_counts(report) {
        let _ = writeln!(
            s,
            "\n<details><summary>{} ({} pass, {} fail, {} error, {} skip)</summary>\n\n| check | level | result |\n|---|---|---|",
            a.area, a.pass, a.fail, a.error, a.skip
        );
        for c in report.checks.iter().filter(|c| c.area == a.area) {
            let _ = writeln!(s, "| `{}` | {} | {} |", c.id, c.level, c.status.as_str());
        }
        let _ = writeln!(s, "\n</details>");
    }
    s
}
