//! Expected deviations as data: a reviewed file listing the checks a deployment is known
//! to fail, each with a reason. A listed check that fails is reported as expected; one
//! that passes fails the run, so the file cannot rot.
//!
//! ```toml
//! [[deviation]]
//! check = "PP-AUTHZ-5/unknown-client-gets-error-page"
//! reason = "staging fronts /oauth with a generic error page (OPS-123)"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Clone)]
pub struct Expected {
    reasons: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    deviation: Vec<Deviation>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Deviation {
    check: String,
    reason: String,
}

impl Expected {
    /// Parses the file; every check id must be one the suite knows.
    pub fn from_toml_str(text: &str, known: &[&str]) -> Result<Expected, String> {
        let file: File = toml::from_str(text)
            .map_err(|e| format!("the expected-deviations file is not valid: {e}"))?;
        let mut reasons = BTreeMap::new();
        for d in file.deviation {
            if !known.contains(&d.check.as_str()) {
                return Err(format!(
                    "the expected-deviations file names `{}`, which is not a check of this suite (see --list)",
                    d.check
                ));
            }
            if d.reason.trim().is_empty() {
                return Err(format!(
                    "the expected deviation `{}` needs a reason",
                    d.check
                ));
            }
            reasons.insert(d.check, d.reason);
        }
        Ok(Expected { reasons })
    }

    pub fn reason(&self, check: &str) -> Option<&str> {
        self.reasons.get(check).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.reasons.len()
    }

    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_check_ids_and_empty_reasons_are_refused() {
        let ok = "[[deviation]]\ncheck = \"A/b\"\nreason = \"known\"\n";
        assert_eq!(
            Expected::from_toml_str(ok, &["A/b"]).unwrap().reason("A/b"),
            Some("known")
        );
        assert!(
            Expected::from_toml_str(ok, &["C/d"])
                .unwrap_err()
                .contains("A/b")
        );
        let empty = "[[deviation]]\ncheck = \"A/b\"\nreason = \" \"\n";
        assert!(Expected::from_toml_str(empty, &["A/b"]).is_err());
    }
}
