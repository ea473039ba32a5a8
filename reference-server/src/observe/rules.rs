//! The rules a client is held to (issue 22 item 1), each with its source in the seeds,
//! the contract or an RFC and what to do instead, and the [`Watch`] that judges each
//! recorded request against them on the server's clock. Its tables are bounded in all
//! ([`MAX_TRACKED`] entries each, oldest forgotten): forgetting can miss a finding, never
//! make one.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;

use super::Sighting;
use super::recorder::Entry;
use crate::core::clock::Millis;
use crate::core::grants::GrantId;
use crate::core::notes::{PkceSeen, Presented};

/// One rule.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    /// A stable id: report rows, JUnit test cases and docs anchors use it.
    pub id: &'static str,
    /// What the client did, as a finding's headline.
    pub title: &'static str,
    /// Where the rule comes from: contract clauses, seeds, RFC sections.
    pub source: &'static str,
    /// What to do instead.
    pub instead: &'static str,
    /// The feature a family must have for the rule to apply.
    pub needs: Feature,
}

/// What a family must serve for a rule to apply to its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    Any,
    DeviceFlow,
    RateLimits,
    /// Authorization code with refresh tokens (punchplay, flexslot).
    AuthorizationCode,
}

pub const DEVICE_POLL_INTERVAL: Rule = Rule {
    id: "device-poll-interval",
    title: "polled the device token endpoint faster than `interval`",
    source: "PP-DEVICE-1 (interval 5 s), PP-DEVICE-3; seed 002 (\"429: you are polling too aggressively\"); RFC 8628 §3.4, §3.5",
    instead: "Wait at least `interval` seconds (from the device authorization answer) between two polls of one device code, and 5 s more after each `slow_down`.",
    needs: Feature::DeviceFlow,
};

pub const RETRY_AFTER: Rule = Rule {
    id: "retry-after",
    title: "sent again under a rate limit before its Retry-After had passed",
    source: "PP-RATE-2, PP-RATE-3, EN-RATE-1; seed 000 (\"Respect that value when retrying\"); RFC 6585 §4, RFC 9110 §10.2.3",
    instead: "After a 429, send nothing more under that limit until Retry-After seconds have passed; back off, and batch where you can.",
    needs: Feature::RateLimits,
};

pub const REPEATED_FAILURE: Rule = Rule {
    id: "repeated-failure",
    title: "repeated a request that failed with invalid_client, invalid_grant or unauthorized_client",
    source: "seed 000 (\"Do not retry invalid_client until you verify app credentials\", \"non-retryable until you fix the request\"); seed 004; RFC 6749 §5.2",
    instead: "Treat these errors as final: fix the credentials or configuration, or start the flow again for a new grant; never retry the same request.",
    needs: Feature::Any,
};

pub const CONCURRENT_REFRESH: Rule = Rule {
    id: "concurrent-refresh",
    title: "sent one refresh token twice within a second (no per-user mutex)",
    source: "seed 004 (\"Two requests refreshing the same token at once = one gets revoked. Add a per-user mutex.\"); PP-REFRESH-4, FX-TOKEN-8; RFC 9700 §4.14.2",
    instead: "Serialize refreshes per user (a mutex or single-flight): the first caller refreshes, the others wait for and reuse its new tokens.",
    needs: Feature::AuthorizationCode,
};

pub const REFRESH_REPLAY: Rule = Rule {
    id: "refresh-replay",
    title: "replayed a rotated refresh token",
    source: "PP-REFRESH-2, PP-REFRESH-3, FX-TOKEN-4; seed 004 (\"you replayed an old one — grant is now revoked\"); RFC 9700 §4.14.2",
    instead: "Store the refresh token from every refresh answer and discard the old one at once; never send a refresh token twice.",
    needs: Feature::AuthorizationCode,
};

pub const PKCE_S256: Rule = Rule {
    id: "pkce-s256",
    title: "asked for authorization without PKCE, or with `plain`",
    source: "PP-AUTHZ-6, FX-AUTHZ-1; RFC 9700 §2.1.1, RFC 7636 §4.2",
    instead: "Send a fresh code_challenge with code_challenge_method=S256 on every authorization request, and its code_verifier with the code.",
    needs: Feature::AuthorizationCode,
};

