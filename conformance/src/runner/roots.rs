//! The run's root causes (issue 18 item 4: one defect, one failing clause). Checks record
//! the differences they saw on their way that belong to other clauses, and the one they
//! could not go past; here each is put under the clause it belongs to and that clause's
//! failing check, so the report leads with the root and says once where else it was
//! seen. A difference whose clause has no failing check is never hidden: if the clause's
//! checks ran and passed, the check that saw it fails for it (as before this rule); if
//! they are not in the run, the report says which check to run.

use std::collections::BTreeMap;

use super::events::{CheckReport, RootCause, Status};
use crate::outcome::cited_clauses;

/// Groups what the checks saw by clause, adjusts the checks that depend on a root (their
/// messages name it; an observer whose clause's checks passed fails for it), and answers
/// the root causes in clause order. `reports` are in report order.
pub fn resolve(reports: &mut [CheckReport]) -> Vec<RootCause> {
    let mut by_clause: BTreeMap<String, RootCause> = BTreeMap::new();
    for r in reports.iter() {
        for s in &r.seen {
            let cause = by_clause
                .entry(s.clause.clone())
                .or_insert_with(|| RootCause {
                    clause: s.clause.clone(),
                    failing: Vec::new(),
                    seen_in: Vec::new(),
                    blocked: Vec::new(),
                    first: s.clone(),
                    run: None,
                });
            let list = if r.blocked_by.as_deref() == Some(s.clause.as_str()) {
                &mut cause.blocked
            } else {
                &mut cause.seen_in
            };
            if !list.contains(&r.id) {
                list.push(r.id.clone());
            }
        }
    }
    for cause in by_clause.values_mut() {
        let of_clause = || reports.iter().filter(|r| r.clause == cause.clause);
        cause.failing = of_clause()
            .filter(|r| matches!(r.status, Status::Fail | Status::ExpectedFail))
            .map(|r| r.id.clone())
            .collect();
        let judged = of_clause().any(|r| r.status != Status::Skip);
        if cause.failing.is_empty() && !judged {
            cause.run = Some(format!("conformance --only {}", cause.clause));
        }
    }
    for cause in by_clause.values_mut() {
        let passed_its_own = cause.failing.is_empty() && cause.run.is_none();
        for r in reports.iter_mut() {
            if cause.blocked.contains(&r.id) {
                if passed_its_own {
                    // The clause it presumed holds here: its failure is its own.
                    revert_to_own_failure(r, &cause.clause);
                    continue;
                }
                let pointer = match (cause.root(), &cause.run) {
                    (Some(root), _) => format!(" (root: {root})"),
                    (None, Some(cmd)) => format!(" (judge it with `{cmd}`)"),
                    (None, None) => String::new(),
                };
                if let Some(m) = r.message.as_mut() {
                    m.push_str(&pointer);
                }
            }
        }
        if passed_its_own {
            cause.blocked.clear();
            // The clause's own checks did not meet it: the first check that did fails
            // for it, citing the clause, so no difference is hidden.
            if let Some(first) = cause.seen_in.first().cloned()
                && let Some(r) = reports
                    .iter_mut()
                    .find(|r| r.id == first && r.status == Status::Pass)
            {
                r.status = Status::Fail;
                r.message = Some(format!(
                    "{} (seen on this check's way; {}'s own checks passed, they did not meet it)",
                    cause.first.message, cause.clause
                ));
                r.support = cause.first.support.clone();
                cause.seen_in.retain(|id| *id != first);
                cause.failing.push(first);
            }
        }
    }
    by_clause
        .into_values()
        .filter(|c| !(c.failing.is_empty() && c.seen_in.is_empty() && c.blocked.is_empty()))
        .collect()
}

/// A check not judged because of `clause` whose checks passed after all: the failure it
/// stopped at is its own (the message it had, under its own clause).
fn revert_to_own_failure(r: &mut CheckReport, clause: &str) {
    let Some(at) = r.seen.iter().position(|s| s.clause == clause) else {
        return;
    };
    let seen = r.seen.remove(at);
    r.status = Status::Fail;
    r.blocked_by = None;
    r.message = Some(if cited_clauses(&seen.message).is_empty() {
        format!("{}: {}", r.clause, seen.message)
    } else {
        seen.message
    });
    r.support = seen.support;
}

