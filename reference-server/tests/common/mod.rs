//! What every integration test shares: a server started in-process on `127.0.0.1:0` with
//! the test controls on, one HTTP wrapper that checks the request-id rules (PP-ERR-1,
//! PP-ERR-2) on every response it sees, and one helper per protocol job: PKCE pairs,
//! authorize, code exchange, device login, refresh, the live event stream. The flows,
//! PKCE, the error-envelope reading and the event-stream reading are the client crate's
//! (`contract_client`); approvals go through the test controls.
//!
//! The fixture identities are the ones `CONTRACT.md` ("Fixtures") fixes; numbers
//! (lifetimes, limits) are read from the profile, never written down here.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use contract_client::families::punchplay::{EnvelopeProblem, ErrorAnswer};
use contract_client::flows::{self, Approver, ClientAuth, DeviceCode, FlowError};
use contract_client::{Exchange, HttpTransport, Req, ReqBody, Transport, TransportError};
use reference_server::{RunningServer, ServerConfig};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

pub use contract_client::Pkce;
pub use profile::Profile;

/// Every request of the suite gives up after this long, so no test can hang.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

pub const USER: &str = "alice";
pub const OTHER_USER: &str = "bob";

/// A fixture app as a client holds it (CONTRACT.md, "Fixtures").
#[derive(Debug, Clone)]
pub struct ClientApp {
    pub client_id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
    pub name: String,
}

impl ClientApp {
    fn new(client_id: &str, secret: Option<&str>, redirect_uri: &str, name: &str) -> Self {
        ClientApp {
            client_id: client_id.into(),
            secret: secret.map(Into::into),
            redirect_uri: redirect_uri.into(),
            name: name.into(),
        }
    }

    /// `pp-web`: confidential, all four scopes.
    pub fn web() -> Self {
        Self::new(
            "pp-web",
            Some("pp-web-secret"),
            "http://127.0.0.1:8765/callback",
            "Couch Critic Web",
        )
    }

    /// `pp-tv`: public, all four scopes, no redirect URIs (device flow).
    pub fn tv() -> Self {
        Self::new("pp-tv", None, "", "Living Room TV")
    }

    /// `pp-spa`: public, `profile:read playback:read`.
    pub fn spa() -> Self {
        Self::new("pp-spa", None, "http://127.0.0.1:8765/spa", "Binge Buddy")
    }

    /// `pp-inactive`: confidential and deactivated.
    pub fn inactive() -> Self {
        Self::new(
            "pp-inactive",
            Some("pp-inactive-secret"),
            "http://127.0.0.1:8765/callback",
            "Retired Widget",
        )
    }

    /// An app as `POST /developer/apps` answered it (PP-APP-7): its first redirect URI, and
    /// its secret if it has one.
    pub fn registered(created: &Value) -> Self {
        ClientApp {
            client_id: created["client_id"].as_str().expect("client_id").to_owned(),
            secret: created["client_secret"].as_str().map(str::to_owned),
            redirect_uri: created["redirect_uris"][0]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            name: created["name"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// The app's client authentication as the client crate sends it.
    pub fn auth(&self) -> ClientAuth {
        ClientAuth::new(&self.client_id, self.secret.as_deref())
    }

    /// `client_id` and, for a confidential app, `client_secret` as body parameters (PP-APP-2).
    pub fn credentials(&self) -> Vec<(String, String)> {
        self.auth().params()
    }
}

/// The token pair a token endpoint answered (PP-TOKEN-1).
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub scope: String,
    pub expires_in: u64,
}

impl Tokens {
    /// Reads a 200 token response, checking the fields PP-TOKEN-1 and PP-SCOPE-4 name and
    /// `Cache-Control: no-store` (PP-TOKEN-4).
    pub fn from_reply(reply: &Reply) -> Tokens {
        assert_eq!(
            reply.status,
            200,
            "expected a token response, got {}",
            reply.describe()
        );
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "PP-TOKEN-4: token responses are no-store"
        );
        let body = reply.json();
        assert_eq!(body["token_type"], "Bearer", "PP-TOKEN-1: {body}");
        let field = |k: &str| {
            body[k]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| panic!("PP-TOKEN-1: `{k}` missing in {body}"))
                .to_owned()
        };
        Tokens {
            access_token: field("access_token"),
            refresh_token: field("refresh_token"),
            scope: body["scope"]
                .as_str()
                .unwrap_or_else(|| panic!("PP-SCOPE-4: `scope` missing in {body}"))
                .to_owned(),
            expires_in: body["expires_in"]
                .as_u64()
                .unwrap_or_else(|| panic!("PP-TOKEN-1: `expires_in` missing in {body}")),
        }
    }
}

