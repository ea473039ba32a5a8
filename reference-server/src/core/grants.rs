//! The token store: grants and the tokens issued under them.
//!
//! A grant is one user's approval of one app for a set of scopes. Every access and refresh
//! token points at its grant, so revoking a grant (a replayed refresh token, PP-REFRESH-3;
//! a reused code, PP-AUTHZ-8; a user's revoke, PP-REVOKE-1; an app's deactivation,
//! PP-APP-5) ends all of its tokens at once: validation looks at the grant every time.
//!
//! Bounds and costs (issue 12, items 1, 2 and 4):
//! - Tokens are kept under a 16-byte SHA-256 prefix of their value ([`TokenKey`]), never
//!   the value itself, and a spent refresh token keeps only its grant and when it was
//!   spent, for replay detection (PP-REFRESH-3), until it would have expired anyway.
//! - Every grant lists its tokens, and grants are indexed by user and by app, so revoking
//!   a grant, a user's app or an app touches only what it ends. A revoked grant is
//!   forgotten with its tokens: presenting one of them again is "unknown", which is the
//!   same answer a revoked one gets.
//! - Tokens expire in the order they were issued (one lifetime per kind, a monotonic
//!   clock), so two queues ordered by expiry let [`Grants::purge`] drop exactly what
//!   expired, in work proportional to it, whenever the clock moves.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use profile::TokenPrefixes;

use super::clock::{Millis, secs};
use super::fault::{Bends, FaultSpec};
use super::scope::ScopeSet;
use super::secrets::random_token;
use crate::core::fault::bends;

pub type GrantId = u64;

/// A token's identity in the tables: the first 16 bytes of its SHA-256. 128 bits keep
/// collisions out of reach, and a memory dump holds no usable token.
pub type TokenKey = [u8; 16];

pub fn token_key(token: &str) -> TokenKey {
    let digest = Sha256::digest(token.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// A spent refresh token's identity: 8 bytes of its SHA-256. Only ever looked up for a
/// token that is not live, so a collision (2^-64 per spent token) is out of reach too.
type SpentKey = u64;

fn spent_key(key: &TokenKey) -> SpentKey {
    let mut short = [0u8; 8];
    short.copy_from_slice(&key[..8]);
    u64::from_le_bytes(short)
}

/// A scope set by its index in [`Grants`]' table of the distinct sets seen. A profile's
/// `n` known scopes make at most 2^n sets, and each new one takes an authenticated flow.
type ScopeId = u32;

#[derive(Debug, Clone)]
pub struct Grant {
    pub user: Arc<str>,
    pub client_id: Arc<str>,
    pub scopes: ScopeSet,
    /// Its access and refresh tokens, live or spent.
    tokens: Vec<TokenKey>,
}

/// A live access token as validation sees it.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub grant: GrantId,
    pub scopes: ScopeSet,
    pub expires_at: Millis,
}

/// A live refresh token as the refresh grant sees it.
#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub grant: GrantId,
    pub scopes: ScopeSet,
    /// Issue time; it expires `refresh_token_idle` after this (PP-REFRESH-5).
    pub last_used_at: Millis,
}

/// A fresh token value and its key, drawn and hashed before the state lock is taken, so
/// the lock is not held for the random draw and the digest.
#[derive(Debug)]
pub struct MintedToken {
    pub value: String,
    pub key: TokenKey,
}

impl MintedToken {
    pub fn new(prefix: &str) -> Self {
        let value = random_token(prefix);
        MintedToken {
            key: token_key(&value),
            value,
        }
    }
}

/// A fresh access and refresh token with their keys, drawn as [`MintedToken`]s are.
#[derive(Debug)]
pub struct MintedPair {
    access: MintedToken,
    refresh: MintedToken,
}

impl MintedPair {
    /// A pair with the profile's prefixes (`[tokens]`).
    pub fn new(prefixes: &TokenPrefixes) -> Self {
        MintedPair {
            access: MintedToken::new(&prefixes.access),
            refresh: MintedToken::new(&prefixes.refresh),
        }
    }
}

