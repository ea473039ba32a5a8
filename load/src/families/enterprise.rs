//! Enterprise's request recipe: the `/api/*` limit (EN-RATE-1), about 60 requests per
//! minute per source address, semantics as PP-RATE-3.
//!
//! Every request is `GET` of the profile's `tags` route with a real bearer token, got at
//! setup by client credentials (EN-TOKEN-1) from the control client, never from a key's
//! address. A real token, not none: the vendor is a Laravel app, whose authentication
//! middleware runs before its throttle, so a request without a token may never count
//! there; a request the limit is sure to count is one that authenticates. The app is
//! chosen by trait from the credentials file: an active enterprise's client linked to a
//! company and allowed the route's scope, whose admitted answer is 200.

use profile::{Identities, Profile, RateLimit, Secret};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use url::Url;

use super::Clauses;
use super::recipe::{Context, Family, Recipe, Setup, Statuses, url_of};
use crate::keys::{LoadKey, UserToken};
use crate::target::Target;

/// Enterprise has one rate-limit clause; the window, the refusal, the slide (as
/// PP-RATE-3) and the per-address key are all EN-RATE-1's.
pub const CLAUSES: Clauses = Clauses {
    window: "EN-RATE-1",
    refusal: "EN-RATE-1",
    sliding: "EN-RATE-1",
    keys: "EN-RATE-1",
    server_error: "EN-RATE-1",
};

/// The body of a refusal, DECIDED by CONTRACT.md (EN-RATE-1).
pub const REFUSAL_MESSAGE: &str = "Too Many Attempts.";

/// The enterprise family.
#[derive(Debug)]
pub struct Enterprise;

impl Family for Enterprise {
    fn clauses(&self) -> Clauses {
        CLAUSES
    }

    fn recipe<'a>(
        &'a self,
        context: Context<'a>,
        limit: &'a RateLimit,
    ) -> Setup<'a, Box<dyn Recipe>> {
        Box::pin(async move {
            let path = api_route(context.profile, limit)?;
            let url = url_of(&context.target.base, &path)?;
            let (client_id, secret) = reading_app(context.profile, context.identities)?;
            let token = client_credentials_token(
                context.target,
                context.profile,
                client_id,
                secret.expose(),
            )
            .await?;
            Ok(Box::new(ApiRequests {
                path,
                url,
                token,
                statuses: statuses(context.profile),
            }) as Box<dyn Recipe>)
        })
    }

    /// Enterprise has no per-user limit: its tokens belong to clients, not users.
    fn user_tokens<'a>(
        &'a self,
        _context: Context<'a>,
    ) -> Setup<'a, (Vec<UserToken>, Vec<Secret>)> {
        Box::pin(async {
            Err("the enterprise family has no users; a per-user limit cannot be keyed".into())
        })
    }

    fn bench_limit(&self) -> &'static str {
        "api"
    }

    /// EN-RATE-1: the `/api/*` layer's `{message}` (seed 003's table; a MUST), saying
    /// "Too Many Attempts." (DECIDED).
    fn refusal_problems(
        &self,
        _profile: &Profile,
        _headers: &HeaderMap,
        body: &[u8],
    ) -> (Option<String>, Option<String>) {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return (Some("body is not JSON".into()), None);
        };
        match value.get("message").and_then(Value::as_str) {
            None => (Some("body has no message".into()), None),
            Some(REFUSAL_MESSAGE) => (None, None),
            Some(other) => (
                None,
                Some(format!("message is `{other}`, not `{REFUSAL_MESSAGE}`")),
            ),
        }
    }
}

/// The statuses of the `/api/*` scenario: 200 for the company's tags, the profile's
/// refusal, and its `unauthenticated` for a token that fails.
fn statuses(profile: &Profile) -> Statuses {
    Statuses {
        admitted: 200,
        refused: profile.status_of("rate_limited"),
        noise: profile.status_of("unauthenticated"),
    }
}

/// The route the limit's requests go to: the `tags` route, which a path-prefix limit
/// must cover (EN-API-1, EN-RATE-1).
fn api_route(profile: &Profile, limit: &RateLimit) -> Result<String, String> {
    let tags = profile
        .paths
        .get("tags")
        .ok_or("the profile names no `tags` path, the route the /api/* scenario reads")?;
    let covered = match (limit.endpoint(), limit.path_prefix()) {
        (Some(endpoint), _) => endpoint == "tags",
        (None, Some(prefix)) => profile::is_under_prefix(tags, prefix),
        (None, None) => false,
    };
    if !covered {
        return Err(format!(
            "limit `{}` does not cover the tags route {tags}, the one route the enterprise \
             scenario sends",
            limit.name
        ));
    }
    Ok(tags.clone())
}

