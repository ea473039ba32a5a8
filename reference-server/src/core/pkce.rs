//! PKCE, S256 only (RFC 7636; PP-AUTHZ-6, PP-AUTHZ-7): the rule, the component the
//! authorize and token endpoints call, and the faults that bend it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::error::{ProtocolError, ProtocolResult};
use super::fault::{Bends, FaultSpec};
use crate::core::fault::bends;

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Checks the authorize request's challenge: PKCE is required and only `S256` is
/// accepted; `plain` or a missing challenge is `invalid_request` (PP-AUTHZ-6).
pub fn check_challenge(challenge: Option<&str>, method: Option<&str>) -> ProtocolResult<()> {
    let Some(challenge) = challenge.filter(|c| !c.is_empty()) else {
        return Err(ProtocolError::invalid_request(
            "code_challenge is required: PKCE with S256 is mandatory.",
        ));
    };
    match method {
        Some("S256") => {}
        Some("plain") => {
            return Err(ProtocolError::invalid_request(
                "code_challenge_method `plain` is not accepted; use S256.",
            ));
        }
        Some(other) => {
            return Err(ProtocolError::invalid_request(format!(
                "code_challenge_method `{other}` is not supported; use S256."
            )));
        }
        None => {
            return Err(ProtocolError::invalid_request(
                "code_challenge_method is required and must be S256.",
            ));
        }
    }
    // An S256 challenge is the base64url form of a 32-byte digest: 43 characters.
    if challenge.len() != 43
        || !challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ProtocolError::invalid_request(
            "code_challenge must be BASE64URL(SHA256(code_verifier)) without padding: 43 characters.",
        ));
    }
    Ok(())
}

/// Checks a verifier's shape: 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn check_verifier_format(verifier: &str) -> ProtocolResult<()> {
    if !(43..=128).contains(&verifier.len()) || !verifier.bytes().all(is_unreserved) {
        return Err(ProtocolError::invalid_request(
            "code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, `-`, `.`, `_` and `~`.",
        ));
    }
    Ok(())
}

/// BASE64URL(SHA256(verifier)).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` hashes to `challenge`, compared in constant time.
pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    s256(verifier).as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// What the authorize and token endpoints ask of PKCE. The default methods are the
/// contract ([`S256Only`] keeps them); a faulty implementation overrides what its fault
/// bends.
pub trait PkcePolicy: Sync {
    /// The authorize request's challenge and method (PP-AUTHZ-6).
    fn check_challenge(&self, challenge: Option<&str>, method: Option<&str>) -> ProtocolResult<()> {
        check_challenge(challenge, method)
    }

    /// Whether the token request's verifier answers the code's challenge (PP-AUTHZ-7).
    fn verifies(&self, verifier: &str, challenge: &str, _challenge_is_plain: bool) -> bool {
        verifier_matches(verifier, challenge)
    }
}

/// PP-AUTHZ-6, PP-AUTHZ-7: S256 only, the verifier hashed and compared in constant time.
pub struct S256Only;

impl PkcePolicy for S256Only {}

/// The PKCE rule the rules call.
pub fn policy(bends: Bends) -> &'static dyn PkcePolicy {
    bends.pick::<dyn PkcePolicy>(&S256Only)
}

/// `plain_pkce_accepted` (PP-AUTHZ-6): `plain` challenges pass, and are compared as is.
struct PlainPkceAccepted;

impl PkcePolicy for PlainPkceAccepted {
    fn check_challenge(&self, challenge: Option<&str>, method: Option<&str>) -> ProtocolResult<()> {
        if method == Some("plain") && challenge.is_some_and(|c| !c.is_empty()) {
            return Ok(());
        }
        S256Only.check_challenge(challenge, method)
    }

    fn verifies(&self, verifier: &str, challenge: &str, challenge_is_plain: bool) -> bool {
        if challenge_is_plain {
            return verifier == challenge;
        }
        S256Only.verifies(verifier, challenge, challenge_is_plain)
    }
}

pub static PLAIN_PKCE_ACCEPTED: FaultSpec = FaultSpec::bending(
    "plain_pkce_accepted",
    "PP-AUTHZ-6",
    "code_challenge_method=plain is accepted",
    bends!(dyn PkcePolicy = PlainPkceAccepted),
);

/// `verifier_ignored` (PP-AUTHZ-7): any well-formed verifier passes.
struct VerifierIgnored;

impl PkcePolicy for VerifierIgnored {
    fn verifies(&self, _verifier: &str, _challenge: &str, _challenge_is_plain: bool) -> bool {
        true
    }
}

pub static VERIFIER_IGNORED: FaultSpec = FaultSpec::bending(
    "verifier_ignored",
    "PP-AUTHZ-7",
    "the code_verifier is not checked against the challenge",
    bends!(dyn PkcePolicy = VerifierIgnored),
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verifier_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(check_verifier_format(verifier).is_ok());
    }

    #[test]
    fn plain_and_missing_challenges_are_refused() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_challenge(Some(c), Some("S256")).is_ok());
        assert!(check_challenge(Some(c), Some("plain")).is_err());
        assert!(check_challenge(Some(c), None).is_err());
        assert!(check_challenge(None, Some("S256")).is_err());
        assert!(check_verifier_format("short").is_err());
        assert!(check_verifier_format(&"a".repeat(129)).is_err());
    }
}
