//! How a run's transcript is compared with its snapshot: a snapshot pins what the
//! contract names, not one server's incidentals, so the comparison goes exchange by
//! exchange: the order of exchanges, each request, each status, the headers the
//! transcript shows (names in any case, a `content-type` by its media type; headers the
//! contract does not name are never rendered), and JSON bodies as values. Members a JSON
//! object has beyond the snapshot's are extension members (RFC 6749 §5.1 allows them):
//! tolerated, and listed once in the run's notes. A changed status, a missing member, a
//! renamed error code or a value of another type fails. Headers only a part below MUST
//! asks for (`no-store`, `Retry-After`) count only in the checks of that part
//! ([`compare_for`]), so they never fail a MUST check; and what the family's contract
//! leaves to the server ([`crate::free`]) is never a difference.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::Value;

use crate::free::{self, Freedoms, REDIRECT_MEANING};
use crate::transcript::RESPONSE_HEADERS;

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

/// What a comparison tolerates: the family's freedoms, in the check that runs.
#[derive(Clone, Copy)]
struct Rules<'a> {
    free: &'a Freedoms,
    check_id: &'a str,
}

/// Compares a run's rendered transcript with a snapshot's, exchange by exchange (see the
/// module comment for what is pinned and what is tolerated), every named header included
/// and nothing but an extension member freed.
pub fn compare(snapshot: &str, run: &str) -> Comparison {
    compare_for("", &free::STRICT, snapshot, run)
}

