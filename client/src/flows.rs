//! The OAuth flows of the contract, written once against [`Transport`]: code + PKCE
//! (PP-AUTHZ-1, PP-TOKEN-1), device (PP-DEVICE-1, PP-DEVICE-3), refresh at the token
//! endpoint and at the refresh endpoint (PP-REFRESH-1), and bearer calls. A flow holds no
//! state and does no I/O of its own; who approves is the caller's [`Approver`] (the
//! suite's drivers, a test control). Steps ask only what every caller needs (a 200 where
//! tokens are expected); judging a clause is the caller's job.

use std::future::Future;
use std::time::Duration;

use profile::{App, AppKind, Profile};
use serde_json::Value;

use crate::pkce::Pkce;
use crate::request::{Exchange, Req, enc, query_param};
use crate::transport::Transport;

/// How an app authenticates: `client_id`, plus `client_secret` for a confidential app
/// (PP-APP-2), as body parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAuth {
    pub client_id: String,
    pub secret: Option<String>,
}

impl ClientAuth {
    pub fn new(client_id: &str, secret: Option<&str>) -> ClientAuth {
        ClientAuth {
            client_id: client_id.to_owned(),
            secret: secret.map(str::to_owned),
        }
    }

    /// An app of the identities file: its secret only if it is confidential.
    pub fn of_app(app: &App) -> ClientAuth {
        let secret = match app.kind {
            AppKind::Confidential => app.secret.as_ref().map(|s| s.expose().to_owned()),
            AppKind::Public => None,
        };
        ClientAuth {
            client_id: app.client_id.clone(),
            secret,
        }
    }

    /// `client_id` and, with a secret, `client_secret`.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut p = vec![("client_id".to_owned(), self.client_id.clone())];
        if let Some(s) = &self.secret {
            p.push(("client_secret".to_owned(), s.clone()));
        }
        p
    }

    /// Form pairs: the given ones followed by the client authentication.
    pub fn with(&self, pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        v.extend(self.params());
        v
    }
}

/// Why a flow stopped.
#[derive(Debug, Clone)]
pub enum FlowError<E> {
    /// The transport's error (or the approver's, which speaks the transport's type).
    Transport(E),
    /// An answer the flow cannot go on from, and why.
    Answer {
        exchange: Box<Exchange>,
        why: String,
    },
    /// A step that is not one answer went wrong (a redirect without a code).
    Flow(String),
}

impl<E> From<E> for FlowError<E> {
    fn from(e: E) -> Self {
        FlowError::Transport(e)
    }
}

impl<E: std::fmt::Display> std::fmt::Display for FlowError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlowError::Transport(e) => write!(f, "{e}"),
            FlowError::Answer { exchange, why } => write!(
                f,
                "{} {} answered {}: {why}",
                exchange.req.method,
                exchange.req.route(),
                exchange.status
            ),
            FlowError::Flow(why) => f.write_str(why),
        }
    }
}

fn answer_error<E>(exchange: &Exchange, why: String) -> FlowError<E> {
    FlowError::Answer {
        exchange: Box::new(exchange.clone()),
        why,
    }
}

/// A 200 JSON body, or why not (the texts the suite's reports have always used).
pub fn ok_json(ex: &Exchange) -> Result<Value, String> {
    if ex.status != 200 {
        return Err(format!("expected 200, got {}: {}", ex.status, ex.body));
    }
    ex.json().map_err(|e| {
        format!(
            "the response body is not JSON ({e}); content-type {:?}",
            ex.header("content-type").unwrap_or("none")
        )
    })
}

/// A string member of a JSON body, or why not.
pub fn str_member<'v>(body: &'v Value, key: &str) -> Result<&'v str, String> {
    body.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the body has no string `{key}`: {body}"))
}

/// Who decides for the user: the suite's approval drivers, a test control. It sends
/// through the same transport, so its steps are recorded with the flow's.
pub trait Approver<T: Transport>: Sync {
    /// Approves or denies an authorize request (its path with the query); answers the
    /// `Location` the browser is sent to.
    fn authorize(
        &self,
        t: &mut T,
        authorize_path: &str,
        approve: bool,
    ) -> impl Future<Output = Result<String, FlowError<T::Error>>> + Send;

