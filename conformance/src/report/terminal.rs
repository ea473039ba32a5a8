//! The terminal: the plan before the run, a progress bar while it runs, and a table
//! grouped by area with pass, fail and skip counts and clause ids, then every failure
//! with its support fields.

use std::fmt::Write as _;

use indicatif::{ProgressBar, ProgressStyle};
use profile::Level;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::runner::{Event, RunReport, Status};

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(enabled: bool) -> Progress {
        Progress {
            bar: enabled.then(ProgressBar::hidden),
        }
    }

    pub fn event(&mut self, ev: &Event) {
        match ev {
            Event::Planned(plan) => {
                eprintln!(
                    "{} checks; expected duration about {:.1} s",
                    plan.checks, plan.expected_secs
                );
                for n in &plan.notes {
                    eprintln!("  note: {n}");
                }
                if let Some(bar) = &mut self.bar {
                    *bar = ProgressBar::new(plan.checks as u64);
                    bar.set_style(
                        ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                }
            }
            Event::Started { id } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(id.clone());
                }
            }
            // The plan's waits count down as they pass (issue 13 item 4).
            Event::Waiting(waits) => {
                if let Some(bar) = &self.bar {
                    let left: Vec<String> = waits
                        .iter()
                        .map(|(what, secs)| {
                            format!("{what}: {} left", crate::runner::human_duration(*secs))
                        })
                        .collect();
                    bar.set_message(format!("waiting, {}", left.join("; ")));
                }
            }
            Event::Finished(r) => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                    if matches!(
                        r.status,
                        Status::Fail | Status::Error | Status::UnexpectedPass
                    ) {
                        bar.println(format!("{:>15}  {}", r.status.as_str(), r.id));
                    }
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[derive(Tabled)]
struct AreaRow {
    area: String,
    pass: usize,
    fail: usize,
    skip: usize,
    #[tabled(rename = "failing clauses")]
    clauses: String,
}

#[derive(Tabled)]
struct LevelRow {
    level: String,
    pass: usize,
    fail: usize,
    error: usize,
    skip: usize,
    #[tabled(rename = "expected")]
    expected: usize,
    gates: String,
}

/// The summary printed after the run.
pub fn summary(report: &RunReport) -> String {
    let mut areas: Vec<&str> = report.checks.iter().map(|c| c.area.as_str()).collect();
    areas.sort();
    areas.dedup();
    let rows: Vec<AreaRow> = areas
        .iter()
        .map(|a| {
            let cs: Vec<_> = report.checks.iter().filter(|c| c.area == *a).collect();
            let mut clauses: Vec<&str> = cs
                .iter()
                .filter(|c| c.status.is_bad())
                .map(|c| c.clause.as_str())
                .collect();
            clauses.dedup();
            AreaRow {
                area: (*a).to_owned(),
                pass: cs
                    .iter()
                    .filter(|c| matches!(c.status, Status::Pass | Status::ExpectedFail))
                    .count(),
                fail: cs.iter().filter(|c| c.status.is_bad()).count(),
                skip: cs.iter().filter(|c| c.status == Status::Skip).count(),
                clauses: clauses.join(" "),
            }
        })
        .collect();
    let levels: Vec<LevelRow> = Level::ALL
        .iter()
        .map(|l| {
            let [pass, fail, error, skip, expected, unexpected] = super::level_counts(report, *l);
            LevelRow {
                level: l.to_string(),
                pass,
                fail: fail + unexpected,
                error,
                skip,
                expected,
                gates: if report.gate.contains(l) {
                    "yes".into()
                } else {
                    "no (reported)".into()
                },
            }
        })
        .collect();
    let mut s = String::new();
    let _ = writeln!(s, "{}", Table::new(rows).with(Style::rounded()));
    let _ = writeln!(s, "{}", Table::new(levels).with(Style::rounded()));
    for c in report.checks.iter().filter(|c| c.status.is_bad()) {
        let _ = writeln!(
            s,
            "\n{} {} ({} {})",
            c.status.as_str(),
            c.id,
            c.level,
            c.clause
        );
        for line in super::markdown::failure_text(c).lines() {
            let _ = writeln!(s, "    {line}");
        }
    }
    for note in &report.notes {
        let _ = writeln!(s, "\nnote: {note}");
    }
    let _ = writeln!(
        s,
        "\n{}: {} checks in {} ms against {}",
        if report.conformant() {
            "CONFORMANT"
        } else {
            "NOT CONFORMANT"
        },
        report.checks.len(),
        report.duration_ms,
        report.target
    );
    s
}