/// [`compare`] for the check `check_id` of a family whose contract leaves `free` to the
/// server: a status, member, parameter or header it frees is no difference, and a header
/// or member only a part of a clause below MUST asks for counts only in that part's
/// checks ([`Freedoms::only_in_their_checks`]).
pub fn compare_for(check_id: &str, free: &Freedoms, snapshot: &str, run: &str) -> Comparison {
    let rules = Rules { free, check_id };
    let mut found = Comparison::default();
    let (pinned, seen) = (steps(snapshot), steps(run));
    let end = run.lines().count() + 1;
    // The request a response answers: its response type says where a redirect's
    // parameters are (RFC 6749 §4.2.2.1), and it tells answers apart whose status a part
    // of a clause owns.
    let mut request: Vec<&str> = Vec::new();
    for i in 0..pinned.len().max(seen.len()) {
        if let Some(s) = seen.get(i).filter(|s| s.head.starts_with("→ ")) {
            request = std::iter::once(s.head)
                .chain(s.lines.iter().copied())
                .collect();
        }
        match (pinned.get(i), seen.get(i)) {
            (Some(p), Some(s))
                if p.head != s.head && p.head.starts_with("· ") && s.head.starts_with("· ") =>
            {
                // A note that quotes a body (`· the list has the app: {…}`): its JSON
                // is compared as values, like a body's.
                match (json_tail(p.head), json_tail(s.head)) {
                    (Some((pt, pv)), Some((st, sv))) if pt == st => {
                        compare_json("$", None, &pv, &sv, s.line, &mut found, rules);
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
            (Some(p), Some(s))
                if p.head != s.head
                    && !same_redirect_status(p, s, rules)
                    && !free_status(p, s, &request, rules) =>
            {
                found.differ(
                    s.line,
                    format!("`{}` where the snapshot has `{}`", s.head, p.head),
                );
                // The exchanges no longer line up: what follows would only repeat this.
                return found;
            }
            (Some(p), Some(s)) if s.head.starts_with("← ") => {
                let fragment = request
                    .first()
                    .is_some_and(|head| crate::kit::redirect::uses_fragment(head));
                compare_response(p, s, rules, fragment, &mut found)
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

/// Whether two response heads are redirects with statuses the family leaves free (a 303
/// where the snapshot has a 302, RFC 6749 for flexslot; never for PP-AUTHZ-3's 302).
fn same_redirect_status(pinned: &Step<'_>, seen: &Step<'_>, rules: Rules<'_>) -> bool {
    let status = |s: &Step<'_>| {
        s.head
            .strip_prefix("← ")
            .and_then(|code| code.trim().parse::<u16>().ok())
    };
    match (status(pinned), status(seen)) {
        (Some(p), Some(s)) => rules.free.redirects_with(p) && rules.free.redirects_with(s),
        _ => false,
    }
}

/// Whether two response heads differ only by a status a DECIDED part of a clause gives,
/// in a check not of that part ([`Freedoms::status_is_free`]).
fn free_status(pinned: &Step<'_>, seen: &Step<'_>, request: &[&str], rules: Rules<'_>) -> bool {
    let status = |s: &Step<'_>| {
        s.head
            .strip_prefix("← ")
            .and_then(|code| code.trim().parse::<u16>().ok())
    };
    match (status(pinned), status(seen)) {
        (Some(p), Some(s)) => {
            rules
                .free
                .status_is_free(rules.check_id, (p, s), request, &pinned.lines)
        }
        _ => false,
    }
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
/// [`REDIRECT_MEANING`]), read from the fragment too when `fragment` (the request's
/// response type puts them there, RFC 6749 §4.2.2.1); a challenge's scheme
/// and the parameters the contract names for it (a Bearer challenge's `error`), in any
/// order, others allowed (`realm`, RFC 7235 §2.2; `error_description`) except an `error`
/// the snapshot lacks (a bare challenge carries no error code, RFC 6750 §3.1); a cookie
/// set, whatever its name (the contract names no cookie; the value is redacted already).
fn header_value_matches(
    name: &str,
    pinned: &str,
    seen: &str,
    free: &Freedoms,
    fragment: bool,
) -> bool {
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
            let parse = |text: &str| -> Vec<(String, String)> {
                url::form_urlencoded::parse(text.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            };
            let split = |v: &str| -> (String, Vec<(String, String)>) {
                let (before, after) = v.split_once('#').map_or((v, None), |(b, f)| (b, Some(f)));
                let (target, query) = before.split_once('?').unwrap_or((before, ""));
                // An absolute URL on the target's own base names the same page as its path
                // (RFC 9110 §10.2.2 allows either).
                let target = target
                    .strip_prefix("[base]")
                    .filter(|path| path.starts_with('/'))
                    .unwrap_or(target);
                let mut params = parse(query);
                match after {
                    Some(f) if fragment => params.extend(parse(f)),
                    Some(f) => return (format!("{target}#{f}"), params),
                    None => {}
                }
                (target.to_owned(), params)
            };
            let ((pt, mut pp), (st, mut sp)) = (split(pinned), split(seen));
            // Free text (an error_description) is the server's, present or not.
            pp.retain(|(k, _)| !free.is_free_text(k));
            sp.retain(|(k, _)| !free.is_free_text(k));
            pt == st && params_match(&pp, &sp, REDIRECT_MEANING)
        }
        "www-authenticate" => {
            // Only the auth-params the contract names for the scheme count (a Bearer
            // challenge's `error`); a realm and the others are the server's.
            let (ps, mut pp) = challenge(pinned);
            let (ss, mut sp) = challenge(seen);
            pp.retain(|(k, _)| free.names_challenge_param(&ps, k));
            sp.retain(|(k, _)| free.names_challenge_param(&ss, k));
            ps.eq_ignore_ascii_case(&ss) && params_match(&pp, &sp, free.challenge_params_of(&ps))
        }
        "set-cookie" => true,
        _ => pinned == seen,
    }
}

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
    rules: Rules<'_>,
    fragment: bool,
    found: &mut Comparison,
) {
    let at = seen.line;
    let (pinned_headers, pinned_body) = split_response(&pinned.lines);
    let (seen_headers, seen_body) = split_response(&seen.lines);
    let mut used = vec![false; seen_headers.len()];
    for (name, value) in pinned_headers
        .iter()
        .filter(|(name, _)| rules.free.counts_in(name, rules.check_id))
    {
        let hit = seen_headers.iter().enumerate().position(|(i, (n, v))| {
            !used[i] && n == name && header_value_matches(name, value, v, rules.free, fragment)
        });
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
            Some(seen_json) => compare_json("$", None, &pinned_json, &seen_json, at, found, rules),
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
            (Some(p), Some(s)) => {
                compare_json(&format!("data[{i}]"), None, &p, &s, at, found, rules)
            }
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

/// Every member of the snapshot's value must be in the run's, equal, unless the family
/// frees it (free text, a member it may leave out, case); the run's other members are
/// extensions. `member` is the name the value is under.
fn compare_json(
    path: &str,
    member: Option<&str>,
    pinned: &Value,
    seen: &Value,
    at: usize,
    found: &mut Comparison,
    rules: Rules<'_>,
) {
    match (pinned, seen) {
        (Value::Object(p), Value::Object(s)) => {
            for (k, pv) in p {
                match s.get(k) {
                    Some(sv) => {
                        compare_json(&format!("{path}.{k}"), Some(k), pv, sv, at, found, rules)
                    }
                    None if rules.free.may_omit(k, rules.check_id) => {}
                    None => found.differ(at, format!("member `{path}.{k}` is missing")),
                }
            }
            for k in s.keys().filter(|k| !p.contains_key(*k)) {
                found.extensions.insert(format!("{}.{k}", generic(path)));
            }
        }
        (Value::Array(p), Value::Array(s)) if p.len() == s.len() => {
            for (i, (pv, sv)) in p.iter().zip(s).enumerate() {
                compare_json(&format!("{path}[{i}]"), None, pv, sv, at, found, rules);
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
        (Value::String(p), Value::String(s))
            if member.is_some_and(|m| rules.free.same_in(rules.check_id, m, p, s)) => {}
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
mod tests;
