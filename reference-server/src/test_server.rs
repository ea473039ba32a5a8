//! The reference server as a dev-dependency (issue 21 item 3): a [`TestServer`] a Rust
//! project starts from its own tests, shaped by a builder, in the manner of wiremock's
//! `MockServer::start().await`:
//!
//! ```no_run
//! # async fn demo() -> Result<(), reference_server::test_server::TestServerError> {
//! use reference_server::test_server::{TestClient, TestServer};
//!
//! let server = TestServer::builder()
//!     .profile("flexslot")
//!     .client(
//!         TestClient::confidential("my-app", "my-secret")
//!             .scopes(["profile"])
//!             .redirect_uri("http://127.0.0.1:3000/callback"),
//!     )
//!     .user("carol", "carol-password")
//!     .start()
//!     .await?;
//! let token = server.mint_token("my-app", Some("carol"), &["profile"])?;
//! // Point your app at server.base_url() and run it; then assert on what it sent.
//! let sent = server.received_requests(Some("my-app"));
//! // The server stops when `server` is dropped.
//! # Ok(()) }
//! ```
//!
//! The builder's clients and users join the profile's fixtures: they are checked exactly
//! as `POST /__test/apps` and `/__test/users` check them (a bad one fails `start` with the
//! same message), and a reset keeps them. It serves on `127.0.0.1:0` with the test
//! controls on, so a test may also drive `/__test/*` over HTTP.

use std::sync::Arc;
use std::time::Duration;

use profile::{App as AppEntry, AppKind, Identities, Profile, Secret, User};

use crate::config::ServerConfig;
use crate::http::App;
use crate::http::pack::MintRequest;
use crate::observe::Entry;
use crate::{RunningServer, spawn_on};

/// Why a test server did not start, or a call on it failed: a sentence that says what
/// to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestServerError(String);

impl std::fmt::Display for TestServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TestServerError {}

impl TestServerError {
    fn new(message: impl Into<String>) -> Self {
        TestServerError(message.into())
    }
}

/// A client (app) the server starts with: its id, kind and secret, scopes, redirect URIs,
/// grant types and, for enterprise, its enterprise and company.
#[derive(Debug, Clone)]
pub struct TestClient(AppEntry);

impl TestClient {
    fn new(client_id: &str, kind: AppKind, secret: Option<&str>) -> Self {
        TestClient(AppEntry {
            client_id: client_id.to_owned(),
            name: client_id.to_owned(),
            kind,
            secret: secret.map(Secret::new),
            secret_env: None,
            allowed_scopes: Vec::new(),
            redirect_uris: Vec::new(),
            active: true,
            grant_types: Vec::new(),
            enterprise: None,
            company: None,
        })
    }

    /// A confidential client: `client_id` and `client_secret`.
    pub fn confidential(client_id: &str, secret: &str) -> Self {
        Self::new(client_id, AppKind::Confidential, Some(secret))
    }

    /// A public client (PKCE, device flow): `client_id` only.
    pub fn public(client_id: &str) -> Self {
        Self::new(client_id, AppKind::Public, None)
    }

    /// The scopes it may be granted; all of the profile's when never called.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.0.allowed_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a redirect URI (https, or http on loopback).
    pub fn redirect_uri(mut self, uri: &str) -> Self {
        self.0.redirect_uris.push(uri.to_owned());
        self
    }

    /// The grant types it is configured for (flexslot, FX-TOKEN-5); all when never called.
    pub fn grant_types<S: Into<String>>(mut self, grants: impl IntoIterator<Item = S>) -> Self {
        self.0.grant_types = grants.into_iter().map(Into::into).collect();
        self
    }

    /// The name consent pages show; the client_id when never called.
    pub fn name(mut self, name: &str) -> Self {
        self.0.name = name.to_owned();
        self
    }