/// One whole response: status, headers and body, read at once.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("expected JSON ({e}), got {}", self.describe()))
    }

    /// `X-PunchPlay-Request-Id`, whose presence and format [`send`] already checked.
    pub fn request_id(&self) -> &str {
        self.header(REQUEST_ID_HEADER).expect("checked by send")
    }

    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("expected a Location header, got {}", self.describe()))
    }

    /// The query parameters of the `Location` header.
    pub fn location_params(&self) -> Vec<(String, String)> {
        query_of(self.location())
    }

    pub fn is_html(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    }

    pub fn describe(&self) -> String {
        let mut text = self.text();
        text.truncate(600);
        format!("{} {text}", self.status)
    }

    /// Checks a 200 JSON answer and returns its body.
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "expected 200, got {}", self.describe());
        self.json()
    }

    /// Checks an error in the punchplay envelope (PP-ERR-1): the status, `error`, a
    /// message a person can read and `request_id` equal to the header (PP-ERR-2).
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status, self.error_code().as_deref()),
            (status, Some(code)),
            "expected {status} {code}, got {}",
            self.describe()
        );
        let answer = self.error_answer();
        assert_eq!(
            answer.envelope_problem(),
            None,
            "PP-ERR-1, PP-ERR-2: {}",
            self.describe()
        );
        self.json()
    }

    /// The body and request-id header read as punchplay's error envelope.
    pub fn error_answer(&self) -> ErrorAnswer {
        ErrorAnswer::read(REQUEST_ID_HEADER, |h| self.header(h), &self.body)
    }

    /// The `error` of a JSON error body, if it is one.
    pub fn error_code(&self) -> Option<String> {
        self.error_answer().error
    }

    /// A reply of the client crate's exchange.
    pub fn of_exchange(ex: Exchange) -> Reply {
        let mut headers = HeaderMap::new();
        for (name, value) in &ex.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(n, v);
            }
        }
        Reply {
            status: ex.status,
            headers,
            body: ex.body.into_bytes(),
        }
    }
}

pub const REQUEST_ID_HEADER: &str = "x-punchplay-request-id";

/// PP-ERR-2 (DECIDED format): `ppreq_` + 20 lowercase hex characters.
pub fn is_request_id(value: &str) -> bool {
    value.strip_prefix("ppreq_").is_some_and(|hex| {
        hex.len() == 20
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// PP-ERR-2: the header is on every response and has the documented format.
pub fn check_request_id_header(headers: &HeaderMap, what: &str) -> String {
    let id = headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("PP-ERR-2: {what} has no X-PunchPlay-Request-Id"));
    assert!(is_request_id(id), "PP-ERR-2: {what} has request id `{id}`");
    id.to_owned()
}

/// Sends a request and reads the whole answer. Every response of the suite passes
/// through here, so every one is checked for PP-ERR-2: the header is present and well
/// formed, and on an error that is not a page it equals the body's `request_id`.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("the request failed: {e:?}"));
    read(response).await
}

pub async fn read(response: reqwest::Response) -> Reply {
    let what = format!("{} {}", response.status(), response.url().path());
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("reading {what}: {e:?}"))
        .to_vec();
    let id = check_request_id_header(&headers, &what);
    let reply = Reply {
        status,
        headers,
        body,
    };
    check_error_envelope(&reply, &id, &what);
    reply
}

