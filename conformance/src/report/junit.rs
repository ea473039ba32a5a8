//! `junit.xml` via quick-junit: one test suite per contract area, one test case per check,
//! named by its check id so a failing row names the clause.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::{RunReport, Status};

pub fn render(report: &RunReport, explain: &super::Explain) -> String {
    let mut junit = Report::new(format!("conformance-{}", report.profile));
    let mut areas: Vec<&str> = report.checks.iter().map(|c| c.area.as_str()).collect();
    areas.dedup();
    areas.sort();
    areas.dedup();
    for area in areas {
        let mut suite = TestSuite::new(area);
        for line in super::incomplete_lines(report, 0).iter().take(1) {
            suite.add_property(("incomplete", line.as_str()));
        }
        for note in report.notes.iter().chain(&super::unjudged_notes(report)) {
            suite.add_property(("note", note.as_str()));
        }
        for c in report.checks.iter().filter(|c| c.area == area) {
            let status = match c.status {
                Status::Pass | Status::ExpectedFail => TestCaseStatus::success(),
                // No verdict: the target stopped answering first (INCOMPLETE).
                Status::Skip | Status::Unfinished => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(c.message.clone().unwrap_or_default());
                    s
                }
                Status::Fail | Status::UnexpectedPass => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(c.message.clone().unwrap_or_default());
                    s.set_type(format!("{} {}", c.level, c.clause));
                    s.set_description(super::markdown::explained_failure_text(report, c, explain));
                    s
                }
                Status::Error => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(c.message.clone().unwrap_or_default());
                    s.set_type(format!("{} {}", c.level, c.clause));
                    s.set_description(super::markdown::explained_failure_text(report, c, explain));
                    s
                }
            };
            let mut tc = TestCase::new(c.id.clone(), status);
            tc.set_classname(format!("{}.{}", report.profile, c.clause));
            tc.set_time(std::time::Duration::from_millis(c.duration_ms));
            suite.add_test_case(tc);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().unwrap_or_default()
}