    /// Enterprise: the listed enterprise that owns it (EN-TOKEN-3).
    pub fn enterprise(mut self, enterprise: &str) -> Self {
        self.0.enterprise = Some(enterprise.to_owned());
        self
    }

    /// Enterprise: the listed company it reads under `/api` (EN-API-1).
    pub fn company(mut self, company: &str) -> Self {
        self.0.company = Some(company.to_owned());
        self
    }

    /// Inactive: it gets no tokens (PP-APP-4, FX-TOKEN-3).
    pub fn inactive(mut self) -> Self {
        self.0.active = false;
        self
    }
}

/// What [`TestServer::builder`] starts.
#[derive(Debug, Clone)]
pub struct TestServerBuilder {
    profile: String,
    config: Option<ServerConfig>,
    clients: Vec<TestClient>,
    users: Vec<(String, String)>,
    fault: Option<String>,
}

impl TestServerBuilder {
    /// A built-in profile by name (`punchplay`, `enterprise`, `flexslot`) with its
    /// fixtures; punchplay when never called.
    pub fn profile(mut self, name: &str) -> Self {
        self.profile = name.to_owned();
        self
    }

    /// A whole configuration instead (your own profile or identities); the builder's
    /// clients, users and fault are added to it, and the test controls switched on.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// A client the server starts with, beside the fixtures.
    pub fn client(mut self, client: TestClient) -> Self {
        self.clients.push(client);
        self
    }

    /// A user the server starts with, beside the fixtures (not for enterprise).
    pub fn user(mut self, username: &str, password: &str) -> Self {
        self.users.push((username.to_owned(), password.to_owned()));
        self
    }

    /// Starts with one of the family's faults on (kept across resets).
    pub fn fault(mut self, name: &str) -> Self {
        self.fault = Some(name.to_owned());
        self
    }

    /// Checks every client and user, then serves on `127.0.0.1:0` on a background task of
    /// the current Tokio runtime.
    pub async fn start(self) -> Result<TestServer, TestServerError> {
        let mut config = match self.config {
            Some(config) => config,
            None => {
                let builtin = profile::builtin::find(&self.profile).ok_or_else(|| {
                    TestServerError::new(profile::builtin::unknown_profile(&self.profile))
                })?;
                ServerConfig {
                    profile: builtin.profile(),
                    identities: builtin.identities(),
                    ..ServerConfig::punchplay()
                }
            }
        };
        config.test_controls = true;
        if self.fault.is_some() {
            config.fault = self.fault;
        }
        config.identities = checked_identities(&config, self.clients, self.users)?;
        let server = spawn_on("127.0.0.1:0".parse().expect("an address"), config)
            .await
            .map_err(|e| TestServerError::new(format!("the test server did not start: {e}")))?;
        Ok(TestServer {
            base_url: server.base_url(),
            app: server.app.clone(),
            server: Some(server),
        })
    }
}

/// The fixtures with the builder's clients and users added, each checked by the same
/// code as `POST /__test/apps` and `/__test/users`, on a server that is never started.
/// A client without a secret of its own gets the one that check made.
fn checked_identities(
    config: &ServerConfig,
    clients: Vec<TestClient>,
    users: Vec<(String, String)>,
) -> Result<Identities, TestServerError> {
    let rehearsal = App::new(ServerConfig {
        fault: None,
        ..config.clone()
    })
    .map_err(|e| {
        TestServerError::new(format!(
            "the test server cannot serve this configuration: {e}"
        ))
    })?;
    let mut identities = config.identities.clone();
    for TestClient(mut entry) in clients {
        if entry.allowed_scopes.is_empty() {
            entry.allowed_scopes = config.profile.scopes.known.clone();
        }
        let (_, secret) = rehearsal
            .core
            .create_app(entry.clone(), rehearsal.pack().app_grant_types())
            .map_err(|e| {
                TestServerError::new(format!("client `{}`: {}", entry.client_id, e.message))
            })?;
        entry.secret = secret.map(Secret::new);
        identities.apps.push(entry);
    }
    for (username, password) in users {
        if !rehearsal.pack().has_users() {
            return Err(TestServerError::new(format!(
                "user `{username}`: the {} family has no users; its tokens are a client's own.",
                rehearsal.pack().name()
            )));
        }
        rehearsal
            .core
            .create_user(&username, Some(password.clone()), None)
            .map_err(|e| TestServerError::new(format!("user `{username}`: {}", e.message)))?;
        identities.users.push(User {
            display_name: username.clone(),
            username,
            password: Some(Secret::new(password)),
            password_env: None,
        });
    }
    Ok(identities)
}

