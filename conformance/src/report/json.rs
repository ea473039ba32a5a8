//! `report.json`: the whole run, machine-readable.

use crate::runner::RunReport;

pub fn render(report: &RunReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
