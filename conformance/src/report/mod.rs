//! Reports: each reads the run's events or its final [`RunReport`](crate::runner::RunReport).
//! The terminal shows progress and a summary; files go under `reports/<run>/`. This module
//! owns what every report says alike: the verdict line, the counts per level and per area,
//! and the failures grouped, so the terminal, `report.md` and `report.html` lead with the
//! same summary. It must not decide a verdict itself: `RunReport::conformant` does.

pub mod explain;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::path::{Path, PathBuf};

use profile::Level;

use crate::runner::{CheckReport, RunReport, Status};
use crate::snapshot::SnapshotStatus;

pub use explain::Explain;

/// The run's verdict as the Markdown and HTML reports word it.
pub fn verdict(report: &RunReport) -> &'static str {
    if report.incomplete.is_some() {
        "INCOMPLETE"
    } else if report.conformant() {
        "conformant"
    } else {
        "NOT conformant"
    }
}

/// The lowest gating level, as the verdict names it (`at MUST` gates MUST only).
fn gate_name(report: &RunReport) -> &'static str {
    report
        .gate
        .iter()
        .max_by_key(|l| Level::ALL.iter().position(|x| x == *l))
        .map_or("no level", |l| l.as_str())
}

/// How many ids a verdict line names before "and N more".
const IDS_IN_VERDICT: usize = 3;

/// The verdict in one line, the last one the terminal prints: the gate, then every level's
/// failures and errors, gating or not, so a SHOULD failure under `--level must` is never
/// silent (`CONFORMANT at MUST; 1 SHOULD check failed: PP-AUTHZ-8/...`). "at MUST" says
/// which levels gate, so a level's failures need no "(not gating)".
pub fn verdict_line(report: &RunReport) -> String {
    let mut line = match &report.incomplete {
        // No verdict on the deployment: what was reached before the stop follows.
        Some(stop) => format!(
            "INCOMPLETE (no verdict at {}): {}",
            gate_name(report),
            stop.sentence()
        ),
        None => format!(
            "{} at {}",
            if report.conformant() {
                "CONFORMANT"
            } else {
                "NOT CONFORMANT"
            },
            gate_name(report)
        ),
    };
    // A check that could not go on past another clause's difference is counted apart
    // from the errors: the failure it depends on is named first (issue 18 item 4).
    type Pick = fn(&CheckReport) -> bool;
    let kinds: [(&str, Pick); 4] = [
        ("failed", |c| c.status == Status::Fail),
        ("errored", |c| {
            c.status == Status::Error && c.blocked_by.is_none()
        }),
        ("not judged because of a failure above", |c| {
            c.status == Status::Error && c.blocked_by.is_some()
        }),
        ("passed but is listed as an expected deviation", |c| {
            c.status == Status::UnexpectedPass
        }),
    ];
    for level in Level::ALL {
        for (what, pick) in kinds {
            let ids: Vec<&str> = report
                .checks
                .iter()
                .filter(|c| c.level == level && pick(c))
                .map(|c| c.id.as_str())
                .collect();
            if ids.is_empty() {
                continue;
            }
            let mut named = ids[..ids.len().min(IDS_IN_VERDICT)].join(", ");
            if ids.len() > IDS_IN_VERDICT {
                named.push_str(&format!(" and {} more", ids.len() - IDS_IN_VERDICT));
            }
            line.push_str(&format!(
                "; {n} {level} check{s} {what}: {named}",
                n = ids.len(),
                s = if ids.len() == 1 { "" } else { "s" },
            ));
        }
    }
    let skipped = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Skip)
        .count();
    let unfinished = match report.incomplete {
        Some(_) => format!(
            ", {} unfinished",
            report
                .checks
                .iter()
                .filter(|c| c.status == Status::Unfinished)
                .count()
        ),
        None => String::new(),
    };
    line.push_str(&format!(
        ". {} checks ({} skipped{unfinished}) in {} ms against {}",
        report.checks.len(),
        skipped,
        report.duration_ms,
        report.target
    ));
    line
}

