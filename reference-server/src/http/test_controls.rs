//! The test controls every family shares (CONTRACT.md, "The reference server's test
//! controls"): JSON in and out under `/__test/`, served only with `--test-controls`. A
//! family's own controls are asked first (`RulePack::test_control`).

use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Method, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{RequestBody, query_params_with_repeats};
// Where the families' and the recorder's controls have always found them.
use super::respond::{self, Body};
pub(crate) use super::test_answers::{body_as, ok_with_now};
use super::{App, Ctx, session_cookie};
use crate::core::Mode;
use crate::core::authorization_code::AuthorizeError;
use crate::core::clock::rfc3339;
use crate::core::error::{ProtocolError, ProtocolResult};

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

#[derive(Deserialize)]
struct Login {
    username: String,
}

/// `POST /__test/authorize/decide`'s body.
#[derive(Deserialize)]
struct AuthorizeDecide {
    url: String,
    username: String,
    approve: bool,
}

#[derive(Deserialize)]
struct SetMode {
    mode: String,
}

#[derive(Deserialize)]
struct SetFault {
    fault: Option<String>,
}

/// The facts of a test control for the shell: none, but `authorize/decide` answers the
/// client redirect a browser would get, which the fault layer bends like the real one.
pub fn facts(rest: &str) -> super::RouteFacts {
    super::RouteFacts {
        shape: super::fault_layer::ShapeFacts {
            client_redirect: rest == "authorize/decide",
            ..Default::default()
        },
        ..Default::default()
    }
}

pub async fn handle(
    app: &App,
    ctx: &Ctx,
    rest: &str,
    body: RequestBody,
) -> ProtocolResult<Response<Body>> {
    let bytes = body
        .read(&ctx.headers, app.core.profile.http.max_body_bytes)
        .await?;
    let segments: Vec<&str> = rest.split('/').collect();
    if let Some(answer) = app.pack().test_control(app, ctx, &segments, &bytes) {
        return answer;
    }
    if let Some(answer) = super::observing::test_control(app, ctx, &segments) {
        return answer;
    }
    if let Some(answer) = super::test_double::handle(app, ctx, &segments, &bytes) {
        return answer;
    }
    let post = ctx.method == Method::POST;
    match (post, segments.as_slice()) {
        (true, ["clock", "advance"]) => {
            let Advance { seconds } = body_as(&bytes)?;
            if !(seconds.is_finite() && (0.0..=1e10).contains(&seconds)) {
                return Err(ProtocolError::invalid_request(
                    "seconds must be a number from 0 up.",
                ));
            }
            let now = app.core.clock.advance((seconds * 1000.0).round() as u64);
            ok_with_now(app, json!({"now": rfc3339(now)}))
        }
        (false, ["clock"]) => ok_with_now(app, json!({})),
        (true, ["login"]) => {
            let Login { username } = body_as(&bytes)?;
            if app.core.user_profile(&username).is_none() {
                return Err(ProtocolError::not_found(format!(
                    "There is no user `{username}`."
                )));
            }
            let sid = app.core.open_session(&username);
            let cookie = session_cookie(&sid, app.core.profile.lifetimes.session);
            let mut res = respond::json(
                StatusCode::OK,
                &json!({
                    "cookie": format!("{}={sid}", crate::core::sessions::SESSION_COOKIE),
                    "now": rfc3339(app.core.now()),
                }),
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(SET_COOKIE, v);
            }
            Ok(res)
        }
        (true, ["authorize", "decide"]) if app.pack().authorize_redirects().is_some() => {
            let AuthorizeDecide {
                url,
                username,
                approve,
            } = body_as(&bytes)?;
            let location = authorize_decide(app, ctx, &url, &username, approve)?;
            ok_with_now(app, json!({"location": location}))
        }
        (true, ["apps", client_id, "deactivate"]) => {
            let (_, revoked) = app.core.deactivate_app(None, client_id)?;
            ok_with_now(
                app,
                json!({"client_id": client_id, "active": false, "revoked_tokens": revoked}),
            )
        }
        (true, ["users", user, "apps", client_id, "revoke"]) => {
            let revoked = app.core.revoke_user_app(user, client_id)?;
            ok_with_now(app, json!({"revoked_tokens": revoked}))
        }
        (true, ["mode"]) => {
            let SetMode { mode } = body_as(&bytes)?;
            let parsed = Mode::parse(&mode).ok_or_else(|| {
                ProtocolError::invalid_request(
                    "mode must be `normal`, `temporarily_unavailable` or `server_error`.",
                )
            })?;
            app.core.set_mode(parsed);
            ok_with_now(app, json!({"mode": parsed.as_str()}))
        }
        (true, ["fault"]) => {
            let SetFault { fault } = body_as(&bytes)?;
            let fault = app.core.set_fault(fault.as_deref())?;
            if let Some(f) = fault {
                tracing::warn!(fault = f.name, clause = f.clause, "fault switched on");
            }
            ok_with_now(app, json!({"fault": fault.map(|f| f.name)}))
        }
        (false, ["fault"]) => {
            // The running family's faults: the only ones this server switches on.
            let faults: Vec<Value> = app
                .core
                .faults()
                .iter()
                .map(|f| json!({"name": f.name, "clause": f.clause, "description": f.description}))
                .collect();
            ok_with_now(
                app,
                json!({"fault": app.core.fault().map(|f| f.name), "faults": faults}),
            )
        }
        (true, ["reset"]) => {
            app.core.reset();
            ok_with_now(app, json!({"reset": true}))
        }
        _ => Err(ProtocolError::not_found(format!(
            "There is no test control {} /__test/{rest}.",
            ctx.method
        ))),
    }
}

/// `POST /__test/authorize/decide`: decides a full authorize URL as `username` would on
/// the consent page; the `Location` the browser would get, by the family's redirects, or
/// the error of a request that cannot be sent back to the client (PP-AUTHZ-5, FX-AUTHZ-2).
fn authorize_decide(
    app: &App,
    ctx: &Ctx,
    url: &str,
    username: &str,
    approve: bool,
) -> ProtocolResult<String> {
    let Some(redirects) = app.pack().authorize_redirects() else {
        return Err(ProtocolError::not_found(
            "This server has no authorize endpoint.",
        ));
    };
    if app.core.user_profile(username).is_none() {
        return Err(ProtocolError::not_found(format!(
            "There is no user `{username}`."
        )));
    }
    let query = url.split_once('?').map(|(_, q)| q);
    let (params, repeated) = query_params_with_repeats(query);
    match app.core.validate_authorize(&params, &repeated) {
        Ok(request) => Ok(redirects.decision_location(app, ctx, username, &request, approve)),
        Err(err) => match (redirects.error_location(app, ctx, &err), err) {
            (Some(location), _) => Ok(location),
            (None, AuthorizeError::Page(e) | AuthorizeError::Redirect { error: e, .. }) => Err(e),
        },
    }
}
