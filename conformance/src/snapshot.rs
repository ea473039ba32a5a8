//! Spec snapshots: the redacted transcript of each check, committed in insta's `.snap`
//! format under `fixtures/snapshots/<profile>/`. The CLI reads them with
//! `insta::Snapshot::from_file` and compares without panicking; `cargo test` gates on the
//! same files through insta's macros. Writing happens only on request
//! (`--update-snapshots`) and never when `CI` is set.
//!
//! A snapshot pins what the contract names, not one server's incidentals, so the CLI
//! compares exchange by exchange ([`compare`]): the order of exchanges, each request, each
//! status, the headers the transcript shows (names in any case, a `content-type` by its
//! media type; headers the contract does not name are never rendered), and JSON bodies as
//! values. Members a JSON object has beyond the snapshot's are extension members (RFC
//! 6749 §5.1 allows them): tolerated, and listed once in the run's notes. A changed
//! status, a missing member, a renamed error code or a value of another type fails.
//! Headers only a part below MUST asks for (`no-store`, `Retry-After`) count only in the
//! checks of that part ([`compare_in`]), so they never fail a MUST check.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use insta::internals::TextSnapshotContents;
use insta::{Snapshot, TextSnapshotKind};
use serde::Serialize;
use serde_json::Value;

use crate::transcript::RESPONSE_HEADERS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    /// Compare with the committed file; a mismatch or a missing file fails the check.
    Compare,
    /// Compare, and write the new text where it differs (not in CI).
    Update,
    /// Do not compare.
    Off,
}

/// What comparing one check's transcript with its snapshot found.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SnapshotStatus {
    Matched,
    /// Differs from the committed text only where the contract leaves a deployment free:
    /// extension members (listed, as JSON paths like `$.apps[].x_trace`), header-name case,
    /// parameters of a content type, headers and bodies the snapshot does not pin.
    Equivalent {
        extensions: Vec<String>,
    },
    /// Differs; `diff` lists the differences that fail, then a unified diff, committed
    /// text first.
    Mismatched {
        diff: String,
        /// The first line (1-based) of this run's transcript that differs from the
        /// snapshot (one past its end when the snapshot goes on longer).
        first_differing_line: usize,
    },
    Missing,
    Written,
    NotCompared,
}

impl SnapshotStatus {
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            SnapshotStatus::Mismatched { .. } | SnapshotStatus::Missing
        )
    }
}

pub struct SnapshotStore {
    pub dir: PathBuf,
    pub mode: SnapshotMode,
}

/// True when the environment says this is CI (`CI` set to anything but `false`/`0`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

impl SnapshotStore {
    pub fn path_for(&self, snapshot_name: &str) -> PathBuf {
        self.dir.join(format!("{snapshot_name}.snap"))
    }

    /// Compares `text` with the committed snapshot (and writes it in update mode).
    pub fn check(&self, check_id: &str, snapshot_name: &str, text: &str) -> SnapshotStatus {
        if self.mode == SnapshotMode::Off {
            return SnapshotStatus::NotCompared;
        }
        let path = self.path_for(snapshot_name);
        let new = TextSnapshotContents::new(text.to_owned(), TextSnapshotKind::File);
        let old = read(&path);
        let status = match &old {
            None => SnapshotStatus::Missing,
            Some(old) if old.matches_latest(&new) => return SnapshotStatus::Matched,
            Some(old) => {
                let (old, new) = (format!("{old}\n"), format!("{new}\n"));
                let found = compare_in(check_id, &old, &new);
                if found.differences.is_empty() {
                    return SnapshotStatus::Equivalent {
                        extensions: found.extensions.into_iter().collect(),
                    };
                }
                SnapshotStatus::Mismatched {
                    diff: format!("{}\n{}", found.describe(), diff(&old, &new)),
                    first_differing_line: found.differences[0].0,
                }
            }
        };
        if self.mode == SnapshotMode::Update && !in_ci() && write(&path, check_id, text).is_ok() {
            return SnapshotStatus::Written;
        }
        status
    }
}