/// What an INCOMPLETE run's reports lead with (issue 23 item 1): where and when the
/// target stopped answering, and the checks it left unfinished (at most `max_ids` named,
/// the rest counted). Empty for a run that finished.
pub fn incomplete_lines(report: &RunReport, max_ids: usize) -> Vec<String> {
    let Some(stop) = &report.incomplete else {
        return Vec::new();
    };
    let unfinished: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Unfinished)
        .map(|c| c.id.as_str())
        .collect();
    let mut named = unfinished
        .iter()
        .take(max_ids)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if unfinished.len() > max_ids {
        named.push_str(&format!(" and {} more", unfinished.len() - max_ids));
    }
    vec![
        format!(
            "INCOMPLETE: {}. The verdicts reached before the stop are kept in this report; the run is no verdict on the deployment (exit 2): rerun once the target answers again",
            stop.sentence()
        ),
        format!("Unfinished ({}): {named}", unfinished.len()),
    ]
}

/// One row of the per-level summary table: how many checks of `level` passed, failed,
/// errored, were skipped, failed as expected and passed unexpectedly, in that order (the
/// order of the table's headings).
pub fn level_counts(report: &RunReport, level: Level) -> [usize; 6] {
    let c = report.counts(level);
    [
        "pass",
        "FAIL",
        "ERROR",
        "skip",
        "expected-fail",
        "UNEXPECTED-PASS",
    ]
    .map(|k| c.get(k).copied().unwrap_or(0))
}

/// Whether `level` gates this run, as the per-level tables say it.
pub fn gates_word(report: &RunReport, level: Level) -> &'static str {
    if report.gate.contains(&level) {
        "yes"
    } else {
        "no"
    }
}

/// The per-area summary: errors (no verdict reached) are counted apart from failures (the
/// target departs from the contract), and the clauses behind either are named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaCounts {
    pub area: String,
    /// Passed, or failed as the expected-deviations file says.
    pub pass: usize,
    /// Failed, or passed although listed as an expected deviation.
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    /// The clauses of the failing and erroring checks, each once.
    pub clauses: Vec<String>,
}

/// The areas in name order, with their counts.
pub fn area_counts(report: &RunReport) -> Vec<AreaCounts> {
    let mut areas: Vec<&str> = report.checks.iter().map(|c| c.area.as_str()).collect();
    areas.sort();
    areas.dedup();
    areas
        .into_iter()
        .map(|area| {
            let checks: Vec<&CheckReport> =
                report.checks.iter().filter(|c| c.area == area).collect();
            let count = |f: &dyn Fn(Status) -> bool| checks.iter().filter(|c| f(c.status)).count();
            let mut clauses: Vec<String> = checks
                .iter()
                .filter(|c| c.status.is_bad())
                .map(|c| c.clause.clone())
                .collect();
            clauses.sort();
            clauses.dedup();
            AreaCounts {
                area: area.to_owned(),
                pass: count(&|s| matches!(s, Status::Pass | Status::ExpectedFail)),
                fail: count(&|s| matches!(s, Status::Fail | Status::UnexpectedPass)),
                error: count(&|s| s == Status::Error),
                skip: count(&|s| s == Status::Skip),
                clauses,
            }
        })
        .collect()
}

/// Failures that say the same thing: the first check in full, the others by id. Against a
/// target that answers every request with the same page, one body instead of fifty.
#[derive(Debug)]
pub struct FailureGroup<'a> {
    pub first: &'a CheckReport,
    pub same: Vec<&'a CheckReport>,
}

impl FailureGroup<'_> {
    pub fn all(&self) -> impl Iterator<Item = &CheckReport> {
        std::iter::once(self.first).chain(self.same.iter().copied())
    }
}

/// What makes two failures identical: status, message, the answer's status and body, and
/// the snapshot diff. Request ids, times and endpoints differ between any two checks.
fn sameness_key(c: &CheckReport) -> (Status, &str, u16, &str, &str) {
    let diff = match &c.snapshot {
        SnapshotStatus::Mismatched { diff, .. } => diff.as_str(),
        _ => "",
    };
    (
        c.status,
        c.message.as_deref().unwrap_or(""),
        c.support.as_ref().map_or(0, |s| s.status),
        c.support.as_ref().map_or("", |s| s.body.as_str()),
        diff,
    )
}

/// Failures, errors, unexpected passes and expected failures, grouped when identical, in
/// the order a reader needs them: gating problems first, then those reported but not
/// gating, then the checks not judged because of a failure (they name it), then expected
/// failures; by id within each. The report leads with the roots.
pub fn failure_groups(report: &RunReport) -> Vec<FailureGroup<'_>> {
    let rank = |c: &CheckReport| match (c.status, report.gate.contains(&c.level)) {
        (Status::ExpectedFail, _) => 3,
        _ if c.blocked_by.is_some() => 2,
        (_, true) => 0,
        (_, false) => 1,
    };
    let mut bad: Vec<&CheckReport> = report
        .checks
        .iter()
        .filter(|c| c.status.is_bad() || c.status == Status::ExpectedFail)
        .collect();
    bad.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.id.cmp(&b.id)));
    let mut groups: Vec<FailureGroup> = Vec::new();
    for c in bad {
        match groups
            .iter_mut()
            .find(|g| rank(g.first) == rank(c) && sameness_key(g.first) == sameness_key(c))
        {
            Some(g) => g.same.push(c),
            None => groups.push(FailureGroup {
                first: c,
                same: Vec::new(),
            }),
        }
    }
    groups
}