    /// Approves or denies a device code's user code.
    fn device(
        &self,
        t: &mut T,
        code: &DeviceCode,
        approve: bool,
    ) -> impl Future<Output = Result<(), FlowError<T::Error>>> + Send;

    /// Whether the decision is made when [`Approver::device`] returns (a test control),
    /// so one poll answers; otherwise polls repeat until the user decides.
    fn decides_at_once(&self) -> bool {
        true
    }
}

// --- authorization code + PKCE (PP-AUTHZ-1, PP-TOKEN-1) ---

/// An authorize path with its query, parameters in the given order.
pub fn authorize_path(profile: &Profile, params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    format!("{}?{}", profile.path("authorize"), q.join("&"))
}

/// The standard authorize request (PP-AUTHZ-1): code, the client, its redirect URI, the
/// S256 challenge, then `scope` and `state` when given.
pub fn standard_authorize(
    profile: &Profile,
    client_id: &str,
    redirect_uri: &str,
    pkce: &Pkce,
    scope: Option<&str>,
    state: Option<&str>,
) -> String {
    let mut p = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(s) = scope {
        p.push(("scope", s));
    }
    if let Some(s) = state {
        p.push(("state", s));
    }
    authorize_path(profile, &p)
}

/// A fresh PKCE pair, made known to the transport as made-up values.
pub fn new_pkce<T: Transport>(t: &mut T) -> Pkce {
    let pkce = Pkce::new();
    t.volatile(&pkce.verifier, "code-verifier");
    t.volatile(&pkce.challenge, "code-challenge");
    pkce
}

/// Authorizes the client through the approver and answers the code of the redirect.
pub async fn authorize_code<T: Transport, A: Approver<T>>(
    t: &mut T,
    approver: &A,
    profile: &Profile,
    auth: &ClientAuth,
    redirect_uri: &str,
    pkce: &Pkce,
    scope: Option<&str>,
) -> Result<String, FlowError<T::Error>> {
    let path = standard_authorize(profile, &auth.client_id, redirect_uri, pkce, scope, None);
    let location = approver.authorize(t, &path, true).await?;
    let code = query_param(&location, "code").ok_or_else(|| {
        FlowError::Flow(format!(
            "the approval redirect {location} carries no `code` (RFC 6749 §4.1.2)"
        ))
    })?;
    t.volatile(&code, "code");
    Ok(code)
}

/// The code redemption at the token endpoint (PP-TOKEN-1).
pub fn redeem_req(
    profile: &Profile,
    auth: &ClientAuth,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> Req {
    Req::post(profile.path("token")).form(auth.with(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ]))
}

/// Authorizes the client for a new code (PKCE S256, approved) and redeems it at
/// `redirect_uri`: the token answer as it came.
pub async fn redeem_new_code<T: Transport, A: Approver<T>>(
    t: &mut T,
    approver: &A,
    profile: &Profile,
    auth: &ClientAuth,
    redirect_uri: &str,
    scope: Option<&str>,
) -> Result<Exchange, FlowError<T::Error>> {
    let pkce = new_pkce(t);
    let code = authorize_code(t, approver, profile, auth, redirect_uri, &pkce, scope).await?;
    let req = redeem_req(profile, auth, &code, redirect_uri, &pkce.verifier);
    Ok(t.send(req).await?)
}

/// The whole code flow: tokens.
pub async fn code_tokens<T: Transport, A: Approver<T>>(
    t: &mut T,
    approver: &A,
    profile: &Profile,
    auth: &ClientAuth,
    redirect_uri: &str,
    scope: Option<&str>,
) -> Result<Tokens, FlowError<T::Error>> {
    let ex = redeem_new_code(t, approver, profile, auth, redirect_uri, scope).await?;
    Tokens::read(&ex).map_err(|why| answer_error(&ex, why))
}

