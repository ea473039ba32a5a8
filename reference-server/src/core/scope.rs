//! Scopes (PP-SCOPE-1..4, PP-REFRESH-5, PP-API-2): how a request's `scope` resolves
//! against an app's, how a refresh narrows it, whether a token covers an endpoint; the
//! component the rules call for each, and the faults that bend it.

use super::error::{ErrorCode, ProtocolError, ProtocolResult};
use super::fault::{Bends, FaultSpec};
use crate::core::fault::bends;

/// A set of scopes, kept in the profile's order so responses read the same every time,
/// with its wire form written once. Shared, not copied, when cloned: every token of a
/// grant points at one set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet(std::sync::Arc<Scopes>);

#[derive(Debug, PartialEq, Eq, Hash, Default)]
struct Scopes {
    names: Vec<String>,
    /// Space-separated (PP-SCOPE-4).
    wire: String,
}

impl ScopeSet {
    pub fn from_known(known: &[String], wanted: impl Fn(&str) -> bool) -> Self {
        let names: Vec<String> = known.iter().filter(|s| wanted(s)).cloned().collect();
        let wire = names.join(" ");
        ScopeSet(std::sync::Arc::new(Scopes { names, wire }))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.names.iter().any(|s| s == scope)
    }

    pub fn is_subset_of(&self, other: &ScopeSet) -> bool {
        self.0.names.iter().all(|s| other.contains(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.names.iter().map(String::as_str)
    }

    /// Space-separated (PP-SCOPE-4).
    pub fn as_wire(&self) -> &str {
        &self.0.wire
    }

    /// [`ScopeSet::as_wire`], owned.
    pub fn to_wire(&self) -> String {
        self.0.wire.clone()
    }
}

/// The scope names a request's `scope` lists; `None` when it lists none.
pub fn requested_names(requested: Option<&str>) -> Option<Vec<&str>> {
    let requested = requested.map(str::trim).filter(|s| !s.is_empty())?;
    Some(requested.split(' ').filter(|s| !s.is_empty()).collect())
}

/// Resolves a request's `scope` against an app's allowed scopes: none requested grants
/// them all (PP-SCOPE-2); any scope outside them, unknown ones included, is
/// `invalid_scope` (PP-SCOPE-3).
pub fn resolve(
    requested: Option<&str>,
    allowed: &ScopeSet,
    known: &[String],
) -> ProtocolResult<ScopeSet> {
    let Some(names) = requested_names(requested) else {
        return Ok(allowed.clone());
    };
    if let Some(bad) = names.iter().find(|n| !allowed.contains(n)) {
        return Err(ProtocolError::new(
            ErrorCode::InvalidScope,
            format!(
                "The scope `{bad}` is outside this app's allowed_scopes ({}). Ask only for scopes the app is allowed.",
                allowed.to_wire()
            ),
        ));
    }
    Ok(ScopeSet::from_known(known, |s| names.contains(&s)))
}

/// The scope of a refresh that asks for `requested` under a grant of `granted`: the same
/// or narrower (PP-REFRESH-5); wider is `invalid_scope`.
pub fn narrow(
    requested: &[&str],
    granted: &ScopeSet,
    known: &[String],
) -> ProtocolResult<ScopeSet> {
    if requested.iter().any(|n| !granted.contains(n)) {
        return Err(ProtocolError::new(
            ErrorCode::InvalidScope,
            format!(
                "A refresh cannot widen scope: this grant holds `{}`.",
                granted.to_wire()
            ),
        ));
    }
    Ok(ScopeSet::from_known(known, |s| requested.contains(&s)))
}

/// How scopes are granted and checked. The default methods are the contract
/// ([`StrictScopes`] keeps them all); a faulty implementation overrides the one its fault
/// bends.
pub trait ScopePolicy: Sync {
    /// The scopes an authorize or device request gets (PP-SCOPE-2, PP-SCOPE-3).
    fn grant(
        &self,
        requested: Option<&str>,
        allowed: &ScopeSet,
        known: &[String],
    ) -> ProtocolResult<ScopeSet> {
        resolve(requested, allowed, known)
    }

    /// The scopes a refresh asking for `requested` gets (PP-REFRESH-5); `allowed` is
    /// the app's.
    fn refresh(
        &self,
        requested: &[&str],
        granted: &ScopeSet,
        _allowed: &ScopeSet,
        known: &[String],
    ) -> ProtocolResult<ScopeSet> {
        narrow(requested, granted, known)
    }

    /// Whether a token holding `held` may call an endpoint that needs `required` (PP-API-2).
    fn covers(&self, held: &ScopeSet, required: &str) -> bool {
        held.contains(required)
    }
}

/// PP-SCOPE-3, PP-REFRESH-5, PP-API-2 as written.
pub struct StrictScopes;

impl ScopePolicy for StrictScopes {}

/// The scope rules the rules call.
pub fn policy(bends: Bends) -> &'static dyn ScopePolicy {
    bends.pick::<dyn ScopePolicy>(&StrictScopes)
}

/// `unknown_scope_granted` (PP-SCOPE-3): scopes outside the app's are dropped, not refused.
struct UnknownScopeGranted;

impl ScopePolicy for UnknownScopeGranted {
    fn grant(
        &self,
        requested: Option<&str>,
        allowed: &ScopeSet,
        known: &[String],
    ) -> ProtocolResult<ScopeSet> {
        let Some(names) = requested_names(requested) else {
            return Ok(allowed.clone());
        };
        Ok(ScopeSet::from_known(known, |s| {
            names.contains(&s) && allowed.contains(s)
        }))
    }
}

pub static UNKNOWN_SCOPE_GRANTED: FaultSpec = FaultSpec::bending(
    "unknown_scope_granted",
    "PP-SCOPE-3",
    "scopes outside allowed_scopes are silently dropped instead of refused",
    bends!(dyn ScopePolicy = UnknownScopeGranted),
);

/// `refresh_widens_scope` (PP-REFRESH-5): a refresh gets any scope the app is allowed.
struct RefreshWidensScope;

impl ScopePolicy for RefreshWidensScope {
    fn refresh(
        &self,
        requested: &[&str],
        granted: &ScopeSet,
        allowed: &ScopeSet,
        known: &[String],
    ) -> ProtocolResult<ScopeSet> {
        Ok(ScopeSet::from_known(known, |s| {
            requested.contains(&s) && (granted.contains(s) || allowed.contains(s))
        }))
    }
}

pub static REFRESH_WIDENS_SCOPE: FaultSpec = FaultSpec::bending(
    "refresh_widens_scope",
    "PP-REFRESH-5",
    "a refresh may ask for more scope than the grant has",
    bends!(dyn ScopePolicy = RefreshWidensScope),
);

/// Every token covers every endpoint: the wrapper of `scope_check_skipped` (PP-API-2),
/// which another family's fault on its own API may reuse.
pub struct ScopeCheckSkipped;

impl ScopePolicy for ScopeCheckSkipped {
    fn covers(&self, _held: &ScopeSet, _required: &str) -> bool {
        true
    }
}

pub static SCOPE_CHECK_SKIPPED: FaultSpec = FaultSpec::bending(
    "scope_check_skipped",
    "PP-API-2",
    "the bearer API does not check the token's scope",
    bends!(dyn ScopePolicy = ScopeCheckSkipped),
);

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Vec<String> {
        [
            "profile:read",
            "playback:read",
            "playback:write",
            "events:read",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn no_scope_grants_allowed_scopes_and_outside_ones_are_refused() {
        let k = known();
        let allowed =
            ScopeSet::from_known(&k, |s| s.starts_with("playback") || s == "profile:read");
        assert_eq!(resolve(None, &allowed, &k).unwrap(), allowed);
        let narrow = resolve(Some("playback:read"), &allowed, &k).unwrap();
        assert_eq!(narrow.to_wire(), "playback:read");
        let err = resolve(Some("playback:read events:read"), &allowed, &k).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidScope);
        assert_eq!(
            resolve(Some("admin"), &allowed, &k).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }
}
