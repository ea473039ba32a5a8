//! What a family gives the generic machinery: a [`Recipe`] per limit, made by its
//! [`Family`] after whatever setup the recipe needs.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use profile::{Identities, Profile, RateLimit, Secret};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use url::Url;

use crate::keys::{ClientCredentials, LoadKey, UserToken};
use crate::target::Target;

/// A future a family's setup returns (boxed, so that a family is a trait object).
pub type Setup<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// The statuses the verdict reads a limit's answers by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Statuses {
    /// What an admitted request of the recipe answers (it counts whatever it is).
    pub admitted: u16,
    /// A refusal.
    pub refused: u16,
    /// A request whose bearer token fails authentication.
    pub noise: u16,
}

/// How one limit's requests are made.
pub trait Recipe: Debug + Send + Sync {
    /// The path the limit is on, as reports name it.
    fn path(&self) -> String;
    /// The URL of the `index`-th request. A limit over a path prefix sends to a path
    /// under it.
    fn url(&self, index: usize) -> Url;
    /// The `index`-th request of `key`, on a request builder already aimed at the
    /// limit's method and [`Recipe::url`]: the credentials and the body. `noise` is a
    /// bearer token that fails authentication, to send instead of the key's own.
    fn fill(
        &self,
        request: RequestBuilder,
        key: &LoadKey,
        index: usize,
        noise: Option<&Secret>,
    ) -> RequestBuilder;
    fn statuses(&self) -> Statuses;
    /// The method to send, when the limit's own is not one (`*`: any method).
    fn method(&self) -> Option<Method> {
        None
    }
}

/// What a family's recipe may use: the profile, the target (for setup requests, which
/// go from the control client, never from the keys' addresses) and the credentials.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub profile: &'a Profile,
    pub identities: &'a Identities,
    pub target: &'a Target,
    /// The clients that can authenticate.
    pub clients: &'a [ClientCredentials],
    /// Whether confidential clients may alternate HTTP Basic with body credentials.
    pub basic_auth: bool,
}

/// One family of profiles, as load sends its requests.
pub trait Family: Debug + Sync {
    /// The clause ids the verdict quotes.
    fn clauses(&self) -> Clauses;

    /// The recipe for `limit`, after the setup it needs against the target.
    fn recipe<'a>(
        &'a self,
        context: Context<'a>,
        limit: &'a RateLimit,
    ) -> Setup<'a, Box<dyn Recipe>>;

    /// The fixture users' access tokens for a per-user limit, from a target with test
    /// controls, and tokens of real users that fail authentication (noise).
    fn user_tokens<'a>(&'a self, context: Context<'a>) -> Setup<'a, (Vec<UserToken>, Vec<Secret>)>;

    /// The limit `load bench` measures when none is named: one keyed by IP or client
    /// whose requests cost the server least.
    fn bench_limit(&self) -> &'static str;

    /// What is wrong with a refusal's headers and body in the family's error shape:
    /// (against a MUST, against a DECIDED part). Retry-After is judged by the caller.
    fn refusal_problems(
        &self,
        profile: &Profile,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (Option<String>, Option<String>);
}

/// The request's URL: `path` on `base`.
pub fn url_of(base: &Url, path: &str) -> Result<Url, String> {
    base.join(path)
        .map_err(|_| format!("the base URL and the path `{path}` do not make a URL"))
}

/// The contract's clause ids a family's rate limits are judged by, quoted at the head
/// of every finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clauses {
    /// At most N admitted from a window's first request, and no refusal with room left
    /// (punchplay: PP-RATE-1, MUST).
    pub window: &'static str,
    /// A refusal's shape: the error body, its request id, Retry-After (PP-RATE-2).
    pub refusal: &'static str,
    /// A sliding window, an exact Retry-After, refusals not counted (PP-RATE-3, DECIDED).
    pub sliding: &'static str,
    /// Requests that fail authentication are not counted (PP-RATE-4, DECIDED).
    pub keys: &'static str,
    /// No server error under load (PP-ERR-3).
    pub server_error: &'static str,
}
