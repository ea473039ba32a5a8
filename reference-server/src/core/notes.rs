//! What the kernel learnt about the request it is serving, for the request recorder and
//! client observation (issues 21 and 22): the client a bearer token belongs to, the grant
//! a token request issued under, a `redirect_uri` that differed from the authorization's.
//! The shell opens one [`Notes`] per request ([`open`], [`close_with`]) in its connection's
//! task ([`connection`]); the kernel writes with [`note`], which elsewhere (unit tests,
//! background tasks) does nothing. Notes never change an answer: they only say what the
//! answer was about.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use super::clock::Millis;

/// One request's notes.
#[derive(Debug, Default, Clone)]
pub struct Notes {
    /// The `client_id` a token or client-authenticated request named (authenticated or
    /// not).
    pub client: Option<ClientName>,
    /// The credential a token request presented, by kind, as a digest.
    pub presented: Option<(Presented, u64)>,
    /// A digest of the bearer token presented (the first 8 bytes of its key).
    pub bearer: Option<u64>,
    /// The app a presented bearer token was issued to (it was live).
    pub bearer_client: Option<Arc<str>>,
    /// The kernel's last reading of the clock while serving it.
    pub at: Option<Millis>,
    /// The grant tokens were issued under by this request, and when the new access token
    /// expires.
    pub issued: Option<(u64, Millis)>,
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

/// Notes the bearer token presented, by its key.
pub fn note_bearer(key: &[u8; 16]) {
    let mut first = [0u8; 8];
    first.copy_from_slice(&key[..8]);
    note(|n| n.bearer = Some(u64::from_le_bytes(first)));
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

/// A `client_id` as a request named it, kept inline (no allocation on the hot path):
/// its first [`ClientName::MAX`] bytes, cut at a character boundary.
#[derive(Clone, Copy)]
pub struct ClientName {
    len: u8,
    bytes: [u8; ClientName::MAX],
}

impl ClientName {
    pub const MAX: usize = 63;

    pub fn new(client_id: &str) -> Self {
        let mut end = client_id.len().min(Self::MAX);
        while !client_id.is_char_boundary(end) {
            end -= 1;
        }
        let mut bytes = [0; Self::MAX];
        bytes[..end].copy_from_slice(&client_id.as_bytes()[..end]);
        ClientName {
            len: end as u8,
            bytes,
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }
}

impl std::fmt::Debug for ClientName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

/// Notes the client a request named and the credential its parameters present.
pub fn note_client(client_id: Option<&str>, params: Option<&super::Params>) {
    note(|n| {
        n.client = client_id.map(ClientName::new);
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

// One slot per connection task, opened and closed per request by the shell ([`open`],
// [`close`]): HTTP/1 serves a connection's requests one at a time, and scoping the
// connection once costs nothing per request, where scoping each request's future would
// move that future.
// Boxed: tokio swaps a task-local in and out of its thread on every poll of the task.
tokio::task_local! {
    static NOTES: Box<RefCell<Option<Notes>>>;
}

/// Runs a connection's task with a slot for its requests' notes.
pub fn connection<F: Future>(serve: F) -> impl Future<Output = F::Output> {
    NOTES.scope(Box::new(RefCell::new(None)), serve)
}

/// Opens fresh notes for the request the task serves now (outside [`connection`], none).
pub fn open() {
    let _ = NOTES.try_with(|n| {
        if let Ok(mut slot) = n.try_borrow_mut() {
            *slot = Some(Notes::default());
        }
    });
}

/// Reads the request's notes (default ones when none were opened), then closes them.
pub fn close_with<R>(read: impl FnOnce(&Notes) -> R) -> R {
    let mut read = Some(read);
    let out = NOTES.try_with(|n| {
        let held = n.try_borrow().ok();
        let notes = held.as_ref().and_then(|h| h.as_ref());
        let read = read.take().expect("called once");
        let out = match notes {
            Some(notes) => read(notes),
            None => read(&Notes::default()),
        };
        drop(held);
        if let Ok(mut slot) = n.try_borrow_mut() {
            *slot = None;
        }
        out
    });
    match (out, read) {
        (Ok(out), _) => out,
        (Err(_), Some(read)) => read(&Notes::default()),
        (Err(_), None) => unreachable!("read runs only inside the slot"),
    }
}

/// Writes to the current request's notes, if the shell opened them.
pub fn note(write: impl FnOnce(&mut Notes)) {
    // Not while the shell reads them (`close_with`): nothing is noted then.
    let _ = NOTES.try_with(|n| {
        if let Ok(mut slot) = n.try_borrow_mut()
            && let Some(notes) = slot.as_mut()
        {
            write(notes);
        }
    });
}
