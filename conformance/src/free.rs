//! What a family's contract leaves to the server (issue 18 item 3): a check fails a
//! deployment only for what its clause states (CONTRACT.md, "Levels"). A family's dialect
//! answers its [`Freedoms`], written once beside its checks; the checks judge answers by
//! them, the family's transcript keeps what they do not free, and the snapshot comparison
//! tolerates what they free. [`RFC_6749`] is what the RFCs leave to a server (flexslot's);
//! a family whose clauses name more frees less (punchplay's and enterprise's free a
//! value only where their clauses do not name it).

/// What a family's contract leaves free.
#[derive(Debug)]
pub struct Freedoms {
    /// The statuses an authorization answer may redirect with (PP-AUTHZ-3 says 302;
    /// RFC 6749 lets flexslot's be 302 or 303).
    pub redirect_statuses: &'static [u16],
    /// Members of a JSON answer and parameters of a redirect that are free text: their
    /// wording is the server's, and they may be absent (`error_description`, `error_uri`,
    /// RFC 6749 §4.1.2.1, §5.2).
    pub free_text: &'static [&'static str],
    /// Members an answer may leave out; when present, their value counts (`scope` in a
    /// token answer equal to the requested one, RFC 6749 §5.1).
    pub optional: &'static [&'static str],
    /// Members whose value is compared without case (`token_type`, RFC 6749 §5.1).
    pub case_free: &'static [&'static str],
    /// The auth-params of a challenge the contract names (`error`, RFC 6750 §3); the
    /// others, `realm` among them, are the server's.
    pub challenge_params: &'static [&'static str],
    /// Named response headers and members that only a part of a clause below MUST asks
    /// for: they count in the checks whose id contains the given text, and nowhere with
    /// `None`. Every flow redeems a code and every limit check meets a 429, so without
    /// this a deployment that omits only `no-store` (PP-TOKEN-4, SHOULD) would fail two
    /// dozen MUST checks.
    pub only_in_their_checks: &'static [(&'static str, Option<&'static str>)],
}

/// Redirect parameters whose presence changes what a redirect says, for every family: a
/// `code` on an error redirect, an `error` on an approval, a `state` never sent
/// (PP-AUTHZ-3/4, RFC 6749 §4.1.2). Any other extra parameter (RFC 9207's `iss`) is the
/// server's.
pub const REDIRECT_MEANING: &[&str] = &["code", "error", "state"];

/// `token_type` is case-insensitive in every family (RFC 6749 §5.1).
pub const CASE_FREE: &[&str] = &["token_type"];

/// A challenge names `error` (RFC 6750 §3); its realm and other auth-params are free.
pub const CHALLENGE_PARAMS: &[&str] = &["error"];

/// A contract that frees nothing but what every family's does (`token_type`'s case, a
/// challenge's other auth-params): the default of a family's dialect.
pub static STRICT: Freedoms = Freedoms {
    redirect_statuses: &[302],
    free_text: &[],
    optional: &[],
    case_free: CASE_FREE,
    challenge_params: CHALLENGE_PARAMS,
    only_in_their_checks: &[],
};

/// What RFC 6749/6750/7009 leave to the server, as flexslot's contract lists them (the
/// paragraph after the FX clauses).
pub static RFC_6749: Freedoms = Freedoms {
    redirect_statuses: &[302, 303],
    free_text: &["error_description", "error_uri"],
    optional: &["scope"],
    case_free: CASE_FREE,
    challenge_params: CHALLENGE_PARAMS,
    only_in_their_checks: &[
        ("cache-control", None),
        // RECOMMENDED (SHOULD): FX-TOKEN-3/token-answer-carries-expires-in.
        ("expires_in", Some("expires-in")),
    ],
};

impl Freedoms {
    /// Whether `status` may answer an authorization request with a redirect.
    pub fn redirects_with(&self, status: u16) -> bool {
        self.redirect_statuses.contains(&status)
    }

    /// Whether the member or parameter `name` is free text.
    pub fn is_free_text(&self, name: &str) -> bool {
        self.free_text.contains(&name)
    }

    /// Whether an answer may leave `name` out in the check `check_id`.
    pub fn may_omit(&self, name: &str, check_id: &str) -> bool {
        self.is_free_text(name) || self.optional.contains(&name) || !self.counts_in(name, check_id)
    }

    /// Whether the named header or member counts in the check `check_id`.
    pub fn counts_in(&self, name: &str, check_id: &str) -> bool {
        self.only_in_their_checks
            .iter()
            .filter(|(n, _)| *n == name)
            .all(|(_, part)| part.is_some_and(|p| check_id.contains(p)))
    }

    /// Whether two values of the member `name` say the same: any two texts for free
    /// text, without case where the contract leaves case free, else equal.
    pub fn same(&self, name: &str, pinned: &str, seen: &str) -> bool {
        if self.is_free_text(name) {
            true
        } else if self.case_free.contains(&name) {
            pinned.eq_ignore_ascii_case(seen)
        } else {
            pinned == seen
        }
    }

    /// Whether the challenge auth-param `name` is one the contract names.
    pub fn names_challenge_param(&self, name: &str) -> bool {
        self.challenge_params
            .iter()
            .any(|p| p.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfcs_leave_redirect_status_free_text_scope_and_expires_in_to_the_server() {
        assert!(RFC_6749.redirects_with(302) && RFC_6749.redirects_with(303));
        assert!(RFC_6749.may_omit("error_description", "FX-TOKEN-1/x"));
        assert!(RFC_6749.same("error_description", "a", "b"));
        assert!(RFC_6749.may_omit("scope", "FX-TOKEN-4/x"));
        assert!(RFC_6749.may_omit("expires_in", "FX-TOKEN-4/x"));
        assert!(!RFC_6749.may_omit("expires_in", "FX-TOKEN-3/token-answer-carries-expires-in"));
        assert!(!RFC_6749.may_omit("error", "FX-TOKEN-1/x"));
        assert!(!RFC_6749.names_challenge_param("realm"));
    }
}
