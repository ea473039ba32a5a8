//! The verdict as people and programs read it: a table in the terminal (tabled) and
//! `verdict.json`. goose writes its own HTML, JSON and Markdown reports per limit.

use std::path::Path;

use serde::Serialize;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::observe::Outcome;
use crate::verdict::{ClockMode, KeyVerdict, LimitVerdict};

/// Everything one run found, as written to `verdict.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub target: String,
    /// Whether the target is the in-process reference server.
    pub in_process: bool,
    pub clock: ClockMode,
    pub started_at: String,
    pub wall_secs: f64,
    /// Every limit holds.
    pub holds: bool,
    pub limits: Vec<LimitVerdict>,
}

#[derive(Tabled)]
struct Row {
    limit: String,
    key: String,
    #[tabled(rename = "admitted(+carried)/limit per window")]
    admitted: String,
    refusals: String,
    #[tabled(rename = "not before")]
    not_before: String,
    resumes: String,
    #[tabled(rename = "5xx/transport")]
    errors: String,
    holds: String,
}

fn row(limit: &LimitVerdict, key: &KeyVerdict) -> Row {
    let w = &key.windows;
    // Each window: admitted in the burst (+ the resumed request carried in from the
    // previous window) / the limit.
    let admitted = w
        .iter()
        .map(|w| match limit.max.saturating_sub(w.room) {
            0 => format!("{}/{}", w.admitted, limit.max),
            carried => format!("{}+{carried}/{}", w.admitted, limit.max),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let refusals: u32 = w.iter().map(|w| w.refused).sum();
    let malformed = w
        .iter()
        .flat_map(|w| &w.problems)
        .filter(|p| p.contains("refusal(s) with"))
        .count();
    let placed = w.iter().filter(|w| w.not_before.is_some()).count();
    let refused_early = w
        .iter()
        .filter(|w| matches!(w.not_before, Some(Outcome::Refused { .. })))
        .count();
    let resumed = w
        .iter()
        .filter(|w| w.resume.as_ref().is_some_and(Outcome::is_admitted))
        .count();
    let reached = w.iter().filter(|w| w.resume.is_some()).count();
    let errors = w
        .iter()
        .flat_map(|w| &w.problems)
        .filter(|p| p.contains("5xx") || p.contains("transport"))
        .count();
    Row {
        limit: format!("{} ({}/{} s)", limit.limit, limit.max, limit.window_secs),
        key: key.key.clone(),
        admitted,
        refusals: if malformed == 0 {
            format!("{refusals} ok")
        } else {
            format!("{refusals}, malformed in {malformed} window(s)")
        },
        not_before: format!("{refused_early}/{placed} refused"),
        resumes: format!("{resumed}/{reached}"),
        errors: if errors == 0 {
            "none".into()
        } else {
            format!("in {errors} window(s)")
        },
        holds: if key.holds { "yes".into() } else { "NO".into() },
    }
}

/// The verdict table, one row per limit and key, then a line per limit.
pub fn render(report: &RunReport) -> String {
    let rows: Vec<Row> = report
        .limits
        .iter()
        .flat_map(|l| l.keys.iter().map(move |k| row(l, k)))
        .collect();
    let mut out = Table::new(rows).with(Style::sharp()).to_string();
    out.push('\n');
    for l in &report.limits {
        let clock = match l.clock {
            ClockMode::Controlled => format!("clock moved {:.0} s", l.seconds_passed),
            ClockMode::Real => format!("waited {:.0} s of real time", l.seconds_passed),
        };
        let windows = match l.clock {
            ClockMode::Controlled => {
                format!(
                    "{} of {} windows checked",
                    l.windows_checked, l.windows_requested
                )
            }
            ClockMode::Real => format!(
                "{} complete windows and {} bursts observed in the run time",
                l.windows_checked, l.bursts_checked
            ),
        };
        out.push_str(&format!(
            "{}: {} — {windows} for {} keys, {} requests from {} goose users in {:.1} s ({clock})\n",
            l.limit,
            if l.holds { "holds" } else { "DOES NOT HOLD" },
            l.keys.len(),
            l.requests,
            l.users,
            l.wall_secs,
        ));
        for p in &l.problems {
            out.push_str(&format!("  - {p}\n"));
        }
        for k in &l.keys {
            for w in &k.windows {
                for n in &w.notes {
                    out.push_str(&format!("  ~ {} window {}: {n}\n", k.key, w.window + 1));
                }
            }
        }
        for k in l.keys.iter().filter(|k| !k.holds) {
            for w in k.windows.iter().filter(|w| !w.holds()) {
                for p in w.problems.iter().take(4) {
                    out.push_str(&format!("  - {} window {}: {p}\n", k.key, w.window + 1));
                }
            }
        }
    }
    out.push_str(if report.holds {
        "every limit holds\n"
    } else {
        "at least one limit does not hold\n"
    });
    out
}

pub fn write_json(path: &Path, report: &RunReport) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