/// PP-ERR-1, PP-ERR-2 on an error that is not a page: `error` is a string and the body's
/// `request_id` equals the header.
fn check_error_envelope(reply: &Reply, id: &str, what: &str) {
    if reply.status < 400 || reply.is_html() {
        return;
    }
    let answer = reply.error_answer();
    assert_eq!(
        answer.body_request_id.as_deref(),
        Some(id),
        "PP-ERR-2 on {what}: {}",
        reply.describe()
    );
    assert!(
        !matches!(
            answer.envelope_problem(),
            Some(EnvelopeProblem::NotJson | EnvelopeProblem::NoError(_))
        ),
        "PP-ERR-1 on {what}: {}",
        reply.describe()
    );
}

/// Sends a request of the client crate and reads it as [`send`] does, with the same
/// PP-ERR-2 checks.
pub async fn send_req(transport: &mut HttpTransport, req: Req) -> Reply {
    let what = format!("{} {}", req.method, req.route());
    let ex = transport
        .send(req)
        .await
        .unwrap_or_else(|e| panic!("the request failed: {e}"));
    let reply = Reply::of_exchange(ex);
    let id = check_request_id_header(&reply.headers, &what);
    check_error_envelope(&reply, &id, &what);
    reply
}

/// [`AsUser`] that also asserts the approval redirects to the app's redirect URI
/// (PP-AUTHZ-3).
pub struct ApproveAt<'a> {
    pub as_user: AsUser<'a>,
    pub redirect_uri: &'a str,
}

impl Approver<HttpTransport> for ApproveAt<'_> {
    async fn authorize(
        &self,
        t: &mut HttpTransport,
        authorize_path: &str,
        approve: bool,
    ) -> Result<String, FlowError<TransportError>> {
        let location = self.as_user.authorize(t, authorize_path, approve).await?;
        assert!(
            location.starts_with(self.redirect_uri),
            "PP-AUTHZ-3: {location}"
        );
        Ok(location)
    }

    async fn device(
        &self,
        t: &mut HttpTransport,
        code: &DeviceCode,
        approve: bool,
    ) -> Result<(), FlowError<TransportError>> {
        self.as_user.device(t, code, approve).await
    }
}

/// The form pairs of a request the client crate built.
fn form_of(req: Req) -> Vec<(String, String)> {
    match req.body {
        ReqBody::Form(pairs) => pairs,
        other => panic!("expected a form, the client crate built {other:?}"),
    }
}

/// The test controls approving as one user: the client crate's flows ask it.
pub struct AsUser<'a> {
    pub server: &'a TestServer,
    pub user: &'a str,
}

impl Approver<HttpTransport> for AsUser<'_> {
    async fn authorize(
        &self,
        _: &mut HttpTransport,
        authorize_path: &str,
        approve: bool,
    ) -> Result<String, FlowError<TransportError>> {
        let url = self.server.url(authorize_path);
        Ok(self.server.decide(&url, self.user, approve).await)
    }

    async fn device(
        &self,
        _: &mut HttpTransport,
        code: &DeviceCode,
        approve: bool,
    ) -> Result<(), FlowError<TransportError>> {
        self.server
            .device_decide(&code.user_code, self.user, approve)
            .await;
        Ok(())
    }
}

