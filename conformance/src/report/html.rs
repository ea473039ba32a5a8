//! `report.html`: one self-contained page (inline CSS, no scripts or external assets).

use std::fmt::Write as _;

use html_escape::encode_text as esc;
use profile::Level;

use crate::runner::{RunReport, Status};

pub fn render(report: &RunReport) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Conformance: {p}</title><style>\
body{{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem}}table{{border-collapse:collapse;margin:1rem 0}}\
td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}}.pass{{color:#15692d}}.FAIL,.ERROR,.UNEXPECTED-PASS{{color:#b00020;font-weight:bold}}\
.skip{{color:#777}}pre{{background:#f6f6f6;padding:.5rem;overflow-x:auto}}</style></head><body>\
<h1>Conformance report: {p}</h1><p>target <code>{t}</code> · driver {d} · started {st} · {ms} ms · verdict <strong>{v}</strong></p>",
        p = esc(&report.profile),
        t = esc(&report.target),
        d = esc(&report.driver),
        st = esc(&report.started_at),
        ms = report.duration_ms,
        v = super::verdict(report)
    );
    for note in &report.notes {
        let _ = write!(s, "<p><strong>Note:</strong> {}</p>", esc(note));
    }
    s.push_str("<table><tr><th>level</th><th>pass</th><th>fail</th><th>error</th><th>skip</th><th>expected-fail</th><th>unexpected-pass</th></tr>");
    for level in Level::ALL {
        let [pass, fail, error, skip, expected, unexpected] = super::level_counts(report, level);
        let _ = write!(
            s,
            "<tr><td>{level}</td><td>{pass}</td><td>{fail}</td><td>{error}</td><td>{skip}</td><td>{expected}</td><td>{unexpected}</td></tr>",
        );
    }
    s.push_str("</table><table><tr><th>area</th><th>check</th><th>level</th><th>result</th><th>details</th></tr>");
    for c in &report.checks {
        let details = match c.status {
            Status::Pass => String::new(),
            _ => format!("<pre>{}</pre>", esc(&super::markdown::failure_text(c))),
        };
        let _ = write!(
            s,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            esc(&c.area),
            esc(&c.id),
            c.level,
            c.status.as_str(),
            c.status.as_str(),
            details
        );
    }
    s.push_str("</table></body></html>\n");
    s
}
