//! Punchplay's request recipes: the request each of its six limited endpoints
//! (PP-RATE-1) gets, the status an admitted one answers with, and the setup it needs.
//!
//! Limits name their endpoint by the profile's `[paths]` name; paths, statuses and
//! scopes come from the profile, never from literals here. A request that the limit
//! admits may still fail for its own reasons (a made-up refresh token is
//! `invalid_grant`): "every admitted request counts, whatever its status" (PP-RATE-3),
//! so the load scenarios send whatever is cheapest for the server to answer
//! realistically, and say which status that is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use contract_client::families::punchplay::{EnvelopeProblem, ErrorAnswer};
use profile::{Profile, RateLimit, Secret};
use reqwest::RequestBuilder;
use reqwest::header::HeaderMap;
use url::Url;

use super::Clauses;
use super::recipe::{Context, Family, Recipe, Setup, Statuses, url_of};
use crate::keys::{ClientCredentials, LoadKey, UserToken};
use crate::setup;

/// The clauses of punchplay's rate limits.
pub const CLAUSES: Clauses = Clauses {
    window: "PP-RATE-1",
    refusal: "PP-RATE-2",
    sliding: "PP-RATE-3",
    keys: "PP-RATE-4",
    server_error: "PP-ERR-3",
};

/// The punchplay family.
#[derive(Debug)]
pub struct Punchplay;

impl Family for Punchplay {
    fn clauses(&self) -> Clauses {
        CLAUSES
    }

    fn recipe<'a>(
        &'a self,
        context: Context<'a>,
        limit: &'a RateLimit,
    ) -> Setup<'a, Box<dyn Recipe>> {
        Box::pin(async move {
            let (endpoint, _) = Endpoint::of_limit(limit)?;
            // PP-DEVICE-3: the device-token scenario polls pending codes.
            let device_codes = if endpoint == Endpoint::DeviceToken {
                setup::device_codes(context.target, context.profile, context.clients).await
            } else {
                BTreeMap::new()
            };
            let usernames: Vec<String> = context
                .identities
                .users
                .iter()
                .map(|u| u.username.clone())
                .collect();
            let recipe = Requests::new(
                context.profile,
                limit,
                &context.target.base,
                &usernames,
                device_codes,
                context.basic_auth,
            )?;
            Ok(Box::new(recipe) as Box<dyn Recipe>)
        })
    }

    /// PP-PUBLIC-1: a public profile read, the cheapest answer.
    fn bench_limit(&self) -> &'static str {
        "public-user"
    }

    fn user_tokens<'a>(&'a self, context: Context<'a>) -> Setup<'a, (Vec<UserToken>, Vec<Secret>)> {
        Box::pin(async move {
            setup::tokens_by_device_flow(context.target, context.profile, context.identities)
                .await
                .map_err(|e| e.to_string())
        })
    }

    /// PP-RATE-2, PP-ERR-1, PP-ERR-2 MUST: the usual error body with its request id, the
    /// header equal to it, read by the client crate's punchplay reader; PP-ERR-2 DECIDED:
    /// the request id's format.
    fn refusal_problems(
        &self,
        profile: &Profile,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (Option<String>, Option<String>) {
        let settings = profile.expect_punchplay();
        let header = &settings.request_id.header;
        let answer = ErrorAnswer::read(header, |h| headers.get(h)?.to_str().ok(), body);
        let envelope = answer.envelope_problem();
        if envelope == Some(EnvelopeProblem::NotJson) {
            return (Some("body is not JSON".into()), None);
        }
        if answer.error.as_deref() != Some("rate_limited") {
            let error = answer.error_as_received();
            return (Some(format!("error is {error}, not rate_limited")), None);
        }
        match envelope {
            Some(EnvelopeProblem::NoMessage) => return (Some("body has no message".into()), None),
            Some(EnvelopeProblem::NoBodyRequestId) => {
                return (Some("body has no request_id".into()), None);
            }
            _ => {}
        }
        let decided = match answer.format_problem(&settings.request_id) {
            Some(EnvelopeProblem::RequestIdFormat(id)) => {
                Some(format!("request_id `{id}` has the wrong format"))
            }
            _ => None,
        };
        let problem = match envelope {
            None => None,
            Some(EnvelopeProblem::NoHeaderRequestId) => Some(format!("no {header} header")),
            Some(EnvelopeProblem::RequestIdsDiffer { .. }) => Some(format!(
                "{header} header differs from the body's request_id"
            )),
            Some(other) => Some(other.to_string()),
        };
        (problem, decided)
    }
}

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

    /// The endpoint a limit is on, and its `[paths]` name; punchplay has no limit over a
    /// path prefix.
    fn of_limit(limit: &RateLimit) -> Result<(Endpoint, &str), String> {
        let name = limit.endpoint();
        name.and_then(|n| Some((Endpoint::of_path_name(n)?, n)))
            .ok_or_else(|| {
                format!(
                    "limit `{}` is on `{}`, for which the load crate has no scenario; the \
                     scenarios cover the endpoints device_code, device_token, refresh, \
                     token, playback and public_user",
                    limit.name,
                    name.or(limit.path_prefix()).unwrap_or_default()
                )
            })
    }
}

