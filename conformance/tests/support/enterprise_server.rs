//! A small enterprise deployment written for the tests, apart from the reference server:
//! conformant to every EN clause, but different where a deployment may be (JWT-looking
//! tokens, extension members in every answer, headers of its own such as a framework's
//! `Cache-Control` and `X-Powered-By`, a few milliseconds of latency). With one
//! [`Wrong`] switched on it breaks one clause, the way a faulty deployment would, so a
//! test proves the check of that clause notices. It serves the contract's test controls
//! it needs (clock, enterprise activation, company link) so the clock checks run.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use profile::{Identities, Profile};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// One clause broken on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrong {
    /// EN-TOKEN-2: a wrong secret is 400, not 401.
    InvalidClientStatus,
    /// EN-TOKEN-3: a client of an inactive enterprise gets a token.
    InactiveEnterpriseAdmitted,
    /// EN-VALID-1: the map names only the first missing field.
    ValidationOneField,
    /// EN-INTRO-1: an expired token introspects 200 active.
    IntrospectsExpired,
    /// EN-REVOKE-1: a revoked token still opens /api.
    RevokedStillAccepted,
    /// EN-API-1: a client with no company gets 200 with no tags.
    CompanySkipped,
    /// EN-API-1: a token without the scope is served.
    ScopeSkipped,
    /// EN-RATE-1: one request more than the limit is admitted.
    LimiterAdmitsExtra,
    /// EN-RATE-1 (DECIDED): the 429 has no Retry-After.
    NoRetryAfter,
}

struct Issued {
    client_id: String,
    scope: String,
    expires_at: f64,
    revoked: bool,
}

struct State {
    /// Differ where a deployment may (extension members, headers, latency).
    differs: bool,
    profile: Profile,
    ids: Identities,
    wrong: Option<Wrong>,
    offset: f64,
    tokens: HashMap<String, Issued>,
    admitted: HashMap<IpAddr, VecDeque<f64>>,
    serial: u64,
}

impl State {
    fn now(&self) -> f64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        wall + self.offset
    }
}

pub struct EnterpriseServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl EnterpriseServer {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = self.task.await;
    }
}

/// Starts the server for `profile` and `ids`, breaking `wrong` if given; `differs`: with
/// the extension members, headers and latency a deployment may add (without them its
/// answers are the contract's bare bodies).
pub async fn start(
    profile: Profile,
    ids: Identities,
    wrong: Option<Wrong>,
    differs: bool,
) -> EnterpriseServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let addr = listener.local_addr().expect("an address");
    let state = Arc::new(Mutex::new(State {
        differs,
        profile,
        ids,
        wrong,
        offset: 0.0,
        tokens: HashMap::new(),
        admitted: HashMap::new(),
        serial: 0,
    }));
    let (tx, mut rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut rx => break,
                accepted = listener.accept() => {
                    let Ok((stream, peer)) = accepted else { continue };
                    let state = state.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            serve(state.clone(), peer.ip(), req)
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        }
    });
    EnterpriseServer {
        addr,
        stop: Some(tx),
        task,
    }
}

type Answer = (u16, Value, Vec<(&'static str, String)>);

fn answer(status: u16, body: Value) -> Answer {
    (status, body, Vec::new())
}

/// Adds an extension member to every object of the body, as a deployment may.
fn extend(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for inner in map.values_mut() {
                extend(inner);
            }
            map.insert("x_trace".into(), json!("t-1"));
        }
        Value::Array(items) => items.iter_mut().for_each(extend),
        _ => {}
    }
}