/// The root cause a failing check is the root of, if any.
pub fn rooted_at<'a>(causes: &'a [RootCause], check_id: &str) -> Option<&'a RootCause> {
    causes.iter().find(|c| c.root() == Some(check_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Seen;
    use crate::snapshot::SnapshotStatus;
    use profile::Level;

    fn report(id: &str, status: Status, seen: &[&str], blocked_by: Option<&str>) -> CheckReport {
        CheckReport {
            id: id.into(),
            clause: id.split('/').next().unwrap_or(id).into(),
            level: Level::Must,
            area: String::new(),
            title: String::new(),
            status,
            message: (status != Status::Pass).then(|| "why".to_owned()),
            support: None,
            snapshot: SnapshotStatus::NotCompared,
            duration_ms: 0,
            transcript: String::new(),
            usage: BTreeMap::new(),
            seen: seen
                .iter()
                .map(|c| Seen {
                    clause: (*c).into(),
                    message: format!("{c}: the answer has no `scope`"),
                    support: None,
                })
                .collect(),
            blocked_by: blocked_by.map(str::to_owned),
        }
    }

    #[test]
    fn what_passing_checks_saw_is_listed_under_the_failing_check_of_its_clause() {
        let mut reports = vec![
            report("PP-API-1/x", Status::Pass, &["PP-SCOPE-4"], None),
            report(
                "PP-SCOPE-1/y",
                Status::Error,
                &["PP-SCOPE-4"],
                Some("PP-SCOPE-4"),
            ),
            report("PP-SCOPE-4/z", Status::Fail, &[], None),
        ];
        let causes = resolve(&mut reports);
        assert_eq!(causes.len(), 1);
        let c = &causes[0];
        assert_eq!(c.root(), Some("PP-SCOPE-4/z"));
        assert_eq!(c.seen_in, vec!["PP-API-1/x"]);
        assert_eq!(c.blocked, vec!["PP-SCOPE-1/y"]);
        assert_eq!(reports[0].status, Status::Pass);
        assert!(
            reports[1]
                .message
                .as_deref()
                .is_some_and(|m| m.ends_with("(root: PP-SCOPE-4/z)"))
        );
    }

    #[test]
    fn a_clause_not_in_the_run_is_named_with_the_command_that_judges_it() {
        let mut reports = vec![report("PP-API-1/x", Status::Pass, &["PP-SCOPE-4"], None)];
        let causes = resolve(&mut reports);
        assert_eq!(
            causes[0].run.as_deref(),
            Some("conformance --only PP-SCOPE-4")
        );
        assert_eq!(reports[0].status, Status::Pass);
    }

    #[test]
    fn a_check_stopped_by_a_clause_whose_checks_pass_fails_on_its_own() {
        let mut blocked = report(
            "PP-APP-8/rotate",
            Status::Error,
            &["PP-APP-3"],
            Some("PP-APP-3"),
        );
        blocked.seen[0].message = "expected 401 `invalid_client`, got 400 `invalid_grant`".into();
        let mut reports = vec![blocked, report("PP-APP-3/wrong", Status::Pass, &[], None)];
        let causes = resolve(&mut reports);
        assert!(causes.is_empty(), "{causes:?}");
        assert_eq!(reports[0].status, Status::Fail);
        assert_eq!(reports[0].blocked_by, None);
        assert_eq!(
            reports[0].message.as_deref(),
            Some("PP-APP-8: expected 401 `invalid_client`, got 400 `invalid_grant`")
        );
    }

    #[test]
    fn a_difference_the_clauses_own_checks_missed_fails_the_check_that_saw_it() {
        let mut reports = vec![
            report("PP-API-1/x", Status::Pass, &["PP-SCOPE-4"], None),
            report("PP-SCOPE-4/z", Status::Pass, &[], None),
        ];
        resolve(&mut reports);
        assert_eq!(reports[0].status, Status::Fail);
        assert!(
            reports[0]
                .message
                .as_deref()
                .is_some_and(|m| m.starts_with("PP-SCOPE-4: "))
        );
    }
}