/// What the tables keep per live token: 24 bytes.
#[derive(Debug, Clone, Copy)]
struct Stored {
    grant: GrantId,
    /// Expiry for an access token, issue time for a refresh token.
    at: Millis,
    scopes: ScopeId,
}

/// A rotated-away refresh token: presented again, it is a replay (PP-REFRESH-2, -3).
#[derive(Debug, Clone, Copy)]
pub struct SpentRefresh {
    pub grant: GrantId,
    pub spent_at: Millis,
}

/// A refresh token as the refresh grant sees it.
#[derive(Debug, Clone)]
pub enum RefreshLookup {
    Live(RefreshToken),
    Spent(SpentRefresh),
}

/// When an access token stops working. The default methods are the contract
/// ([`AccessExpires`] keeps them): at its `expires_at`, after which it is forgotten
/// (PP-API-1).
pub trait AccessExpiry: Sync {
    fn is_expired(&self, expires_at: Millis, now: Millis) -> bool {
        expires_at <= now
    }

    /// Whether an expired access token may be forgotten; a policy that still honours
    /// expired tokens needs them kept.
    fn forgets_expired(&self) -> bool {
        true
    }
}

/// PP-API-1 as written.
pub struct AccessExpires;

impl AccessExpiry for AccessExpires {}

/// The expiry rule the rules call, for every kind of access token.
pub fn access_expiry(bends: Bends) -> &'static dyn AccessExpiry {
    bends.pick::<dyn AccessExpiry>(&AccessExpires)
}

/// `expired_token_accepted` (PP-API-1): access tokens never expire, so none is forgotten.
struct ExpiredTokenAccepted;

impl AccessExpiry for ExpiredTokenAccepted {
    fn is_expired(&self, _expires_at: Millis, _now: Millis) -> bool {
        false
    }

    fn forgets_expired(&self) -> bool {
        false
    }
}

pub static EXPIRED_TOKEN_ACCEPTED: FaultSpec = FaultSpec::bending(
    "expired_token_accepted",
    "PP-API-1",
    "expired access tokens are still accepted",
    bends!(dyn AccessExpiry = ExpiredTokenAccepted),
);

/// What the token endpoints answer on success (PP-TOKEN-1).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    /// Empty, and left out, for a client not configured for the refresh grant (FX-TOKEN-5).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub refresh_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug)]
pub struct Grants {
    next_id: GrantId,
    // Tables keyed by what the server minted (ids, digests of its own random tokens) hash
    // with FxHash: nobody can pick those keys to collide, and SipHash's cost shows on
    // every bearer request.
    grants: FxHashMap<GrantId, Grant>,
    access: FxHashMap<TokenKey, Stored>,
    refresh: FxHashMap<TokenKey, Stored>,
    spent: FxHashMap<SpentKey, SpentRefresh>,
    by_user: HashMap<Arc<str>, FxHashSet<GrantId>>,
    by_client: HashMap<Arc<str>, FxHashSet<GrantId>>,
    /// (expires_at, token), oldest first: access tokens, then refresh tokens.
    access_expiry: VecDeque<(Millis, TokenKey)>,
    refresh_expiry: VecDeque<(Millis, TokenKey)>,
    /// Queue entries whose token a revocation already forgot, for [`compact`].
    stale_expiry: usize,
    scope_sets: Vec<ScopeSet>,
    scope_ids: HashMap<ScopeSet, ScopeId>,
    /// Counts revocations, so open live-event streams re-check their token at once
    /// instead of at the next heartbeat. Dropped with the state on reset, which ends them.
    pub revocations: tokio::sync::watch::Sender<u64>,
}

impl Default for Grants {
    fn default() -> Self {
        Grants {
            next_id: 0,
            grants: FxHashMap::default(),
            access: FxHashMap::default(),
            refresh: FxHashMap::default(),
            spent: FxHashMap::default(),
            by_user: HashMap::new(),
            by_client: HashMap::new(),
            access_expiry: VecDeque::new(),
            refresh_expiry: VecDeque::new(),
            stale_expiry: 0,
            scope_sets: Vec::new(),
            scope_ids: HashMap::new(),
            revocations: tokio::sync::watch::channel(0).0,
        }
    }
}

