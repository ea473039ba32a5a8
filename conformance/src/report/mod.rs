//! Reports: each reads the run's events or its final [`RunReport`](crate::runner::RunReport).
//! The terminal shows progress and a table; files go under `reports/<run>/`.

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::path::{Path, PathBuf};

use crate::runner::RunReport;

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