/// What a failure's heading says after its id: level, clause, and whether it gates.
pub fn failure_context(report: &RunReport, c: &CheckReport) -> String {
    let gating = match c.status {
        Status::ExpectedFail => "expected",
        _ if report.gate.contains(&c.level) => "gating",
        _ => "not gating",
    };
    format!("{} {}, {gating}", c.level, c.clause)
}

/// What a failure's explanation says in plain text (Markdown and JUnit): what the check
/// asserts, its clause's text and where to read it, and the command that reruns it.
pub fn explanation_lines(c: &CheckReport, explain: &Explain) -> Vec<String> {
    let mut lines = Vec::new();
    if !c.title.is_empty() {
        lines.push(format!("Asserts: {}", c.title));
    }
    match explain.clause_text(&c.clause) {
        Some(text) => lines.push(format!("{} ({}): {text}", c.clause, c.level)),
        None => lines.push(format!("{} ({})", c.clause, c.level)),
    }
    lines.push(format!("Contract: {}", explain.clause_link(&c.clause)));
    if let Some(cmd) = explain.rerun(&c.id) {
        lines.push(format!("Rerun alone: {cmd}"));
    }
    lines
}

/// What a root failure says about the checks that met the same difference on their way
/// (issue 18 item 4): where it was seen too, and which checks could not be judged
/// because of it. Empty for a check that is no root.
/// At most `max_ids` ids are named (the rest counted), where a screen is short.
pub fn root_lines(report: &RunReport, c: &CheckReport, quote: &str, max_ids: usize) -> Vec<String> {
    let Some(cause) = crate::runner::roots::rooted_at(&report.root_causes, &c.id) else {
        return Vec::new();
    };
    let ids = |list: &[String]| {
        let mut named = list
            .iter()
            .take(max_ids)
            .map(|id| format!("{quote}{id}{quote}"))
            .collect::<Vec<_>>()
            .join(", ");
        if list.len() > max_ids {
            named.push_str(&format!(" and {} more", list.len() - max_ids));
        }
        named
    };
    let mut lines = Vec::new();
    if !cause.seen_in.is_empty() {
        lines.push(format!(
            "Seen there too ({} check{} met this {} difference on their way and were judged on their own clause): {}",
            cause.seen_in.len(),
            if cause.seen_in.len() == 1 { "" } else { "s" },
            cause.clause,
            ids(&cause.seen_in)
        ));
    }
    if !cause.blocked.is_empty() {
        lines.push(format!(
            "Not judged because of it ({} check{} could not go on past it): {}",
            cause.blocked.len(),
            if cause.blocked.len() == 1 { "" } else { "s" },
            ids(&cause.blocked)
        ));
    }
    lines
}

/// The run's notes on differences seen in passing whose clause no check of this run
/// judged: each with the command that does.
pub fn unjudged_notes(report: &RunReport) -> Vec<String> {
    report
        .root_causes
        .iter()
        .filter_map(|cause| {
            let cmd = cause.run.as_ref()?;
            let mut seen: Vec<&String> = cause.seen_in.iter().chain(&cause.blocked).collect();
            seen.dedup();
            Some(format!(
                "a {} difference was seen on the way of {} check{} ({}): {}; no {} check ran here: judge it with `{cmd}`",
                cause.clause,
                seen.len(),
                if seen.len() == 1 { "" } else { "s" },
                seen.iter().take(IDS_IN_VERDICT).map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                cause.first.message,
                cause.clause
            ))
        })
        .collect()
}

/// The line under a group's first failure that names the others, if there are any.
pub fn same_failure_text(group: &FailureGroup, quote: &str) -> Option<String> {
    if group.same.is_empty() {
        return None;
    }
    let ids: Vec<String> = group
        .same
        .iter()
        .map(|c| format!("{quote}{}{quote}", c.id))
        .collect();
    Some(format!(
        "The same failure (message, status, body) in {} other check{}: {}",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        ids.join(", ")
    ))
}

