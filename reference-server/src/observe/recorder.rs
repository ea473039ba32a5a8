//! The request recorder (issue 21 item 2): the last [`CAPACITY`] requests the server
//! answered, oldest dropped and counted, as test controls and the Rust handle read them:
//! method, path, status, client, request id, time on the server's clock. Secrets and
//! tokens never enter it: the path is kept, the query only with the values of credential
//! parameters replaced ([`redact_query`]), bodies and headers not at all. Client
//! observation ([`super::rules`]) reads each entry as it is recorded: there is no second
//! log.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::core::clock::{Millis, rfc3339};

/// Requests kept. An entry is about 300 bytes, so the recorder holds at most ~3 MB.
pub const CAPACITY: usize = 10_000;

/// Query parameters whose values are credentials: their values are recorded as
/// `[redacted]`.
const SECRET_PARAMS: &[&str] = &[
    "access_token",
    "api_key",
    "client_assertion",
    "client_secret",
    "code",
    "code_verifier",
    "device_code",
    "id_token",
    "password",
    "refresh_token",
    "token",
];

/// One answered request.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its place in the server's sequence of recorded requests, from 1.
    pub seq: u64,
    /// When it was answered, on the server's clock (the test clock included).
    pub at: Millis,
    pub method: hyper::Method,
    pub path: Arc<str>,
    /// The query with credential values redacted.
    pub query: Option<Box<str>>,
    pub status: u16,
    /// The client it named (OAuth body, HTTP Basic, `client_id` of an authorize query) or
    /// whose live bearer token it carried; `None` when neither.
    pub client_id: Option<Arc<str>>,
    /// The request id the answer carried (PP-ERR-2), or minted for an error; `None` for
    /// a family whose answers carry none (enterprise, flexslot) when no error minted one.
    pub request_id: Option<String>,
    /// The error code answered, if it was an error.
    pub error: Option<&'static str>,
    /// The contract's own tool that sent it (the suite, load), by its `User-Agent`.
    pub tool: Option<Box<str>>,
}

impl Entry {
    /// How findings name it: its request id, else `#` and its sequence number.
    pub fn finding_id(&self) -> Box<str> {
        match &self.request_id {
            Some(id) => id.as_str().into(),
            None => format!("#{}", self.seq).into(),
        }
    }

    /// The entry as the test controls show it.
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "at": rfc3339(self.at),
            "method": self.method.as_str(),
            "path": &*self.path,
            "query": self.query,
            "status": self.status,
            "client_id": self.client_id.as_deref(),
            "request_id": self.request_id,
            "error": self.error,
            "tool": self.tool,
        })
    }
}

/// What the shell hands the recorder of an answered request; the recorder adds the
/// sequence number and the shared names of its path and client.
#[derive(Debug)]
pub struct Answered<'a> {
    pub at: Millis,
    pub method: hyper::Method,
    pub path: &'a str,
    pub query: Option<Box<str>>,
    pub status: u16,
    pub request_id: Option<String>,
    pub error: Option<&'static str>,
    pub tool: Option<Box<str>>,
}

/// The bounded log of answered requests.
#[derive(Debug)]
pub struct Recorder {
    entries: VecDeque<Entry>,
    capacity: usize,
    /// Entries dropped as the oldest since the last clear.
    dropped: u64,
    last_seq: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::with_capacity(CAPACITY)
    }
}

impl Recorder {
    pub fn with_capacity(capacity: usize) -> Self {
        Recorder {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
            last_seq: 0,
        }
    }

    /// The sequence number the next entry gets.
    pub fn next_seq(&self) -> u64 {
        self.last_seq + 1
    }

    /// Records `entry` under the next sequence number, dropping the oldest past the
    /// capacity; returns the recorded entry.
    pub fn push(&mut self, mut entry: Entry) -> &Entry {
        self.last_seq += 1;
        entry.seq = self.last_seq;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(entry);
        self.entries.back().expect("just pushed")
    }

    /// The entries, oldest first, of `client_id` when given.
    pub fn entries<'a>(&'a self, client_id: Option<&'a str>) -> impl Iterator<Item = &'a Entry> {
        self.entries
            .iter()
            .filter(move |e| client_id.is_none_or(|c| e.client_id.as_deref() == Some(c)))
    }

    /// How many entries were dropped as the oldest since the last clear.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Forgets every entry and the dropped count; returns how many entries it held.
    /// Sequence numbers go on, so a reader never sees one number twice.
    pub fn clear(&mut self) -> usize {
        let held = self.entries.len();
        self.entries.clear();
        self.dropped = 0;
        held
    }
}

/// `query` with the values of [`SECRET_PARAMS`] replaced by `[redacted]`, kept as sent
/// otherwise (percent-encoding and order included).
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n);
            if is_secret_param(name) {
                format!("{name}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether a parameter's value is a credential, by its name as sent or decoded
/// (`client%5Fsecret`, any case): a server that decodes names leniently must not record
/// what it would read as a secret.
pub fn is_secret_param(name: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(name.as_bytes())
        .next()
        .map(|(n, _)| n.to_ascii_lowercase())
        .unwrap_or_default();
    SECRET_PARAMS.contains(&decoded.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(client: Option<&str>) -> Entry {
        Entry {
            seq: 0,
            at: 0,
            method: hyper::Method::GET,
            path: "/x".into(),
            query: None,
            status: 200,
            client_id: client.map(Into::into),
            request_id: Some("req_1".into()),
            error: None,
            tool: None,
        }
    }

    #[test]
    fn the_oldest_entries_are_dropped_and_counted() {
        let mut r = Recorder::with_capacity(3);
        for _ in 0..5 {
            r.push(entry(None));
        }
        let seqs: Vec<u64> = r.entries(None).map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(r.dropped(), 2);
        assert_eq!(r.clear(), 3);
        assert_eq!(r.dropped(), 0);
        assert_eq!(r.push(entry(None)).seq, 6, "numbers go on after a clear");
    }

    #[test]
    fn entries_filter_by_client() {
        let mut r = Recorder::default();
        r.push(entry(Some("a")));
        r.push(entry(Some("b")));
        r.push(entry(None));
        assert_eq!(r.entries(Some("a")).count(), 1);
        assert_eq!(r.entries(None).count(), 3);
    }

    #[test]
    fn credential_values_are_redacted_from_queries() {
        assert_eq!(
            redact_query("client_id=a&client_secret=s3&code=abc&state=xyz&access_token=t"),
            "client_id=a&client_secret=[redacted]&code=[redacted]&state=xyz&access_token=[redacted]"
        );
        assert_eq!(
            redact_query("Client%5FSecret=x"),
            "Client%5FSecret=[redacted]"
        );
    }
}