/// A token [`TestServer::mint_token`] minted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintedToken {
    pub access_token: String,
    /// `None` where the token endpoint issues none (enterprise; a flexslot client not
    /// configured for the refresh grant).
    pub refresh_token: Option<String>,
    pub expires_in: u64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// A reference server serving on `127.0.0.1` for one test; it stops when dropped (open
/// requests finish on their own).
pub struct TestServer {
    base_url: String,
    server: Option<RunningServer>,
    app: Arc<App>,
}

impl TestServer {
    /// A builder: punchplay's profile and fixtures until told otherwise.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder {
            profile: "punchplay".to_owned(),
            config: None,
            clients: Vec::new(),
            users: Vec::new(),
            fault: None,
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The profile it serves: its paths (`profile().path("token")`), scopes and lifetimes.
    pub fn profile(&self) -> &Profile {
        &self.app.core.profile
    }

    /// The absolute URL of the profile's endpoint `name` (`token`, `authorize`, `me`, ...).
    pub fn url_of(&self, name: &str) -> String {
        format!("{}{}", self.base_url, self.profile().path(name))
    }

    /// A token for `client_id` and `username` (`None` for enterprise's client tokens)
    /// with `scopes` (the client's allowed scopes when empty), as `POST /__test/tokens`
    /// mints it: a real token of the server.
    pub fn mint_token(
        &self,
        client_id: &str,
        username: Option<&str>,
        scopes: &[&str],
    ) -> Result<MintedToken, TestServerError> {
        let request = MintRequest {
            client_id: client_id.to_owned(),
            username: username.map(str::to_owned),
            scopes: (!scopes.is_empty()).then(|| scopes.iter().map(|s| (*s).to_owned()).collect()),
        };
        let answer = self
            .app
            .pack()
            .mint_token(&self.app, &request)
            .map_err(|e| TestServerError::new(e.message))?;
        let text = |name: &str| answer[name].as_str().map(str::to_owned);
        Ok(MintedToken {
            access_token: text("access_token").unwrap_or_default(),
            refresh_token: text("refresh_token"),
            expires_in: answer["expires_in"].as_u64().unwrap_or_default(),
            scope: text("scope").unwrap_or_default(),
        })
    }

    /// The requests the server answered (test controls excepted), oldest first, of
    /// `client_id` when given: method, path, query with credentials redacted, status,
    /// client, request id, error code and time (the request recorder; its last 10,000).
    pub fn received_requests(&self, client_id: Option<&str>) -> Vec<Entry> {
        self.app.observatory.requests(client_id).0
    }

    /// Forgets the recorded requests, so a test reads only what it caused.
    pub fn clear_received_requests(&self) {
        self.app.observatory.clear_requests();
    }

    /// Moves the server's clock forward (expiry, rate windows), as
    /// `POST /__test/clock/advance` does.
    pub fn advance_clock(&self, by: Duration) {
        self.app.core.clock.advance(by.as_millis() as u64);
    }

    /// Back to the start-up state (the fixtures, the builder's clients and users, its
    /// fault), as `POST /__test/reset` does.
    pub fn reset(&self) {
        self.app.core.reset();
    }

    /// Stops accepting, lets open requests finish, and waits for the server to end.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}