/// The version of `report.json`'s shape (`docs/report.schema.json`). It changes when a
/// member is removed, renamed or changes type, or a closed list (`status`) gains a value;
/// new members do not change it. 2: the INCOMPLETE run and its `unfinished` status.
pub const REPORT_SCHEMA_VERSION: u32 = 2;

/// Writes junit.xml, report.json, report.md and report.html into `dir`; `explain` says
/// what each failed check asserts, its clause and how to rerun it.
pub fn write_all(
    report: &RunReport,
    explain: &Explain,
    dir: &Path,
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let files = [
        ("junit.xml", junit::render(report, explain)),
        ("report.json", json::render(report)),
        ("report.md", markdown::render(report, explain)),
        ("report.html", html::render(report, explain)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text)?;
        written.push(p);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Support;

    fn check(id: &str, level: Level, status: Status, body: &str) -> CheckReport {
        CheckReport {
            id: id.into(),
            clause: id.split('/').next().unwrap_or(id).into(),
            level,
            area: "authz".into(),
            title: String::new(),
            status,
            message: (status != Status::Pass).then(|| "expected 400, got 200".into()),
            support: (status != Status::Pass).then(|| Support {
                request_id: Some(format!("req-{id}")),
                timestamp: "2026-11-25T12:00:00.000Z".into(),
                method: "POST".into(),
                endpoint: "/token".into(),
                status: 200,
                client_id: None,
                body: body.into(),
            }),
            snapshot: SnapshotStatus::NotCompared,
            duration_ms: 1,
            transcript: String::new(),
            usage: Default::default(),
            seen: Vec::new(),
            blocked_by: None,
        }
    }

    fn run(gate: Vec<Level>, checks: Vec<CheckReport>) -> RunReport {
        RunReport {
            profile: "punchplay".into(),
            target: "http://127.0.0.1:1/".into(),
            driver: "test-controls".into(),
            started_at: "2026-11-25T12:00:00Z".into(),
            duration_ms: 5,
            gate,
            notes: Vec::new(),
            checks,
            root_causes: Vec::new(),
            incomplete: None,
        }
    }

    #[test]
    fn a_failure_below_the_gate_is_named_on_the_verdict_line() {
        let r = run(
            vec![Level::Must],
            vec![
                check("PP-A-1/ok", Level::Must, Status::Pass, ""),
                check("PP-AUTHZ-8/reuse", Level::Should, Status::Fail, "{}"),
            ],
        );
        let line = verdict_line(&r);
        assert!(
            line.starts_with("CONFORMANT at MUST; 1 SHOULD check failed: PP-AUTHZ-8/reuse."),
            "{line}"
        );
        let gated = run(vec![Level::Must, Level::Should], r.checks.clone());
        assert!(
            verdict_line(&gated)
                .starts_with("NOT CONFORMANT at SHOULD; 1 SHOULD check failed: PP-AUTHZ-8/reuse."),
            "{}",
            verdict_line(&gated)
        );
    }

    #[test]
    fn identical_failures_are_grouped_and_different_ones_are_not() {
        let r = run(
            vec![Level::Must],
            vec![
                check("PP-A-1/x", Level::Must, Status::Fail, "<html>same</html>"),
                check("PP-A-2/y", Level::Must, Status::Fail, "<html>same</html>"),
                check("PP-A-3/z", Level::Must, Status::Fail, "{\"error\":1}"),
                check("PP-A-4/w", Level::Should, Status::Fail, "<html>same</html>"),
            ],
        );
        let groups = failure_groups(&r);
        let ids: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.all().map(|c| c.id.as_str()).collect())
            .collect();
        assert_eq!(
            ids,
            vec![
                vec!["PP-A-1/x", "PP-A-2/y"],
                vec!["PP-A-3/z"],
                vec!["PP-A-4/w"]
            ],
            "gating first; the non-gating twin stays apart"
        );
    }

    #[test]
    fn areas_count_errors_apart_from_failures() {
        let r = run(
            vec![Level::Must],
            vec![
                check("PP-A-1/x", Level::Must, Status::Fail, ""),
                check("PP-B-1/y", Level::Must, Status::Error, ""),
                check("PP-C-1/z", Level::Must, Status::Pass, ""),
            ],
        );
        let a = &area_counts(&r)[0];
        assert_eq!((a.pass, a.fail, a.error, a.skip), (1, 1, 1, 0));
        assert_eq!(a.clauses, vec!["PP-A-1", "PP-B-1"]);
    }
}