/// The requests of one punchplay limit.
#[derive(Debug, Clone)]
pub struct Requests {
    endpoint: Endpoint,
    path: String,
    statuses: Statuses,
    urls: Vec<Url>,
    /// A device code per client_id, for the device-token scenario (a pending code when
    /// the setup could create one, else a made-up one).
    device_codes: BTreeMap<String, String>,
    grant_type_device: &'static str,
    /// Whether confidential clients alternate HTTP Basic with body credentials at the
    /// token endpoint (PP-TOKEN-5, a SHOULD a deployment may lack).
    basic_auth: bool,
    nonce: String,
    /// Made-up credentials handed out so far: each request's is new, so a burst never
    /// repeats one failing request (`repeated-failure`, issue 22 item 3); a request's
    /// `index` restarts every window and key.
    made_up: Arc<AtomicU64>,
}

impl Requests {
    pub fn new(
        profile: &Profile,
        limit: &RateLimit,
        base: &Url,
        usernames: &[String],
        device_codes: BTreeMap<String, String>,
        basic_auth: bool,
    ) -> Result<Requests, String> {
        let (endpoint, name) = Endpoint::of_limit(limit)?;
        let template = profile.path_template(name);
        let paths: Vec<String> = match endpoint {
            // PP-API-3: progress is the action a player sends most; any action is limited.
            Endpoint::Playback => {
                let actions = &profile.expect_punchplay().playback.actions;
                let action = actions
                    .iter()
                    .find(|a| *a == "progress")
                    .or(actions.first())
                    .map_or("progress", String::as_str);
                vec![template.fill(&[("action", action)])]
            }
            Endpoint::PublicUser => {
                if usernames.is_empty() {
                    return Err(
                        "the profile lists no users, so the public-user scenario has \
                                no username to ask for"
                            .into(),
                    );
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
            .map(|p| url_of(base, p))
            .collect::<Result<Vec<_>, _>>()?;
        let admitted = match endpoint {
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
        Ok(Requests {
            endpoint,
            path: profile.path(name).to_owned(),
            statuses: Statuses {
                admitted,
                // PP-RATE-2, PP-API-1.
                refused: profile.status_of("rate_limited"),
                noise: profile.status_of("invalid_token"),
            },
            urls,
            device_codes,
            grant_type_device: "urn:ietf:params:oauth:grant-type:device_code",
            nonce: format!("{:x}", chrono::Utc::now().timestamp_millis()),
            basic_auth,
            made_up: Arc::new(AtomicU64::new(0)),
        })
    }

    /// A made-up `what` (`refresh-token`, `device-code`) no other request of the run sends.
    fn made_up(&self, what: &str) -> String {
        let n = self.made_up.fetch_add(1, Ordering::Relaxed);
        format!("load-not-a-{what}-{}-{n}", self.nonce)
    }
}

impl Recipe for Requests {
    fn path(&self) -> String {
        self.path.clone()
    }

    fn url(&self, index: usize) -> Url {
        self.urls[index % self.urls.len()].clone()
    }

    fn statuses(&self) -> Statuses {
        self.statuses
    }

    fn fill(
        &self,
        rb: RequestBuilder,
        key: &LoadKey,
        index: usize,
        noise: Option<&Secret>,
    ) -> RequestBuilder {
        let app = (!key.clients.is_empty()).then(|| &key.clients[index % key.clients.len()]);
        match self.endpoint {
            Endpoint::DeviceCode => rb.form(&client_fields(app, vec![])),
            Endpoint::DeviceToken => {
                let client_id = app.map_or("", |a| a.client_id.as_str());
                let code = self
                    .device_codes
                    .get(client_id)
                    .cloned()
                    .unwrap_or_else(|| self.made_up("device-code"));
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
                vec![("refresh_token", self.made_up("refresh-token"))],
            )),
            Endpoint::Token => {
                let fields = vec![
                    ("grant_type", "refresh_token".to_owned()),
                    ("refresh_token", self.made_up("refresh-token")),
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
    use crate::traffic::Traffic;
    use profile::Identities;
    use reqwest::Client;

    fn traffic(p: &Profile, limit: &RateLimit, usernames: &[String]) -> Traffic {
        let base = Url::parse("http://127.0.0.1:1").unwrap();
        let recipe = Requests::new(p, limit, &base, usernames, BTreeMap::new(), true).unwrap();
        Traffic::new(limit, &base, Box::new(recipe))
    }

    #[test]
    fn every_limit_of_the_punchplay_profile_has_a_scenario() {
        let p = Profile::punchplay();
        for limit in &p.rate_limits {
            let t = traffic(&p, limit, &["alice".into()]);
            assert_ne!(t.admitted_status, t.refused_status, "{}", limit.name);
        }
    }

    #[test]
    fn requests_carry_the_client_and_the_profile_path() {
        let p = Profile::punchplay();
        let limit = p
            .rate_limit_for("POST", Some("token"), p.path("token"))
            .unwrap();
        let t = traffic(&p, limit, &[]);
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
