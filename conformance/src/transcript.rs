//! A check's transcript: every request it sent and every response it got, in order, plus
//! notes for steps that are not requests (a clock moved, a wait). Rendered, redacted, it
//! is the text compared with the committed snapshot. Approval-driver traffic is kept for
//! the reports but left out of the rendering, so one snapshot serves every driver.

use std::fmt::Write as _;
use std::sync::Arc;

use profile::Profile;
use serde_json::Value;

use crate::client::{Exchange, ReqBody};
use crate::outcome::{Problem, Support};
use crate::redact::Redactor;

#[derive(Debug, Clone)]
pub enum Entry {
    Exchange(Arc<Exchange>),
    Note(String),
}

/// The line (0-based) of a rendered transcript where an exchange's request starts.
pub type ExchangeStart = (usize, Arc<Exchange>);

#[derive(Debug, Clone, Default)]
pub struct Transcript {
    pub entries: Vec<Entry>,
}

/// Request headers worth showing; the rest are transport noise.
const REQUEST_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "accept",
    "last-event-id",
    "x-forwarded-for",
];
/// Response headers worth showing (plus the profile's request-id header, always shown as
/// `[request-id]`): the ones the contract names. A snapshot comparison reads them back.
pub const RESPONSE_HEADERS: &[&str] = &[
    "content-type",
    "cache-control",
    "retry-after",
    "www-authenticate",
    "location",
    "set-cookie",
];

impl Transcript {
    pub fn push(&mut self, ex: Arc<Exchange>) {
        self.entries.push(Entry::Exchange(ex));
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.entries.push(Entry::Note(text.into()));
    }

    pub fn exchanges(&self) -> impl Iterator<Item = &Arc<Exchange>> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Exchange(x) => Some(x),
            Entry::Note(_) => None,
        })
    }

    /// The redacted text of the transcript. Fails (PP-ERR-2, or the format of a token or
    /// timestamp) when a value does not have the format its placeholder stands for.
    pub fn render(&self, redactor: &mut Redactor, profile: &Profile) -> Result<String, Problem> {
        self.render_with_starts(redactor, profile)
            .map(|(text, _)| text)
    }

    /// [`Transcript::render`], and for every rendered exchange the line (0-based) its
    /// request starts at, so a difference from the snapshot can be pinned to its exchange.
    pub fn render_with_starts(
        &self,
        redactor: &mut Redactor,
        profile: &Profile,
    ) -> Result<(String, Vec<ExchangeStart>), Problem> {
        let rendered = self.render_all(redactor, profile);
        match rendered.problems.into_iter().next() {
            Some((_, p)) => Err(p),
            None => Ok((rendered.text, rendered.starts)),
        }
    }

    /// The whole rendering: every exchange rendered, whatever formats it breaks, and the
    /// format problems found, each with the exchange (its index in `starts`) it is in, so
    /// that the check that sees one can tell its own from another clause's (PP-ERR-2).
    pub fn render_all(&self, redactor: &mut Redactor, profile: &Profile) -> Rendered {
        let mut out = String::new();
        let mut starts = Vec::new();
        let mut problems = Vec::new();
        // PP-ERR-2, for a family whose answers carry a request id.
        let request_id = profile.request_id();
        let rid_header = request_id
            .map(|f| f.header.to_ascii_lowercase())
            .unwrap_or_default();
        for entry in &self.entries {
            let ex = match entry {
                Entry::Note(n) => {
                    let _ = writeln!(out, "· {}", redactor.scrub(n));
                    continue;
                }
                Entry::Exchange(ex) if ex.req.driver => continue,
                Entry::Exchange(ex) => ex,
            };
            let support = || Support::from_exchange(ex, &rid_header);
            starts.push((out.matches('\n').count(), ex.clone()));
            // Request.
            let _ = writeln!(out, "→ {} {}", ex.req.method, redactor.scrub(&ex.req.path));
            for (k, v) in &ex.req.headers {
                if k == "last-event-id" && v.trim().parse::<u64>().is_ok() {
                    let _ = writeln!(out, "  {k}: [event-id]");
                } else if k == "authorization"
                    && let Some(shown) = basic_credentials(redactor, v)
                {
                    let _ = writeln!(out, "  {k}: {shown}");
                } else if REQUEST_HEADERS.contains(&k.as_str()) {
                    let _ = writeln!(out, "  {k}: {}", redactor.scrub(v));
                }
            }
            match &ex.req.body {
                ReqBody::None => {}
                ReqBody::Form(pairs) => {
                    let shown: Vec<&(String, String)> = pairs
                        .iter()
                        .filter(|(k, _)| !ex.req.page_fields.contains(k))
                        .collect();
                    // A form of nothing but the page's own fields reads as no body.
                    if !shown.is_empty() {
                        let _ = writeln!(out, "  [form]");
                    }
                    for (k, v) in shown {
                        let v = if chrono::DateTime::parse_from_rfc3339(v).is_ok() {
                            "[timestamp]".to_owned()
                        } else {
                            redactor.scrub(v)
                        };
                        let _ = writeln!(out, "  {k}={v}");
                    }
                }
                ReqBody::Json(v) => {
                    let _ = writeln!(out, "  [json]");
                    indent(&mut out, &pretty(&redactor.scrub_json(v)));
                }
                ReqBody::Raw { content_type, text } => {
                    let _ = writeln!(out, "  [raw {content_type}] {}", redactor.scrub(text));
                }
            }
            // Response: first learn its volatile values (asserting formats), then render.
            let is_api = request_id.is_some()
                && ["platform_api", "public_api"].iter().any(|api| {
                    profile
                        .paths
                        .get(*api)
                        .is_some_and(|path| ex.req.route().starts_with(path.as_str()))
                });
            let header_rid = ex.header(&rid_header);
            if let Some(format) = request_id.filter(|_| is_api) {
                let at = starts.len() - 1;
                match header_rid {
                    None => problems.push((
                        at,
                        Problem::fail_at(
                            format!("PP-ERR-2: the response has no {} header", format.header),
                            support(),
                        ),
                    )),
                    Some(h) if !format.matches(h) => problems.push((
                        at,
                        Problem::fail_at(
                            format!(
                                "PP-ERR-2: {} is {h:?}, not `{}` + {} lowercase hex characters",
                                format.header, format.prefix, format.hex_len
                            ),
                            support(),
                        ),
                    )),
                    Some(_) => {}
                }
            }
            let content_type = ex.header("content-type").unwrap_or("").to_ascii_lowercase();
            let json: Option<Value> = if content_type.contains("json") {
                serde_json::from_str(&ex.body).ok()
            } else {
                None
            };
            if let Some(v) = &json {
                if let Err(e) = redactor.learn_json(v) {
                    problems.push((starts.len() - 1, Problem::fail_at(e.0, support())));
                }
                if is_api
                    && ex.status >= 400
                    && let (Some(body_rid), Some(h)) =
                        (v.get("request_id").and_then(Value::as_str), header_rid)
                    && body_rid != h
                {
                    problems.push((
                        starts.len() - 1,
                        Problem::fail_at(
                            format!(
                                "PP-ERR-2: the body's request_id {body_rid} differs from the header's {h}"
                            ),
                            support(),
                        ),
                    ));
                }
            }
            if let Some(loc) = ex.header("location")
                && let Ok(url) = url::Url::parse(loc)
            {
                for (k, v) in url.query_pairs() {
                    if k == "code" {
                        redactor.register(&v, "code");
                    }
                }
            }
            let _ = writeln!(out, "← {}", ex.status);
            for (k, v) in &ex.headers {
                if *k == rid_header {
                    let _ = writeln!(out, "  {k}: [request-id]");
                } else if k == "retry-after" {
                    let ok = v.trim().parse::<u64>().is_ok_and(|n| n >= 1);
                    let _ = writeln!(
                        out,
                        "  {k}: {}",
                        if ok {
                            "[seconds]".to_owned()
                        } else {
                            v.clone()
                        }
                    );
                } else if k == "set-cookie" && content_type.starts_with("text/html") {
                    // A page's own cookies (a CSRF cookie, say) are the deployment's to
                    // name and set; the session cookie comes with the sign-in's redirect.
                    continue;
                } else if k == "set-cookie" {
                    let name = v.split('=').next().unwrap_or("");
                    let _ = writeln!(out, "  {k}: {name}=[cookie]");
                } else if RESPONSE_HEADERS.contains(&k.as_str()) {
                    let _ = writeln!(out, "  {k}: {}", redactor.scrub(v));
                }
            }
            if let Some(v) = json {
                indent(&mut out, &pretty(&redactor.scrub_json(&v)));
            } else if content_type.starts_with("text/html") {
                let _ = writeln!(out, "  [html page]");
            } else if content_type.starts_with("text/event-stream") {
                render_events(&mut out, redactor, &ex.body);
            } else if !ex.body.is_empty() {
                let mut text = redactor.scrub(&ex.body);
                text.truncate(text.char_indices().nth(2000).map_or(text.len(), |(i, _)| i));
                indent(&mut out, &text);
            }
        }
        Rendered {
            text: out,
            starts,
            problems,
        }
    }
}