fn read(path: &Path) -> Option<TextSnapshotContents> {
    let snap = Snapshot::from_file(path).ok()?;
    snap.contents().as_text().cloned()
}

/// Writes a snapshot file the way insta does: a YAML header, `---`, the text.
fn write(path: &Path, check_id: &str, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let body = TextSnapshotContents::new(text.to_owned(), TextSnapshotKind::File).to_string();
    let header =
        format!("---\nsource: conformance/tests/checks.rs\nexpression: \"{check_id}\"\n---\n");
    std::fs::write(path, format!("{header}{body}\n"))
}

/// The run's note on extension members: every JSON path seen beyond a snapshot, once,
/// with how many checks saw it. None when no check saw any.
pub fn extensions_note<'a>(
    statuses: impl IntoIterator<Item = &'a SnapshotStatus>,
) -> Option<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for status in statuses {
        if let SnapshotStatus::Equivalent { extensions } = status {
            for path in extensions {
                *seen.entry(path.as_str()).or_insert(0) += 1;
            }
        }
    }
    if seen.is_empty() {
        return None;
    }
    let listed: Vec<String> = seen
        .iter()
        .map(|(path, n)| format!("`{path}` ({n} check{})", if *n == 1 { "" } else { "s" }))
        .collect();
    Some(format!(
        "the target's JSON carries extension members the snapshots do not pin (tolerated; RFC 6749 §5.1 allows them): {}",
        listed.join(", ")
    ))
}

/// What comparing a run's transcript with a snapshot found.
#[derive(Debug, Default)]
pub struct Comparison {
    /// Differences that fail, in transcript order: the line (1-based) of this run's text
    /// they are at, and what differs.
    pub differences: Vec<(usize, String)>,
    /// JSON paths of members this run has and the snapshot does not (`$.apps[].x_trace`).
    pub extensions: BTreeSet<String>,
}

impl Comparison {
    fn differ(&mut self, line: usize, what: String) {
        self.differences.push((line, what));
    }

    /// The differences as lines a person reads above the diff.
    pub fn describe(&self) -> String {
        let mut out = String::from(
            "differences that fail (extension members, header case and unnamed headers are tolerated):\n",
        );
        for (line, what) in &self.differences {
            let _ = writeln!(out, "  line {line}: {what}");
        }
        out
    }
}

/// One step of a rendered transcript: a request (`→`), a response (`←`) or a note (`·`),
/// with its indented lines.
struct Step<'t> {
    head: &'t str,
    lines: Vec<&'t str>,
    /// The line (1-based) of the head.
    line: usize,
}

fn steps(text: &str) -> Vec<Step<'_>> {
    let mut out: Vec<Step<'_>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("→ ") || line.starts_with("← ") || line.starts_with("· ") {
            out.push(Step {
                head: line.trim_end(),
                lines: Vec::new(),
                line: i + 1,
            });
        } else if let Some(step) = out.last_mut() {
            step.lines
                .push(line.strip_prefix("  ").unwrap_or(line).trim_end());
        }
    }
    out
}

/// Compares a run's rendered transcript with a snapshot's, exchange by exchange (see the
/// module comment for what is pinned and what is tolerated), every named header included.
pub fn compare(snapshot: &str, run: &str) -> Comparison {
    compare_pinning(snapshot, run, |_| true)
}

/// Headers only a part of a clause below MUST asks for, and what the ids of the checks
/// that compare them contain. Every flow redeems a code and every limit check meets a
/// 429, so the headers show in most transcripts; were a missing `no-store` (PP-TOKEN-4,
/// SHOULD) or `Retry-After` (PP-RATE-2: "may", DECIDED) a difference everywhere, it
/// would fail MUST checks (`PP-RATE-2/*-is-rate-limited-with-request-id` among them) and
/// a deployment conformant at MUST would be reported as not.
const HEADERS_OF_THEIR_CHECKS: &[(&str, &str)] = &[
    ("cache-control", "PP-TOKEN-4/"),
    // PP-RATE-2/*-refusal-has-retry-after, PP-RATE-3/*-reopens-at-retry-after
    ("retry-after", "retry-after"),
];

