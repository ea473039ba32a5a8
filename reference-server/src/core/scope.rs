//! Scope requests (PP-SCOPE-1..4).

use super::error::{ErrorCode, ProtocolError, ProtocolResult};

/// A set of scopes, kept in the profile's order so responses read the same every time.
/// Shared, not copied, when cloned: every token of a grant points at one set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(std::sync::Arc<[String]>);

impl ScopeSet {
    pub fn from_known(known: &[String], wanted: impl Fn(&str) -> bool) -> Self {
        ScopeSet(known.iter().filter(|s| wanted(s)).cloned().collect())
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Space-separated (PP-SCOPE-4).
    pub fn to_wire(&self) -> String {
        self.0.join(" ")
    }
}

/// Resolves a request's `scope` against an app's allowed scopes: none requested grants
/// them all (PP-SCOPE-2); any scope outside them, unknown ones included, is
/// `invalid_scope` (PP-SCOPE-3).
pub fn resolve(
    requested: Option<&str>,
    allowed: &ScopeSet,
    known: &[String],
    drop_unknown: bool,
) -> ProtocolResult<ScopeSet> {
    let Some(requested) = requested.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(allowed.clone());
    };
    let names: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
    if !drop_unknown && let Some(bad) = names.iter().find(|n| !allowed.contains(n)) {
        return Err(ProtocolError::new(
            ErrorCode::InvalidScope,
            format!(
                "The scope `{bad}` is outside this app's allowed_scopes ({}). Ask only for scopes the app is allowed.",
                allowed.to_wire()
            ),
        ));
    }
    let granted = ScopeSet::from_known(known, |s| names.contains(&s) && allowed.contains(s));
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        profile::Profile::punchplay().scopes.known
    }

    #[test]
    fn no_scope_grants_allowed_scopes_and_outside_ones_are_refused() {
        let k = known();
        let allowed =
            ScopeSet::from_known(&k, |s| s.starts_with("playback") || s == "profile:read");
        assert_eq!(resolve(None, &allowed, &k, false).unwrap(), allowed);
        let narrow = resolve(Some("playback:read"), &allowed, &k, false).unwrap();
        assert_eq!(narrow.to_wire(), "playback:read");
        let err = resolve(Some("playback:read events:read"), &allowed, &k, false).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
        assert_eq!(
            resolve(Some("admin"), &allowed, &k, false)
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
    }
}