pub const PUBLIC_CLIENT_SECRET: Rule = Rule {
    id: "public-client-secret",
    title: "a public client sent a client secret",
    source: "PP-APP-2, PP-APP-3, FX-TOKEN-3; RFC 6749 §2.1",
    instead: "A public client (browser, mobile, TV, CLI) has no secret to keep: send client_id only. An app that can keep a secret is registered as confidential.",
    needs: Feature::AuthorizationCode,
};

pub const CREDENTIALS_IN_QUERY: Rule = Rule {
    id: "credentials-in-query",
    title: "sent a credential in the query string",
    source: "PP-API-1 (\"no query-string token\"), PP-TOKEN-5; RFC 6750 §2.3, RFC 9700 §4.3.2, RFC 6749 §2.3.1",
    instead: "Send tokens in the Authorization header and secrets, codes and refresh tokens in the POST body (or HTTP Basic); URLs end up in logs, histories and Referer headers.",
    needs: Feature::Any,
};

pub const DEAD_TOKEN: Rule = Rule {
    id: "dead-token",
    title: "used an access token again after it expired or was revoked",
    source: "PP-API-1, PP-REVOKE-1, FX-RS-1, EN-API-1; seed 000 (\"Treat 401 bearer-token responses as a signal to refresh or re-authorize\"); RFC 6750 §3.1",
    instead: "On a 401 invalid_token, refresh (or sign the user in again) before the next call; track expires_in and refresh a little before it runs out.",
    needs: Feature::Any,
};

pub const REFRESH_STORM: Rule = Rule {
    id: "refresh-storm",
    title: "refreshed a grant more than three times in ten minutes while its access token had more than half its lifetime left",
    source: "PP-TOKEN-4 (tokens live 3600 s), PP-RATE-1; seed 000 (\"design for graceful backoff and batching\"); RFC 6749 §6",
    instead: "Keep the access token until it is near expiry (or answers 401), and share it between the requests of one user instead of refreshing per request.",
    needs: Feature::AuthorizationCode,
};

pub const REDIRECT_URI_MISMATCH: Rule = Rule {
    id: "redirect-uri-mismatch",
    title: "sent a redirect_uri to the token endpoint that differs from the authorization request's",
    source: "PP-AUTHZ-7, PP-TOKEN-2, FX-TOKEN-2; seed 004 (\"Diff your /authorize and /token redirect_uri\"); RFC 6749 §4.1.3",
    instead: "Send the very same redirect_uri string, byte for byte (scheme, trailing slash, query), to /authorize and to the token endpoint.",
    needs: Feature::AuthorizationCode,
};

/// Every rule, in the order reports list them.
pub const RULES: &[&Rule] = &[
    &PKCE_S256,
    &REDIRECT_URI_MISMATCH,
    &PUBLIC_CLIENT_SECRET,
    &CREDENTIALS_IN_QUERY,
    &CONCURRENT_REFRESH,
    &REFRESH_REPLAY,
    &REFRESH_STORM,
    &DEAD_TOKEN,
    &DEVICE_POLL_INTERVAL,
    &RETRY_AFTER,
    &REPEATED_FAILURE,
];

/// Entries each of the watch's tables keeps; past it the oldest is forgotten.
pub const MAX_TRACKED: usize = 10_000;

/// Two uses of one refresh token within this are a race, not a replay.
const RACE_WINDOW: Millis = 1_000;
/// The window of the repeated-failure rule, and how many repeats after the first failure
/// make it.
const REPEAT_WINDOW: Millis = 60_000;
const REPEATS: usize = 3;
/// The window of the refresh-storm rule, and how many early refreshes in it are too many.
const STORM_WINDOW: Millis = 600_000;
const STORM_REFRESHES: usize = 3;

/// What a rule found in one request, for the findings store.
#[derive(Debug)]
pub struct Breach {
    pub rule: &'static Rule,
    pub client_id: Option<Arc<str>>,
    /// What the finding is about (a token's digest, a limit key), so that repeats of one
    /// breach are one finding.
    pub subject: u64,
    /// The requests involved, earlier ones first, the current one last.
    pub request_ids: Vec<Box<str>>,
    /// What happened, in a sentence.
    pub detail: String,
}

/// A map that forgets its oldest key past a bound.
#[derive(Debug)]
struct Bounded<K, V> {
    map: HashMap<K, V, rustc_hash::FxBuildHasher>,
    order: VecDeque<K>,
}

