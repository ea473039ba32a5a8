//! The one redactor: turns the volatile values of a transcript (request ids, tokens,
//! codes, secrets, timestamps, the target's base URL) and the identities of the
//! credentials file (client ids, app names, usernames, display names, redirect URIs, as
//! role placeholders like `[client:web]`) into stable placeholders, so the transcript can
//! be compared with a committed snapshot that another deployment's apps and users share. A value's format is asserted
//! before it is replaced; a value in the wrong format fails the check instead of vanishing
//! behind a placeholder. This module must not decide what a check passes on.

use std::collections::HashMap;

use profile::RequestIdFormat;
use serde_json::Value;

/// The member names of a family's answers that the redactor must know. Each family
/// keeps its names in its checks folder (`checks/punchplay/members.rs`) and hands them
/// over through its dialect (`Dialect::members`).
#[derive(Debug, Clone)]
pub struct FamilyMembers {
    /// Members whose values are credentials or one-time codes, and their placeholder kinds.
    pub secrets: &'static [(&'static str, &'static str)],
    /// The member carrying a request id, checked against `request_id`'s format.
    pub request_id_member: &'static str,
    /// The request id's format; `None` for a family whose answers carry none.
    pub request_id: Option<RequestIdFormat>,
    /// Human text, replaced whole.
    pub prose: &'static [&'static str],
    /// Members whose `data:` URI is replaced whole.
    pub data_uris: &'static [&'static str],
    /// Number members that are event ids.
    pub event_ids: &'static [&'static str],
    /// Number members that are Unix times (an introspection's `exp`), replaced whole.
    pub unix_times: &'static [&'static str],
}

impl FamilyMembers {
    /// The members of a family whose answers carry no request id, data URI or event id
    /// (RFC-style answers: credentials, human text, Unix times).
    pub fn without_request_id(
        secrets: &'static [(&'static str, &'static str)],
        prose: &'static [&'static str],
        unix_times: &'static [&'static str],
    ) -> FamilyMembers {
        FamilyMembers {
            secrets,
            request_id_member: "",
            request_id: None,
            prose,
            data_uris: &[],
            event_ids: &[],
            unix_times,
        }
    }
}

/// A format problem found while redacting: (what, the offending value).
#[derive(Debug, Clone)]
pub struct FormatError(pub String);

/// A value the redactor replaces, and with what.
#[derive(Debug, Clone)]
struct Known {
    raw: String,
    placeholder: String,
    /// Replaced only as a whole word (a username `bob` is not the `bob` of `bobcat`).
    whole_word: bool,
}

pub struct Redactor {
    /// Raw value to placeholder, in registration order (the base URL first).
    values: Vec<Known>,
    members: FamilyMembers,
    counters: HashMap<String, usize>,
}

/// The shortest value replaced anywhere in a text; shorter ones would hit by chance.
const MIN_VOLATILE_LEN: usize = 4;
/// The shortest identity replaced, as a whole word.
const MIN_IDENTITY_LEN: usize = 3;

impl Redactor {
    pub fn new(base: &str, members: FamilyMembers) -> Redactor {
        let mut r = Redactor {
            values: Vec::new(),
            members,
            counters: HashMap::new(),
        };
        r.push(base.trim_end_matches('/'), "[base]", false);
        r
    }

    /// How many placeholders of each kind were handed out, for [`Redactor::rewind`].
    pub fn counts(&self) -> HashMap<String, usize> {
        self.counters.clone()
    }

    /// Numbers placeholders from `counts` again: a check that discards an attempt and
    /// makes it again gets the same placeholders as a first attempt (issue 18 item 7a).
    pub fn rewind(&mut self, counts: HashMap<String, usize>) {
        self.counters = counts;
    }

    fn push(&mut self, raw: &str, placeholder: &str, whole_word: bool) {
        let min = if whole_word {
            MIN_IDENTITY_LEN
        } else {
            MIN_VOLATILE_LEN
        };
        if raw.len() >= min && !self.values.iter().any(|k| k.raw == raw) {
            self.values.push(Known {
                raw: raw.to_owned(),
                placeholder: placeholder.to_owned(),
                whole_word,
            });
        }
    }

    /// Registers a value under a fixed placeholder (secrets of the credentials file).
    pub fn register_named(&mut self, raw: &str, placeholder: &str) {
        self.push(raw, placeholder, false);
    }

    /// Registers an identity of the credentials file (a client id, an app or user name, a
    /// redirect URI) under its role placeholder, as written and URL-encoded. Names are
    /// replaced as whole words; a URI anywhere (a check may append to it).
    pub fn register_identity(&mut self, raw: &str, placeholder: &str) {
        let whole_word = !raw.contains("://");
        self.push(raw, placeholder, whole_word);
        let encoded: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        if encoded != raw {
            self.push(&encoded, placeholder, whole_word);
        }
        let percent = encoded.replace('+', "%20");
        if percent != encoded {
            self.push(&percent, placeholder, whole_word);
        }
    }

