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
    /// The auth-params the contract names, per challenge scheme (lower case): a Bearer
    /// challenge's `error` (RFC 6750 §3). The others, `realm` among them, are the
    /// server's, and so is every auth-param of a scheme not listed (FX-TOKEN-3 names only
    /// the Basic scheme; RFC 7617 defines no `error`).
    pub challenge_params: &'static [(&'static str, &'static [&'static str])],
    /// Where a clause allows more than one value of a member, in the checks whose id
    /// contains the given text: (that text, the member, the values). FX-TOKEN-2 lets a
    /// `redirect_uri` differing from the authorize request's be `invalid_request` or
    /// `invalid_grant`.
    pub one_of: &'static [(&'static str, &'static str, &'static [&'static str])],
    /// Statuses only a part of a clause names, for answers other checks meet too
    /// (EN-REVOKE-1's DECIDED 422 for "Token not found."; PP-AUTHZ-3's 302 of an
    /// approval, which PP-AUTHZ-2's page check also sees): a snapshot pins them only in
    /// the checks of that part, so that another status fails that part's checks alone.
    pub statuses_only_in_their_checks: &'static [OwnedStatus],
    /// Named response headers and members that only a part of a clause below MUST asks
    /// for: they count in the checks whose id contains the given text, and nowhere with
    /// `None`. Every flow redeems a code and every limit check meets a 429, so without
    /// this a deployment that omits only `no-store` (PP-TOKEN-4, SHOULD) would fail two
    /// dozen MUST checks.
    pub only_in_their_checks: &'static [(&'static str, Option<&'static str>)],
}

/// A status that a part of a clause names, for an answer a snapshot recognises by texts
/// of its request and a line of itself (a snapshot redacts the wording of messages, so
/// "Token not found." is known by what was asked).
#[derive(Debug)]
pub struct OwnedStatus {
    pub status: u16,
    /// Texts the request's lines all hold (`POST /oauth/revoke`, a `"token": ` member);
    /// none: any request.
    pub request: &'static [&'static str],
    /// Text a line of the pinned answer holds (`"success": false`, a `location:` with a
    /// `code`).
    pub answer: &'static str,
    /// Texts of the ids of the part's checks, where the status counts.
    pub counts_in: &'static [&'static str],
}

/// Redirect parameters whose presence changes what a redirect says, for every family: a
/// `code` on an error redirect, an `error` on an approval, a `state` never sent
/// (PP-AUTHZ-3/4, RFC 6749 §4.1.2). Any other extra parameter (RFC 9207's `iss`) is the
/// server's.
pub const REDIRECT_MEANING: &[&str] = &["code", "error", "state"];

/// The error codes of a token endpoint (RFC 6749 §5.2).
pub const TOKEN_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

/// `token_type` is case-insensitive in every family (RFC 6749 §5.1).
pub const CASE_FREE: &[&str] = &["token_type"];

/// A Bearer challenge names `error` (RFC 6750 §3); its realm and other auth-params are
/// free, and so are every auth-param of another scheme's challenge.
pub const CHALLENGE_PARAMS: &[(&str, &[&str])] = &[("bearer", &["error"])];

/// A contract that frees nothing but what every family's does (`token_type`'s case, a
/// challenge's other auth-params): the default of a family's dialect.
pub static STRICT: Freedoms = STRICT_VALUES;

