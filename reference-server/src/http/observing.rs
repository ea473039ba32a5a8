//! The shell's hook into the request recorder and client observation (issues 21, 22):
//! what a request showed of its client, gathered while it is served ([`Seen`]), and the
//! [`Entry`] made of it, the kernel's notes and the answer once it is written. The test
//! controls are not recorded.

use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::pages;
use super::request::{OAuthInput, RequestBody, query_params, query_params_with_repeats};
use super::respond::{self, Body};
use super::{App, Ctx};
use crate::core::clock::rfc3339;
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::notes::Notes;
use crate::core::notes::{ClientName, presented_in};
use crate::observe::recorder::{is_secret_param, redact_query};
use crate::observe::{Answered, Entry, Finding, Presented, Sighting, tool_of};

/// What the shell saw of a request's client while serving it.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// The `client_id` of its OAuth body or HTTP Basic.
    pub client_id: Option<ClientName>,
    /// The credential its body presented.
    pub presented: Option<(Presented, u64)>,
}

impl Seen {
    /// Takes what observation needs from a parsed OAuth body.
    pub fn oauth_body(&mut self, body: &RequestBody) {
        if let RequestBody::OAuth(_, Ok(input)) = body {
            self.oauth_input(input);
        }
    }

    fn oauth_input(&mut self, (params, creds): &OAuthInput) {
        self.client_id = creds.client_id.as_deref().map(ClientName::new);
        self.presented = presented_in(params);
    }
}

/// The first credential parameter of a query, by name.
fn query_credential(query: &str) -> Option<Box<str>> {
    query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(n, _)| n))
        .find(|name| is_secret_param(name))
        .map(|name| name.chars().take(64).collect::<String>().into_boxed_str())
}

impl App {
    /// Reads and parses the OAuth body of a request its rate limit refused, so that
    /// observation sees its client; answered requests are seen through the kernel's notes.
    pub(crate) async fn read_oauth_body(&self, ctx: &Ctx, body: RequestBody) -> RequestBody {
        match body {
            RequestBody::Unread(_) => {
                match body
                    .read(&ctx.headers, self.core.profile.http.max_body_bytes)
                    .await
                {
                    Ok(bytes) => {
                        let input = self.pack.oauth_input(&ctx.headers, &bytes);
                        RequestBody::OAuth(bytes, input)
                    }
                    Err(e) => RequestBody::Read(Err(e)),
                }
            }
            read => read,
        }
    }

    /// Records the answered request; `request_id` is the one it carried or minted, if any.
    pub(crate) fn record(
        &self,
        ctx: &Ctx,
        request_id: Option<String>,
        status: StatusCode,
        seen: Seen,
        notes: &Notes,
    ) {
        // Looked up only for the switch that needs it.
        let tool = if self.observatory.excludes_tools() {
            ctx.headers
                .get(hyper::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .and_then(tool_of)
                .map(Box::from)
        } else {
            None
        };
        let query = ctx.query();
        let sighting = Sighting {
            presented: seen.presented.or(notes.presented),
            bearer: notes.bearer,
            query_credential: query.and_then(query_credential),
            notes,
        };
        let query_client;
        // The client a refused body, the kernel or a live bearer token named, or an
        // authorize query's.
        let client = match (&seen.client_id, &notes.client, &notes.bearer_client) {
            (Some(c), _, _) => Some(c.as_str()),
            (None, Some(c), _) => Some(c.as_str()),
            (None, None, Some(c)) => Some(&**c),
            (None, None, None) => {
                query_client = query
                    .filter(|q| q.contains("client_id="))
                    .and_then(|q| query_params(Some(q)).remove("client_id"));
                query_client.as_deref()
            }
        };
        let answered = Answered {
            at: notes.at.unwrap_or_else(|| self.core.now()),
            method: ctx.method.clone(),
            path: ctx.path(),
            query: query.map(|q| redact_query(q).into_boxed_str()),
            status: status.as_u16(),
            request_id,
            error: ctx.answered_error(),
            tool,
        };
        self.observatory.record(answered, client, sighting);
    }
}

/// The recorder's and observation's test controls (issues 21, 22), `None` for any other
/// path:
/// - `GET /__test/requests[?client_id=ID][&after=SEQ]`: the recorded requests, oldest
///   first, of that client and after that sequence number, with the count dropped;
///   `DELETE /__test/requests` forgets them;
/// - `GET /__test/findings[?client_id=ID]`: the findings as JSON, or as a page for a
///   browser (`Accept: text/html`); `DELETE /__test/findings` forgets them;
/// - `GET /__test/client-report[?format=junit]`: what `--client-report` writes at stop.
pub(crate) fn test_control(
    app: &App,
    ctx: &Ctx,
    segments: &[&str],
) -> Option<ProtocolResult<Response<Body>>> {
    let read = matches!(ctx.method, Method::GET | Method::HEAD);
    let delete = ctx.method == Method::DELETE;
    Some(match segments {
        ["requests"] if read => recorded_requests(app, ctx),
        ["requests"] if delete => {
            let cleared = app.observatory.clear_requests();
            ok_with_now(app, json!({"cleared": cleared}))
        }
        ["findings"] if read => findings(app, ctx),
        ["findings"] if delete => {
            let cleared = app.observatory.clear_findings();
            ok_with_now(app, json!({"cleared": cleared}))
        }
        ["client-report"] if read => client_report(app, ctx),
        ["requests" | "findings" | "client-report"] => Err(ProtocolError::not_found(format!(
            "There is no test control {} /__test/{}; GET reads it{}.",
            ctx.method,
            segments[0],
            if segments[0] == "client-report" {
                ""
            } else {
                ", DELETE clears it"
            }
        ))),
        _ => return None,
    })
}

/// The query's parameters, each at most once and each among `allowed`.
fn control_query(ctx: &Ctx, allowed: &[&str]) -> ProtocolResult<crate::core::Params> {
    let (params, repeated) = query_params_with_repeats(ctx.query());
    if let Some(name) = repeated.first() {
        return Err(ProtocolError::invalid_request(format!(
            "The query repeats `{name}`; give it once."
        )));
    }
    if let Some(name) = params.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(ProtocolError::invalid_request(format!(
            "Unknown query parameter `{name}`: /__test{} takes {}.",
            ctx.path().trim_start_matches("/__test"),
            allowed.join(", ")
        )));
    }
    Ok(params)
}