    /// Registers a volatile value of a kind; the same value keeps one numbered placeholder,
    /// so a transcript still shows which response a later request reuses.
    pub fn register(&mut self, raw: &str, kind: &str) -> String {
        if let Some(k) = self.values.iter().find(|k| k.raw == raw) {
            return k.placeholder.clone();
        }
        let n = self.counters.entry(kind.to_owned()).or_insert(0);
        *n += 1;
        let placeholder = format!("[{kind}-{n}]");
        self.push(raw, &placeholder, false);
        let encoded: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        if encoded != raw {
            self.push(&encoded, &placeholder, false);
        }
        placeholder
    }

    /// Replaces every known value, the base URL and request ids in free text. One pass,
    /// the longest value first at each position, so a placeholder is never rewritten.
    pub fn scrub(&self, text: &str) -> String {
        let mut known: Vec<&Known> = self.values.iter().collect();
        known.sort_by_key(|k| std::cmp::Reverse(k.raw.len()));
        // Bytes a known value starts with: elsewhere no value needs to be tried.
        let mut starts = [false; 256];
        for k in &known {
            if let Some(b) = k.raw.bytes().next() {
                starts[usize::from(b)] = true;
            }
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while at < text.len() {
            let rest = &text[at..];
            let hit = if starts[usize::from(rest.as_bytes()[0])] {
                known.iter().find(|k| {
                    rest.starts_with(k.raw.as_str())
                        && (!k.whole_word || is_whole_word(text, at, at + k.raw.len()))
                })
            } else {
                None
            };
            if let Some(k) = hit {
                out.push_str(&k.placeholder);
                at += k.raw.len();
            } else {
                let c = rest.chars().next().unwrap_or_default();
                out.push(c);
                at += c.len_utf8();
            }
        }
        strip_made_up(&self.scrub_request_ids(&out))
    }

    fn scrub_request_ids(&self, text: &str) -> String {
        let Some(format) = &self.members.request_id else {
            return text.to_owned();
        };
        let prefix = &format.prefix;
        let len = format.hex_len;
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find(prefix.as_str()) {
            let after = &rest[i + prefix.len()..];
            let hex = after.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
            out.push_str(&rest[..i]);
            if hex == len {
                out.push_str("[request-id]");
            } else {
                out.push_str(&rest[i..i + prefix.len() + hex]);
            }
            rest = &after[hex..];
        }
        out.push_str(rest);
        out
    }

    /// Registers the volatile members of a response body, asserting their formats.
    pub fn learn_json(&mut self, value: &Value) -> Result<(), FormatError> {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if let Some((_, kind)) = self.members.secrets.iter().find(|(key, _)| key == k) {
                        match v {
                            Value::String(s) => {
                                if s.is_empty() || s.chars().any(char::is_whitespace) {
                                    return Err(FormatError(format!(
                                        "`{k}` is {s:?}: empty or with whitespace"
                                    )));
                                }
                                self.register(s, kind);
                            }
                            Value::Null => {}
                            other => {
                                return Err(FormatError(format!("`{k}` is not a string: {other}")));
                            }
                        }
                    } else if let Some(format) = &self.members.request_id
                        && k == self.members.request_id_member
                    {
                        if !v.as_str().is_some_and(|s| format.matches(s)) {
                            return Err(FormatError(format!(
                                "`{k}` is {v}, not `{}` + {} lowercase hex characters (PP-ERR-2)",
                                format.prefix, format.hex_len
                            )));
                        }
                    } else {
                        self.learn_json(v)?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => items.iter().try_for_each(|v| self.learn_json(v)),
            _ => Ok(()),
        }
    }

    /// A copy of a JSON value with volatile values replaced.
    pub fn scrub_json(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let m = &self.members;
                        let k_is = |names: &[&str]| names.contains(&k.as_str());
                        let v = match v {
                            Value::String(_) if k_is(m.prose) => Value::String("[message]".into()),
                            Value::String(s) if k_is(m.data_uris) && s.starts_with("data:") => {
                                Value::String("[png-data-uri]".into())
                            }
                            Value::Number(_) if k_is(m.event_ids) => {
                                Value::String("[event-id]".into())
                            }
                            Value::Number(_) if k_is(m.unix_times) => {
                                Value::String("[unix-time]".into())
                            }
                            _ => self.scrub_json(v),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.scrub_json(v)).collect()),
            Value::String(s) => {
                if chrono::DateTime::parse_from_rfc3339(s).is_ok() {
                    Value::String("[timestamp]".into())
                } else {
                    Value::String(self.scrub(s))
                }
            }
            other => other.clone(),
        }
    }
}

/// What follows a made-up credential's stem (`kit::made_up`), before 16 hex digits.
pub const MADE_UP_MARK: &str = "-madeup";
const MADE_UP_HEX: usize = 16;