/// [`STRICT`] as a constant, for a family's freedoms to start from (`..STRICT_VALUES`).
pub const STRICT_VALUES: Freedoms = Freedoms {
    redirect_statuses: &[302],
    free_text: &[],
    optional: &[],
    case_free: CASE_FREE,
    challenge_params: CHALLENGE_PARAMS,
    one_of: &[],
    statuses_only_in_their_checks: &[],
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
    // FX-TOKEN-2: seed 004 lists this cause under both codes, RFC 6749 §5.2 under
    // invalid_grant.
    one_of: &[
        (
            "redirect-uri-differing",
            "error",
            &["invalid_request", "invalid_grant"],
        ),
        // FX-TOKEN-1's SHOULD is about `error_description`: which code the error has is
        // the clauses of the codes' (FX-TOKEN-2, FX-TOKEN-6).
        (
            "error-bodies-carry-an-error-description",
            "error",
            TOKEN_ERRORS,
        ),
    ],
    statuses_only_in_their_checks: &[],
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

    /// The values the member `name` may take in the check `check_id`, where its clause
    /// allows more than one ([`Freedoms::one_of`]).
    pub fn one_of(&self, name: &str, check_id: &str) -> Option<&'static [&'static str]> {
        self.one_of
            .iter()
            .find(|(part, member, _)| *member == name && check_id.contains(part))
            .map(|(_, _, values)| *values)
    }

    /// [`Freedoms::same`] in the check `check_id`: also any two of the values its clause
    /// allows there.
    pub fn same_in(&self, check_id: &str, name: &str, pinned: &str, seen: &str) -> bool {
        self.same(name, pinned, seen)
            || self
                .one_of(name, check_id)
                .is_some_and(|values| values.contains(&pinned) && values.contains(&seen))
    }

    /// Whether a response pinned with `pinned_status` and the lines `pinned_answer`, to a
    /// request rendered as `request`, may answer `seen_status` (of the same class) in the
    /// check `check_id`: the status is a part's of a clause
    /// ([`Freedoms::statuses_only_in_their_checks`]), and this check is not of that part.
    pub fn status_is_free(
        &self,
        check_id: &str,
        (pinned_status, seen_status): (u16, u16),
        request: &[&str],
        pinned_answer: &[&str],
    ) -> bool {
        let same_class = pinned_status / 100 == seen_status / 100;
        same_class
            && self.statuses_only_in_their_checks.iter().any(|d| {
                d.status == pinned_status
                    && d.request
                        .iter()
                        .all(|t| request.iter().any(|l| l.contains(t)))
                    && pinned_answer.iter().any(|l| l.contains(d.answer))
                    && !d.counts_in.iter().any(|part| check_id.contains(part))
            })
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

    /// The auth-params the contract names for challenges of `scheme` (none for a scheme
    /// it names no parameter of).
    pub fn challenge_params_of(&self, scheme: &str) -> &'static [&'static str] {
        self.challenge_params
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(scheme))
            .map_or(&[], |(_, params)| *params)
    }

    /// Whether the auth-param `name` of a `scheme` challenge is one the contract names.
    pub fn names_challenge_param(&self, scheme: &str, name: &str) -> bool {
        self.challenge_params_of(scheme)
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
        assert!(!RFC_6749.names_challenge_param("Bearer", "realm"));
        assert!(RFC_6749.names_challenge_param("bearer", "ERROR"));
    }

    #[test]
    fn a_basic_challenge_names_no_auth_param() {
        // FX-TOKEN-3 asks for the Basic scheme only; an `error` on it is the server's.
        assert!(!RFC_6749.names_challenge_param("Basic", "error"));
        assert!(RFC_6749.challenge_params_of("Basic").is_empty());
    }

    #[test]
    fn fx_token_2_allows_either_code_for_a_differing_redirect_uri() {
        let id =
            "FX-TOKEN-2/redirect-uri-differing-from-authorize-is-invalid-request-or-invalid-grant";
        assert!(RFC_6749.same_in(id, "error", "invalid_request", "invalid_grant"));
        assert!(!RFC_6749.same_in(id, "error", "invalid_request", "invalid_client"));
        assert!(!RFC_6749.same_in(
            "FX-TOKEN-2/missing-parameters-are-invalid-request",
            "error",
            "invalid_request",
            "invalid_grant"
        ));
    }

    #[test]
    fn a_decided_status_is_free_outside_its_parts_checks() {
        static DECIDED: Freedoms = Freedoms {
            statuses_only_in_their_checks: &[OwnedStatus {
                status: 422,
                request: &["POST /oauth/revoke", "\"token\": "],
                answer: r#""success": false"#,
                counts_in: &["is-422"],
            }],
            ..STRICT_VALUES
        };
        let request = [
            "→ POST /oauth/revoke",
            "[json]",
            "{",
            r#"  "token": "t""#,
            "}",
        ];
        let body = ["{", r#"  "success": false"#, "}"];
        let free = |id: &str, statuses, request: &[&str], body: &[&str]| {
            DECIDED.status_is_free(id, statuses, request, body)
        };
        assert!(free("EN-REVOKE-1/unknown", (422, 404), &request, &body));
        assert!(!free(
            "EN-REVOKE-1/token-not-found-is-422",
            (422, 404),
            &request,
            &body
        ));
        assert!(!free("EN-REVOKE-1/unknown", (422, 200), &request, &body));
        assert!(!free("EN-REVOKE-1/unknown", (422, 404), &request, &["{}"]));
        // "Token required.": the request has no token.
        assert!(!free(
            "EN-REVOKE-1/missing",
            (422, 404),
            &request[..3],
            &body
        ));
    }
}
