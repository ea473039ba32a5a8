//! The prefixes of the credentials a server issues (`[tokens]`): access and refresh tokens
//! and authorization codes start with them, so a token tells which system issued it and
//! what it is (issue 23 item 6). Optional in a file; without it every family's server uses
//! neutral prefixes.

use serde::{Deserialize, Serialize};

use crate::ProfileError;

/// The longest prefix accepted: a prefix names, it does not carry data.
const MAX_PREFIX_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenPrefixes {
    /// Access tokens (`ppat_` for punchplay).
    pub access: String,
    /// Refresh tokens (`pprt_`).
    pub refresh: String,
    /// Authorization codes (`ppac_`).
    pub code: String,
}

impl Default for TokenPrefixes {
    fn default() -> Self {
        TokenPrefixes {
            access: "at_".into(),
            refresh: "rt_".into(),
            code: "ac_".into(),
        }
    }
}

impl TokenPrefixes {
    /// Each prefix is 1 to 16 of `A-Z a-z 0-9 _ -`: it goes into headers, forms and URLs
    /// as it is.
    pub(crate) fn validate(&self) -> Result<(), ProfileError> {
        for (name, prefix) in [
            ("access", &self.access),
            ("refresh", &self.refresh),
            ("code", &self.code),
        ] {
            let fits = (1..=MAX_PREFIX_LEN).contains(&prefix.len())
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !fits {
                return Err(ProfileError::Invalid(format!(
                    "[tokens] {name} = `{prefix}` must be 1 to {MAX_PREFIX_LEN} of A-Z, a-z, 0-9, `_` and `-`"
                )));
            }
        }
        Ok(())
    }
}
