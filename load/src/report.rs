//! The verdict as people and programs read it: a table in the terminal (tabled) and
//! `verdict.json`. goose writes its own HTML, JSON and Markdown reports per limit.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::observe::Outcome;
use crate::verdict::{ClockMode, KeyVerdict, LimitVerdict, Status, WindowKind};

/// Everything one run found, as written to `verdict.json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub target: String,
    /// Whether the target is the in-process reference server.
    pub in_process: bool,
    pub clock: ClockMode,
    pub started_at: String,
    pub wall_secs: f64,
    /// Does not hold if any limit does not; else not judged if any limit could not be
    /// judged; else holds.
    pub status: Status,
    /// Every limit holds.
    pub holds: bool,
    pub limits: Vec<LimitVerdict>,
}

#[derive(Tabled)]
struct Row {
    limit: String,
    key: String,
    #[tabled(rename = "admitted/limit per window")]
    admitted: String,
    window: String,
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
    // Each window: admitted within its length from its first request / the limit; a
    // window whose counts could not be judged shows a dash.
    let admitted = w
        .iter()
        .map(|w| {
            if w.judged {
                format!("{}/{}", w.first_span_admitted, limit.max)
            } else {
                "–".to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let kinds = |kind: WindowKind| w.iter().filter(|w| w.kind == kind).count();
    let window = match (kinds(WindowKind::Sliding), kinds(WindowKind::Fixed)) {
        (0, 0) => "not told".to_owned(),
        (s, 0) => format!("sliding ({s})"),
        (0, f) => format!("FIXED ({f})"),
        (s, f) => format!("sliding ({s}), FIXED ({f})"),
    };
    let refused: u32 = w.iter().map(|w| w.refused).sum();
    let with_retry_after: u32 = w.iter().map(|w| w.refused_with_retry_after).sum();
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
    let with_errors = w.iter().filter(|w| w.errors > 0).count();
    Row {
        limit: format!("{} ({}/{} s)", limit.limit, limit.max, limit.window_secs),
        key: key.key.clone(),
        admitted,
        window,
        refusals: format!("{refused} ({with_retry_after} with Retry-After)"),
        not_before: format!("{refused_early}/{placed} refused"),
        resumes: format!("{resumed}/{reached}"),
        errors: if with_errors == 0 {
            "none".into()
        } else {
            format!("in {with_errors} of {} windows", w.len())
        },
        holds: if !key.holds {
            "NO".into()
        } else if w.iter().any(|w| w.judged) {
            "yes".into()
        } else {
            "not judged".into()
        },
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Holds => "holds",
        Status::DoesNotHold => "DOES NOT HOLD",
        Status::NotJudged => "NOT JUDGED",
    }
}

/// `text` in the status's colour when `color` (green, red, yellow).
fn paint(text: &str, status: Status, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match status {
        Status::Holds => "32",
        Status::DoesNotHold => "31",
        Status::NotJudged => "33",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A note's kind: its words with every per-request value (numbers, and whatever is
/// quoted in backticks or double quotes, such as a proxy's request id) taken out, so that
/// a thousand refusals with a thousand ids fold into one line (issue 23 item 4).
fn shape_of(text: &str) -> String {
    let mut shape = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => {
                shape.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '`' || c == '"' => {
                shape.push(c);
                shape.push('…');
                quote = Some(c);
            }
            None if c.is_ascii_digit() => shape.push('#'),
            None => shape.push(c),
        }
    }
    shape
}

/// Lines that say the same of several keys or windows, once: the first one's text with
/// where else it was seen. Texts are grouped by their kind ([`shape_of`]).
fn grouped(lines: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut groups: Vec<(String, String, Vec<String>)> = Vec::new();
    for (place, text) in lines {
        let shape = shape_of(&text);
        match groups.iter_mut().find(|(s, _, _)| *s == shape) {
            Some((_, _, places)) => places.push(place),
            None => groups.push((shape, text, vec![place])),
        }
    }
    groups
        .into_iter()
        .map(|(_, text, places)| match places.len() {
            1 => format!("{}: {text}", places[0]),
            n => format!("{} and {} more: {text}", places[0], n - 1),
        })
        .collect()
}

/// The verdict table, one row per limit and key, then a line per limit with its
/// problems and notes, each said once.
pub fn render(report: &RunReport, color: bool) -> String {
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
            ClockMode::Controlled => format!(
                "{} of {} windows checked",
                l.windows_checked, l.windows_requested
            ),
            ClockMode::Real => format!(
                "{} of {} windows judged, {} checked completely",
                l.windows_judged, l.windows_opened, l.windows_checked
            ),
        };
        let cancelled = if l.cancelled > 0 {
            format!(", {} cancelled at the deadline", l.cancelled)
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{}: {} — {windows} for {} keys, {} requests{cancelled} from {} goose users in {:.1} s ({clock})\n",
            l.limit,
            paint(status_word(l.status), l.status, color),
            l.keys.len(),
            l.requests,
            l.users,
            l.wall_secs,
        ));
        if let Some(why) = &l.not_judged {
            out.push_str(&format!("  ? not judged: {why}\n"));
        }
        for p in &l.problems {
            out.push_str(&format!("  - {p}\n"));
        }
        let place = |k: &KeyVerdict, w: usize| format!("{} window {}", k.key, w + 1);
        let problems = l.keys.iter().flat_map(|k| {
            k.windows.iter().flat_map(move |w| {
                w.problems
                    .iter()
                    .map(move |p| (place(k, w.window), p.clone()))
            })
        });
        for line in grouped(problems) {
            out.push_str(&format!("  - {line}\n"));
        }
        let notes = l.keys.iter().flat_map(|k| {
            k.windows
                .iter()
                .flat_map(move |w| w.notes.iter().map(move |n| (place(k, w.window), n.clone())))
        });
        for line in grouped(notes) {
            out.push_str(&format!("  ~ {line}\n"));
        }
    }
    let last = match report.status {
        Status::Holds => "every limit holds",
        Status::DoesNotHold => "at least one limit does not hold",
        Status::NotJudged => "no limit failed, but at least one could not be judged",
    };
    out.push_str(&paint(last, report.status, color));
    out.push('\n');
    out
}

/// Writes to standard output; a reader that went away (`| head`) is an error to end the
/// run quietly on, never a panic.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush())
}