/// `text` without the unique suffixes of made-up credentials: a transcript shows the
/// stem (`conformance-unknown-refresh`) however many distinct ones a check sent, so its
/// snapshot stays the same.
fn strip_made_up(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(MADE_UP_MARK) {
        let after = &rest[i + MADE_UP_MARK.len()..];
        let hex = after
            .bytes()
            .take_while(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            .count();
        out.push_str(&rest[..i]);
        if hex != MADE_UP_HEX {
            out.push_str(&rest[i..i + MADE_UP_MARK.len() + hex]);
        }
        rest = &after[hex..];
    }
    out.push_str(rest);
    out
}

/// Whether `text[start..end]` stands alone: no letter, digit, `-` or `_` on either side.
fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '-' || c == '_';
    !text[..start].chars().next_back().is_some_and(word)
        && !text[end..].chars().next().is_some_and(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A redactor that knows members as punchplay's answers name them.
    fn redactor() -> Redactor {
        let members = FamilyMembers {
            secrets: &[("access_token", "access-token")],
            request_id_member: "request_id",
            request_id: profile::Profile::punchplay().request_id().cloned(),
            prose: &["message"],
            data_uris: &[],
            event_ids: &[],
            unix_times: &[],
        };
        Redactor::new("http://127.0.0.1:4000", members)
    }

    #[test]
    fn the_same_token_keeps_its_placeholder_and_request_ids_are_replaced() {
        let mut r = redactor();
        let body = serde_json::json!({"access_token": "abcdef123", "request_id": "ppreq_0123456789abcdef0123"});
        r.learn_json(&body).unwrap();
        assert_eq!(r.scrub("Bearer abcdef123"), "Bearer [access-token-1]");
        assert_eq!(
            r.scrub("x ppreq_0123456789abcdef0123 y"),
            "x [request-id] y"
        );
        assert_eq!(r.scrub("http://127.0.0.1:4000/activate"), "[base]/activate");
        let scrubbed = r.scrub_json(&body);
        assert_eq!(scrubbed["access_token"], "[access-token-1]");
        assert_eq!(scrubbed["request_id"], "[request-id]");
    }

    #[test]
    fn a_made_up_credential_shows_its_stem_only() {
        let r = redactor();
        assert_eq!(
            r.scrub("refresh_token=conformance-unknown-refresh-madeup0123456789abcdef&x=1"),
            "refresh_token=conformance-unknown-refresh&x=1"
        );
        // Not 16 lowercase hex digits: not a made-up suffix, left alone.
        assert_eq!(
            r.scrub("a-madeup0123 b-madeupABCDEF0123456789"),
            "a-madeup0123 b-madeupABCDEF0123456789"
        );
    }

    #[test]
    fn a_request_id_in_the_wrong_format_is_refused_not_hidden() {
        let mut r = redactor();
        let err = r
            .learn_json(&serde_json::json!({"request_id": "req-1"}))
            .unwrap_err();
        assert!(err.0.contains("PP-ERR-2"), "{}", err.0);
        assert_eq!(r.scrub("ppreq_12"), "ppreq_12");
    }

    #[test]
    fn timestamps_become_placeholders() {
        let r = redactor();
        let v = r.scrub_json(&serde_json::json!({"updated_at": "2026-11-23T18:00:00Z", "n": 1}));
        assert_eq!(v, serde_json::json!({"updated_at": "[timestamp]", "n": 1}));
    }

    #[test]
    fn identities_become_role_placeholders_as_whole_words() {
        let mut r = redactor();
        r.register_identity("bob", "[user:second]");
        r.register_identity("Bob Example", "[display-name:second]");
        r.register_identity("http://127.0.0.1:8765/callback", "[redirect-uri]");
        assert_eq!(r.scrub("/users/bob"), "/users/[user:second]");
        assert_eq!(r.scrub("bobcat bob-x"), "bobcat bob-x");
        assert_eq!(r.scrub("Bob Example"), "[display-name:second]");
        assert_eq!(
            r.scrub("redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&x"),
            "redirect_uri=[redirect-uri]&x"
        );
        assert_eq!(
            r.scrub("http://127.0.0.1:8765/callback-other?code=1"),
            "[redirect-uri]-other?code=1"
        );
        let v = r.scrub_json(&serde_json::json!({"username": "bob", "name": "Bob Example"}));
        assert_eq!(
            v,
            serde_json::json!({"username": "[user:second]", "name": "[display-name:second]"})
        );
    }

    #[test]
    fn a_placeholder_is_never_rewritten_by_a_shorter_value() {
        let mut r = redactor();
        r.register_identity("web", "[client:tv]");
        r.register_identity("pp-web", "[client:web]");
        assert_eq!(r.scrub("pp-web web"), "[client:web] [client:tv]");
    }
}
