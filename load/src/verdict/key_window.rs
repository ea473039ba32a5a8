//! One key in one window: what its requests were, and the checks run on them in order.

use super::findings::{Findings, secs};
use super::seen::Seen;
use super::tally::Tally;
use super::{KeyWindow, RunFacts, probes, spans};
use crate::observe::Outcome;
use crate::window::{Observation, Step, WindowLog};

pub(super) fn judge(
    facts: &RunFacts,
    window: usize,
    wlog: &WindowLog,
    mine: &[&Observation],
    of_key: &[&Observation],
) -> KeyWindow {
    let mut found = Findings::new(facts.clauses, facts.decided_fails);
    let tally = Tally::of(facts, mine);
    tally.findings(facts, &mut found);

    let counted: Vec<&Observation> = mine.iter().copied().filter(|o| o.counted()).collect();
    let admitted: Vec<&Observation> = counted
        .iter()
        .copied()
        .filter(|o| o.outcome.is_admitted())
        .collect();
    let seen = Seen {
        facts,
        wlog,
        mine,
        of_key,
        first_sent: counted.iter().map(|o| o.sent_secs).reduce(f64::min),
        first_answered_admission: admitted.iter().map(|o| o.answered_secs).reduce(f64::min),
        counted,
        admitted,
        w: facts.window_secs as f64,
    };

    let spans = spans::judge(&seen, &mut found);
    let probes = probes::judge(&seen, &mut found);
    let not_judged = not_judged(&seen);
    let judged = not_judged.is_empty();
    for why in &not_judged {
        found.note(format!("not judged: {why}"));
    }
    let errors = tally.errors();
    let complete =
        judged && probes.refused_first && probes.resume.is_some() && wlog.reached(Step::Slide);
    KeyWindow {
        window,
        offered: tally.offered,
        admitted: tally.admitted,
        refused: tally.refused,
        refused_with_retry_after: tally.refused_with_retry_after,
        cancelled: tally.cancelled,
        statuses: tally.statuses,
        noise: tally.noise,
        noise_refused: tally.noise_refused,
        first_span_admitted: spans.first_span,
        second_span_admitted: spans.second_span,
        busiest: spans.busiest,
        kind: spans.kind,
        first_refusal: probes.first_refusal,
        oldest_leaves_in: probes.oldest_leaves,
        not_before: probes.not_before,
        resume: probes.resume,
        judged,
        not_judged,
        complete,
        problems: found.problems,
        notes: found.notes,
        errors,
    }
}

/// Why the window's counts cannot be judged, if they cannot: judged when the early half
/// and the burst fit in one window's length and nothing of them was cancelled.
fn not_judged(seen: &Seen) -> Vec<String> {
    let opening: Vec<&Observation> = seen
        .counted
        .iter()
        .copied()
        .filter(|o| o.step.opens_window())
        .collect();
    let mut not_judged = Vec::new();
    if !seen.wlog.reached(Step::Burst) {
        not_judged.push("the run ended before the burst was answered".into());
    } else if let Some(s0) = seen.first_sent {
        let cancelled = opening
            .iter()
            .filter(|o| o.outcome == Outcome::Cancelled)
            .count();
        let took = opening.iter().map(|o| o.answered_secs).fold(s0, f64::max) - s0;
        if cancelled > 0 {
            not_judged.push(format!(
                "{cancelled} request(s) of the burst were in flight when the run time ended"
            ));
        } else if took >= seen.w {
            not_judged.push(format!(
                "the early half and the burst took {}, longer than the {} s window: which \
                 admissions shared a span cannot be told",
                secs(took),
                seen.facts.window_secs
            ));
        }
    } else {
        not_judged.push("no request was sent".into());
    }
    not_judged
}