pub fn write_json(path: &Path, report: &RunReport) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty(status: Status) -> RunReport {
        RunReport {
            target: "http://127.0.0.1:1/".into(),
            in_process: true,
            clock: ClockMode::Controlled,
            started_at: "2026-11-25T00:00:00Z".into(),
            wall_secs: 0.0,
            status,
            holds: status == Status::Holds,
            limits: vec![],
        }
    }

    #[test]
    fn colours_only_when_asked_for() {
        let plain = render(&empty(Status::NotJudged), false);
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(
            plain.ends_with("at least one could not be judged\n"),
            "{plain}"
        );
        let coloured = render(&empty(Status::DoesNotHold), true);
        assert!(coloured.contains("\x1b[31m"), "{coloured}");
    }

    #[test]
    fn notes_fold_by_kind_not_by_a_request_id() {
        let lines = grouped((0..1152).map(|i| {
            (
                format!("k{i} window 1"),
                format!("DECIDED: request_id `proxy-{i:x}abc` has the wrong format"),
            )
        }));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("and 1151 more"), "{lines:?}");
    }

    #[test]
    fn the_same_finding_on_many_keys_is_said_once() {
        let lines = grouped(
            [
                ("a window 1", "PP-RATE-1: admitted 61 within 0.30 s"),
                ("b window 1", "PP-RATE-1: admitted 61 within 0.31 s"),
                ("b window 2", "PP-RATE-2: 3 refusal(s) with no Retry-After"),
            ]
            .into_iter()
            .map(|(p, t)| (p.to_owned(), t.to_owned())),
        );
        assert_eq!(
            lines,
            [
                "a window 1 and 1 more: PP-RATE-1: admitted 61 within 0.30 s",
                "b window 2: PP-RATE-2: 3 refusal(s) with no Retry-After"
            ]
        );
    }
}
