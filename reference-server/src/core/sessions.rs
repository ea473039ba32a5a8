//! Browser sessions: who is signed in (PP-AUTHZ-2, PP-APP-7, PP-REVOKE-1), and the
//! sign-in throttle.
//!
//! Throttle (issue 12 item 6): failed sign-ins only are counted, per user and per source
//! address, in sliding windows of [`FAILURE_WINDOW_SECS`]. Past [`MAX_FAILURES_PER_USER`]
//! or [`MAX_FAILURES_PER_ADDRESS`], every sign-in of that user or from that address is
//! refused (429, its own page) until the oldest failure leaves the window, the right
//! password included: otherwise guessing would simply go on. Correct sign-ins never count,
//! so the suite and the load tool, which sign alice in again and again, are unaffected.
//! Unknown user names share one key, and addresses are bounded like every limiter key.
//!
//! CSRF tokens (issue 12 item 6): a signed-in session's token is derived from its id
//! ([`csrf_token_of_session`]), so it needs no table, dies with the session and cannot be
//! used with another session. Signed out (the sign-in form), the token is a random value
//! kept in the browser's `pp_csrf` cookie (double submit). Tokens are compared in
//! constant time ([`csrf_tokens_match`]).

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::Core;
use super::clock::{Millis, secs};
use super::rate_limit::{ExactLimits, RateLimiter};
use super::secrets::random_token;

pub const FAILURE_WINDOW_SECS: u64 = 15 * 60;
pub const MAX_FAILURES_PER_USER: u32 = 10;
pub const MAX_FAILURES_PER_ADDRESS: u32 = 30;
/// The throttle's two windows, as indexes of its limiter.
const BY_USER: usize = 0;
const BY_ADDRESS: usize = 1;
/// The key every unknown user name shares, so invented names cannot grow the table.
const UNKNOWN_USER: &str = "(unknown user)";

/// Why a sign-in did not open a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefused {
    WrongPassword,
    /// Too many failures lately; try again after this many seconds.
    Throttled {
        retry_after: u64,
    },
}

/// Failed sign-ins per user and per address.
#[derive(Debug, Default)]
pub struct SignInThrottle {
    failures: RateLimiter,
}

impl SignInThrottle {
    /// The seconds to wait if `user` or `ip` is over its limit.
    fn wait(&mut self, user: &str, ip: &str, now: Millis) -> Option<u64> {
        let user_wait = self.failures.peek(
            BY_USER,
            MAX_FAILURES_PER_USER,
            FAILURE_WINDOW_SECS,
            user,
            now,
        );
        let ip_wait = self.failures.peek(
            BY_ADDRESS,
            MAX_FAILURES_PER_ADDRESS,
            FAILURE_WINDOW_SECS,
            ip,
            now,
        );
        user_wait.max(ip_wait)
    }

    fn record_failure(&mut self, user: &str, ip: &str, now: Millis) {
        // The throttle is not a documented limit: no fault of PP-RATE-* applies to it.
        let d = &ExactLimits;
        let _ = self.failures.admit(
            BY_USER,
            MAX_FAILURES_PER_USER,
            FAILURE_WINDOW_SECS,
            user,
            now,
            d,
        );
        let _ = self.failures.admit(
            BY_ADDRESS,
            MAX_FAILURES_PER_ADDRESS,
            FAILURE_WINDOW_SECS,
            ip,
            now,
            d,
        );
    }

    pub fn purge(&mut self, now: Millis, budget: usize) -> bool {
        self.failures.purge(now, |_| FAILURE_WINDOW_SECS, budget)
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub expires_at: Millis,
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "pp_session";

/// The CSRF cookie's name, and the form field that must repeat its value.
pub const CSRF_COOKIE: &str = "pp_csrf";
pub const CSRF_FIELD: &str = "csrf_token";
/// A signed-out CSRF token is [`random_token`]'s 43 characters after this prefix.
const CSRF_PREFIX: &str = "ppc_";

/// The CSRF token of a signed-in session: SHA-256 over a label and the session id, so
/// knowing the token reveals nothing of the session id, and each session has its own.
pub fn csrf_token_of_session(session: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"pp-csrf\0")
        .chain_update(session.as_bytes())
        .finalize();
    let mut out = String::from(CSRF_PREFIX);
    URL_SAFE_NO_PAD.encode_string(digest, &mut out);
    out
}

/// A fresh token for a browser that has none (the sign-in form).
pub fn new_csrf_token() -> String {
    random_token(CSRF_PREFIX)
}

/// Whether a `pp_csrf` cookie's value has the shape this server gives tokens: anything
/// else (empty, huge, foreign) is ignored and replaced, never compared.
pub fn is_csrf_token(value: &str) -> bool {
    value.len() == CSRF_PREFIX.len() + 43
        && value.starts_with(CSRF_PREFIX)
        && value[CSRF_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The form's token against the expected one, in constant time.
pub fn csrf_tokens_match(sent: &str, expected: &str) -> bool {
    is_csrf_token(expected) && bool::from(sent.as_bytes().ct_eq(expected.as_bytes()))
}

impl Core {
    /// Checks the password and opens a session; answers its id. Throttled per user and
    /// per address (see the module's comment).
    pub fn sign_in(
        &self,
        username: &str,
        password: &str,
        ip: IpAddr,
    ) -> Result<String, SignInRefused> {
        let now = self.now();
        let ip = ip.to_string();
        {
            let mut state = self.lock();
            let user_key = if state.registry.users.contains_key(username) {
                username
            } else {
                UNKNOWN_USER
            };
            if let Some(retry_after) = state.sign_in_throttle.wait(user_key, &ip, now) {
                return Err(SignInRefused::Throttled { retry_after });
            }
            if !state.registry.check_password(username, password) {
                state.sign_in_throttle.record_failure(user_key, &ip, now);
                return Err(SignInRefused::WrongPassword);
            }
        }
        Ok(self.open_session(username))
    }

    /// Opens a session for a known user without a password (`POST /__test/login`).
    pub fn open_session(&self, username: &str) -> String {
        let id = random_token("pps_");
        let expires_at = self.now() + secs(self.profile.lifetimes.session);
        self.lock().sessions.insert(
            id.clone(),
            Session {
                user: username.to_owned(),
                expires_at,
            },
            expires_at,
        );
        id
    }

    pub fn session_user(&self, session: &str) -> Option<String> {
        let now = self.now();
        self.lock()
            .sessions
            .get(session)
            .filter(|s| s.expires_at > now)
            .map(|s| s.user.clone())
    }

    pub fn sign_out(&self, session: &str) {
        self.lock().sessions.remove(session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_per_session_and_well_formed() {
        let a = csrf_token_of_session("pps_a");
        let b = csrf_token_of_session("pps_b");
        assert!(is_csrf_token(&a) && is_csrf_token(&b) && is_csrf_token(&new_csrf_token()));
        assert_ne!(a, b);
        assert_eq!(a, csrf_token_of_session("pps_a"), "stable for its session");
        assert!(!a.contains("pps_a"), "the session id does not show");
        assert!(csrf_tokens_match(&a, &a));
        assert!(!csrf_tokens_match(&b, &a));
        assert!(
            !csrf_tokens_match(&a[..a.len() - 1], &a),
            "a prefix is not enough"
        );
        // Only a token of this server's shape is ever expected: an empty or forged
        // cookie matches nothing, itself included.
        for forged in ["", "x", "ppc_short", &"ppc_".repeat(40)] {
            assert!(!is_csrf_token(forged));
            assert!(!csrf_tokens_match(forged, forged), "{forged}");
        }
    }
}
