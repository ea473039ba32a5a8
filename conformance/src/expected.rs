//! Expected deviations as data: a reviewed file listing the checks a deployment is known
//! to fail, each with the failure it is known for and a reason. A listed check that fails
//! that way is reported as expected; one that fails another way is a new failure (the
//! entry cannot hide it); one that passes fails the run, so the file cannot rot.
//!
//! ```toml
//! [[deviation]]
//! check = "PP-AUTHZ-5/unknown-client-gets-error-page"
//! failure = "expected a 400 error page, got 302"
//! reason = "staging fronts /oauth with a generic error page (OPS-123)"
//! ```
//!
//! `failure` is text the check's failure says: its message, or a line of what its
//! snapshot comparison found (`header \`location\` is …`). Copy it from the report.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Clone)]
pub struct Expected {
    deviations: BTreeMap<String, Deviation>,
}

/// One known deviation of a check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    check: String,
    /// Text the failure says; a failure that does not say it is not this deviation.
    pub failure: String,
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    deviation: Vec<Deviation>,
}

impl Deviation {
    /// Whether a failure that says `said` (its message and what its snapshot comparison
    /// found) is this deviation.
    pub fn matches(&self, said: &str) -> bool {
        said.contains(&self.failure)
    }
}

impl Expected {
    /// Parses the file; every check id must be one the suite knows, each entry names the
    /// failure it expects and a reason, and a check is listed once.
    pub fn from_toml_str(text: &str, known: &[&str]) -> Result<Expected, String> {
        let file: File = toml::from_str(text).map_err(|e| {
            format!(
                "the expected-deviations file is not valid: {e}; each [[deviation]] has `check`, `failure` (text the check's failure says) and `reason` (docs/conformance.md, \"Expected deviations\")"
            )
        })?;
        let mut deviations = BTreeMap::new();
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
            if d.failure.trim().is_empty() {
                return Err(format!(
                    "the expected deviation `{}` needs `failure`: text its failure says (copy it from the report's message), so that another failure of the check is not hidden",
                    d.check
                ));
            }
            if deviations.contains_key(&d.check) {
                return Err(format!(
                    "the expected-deviations file lists `{}` twice; one entry per check",
                    d.check
                ));
            }
            deviations.insert(d.check.clone(), d);
        }
        Ok(Expected { deviations })
    }

    /// The deviation listed for `check`.
    pub fn deviation(&self, check: &str) -> Option<&Deviation> {
        self.deviations.get(check)
    }

    pub fn reason(&self, check: &str) -> Option<&str> {
        self.deviation(check).map(|d| d.reason.as_str())
    }

    pub fn len(&self) -> usize {
        self.deviations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.deviations.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "[[deviation]]\ncheck = \"A/b\"\nfailure = \"got 404\"\nreason = \"known\"\n";

    #[test]
    fn unknown_check_ids_empty_reasons_and_missing_failures_are_refused() {
        let e = Expected::from_toml_str(OK, &["A/b"]).unwrap();
        assert_eq!(e.reason("A/b"), Some("known"));
        assert!(
            Expected::from_toml_str(OK, &["C/d"])
                .unwrap_err()
                .contains("A/b")
        );
        let empty = OK.replace("\"known\"", "\" \"");
        assert!(Expected::from_toml_str(&empty, &["A/b"]).is_err());
        let no_failure = "[[deviation]]\ncheck = \"A/b\"\nreason = \"known\"\n";
        let why = Expected::from_toml_str(no_failure, &["A/b"]).unwrap_err();
        assert!(why.contains("failure"), "{why}");
        let blank = OK.replace("\"got 404\"", "\"\"");
        assert!(Expected::from_toml_str(&blank, &["A/b"]).is_err());
        let twice = format!("{OK}{OK}");
        assert!(
            Expected::from_toml_str(&twice, &["A/b"])
                .unwrap_err()
                .contains("twice")
        );
    }

    #[test]
    fn a_deviation_matches_only_the_failure_it_names() {
        let e = Expected::from_toml_str(OK, &["A/b"]).unwrap();
        let d = e.deviation("A/b").unwrap();
        assert!(d.matches("A-B-1: expected 422, got 404: {}"));
        assert!(!d.matches("A-B-1: expected 422, got 500"));
    }
}
