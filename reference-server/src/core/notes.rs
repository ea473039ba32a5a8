//! What the kernel learnt about the request it is serving, for the request recorder and
//! client observation (issues 21 and 22): the client a bearer token belongs to, the grant
//! a token request issued under, a `redirect_uri` that differed from the authorization's.
//! The shell opens one [`Notes`] per request ([`scope`]); the kernel writes with [`note`],
//! which outside such a scope (unit tests, background tasks) does nothing. Notes never
//! change an answer: they only say what the answer was about.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use super::clock::Millis;
use super::grants::GrantId;

/// One request's notes.
#[derive(Debug, Default, Clone)]
pub struct Notes {
    /// The `client_id` a token or client-authenticated request named (authenticated or
    /// not).
    pub client: Option<Arc<str>>,
    /// The credential a token request presented, by kind, as a digest.
    pub presented: Option<(Presented, u64)>,
    /// The app a presented bearer token was issued to (it was live).
    pub bearer_client: Option<Arc<str>>,
    /// The grant tokens were issued under by this request, and when the new access token
    /// expires.
    pub issued: Option<(GrantId, Millis)>,
    /// The token request's `redirect_uri` differed from the one the code was issued for
    /// (RFC 6749 §4.1.3).
    pub redirect_mismatch: bool,
    /// A public client sent a secret, which its authenticator refused (PP-APP-3; RFC 6749
    /// §2.1: a public client has no secret to keep).
    pub public_client_secret: bool,
    /// An authorization request from a known client to a registered redirect URI, with
    /// the PKCE it carried (RFC 7636, RFC 9700 §2.1.1).
    pub authorization: Option<PkceSeen>,
    /// The rate-limit key that counted the request ([`digest_of`] its limit and key).
    pub rate_key: Option<u64>,
    /// The `Retry-After` seconds of a refusal by that limit (PP-RATE-2).
    pub retry_after: Option<u64>,
}

/// The credential a request's body presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presented {
    RefreshToken,
    Code,
    DeviceCode,
    /// Revocation's and introspection's `token`.
    Token,
}

/// Notes the client a request named and the credential its parameters present.
pub fn note_client(client_id: Option<&str>, params: Option<&super::Params>) {
    note(|n| {
        n.client = client_id.map(Arc::from);
        n.presented = params.and_then(presented_in);
    });
}

/// The credential `params` present (a refresh token, a code, a device code, a token to
/// revoke or introspect), by kind, as a digest.
pub fn presented_in(params: &super::Params) -> Option<(Presented, u64)> {
    [
        ("refresh_token", Presented::RefreshToken),
        ("code", Presented::Code),
        ("device_code", Presented::DeviceCode),
        ("token", Presented::Token),
    ]
    .into_iter()
    .find_map(|(name, kind)| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| (kind, digest_of(v.as_str())))
    })
}

/// The PKCE an authorization request carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceSeen {
    /// No `code_challenge`.
    Missing,
    /// `plain`, or a challenge without a method, which RFC 7636 §4.3 defaults to `plain`.
    Plain,
    S256,
    /// Another method (refused by every family).
    Other,
}

impl PkceSeen {
    pub fn of(challenge: Option<&str>, method: Option<&str>) -> Self {
        match (challenge.filter(|c| !c.is_empty()), method) {
            (None, _) => PkceSeen::Missing,
            (Some(_), None | Some("plain")) => PkceSeen::Plain,
            (Some(_), Some("S256")) => PkceSeen::S256,
            (Some(_), Some(_)) => PkceSeen::Other,
        }
    }
}

/// A 64-bit digest of a value, for observation's tables: never the value itself.
pub fn digest_of<T: std::hash::Hash + ?Sized>(value: &T) -> u64 {
    use std::hash::BuildHasher as _;
    rustc_hash::FxBuildHasher.hash_one(value)
}

tokio::task_local! {
    static NOTES: RefCell<Notes>;
}

/// Writes to the current request's notes, if the shell opened them.
pub fn note(write: impl FnOnce(&mut Notes)) {
    let _ = NOTES.try_with(|n| write(&mut n.borrow_mut()));
}

/// Runs `serve` with fresh notes, and hands them back with its output.
pub async fn scope<F: Future>(serve: F) -> (F::Output, Notes) {
    NOTES
        .scope(RefCell::new(Notes::default()), async {
            let out = serve.await;
            (out, NOTES.with(|n| n.take()))
        })
        .await
}
