//! What a check sees on its way to what it checks (issue 18 item 4: one defect, one
//! failing clause). A check passes through answers that other clauses describe (a flow
//! step getting it a token, an error envelope around the status it judges); a difference
//! there fails only the checks of the clause that names that member, header or status.
//! This module owns the roles an exchange plays in a check's transcript ([`Role`]), the
//! flow steps a check passes through ([`Step`]), and which clause a difference found in an
//! exchange belongs to ([`attribute`]). It knows no family: the family's
//! [`Dialect`](crate::dialect::Dialect) names the clauses.

use profile::Profile;

// Step lives beside the Dialect that names each step's clause, so that this module
// imports the dialect and not the other way round.
use crate::dialect::Dialect;
pub use crate::dialect::Step;

/// The role an exchange plays in a check's transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The check judges it: a difference there is the check's.
    Own,
    /// A flow step the check passed through; the check judged only what it needed.
    Passing(Step),
    /// The check saw a difference there that belongs to this clause (and said so).
    Judged(&'static str),
}

/// Where a difference found in a check's transcript belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Belongs {
    /// To the check itself.
    Own,
    /// To another clause: the check saw it in passing.
    To(&'static str),
}

/// The clause a difference (`what`, as the snapshot comparison words it) in an exchange
/// of role `role` to `route` belongs to, for a check of clause `own`. A difference in a member or
/// header one clause singles out belongs to that clause, in any answer; else a passing
/// answer's difference belongs to the clause that describes the step's answer, and one
/// the check said was another clause's to that clause. A difference nobody is named for
/// stays the check's own, so nothing is ever hidden.
pub fn attribute(
    own: &str,
    (role, route, status): (Role, &str, u16),
    what: &str,
    dialect: &dyn Dialect,
    profile: &Profile,
) -> Belongs {
    // An error answer's body that is no JSON (its content type, its text) is the error
    // envelope's clause's (PP-ERR-1), whichever check met it.
    let envelope = (status >= 400
        && (subject(what) == Some("content-type") || what.starts_with("the body is not JSON")))
    .then(|| dialect.error_body_clause())
    .flatten();
    let named =
        envelope.or_else(|| subject(what).and_then(|name| dialect.named_by(profile, route, name)));
    let clause = named.or(match role {
        Role::Own => None,
        Role::Judged(clause) => Some(clause),
        Role::Passing(step) => dialect.step_clause(step),
    });
    match clause {
        Some(c) if c != own => Belongs::To(c),
        _ => Belongs::Own,
    }
}

/// The member or header a difference is about: the last segment of a JSON path
/// (`member `$.data.scope` is missing` → `scope`) or a header's name (`header
/// `cache-control` is missing` → `cache-control`).
pub fn subject(what: &str) -> Option<&str> {
    if let Some(rest) = what.strip_prefix("header `") {
        return rest.split('`').next().filter(|s| !s.is_empty());
    }
    let path = what
        .split('`')
        .skip(1)
        .step_by(2)
        .find(|s| s.starts_with('$'))?;
    path.rsplit(['.', '['])
        .next()
        .filter(|s| !s.is_empty() && *s != "$")
}

/// Which rendered exchange a line (1-based) of a transcript falls in: the last one that
/// starts at or before it (`starts` holds 0-based start lines, in order).
pub fn exchange_at(starts: &[usize], line: usize) -> Option<usize> {
    let index = line.checked_sub(1)?;
    starts.iter().rposition(|start| *start <= index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_names_its_member_or_header() {
        assert_eq!(subject("member `$.scope` is missing"), Some("scope"));
        assert_eq!(subject("member `$.data.scope` is missing"), Some("scope"));
        assert_eq!(
            subject("`$.token_type` is \"bearer\" where the snapshot has \"Bearer\""),
            Some("token_type")
        );
        assert_eq!(
            subject("header `cache-control` is missing (the snapshot has `no-store`)"),
            Some("cache-control")
        );
        assert_eq!(subject("`← 400` where the snapshot has `← 200`"), None);
    }

    #[test]
    fn a_line_falls_in_the_exchange_that_starts_before_it() {
        let starts = [0, 5, 9];
        assert_eq!(exchange_at(&starts, 1), Some(0));
        assert_eq!(exchange_at(&starts, 6), Some(1));
        assert_eq!(exchange_at(&starts, 100), Some(2));
        assert_eq!(exchange_at(&[3], 2), None);
    }
}
