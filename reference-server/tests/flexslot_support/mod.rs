//! What the flexslot server tests share: a flexslot server on `127.0.0.1:0` with the test
//! controls on, the contract's fixture clients (CONTRACT.md, "Fixtures"), and one helper
//! per job: authorize through the test control, redeem a code, refresh, read answers.
//! Lifetimes are read from the profile, never written down here.

#![allow(dead_code)]

use std::collections::BTreeMap;

use contract_client::pkce::Pkce;
use profile::Profile;
use reference_server::{RunningServer, ServerConfig};
use serde_json::{Value, json};

pub const CALLBACK: &str = "http://127.0.0.1:8765/callback";
pub const SPA_CALLBACK: &str = "http://127.0.0.1:8765/spa";

/// A fixture client as a test drives it.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    pub id: &'static str,
    pub secret: Option<&'static str>,
    pub redirect_uri: &'static str,
}

pub const WEB: Client = Client {
    id: "fx-web",
    secret: Some("fx-web-secret"),
    redirect_uri: CALLBACK,
};
pub const SPA: Client = Client {
    id: "fx-spa",
    secret: None,
    redirect_uri: SPA_CALLBACK,
};
pub const CODE_ONLY: Client = Client {
    id: "fx-codeonly",
    secret: Some("fx-codeonly-secret"),
    redirect_uri: CALLBACK,
};
pub const DISABLED: Client = Client {
    id: "fx-disabled",
    secret: Some("fx-disabled-secret"),
    redirect_uri: CALLBACK,
};

/// An answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The answer's JSON after asserting its status.
    pub fn ok(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        self.json()
    }

    /// Asserts an RFC 6749 §5.2 error: the status, exactly `{error, error_description}`
    /// with the code, a non-empty description; answers the description.
    pub fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        let body = self.json();
        let members: Vec<&str> = body
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members, ["error", "error_description"], "{}", self.body);
        assert_eq!(body["error"], code, "{}", self.body);
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(!description.is_empty(), "{}", self.body);
        // RFC 6749 §5.2: printable ASCII but `"` and `\`.
        assert!(
            description
                .chars()
                .all(|c| matches!(c, ' '..='~') && c != '"' && c != '\\'),
            "{description}"
        );
        description.to_owned()
    }

    /// Asserts a token-endpoint error: as [`Reply::assert_error`], never cached.
    pub fn assert_token_error(&self, status: u16, code: &str) -> String {
        self.assert_no_store();
        self.assert_error(status, code)
    }

    pub fn assert_no_store(&self) {
        assert_eq!(self.header("cache-control"), Some("no-store"), "{self:?}");
        assert_eq!(self.header("pragma"), Some("no-cache"), "{self:?}");
    }

    /// Asserts `invalid_client` with the Basic challenge (FX-TOKEN-3: Basic was used).
    pub fn assert_basic_challenge(&self) {
        self.assert_token_error(401, "invalid_client");
        assert_eq!(
            self.header("www-authenticate"),
            Some("Basic realm=\"flexslot\""),
            "{self:?}"
        );
    }

    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location: {} {}", self.status, self.body))
    }
}

/// The query parameters of a URL, in order.
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .expect("an absolute URL")
        .query_pairs()
        .into_owned()
        .collect()
}

/// A token pair from a 200 answer.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
    pub scope: String,
}

impl Tokens {
    pub fn from_reply(reply: &Reply) -> Tokens {
        reply.assert_no_store();
        let body = reply.ok();
        assert_eq!(body["token_type"], "Bearer");
        Tokens {
            access: body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            refresh: body["refresh_token"].as_str().map(str::to_owned),
            scope: body["scope"].as_str().expect("scope").to_owned(),
        }
    }

    pub fn refresh(&self) -> &str {
        self.refresh.as_deref().expect("a refresh token")
    }
}

/// A client that follows no redirects and keeps no cookies.
pub fn http() -> reqwest::Client {
    builder().build().expect("a client")
}

/// A client with a cookie jar, as a browser.
pub fn browser() -> reqwest::Client {
    builder().cookie_store(true).build().expect("a client")
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .no_proxy()
}