/// [`compare`] for the check `check_id`: a header of [`HEADERS_OF_THEIR_CHECKS`] counts
/// only in the checks of its part of the contract.
pub fn compare_in(check_id: &str, snapshot: &str, run: &str) -> Comparison {
    compare_pinning(snapshot, run, |header| {
        HEADERS_OF_THEIR_CHECKS
            .iter()
            .filter(|(name, _)| *name == header)
            .all(|(_, id_part)| check_id.contains(id_part))
    })
}

/// [`compare`], with `pins` saying which named headers count.
fn compare_pinning(snapshot: &str, run: &str, pins: impl Fn(&str) -> bool) -> Comparison {
    let mut found = Comparison::default();
    let (pinned, seen) = (steps(snapshot), steps(run));
    let end = run.lines().count() + 1;
    for i in 0..pinned.len().max(seen.len()) {
        match (pinned.get(i), seen.get(i)) {
            (Some(p), Some(s))
                if p.head != s.head && p.head.starts_with("· ") && s.head.starts_with("· ") =>
            {
                // A note that quotes a body (`· the list has the app: {…}`): its JSON
                // is compared as values, like a body's.
                match (json_tail(p.head), json_tail(s.head)) {
                    (Some((pt, pv)), Some((st, sv))) if pt == st => {
                        compare_json("$", &pv, &sv, s.line, &mut found);
                    }
                    _ => {
                        found.differ(
                            s.line,
                            format!("`{}` where the snapshot has `{}`", s.head, p.head),
                        );
                        return found;
                    }
                }
            }
            (Some(p), Some(s)) if p.head != s.head => {
                found.differ(
                    s.line,
                    format!("`{}` where the snapshot has `{}`", s.head, p.head),
                );
                // The exchanges no longer line up: what follows would only repeat this.
                return found;
            }
            (Some(p), Some(s)) if s.head.starts_with("← ") => {
                compare_response(p, s, &pins, &mut found)
            }
            (Some(p), Some(s)) => {
                if let Some((a, b)) = p.lines.iter().zip(&s.lines).find(|(a, b)| a != b) {
                    found.differ(
                        s.line,
                        format!("under `{}`: `{b}` where the snapshot has `{a}`", s.head),
                    );
                } else if p.lines.len() != s.lines.len() {
                    found.differ(
                        s.line,
                        format!(
                            "under `{}`: {} lines where the snapshot has {}",
                            s.head,
                            s.lines.len(),
                            p.lines.len()
                        ),
                    );
                }
            }
            (Some(p), None) => {
                found.differ(end, format!("the snapshot goes on with `{}`", p.head));
                return found;
            }
            (None, Some(s)) => {
                found.differ(
                    s.line,
                    format!("`{}` is beyond the end of the snapshot", s.head),
                );
                return found;
            }
            (None, None) => {}
        }
    }
    found
}

