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
}

impl Traffic {
    pub fn new(limit: &RateLimit, base: &Url, recipe: Box<dyn Recipe>) -> Traffic {
        let statuses = recipe.statuses();
        // A method the profile does not spell as one (`*`, say) is sent as POST.
        let method = Method::from_bytes(limit.method.to_ascii_uppercase().as_bytes())
            .unwrap_or(Method::POST);
        Traffic {
            limit: limit.clone(),
            method,
            admitted_status: statuses.admitted,
            noise_status: statuses.noise,
            refused_status: statuses.refused,
            base: base.clone(),
            recipe: Arc::from(recipe),
        }
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