/// Table sizes, for the test controls and the memory benchmark.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrantCounts {
    pub grants: usize,
    pub access: usize,
    pub refresh: usize,
    pub spent: usize,
}

impl Grants {
    /// The id of `scopes`, so a million tokens under a few scope sets hold a few sets.
    fn intern(&mut self, scopes: &ScopeSet) -> ScopeId {
        if let Some(&id) = self.scope_ids.get(scopes) {
            return id;
        }
        let id = self.scope_sets.len() as ScopeId;
        self.scope_sets.push(scopes.clone());
        self.scope_ids.insert(scopes.clone(), id);
        id
    }

    fn scope_set(&self, id: ScopeId) -> ScopeSet {
        self.scope_sets
            .get(id as usize)
            .cloned()
            .unwrap_or_default()
    }

    /// The shared copy of a user or app name already indexed, or a new one.
    fn shared_name(index: &HashMap<Arc<str>, FxHashSet<GrantId>>, name: &str) -> Arc<str> {
        index
            .get_key_value(name)
            .map_or_else(|| Arc::from(name), |(k, _)| k.clone())
    }

    pub fn create(&mut self, user: &str, client_id: &str, scopes: ScopeSet) -> GrantId {
        self.next_id += 1;
        let id = self.next_id;
        let user = Self::shared_name(&self.by_user, user);
        let client_id = Self::shared_name(&self.by_client, client_id);
        self.by_user.entry(user.clone()).or_default().insert(id);
        self.by_client
            .entry(client_id.clone())
            .or_default()
            .insert(id);
        let scope_id = self.intern(&scopes);
        let scopes = self.scope_set(scope_id);
        self.grants.insert(
            id,
            Grant {
                user,
                client_id,
                scopes,
                tokens: Vec::new(),
            },
        );
        id
    }

    /// Issues a fresh access and refresh token under `grant` with the profile's prefixes;
    /// the refresh token expires `refresh_idle` seconds from now.
    pub fn issue(
        &mut self,
        grant: GrantId,
        prefixes: &TokenPrefixes,
        scopes: &ScopeSet,
        (access_lifetime, refresh_idle): (u64, u64),
        now: Millis,
    ) -> TokenPair {
        let minted = MintedPair::new(prefixes);
        self.issue_minted(grant, minted, scopes, access_lifetime, refresh_idle, now)
    }