/// A response's header lines (the named ones, read back) and its body lines.
fn split_response<'t>(lines: &[&'t str]) -> (Vec<(String, &'t str)>, Vec<&'t str>) {
    let mut headers = Vec::new();
    let mut rest = lines;
    while let Some((first, tail)) = rest.split_first() {
        let Some((name, value)) = first.split_once(": ") else {
            break;
        };
        let name = name.to_ascii_lowercase();
        if !(RESPONSE_HEADERS.contains(&name.as_str()) || value == "[request-id]") {
            break;
        }
        headers.push((name, value));
        rest = tail;
    }
    (headers, rest.to_vec())
}

/// Whether a named header's value says what the snapshot's says. Only what the contract
/// pins counts: a content type's media type; every `cache-control` directive of the
/// snapshot (more may follow); a redirect's target (the target's own base written out or
/// not) and the snapshot's query parameters, decoded (`%20` or `+`), in any order, others
/// allowed (RFC 9207's `iss`) except those that change what the redirect says (see
/// [`REDIRECT_MEANING`]); a challenge's scheme
/// and parameters other than `realm`, which is the deployment's own (RFC 7235 §2.2), in
/// any order, others allowed (`error_description`) except an `error` the snapshot lacks
/// (a bare challenge carries no error code, RFC 6750 §3.1); a cookie set, whatever its
/// name (the contract names no cookie; the value is redacted already).
fn header_value_matches(name: &str, pinned: &str, seen: &str) -> bool {
    match name {
        "content-type" => {
            let essence = |v: &str| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            };
            essence(pinned) == essence(seen)
        }
        "cache-control" => {
            let directives = |v: &str| -> BTreeSet<String> {
                v.split(',')
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect()
            };
            directives(pinned).is_subset(&directives(seen))
        }
        "location" => {
            let split = |v: &str| -> (String, Vec<(String, String)>) {
                let (target, query) = v.split_once('?').unwrap_or((v, ""));
                // An absolute URL on the target's own base names the same page as its path
                // (RFC 9110 §10.2.2 allows either).
                let target = target
                    .strip_prefix("[base]")
                    .filter(|path| path.starts_with('/'))
                    .unwrap_or(target);
                let params = url::form_urlencoded::parse(query.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                (target.to_owned(), params)
            };
            let ((pt, pp), (st, sp)) = (split(pinned), split(seen));
            pt == st && params_match(&pp, &sp, REDIRECT_MEANING)
        }
        "www-authenticate" => {
            let (ps, mut pp) = challenge(pinned);
            let (ss, mut sp) = challenge(seen);
            pp.retain(|(k, _)| k != "realm");
            sp.retain(|(k, _)| k != "realm");
            ps.eq_ignore_ascii_case(&ss) && params_match(&pp, &sp, &["error"])
        }
        "set-cookie" => true,
        _ => pinned == seen,
    }
}

/// Redirect parameters (PP-AUTHZ-3, PP-AUTHZ-4) whose presence changes what a redirect
/// says: a `code` on an error redirect, an `error` on an approval, a `state` never sent.
const REDIRECT_MEANING: &[&str] = &["code", "error", "state"];

/// Whether a run's parameters (a query's, a challenge's) say what the snapshot's say:
/// every pinned one is there; one the run repeats under a pinned name has a pinned value;
/// one the snapshot lacks is an extension, unless `meaningful` names it.
fn params_match(
    pinned: &[(String, String)],
    seen: &[(String, String)],
    meaningful: &[&str],
) -> bool {
    pinned.iter().all(|p| seen.contains(p))
        && seen.iter().all(|s| {
            if pinned.iter().any(|(k, _)| *k == s.0) {
                pinned.contains(s)
            } else {
                !meaningful.contains(&s.0.as_str())
            }
        })
}

/// A challenge's scheme and its parameters (names lowercased, quotes removed).
fn challenge(value: &str) -> (String, Vec<(String, String)>) {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let mut params = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in rest.chars().chain([',']) {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                if let Some((k, v)) = current.split_once('=') {
                    params.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
                current.clear();
            }
            c => current.push(c),
        }
    }
    (scheme.to_owned(), params)
}

