//! The findings client observation made (issue 22 item 1), bounded per client
//! ([`MAX_PER_CLIENT`]) and in all ([`MAX_FINDINGS`]), oldest dropped and counted. Repeats
//! of one breach (same rule, client and subject within [`MERGE_WINDOW`]) are one finding
//! with an occurrence count, so a client stuck in a loop fills one row, not the store.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};

use super::rules::{Breach, Rule};
use crate::core::clock::{Millis, rfc3339};

pub const MAX_FINDINGS: usize = 5_000;
pub const MAX_PER_CLIENT: usize = 200;
/// A breach joins the finding of the same rule, client and subject last seen this long
/// ago or less.
pub const MERGE_WINDOW: Millis = 600_000;
/// Request ids a finding lists: the first ones.
const MAX_REQUEST_IDS: usize = 20;

/// One finding: a rule a client broke.
#[derive(Debug, Clone)]
pub struct Finding {
    pub seq: u64,
    pub rule: &'static Rule,
    pub client_id: Option<Arc<str>>,
    subject: u64,
    /// The requests involved, first ones first (at most 20).
    pub request_ids: Vec<Box<str>>,
    pub first_at: Millis,
    pub last_at: Millis,
    /// How many breaches it stands for.
    pub occurrences: u64,
    pub detail: String,
}

impl Finding {
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "rule": self.rule.id,
            "title": self.rule.title,
            "source": self.rule.source,
            "client_id": self.client_id.as_deref(),
            "request_ids": self.request_ids,
            "first_at": rfc3339(self.first_at),
            "last_at": rfc3339(self.last_at),
            "occurrences": self.occurrences,
            "detail": self.detail,
            "instead": self.rule.instead,
        })
    }
}

type Key = (&'static str, Option<Arc<str>>, u64);

/// The bounded findings.
#[derive(Debug, Default)]
pub struct Findings {
    list: VecDeque<Finding>,
    /// The open finding of each (rule, client, subject), by seq.
    open: HashMap<Key, u64>,
    per_client: HashMap<Option<Arc<str>>, usize>,
    dropped: u64,
    dropped_by_client: HashMap<Option<Arc<str>>, u64>,
    last_seq: u64,
}

impl Findings {
    /// Adds a breach at `at`: to its open finding, or as a new one.
    pub fn add(&mut self, breach: Breach, at: Millis) {
        let key: Key = (breach.rule.id, breach.client_id.clone(), breach.subject);
        if let Some(&seq) = self.open.get(&key)
            && let Ok(i) = self.list.binary_search_by_key(&seq, |f| f.seq)
            && at - self.list[i].last_at <= MERGE_WINDOW
        {
            let f = &mut self.list[i];
            f.occurrences += 1;
            f.last_at = at;
            for id in breach.request_ids {
                if f.request_ids.len() < MAX_REQUEST_IDS && !f.request_ids.contains(&id) {
                    f.request_ids.push(id);
                }
            }
            return;
        }
        let held = self.per_client.get(&breach.client_id).copied().unwrap_or(0);
        if held >= MAX_PER_CLIENT {
            if let Some(i) = self
                .list
                .iter()
                .position(|f| f.client_id == breach.client_id)
            {
                self.drop_at(i);
            }
        } else if self.list.len() >= MAX_FINDINGS {
            self.drop_at(0);
        }
        self.last_seq += 1;
        let mut request_ids = breach.request_ids;
        request_ids.truncate(MAX_REQUEST_IDS);
        *self.per_client.entry(breach.client_id.clone()).or_default() += 1;
        self.open.insert(key, self.last_seq);
        self.list.push_back(Finding {
            seq: self.last_seq,
            rule: breach.rule,
            client_id: breach.client_id,
            subject: breach.subject,
            request_ids,
            first_at: at,
            last_at: at,
            occurrences: 1,
            detail: breach.detail,
        });
    }

    fn drop_at(&mut self, i: usize) {
        let Some(f) = self.list.remove(i) else {
            return;
        };
        let key: Key = (f.rule.id, f.client_id.clone(), f.subject);
        if self.open.get(&key) == Some(&f.seq) {
            self.open.remove(&key);
        }
        if let Some(n) = self.per_client.get_mut(&f.client_id) {
            *n -= 1;
            if *n == 0 {
                self.per_client.remove(&f.client_id);
            }
        }
        self.dropped += 1;
        *self.dropped_by_client.entry(f.client_id).or_default() += 1;
    }

    /// The findings, oldest first, of `client_id` when given.
    pub fn of<'a>(&'a self, client_id: Option<&'a str>) -> impl Iterator<Item = &'a Finding> {
        self.list
            .iter()
            .filter(move |f| client_id.is_none_or(|c| f.client_id.as_deref() == Some(c)))
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Findings dropped as the oldest, in all or of one client.
    pub fn dropped(&self, client_id: Option<&str>) -> u64 {
        match client_id {
            None => self.dropped,
            Some(c) => self
                .dropped_by_client
                .iter()
                .filter(|(k, _)| k.as_deref() == Some(c))
                .map(|(_, n)| *n)
                .sum(),
        }
    }

    /// Forgets every finding and the dropped counts; answers how many findings there
    /// were.
    pub fn clear(&mut self) -> usize {
        let held = self.list.len();
        let last_seq = self.last_seq;
        *self = Findings::default();
        self.last_seq = last_seq;
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::rules::{DEAD_TOKEN, PKCE_S256};

    fn breach(rule: &'static Rule, client: &str, subject: u64) -> Breach {
        Breach {
            rule,
            client_id: Some(client.into()),
            subject,
            request_ids: vec![format!("r{subject}").into()],
            detail: String::new(),
        }
    }

    #[test]
    fn repeats_within_the_window_are_one_finding() {
        let mut f = Findings::default();
        f.add(breach(&DEAD_TOKEN, "a", 1), 0);
        f.add(breach(&DEAD_TOKEN, "a", 1), 1_000);
        f.add(breach(&DEAD_TOKEN, "a", 2), 1_000);
        f.add(breach(&PKCE_S256, "a", 1), 1_000);
        assert_eq!(f.len(), 3);
        assert_eq!(f.of(None).next().unwrap().occurrences, 2);
        f.add(breach(&DEAD_TOKEN, "a", 1), 1_000 + MERGE_WINDOW + 1);
        assert_eq!(f.len(), 4, "past the window it is a new finding");
    }

    #[test]
    fn findings_are_bounded_per_client_and_in_all() {
        let mut f = Findings::default();
        for i in 0..(MAX_PER_CLIENT as u64 + 5) {
            f.add(breach(&DEAD_TOKEN, "noisy", i), 0);
        }
        f.add(breach(&DEAD_TOKEN, "quiet", 0), 0);
        assert_eq!(f.of(Some("noisy")).count(), MAX_PER_CLIENT);
        assert_eq!(f.dropped(Some("noisy")), 5);
        assert_eq!(f.of(Some("quiet")).count(), 1);
        for i in 0..MAX_FINDINGS as u64 {
            f.add(breach(&DEAD_TOKEN, &format!("c{}", i % 100), i), 0);
        }
        assert_eq!(f.len(), MAX_FINDINGS);
        assert!(f.dropped(None) > 5);
        assert_eq!(f.clear(), MAX_FINDINGS);
        assert_eq!(f.dropped(None), 0);
    }
}
