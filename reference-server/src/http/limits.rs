//! Rate limits by route (issue 7 item 2; PP-RATE-1..4): the shell counts every request
//! under its route's limit before the handler runs, keyed as the limit says, and refuses
//! at start a profile limit the family's routes could not key. No handler calls the
//! limiter.

use hyper::Method;
use profile::{LimitKey, LimitTarget};

use super::request::{self, RequestBody};
use super::routes::ClientSource;
use super::{App, Ctx, RouteFacts};
use crate::core::error::ProtocolResult;

impl App {
    /// Counts the request under the profile's limit for its route, before the handler
    /// runs (issue 7 item 2; PP-RATE-1..4). No handler calls the limiter. The key: the IP;
    /// the `client_id` of the OAuth body or Basic (the body is read here, and handed on)
    /// or of the bearer token; or the bearer token's user, authenticated first so that
    /// requests failing authentication are not counted (PP-RATE-4). Test controls are
    /// never limited.
    pub(super) async fn limit(
        &self,
        facts: &RouteFacts,
        ctx: &Ctx,
        body: RequestBody,
        seen: Option<&mut super::observing::Seen>,
    ) -> ProtocolResult<RequestBody> {
        // HEAD is served as GET, and counted as GET.
        let method = if ctx.method == Method::HEAD {
            "GET"
        } else {
            ctx.method.as_str()
        };
        let limits = &self.core.profile.rate_limits;
        // Worked out once per route where its path and method are fixed (`RouteTable`).
        let index = match facts.limit {
            Some(known) => known,
            None => self
                .core
                .profile
                .rate_limit_for(method, facts.endpoint, ctx.path())
                .and_then(|limit| limits.iter().position(|l| std::ptr::eq(l, limit))),
        };
        let Some(index) = index else {
            return Ok(body);
        };
        let limit = &limits[index];
        let authenticate = || {
            self.core
                .authenticate_bearer(request::bearer_token(&ctx.headers), None)
        };
        let (key, body) = match limit.key {
            LimitKey::Ip => (ctx.ip.to_string(), body),
            LimitKey::ClientAndIp => {
                let (client, body) = match facts.client_source {
                    ClientSource::OAuthBody => {
                        match body
                            .read(&ctx.headers, self.core.profile.http.max_body_bytes)
                            .await
                        {
                            Ok(bytes) => {
                                let input = self.pack.oauth_input(&ctx.headers, &bytes);
                                let client = input
                                    .as_ref()
                                    .ok()
                                    .and_then(|(_, creds)| creds.client_id.clone());
                                (client, RequestBody::OAuth(bytes, input))
                            }
                            Err(e) => (None, RequestBody::Read(Err(e))),
                        }
                    }
                    ClientSource::Bearer => (Some(authenticate()?.client_id), body),
                    // `App::new` refuses such a limit; the IP alone is a safe floor.
                    ClientSource::None => (None, body),
                };
                // Only a registered client_id goes into a key (issue 12 item 1): the limit
                // is checked before the client is authenticated, and invented ids (any
                // length, any number) all share their address's one "unregistered" key.
                let client = client
                    .filter(|c| self.core.is_registered_client(c))
                    .unwrap_or_else(|| UNREGISTERED_CLIENT_KEY.to_owned());
                (format!("{client} {}", ctx.ip), body)
            }
            LimitKey::User => (authenticate()?.user, body),
        };
        if let Err(refused) = self.core.admit(index, &key) {
            // Client observation sees whose request was refused (issue 22, Retry-After):
            // the body of a refused OAuth request is read for it, and only then.
            if let Some(seen) = seen
                && facts.client_source == ClientSource::OAuthBody
            {
                seen.oauth_body(&self.read_oauth_body(ctx, body).await);
            }
            return Err(refused);
        }
        Ok(body)
    }
}

/// The client part of a limit key for a `client_id` that is not a registered app. A
/// client_id cannot contain a space, so no app can share it.
const UNREGISTERED_CLIENT_KEY: &str = "(unregistered client)";

impl ClientSource {
    fn offers(self, key: LimitKey) -> bool {
        match key {
            LimitKey::Ip => true,
            LimitKey::ClientAndIp => self != ClientSource::None,
            LimitKey::User => self == ClientSource::Bearer,
        }
    }
}

/// Refuses at start a profile limit this server would not hold: one on an endpoint and
/// method it does not serve, or keyed by something a route it covers cannot offer. A
/// path-prefix limit also counts unknown paths under it, which offer only the IP.
pub(super) fn check_limits_are_served(
    profile: &profile::Profile,
    endpoint_routes: &[(&str, &str, ClientSource)],
) -> std::io::Result<()> {
    for limit in &profile.rate_limits {
        let covered = endpoint_routes.iter().filter(|(method, endpoint, _)| {
            limit.covers_method(method)
                && match &limit.target {
                    LimitTarget::Endpoint(e) => e == endpoint,
                    LimitTarget::PathPrefix(prefix) => {
                        profile::is_under_prefix(profile.path(endpoint), prefix)
                    }
                }
        });
        let mut covers_any = false;
        for (method, endpoint, source) in covered {
            covers_any = true;
            if !source.offers(limit.key) {
                return Err(std::io::Error::other(format!(
                    "rate limit `{}` is keyed by {}, which {method} {endpoint} cannot offer",
                    limit.name,
                    limit.key.as_str(),
                )));
            }
        }
        match &limit.target {
            LimitTarget::Endpoint(endpoint) if !covers_any => {
                return Err(std::io::Error::other(format!(
                    "rate limit `{}` is on {} {endpoint}, which this server does not serve",
                    limit.name, limit.method,
                )));
            }
            LimitTarget::PathPrefix(prefix) if limit.key != LimitKey::Ip => {
                return Err(std::io::Error::other(format!(
                    "rate limit `{}` on the path prefix {prefix} is keyed by {}; a prefix limit also counts unknown paths, which offer only the IP",
                    limit.name,
                    limit.key.as_str(),
                )));
            }
            _ => {}
        }
    }
    Ok(())
}
