//! The verdict on made-up observations: each clause holds on an exact sliding window
//! and fails, for its reason, on each way off it.

use super::*;
use crate::observe::RequestKind;
use crate::window::{Step, WindowLog};

/// A limit of 4 per 10 s.
fn facts() -> RunFacts {
    RunFacts {
        clauses: crate::families::punchplay::CLAUSES,
        limit: "public-user".into(),
        method: "GET".into(),
        path: "/users/{username}".into(),
        max: 4,
        window_secs: 10,
        key_kind: "IP".into(),
        key_labels: vec!["127.0.0.2".into()],
        clock: ClockMode::Controlled,
        users: 64,
        windows_requested: 1,
        extra: 2,
        noise_status: 401,
        admitted_status: 200,
        refused_status: 429,
        decided_fails: true,
        wall_secs: 1.0,
        reports: vec![],
        attack_problem: None,
    }
}

fn obs(step: Step, kind: RequestKind, at: f64, outcome: Outcome) -> Observation {
    Observation {
        window: 0,
        key: 0,
        step,
        kind,
        outcome,
        sent_secs: at,
        answered_secs: at + 0.005,
    }
}

fn ok() -> Outcome {
    Outcome::Admitted { status: 200 }
}

fn no(r: u64) -> Outcome {
    Outcome::Refused {
        retry_after: Some(r),
        problem: None,
        decided_problem: None,
    }
}

fn log() -> ConductorLog {
    ConductorLog {
        windows: vec![WindowLog {
            steps: vec![
                Step::Early,
                Step::Burst,
                Step::FirstRefusal,
                Step::NotBefore,
                Step::Resume,
                Step::Slide,
            ],
            ..WindowLog::default()
        }],
        ..ConductorLog::default()
    }
}

/// An exact sliding window: 2 early, 2 in the burst half a window later (the schedule's
/// place does not matter to the verdict), the rest
/// refused; 1 back at the resume once the early half left, 1 more in the slide.
fn sliding() -> Vec<Observation> {
    use RequestKind::*;
    vec![
        obs(Step::Early, Within, 0.0, ok()),
        obs(Step::Early, Within, 0.001, ok()),
        obs(Step::Burst, Within, 5.0, ok()),
        obs(Step::Burst, Edge, 5.001, ok()),
        obs(Step::Burst, Over, 5.01, no(5)),
        obs(Step::Burst, Over, 5.011, no(5)),
        obs(Step::FirstRefusal, FirstRefusal, 5.02, no(5)),
        obs(Step::NotBefore, NotBefore, 8.5, no(2)),
        obs(Step::Resume, Resume, 10.05, ok()),
        obs(Step::Slide, Edge, 10.06, ok()),
        obs(Step::Slide, Over, 10.07, no(5)),
        obs(Step::Slide, Over, 10.071, no(5)),
    ]
}

fn window(v: &LimitVerdict) -> &KeyWindow {
    &v.keys[0].windows[0]
}

#[test]
fn an_exact_sliding_window_holds() {
    let v = judge(facts(), &log(), &sliding());
    assert_eq!(v.status, Status::Holds, "{:#?}", window(&v));
    assert_eq!(window(&v).kind, WindowKind::Sliding);
    assert_eq!(window(&v).first_span_admitted, 4);
    assert_eq!(v.windows_checked, 1);
}

#[test]
fn one_admission_too_many_in_the_first_span_fails_the_must() {
    // Off by one, or a bucket that refilled by the burst.
    let mut o = sliding();
    o[4].outcome = ok();
    let v = judge(facts(), &log(), &o);
    assert_eq!(v.status, Status::DoesNotHold);
    let p = &window(&v).problems;
    assert!(p[0].starts_with("PP-RATE-1: admitted 5 within"), "{p:?}");
}

#[test]
fn a_fixed_window_is_a_decided_difference_not_a_must() {
    // The slide admits a whole new window: 1 + 3 after the early half left.
    let mut o = sliding();
    o[10].outcome = ok();
    o[11].outcome = ok();
    let mut f = facts();
    f.decided_fails = false;
    let v = judge(f.clone(), &log(), &o);
    let w = window(&v);
    assert_eq!(w.kind, WindowKind::Fixed);
    assert_eq!(v.status, Status::Holds, "{:?}", w.problems);
    assert!(
        w.notes.iter().any(|n| n.contains("a fixed window")),
        "{:?}",
        w.notes
    );
    f.decided_fails = true;
    let v = judge(f, &log(), &o);
    assert!(
        window(&v).problems[0].starts_with("PP-RATE-3"),
        "{:?}",
        window(&v).problems
    );
}

