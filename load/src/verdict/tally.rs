//! What one key's window's responses add up to, apart from their times: counts by
//! status, malformed refusals (PP-RATE-2), server and transport errors (PP-ERR-3), and
//! the requests that failed authentication (PP-RATE-4).

use std::collections::BTreeMap;

use super::RunFacts;
use super::findings::Findings;
use crate::observe::Outcome;
use crate::window::Observation;

/// What a window's responses add up to, apart from their times.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) offered: u32,
    pub(super) admitted: u32,
    pub(super) refused: u32,
    pub(super) refused_with_retry_after: u32,
    pub(super) cancelled: u32,
    pub(super) statuses: BTreeMap<u16, u32>,
    pub(super) noise: u32,
    pub(super) noise_refused: u32,
    pub(super) malformed: BTreeMap<String, u32>,
    pub(super) malformed_decided: BTreeMap<String, u32>,
    pub(super) server_errors: u32,
    pub(super) transport: BTreeMap<String, u32>,
    pub(super) wrong_noise: BTreeMap<u16, u32>,
}

impl Tally {
    pub(super) fn of(facts: &RunFacts, observations: &[&Observation]) -> Tally {
        let mut t = Tally::default();
        for o in observations {
            match &o.outcome {
                Outcome::Refused {
                    problem,
                    decided_problem,
                    retry_after,
                } => {
                    if let Some(p) = problem {
                        *t.malformed.entry(p.clone()).or_default() += 1;
                    }
                    if let Some(p) = decided_problem {
                        *t.malformed_decided.entry(p.clone()).or_default() += 1;
                    }
                    if o.counted() {
                        t.refused += 1;
                        t.refused_with_retry_after += u32::from(retry_after.is_some());
                    }
                }
                Outcome::ServerError { .. } => t.server_errors += 1,
                Outcome::Transport { error } => *t.transport.entry(error.clone()).or_default() += 1,
                Outcome::Cancelled => t.cancelled += 1,
                Outcome::Admitted { .. } => {}
            }
            if !o.counted() {
                t.noise += 1;
                match &o.outcome {
                    Outcome::Refused { .. } => t.noise_refused += 1,
                    Outcome::Admitted { status } if *status != facts.noise_status => {
                        *t.wrong_noise.entry(*status).or_default() += 1;
                    }
                    _ => {}
                }
                continue;
            }
            t.offered += 1;
            let status = match &o.outcome {
                Outcome::Admitted { status } | Outcome::ServerError { status } => *status,
                Outcome::Refused { .. } => facts.refused_status,
                Outcome::Transport { .. } | Outcome::Cancelled => 0,
            };
            *t.statuses.entry(status).or_default() += 1;
            t.admitted += u32::from(o.outcome.is_admitted());
        }
        t
    }

    /// Server errors and transport errors.
    pub(super) fn errors(&self) -> u32 {
        self.server_errors + self.transport.values().sum::<u32>()
    }

    pub(super) fn findings(&self, facts: &RunFacts, found: &mut Findings) {
        let c = found.clauses;
        for (p, n) in &self.malformed {
            found.must(c.refusal, format!("{n} refusal(s) with {p}"));
        }
        for (p, n) in &self.malformed_decided {
            found.decided(c.refusal, format!("{n} refusal(s) with {p}"));
        }
        if self.server_errors > 0 {
            found.must(
                c.server_error,
                format!("{} server error(s) (5xx) under load", self.server_errors),
            );
        }
        for (e, n) in &self.transport {
            found.must("transport", format!("{n} transport error(s): {e}"));
        }
        if self.noise_refused > 0 {
            found.decided(
                c.keys,
                format!(
                    "{} of {} requests that failed authentication were refused with 429; they \
                     must not count against a user",
                    self.noise_refused, self.noise
                ),
            );
        }
        for (status, n) in &self.wrong_noise {
            found.note(format!(
                "{n} request(s) with a failing bearer token answered {status}, not {}: check \
                 the tokens, these may have counted",
                facts.noise_status
            ));
        }
        for (status, n) in &self.statuses {
            if *status != facts.admitted_status
                && *status != facts.refused_status
                && *status < 500
                && *status > 0
            {
                found.note(format!(
                    "{n} admitted request(s) answered {status}, not {}: they count against the \
                     limit all the same ({}), but check the credentials",
                    facts.admitted_status, c.sliding
                ));
            }
        }
    }
}
