//! Credentials: random tokens, and secrets kept only as SHA-256 digests compared in
//! constant time (PP-APP-6).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

/// A secret's SHA-256 digest; `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest([u8; 32]);

impl std::fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDigest([redacted])")
    }
}

impl SecretDigest {
    pub fn of(secret: &str) -> Self {
        SecretDigest(Sha256::digest(secret.as_bytes()).into())
    }

    /// Constant-time comparison of `candidate`'s digest with this one (PP-APP-6).
    pub fn matches(&self, candidate: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        self.0.ct_eq(&other).into()
    }
}

/// A password as stored: a random 16-byte salt and SHA-256(salt || password), so equal
/// passwords do not store equal digests and a precomputed table is no use (issue 12
/// item 6). `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordDigest {
    salt: [u8; 16],
    digest: [u8; 32],
}

impl std::fmt::Debug for PasswordDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordDigest([redacted])")
    }
}

impl PasswordDigest {
    pub fn of(password: &str) -> Self {
        let salt: [u8; 16] = rand::rng().random();
        PasswordDigest {
            salt,
            digest: Self::salted(&salt, password),
        }
    }

    fn salted(salt: &[u8; 16], password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(salt);
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    /// Constant-time comparison of `candidate`'s salted digest with this one.
    pub fn matches(&self, candidate: &str) -> bool {
        self.digest
            .ct_eq(&Self::salted(&self.salt, candidate))
            .into()
    }
}

/// A fresh random credential: `prefix` + 32 random bytes, base64url.
pub fn random_token(prefix: &str) -> String {
    // In one copy from the generator's block, not drawn a byte at a time.
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let mut out = String::with_capacity(prefix.len() + 43);
    out.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes, &mut out);
    out
}

/// `n` characters drawn uniformly from `alphabet`.
pub fn random_from(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// A request id: `prefix` + `hex_len` lowercase hex characters (PP-ERR-2).
pub fn request_id(prefix: &str, hex_len: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rng = rand::rng();
    let mut out = String::with_capacity(prefix.len() + hex_len);
    out.push_str(prefix);
    // One random u64 per 16 digits, not one random draw per digit.
    let mut bits = 0u64;
    for i in 0..hex_len {
        if i % 16 == 0 {
            bits = rng.random();
        }
        out.push(HEX[(bits & 0xf) as usize] as char);
        bits >>= 4;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_only_the_same_secret() {
        let d = SecretDigest::of("pp-web-secret");
        assert!(d.matches("pp-web-secret"));
        assert!(!d.matches("pp-web-secreT"));
        assert_eq!(format!("{d:?}"), "SecretDigest([redacted])");
    }

    #[test]
    fn passwords_are_salted_and_match_only_themselves() {
        let (a, b) = (PasswordDigest::of("pw"), PasswordDigest::of("pw"));
        assert_ne!(a, b, "two users with one password store different digests");
        assert!(a.matches("pw") && b.matches("pw"));
        assert!(!a.matches("pW"));
        assert_eq!(format!("{a:?}"), "PasswordDigest([redacted])");
    }

    #[test]
    fn request_ids_have_the_documented_shape() {
        let id = request_id("req_", 20);
        let format = profile::RequestIdFormat {
            header: "X-Request-Id".into(),
            prefix: "req_".into(),
            hex_len: 20,
        };
        assert!(format.matches(&id), "{id}");
        assert_ne!(id, request_id("req_", 20));
    }
}
