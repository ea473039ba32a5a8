//! `report.json`: the whole run, machine-readable, in the shape `docs/report.schema.json`
//! describes. It leads with `schema_version`, the verdict as a boolean and as the line the
//! terminal prints, then every member of [`RunReport`].

use serde::Serialize;

use crate::runner::RunReport;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    conformant: bool,
    verdict: String,
    #[serde(flatten)]
    run: &'a RunReport,
}

pub fn render(report: &RunReport) -> String {
    let doc = Document {
        schema_version: super::REPORT_SCHEMA_VERSION,
        conformant: report.conformant(),
        verdict: super::verdict_line(report),
        run: report,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
