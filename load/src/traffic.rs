//! The request each limited endpoint gets, and the status an admitted one answers with.
//!
//! Limits name their endpoint by the profile's `[paths]` name; paths, statuses and
//! scopes come from the profile, never from literals here. A request that the limit
//! admits may still fail for its own reasons (a made-up refresh token is
//! `invalid_grant`): "every admitted request counts, whatever its status" (PP-RATE-3),
//! so the load scenarios send whatever is cheapest for the server to answer
//! realistically, and say which status that is.

use std::collections::BTreeMap;

use profile::{LimitKey, Profile, RateLimit, Secret};
use reqwest::{Client, Method, RequestBuilder};
use url::Url;

use crate::keys::{ClientCredentials, LoadKey};

/// The six limited endpoints of PP-RATE-1, by their `[paths]` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    DeviceCode,
    DeviceToken,
    Refresh,
    Token,
    Playback,
    PublicUser,
}

impl Endpoint {
    pub fn of_path_name(name: &str) -> Option<Endpoint> {
        Some(match name {
            "device_code" => Endpoint::DeviceCode,
            "device_token" => Endpoint::DeviceToken,
            "refresh" => Endpoint::Refresh,
            "token" => Endpoint::Token,
            "playback" => Endpoint::Playback,
            "public_user" => Endpoint::PublicUser,
            _ => return None,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error(
        "limit `{limit}` is on the endpoint `{endpoint}`, for which the load crate has no \
         scenario; the scenarios cover device_code, device_token, refresh, token, playback \
         and public_user"
    )]
    UnknownEndpoint { limit: String, endpoint: String },
    #[error("the profile lists no users, so the public-user scenario has no username to ask for")]
    NoUsers,
    #[error("the base URL and the path `{0}` do not make a URL")]
    BadUrl(String),
}

/// How to make the requests of one limit.
#[derive(Debug, Clone)]
pub struct Traffic {
    pub limit: RateLimit,
    pub endpoint: Endpoint,
    pub method: Method,
    /// The status an admitted request of this scenario answers with.
    pub admitted_status: u16,
    /// The status of a request whose bearer token fails authentication (PP-API-1).
    pub noise_status: u16,
    /// The status of a refusal (PP-RATE-2).
    pub refused_status: u16,
    base: Url,
    urls: Vec<Url>,
    /// A device code per client_id, for the device-token scenario (a pending code when
    /// the setup could create one, else a made-up one).
    device_codes: BTreeMap<String, String>,
    grant_type_device: &'static str,
    /// Whether confidential clients alternate HTTP Basic with body credentials at the
    /// token endpoint (PP-TOKEN-5, a SHOULD a deployment may lack).
    pub basic_auth: bool,
    nonce: String,
}

impl Traffic {
    pub fn new(
        profile: &Profile,
        limit: &RateLimit,
        base: &Url,
        usernames: &[String],
        device_codes: BTreeMap<String, String>,
    ) -> Result<Traffic, TrafficError> {
        let (name, endpoint) = limit
            .endpoint()
            .and_then(|name| Some((name, Endpoint::of_path_name(name)?)))
            .ok_or_else(|| TrafficError::UnknownEndpoint {
                limit: limit.name.clone(),
                endpoint: limit
                    .endpoint()
                    .or(limit.path_prefix())
                    .unwrap_or_default()
                    .to_owned(),
            })?;
        let template = profile.path_template(name);
        let paths: Vec<String> = match endpoint {
            // PP-API-3: progress is the action a player sends most; any action is limited.
            Endpoint::Playback => {
                let action = profile
                    .expect_punchplay()
                    .playback
                    .actions
                    .iter()
                    .find(|a| *a == "progress")
                    .or(profile.expect_punchplay().playback.actions.first())
                    .map_or("progress", String::as_str);
                vec![template.fill(&[("action", action)])]
            }
            Endpoint::PublicUser => {
                if usernames.is_empty() {
                    return Err(TrafficError::NoUsers);
                }
                usernames
                    .iter()
                    .map(|u| template.fill(&[("username", u)]))
                    .collect()
            }
            _ => vec![template.as_str().to_owned()],
        };
        let urls = paths
            .iter()
            .map(|p| base.join(p).map_err(|_| TrafficError::BadUrl(p.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        let admitted_status = match endpoint {
            // PP-DEVICE-1: a device code is issued.
            Endpoint::DeviceCode => 200,
            // PP-DEVICE-3: polling a pending (or, once the clock has moved past its
            // lifetime, expired) code.
            Endpoint::DeviceToken => profile.status_of("authorization_pending"),
            // PP-TOKEN-2: a made-up refresh token.
            Endpoint::Refresh | Endpoint::Token => profile.status_of("invalid_grant"),
            // PP-API-3, PP-PUBLIC-1.
            Endpoint::Playback | Endpoint::PublicUser => 200,
        };
        let method = Method::from_bytes(limit.method.to_ascii_uppercase().as_bytes())
            .unwrap_or(Method::POST);
        Ok(Traffic {
            limit: limit.clone(),
            endpoint,
            method,
            admitted_status,
            noise_status: profile.status_of("invalid_token"),
            refused_status: profile.status_of("rate_limited"),
            base: base.clone(),
            urls,
            device_codes,
            grant_type_device: "urn:ietf:params:oauth:grant-type:device_code",
            nonce: format!("{:x}", chrono::Utc::now().timestamp_millis()),
            basic_auth: true,
        })
    }

    /// The target's base URL, as goose's host.
    pub fn base_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// The path the limit is on, as the profile writes it.
    pub fn path_template(&self) -> String {
        self.urls
            .first()
            .map_or_else(String::new, |u| u.path().to_owned())
    }

    /// The `index`-th request of `key`. `noise` replaces the bearer token with one that
    /// fails authentication.
    pub fn request(
        &self,
        client: &Client,
        key: &LoadKey,
        index: usize,
        noise: Option<&Secret>,
    ) -> RequestBuilder {
        let url = self.urls[index % self.urls.len()].clone();
        let mut rb = client.request(self.method.clone(), url);
        if self.limit.key != LimitKey::User {
            // PP-RATE-4: the key is the TCP peer; a client cannot pick another one by
            // claiming to be forwarded (a trusted proxy appends the real peer last).
            rb = rb.header("X-Forwarded-For", format!("198.51.100.{}", index % 254 + 1));
        }
        let app = (!key.clients.is_empty()).then(|| &key.clients[index % key.clients.len()]);
        match self.endpoint {
            Endpoint::DeviceCode => rb.form(&client_fields(app, vec![])),
            Endpoint::DeviceToken => {
                let client_id = app.map_or("", |a| a.client_id.as_str());
                let code = self
                    .device_codes
                    .get(client_id)
                    .cloned()
                    .unwrap_or_else(|| format!("load-unknown-device-code-{}", self.nonce));
                rb.form(&client_fields(
                    app,
                    vec![
                        ("grant_type", self.grant_type_device.to_owned()),
                        ("device_code", code),
                    ],
                ))
            }
            Endpoint::Refresh => rb.form(&client_fields(
                app,
                vec![("refresh_token", self.made_up_refresh_token(index))],
            )),
            Endpoint::Token => {
                let fields = vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", self.made_up_refresh_token(index)),
                ];
                match app {
                    // PP-TOKEN-5: every other request of a confidential client
                    // authenticates with HTTP Basic; its key is still its client_id.
                    Some(ClientCredentials {
                        client_id,
                        secret: Some(secret),
                    }) if self.basic_auth && index % 2 == 1 => rb
                        .basic_auth(client_id, Some(secret.expose()))
                        .form(&fields),
                    _ => rb.form(&client_fields(app, fields)),
                }
            }
            Endpoint::Playback => {
                let token = noise
                    .or_else(|| {
                        (!key.tokens.is_empty()).then(|| &key.tokens[index % key.tokens.len()])
                    })
                    .map_or("", |t| t.expose());
                rb.bearer_auth(token).json(&serde_json::json!({
                    "media": {
                        "id": "load-episode-1",
                        "type": "episode",
                        "title": "Load Test Episode",
                        "show": "Load Test",
                        "season": 1,
                        "episode": 1,
                    },
                    "position_ms": (index as u64) * 1000,
                    "duration_ms": 3_600_000,
                    "occurred_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "event_id": format!("load-{}-{}-{index}", self.nonce, key.label),
                }))
            }
            Endpoint::PublicUser => rb,
        }
    }

    fn made_up_refresh_token(&self, index: usize) -> String {
        format!("load-not-a-refresh-token-{}-{index}", self.nonce)
    }
}

fn client_fields(
    app: Option<&ClientCredentials>,
    mut fields: Vec<(&'static str, String)>,
) -> Vec<(&'static str, String)> {
    if let Some(app) = app {
        fields.push(("client_id", app.client_id.clone()));
        if let Some(secret) = &app.secret {
            fields.push(("client_secret", secret.expose().to_owned()));
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{loopback_sources, plan, usable_clients};
    use profile::Identities;

    #[test]
    fn every_limit_of_the_punchplay_profile_has_a_scenario() {
        let p = Profile::punchplay();
        let base = Url::parse("http://127.0.0.1:1").unwrap();
        for limit in &p.rate_limits {
            let t = Traffic::new(&p, limit, &base, &["alice".into()], BTreeMap::new()).unwrap();
            assert_ne!(t.admitted_status, t.refused_status, "{}", limit.name);
        }
    }

    #[test]
    fn requests_carry_the_client_and_the_profile_path() {
        let p = Profile::punchplay();
        let base = Url::parse("http://127.0.0.1:1").unwrap();
        let limit = p
            .rate_limit_for("POST", Some("token"), p.path("token"))
            .unwrap();
        let t = Traffic::new(&p, limit, &base, &[], BTreeMap::new()).unwrap();
        let clients = usable_clients(&Identities::punchplay());
        let keys = plan(limit.key, &loopback_sources(1), &clients, &[], &[]).unwrap();
        let web = keys
            .keys
            .iter()
            .find(|k| k.label.starts_with("pp-web"))
            .unwrap();
        let req = t.request(&Client::new(), web, 0, None).build().unwrap();
        assert_eq!(req.url().path(), "/api/platform/v1/oauth/token");
        let body = String::from_utf8(req.body().unwrap().as_bytes().unwrap().to_vec()).unwrap();
        assert!(
            body.contains("client_id=pp-web") && body.contains("client_secret=pp-web-secret"),
            "{body}"
        );
        // The next one authenticates with HTTP Basic instead (PP-TOKEN-5).
        let req = t.request(&Client::new(), web, 1, None).build().unwrap();
        let body = String::from_utf8(req.body().unwrap().as_bytes().unwrap().to_vec()).unwrap();
        assert!(!body.contains("client_secret"), "{body}");
        assert!(
            req.headers()["authorization"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
    }
}
