//! The requests of one limit's attack: the family's recipe ([`crate::families`]) aimed
//! at the limit's method, and what the players and the verdict read of it.
//!
//! This module names no family's endpoint; it adds to every request only what holds of
//! any keyed limit.

use std::sync::Arc;

use profile::{LimitKey, RateLimit, Secret};
use reqwest::{Client, Method, RequestBuilder};
use url::Url;

use crate::families::Recipe;
use crate::keys::LoadKey;

/// How to make the requests of one limit.
#[derive(Debug, Clone)]
pub struct Traffic {
    pub limit: RateLimit,
    pub method: Method,
    /// The status an admitted request of this scenario answers with.
    pub admitted_status: u16,
    /// The status of a request whose bearer token fails authentication.
    pub noise_status: u16,
    /// The status of a refusal.
    pub refused_status: u16,
    base: Url,
    recipe: Arc<dyn Recipe>,
    /// How the goose users' clients reach the target.
    pub access: contract_client::access::Access,
}

impl Traffic {
    pub fn new(limit: &RateLimit, base: &Url, recipe: Box<dyn Recipe>) -> Traffic {
        let statuses = recipe.statuses();
        // A limit on any method (`*`) sends the recipe's, else GET.
        let method = match recipe.method() {
            Some(m) => m,
            None if limit.method == "*" => Method::GET,
            None => Method::from_bytes(limit.method.to_ascii_uppercase().as_bytes())
                .unwrap_or(Method::POST),
        };
        Traffic {
            limit: limit.clone(),
            method,
            admitted_status: statuses.admitted,
            noise_status: statuses.noise,
            refused_status: statuses.refused,
            base: base.clone(),
            recipe: Arc::from(recipe),
            access: contract_client::access::Access::default(),
        }
    }

    /// The same traffic, reaching the target as `access` says.
    pub fn with_access(mut self, access: &contract_client::access::Access) -> Traffic {
        self.access = access.clone();
        self
    }

    /// The target's base URL, as goose's host.
    pub fn base_url(&self) -> String {
        self.base.as_str().trim_end_matches('/').to_owned()
    }

    /// The path the limit is on, as reports name it.
    pub fn path(&self) -> String {
        self.recipe.path()
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
        let mut rb = client.request(self.method.clone(), self.recipe.url(index));
        if self.limit.key != LimitKey::User {
            // The key is the TCP peer (PP-RATE-4): a client cannot pick another one by
            // claiming to be forwarded (a trusted proxy appends the real peer last).
            rb = rb.header("X-Forwarded-For", format!("198.51.100.{}", index % 254 + 1));
        }
        self.recipe.fill(rb, key, index, noise)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::{Statuses, url_of};
    use profile::Profile;

    /// A recipe no family has yet: any request under the limit's path prefix, with a
    /// bearer token.
    #[derive(Debug)]
    struct UnderPrefix {
        base: Url,
        prefix: String,
    }

    impl Recipe for UnderPrefix {
        fn path(&self) -> String {
            format!("{}*", self.prefix)
        }
        fn url(&self, _index: usize) -> Url {
            url_of(&self.base, &format!("{}tags", self.prefix)).unwrap()
        }
        fn fill(
            &self,
            request: RequestBuilder,
            key: &LoadKey,
            index: usize,
            noise: Option<&Secret>,
        ) -> RequestBuilder {
            let token = noise.unwrap_or(&key.tokens[index % key.tokens.len()]);
            request.bearer_auth(token.expose())
        }
        fn statuses(&self) -> Statuses {
            Statuses {
                admitted: 200,
                refused: 429,
                noise: 401,
            }
        }
    }

    #[test]
    fn a_limit_over_a_path_prefix_is_one_recipe() {
        // Enterprise's `/api/*` (EN-RATE-1): any method, per user, one path under it.
        let mut limit = Profile::punchplay().rate_limits[0].clone();
        limit.method = "*".into();
        limit.target = profile::LimitTarget::PathPrefix("/api/".into());
        limit.key = LimitKey::User;
        let base = Url::parse("http://127.0.0.1:1").unwrap();
        let recipe = UnderPrefix {
            base: base.clone(),
            prefix: limit.path_prefix().unwrap().to_owned(),
        };
        let traffic = Traffic::new(&limit, &base, Box::new(recipe));
        let key = LoadKey {
            label: "alice".into(),
            sources: vec![None],
            clients: Vec::new(),
            tokens: vec![Secret::new("alice-token")],
        };
        let request = traffic
            .request(&Client::new(), &key, 0, None)
            .build()
            .unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.url().path(), "/api/tags");
        assert_eq!(request.headers()["authorization"], "Bearer alice-token");
        // A per-user key is not the peer: no forwarded address is claimed.
        assert!(request.headers().get("x-forwarded-for").is_none());
        assert_eq!(traffic.path(), "/api/*");
    }
}