fn findings(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let params = control_query(ctx, &["client_id"])?;
    let client = params.get("client_id").map(String::as_str);
    let (found, dropped) = app.observatory.findings(client);
    let wants_page = ctx
        .headers
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if wants_page {
        let body = format!(
            "<h1>How your clients behaved</h1><p class=\"muted\">What the server saw clients do against the documents' guidance (docs/client-findings.md), on the server's clock. {} finding(s){}; {} dropped as the oldest.</p>{}",
            found.len(),
            client
                .map(|c| format!(" of {}", html_escape::encode_text(c)))
                .unwrap_or_default(),
            dropped,
            findings_table(&found)
        );
        return Ok(respond::html(
            StatusCode::OK,
            pages::page(app, "Client findings", &body),
        ));
    }
    ok_with_now(
        app,
        json!({
            "findings": found.iter().map(Finding::to_json).collect::<Vec<_>>(),
            "dropped": dropped,
        }),
    )
}

fn client_report(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let params = control_query(ctx, &["format"])?;
    let report = app.observatory.report();
    match params.get("format").map(String::as_str) {
        None | Some("json") => ok_with_now(app, report.json),
        Some("junit") => {
            let mut res = respond::json_bytes(StatusCode::OK, report.junit);
            res.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/xml"),
            );
            Ok(res)
        }
        Some(_) => Err(ProtocolError::invalid_request(
            "format must be `json` or `junit`.",
        )),
    }
}

/// Findings as an HTML table: rule and source, client, when, requests, what to do instead.
pub(crate) fn findings_table(found: &[Finding]) -> String {
    if found.is_empty() {
        return "<p>No findings: every request so far followed the rules.</p>".into();
    }
    let rows: String = found
        .iter()
        .map(|f| {
            format!(
                "<tr><td><strong>{}</strong><br><span class=\"muted\">{}</span><br><small>{}</small></td><td>{}</td><td>{}<br><small>{} time(s)</small></td><td><small>{}</small></td><td>{}<br><em>Instead:</em> {}</td></tr>",
                html_escape::encode_text(f.rule.id),
                html_escape::encode_text(f.rule.title),
                html_escape::encode_text(f.rule.source),
                html_escape::encode_text(f.client_id.as_deref().unwrap_or("(no client)")),
                rfc3339(f.first_at),
                f.occurrences,
                html_escape::encode_text(&f.request_ids.join(" ")),
                html_escape::encode_text(&f.detail),
                html_escape::encode_text(f.rule.instead),
            )
        })
        .collect();
    format!(
        "<table><tr><th>rule</th><th>client</th><th>first seen</th><th>request ids</th><th>what happened</th></tr>{rows}</table>"
    )
}

fn recorded_requests(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let params = control_query(ctx, &["client_id", "after"])?;
    let after = match params.get("after") {
        None => 0,
        Some(n) => n.parse::<u64>().map_err(|_| {
            ProtocolError::invalid_request("after must be a sequence number (0 or more).")
        })?,
    };
    let (entries, dropped) = app
        .observatory
        .requests(params.get("client_id").map(String::as_str));
    let requests: Vec<Value> = entries
        .iter()
        .filter(|e| e.seq > after)
        .map(Entry::to_json)
        .collect();
    ok_with_now(
        app,
        json!({
            "requests": requests,
            "dropped": dropped,
            "capacity": crate::observe::CAPACITY,
        }),
    )
}

/// A control's JSON answer with the server's clock as `now`, as every test control's.
fn ok_with_now(app: &App, mut value: Value) -> ProtocolResult<Response<Body>> {
    if let Value::Object(members) = &mut value {
        members.insert("now".into(), Value::String(rfc3339(app.core.now())));
    }
    Ok(respond::json(StatusCode::OK, &value))
}