    /// [`Grants::issue`] with a pair minted before the state lock was taken.
    pub fn issue_minted(
        &mut self,
        grant: GrantId,
        minted: MintedPair,
        scopes: &ScopeSet,
        access_lifetime: u64,
        refresh_idle: u64,
        now: Millis,
    ) -> TokenPair {
        let MintedPair {
            access:
                MintedToken {
                    value: access_token,
                    key: access_key,
                },
            refresh:
                MintedToken {
                    value: refresh_token,
                    key: refresh_key,
                },
        } = minted;
        let scope_id = self.intern(scopes);
        let access_expires = now + secs(access_lifetime);
        super::notes::note(|n| n.issued = Some((grant, access_expires)));
        self.access.insert(
            access_key,
            Stored {
                grant,
                at: access_expires,
                scopes: scope_id,
            },
        );
        self.refresh.insert(
            refresh_key,
            Stored {
                grant,
                at: now,
                scopes: scope_id,
            },
        );
        self.access_expiry.push_back((access_expires, access_key));
        self.refresh_expiry
            .push_back((now + secs(refresh_idle), refresh_key));
        if let Some(g) = self.grants.get_mut(&grant) {
            g.tokens.push(access_key);
            g.tokens.push(refresh_key);
        }
        TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in: access_lifetime,
            refresh_token,
            scope: Some(scopes.to_wire()),
        }
    }

    pub fn grant(&self, id: GrantId) -> Option<&Grant> {
        self.grants.get(&id)
    }

    pub fn access(&self, token: &str) -> Option<AccessToken> {
        self.access_by_key(&token_key(token))
    }

    /// [`Grants::access`] by the token's key, hashed before the state lock was taken.
    pub fn access_by_key(&self, key: &TokenKey) -> Option<AccessToken> {
        self.access.get(key).map(|t| AccessToken {
            grant: t.grant,
            scopes: self.scope_set(t.scopes),
            expires_at: t.at,
        })
    }

    pub fn refresh(&self, token: &str) -> Option<RefreshLookup> {
        self.refresh_by_key(&token_key(token))
    }

    /// [`Grants::refresh`] by the token's key, hashed before the state lock was taken.
    pub fn refresh_by_key(&self, key: &TokenKey) -> Option<RefreshLookup> {
        if let Some(live) = self.refresh.get(key) {
            return Some(RefreshLookup::Live(RefreshToken {
                grant: live.grant,
                scopes: self.scope_set(live.scopes),
                last_used_at: live.at,
            }));
        }
        self.spent
            .get(&spent_key(key))
            .copied()
            .map(RefreshLookup::Spent)
    }

    /// Rotates a live refresh token away: it is kept only as a spent digest (PP-REFRESH-2).
    pub fn spend_refresh(&mut self, key: &TokenKey, now: Millis) {
        if let Some(live) = self.refresh.remove(key) {
            self.spent.insert(
                spent_key(key),
                SpentRefresh {
                    grant: live.grant,
                    spent_at: now,
                },
            );
        }
    }

    pub fn is_live(&self, grant: GrantId) -> bool {
        self.grants.contains_key(&grant)
    }

    /// The live grants of `user`.
    pub fn of_user(&self, user: &str) -> impl Iterator<Item = &Grant> {
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|id| self.grants.get(id))
    }

    pub fn counts(&self) -> GrantCounts {
        GrantCounts {
            grants: self.grants.len(),
            access: self.access.len(),
            refresh: self.refresh.len(),
            spent: self.spent.len(),
        }
    }

    /// Revokes one grant and forgets its tokens; answers how many live tokens that ended.
    pub fn revoke(&mut self, grant: GrantId) -> usize {
        let ended = self.forget(grant);
        if ended.is_some() {
            self.revocations.send_modify(|n| *n += 1);
        }
        ended.unwrap_or(0)
    }

    /// Revokes one access token and nothing else of its grant (RFC 7009 §2.1: revoking an
    /// access token need not end its refresh token; FX-REVOKE-1). Answers whether it was live.
    pub fn revoke_access(&mut self, key: &TokenKey) -> bool {
        let Some(gone) = self.access.remove(key) else {
            return false;
        };
        self.stale_expiry += 1;
        self.drop_token_of(gone.grant, *key);
        self.revocations.send_modify(|n| *n += 1);
        true
    }

    /// Takes back the refresh token just issued with an access token, for a client not
    /// configured for the refresh grant (FX-TOKEN-5): it is never handed out.
    pub fn withdraw_refresh(&mut self, refresh_token: &str) {
        let key = token_key(refresh_token);
        if let Some(gone) = self.refresh.remove(&key) {
            self.stale_expiry += 1;
            self.drop_token_of(gone.grant, key);
        }
    }

    /// Revokes every grant of `user` for `client_id` (PP-REVOKE-1).
    pub fn revoke_user_app(&mut self, user: &str, client_id: &str) -> usize {
        let ids: Vec<GrantId> = self
            .by_user
            .get(user)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| {
                self.grants
                    .get(id)
                    .is_some_and(|g| &*g.client_id == client_id)
            })
            .collect();
        self.revoke_all(ids)
    }

    /// Revokes every grant of `client_id` (PP-APP-5).
    pub fn revoke_client(&mut self, client_id: &str) -> usize {
        let ids: Vec<GrantId> = self
            .by_client
            .get(client_id)
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default();
        self.revoke_all(ids)
    }

    fn revoke_all(&mut self, ids: Vec<GrantId>) -> usize {
        let ended: usize = ids.iter().filter_map(|&id| self.forget(id)).sum();
        if !ids.is_empty() {
            self.revocations.send_modify(|n| *n += 1);
        }
        ended
    }

    /// Drops a grant, its index entries and its tokens; answers the live tokens it held.
    fn forget(&mut self, id: GrantId) -> Option<usize> {
        let grant = self.grants.remove(&id)?;
        let mut ended = 0;
        for key in &grant.tokens {
            ended += usize::from(self.access.remove(key).is_some());
            ended += usize::from(self.refresh.remove(key).is_some());
            self.spent.remove(&spent_key(key));
        }
        self.stale_expiry += grant.tokens.len();
        unindex(&mut self.by_user, &grant.user, id);
        unindex(&mut self.by_client, &grant.client_id, id);
        Some(ended)
    }

    /// Drops every token that expired by `now`, and every grant left without tokens, in
    /// work proportional to what expired. `keep_expired_access` holds access tokens back
    /// (fault `expired_token_accepted` must still see them).
    /// Looks at no more than `budget` tokens of each kind; answers whether none due is left.
    pub fn purge(&mut self, now: Millis, keep_expired_access: bool, budget: usize) -> bool {
        let mut left = budget;
        if !keep_expired_access {
            while let Some(&(at, key)) = self.access_expiry.front() {
                if at > now || left == 0 {
                    break;
                }
                left -= 1;
                self.access_expiry.pop_front();
                if let Some(gone) = self.access.remove(&key) {
                    self.drop_token_of(gone.grant, key);
                }
            }
        }
        let mut left = budget;
        while let Some(&(at, key)) = self.refresh_expiry.front() {
            if at > now || left == 0 {
                break;
            }
            left -= 1;
            self.refresh_expiry.pop_front();
            let live = self.refresh.remove(&key).map(|t| t.grant);
            let spent = self.spent.remove(&spent_key(&key)).map(|t| t.grant);
            if let Some(grant) = live.or(spent) {
                self.drop_token_of(grant, key);
            }
        }
        // Queue entries of tokens a revocation already forgot are skipped above; once
        // they are most of the queues, rebuild them so memory follows what is live
        // (amortised: a rebuild costs no more than the revocations that made it due).
        if self.stale_expiry > 1024
            && self.stale_expiry > (self.access_expiry.len() + self.refresh_expiry.len()) / 2
        {
            let access = &self.access;
            self.access_expiry.retain(|(_, k)| access.contains_key(k));
            let (refresh, spent) = (&self.refresh, &self.spent);
            self.refresh_expiry
                .retain(|(_, k)| refresh.contains_key(k) || spent.contains_key(&spent_key(k)));
            self.stale_expiry = 0;
        }
        shrink_if_sparse(&mut self.access);
        shrink_if_sparse(&mut self.refresh);
        shrink_if_sparse(&mut self.spent);
        shrink_if_sparse(&mut self.grants);
        let due = |q: &VecDeque<(Millis, TokenKey)>| q.front().is_some_and(|e| e.0 <= now);
        !(due(&self.refresh_expiry) || (!keep_expired_access && due(&self.access_expiry)))
    }

    /// Removes `key` from its grant's list; a grant left with no token is forgotten (its
    /// access ended with them, so its app is no longer connected).
    fn drop_token_of(&mut self, grant: GrantId, key: TokenKey) {
        let Entry::Occupied(mut entry) = self.grants.entry(grant) else {
            return;
        };
        let tokens = &mut entry.get_mut().tokens;
        if let Some(i) = tokens.iter().position(|k| *k == key) {
            tokens.swap_remove(i);
        }
        if tokens.is_empty() {
            self.forget(grant);
        }
    }
}

fn unindex(index: &mut HashMap<Arc<str>, FxHashSet<GrantId>>, name: &str, id: GrantId) {
    if let Some(ids) = index.get_mut(name) {
        ids.remove(&id);
        if ids.is_empty() {
            index.remove(name);
        }
    }
}

/// Gives a table's memory back once three quarters of it expired (amortised).
fn shrink_if_sparse<K: std::hash::Hash + Eq, V, S: BuildHasher>(map: &mut HashMap<K, V, S>) {
    if map.capacity() > 1024 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}