/// A form from borrowed pairs.
pub fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The query parameters of a URL (or of anything after its `?`).
pub fn query_of(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Checks the query of an error redirect from authorize (PP-AUTHZ-4): `error` as
/// expected, `state` echoed, a well-formed `request_id` (PP-ERR-2) and no `code`.
/// Answers the parameters.
pub fn assert_error_redirect(location: &str, error: &str, state: &str) -> Vec<(String, String)> {
    let params = query_of(location);
    assert_eq!(param(&params, "error"), Some(error), "{location}");
    assert_eq!(param(&params, "state"), Some(state), "{location}");
    assert!(
        param(&params, "request_id").is_some_and(is_request_id),
        "PP-AUTHZ-4: the redirect names the request: {location}"
    );
    assert_eq!(param(&params, "code"), None, "{location}");
    params
}

/// The `value` of `<input type="hidden" name="NAME" value="...">` in a page.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html_unescape(&html[start..end]))
}

/// The CSRF token a page's forms carry (issue 12 item 6).
pub fn page_csrf(html: &str) -> String {
    hidden_input(html, "csrf_token").unwrap_or_else(|| panic!("no csrf_token in {html}"))
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A client that follows no redirects (the tests read `Location`) and keeps no cookies.
pub fn client() -> reqwest::Client {
    builder().build().expect("a client")
}

/// A client whose connections leave from `ip` (any of 127.0.0.0/8 on Linux), so a test
/// can be several IPs for the per-IP limits (PP-RATE-4).
pub fn client_from(ip: Ipv4Addr) -> reqwest::Client {
    builder()
        .local_address(IpAddr::V4(ip))
        .build()
        .expect("a client")
}

/// A client with a cookie jar, as a browser signs in.
pub fn browser() -> reqwest::Client {
    builder().cookie_store(true).build().expect("a client")
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
}

/// A reference server on `127.0.0.1:0` with the test controls on, stopped when dropped.
pub struct TestServer {
    server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
    pub profile: Profile,
}

impl TestServer {
    /// The punchplay profile and fixtures, test controls on.
    pub async fn start() -> Self {
        Self::start_with(ServerConfig {
            test_controls: true,
            ..ServerConfig::punchplay()
        })
        .await
    }

    pub async fn start_with(config: ServerConfig) -> Self {
        let profile = config.profile.clone();
        let server = reference_server::spawn(config)
            .await
            .expect("the server starts on 127.0.0.1:0");
        TestServer {
            base: server.base_url(),
            server,
            http: client(),
            profile,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Stops the server gracefully and waits for it (`RunningServer::stop`).
    pub async fn stop(self) {
        self.server.stop().await;
    }

    /// The absolute URL of a path (`/oauth/authorize?x=1`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The absolute URL of a named endpoint of the profile (`token`, `me`, ...).
    pub fn endpoint(&self, name: &str) -> String {
        self.url(self.profile.path(name))
    }

    /// The URL of a templated endpoint with its parameter filled in (`playback`, `start`).
    pub fn endpoint_with(&self, name: &str, value: &str) -> String {
        let template = self.profile.path(name);
        let filled = template
            .find('{')
            .and_then(|start| {
                template[start..]
                    .find('}')
                    .map(|end| (start, start + end + 1))
            })
            .map_or_else(
                || template.to_owned(),
                |(s, e)| format!("{}{value}{}", &template[..s], &template[e..]),
            );
        self.url(&filled)
    }

    pub async fn get(&self, url: &str) -> Reply {
        send(self.http.get(url)).await
    }

    pub async fn get_with_bearer(&self, url: &str, token: &str) -> Reply {
        send(self.http.get(url).bearer_auth(token)).await
    }

    pub async fn post_form(&self, url: &str, form: &[(String, String)]) -> Reply {
        send(self.http.post(url).form(form)).await
    }

    pub async fn post_json(&self, url: &str, body: &Value) -> Reply {
        send(self.http.post(url).json(body)).await
    }

    /// A test control (`POST /__test/...`); answers its JSON, which must be a 200.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let reply = self
            .post_json(&self.url(&format!("/__test/{path}")), &body)
            .await;
        assert_eq!(
            reply.status,
            200,
            "test control {path}: {}",
            reply.describe()
        );
        reply.json()
    }

    /// Moves the server's clock forward (`POST /__test/clock/advance`).
    pub async fn advance(&self, seconds: f64) {
        let answer = self
            .control("clock/advance", json!({"seconds": seconds}))
            .await;
        assert!(answer["now"].is_string(), "{answer}");
    }

    /// A signed-in user's session cookie, `pp_session=...` (`POST /__test/login`).
    pub async fn session_cookie(&self, user: &str) -> String {
        let answer = self.control("login", json!({"username": user})).await;
        answer["cookie"].as_str().expect("a cookie").to_owned()
    }

    /// Registers an app as JSON for the user of `cookie` (PP-APP-7); answers the reply.
    pub async fn register_app(&self, cookie: &str, app: &Value) -> Reply {
        let request = self
            .http
            .post(self.url("/developer/apps"))
            .header("cookie", cookie);
        send(request.header("accept", "application/json").json(app)).await
    }

    /// Signs a browser in through the sign-in form, with the fixture password; answers
    /// the 303. As a browser: the form's page first, then its CSRF token goes along.
    pub async fn sign_in(&self, browser: &reqwest::Client, user: &str, next: &str) -> Reply {
        let password = format!("{user}-password");
        self.sign_in_with(browser, user, &password, next).await
    }

    /// Submits the sign-in form with any password, its page's CSRF token included.
    pub async fn sign_in_with(
        &self,
        browser: &reqwest::Client,
        user: &str,
        password: &str,
        next: &str,
    ) -> Reply {
        let csrf = self.csrf_token(browser, "/login").await;
        let form = form(&[
            ("username", user),
            ("password", password),
            ("next", next),
            ("csrf_token", &csrf),
        ]);
        send(browser.post(self.url("/login")).form(&form)).await
    }

    /// The CSRF token of the page at `path`, as `browser` (whose cookie jar then holds
    /// `pp_csrf`) sees it: the `csrf_token` hidden input of its forms.
    pub async fn csrf_token(&self, browser: &reqwest::Client, path: &str) -> String {
        let page = send(browser.get(self.url(path))).await;
        hidden_input(&page.text(), "csrf_token")
            .unwrap_or_else(|| panic!("no csrf_token on {path}: {}", page.describe()))
    }

    pub async fn set_mode(&self, mode: &str) {
        self.control("mode", json!({"mode": mode})).await;
    }

    /// A good request that must still work: the server keeps serving after bad input.
    pub async fn assert_still_serving(&self) {
        let reply = self.get(&self.endpoint_with("public_user", USER)).await;
        let body = reply.ok();
        assert_eq!(body["username"], USER);
    }

    // --- authorization code + PKCE (PP-AUTHZ-*, PP-TOKEN-*) ---

    /// The authorize URL an app would send a browser to (PP-AUTHZ-1).
    pub fn authorize_url(
        &self,
        app: &ClientApp,
        pkce: &Pkce,
        scope: Option<&str>,
        state: Option<&str>,
    ) -> String {
        self.url(&flows::standard_authorize(
            &self.profile,
            &app.client_id,
            &app.redirect_uri,
            pkce,
            scope,
            state,
        ))
    }

    /// A plain transport to this server for the client crate's flows.
    pub fn transport(&self) -> HttpTransport {
        HttpTransport::new(self.http.clone(), &self.base)
    }

    /// The test controls approving as `user`.
    pub fn as_user<'a>(&'a self, user: &'a str) -> AsUser<'a> {
        AsUser { server: self, user }
    }

    /// An authorize URL from raw parameters, for requests that are wrong on purpose.
    pub fn authorize_url_from(&self, pairs: &[(&str, &str)]) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("{}?{query}", self.endpoint("authorize"))
    }

    /// Decides an authorize URL as `user` (`POST /__test/authorize/decide`); answers the
    /// `Location` the browser would be sent to.
    pub async fn decide(&self, url: &str, user: &str, approve: bool) -> String {
        let answer = self
            .control(
                "authorize/decide",
                json!({"url": url, "username": user, "approve": approve}),
            )
            .await;
        answer["location"].as_str().expect("a location").to_owned()
    }

    /// An authorization code for `app`, approved by `user` (the client crate's flow).
    pub async fn authorization_code(
        &self,
        app: &ClientApp,
        user: &str,
        pkce: &Pkce,
        scope: Option<&str>,
    ) -> String {
        let approval = ApproveAt {
            as_user: self.as_user(user),
            redirect_uri: &app.redirect_uri,
        };
        let (profile, auth) = (&self.profile, app.auth());
        let redirect = &app.redirect_uri;
        flows::authorize_code(
            &mut self.transport(),
            &approval,
            profile,
            &auth,
            redirect,
            pkce,
            scope,
        )
        .await
        .unwrap_or_else(|e| panic!("PP-AUTHZ-3: {e}"))
    }

    /// The code-exchange form (PP-TOKEN-1).
    pub fn exchange_form(
        &self,
        app: &ClientApp,
        code: &str,
        verifier: &str,
    ) -> Vec<(String, String)> {
        form_of(flows::redeem_req(
            &self.profile,
            &app.auth(),
            code,
            &app.redirect_uri,
            verifier,
        ))
    }

    /// Redeems a code at the token endpoint.
    pub async fn exchange(&self, app: &ClientApp, code: &str, verifier: &str) -> Reply {
        let req = flows::redeem_req(
            &self.profile,
            &app.auth(),
            code,
            &app.redirect_uri,
            verifier,
        );
        send_req(&mut self.transport(), req).await
    }

    /// A user's tokens for `app` through the code flow (the client crate's, approved by
    /// the test control; the token answer is checked as [`Tokens::from_reply`] does).
    pub async fn code_login(&self, app: &ClientApp, user: &str, scope: Option<&str>) -> Tokens {
        let approval = ApproveAt {
            as_user: self.as_user(user),
            redirect_uri: &app.redirect_uri,
        };
        let (profile, auth, redirect) = (&self.profile, app.auth(), &app.redirect_uri);
        let ex = flows::redeem_new_code(
            &mut self.transport(),
            &approval,
            profile,
            &auth,
            redirect,
            scope,
        )
        .await
        .unwrap_or_else(|e| panic!("PP-AUTHZ-3: {e}"));
        Tokens::from_reply(&Reply::of_exchange(ex))
    }

    // --- device code (PP-DEVICE-*) ---

    /// Starts a device authorization (PP-DEVICE-1); answers the 200 body.
    pub async fn device_start(&self, app: &ClientApp, scope: Option<&str>) -> Value {
        let req = flows::device_start_req(&self.profile, &app.auth(), scope);
        send_req(&mut self.transport(), req).await.ok()
    }

    /// One poll of the device token endpoint (PP-DEVICE-3).
    pub async fn device_poll(&self, app: &ClientApp, device_code: &str) -> Reply {
        let req = flows::device_poll_req(&self.profile, &app.auth(), device_code);
        send_req(&mut self.transport(), req).await
    }

    /// Asks `POST /__test/device/decide` for a decision and answers the reply as it is, for
    /// a user code that must not be decided.
    pub async fn device_decision(&self, user_code: &str, user: &str, approve: bool) -> Reply {
        let body = json!({"user_code": user_code, "username": user, "approve": approve});
        self.post_json(&self.url("/__test/device/decide"), &body)
            .await
    }

    /// Approves or denies a user code as `user` (`POST /__test/device/decide`).
    pub async fn device_decide(&self, user_code: &str, user: &str, approve: bool) {
        let answer = self
            .control(
                "device/decide",
                json!({"user_code": user_code, "username": user, "approve": approve}),
            )
            .await;
        assert_eq!(answer["approved"], approve, "{answer}");
    }

    /// A user's tokens for `app` through the device flow (the client crate's steps,
    /// approved by the test control; the token answer is checked as [`Tokens::from_reply`]
    /// does).
    pub async fn device_login(&self, app: &ClientApp, user: &str, scope: Option<&str>) -> Tokens {
        let mut t = self.transport();
        let auth = app.auth();
        let (code, _) = flows::device_start(&mut t, &self.profile, &auth, scope)
            .await
            .unwrap_or_else(|e| panic!("PP-DEVICE-1: {e}"));
        let approval = self.as_user(user);
        approval
            .device(&mut t, &code, true)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let ex = flows::poll_until_decided(&mut t, &self.profile, &auth, &code, true, |_| {})
            .await
            .unwrap_or_else(|e| panic!("PP-DEVICE-3: {e}"));
        Tokens::from_reply(&Reply::of_exchange(ex))
    }

    // --- refresh (PP-REFRESH-*) ---

    pub fn refresh_form(&self, app: &ClientApp, refresh_token: &str) -> Vec<(String, String)> {
        form_of(flows::refresh_at_token_req(
            &self.profile,
            &app.auth(),
            refresh_token,
            None,
        ))
    }

    /// A refresh at the token endpoint (browser apps, PP-REFRESH-1).
    pub async fn refresh_at_token(&self, app: &ClientApp, refresh_token: &str) -> Reply {
        let req = flows::refresh_at_token_req(&self.profile, &app.auth(), refresh_token, None);
        send_req(&mut self.transport(), req).await
    }

    /// A refresh at `auth/refresh` (device apps, PP-REFRESH-1).
    pub async fn refresh_at_auth(&self, app: &ClientApp, refresh_token: &str) -> Reply {
        let req = flows::refresh_req(&self.profile, &app.auth(), refresh_token);
        send_req(&mut self.transport(), req).await
    }

    // --- the bearer API (PP-API-*) ---

    /// `user`'s access token for `pp-web` through the code flow, with every scope.
    pub async fn web_access_token(&self, user: &str) -> String {
        self.code_login(&ClientApp::web(), user, None)
            .await
            .access_token
    }

    pub async fn me(&self, access_token: &str) -> Reply {
        let req = flows::bearer_req(&self.profile, "me", access_token);
        send_req(&mut self.transport(), req).await
    }

    /// Asserts that a grant's tokens are dead: the access token is 401 `invalid_token`
    /// (PP-API-1) and the refresh token `invalid_grant` (PP-TOKEN-2), at `auth/refresh`
    /// so the token endpoint's limit is left alone.
    pub async fn assert_revoked(&self, app: &ClientApp, tokens: &Tokens) {
        self.me(&tokens.access_token)
            .await
            .assert_error(401, "invalid_token");
        self.refresh_at_auth(app, &tokens.refresh_token)
            .await
            .assert_error(400, "invalid_grant");
    }

    pub async fn assert_live(&self, tokens: &Tokens) {
        let me = self.me(&tokens.access_token).await;
        assert_eq!(
            me.status,
            200,
            "expected a live token, got {}",
            me.describe()
        );
    }

    /// A playback event (PP-API-3).
    pub async fn playback(&self, access_token: &str, action: &str, body: &Value) -> Reply {
        send(
            self.http
                .post(self.endpoint_with("playback", action))
                .bearer_auth(access_token)
                .json(body),
        )
        .await
    }

    /// A playback event for `media_id` that must be answered 200 (PP-API-3); answers the
    /// body, `{accepted, applied, now_playing}`.
    pub async fn report_playback(
        &self,
        access_token: &str,
        action: &str,
        media_id: &str,
        occurred_at: &str,
        position_ms: u64,
    ) -> Value {
        self.playback(
            access_token,
            action,
            &playback_body(media_id, occurred_at, position_ms),
        )
        .await
        .ok()
    }

    /// Now-playing for the user of `access_token`, which must be a 200 (PP-API-6).
    pub async fn now_playing(&self, access_token: &str) -> Value {
        self.get_with_bearer(&self.endpoint("now_playing"), access_token)
            .await
            .ok()
    }

    /// Opens the live event stream (PP-API-8).
    pub async fn events(&self, access_token: &str, last_event_id: Option<u64>) -> EventStream {
        let mut request = self
            .http
            .get(self.endpoint("events"))
            .bearer_auth(access_token);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.expect("the event stream opens");
        check_request_id_header(response.headers(), "the event stream");
        assert_eq!(
            response.status().as_u16(),
            200,
            "PP-API-8: the event stream did not open"
        );
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream"),
            "PP-API-8"
        );
        EventStream {
            reader: contract_client::sse::EventStream::new(response),
        }
    }
}