impl<K: Hash + Eq + Clone, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Bounded {
            map: HashMap::default(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key)
    }

    fn entry_or(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        if !self.map.contains_key(&key) {
            if self.map.len() >= MAX_TRACKED
                && let Some(oldest) = self.order.pop_front()
            {
                self.map.remove(&oldest);
            }
            self.order.push_back(key.clone());
        }
        self.map.entry(key).or_insert_with(make)
    }

    fn insert(&mut self, key: K, value: V) {
        match self.map.get_mut(&key) {
            Some(old) => *old = value,
            None => {
                self.entry_or(key, || value);
            }
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// Request ids a breach lists at most.
const MAX_IDS: usize = 10;

/// Counts violations of one subject: past `threshold` every further one is a breach (the
/// findings store merges them into one finding).
#[derive(Debug, Default)]
struct Strikes {
    count: usize,
    ids: Vec<Box<str>>,
}

impl Strikes {
    /// Counts one; the request ids of the breach it makes, if it makes one.
    fn strike(&mut self, id: &str, threshold: usize) -> Option<Vec<Box<str>>> {
        self.count += 1;
        if self.ids.len() < MAX_IDS {
            self.ids.push(id.into());
        }
        (self.count >= threshold).then(|| {
            let mut ids = std::mem::take(&mut self.ids);
            if ids.is_empty() {
                ids.push(id.into());
            }
            ids
        })
    }
}

/// A device code's polls.
#[derive(Debug)]
struct Polls {
    last_at: Millis,
    early: Strikes,
}

/// A refresh token's first use.
#[derive(Debug)]
struct RefreshUse {
    at: Millis,
    request_id: Box<str>,
    /// The first use got new tokens: the token is rotated away.
    rotated: bool,
    /// The first use was refused with invalid_grant: maybe the loser of a race.
    lost: bool,
}

/// A grant's latest issuance and its early refreshes.
#[derive(Debug)]
struct Issuance {
    issued_at: Millis,
    expires_at: Millis,
    early: VecDeque<(Millis, Box<str>)>,
}

/// A 429's wait under one limit key.
#[derive(Debug)]
struct Wait {
    until: Millis,
    refused: Box<str>,
    early: Strikes,
}

/// A live access token's app and its uses since it died.
#[derive(Debug)]
struct BearerOwner {
    client_id: Arc<str>,
    dead_uses: Strikes,
}

/// One failing request, for repeated-failure: its client, a digest of its credential and
/// path, its error.
type FailureKey = (Option<Arc<str>>, u64, &'static str);

/// The state the rules read: bounded tables keyed by digests, never by secrets.
#[derive(Debug)]
pub struct Watch {
    /// The device flow's `interval`, in ms (PP-DEVICE-1).
    poll_interval: Millis,
    polls: Bounded<(Arc<str>, u64), Polls>,
    refreshes: Bounded<u64, RefreshUse>,
    issuances: Bounded<GrantId, Issuance>,
    waits: Bounded<u64, Wait>,
    bearers: Bounded<u64, BearerOwner>,
    failures: Bounded<FailureKey, VecDeque<(Millis, Box<str>)>>,
}

impl Watch {
    pub fn new(poll_interval_secs: u64) -> Self {
        Watch {
            poll_interval: (poll_interval_secs as Millis) * 1000,
            polls: Bounded::default(),
            refreshes: Bounded::default(),
            issuances: Bounded::default(),
            waits: Bounded::default(),
            bearers: Bounded::default(),
            failures: Bounded::default(),
        }
    }

    /// Entries in all tables, for the bounds test.
    pub fn tracked(&self) -> usize {
        self.polls.len()
            + self.refreshes.len()
            + self.issuances.len()
            + self.waits.len()
            + self.bearers.len()
            + self.failures.len()
    }

    /// Judges one answered request: the breaches it makes, and the app of a dead bearer
    /// token the watch knew alive (for the recorder, when the request named no client).
    pub fn judge(&mut self, entry: &Entry, s: &Sighting) -> (Vec<Breach>, Option<Arc<str>>) {
        let mut breaches = Vec::new();
        let at = entry.at;
        // Ids are made only for the tables and breaches that keep them.
        let rid = || entry.finding_id();
        let ok = entry.status < 400;
        let mut owner_of_dead = None;

        // A bearer token: who it belongs to while alive, and its uses once dead.
        if let Some(bearer) = s.bearer {
            if let (true, Some(client)) = (ok, &s.notes.bearer_client) {
                if self.bearers.get_mut(&bearer).is_none() {
                    self.bearers.insert(
                        bearer,
                        BearerOwner {
                            client_id: client.clone(),
                            dead_uses: Strikes::default(),
                        },
                    );
                }
            } else if entry.status == 401
                && let Some(owner) = self.bearers.get_mut(&bearer)
            {
                owner_of_dead = Some(owner.client_id.clone());
                // The first 401 is how a client learns; using it again is the breach.
                if let Some(ids) = owner.dead_uses.strike(&rid(), 2) {
                    breaches.push(Breach {
                        rule: &DEAD_TOKEN,
                        client_id: Some(owner.client_id.clone()),
                        subject: bearer,
                        request_ids: ids,
                        detail: "An access token was sent again after a 401 said it had expired or was revoked.".into(),
                    });
                }
            }
        }
        let client = entry.client_id.clone().or_else(|| owner_of_dead.clone());
        let breach =
            |rule: &'static Rule, subject: u64, ids: Vec<Box<str>>, detail: String| Breach {
                rule,
                client_id: client.clone(),
                subject,
                request_ids: ids,
                detail,
            };

        if let Some(name) = &s.query_credential {
            breaches.push(breach(
                &CREDENTIALS_IN_QUERY,
                crate::core::notes::digest_of(name),
                vec![rid()],
                format!(
                    "`{name}` was sent in the query string of {} {}.",
                    entry.method, entry.path
                ),
            ));
        }
        if let Some(pkce) = s.notes.authorization
            && matches!(pkce, PkceSeen::Missing | PkceSeen::Plain)
        {
            breaches.push(breach(
                &PKCE_S256,
                0,
                vec![rid()],
                match pkce {
                    PkceSeen::Missing => "The authorization request carried no code_challenge.".into(),
                    _ => "The authorization request's code_challenge_method was plain (or missing, which means plain).".into(),
                },
            ));
        }
        if s.notes.public_client_secret {
            breaches.push(breach(
                &PUBLIC_CLIENT_SECRET,
                0,
                vec![rid()],
                "A client secret was sent for a public client.".into(),
            ));
        }
        if s.notes.redirect_mismatch {
            breaches.push(breach(
                &REDIRECT_URI_MISMATCH,
                s.presented.map_or(0, |(_, d)| d),
                vec![rid()],
                "The token request's redirect_uri differs from the one the code was issued for."
                    .into(),
            ));
        }

        // Rate limits: requests under a key before its last 429's Retry-After.
        if let Some(key) = s.notes.rate_key {
            if let Some(wait) = self.waits.get_mut(&key)
                && at < wait.until
                && let Some(early) = wait.early.strike(&rid(), 2)
            {
                let mut ids = vec![wait.refused.clone()];
                ids.extend(early);
                breaches.push(breach(
                    &RETRY_AFTER,
                    key,
                    ids,
                    "Requests under one rate-limit key were sent again before the Retry-After of its 429 had passed.".into(),
                ));
            }
            if let Some(secs) = s.notes.retry_after {
                let wait = self.waits.entry_or(key, || Wait {
                    until: 0,
                    refused: rid(),
                    early: Strikes::default(),
                });
                if at >= wait.until {
                    // A new wait; an early request's 429 does not restart the count.
                    wait.early = Strikes::default();
                    wait.refused = rid();
                }
                wait.until = at + (secs as Millis) * 1000;
            }
        }

        match s.presented {
            Some((Presented::DeviceCode, code)) if self.poll_interval > 0 => {
                let Some(client) = &client else {
                    return (breaches, owner_of_dead);
                };
                let polls = self.polls.entry_or((client.clone(), code), || Polls {
                    last_at: Millis::MIN / 2,
                    early: Strikes::default(),
                });
                if at - polls.last_at < self.poll_interval
                    && let Some(ids) = polls.early.strike(&rid(), 2)
                {
                    {
                        breaches.push(breach(
                            &DEVICE_POLL_INTERVAL,
                            code,
                            ids,
                            format!(
                                "One device code was polled again less than {} s after the previous poll, more than once.",
                                self.poll_interval / 1000
                            ),
                        ));
                    }
                }
                polls.last_at = at;
            }
            Some((Presented::RefreshToken, token)) => {
                match self.refreshes.get_mut(&token) {
                    None => self.refreshes.insert(
                        token,
                        RefreshUse {
                            at,
                            request_id: rid(),
                            rotated: ok,
                            lost: entry.error == Some("invalid_grant"),
                        },
                    ),
                    // A race has a winner: the first use got tokens, or lost with
                    // invalid_grant to this one (answered later). Two failures are
                    // no race (repeated-failure may judge them).
                    Some(first)
                        if at - first.at <= RACE_WINDOW
                            && (first.rotated || (ok && first.lost)) =>
                    {
                        breaches.push(breach(
                            &CONCURRENT_REFRESH,
                            token,
                            vec![first.request_id.clone(), rid()],
                            "One refresh token was sent twice within a second: the loser of the race revokes the grant.".into(),
                        ));
                        first.rotated |= ok;
                    }
                    Some(first) if first.rotated => {
                        breaches.push(breach(
                            &REFRESH_REPLAY,
                            token,
                            vec![first.request_id.clone(), rid()],
                            "A refresh token was sent again after it had been rotated away.".into(),
                        ));
                    }
                    Some(first) => first.rotated |= ok,
                }
                if let (true, Some((grant, expires_at))) = (ok, s.notes.issued) {
                    self.refreshed(grant, expires_at, at, &rid(), &mut breaches, &client);
                }
            }
            Some((Presented::Code, _)) => {
                if let (true, Some((grant, expires_at))) = (ok, s.notes.issued) {
                    self.issuances.insert(
                        grant,
                        Issuance {
                            issued_at: at,
                            expires_at,
                            early: VecDeque::new(),
                        },
                    );
                }
            }
            _ => {}
        }

        // The same failing request, again and again.
        if let Some(error @ ("invalid_client" | "invalid_grant" | "unauthorized_client")) =
            entry.error
        {
            let (kind, digest) = s.presented.unwrap_or((Presented::Token, 0));
            let key = (
                client.clone(),
                crate::core::notes::digest_of(&(kind, digest, &*entry.path)),
                error,
            );
            let times = self.failures.entry_or(key, VecDeque::new);
            while times.front().is_some_and(|(t, _)| at - t > REPEAT_WINDOW) {
                times.pop_front();
            }
            if times.len() >= 32 {
                times.pop_front();
            }
            times.push_back((at, rid()));
            // The failure and REPEATS repeats make the finding; later repeats join it.
            if times.len() > REPEATS {
                let ids = if times.len() == REPEATS + 1 {
                    times.iter().map(|(_, id)| id.clone()).collect()
                } else {
                    vec![rid()]
                };
                breaches.push(breach(
                    &REPEATED_FAILURE,
                    digest,
                    ids,
                    format!(
                        "The same request to {} failed with {error} {} times within a minute.",
                        entry.path,
                        times.len()
                    ),
                ));
            }
        }
        (breaches, owner_of_dead)
    }

    /// A successful refresh of `grant`: early if the grant's latest access token had more
    /// than half its lifetime left.
    fn refreshed(
        &mut self,
        grant: GrantId,
        expires_at: Millis,
        at: Millis,
        rid: &str,
        breaches: &mut Vec<Breach>,
        client: &Option<Arc<str>>,
    ) {
        let issuance = self.issuances.entry_or(grant, || Issuance {
            issued_at: at,
            expires_at,
            early: VecDeque::new(),
        });
        let lifetime = issuance.expires_at - issuance.issued_at;
        if issuance.issued_at < at && issuance.expires_at - at > lifetime / 2 {
            issuance.early.push_back((at, rid.into()));
        }
        while issuance
            .early
            .front()
            .is_some_and(|(t, _)| at - t > STORM_WINDOW)
        {
            issuance.early.pop_front();
        }
        if issuance.early.len() > STORM_REFRESHES {
            breaches.push(Breach {
                rule: &REFRESH_STORM,
                client_id: client.clone(),
                subject: grant,
                request_ids: issuance.early.drain(..).map(|(_, id)| id).collect(),
                detail: format!(
                    "One grant was refreshed more than {STORM_REFRESHES} times within 10 minutes while its access token still had more than half of its {} s left.",
                    lifetime / 1000
                ),
            });
        }
        issuance.issued_at = at;
        issuance.expires_at = expires_at;
    }
}

/// Whether a finding of `rule` needs what the profile serves.
pub fn applies(rule: &Rule, profile: &profile::Profile) -> bool {
    match rule.needs {
        Feature::Any => true,
        Feature::DeviceFlow => profile.paths.contains_key("device_token"),
        Feature::RateLimits => !profile.rate_limits.is_empty(),
        Feature::AuthorizationCode => profile.paths.contains_key("authorize"),
    }
}