/// An access token, a refresh token and their scope (PP-TOKEN-1, PP-SCOPE-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    /// `scope` as answered; empty when the answer has none.
    pub scope: String,
    pub expires_in: Option<u64>,
}

impl Tokens {
    /// Reads a 200 token answer.
    pub fn read(ex: &Exchange) -> Result<Tokens, String> {
        let body = ok_json(ex)?;
        Tokens::from_body(&body)
    }

    pub fn from_body(body: &Value) -> Result<Tokens, String> {
        Ok(Tokens {
            access: str_member(body, "access_token")?.to_owned(),
            refresh: str_member(body, "refresh_token")?.to_owned(),
            scope: body
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            expires_in: body.get("expires_in").and_then(Value::as_u64),
        })
    }
}

// --- device code (PP-DEVICE-1, PP-DEVICE-3) ---

/// A device-code answer (PP-DEVICE-1).
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri_complete: String,
    /// The whole body, for callers that look at more.
    pub body: Value,
}

impl DeviceCode {
    pub fn read(ex: &Exchange) -> Result<DeviceCode, String> {
        let body = ok_json(ex)?;
        Ok(DeviceCode {
            device_code: str_member(&body, "device_code")?.to_owned(),
            user_code: str_member(&body, "user_code")?.to_owned(),
            verification_uri_complete: str_member(&body, "verification_uri_complete")?.to_owned(),
            body,
        })
    }

    /// The poll interval: `interval` as answered, else the profile's, at least 1 s.
    pub fn interval(&self, profile: &Profile) -> Duration {
        let secs = self.body.get("interval").and_then(Value::as_u64);
        Duration::from_secs(
            secs.unwrap_or(profile.lifetimes.device_poll_interval)
                .max(1),
        )
    }

    /// How long the code lives: `expires_in` as answered, else the profile's.
    pub fn lifetime(&self, profile: &Profile) -> Duration {
        let secs = self.body.get("expires_in").and_then(Value::as_u64);
        Duration::from_secs(secs.unwrap_or(profile.lifetimes.device_code))
    }
}

/// The device authorization request (PP-DEVICE-1).
pub fn device_start_req(profile: &Profile, auth: &ClientAuth, scope: Option<&str>) -> Req {
    let scope: Vec<(&str, &str)> = scope.map(|s| ("scope", s)).into_iter().collect();
    Req::post(profile.path("device_code")).form(auth.with(&scope))
}

/// Starts a device authorization: the code and the answer it came in.
pub async fn device_start<T: Transport>(
    t: &mut T,
    profile: &Profile,
    auth: &ClientAuth,
    scope: Option<&str>,
) -> Result<(DeviceCode, Exchange), FlowError<T::Error>> {
    let ex = t.send(device_start_req(profile, auth, scope)).await?;
    let code = DeviceCode::read(&ex).map_err(|why| answer_error(&ex, why))?;
    Ok((code, ex))
}

/// One poll of the device token endpoint (PP-DEVICE-3): `client_id`, `device_code`, and
/// the secret of a confidential app; the optional `grant_type` is not sent.
pub fn device_poll_req(profile: &Profile, auth: &ClientAuth, device_code: &str) -> Req {
    Req::post(profile.path("device_token")).form(auth.with(&[("device_code", device_code)]))
}

/// Polls until the answer is no longer `authorization_pending`, at the code's interval
/// and within its lifetime; only the last poll is recorded. `waiting` is told the time
/// left before each wait (a countdown). With an approver that decides at once, one poll.
pub async fn poll_until_decided<T: Transport>(
    t: &mut T,
    profile: &Profile,
    auth: &ClientAuth,
    code: &DeviceCode,
    decided_at_once: bool,
    mut waiting: impl FnMut(Duration) + Send,
) -> Result<Exchange, T::Error> {
    let req = device_poll_req(profile, auth, &code.device_code);
    if decided_at_once {
        return t.send(req).await;
    }
    let interval = code.interval(profile);
    let deadline = tokio::time::Instant::now() + code.lifetime(profile);
    loop {
        let ex = t.send_unrecorded(req.clone()).await?;
        let now = tokio::time::Instant::now();
        if ex.error_code().as_deref() != Some("authorization_pending") || now > deadline {
            t.keep(&ex);
            return Ok(ex);
        }
        waiting(deadline.saturating_duration_since(now));
        tokio::time::sleep(interval).await;
    }
}