async fn serve(
    state: Arc<Mutex<State>>,
    ip: IpAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let differs = state.lock().unwrap_or_else(|e| e.into_inner()).differs;
    if differs {
        // A little latency, as any network has.
        tokio::time::sleep(Duration::from_millis(u64::from(rand::random::<u8>() % 8))).await;
    }
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = Limited::new(req.into_body(), 65536)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let fields: serde_json::Map<String, Value> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default();
    let (status, mut body, headers) = {
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        route(&mut s, ip, &method, &path, auth.as_deref(), &fields)
    };
    // Extension members everywhere but in the validation map, whose every array member
    // is a field, and the tags list, whose items are the company's.
    if differs && (status != 422 || body.get("success").is_some()) {
        extend(&mut body);
    }
    let content_type = if differs {
        "application/json; charset=UTF-8"
    } else {
        "application/json"
    };
    let mut resp = Response::builder()
        .status(status)
        .header("Content-Type", content_type);
    if differs {
        resp = resp
            .header("Cache-Control", "no-cache, private")
            .header("X-Powered-By", "PHP/8.3.4");
    }
    for (k, v) in headers {
        resp = resp.header(k, v);
    }
    Ok(resp
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a response"))
}

fn route(
    s: &mut State,
    ip: IpAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    fields: &serde_json::Map<String, Value>,
) -> Answer {
    if let Some(control) = path.strip_prefix("/__test/") {
        return test_control(s, control, fields);
    }
    if path.starts_with("/api/") {
        return api(s, ip, method, path, auth);
    }
    match (method, path) {
        ("POST", "/oauth/access-token") => token(s, fields),
        ("POST", "/oauth/introspect") => introspect(s, fields),
        ("POST", "/oauth/revoke") => revoke(s, fields),
        _ => answer(404, json!({"message": "Not found."})),
    }
}

fn test_control(s: &mut State, control: &str, fields: &serde_json::Map<String, Value>) -> Answer {
    let parts: Vec<&str> = control.split('/').collect();
    match parts.as_slice() {
        ["clock", "advance"] => {
            s.offset += fields.get("seconds").and_then(Value::as_f64).unwrap_or(0.0);
            let now = chrono::DateTime::from_timestamp_millis((s.now() * 1000.0) as i64)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            answer(200, json!({ "now": now }))
        }
        ["enterprises", id, action @ ("activate" | "deactivate")] => {
            let Some(e) = s.ids.enterprises.iter_mut().find(|e| e.id == *id) else {
                return answer(404, json!({"message": "Not found."}));
            };
            e.active = *action == "activate";
            answer(200, json!({"enterprise": id, "active": e.active}))
        }
        ["apps", client_id, "company"] => {
            let company = fields
                .get("company")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let Some(app) = s.ids.apps.iter_mut().find(|a| a.client_id == *client_id) else {
                return answer(404, json!({"message": "Not found."}));
            };
            app.company = company.clone();
            answer(200, json!({"client_id": client_id, "company": company}))
        }
        _ => answer(404, json!({"message": "Not found."})),
    }
}

fn token(s: &mut State, fields: &serde_json::Map<String, Value>) -> Answer {
    let field = |name: &str| {
        fields
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let mut missing = serde_json::Map::new();
    for name in ["client_id", "client_secret"] {
        if field(name).is_none() {
            missing.insert(
                name.into(),
                json!([format!("The {} field is required.", name.replace('_', " "))]),
            );
            if s.wrong == Some(Wrong::ValidationOneField) {
                break;
            }
        }
    }
    if !missing.is_empty() {
        return answer(422, Value::Object(missing));
    }
    let (id, secret) = (
        field("client_id").unwrap_or_default(),
        field("client_secret").unwrap_or_default(),
    );
    let app = s
        .ids
        .app(id)
        .filter(|a| a.secret.as_ref().is_some_and(|x| x.expose() == secret))
        .cloned();
    let Some(app) = app else {
        let status = if s.wrong == Some(Wrong::InvalidClientStatus) {
            400
        } else {
            401
        };
        return answer(
            status,
            json!({"success": false, "message": "Client authentication failed. Check client ID/secret.",
                   "details": {"error": "invalid_client", "error_description": "Client authentication failed", "message": "Client authentication failed"}}),
        );
    };
    if !s.ids.enterprise_active(&app) && s.wrong != Some(Wrong::InactiveEnterpriseAdmitted) {
        return answer(
            403,
            json!({"success": false, "message": "Inactive enterprise."}),
        );
    }
    let scope = match field("scope") {
        None => app.allowed_scopes.join(" "),
        Some(asked) => {
            if asked
                .split(' ')
                .any(|x| !app.allowed_scopes.iter().any(|a| a == x))
            {
                let m = "The requested scope is invalid, unknown, or malformed.";
                return answer(
                    400,
                    json!({"success": false, "message": m, "details": {"error": "invalid_scope", "error_description": m, "message": m}}),
                );
            }
            asked.to_owned()
        }
    };
    s.serial += 1;
    let token = format!(
        "eyJhbGciOiJSUzI1NiJ9.{:016x}{:08x}.{:016x}",
        rand::random::<u64>(),
        s.serial,
        rand::random::<u64>()
    );
    let lifetime = s.profile.lifetimes.access_token;
    let expires_at = s.now() + lifetime as f64;
    s.tokens.insert(
        token.clone(),
        Issued {
            client_id: app.client_id.clone(),
            scope: scope.clone(),
            expires_at,
            revoked: false,
        },
    );
    answer(
        200,
        json!({"success": true, "message": "Token issued successfully.",
               "data": {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": scope}}),
    )
}

/// The live token of a `{token}` body: `Err` with the answer when there is none.
fn token_field(fields: &serde_json::Map<String, Value>) -> Result<String, Answer> {
    fields
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| answer(422, json!({"success": false, "message": "Token required."})))
}

fn introspect(s: &mut State, fields: &serde_json::Map<String, Value>) -> Answer {
    let token = match token_field(fields) {
        Ok(t) => t,
        Err(a) => return a,
    };
    let now = s.now();
    let ignore_expiry = s.wrong == Some(Wrong::IntrospectsExpired);
    match s.tokens.get(&token) {
        Some(t) if !t.revoked && (ignore_expiry || t.expires_at > now) => answer(
            200,
            json!({"success": true, "message": "Token is valid.",
                   "data": {"active": true, "client_id": t.client_id, "scope": t.scope, "exp": t.expires_at.floor() as i64}}),
        ),
        _ => answer(
            422,
            json!({"success": false, "message": "Invalid or expired token."}),
        ),
    }
}

fn revoke(s: &mut State, fields: &serde_json::Map<String, Value>) -> Answer {
    let token = match token_field(fields) {
        Ok(t) => t,
        Err(a) => return a,
    };
    let now = s.now();
    match s.tokens.get_mut(&token) {
        Some(t) if !t.revoked && t.expires_at > now => {
            t.revoked = true;
            answer(
                200,
                json!({"success": true, "message": "Token revoked.", "data": null}),
            )
        }
        _ => answer(
            422,
            json!({"success": false, "message": "Token not found."}),
        ),
    }
}

fn api(s: &mut State, ip: IpAddr, method: &str, path: &str, auth: Option<&str>) -> Answer {
    // EN-RATE-1: every request under /api/ counts, whatever its status; refusals do not.
    let now = s.now();
    let limit = s.profile.rate_limit("api").cloned();
    if let Some(limit) = limit {
        let window = limit.window_secs as f64;
        let max = limit.max as usize + usize::from(s.wrong == Some(Wrong::LimiterAdmitsExtra));
        let seen = s.admitted.entry(ip).or_default();
        while seen.front().is_some_and(|t| *t + window <= now) {
            seen.pop_front();
        }
        if seen.len() >= max {
            let oldest = seen.front().copied().unwrap_or(now);
            let wait = ((oldest + window - now).ceil() as u64).max(1);
            let mut a = answer(429, json!({"message": "Too Many Attempts."}));
            if s.wrong != Some(Wrong::NoRetryAfter) {
                a.2.push(("Retry-After", wait.to_string()));
            }
            return a;
        }
        seen.push_back(now);
    }
    let unauthenticated = || answer(401, json!({"message": "Unauthenticated."}));
    let Some(token) = auth
        .and_then(|a| a.strip_prefix("Bearer "))
        .filter(|t| !t.is_empty())
    else {
        return unauthenticated();
    };
    let accept_revoked = s.wrong == Some(Wrong::RevokedStillAccepted);
    let Some(t) = s
        .tokens
        .get(token)
        .filter(|t| (accept_revoked || !t.revoked) && t.expires_at > now)
    else {
        return unauthenticated();
    };
    if path != "/api/tags" {
        return answer(404, json!({"message": "Not found."}));
    }
    if method != "GET" {
        return answer(405, json!({"message": "Method not allowed."}));
    }
    if !t.scope.split(' ').any(|x| x == "tags:read") && s.wrong != Some(Wrong::ScopeSkipped) {
        return answer(
            403,
            json!({"message": "Token does not have the required scope."}),
        );
    }
    let company = s
        .ids
        .app(&t.client_id)
        .and_then(|a| a.company.clone())
        .and_then(|c| s.ids.company(&c).cloned());
    match company {
        Some(c) => answer(200, json!({"data": c.tags})),
        None if s.wrong == Some(Wrong::CompanySkipped) => answer(200, json!({"data": []})),
        None => answer(404, json!({"message": "Company not found."})),
    }
}