fn compare_response(
    pinned: &Step<'_>,
    seen: &Step<'_>,
    pins: &impl Fn(&str) -> bool,
    found: &mut Comparison,
) {
    let at = seen.line;
    let (pinned_headers, pinned_body) = split_response(&pinned.lines);
    let (seen_headers, seen_body) = split_response(&seen.lines);
    let mut used = vec![false; seen_headers.len()];
    for (name, value) in pinned_headers.iter().filter(|(name, _)| pins(name)) {
        let hit = seen_headers
            .iter()
            .enumerate()
            .position(|(i, (n, v))| !used[i] && n == name && header_value_matches(name, value, v));
        match hit {
            Some(i) => used[i] = true,
            None => match seen_headers.iter().find(|(n, _)| n == name) {
                Some((_, v)) => found.differ(
                    at,
                    format!("header `{name}` is `{v}` where the snapshot has `{value}`"),
                ),
                None => found.differ(
                    at,
                    format!("header `{name}` is missing (the snapshot has `{value}`)"),
                ),
            },
        }
    }
    if pinned_body.is_empty() {
        return; // the snapshot pins no body here
    }
    let pinned_text = pinned_body.join("\n");
    if let Some(pinned_json) = parse_json(&pinned_text) {
        match parse_json(&seen_body.join("\n")) {
            Some(seen_json) => compare_json("$", &pinned_json, &seen_json, at, found),
            None => found.differ(
                at,
                "the body is not JSON where the snapshot's is".to_owned(),
            ),
        }
        return;
    }
    // Event streams and other text: line by line, `data:` lines as JSON.
    if pinned_body.len() != seen_body.len() {
        found.differ(
            at,
            format!(
                "the body has {} lines where the snapshot has {}",
                seen_body.len(),
                pinned_body.len()
            ),
        );
        return;
    }
    for (i, (p, s)) in pinned_body.iter().zip(&seen_body).enumerate() {
        let data = (
            p.strip_prefix("data: ").and_then(parse_json),
            s.strip_prefix("data: ").and_then(parse_json),
        );
        match data {
            (Some(p), Some(s)) => compare_json(&format!("data[{i}]"), &p, &s, at, found),
            _ if p != s => {
                found.differ(at, format!("body line `{s}` where the snapshot has `{p}`"))
            }
            _ => {}
        }
    }
}

/// A line that ends in JSON, split into its text and the JSON value.
fn json_tail(line: &str) -> Option<(&str, Value)> {
    line.char_indices()
        .filter(|(_, c)| *c == '{' || *c == '[')
        .find_map(|(i, _)| {
            serde_json::from_str(&line[i..])
                .ok()
                .map(|v| (&line[..i], v))
        })
}