/// The whole device flow, approved: tokens.
pub async fn device_tokens<T: Transport, A: Approver<T>>(
    t: &mut T,
    approver: &A,
    profile: &Profile,
    auth: &ClientAuth,
    scope: Option<&str>,
) -> Result<Tokens, FlowError<T::Error>> {
    let (code, _) = device_start(t, profile, auth, scope).await?;
    approver.device(t, &code, true).await?;
    let ex =
        poll_until_decided(t, profile, auth, &code, approver.decides_at_once(), |_| {}).await?;
    Tokens::read(&ex).map_err(|why| answer_error(&ex, why))
}

// --- refresh (PP-REFRESH-1) and bearer calls ---

/// `grant_type=refresh_token` at the token endpoint (browser apps).
pub fn refresh_at_token_req(
    profile: &Profile,
    auth: &ClientAuth,
    refresh: &str,
    scope: Option<&str>,
) -> Req {
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", refresh)];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    Req::post(profile.path("token")).form(auth.with(&pairs))
}

/// `POST auth/refresh` (device-flow apps).
pub fn refresh_req(profile: &Profile, auth: &ClientAuth, refresh: &str) -> Req {
    Req::post(profile.path("refresh")).form(auth.with(&[("refresh_token", refresh)]))
}

/// A bearer call to a named endpoint of the profile (`me`, `now_playing`).
pub fn bearer_req(profile: &Profile, endpoint: &str, access: &str) -> Req {
    Req::get(profile.path(endpoint)).bearer(access)
}

#[cfg(test)]
mod tests {
    //! The flows against a small authorization server written for the test: it keeps
    //! codes and device codes in memory, checks PKCE, and answers as the contract says,
    //! with extension members and its own identities, so nothing leans on the reference
    //! server's choices.

    use std::collections::BTreeMap;

    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::pkce::s256;
    use crate::request::ReqBody;

    #[derive(Default)]
    struct FakeServer {
        /// code -> (challenge, redirect_uri)
        codes: BTreeMap<String, (String, String)>,
        /// device code -> approved?
        devices: BTreeMap<String, bool>,
        sent: Vec<String>,
        kept: usize,
        volatile: Vec<String>,
        issued: u32,
    }

    fn form(req: &Req) -> BTreeMap<String, String> {
        match &req.body {
            ReqBody::Form(p) => p.iter().cloned().collect(),
            _ => BTreeMap::new(),
        }
    }