/// The app whose token reads the route: an active enterprise's client with a secret,
/// linked to a company and allowed the route's scope (the credentials file's first such).
fn reading_app<'i>(
    profile: &Profile,
    identities: &'i Identities,
) -> Result<(&'i str, &'i Secret), String> {
    let scope = profile.required_scope("tags");
    identities
        .apps
        .iter()
        .find(|app| {
            app.company.is_some()
                && identities.enterprise_active(app)
                && scope.is_none_or(|s| app.allowed_scopes.iter().any(|a| a == s))
                && app.secret.is_some()
        })
        .and_then(|app| Some((app.client_id.as_str(), app.secret.as_ref()?)))
        .ok_or_else(|| {
            format!(
                "the credentials name no app of an active enterprise, linked to a company \
                 and allowed `{}`; the /api/* scenario needs one to send requests the limit \
                 is sure to count",
                scope.unwrap_or("its scope")
            )
        })
}

/// An access token by client credentials (EN-TOKEN-1), from the control client.
async fn client_credentials_token(
    target: &Target,
    profile: &Profile,
    client_id: &str,
    secret: &str,
) -> Result<Secret, String> {
    let url = url_of(&target.base, profile.path("token"))?;
    let what = format!("POST {url} for {client_id}");
    let response = target
        .client()
        .post(url)
        .json(&json!({"client_id": client_id, "client_secret": secret}))
        .send()
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let token = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["data"]["access_token"].as_str().map(str::to_owned));
    match (status, token) {
        (200, Some(token)) => Ok(Secret::new(token)),
        _ => Err(format!(
            "{what} answered {status} `{}`, not a token (EN-TOKEN-1); check the credentials",
            text.chars().take(300).collect::<String>()
        )),
    }
}

/// The requests of the `/api/*` limit.
#[derive(Debug, Clone)]
pub struct ApiRequests {
    path: String,
    url: Url,
    token: Secret,
    statuses: Statuses,
}

impl Recipe for ApiRequests {
    fn path(&self) -> String {
        self.path.clone()
    }

    fn url(&self, _index: usize) -> Url {
        self.url.clone()
    }

    fn fill(
        &self,
        request: RequestBuilder,
        _key: &LoadKey,
        _index: usize,
        noise: Option<&Secret>,
    ) -> RequestBuilder {
        request.bearer_auth(noise.unwrap_or(&self.token).expose())
    }

    fn statuses(&self) -> Statuses {
        self.statuses
    }

    /// The limit is on every method (`*`); the route reads with GET.
    fn method(&self) -> Option<Method> {
        Some(Method::GET)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enterprise() -> (Profile, Identities) {
        let b = profile::builtin::find("enterprise").unwrap();
        (b.profile(), b.identities())
    }

    #[test]
    fn the_api_limit_reads_the_tags_route_as_the_linked_active_app() {
        let (p, ids) = enterprise();
        let limit = p.rate_limit("api").unwrap();
        assert_eq!(api_route(&p, limit).unwrap(), "/api/tags");
        assert_eq!(reading_app(&p, &ids).unwrap().0, "en-acme");
        let mut elsewhere = limit.clone();
        elsewhere.target = profile::LimitTarget::PathPrefix("/other/".into());
        assert!(api_route(&p, &elsewhere).is_err());
        let orphans = Identities {
            apps: ids
                .apps
                .iter()
                .filter(|a| a.client_id != "en-acme")
                .cloned()
                .collect(),
            ..ids.clone()
        };
        let why = reading_app(&p, &orphans).unwrap_err();
        assert!(why.contains("tags:read"), "{why}");
    }

    #[test]
    fn a_refusal_is_read_in_the_api_layer_s_shape() {
        let (p, _) = enterprise();
        let h = HeaderMap::new();
        let read = |body: &str| Enterprise.refusal_problems(&p, &h, body.as_bytes());
        assert_eq!(read(r#"{"message":"Too Many Attempts."}"#), (None, None));
        assert!(read(r#"{"message":"Slow down."}"#).1.is_some());
        assert!(read(r#"{"error":"rate_limited"}"#).0.is_some());
        assert!(read("Too Many Attempts.").0.is_some());
    }
}
