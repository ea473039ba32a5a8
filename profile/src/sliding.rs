//! PP-RATE-3's definition of a sliding window, as a pure function over observed times:
//! "in any interval of the window's length at most N requests of a key are admitted".
//!
//! The conformance suite and the load tool judge a limiter by what they saw: the times at
//! which admitted requests were sent and answered. Neither knows when the server decided,
//! only that it was between the two, so [`busiest_span`] counts the admissions that surely
//! fall inside one window's span (answered no earlier than the span's start, sent before
//! its end). A count above N there is an over-admission whatever the latency was.

/// When one admitted request was in flight, in seconds on any one clock (the caller's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Admission {
    /// When the request left the client.
    pub sent: f64,
    /// When its answer arrived.
    pub answered: f64,
}

impl Admission {
    /// A request whose send and answer times are the same instant (a server's own log).
    pub fn at(t: f64) -> Admission {
        Admission {
            sent: t,
            answered: t,
        }
    }
}

/// The span of one window's length that surely holds the most admissions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusiestSpan {
    /// How many admissions surely fell inside `[start, start + window)`.
    pub admitted: usize,
    /// The span's start: the send time of its earliest admission.
    pub start: f64,
    /// The send time of the last admission counted, which is before `start + window`.
    pub last_sent: f64,
}

/// The largest number of admissions that surely fell inside one span of `window_secs`.
///
/// The client knows only that each admission was decided somewhere in `[sent, answered]`.
/// A set of admissions surely fell inside one half-open span of length `w` when its latest
/// answer minus its earliest send is under `w`, so that is the set counted here. With zero
/// latency it is the plain count of admissions in any interval of length `w`; with latency
/// it never counts two admissions that an exact limiter could have decided `w` apart.
pub fn busiest_span(admissions: &[Admission], window_secs: f64) -> BusiestSpan {
    let mut by_sent: Vec<Admission> = admissions.to_vec();
    by_sent.sort_by(|a, b| a.sent.total_cmp(&b.sent));
    // For each admission taken as the earliest sent of a set, count the ones sent no
    // earlier and answered before its send time plus the window. Walking from the latest
    // send backwards keeps the answer times of those candidates in one sorted list.
    let mut answered: Vec<f64> = Vec::with_capacity(by_sent.len());
    let mut best: Option<(usize, usize)> = None; // (count, index of the earliest sent)
    for (i, first) in by_sent.iter().enumerate().rev() {
        let pos = answered.partition_point(|t| *t < first.answered);
        answered.insert(pos, first.answered);
        let end = first.sent + window_secs;
        if first.answered >= end {
            continue;
        }
        let inside = answered.partition_point(|t| *t < end);
        if best.is_none_or(|(n, _)| inside > n) {
            best = Some((inside, i));
        }
    }
    let Some((admitted, i)) = best else {
        return BusiestSpan {
            admitted: 0,
            start: 0.0,
            last_sent: 0.0,
        };
    };
    let start = by_sent[i].sent;
    let last_sent = by_sent[i..]
        .iter()
        .filter(|a| a.answered < start + window_secs)
        .map(|a| a.sent)
        .fold(start, f64::max);
    BusiestSpan {
        admitted,
        start,
        last_sent,
    }
}

/// Whether a limit of `max` per `window_secs` held over `admissions` (PP-RATE-1, PP-RATE-3).
pub fn holds(admissions: &[Admission], max: u32, window_secs: f64) -> bool {
    busiest_span(admissions, window_secs).admitted <= max as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(times: &[f64]) -> Vec<Admission> {
        times.iter().copied().map(Admission::at).collect()
    }

    #[test]
    fn a_sliding_window_of_three_holds_and_a_fourth_in_the_span_breaks_it() {
        let ok = at(&[0.0, 0.1, 0.2, 6.0, 6.1, 6.2]);
        assert_eq!(busiest_span(&ok, 6.0).admitted, 3);
        assert!(holds(&ok, 3, 6.0));
        let over = at(&[0.0, 0.1, 0.2, 5.9]);
        assert_eq!(busiest_span(&over, 6.0).admitted, 4);
        assert!(!holds(&over, 3, 6.0));
    }

    #[test]
    fn a_leaky_bucket_that_refills_is_caught_within_one_span() {
        // nginx `rate=10r/s burst=59 nodelay`: 60 at once, then one every 0.1 s.
        let mut times = vec![0.0; 60];
        times.extend((1..=58).map(|i| f64::from(i) * 0.1));
        let span = busiest_span(&at(&times), 6.0);
        assert_eq!(span.admitted, 118);
        assert_eq!(span.start, 0.0);
    }

    #[test]
    fn a_fixed_window_crossing_its_boundary_admits_twice_n_in_one_span() {
        // Window [0, 6): 3 admitted late; window [6, 12): 3 admitted early.
        let times = at(&[5.0, 5.1, 5.2, 6.0, 6.1, 6.2]);
        assert_eq!(busiest_span(&times, 6.0).admitted, 6);
    }

    #[test]
    fn latency_never_makes_an_exact_limiter_look_wrong() {
        // Decided at 0, 0, 0 and 6, 6, 6 (exact, window 6), but each answered 4 s late and
        // sent 0.5 s early: no two of different bursts were surely decided < 6 s apart.
        let slow: Vec<Admission> = [0.0, 0.0, 0.0, 6.0, 6.0, 6.0]
            .iter()
            .map(|t| Admission {
                sent: t - 0.5,
                answered: t + 4.0,
            })
            .collect();
        assert_eq!(busiest_span(&slow, 6.0).admitted, 3);
    }

    #[test]
    fn nothing_admitted_is_an_empty_span() {
        assert_eq!(busiest_span(&[], 60.0).admitted, 0);
        assert!(holds(&[], 0, 60.0));
    }
}
