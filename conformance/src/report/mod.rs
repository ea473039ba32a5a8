//! Reports: each reads the run's events or its final [`RunReport`](crate::runner::RunReport).
//! The terminal shows progress and a table; files go under `reports/<run>/`.

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::path::{Path, PathBuf};

use profile::Level;

use crate::runner::RunReport;

/// The run's verdict as the Markdown and HTML reports word it.
pub fn verdict(report: &RunReport) -> &'static str {
    if report.conformant() {
        "conformant"
    } else {
        "NOT conformant"
    }
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

/// Writes junit.xml, report.json, report.md and report.html into `dir`.
pub fn write_all(report: &RunReport, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let files = [
        ("junit.xml", junit::render(report)),
        ("report.json", json::render(report)),
        ("report.md", markdown::render(report)),
        ("report.html", html::render(report)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text)?;
        written.push(p);
    }
    Ok(written)
}
