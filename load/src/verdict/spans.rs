//! What was admitted within which span of one key's window: at most N from the
//! window's first request and again once its first admission has left (PP-RATE-1), at
//! most N in any span (PP-RATE-3, which tells a sliding window from a fixed one), and no
//! refusal while fewer than N can have been admitted in the span before it.

use profile::sliding::{Admission, busiest_span};

use super::findings::{Findings, secs};
use super::seen::Seen;
use super::{Busiest, WindowKind};
use crate::observe::Outcome;
use crate::window::{Observation, Step};

/// What the spans showed.
pub(super) struct Spans {
    pub(super) first_span: u32,
    pub(super) second_span: u32,
    pub(super) busiest: Busiest,
    pub(super) kind: WindowKind,
}

pub(super) fn judge(seen: &Seen, found: &mut Findings) -> Spans {
    let c = found.clauses;
    let (facts, wlog, of_key) = (seen.facts, seen.wlog, seen.of_key);
    let (counted, admitted) = (&seen.counted, &seen.admitted);
    let (first_sent, first_answered_admission) = (seen.first_sent, seen.first_answered_admission);
    let (w, max) = (seen.w, facts.max);

    // PP-RATE-1: from the window's first request (the window began empty), at most N
    // admitted within its length; and again once its first admission has left, within
    // the next length. Both hold for a sliding window and for a fixed one that starts at
    // a key's first request; a bucket that refills, an off-by-one or a fixed window
    // whose boundary falls inside the first span admits more.
    let (mut first_span, mut second_span) = (0, 0);
    if let Some(s0) = first_sent {
        let inside: Vec<&&Observation> = admitted
            .iter()
            .filter(|o| o.answered_secs < s0 + w)
            .collect();
        first_span = inside.len() as u32;
        if first_span > max {
            let last = inside.iter().map(|o| o.answered_secs).fold(s0, f64::max);
            found.must(
                c.window,
                format!(
                    "admitted {first_span} within {} of the window's first request, where the \
                     limit is {max} per {} s",
                    secs(last - s0),
                    facts.window_secs
                ),
            );
        }
        if let Some(a0) = first_answered_admission {
            let later: Vec<&&Observation> = admitted
                .iter()
                .filter(|o| o.sent_secs >= a0 + w && o.answered_secs < s0 + 2.0 * w)
                .collect();
            second_span = later.len() as u32;
            if second_span > max {
                found.must(
                    c.window,
                    format!(
                        "admitted {second_span} once the window's first admission had left it, \
                         within one window's length, where the limit is {max} per {} s",
                        facts.window_secs
                    ),
                );
            }
        }
    }

    // PP-RATE-3 (DECIDED): at most N in any span of the window's length.
    let admissions: Vec<Admission> = admitted
        .iter()
        .map(|o| Admission {
            sent: o.sent_secs,
            answered: o.answered_secs,
        })
        .collect();
    let span = busiest_span(&admissions, w);
    let origin = first_sent.unwrap_or(0.0);
    let busiest = Busiest {
        admitted: span.admitted,
        from_secs: span.start - origin,
        to_secs: span.last_sent - origin,
    };
    let mut kind = WindowKind::NotTold;
    if span.admitted > max as usize {
        if first_span <= max && second_span <= max {
            kind = WindowKind::Fixed;
            found.decided(
                c.sliding,
                format!(
                    "a fixed window, not a sliding one: {} admitted between {} and {} of the \
                     window, within one span of {} s, where a sliding window admits {max}; \
                     never more than {max} from the start of a window",
                    span.admitted,
                    secs(busiest.from_secs),
                    secs(busiest.to_secs),
                    facts.window_secs
                ),
            );
        }
    } else if wlog.reached(Step::Slide) {
        // A fixed window would have shown if enough of the slide was answered within one
        // window's length of the burst's first admission to take the span past N.
        let burst_began = admitted
            .iter()
            .filter(|o| o.step == Step::Burst)
            .map(|o| o.sent_secs)
            .reduce(f64::min);
        if let Some(b) = burst_began {
            let kept = admitted
                .iter()
                .filter(|o| matches!(o.step, Step::Burst | Step::Resume))
                .count();
            let slide_in_span = counted
                .iter()
                .filter(|o| o.step == Step::Slide && o.answered_secs < b + w)
                .count();
            if kept + slide_in_span > max as usize {
                kind = WindowKind::Sliding;
            } else {
                found.note(format!(
                    "not judged: sliding or fixed window, as only {slide_in_span} request(s) of \
                     the slide were answered within one window's length of the burst"
                ));
            }
        }
    }

    // No refusal while fewer than N can have been admitted in the window's length before
    // it: PP-RATE-1 for the first span (the window began empty), PP-RATE-3 after it
    // (refusals counted, or a window that does not slide). The resume is judged below.
    for in_first_span in [true, false] {
        let early: Vec<(usize, &Observation)> = counted
            .iter()
            .copied()
            .filter(|o| o.step.opens_window() == in_first_span && o.step != Step::Resume)
            .filter(|o| matches!(o.outcome, Outcome::Refused { .. }))
            .map(|o| (possibly_admitted_before(o, of_key, w), o))
            .filter(|(n, _)| *n < max as usize)
            .collect();
        if let Some((least, o)) = early.iter().min_by_key(|(n, _)| *n) {
            let text = format!(
                "refused {} request(s) (the first in the {} step, {} into the window) while \
                 at most {least} had been admitted in the {} s before, where the limit is {max}",
                early.len(),
                o.step,
                secs(o.sent_secs - origin),
                facts.window_secs
            );
            if in_first_span {
                found.must(c.window, text);
            } else {
                found.decided(c.sliding, text);
            }
        }
    }
    Spans {
        first_span,
        second_span,
        busiest,
        kind,
    }
}

/// How many of the key's requests may have been admitted in the window's length before
/// `refusal` was decided: those answered after its send less the window, and sent before
/// its answer.
fn possibly_admitted_before(refusal: &Observation, of_key: &[&Observation], w: f64) -> usize {
    of_key
        .iter()
        .filter(|o| {
            o.counted()
                && !std::ptr::eq(**o, refusal)
                && o.outcome.may_be_admitted()
                && o.answered_secs > refusal.sent_secs - w
                && o.sent_secs < refusal.answered_secs
        })
        .count()
}
