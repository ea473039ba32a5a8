//! The terminal: the plan before the run, a progress bar while it runs, then the summary
//! `report.md` leads with: counts per level and per area (errors apart from failures),
//! the failures grouped with their support fields, and the verdict line last.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Color, Style};
use indicatif::{ProgressBar, ProgressStyle};
use profile::Level;
use tabled::settings::Style as TableStyle;
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
                            format!(
                                "{what}: {} left",
                                crate::runner::plan::human_duration(*secs)
                            )
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
    error: usize,
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

const BAD: Style = Style::new()
    .fg_color(Some(Color::Ansi(AnsiColor::Red)))
    .bold();
const GOOD: Style = Style::new()
    .fg_color(Some(Color::Ansi(AnsiColor::Green)))
    .bold();
const EXPECTED: Style = Style::new().fg_color(Some(Color::Ansi(AnsiColor::Yellow)));

fn paint(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// The summary printed after the run: counts per level and per area, the failures
/// grouped, the notes, and the verdict line last. It carries ANSI colours; the CLI prints
/// it through `anstream`, which drops them when stdout is not a terminal or `NO_COLOR` is
/// set.
pub fn summary(report: &RunReport) -> String {
    let areas: Vec<AreaRow> = super::area_counts(report)
        .into_iter()
        .map(|a| AreaRow {
            area: a.area,
            pass: a.pass,
            fail: a.fail,
            error: a.error,
            skip: a.skip,
            clauses: a.clauses.join(" "),
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
    let _ = writeln!(s, "{}", Table::new(levels).with(TableStyle::rounded()));
    let _ = writeln!(s, "{}", Table::new(areas).with(TableStyle::rounded()));
    for group in super::failure_groups(report) {
        let c = group.first;
        let style = if c.status == Status::ExpectedFail {
            EXPECTED
        } else {
            BAD
        };
        let _ = writeln!(
            s,
            "\n{} {} ({})",
            paint(style, c.status.as_str()),
            c.id,
            super::failure_context(report, c)
        );
        if let Some(same) = super::same_failure_text(&group, "") {
            let _ = writeln!(s, "    {same}.");
        }
        for line in super::root_lines(report, c, "", 5) {
            let _ = writeln!(s, "    {line}.");
        }
        for line in super::markdown::failure_text(c).lines() {
            let _ = writeln!(s, "{}", format!("    {line}").trim_end());
        }
    }
    for note in report.notes.iter().chain(&super::unjudged_notes(report)) {
        let _ = writeln!(s, "\nnote: {note}");
    }
    for line in super::incomplete_lines(report, 10) {
        let _ = writeln!(s, "\n{}", paint(BAD, &line));
    }
    let verdict = super::verdict_line(report);
    let _ = writeln!(
        s,
        "\n{}",
        paint(if report.conformant() { GOOD } else { BAD }, &verdict)
    );
    s
}
