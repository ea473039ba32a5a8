//! The shell's hook into the request recorder and client observation (issues 21, 22):
//! what a request showed of its client, gathered while it is served ([`Seen`]), and the
//! [`Entry`] made of it, the kernel's notes and the answer once it is written. The test
//! controls are not recorded.

use std::sync::Arc;

use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::request::{OAuthInput, RequestBody, query_params, query_params_with_repeats};
use super::respond::Body;
use super::test_controls::ok_with_now;
use super::{App, Ctx};
use crate::core::error::{ProtocolError, ProtocolResult};
use crate::core::notes::Notes;
use crate::observe::recorder::redact_query;
use crate::observe::{Entry, Sighting, TOOL_HEADER};

/// What the shell saw of a request's client while serving it.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// The `client_id` of its OAuth body or HTTP Basic.
    pub client_id: Option<Arc<str>>,
}

impl Seen {
    /// Takes what observation needs from a parsed OAuth body.
    pub fn oauth_body(&mut self, body: &RequestBody) {
        if let RequestBody::OAuth(_, Ok(input)) = body {
            self.oauth_input(input);
        }
    }

    fn oauth_input(&mut self, (_params, creds): &OAuthInput) {
        self.client_id = creds.client_id.as_deref().map(Arc::from);
    }
}

impl App {
    /// Reads and parses an OAuth body the rate limit did not need, so that its client is
    /// seen; the handler then takes the parse as it would the limit's.
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

    /// Records the answered request.
    pub(crate) fn record(
        &self,
        ctx: &Ctx,
        error: Option<&'static str>,
        status: StatusCode,
        seen: Seen,
        notes: Notes,
    ) {
        let tool = ctx
            .headers
            .get(TOOL_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(64).collect::<String>().into_boxed_str());
        // The body's or Basic's client, a live bearer token's, or an authorize query's.
        let client_id = seen.client_id.or(notes.bearer_client).or_else(|| {
            ctx.query()
                .filter(|q| q.contains("client_id="))
                .and_then(|q| query_params(Some(q)).remove("client_id"))
                .map(Arc::from)
        });
        self.observatory.record(Entry {
            seq: 0,
            at: self.core.now(),
            method: ctx.method.clone(),
            path: ctx.path().into(),
            query: ctx.query().map(|q| redact_query(q).into_boxed_str()),
            status: status.as_u16(),
            client_id,
            request_id: ctx.request_id().into(),
            error,
            tool,
            sighting: Sighting::default(),
        });
    }
}

/// The recorder's test controls (issue 21 item 2), `None` for any other path:
/// - `GET /__test/requests[?client_id=ID][&after=SEQ]`: the recorded requests, oldest
///   first, of that client and after that sequence number, with the count dropped;
/// - `DELETE /__test/requests`: forgets them.
pub(crate) fn test_control(
    app: &App,
    ctx: &Ctx,
    segments: &[&str],
) -> Option<ProtocolResult<Response<Body>>> {
    if segments != ["requests"] {
        return None;
    }
    Some(match ctx.method {
        Method::GET | Method::HEAD => recorded_requests(app, ctx),
        Method::DELETE => {
            let cleared = app.observatory.clear_requests();
            ok_with_now(app, json!({"cleared": cleared}))
        }
        _ => Err(ProtocolError::not_found(format!(
            "There is no test control {} /__test/requests; GET reads the recorded requests, DELETE clears them.",
            ctx.method
        ))),
    })
}

fn recorded_requests(app: &App, ctx: &Ctx) -> ProtocolResult<Response<Body>> {
    let (params, repeated) = query_params_with_repeats(ctx.query());
    if let Some(name) = repeated.first() {
        return Err(ProtocolError::invalid_request(format!(
            "The query repeats `{name}`; give it once."
        )));
    }
    if let Some(name) = params
        .keys()
        .find(|k| !["client_id", "after"].contains(&k.as_str()))
    {
        return Err(ProtocolError::invalid_request(format!(
            "Unknown query parameter `{name}`: /__test/requests takes client_id and after."
        )));
    }
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