/// A playback body for `media_id` at `occurred_at` (PP-API-3).
pub fn playback_body(media_id: &str, occurred_at: &str, position_ms: u64) -> Value {
    json!({
        "media": {"id": media_id, "type": "episode", "title": format!("Episode {media_id}"), "show": "The Show", "season": 1, "episode": 2},
        "position_ms": position_ms,
        "duration_ms": 1_800_000,
        "occurred_at": occurred_at,
    })
}

/// One server-sent event (PP-API-8): every event of this server has an id and JSON data.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub id: u64,
    pub event: String,
    pub data: Value,
}

/// A live event stream being read by the client crate's reader.
pub struct EventStream {
    reader: contract_client::sse::EventStream,
}

impl EventStream {
    /// The next event (comments and `retry:` lines skipped), or `None` when none arrives
    /// within `wait` or the stream ends.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let event = self.reader.next(wait).await?;
        assert!(event.data_is_json, "PP-API-8: data is JSON: {event:?}");
        Some(SseEvent {
            id: event.id.expect("PP-API-8: every event has an id"),
            event: event.event,
            data: event.data,
        })
    }

    /// Whether the server ended the stream within `wait` (no further event arrives).
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        self.reader.ends_within(wait).await
    }
}

/// Runs `n` copies of a request concurrently, each on its own task, and answers every
/// reply. `make(i)` builds the i-th request.
pub async fn concurrently<F>(n: usize, make: F) -> Vec<Reply>
where
    F: Fn(usize) -> reqwest::RequestBuilder,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(send(make(i)))).collect();
    let mut replies = Vec::with_capacity(n);
    for result in futures_util::future::join_all(tasks).await {
        replies.push(result.expect("a request task panicked"));
    }
    replies
}