    fn answer(req: Req, status: u16, body: Value) -> Exchange {
        Exchange {
            req,
            at: Utc::now(),
            elapsed: Duration::ZERO,
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    impl FakeServer {
        fn tokens(&mut self) -> Value {
            self.issued += 1;
            json!({"access_token": format!("at{}", self.issued), "refresh_token": format!("rt{}", self.issued),
                   "token_type": "Bearer", "expires_in": 3600, "scope": "a b", "x-extension": true})
        }

        fn handle(&mut self, req: Req) -> Exchange {
            let profile = Profile::punchplay();
            let f = form(&req);
            let err = |req, code: &str| answer(req, 400, json!({"error": code, "message": "no"}));
            if f.get("client_id").map(String::as_str) != Some("tv-1") {
                return err(req, "invalid_client");
            }
            let route = req.route().to_owned();
            if route == profile.path("device_code") {
                let dc = format!("dc{}", self.devices.len());
                self.devices.insert(dc.clone(), false);
                let body = json!({"device_code": dc, "user_code": "BCDF-GHJK", "interval": 1, "expires_in": 30,
                    "verification_uri_complete": "http://x/activate?user_code=BCDF-GHJK"});
                return answer(req, 200, body);
            }
            if route == profile.path("device_token") {
                return match self.devices.get(&f["device_code"]).copied() {
                    Some(true) => {
                        self.devices.remove(&f["device_code"]);
                        let t = self.tokens();
                        answer(req, 200, t)
                    }
                    Some(false) => err(req, "authorization_pending"),
                    None => err(req, "expired"),
                };
            }
            if route == profile.path("token") {
                let Some((challenge, redirect)) = self.codes.remove(&f["code"]) else {
                    return err(req, "invalid_grant");
                };
                if s256(&f["code_verifier"]) != challenge || f["redirect_uri"] != redirect {
                    return err(req, "invalid_grant");
                }
                let t = self.tokens();
                return answer(req, 200, t);
            }
            err(req, "not_found")
        }
    }

    impl Transport for FakeServer {
        type Error = String;
        async fn send(&mut self, req: Req) -> Result<Exchange, String> {
            self.sent.push(format!("{} {}", req.method, req.route()));
            self.kept += 1;
            Ok(self.handle(req))
        }
        async fn send_unrecorded(&mut self, req: Req) -> Result<Exchange, String> {
            self.sent.push(format!("{} {}", req.method, req.route()));
            Ok(self.handle(req))
        }
        fn keep(&mut self, _: &Exchange) {
            self.kept += 1;
        }
        fn volatile(&mut self, value: &str, kind: &str) {
            self.volatile.push(format!("{kind}={value}"));
        }
    }

    /// Approves by writing into the fake server, after `polls_first` pending polls for
    /// the device flow.
    struct Approve {
        at_once: bool,
    }

    impl Approver<FakeServer> for Approve {
        async fn authorize(
            &self,
            t: &mut FakeServer,
            path: &str,
            approve: bool,
        ) -> Result<String, FlowError<String>> {
            assert!(approve);
            let challenge = query_param(path, "code_challenge").unwrap();
            let redirect = query_param(path, "redirect_uri").unwrap();
            assert_eq!(
                query_param(path, "code_challenge_method").as_deref(),
                Some("S256")
            );
            t.codes.insert("c-1".into(), (challenge, redirect.clone()));
            Ok(format!("{redirect}?code=c-1&state=x"))
        }
        async fn device(
            &self,
            t: &mut FakeServer,
            code: &DeviceCode,
            _approve: bool,
        ) -> Result<(), FlowError<String>> {
            if self.at_once {
                t.devices.insert(code.device_code.clone(), true);
            }
            Ok(())
        }
        fn decides_at_once(&self) -> bool {
            self.at_once
        }
    }

    fn tv() -> ClientAuth {
        ClientAuth::new("tv-1", None)
    }

    #[tokio::test]
    async fn the_code_flow_sends_a_verifier_that_matches_its_challenge() {
        let mut t = FakeServer::default();
        let p = Profile::punchplay();
        let tokens = code_tokens(
            &mut t,
            &Approve { at_once: true },
            &p,
            &tv(),
            "http://cb/x",
            Some("a b"),
        )
        .await
        .unwrap();
        assert_eq!(tokens.access, "at1");
        assert_eq!(tokens.scope, "a b");
        assert_eq!(tokens.expires_in, Some(3600));
        let kinds: Vec<_> = t
            .volatile
            .iter()
            .map(|v| v.split('=').next().unwrap())
            .collect();
        assert_eq!(kinds, ["code-verifier", "code-challenge", "code"]);
        // A code redeemed twice is an answer the flow reports, not a panic.
        let again = redeem_req(&p, &tv(), "c-1", "http://cb/x", "v");
        let ex = t.send(again).await.unwrap();
        assert_eq!(
            Tokens::read(&ex).unwrap_err(),
            format!("expected 200, got 400: {}", ex.body)
        );
    }

    #[tokio::test]
    async fn a_wrong_client_stops_the_device_flow_at_its_answer() {
        let mut t = FakeServer::default();
        let p = Profile::punchplay();
        let e = device_tokens(
            &mut t,
            &Approve { at_once: true },
            &p,
            &ClientAuth::new("nope", Some("s")),
            None,
        )
        .await
        .unwrap_err();
        let FlowError::Answer { exchange, why } = e else {
            panic!("{e}")
        };
        assert_eq!(exchange.status, 400);
        assert!(why.contains("invalid_client"), "{why}");
    }

    /// RFC 8628 §3.5: no poll goes out before the code's interval has passed, and one goes
    /// out as soon as it has. The flow is polled by hand (tokio-test) on paused time, so
    /// the test sees each step without sleeping.
    #[tokio::test(start_paused = true)]
    async fn no_poll_goes_out_before_the_interval_has_passed() {
        let mut t = FakeServer::default();
        let p = Profile::punchplay();
        let (code, _) = device_start(&mut t, &p, &tv(), Some("a")).await.unwrap();
        let interval = code.interval(&p);
        let auth = tv();
        let token_path = p.path("device_token").to_owned();
        let polls = |t: &FakeServer| t.sent.iter().filter(|s| s.ends_with(&token_path)).count();

        let mut flow =
            tokio_test::task::spawn(poll_until_decided(&mut t, &p, &auth, &code, false, |_| {}));
        tokio_test::assert_pending!(flow.poll(), "waits for the interval after a pending answer");
        tokio::time::advance(interval - Duration::from_millis(1)).await;
        tokio_test::assert_pending!(flow.poll());
        drop(flow);
        assert_eq!(polls(&t), 1, "one poll, none before the interval passed");

        let mut flow =
            tokio_test::task::spawn(poll_until_decided(&mut t, &p, &auth, &code, false, |_| {}));
        tokio_test::assert_pending!(flow.poll());
        tokio::time::advance(interval).await;
        assert!(flow.is_woken(), "the interval's end wakes the flow");
        tokio_test::assert_pending!(flow.poll());
        drop(flow);
        assert_eq!(
            polls(&t),
            3,
            "the interval passed: the next poll went out at once"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn polls_repeat_at_the_interval_until_decided_and_only_the_last_is_kept() {
        let mut t = FakeServer::default();
        let p = Profile::punchplay();
        let (code, _) = device_start(&mut t, &p, &tv(), Some("a")).await.unwrap();
        let mut waits = Vec::new();
        // Nobody decides: the polls stop at the code's lifetime with the pending answer.
        let ex = poll_until_decided(&mut t, &p, &tv(), &code, false, |left| waits.push(left))
            .await
            .unwrap();
        assert_eq!(ex.error_code().as_deref(), Some("authorization_pending"));
        assert!((29..=31).contains(&waits.len()), "{}", waits.len());
        assert_eq!(t.kept, 2, "the start and the last poll");
        // Decided: one more poll gets the tokens, once.
        t.devices.insert(code.device_code.clone(), true);
        let ex = poll_until_decided(&mut t, &p, &tv(), &code, false, |_| {})
            .await
            .unwrap();
        assert_eq!(Tokens::read(&ex).unwrap().access, "at1");
        let ex = poll_until_decided(&mut t, &p, &tv(), &code, true, |_| {})
            .await
            .unwrap();
        assert_eq!(ex.error_code().as_deref(), Some("expired"));
    }

    #[test]
    fn client_authentication_sends_a_secret_only_for_confidential_apps() {
        let ids = profile::Identities::punchplay();
        let web = ids
            .apps
            .iter()
            .find(|a| a.kind == AppKind::Confidential)
            .unwrap();
        let tv = ids.apps.iter().find(|a| a.kind == AppKind::Public).unwrap();
        assert_eq!(ClientAuth::of_app(web).params().len(), 2);
        assert_eq!(ClientAuth::of_app(tv).params().len(), 1);
        let path = standard_authorize(
            &Profile::punchplay(),
            "c",
            "http://h/cb?a=1",
            &Pkce::from_verifier("v"),
            Some("a b"),
            None,
        );
        assert!(
            path.contains("redirect_uri=http%3A%2F%2Fh%2Fcb%3Fa%3D1"),
            "{path}"
        );
        assert!(path.ends_with("&scope=a+b"), "{path}");
    }
}