/// A transcript rendered whole (see [`Transcript::render_all`]).
pub struct Rendered {
    pub text: String,
    pub starts: Vec<ExchangeStart>,
    /// Format problems, each with the index in `starts` of the exchange it is in.
    pub problems: Vec<(usize, Problem)>,
}

fn render_events(out: &mut String, redactor: &Redactor, body: &str) {
    for block in body.split("\n\n") {
        for line in block.lines() {
            if line.starts_with(':') || line.is_empty() {
                continue; // comments are heartbeats, timed by the wall clock
            }
            if let Some(id) = line.strip_prefix("id:") {
                let shown = if id.trim().parse::<u64>().is_ok() {
                    "[event-id]"
                } else {
                    id.trim()
                };
                let _ = writeln!(out, "  id: {shown}");
            } else if let Some(data) = line.strip_prefix("data:") {
                match serde_json::from_str::<Value>(data.trim()) {
                    Ok(v) => {
                        let _ = writeln!(out, "  data: {}", redactor.scrub_json(&v));
                    }
                    Err(_) => {
                        let _ = writeln!(out, "  data: {}", redactor.scrub(data.trim()));
                    }
                }
            } else {
                let _ = writeln!(out, "  {}", redactor.scrub(line));
            }
        }
    }
}

/// `Basic base64([client:web]:[secret:web])` for HTTP Basic credentials: the pair is
/// shown redacted, so that a made-up secret with a deployment's client id still renders
/// the same for every deployment.
fn basic_credentials(redactor: &Redactor, value: &str) -> Option<String> {
    let encoded = value.strip_prefix("Basic ")?.trim();
    let decoded =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some(format!(
        "Basic base64({}:{})",
        redactor.scrub(id),
        redactor.scrub(secret)
    ))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn indent(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "  {line}");
    }
}
