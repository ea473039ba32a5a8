//! The server under load: its base URL and, when it has them, the reference server's test
//! controls (CONTRACT.md, "The reference server's test controls"), used to move the clock
//! between windows, reset between limits, approve device codes and switch faults on.
//!
//! This module owns every request that is not part of a scenario.

use std::time::Duration;

use contract_client::access::Access;
use reqwest::Client;
use serde_json::{Value, json};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{what} failed: {source}; is the target running at {base}?")]
    Transport {
        what: String,
        base: Url,
        source: reqwest::Error,
    },
    #[error("{what} answered {status}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },
    #[error("{0}")]
    Other(String),
}

/// A keep-alive client sending from `source` (the operating system's choice for `None`),
/// reaching the target as `access` says (trusted CAs, a gateway's headers, a 3 s connect
/// timeout). For a plain-http target no certificate store is loaded: building one per
/// goose user would cost more than the attack.
pub fn client_builder(
    base: &str,
    source: Option<std::net::IpAddr>,
    access: &Access,
) -> reqwest::ClientBuilder {
    let builder = Client::builder()
        .local_address(source)
        .timeout(Duration::from_secs(10))
        // Names load to the reference server, whose client observation can leave its
        // deliberate bursts out (`--exclude-tool-traffic`, docs/client-findings.md).
        .user_agent(concat!("load/", env!("CARGO_PKG_VERSION")))
        .tcp_nodelay(true);
    if base.starts_with("http://") {
        access.apply(builder).tls_certs_only(Vec::new())
    } else {
        access.apply(builder)
    }
}

/// The target, with a plain client for control requests (from the default address, which
/// for a loopback target is 127.0.0.1, a key no scenario sends from).
#[derive(Debug, Clone)]
pub struct Target {
    pub base: Url,
    client: Client,
    /// Whether `/__test/*` answers (detected, or switched off by the user).
    pub controls: bool,
}

impl Target {
    pub fn new(base: Url, access: &Access) -> Target {
        Target {
            // The preflight reads redirects as answers (a sign-in page is the checks'
            // business, not a reason to follow it).
            client: client_builder(base.as_str(), None, access)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a plain reqwest client builds"),
            base,
            controls: false,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// Whether the target answers at all (any status will do).
    pub async fn reachable(&self) -> Result<(), TargetError> {
        self.client
            .get(self.base.clone())
            .send()
            .await
            .map(drop)
            .map_err(|source| TargetError::Transport {
                what: format!("GET {}", self.base),
                base: self.base.clone(),
                source,
            })
    }

    /// Whether the target has test controls: `POST /__test/clock/advance {"seconds": 0}`
    /// answers 200 with `now`.
    pub async fn detect_controls(&mut self) -> bool {
        let answer = self
            .client
            .post(self.url("/__test/clock/advance"))
            .json(&json!({"seconds": 0}))
            .send()
            .await;
        self.controls = match answer {
            Ok(r) if r.status().as_u16() == 200 => r
                .json::<Value>()
                .await
                .is_ok_and(|v| v.get("now").is_some()),
            _ => false,
        };
        self.controls
    }

    async fn control(&self, what: &str, path: &str, body: Value) -> Result<Value, TargetError> {
        let response = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .map_err(|source| TargetError::Transport {
                what: what.to_owned(),
                base: self.base.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if status != 200 {
            return Err(TargetError::Status {
                what: what.to_owned(),
                status,
                body: text,
            });
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST /__test/reset`: fixtures, clock, limits, mode and fault fresh.
    pub async fn reset(&self) -> Result<(), TargetError> {
        self.control("POST /__test/reset", "/__test/reset", json!({}))
            .await
            .map(drop)
    }

    /// `POST /__test/clock/advance`.
    pub async fn advance(&self, seconds: f64) -> Result<(), TargetError> {
        self.control(
            "POST /__test/clock/advance",
            "/__test/clock/advance",
            json!({"seconds": seconds}),
        )
        .await
        .map(drop)
    }

    /// `POST /__test/fault {"fault": name}`.
    pub async fn fault(&self, name: Option<&str>) -> Result<(), TargetError> {
        self.control(
            "POST /__test/fault",
            "/__test/fault",
            json!({"fault": name}),
        )
        .await
        .map(drop)
    }

    /// `POST /__test/device/decide`.
    pub async fn decide_device(&self, user_code: &str, username: &str) -> Result<(), TargetError> {
        self.control(
            "POST /__test/device/decide",
            "/__test/device/decide",
            json!({"user_code": user_code, "username": username, "approve": true}),
        )
        .await
        .map(drop)
    }

    /// `POST /__test/users/{u}/apps/{c}/revoke` (PP-REVOKE-1).
    pub async fn revoke(&self, username: &str, client_id: &str) -> Result<(), TargetError> {
        self.control(
            "POST /__test/users/../apps/../revoke",
            &format!("/__test/users/{username}/apps/{client_id}/revoke"),
            json!({}),
        )
        .await
        .map(drop)
    }
}

/// How the time between windows passes: the reference server's clock is moved
/// (`POST /__test/clock/advance`); a deployment's is waited for (by the conductor, never
/// past the run's deadline).
#[derive(Debug, Clone)]
pub enum WindowClock {
    Controlled(Target),
    Real,
}

impl WindowClock {
    pub fn is_controlled(&self) -> bool {
        matches!(self, WindowClock::Controlled(_))
    }
}