/// The statuses of some replies, counted: `[(200, 1), (400, 119), (429, 380)]`.
pub fn status_counts(replies: &[Reply]) -> Vec<(u16, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for r in replies {
        *counts.entry(r.status).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

/// No reply is a server error (the bad-input and concurrency rule: never a 500).
pub fn assert_no_server_errors(replies: &[Reply]) {
    if let Some(r) = replies.iter().find(|r| r.status >= 500) {
        panic!(
            "a request got a server error: {} (all: {:?})",
            r.describe(),
            status_counts(replies)
        );
    }
}

/// Decodes a `data:image/png;base64,` URI's QR code to its text.
pub fn decode_qr(data_uri: &str) -> String {
    let encoded = data_uri
        .strip_prefix("data:image/png;base64,")
        .unwrap_or_else(|| {
            panic!(
                "PP-DEVICE-2: not a PNG data URI: {}",
                &data_uri[..data_uri.len().min(40)]
            )
        });
    let png_bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("PP-DEVICE-2: valid base64");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("PP-DEVICE-2: a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader
        .next_frame(&mut pixels)
        .expect("PP-DEVICE-2: a PNG frame");
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    let luma = |x: usize, y: usize| pixels[(y * w + x) * channels];
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "PP-DEVICE-2: one QR code in the image");
    grids[0]
        .decode()
        .expect("PP-DEVICE-2: the QR code decodes")
        .1
}