fn parse_json(text: &str) -> Option<Value> {
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        serde_json::from_str(text).ok()
    } else {
        None
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Every member of the snapshot's value must be in the run's, equal; the run's other
/// members are extensions.
fn compare_json(path: &str, pinned: &Value, seen: &Value, at: usize, found: &mut Comparison) {
    match (pinned, seen) {
        (Value::Object(p), Value::Object(s)) => {
            for (k, pv) in p {
                match s.get(k) {
                    Some(sv) => compare_json(&format!("{path}.{k}"), pv, sv, at, found),
                    None => found.differ(at, format!("member `{path}.{k}` is missing")),
                }
            }
            for k in s.keys().filter(|k| !p.contains_key(*k)) {
                found.extensions.insert(format!("{}.{k}", generic(path)));
            }
        }
        (Value::Array(p), Value::Array(s)) if p.len() == s.len() => {
            for (i, (pv, sv)) in p.iter().zip(s).enumerate() {
                compare_json(&format!("{path}[{i}]"), pv, sv, at, found);
            }
        }
        (Value::Array(p), Value::Array(s)) => found.differ(
            at,
            format!(
                "`{path}` has {} items where the snapshot has {}",
                s.len(),
                p.len()
            ),
        ),
        (p, s) if kind(p) != kind(s) => found.differ(
            at,
            format!(
                "`{path}` is {} ({s}) where the snapshot has {} ({p})",
                kind(s),
                kind(p)
            ),
        ),
        (p, s) if p != s => found.differ(at, format!("`{path}` is {s} where the snapshot has {p}")),
        _ => {}
    }
}

/// A path with its array indexes dropped (`$.apps[].x`), to list an extension once.
fn generic(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' => in_index = false,
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// A unified diff, committed (`-`) against this run (`+`).
pub fn diff(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header("committed snapshot", "this run")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: &str = "\
→ POST /api/platform/v1/oauth/token
  [form]
  grant_type=authorization_code
  client_id=[client:web]
← 200
  content-type: application/json
  cache-control: no-store
  x-punchplay-request-id: [request-id]
  {
    \"access_token\": \"[access-token-1]\",
    \"expires_in\": 3600,
    \"scope\": \"profile:read\",
    \"token_type\": \"Bearer\"
  }
→ GET /api/platform/v1/me
  authorization: Bearer [access-token-1]
← 401
  content-type: application/json
  www-authenticate: Bearer error=\"invalid_token\"
  x-punchplay-request-id: [request-id]
  {
    \"error\": \"invalid_token\",
    \"message\": \"[message]\",
    \"request_id\": \"[request-id]\"
  }
";

    fn differences(run: &str) -> Vec<String> {
        compare(PINNED, run)
            .differences
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    }

    #[test]
    fn the_same_text_has_no_differences() {
        let found = compare(PINNED, PINNED);
        assert!(found.differences.is_empty() && found.extensions.is_empty());
    }

    #[test]
    fn extension_members_key_order_whitespace_and_header_case_are_tolerated() {
        let run = PINNED
            .replace(
                "    \"access_token\": \"[access-token-1]\",",
                "    \"x_gateway\": {\"hop\": 1},\n    \"access_token\": \"[access-token-1]\",",
            )
            .replace(
                "    \"error\": \"invalid_token\",",
                "\"error\":\"invalid_token\", \"x_gateway\": {\"hop\": 1},",
            )
            .replace(
                "content-type: application/json",
                "Content-Type: application/json; charset=utf-8",
            )
            .replace(
                "  cache-control: no-store",
                "  Cache-Control: no-store\n  x-punchplay-request-id: [request-id]",
            );
        let found = compare(PINNED, &run);
        assert!(found.differences.is_empty(), "{:?}", found.differences);
        assert_eq!(
            found.extensions.into_iter().collect::<Vec<_>>(),
            vec!["$.x_gateway".to_owned()]
        );
    }

    #[test]
    fn a_nested_extension_is_listed_once_by_its_generic_path() {
        let pinned = "← 200\n  {\"apps\": [{\"id\": 1}, {\"id\": 2}]}\n";
        let run = "← 200\n  {\"apps\": [{\"id\": 1, \"x\": 0}, {\"id\": 2, \"x\": 0}], \"x\": 0}\n";
        let found = compare(pinned, run);
        assert!(found.differences.is_empty(), "{:?}", found.differences);
        assert_eq!(
            found.extensions.into_iter().collect::<Vec<_>>(),
            vec!["$.apps[].x".to_owned(), "$.x".to_owned()]
        );
    }

    #[test]
    fn a_changed_status_fails() {
        let d = differences(&PINNED.replace("← 401", "← 400"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("← 400"), "{d:?}");
    }

    #[test]
    fn a_missing_documented_member_fails() {
        let d = differences(&PINNED.replace("    \"expires_in\": 3600,\n", ""));
        assert_eq!(d, vec!["member `$.expires_in` is missing".to_owned()]);
    }

    #[test]
    fn a_renamed_error_code_fails() {
        let d = differences(
            &PINNED.replace("\"error\": \"invalid_token\"", "\"error\": \"bad_token\""),
        );
        assert_eq!(
            d,
            vec!["`$.error` is \"bad_token\" where the snapshot has \"invalid_token\"".to_owned()]
        );
    }

    #[test]
    fn a_wrong_type_fails() {
        let d = differences(&PINNED.replace("\"expires_in\": 3600", "\"expires_in\": \"3600\""));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("`$.expires_in` is a string"), "{d:?}");
    }

    #[test]
    fn a_missing_or_changed_named_header_fails() {
        let d = differences(&PINNED.replace("  cache-control: no-store\n", ""));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("`cache-control` is missing"), "{d:?}");
        let d = differences(
            &PINNED.replace("content-type: application/json", "content-type: text/html"),
        );
        assert_eq!(d.len(), 2, "{d:?}");
    }

    #[test]
    fn named_headers_compare_what_the_contract_pins() {
        let m = header_value_matches;
        assert!(m("cache-control", "no-store", "private, no-store"));
        assert!(!m("cache-control", "no-store", "no-cache"));
        let pinned = "[redirect-uri]?code=[code-1]&state=[state-1]";
        assert!(m(
            "location",
            pinned,
            "[redirect-uri]?state=[state-1]&code=[code-1]&iss=x"
        ));
        assert!(!m("location", pinned, "[redirect-uri]?code=[code-1]"));
        assert!(!m(
            "location",
            pinned,
            "[redirect-uri]/x?code=[code-1]&state=[state-1]"
        ));
        let pinned = r#"Bearer realm="punchplay", error="invalid_token""#;
        assert!(m(
            "www-authenticate",
            pinned,
            r#"bearer error="invalid_token""#
        ));
        assert!(m(
            "www-authenticate",
            pinned,
            r#"Bearer error_description="expired, sorry", realm="api", error="invalid_token""#
        ));
        assert!(!m(
            "www-authenticate",
            pinned,
            r#"Bearer realm="punchplay""#
        ));
        assert!(!m(
            "www-authenticate",
            pinned,
            r#"Basic error="invalid_token""#
        ));
        assert!(!m(
            "www-authenticate",
            pinned,
            r#"Bearer error="invalid_request""#
        ));
    }

    #[test]
    fn a_redirect_or_challenge_that_says_more_than_the_snapshot_fails() {
        let m = header_value_matches;
        let approval =
            "[redirect-uri]?code=[code-1]&state=[state-1]&scope=profile%3Aread+playback%3Aread";
        // The same parameters, encoded another way (RFC 3986 allows both), still match.
        assert!(m(
            "location",
            approval,
            "[redirect-uri]?scope=profile:read%20playback:read&state=[state-1]&code=[code-1]"
        ));
        // PP-AUTHZ-3: an approval that also carries an error code says something else.
        assert!(!m(
            "location",
            approval,
            &format!("{approval}&error=access_denied")
        ));
        let refusal = "[redirect-uri]?error=invalid_scope&state=[state-1]&request_id=[request-id]";
        assert!(m(
            "location",
            refusal,
            &format!("{refusal}&iss=https%3A%2F%2Fas")
        ));
        // PP-AUTHZ-4: an error redirect that hands out a code, or a second error, fails.
        assert!(!m("location", refusal, &format!("{refusal}&code=[code-1]")));
        assert!(!m(
            "location",
            refusal,
            &format!("{refusal}&error=server_error")
        ));
        // A redirect to the target's own page, absolute or not, is the same redirect.
        assert!(m(
            "location",
            "/settings/connected-apps",
            "[base]/settings/connected-apps"
        ));
        assert!(!m(
            "location",
            "/settings/connected-apps",
            "[redirect-uri]/settings/connected-apps"
        ));
        // A session cookie is the deployment's own: its name is not the contract's.
        assert!(m(
            "set-cookie",
            "pp_session=[cookie]",
            "__Host-sid=[cookie]"
        ));
        let signed_in = "← 303\n  set-cookie: pp_session=[cookie]\n";
        assert_eq!(compare(signed_in, "← 303\n").differences.len(), 1);
        // RFC 6750 §3.1: a bare challenge carries no error code.
        assert!(m(
            "www-authenticate",
            r#"Bearer realm="punchplay""#,
            r#"Bearer realm="api""#
        ));
        assert!(!m(
            "www-authenticate",
            r#"Bearer realm="punchplay""#,
            r#"Bearer realm="punchplay", error="invalid_token""#
        ));
        assert!(!m(
            "www-authenticate",
            r#"Bearer error="invalid_token""#,
            r#"Bearer error="invalid_token", error="insufficient_scope""#
        ));
    }

    #[test]
    fn a_header_of_a_should_clause_counts_only_in_its_clauses_checks() {
        let run = PINNED.replace("  cache-control: no-store\n", "");
        // PP-TOKEN-4 (SHOULD) owns `no-store`: its checks fail on it...
        let found = compare_in("PP-TOKEN-4/token-responses-carry-no-store", PINNED, &run);
        assert_eq!(found.differences.len(), 1, "{:?}", found.differences);
        // ...a MUST check whose flow redeems a code on the way does not.
        let found = compare_in(
            "PP-API-1/expired-access-token-is-invalid-token",
            PINNED,
            &run,
        );
        assert!(found.differences.is_empty(), "{:?}", found.differences);
        // Retry-After ("may", DECIDED) counts in the checks named for it only.
        let pinned = "← 429\n  retry-after: [seconds]\n";
        let run = "← 429\n";
        let id = "PP-RATE-2/token-refusal-has-retry-after";
        assert_eq!(compare_in(id, pinned, run).differences.len(), 1);
        let id = "PP-RATE-2/token-refusal-is-rate-limited-with-request-id";
        assert!(compare_in(id, pinned, run).differences.is_empty());
        // Every other named header still counts everywhere.
        let run = PINNED.replace("content-type: application/json", "content-type: text/html");
        let found = compare_in(
            "PP-API-1/expired-access-token-is-invalid-token",
            PINNED,
            &run,
        );
        assert_eq!(found.differences.len(), 2, "{:?}", found.differences);
    }

    #[test]
    fn a_changed_request_or_a_missing_exchange_fails() {
        let d = differences(&PINNED.replace("client_id=[client:web]", "client_id=[client:tv]"));
        assert_eq!(d.len(), 1, "{d:?}");
        let cut = &PINNED[..PINNED.find("→ GET").expect("two exchanges")];
        let d = differences(cut);
        assert!(d[0].contains("the snapshot goes on"), "{d:?}");
    }

    #[test]
    fn a_note_quoting_json_tolerates_extensions_but_not_changes() {
        let pinned = "· the list has the app: {\"name\":\"[app-name-1]\"}\n";
        let run = "· the list has the app: {\"name\":\"[app-name-1]\",\"x\":1}\n";
        let found = compare(pinned, run);
        assert!(found.differences.is_empty(), "{:?}", found.differences);
        assert_eq!(found.extensions.len(), 1);
        let wrong = "· the list has the app: {\"title\":\"[app-name-1]\"}\n";
        assert_eq!(compare(pinned, wrong).differences.len(), 1);
        let other = "· the list lacks the app: {\"name\":\"[app-name-1]\"}\n";
        assert_eq!(compare(pinned, other).differences.len(), 1);
    }

    #[test]
    fn event_stream_data_is_compared_as_json() {
        let pinned = "← 200\n  content-type: text/event-stream\n  id: [event-id]\n  data: {\"action\":\"start\"}\n";
        let run = pinned.replace(
            "{\"action\":\"start\"}",
            "{\"x\": 1, \"action\": \"start\"}",
        );
        assert!(compare(pinned, &run).differences.is_empty());
        let wrong = pinned.replace("start", "stop");
        assert_eq!(compare(pinned, &wrong).differences.len(), 1);
    }

    #[test]
    fn the_extensions_note_lists_each_path_once() {
        let statuses = [
            SnapshotStatus::Equivalent {
                extensions: vec!["$.x".into()],
            },
            SnapshotStatus::Equivalent {
                extensions: vec!["$.x".into(), "$.apps[].x".into()],
            },
            SnapshotStatus::Matched,
        ];
        let note = extensions_note(&statuses).expect("a note");
        assert!(
            note.contains("`$.apps[].x` (1 check), `$.x` (2 checks)"),
            "{note}"
        );
        assert!(extensions_note(&[SnapshotStatus::Matched]).is_none());
    }
}