#[test]
fn answers_too_late_to_tell_are_not_judged_and_never_fail() {
    // Every refusal answered 12 s late: the burst outlasts the window.
    let o: Vec<Observation> = sliding()
        .into_iter()
        .map(|mut o| {
            if !o.outcome.is_admitted() {
                o.answered_secs += 12.0;
            }
            o
        })
        .collect();
    let v = judge(facts(), &log(), &o);
    let w = window(&v);
    assert!(w.problems.is_empty(), "{:?}", w.problems);
    assert!(!w.judged);
    assert!(
        w.not_judged[0].contains("longer than the 10 s window"),
        "{:?}",
        w.not_judged
    );
    assert_eq!(v.status, Status::NotJudged);
}

#[test]
fn a_refusal_with_room_left_fails() {
    let mut o = sliding();
    o[3].outcome = no(5);
    let v = judge(facts(), &log(), &o);
    let p = &window(&v).problems;
    assert!(
        p.iter()
            .any(|p| p.starts_with("PP-RATE-1: refused") && p.contains("at most 3")),
        "{p:?}"
    );
}

#[test]
fn a_retry_after_that_is_not_the_oldest_admissions_time_to_go_fails() {
    let mut o = sliding();
    o[6].outcome = no(2);
    let v = judge(facts(), &log(), &o);
    let p = &window(&v).problems;
    assert!(
        p.iter()
            .any(|p| p.contains("Retry-After 2 s") && p.contains("5..5")),
        "{p:?}"
    );
}

#[test]
fn early_admission_and_missed_resumption_fail() {
    let mut o = sliding();
    o[7].outcome = ok();
    let v = judge(facts(), &log(), &o);
    let p = &window(&v).problems;
    assert!(
        p.iter().any(|p| p.contains("before the window allowed")),
        "{p:?}"
    );
    let mut o = sliding();
    o[8].outcome = no(1);
    let v = judge(facts(), &log(), &o);
    let p = &window(&v).problems;
    assert!(p.iter().any(|p| p.contains("did not resume")), "{p:?}");
}

#[test]
fn a_retry_after_that_does_not_shrink_says_so() {
    let mut o = sliding();
    o[7].outcome = no(5);
    let v = judge(facts(), &log(), &o);
    let p = &window(&v).problems;
    assert!(p.iter().any(|p| p.contains("did not shrink: 5 s")), "{p:?}");
}

#[test]
fn against_a_deployment_decided_clauses_are_noted_and_musts_still_fail() {
    let mut f = facts();
    f.decided_fails = false;
    let mut o = sliding();
    o[6].outcome = no(2);
    o[8].outcome = no(1);
    let v = judge(f.clone(), &log(), &o);
    let w = window(&v);
    assert!(v.holds, "{:?}", w.problems);
    assert!(w.notes.len() >= 2, "{:?}", w.notes);
    o[4].outcome = ok();
    let v = judge(f, &log(), &o);
    assert!(!v.holds);
    assert!(window(&v).problems[0].starts_with("PP-RATE-1: admitted 5"));
}

#[test]
fn malformed_refusals_and_server_errors_fail() {
    let mut o = sliding();
    o[4].outcome = Outcome::Refused {
        retry_after: None,
        problem: None,
        decided_problem: Some("no Retry-After".into()),
    };
    o.push(obs(
        Step::Burst,
        RequestKind::Over,
        5.02,
        Outcome::ServerError { status: 500 },
    ));
    let v = judge(facts(), &log(), &o);
    let p = &window(&v).problems;
    assert!(p.iter().any(|p| p.contains("no Retry-After")), "{p:?}");
    assert!(p.iter().any(|p| p.contains("5xx")), "{p:?}");
    assert_eq!(window(&v).refused_with_retry_after, window(&v).refused - 1);
}

#[test]
fn a_missing_window_fails_a_controlled_run() {
    let mut f = facts();
    f.windows_requested = 3;
    let v = judge(f, &log(), &sliding());
    assert!(!v.holds);
    assert!(v.problems[0].contains("1 of 3"));
}