pub async fn read(res: reqwest::Response) -> Reply {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.text().await.expect("a body");
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> Reply {
    read(req.send().await.expect("the server answers")).await
}

/// A flexslot reference server with the test controls on, stopped when dropped.
pub struct Fx {
    server: RunningServer,
    pub base: String,
    pub http: reqwest::Client,
    pub profile: Profile,
}

impl Fx {
    pub async fn start() -> Fx {
        let config = ServerConfig {
            test_controls: true,
            ..ServerConfig::flexslot()
        };
        let profile = config.profile.clone();
        let server = reference_server::spawn(config)
            .await
            .expect("the flexslot server starts");
        Fx {
            base: server.base_url(),
            server,
            http: http(),
            profile,
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn endpoint(&self, name: &str) -> String {
        self.url(self.profile.path(name))
    }

    /// A test control's answer; asserts 200.
    pub async fn control(&self, path: &str, body: Value) -> Value {
        let reply = self.control_reply(path, body).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        reply.json()
    }

    pub async fn control_reply(&self, path: &str, body: Value) -> Reply {
        send(
            self.http
                .post(self.url(&format!("/__test/{path}")))
                .json(&body),
        )
        .await
    }

    pub async fn advance(&self, seconds: u64) {
        self.control("clock/advance", json!({"seconds": seconds}))
            .await;
    }

    pub async fn fault(&self, fault: Option<&str>) {
        self.control("fault", json!({"fault": fault})).await;
    }

    pub async fn set_grant_types(&self, client: &str, grant_types: &[&str]) -> Value {
        self.control(
            &format!("apps/{client}/grant-types"),
            json!({"grant_types": grant_types}),
        )
        .await
    }

    /// An authorize URL for `client` with `pkce`, a scope and a state.
    pub fn authorize_url(
        &self,
        client: Client,
        scope: Option<&str>,
        state: &str,
        pkce: &Pkce,
    ) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client.id),
            ("redirect_uri", client.redirect_uri),
            ("state", state),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        self.authorize_url_from(&pairs)
    }

    pub fn authorize_url_from(&self, pairs: &[(&str, &str)]) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        format!("{}?{query}", self.endpoint("authorize"))
    }

    /// Decides an authorize URL as alice through the test control: the redirect's
    /// `Location`.
    pub async fn decide(&self, url: &str, approve: bool) -> String {
        let body = self
            .control(
                "authorize/decide",
                json!({"url": url, "username": "alice", "approve": approve}),
            )
            .await;
        body["location"].as_str().expect("location").to_owned()
    }

    /// A fresh code for `client` approved by alice, with its PKCE pair.
    pub async fn code(&self, client: Client, scope: Option<&str>) -> (String, Pkce) {
        let pkce = Pkce::new();
        let location = self
            .decide(&self.authorize_url(client, scope, "st", &pkce), true)
            .await;
        let params = query_of(&location);
        assert_eq!(params.get("state").map(String::as_str), Some("st"));
        let code = params.get("code").expect("a code").clone();
        (code, pkce)
    }

    /// A token request as `client` authenticates: Basic for a confidential client,
    /// `client_id` in the form for a public one.
    pub async fn token(&self, client: Client, form: &[(&str, &str)]) -> Reply {
        self.post_as(client, "token", form).await
    }

    pub async fn post_as(&self, client: Client, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        let mut pairs: Vec<(&str, &str)> = form.to_vec();
        let mut req = self.http.post(self.endpoint(endpoint));
        match client.secret {
            Some(secret) => req = req.basic_auth(client.id, Some(secret)),
            None => pairs.push(("client_id", client.id)),
        }
        send(req.form(&pairs)).await
    }

    /// Redeems a code as `client`.
    pub async fn redeem(&self, client: Client, code: &str, pkce: &Pkce) -> Reply {
        self.token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", client.redirect_uri),
                ("code_verifier", &pkce.verifier),
            ],
        )
        .await
    }

    /// Alice's tokens for `client`, through the code flow.
    pub async fn login(&self, client: Client, scope: Option<&str>) -> Tokens {
        let (code, pkce) = self.code(client, scope).await;
        Tokens::from_reply(&self.redeem(client, &code, &pkce).await)
    }

    pub async fn refresh(&self, client: Client, refresh_token: &str) -> Reply {
        self.token(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    pub async fn me(&self, access: &str) -> Reply {
        send(self.http.get(self.endpoint("me")).bearer_auth(access)).await
    }

    pub async fn introspect(&self, client: Client, token: &str) -> Value {
        self.post_as(client, "introspect", &[("token", token)])
            .await
            .ok()
    }

    pub async fn revoke(&self, client: Client, token: &str) -> Reply {
        self.post_as(client, "revoke", &[("token", token)]).await
    }
}

/// The `value` of `<input type="hidden" name="NAME" value="...">` in a page.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}
