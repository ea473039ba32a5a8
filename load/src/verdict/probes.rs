//! The probes of one key's window: the first refusal after the burst and its
//! Retry-After (the time until the oldest admission leaves the window, rounded up), the
//! not-before request just before it has passed and the resume just after (PP-RATE-3).

use super::findings::{Findings, secs};
use super::seen::Seen;
use crate::observe::Outcome;
use crate::window::Step;

/// What the probes got.
pub(super) struct Probes {
    pub(super) first_refusal: Option<Outcome>,
    /// Whether the request after the burst was refused.
    pub(super) refused_first: bool,
    pub(super) oldest_leaves: Option<(f64, f64)>,
    pub(super) not_before: Option<Outcome>,
    pub(super) resume: Option<Outcome>,
}

pub(super) fn judge(seen: &Seen, found: &mut Findings) -> Probes {
    let c = found.clauses;
    let (wlog, counted) = (seen.wlog, &seen.counted);
    let (first_sent, first_answered_admission) = (seen.first_sent, seen.first_answered_admission);
    let w = seen.w;
    let find = |step: Step| seen.find(step);

    // The first refusal, its Retry-After (PP-RATE-3: the time until the oldest admission
    // leaves the window, rounded up), the not-before and the resume probes.
    let first_refusal = find(Step::FirstRefusal);
    let retry_after = first_refusal.and_then(|o| match o.outcome {
        Outcome::Refused { retry_after, .. } => retry_after,
        _ => None,
    });
    let refused_first = first_refusal.is_some_and(|o| matches!(o.outcome, Outcome::Refused { .. }));
    match first_refusal.map(|o| &o.outcome) {
        None if wlog.reached(Step::FirstRefusal) => {
            found.must("load", "no request was sent after the burst".into())
        }
        Some(o @ Outcome::Admitted { .. }) => found.note(format!(
            "the request after the burst was admitted ({}), so there was no refusal whose \
             Retry-After, not-before and resume could be checked",
            o.describe()
        )),
        Some(Outcome::ServerError { status }) => found.must(
            c.server_error,
            format!("the request after the burst got {status}"),
        ),
        _ => {}
    }
    let mut oldest_leaves = None;
    if let (Some(fr), Some(r), Some(s0), Some(a0)) = (
        first_refusal,
        retry_after,
        first_sent,
        first_answered_admission,
    ) {
        let low = w - (fr.answered_secs - s0);
        let high = w - (fr.sent_secs - a0);
        oldest_leaves = Some((low, high));
        if low <= 0.0 {
            found.note(format!(
                "Retry-After not judged: the first refusal was answered {} after the window's \
                 first request, when its oldest admission may already have left",
                secs(fr.answered_secs - s0)
            ));
        } else {
            // The server's clock counts milliseconds: allow one.
            let least = ((low - 0.002).ceil() as i64).max(1);
            let most = ((high + 0.002).ceil() as i64).max(1);
            if (r as i64) < least || (r as i64) > most {
                found.decided(
                    c.sliding,
                    format!(
                        "Retry-After {r} s, but the oldest admitted request leaves the window \
                         in {low:.2}..{high:.2} s, so it should be {least}..{most}"
                    ),
                );
            }
        }
    }

    let not_before = find(Step::NotBefore);
    if let (Some(fr), Some(nb), Some(r)) = (first_refusal, not_before, retry_after) {
        match &nb.outcome {
            Outcome::Admitted { .. } => {
                // The oldest admission had more than r - 1 s to go when the first refusal
                // was decided; at most this much has passed since.
                let passed = nb.answered_secs - fr.sent_secs;
                if (r as f64 - 1.0) - passed > 0.0 {
                    found.decided(
                        c.sliding,
                        format!(
                            "admitted ({}) {} after a refusal that said Retry-After {r} s: \
                             admission resumed before the window allowed",
                            nb.outcome.describe(),
                            secs(passed)
                        ),
                    );
                } else {
                    found.note(format!(
                        "the not-before request was answered {} after the first refusal, too \
                         late to tell an early admission from a timely one",
                        secs(passed)
                    ));
                }
            }
            Outcome::Refused {
                retry_after: Some(r2),
                ..
            } => {
                let passed = (nb.sent_secs - fr.answered_secs).max(0.0);
                let bound = (r as f64 - passed).ceil().max(1.0) as u64;
                if *r2 > bound {
                    found.decided(
                        c.sliding,
                        format!(
                            "Retry-After did not shrink: {r} s at the first refusal, still \
                             {r2} s at least {} later (at most {bound} s)",
                            secs(passed)
                        ),
                    );
                }
            }
            Outcome::ServerError { status } => found.must(
                c.server_error,
                format!("the not-before request got {status}"),
            ),
            _ => {}
        }
    }

    // Judged only when nothing was admitted between the first refusal and the resume (a
    // place freed and taken again would rightly keep it refused).
    let resume = find(Step::Resume);
    if let (Some(fr), Some(re), Some(r)) = (first_refusal, resume, retry_after) {
        let waited = re.sent_secs - fr.answered_secs;
        let taken_between = counted.iter().any(|o| {
            o.outcome.may_be_admitted()
                && o.answered_secs > fr.sent_secs
                && o.sent_secs < re.sent_secs
        });
        match &re.outcome {
            Outcome::Refused { .. } if waited >= r as f64 && !taken_between => found.decided(
                c.sliding,
                format!(
                    "still refused {} after a refusal that said Retry-After {r} s: admission \
                     did not resume when the window allowed",
                    secs(waited)
                ),
            ),
            Outcome::Refused { .. } if waited >= r as f64 => found.note(
                "the resume was not judged: a request was admitted between the first refusal \
                 and it"
                    .into(),
            ),
            Outcome::ServerError { status } => {
                found.must(c.server_error, format!("the resume request got {status}"))
            }
            _ => {}
        }
    }
    Probes {
        first_refusal: first_refusal.map(|o| o.outcome.clone()),
        refused_first,
        oldest_leaves,
        not_before: not_before.map(|o| o.outcome.clone()),
        resume: resume.map(|o| o.outcome.clone()),
    }
}
