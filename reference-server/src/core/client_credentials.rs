//! Access tokens issued by the client-credentials grant (RFC 6749 §4.4): a client
//! proves itself with its secret and gets an access token of its own, with no user and
//! no refresh token. The enterprise family issues, introspects and revokes these
//! (EN-TOKEN-1, EN-INTRO-1, EN-REVOKE-1; the rules are in `enterprise.rs`).
//!
//! Bounds (issue 12 item 1): tokens are kept under their [`TokenKey`] (a SHA-256 prefix,
//! never the value), at most [`MAX_CLIENT_TOKENS`] in all and
//! [`MAX_TOKENS_PER_CLIENT`] per client; past either bound the oldest token is
//! forgotten, which only ends it early. Tokens share one lifetime, so they expire in the
//! order they were issued and [`ClientTokens::purge`] drops what expired in work
//! proportional to it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::clock::Millis;
use super::expiring::Expiring;
use super::grants::{TokenKey, token_key};
use super::scope::ScopeSet;
use super::secrets::random_token;

/// The most client-credential tokens kept at once, over every client.
pub const MAX_CLIENT_TOKENS: usize = 100_000;
/// The most one client holds at once; its oldest is forgotten to make room.
pub const MAX_TOKENS_PER_CLIENT: usize = 10_000;

/// A live client-credential token as the rules see it.
#[derive(Debug, Clone)]
pub struct ClientToken {
    pub client_id: Arc<str>,
    pub scopes: ScopeSet,
    pub expires_at: Millis,
}

/// A fresh token value and its key, drawn and hashed before the state lock is taken.
#[derive(Debug)]
pub struct MintedToken {
    pub value: String,
    pub key: TokenKey,
}

impl MintedToken {
    pub fn new() -> Self {
        let value = random_token("enat_");
        MintedToken {
            key: token_key(&value),
            value,
        }
    }
}

impl Default for MintedToken {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug)]
pub struct ClientTokens {
    tokens: Expiring<TokenKey, ClientToken>,
    /// Each client's tokens, oldest first, for the per-client bound. An entry whose token
    /// ended early (revoked, evicted) stays until it reaches the front.
    by_client: HashMap<Arc<str>, VecDeque<TokenKey>>,
}

impl Default for ClientTokens {
    fn default() -> Self {
        ClientTokens {
            tokens: Expiring::new(MAX_CLIENT_TOKENS),
            by_client: HashMap::new(),
        }
    }
}

impl ClientTokens {
    /// Stores `minted` for `client_id` until `expires_at`.
    pub fn issue(
        &mut self,
        minted: &MintedToken,
        client_id: &str,
        scopes: ScopeSet,
        expires_at: Millis,
    ) {
        let client: Arc<str> = self
            .by_client
            .get_key_value(client_id)
            .map_or_else(|| Arc::from(client_id), |(k, _)| k.clone());
        let token = ClientToken {
            client_id: client.clone(),
            scopes,
            expires_at,
        };
        if let Some((_, evicted)) = self.tokens.insert(minted.key, token, expires_at) {
            self.forget_front_of(&evicted.client_id);
        }
        let queue = self.by_client.entry(client).or_default();
        queue.push_back(minted.key);
        if queue.len() > MAX_TOKENS_PER_CLIENT
            && let Some(oldest) = queue.pop_front()
        {
            self.tokens.remove(&oldest);
        }
    }

    /// The token stored under `key`, expired or not.
    pub fn get(&self, key: &TokenKey) -> Option<&ClientToken> {
        self.tokens.get(key)
    }

    /// Forgets the token under `key`; answers whether there was one.
    pub fn remove(&mut self, key: &TokenKey) -> bool {
        self.tokens.remove(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// Drops tokens that expired by `now`, at most `budget`; answers whether none due is
    /// left.
    pub fn purge(&mut self, now: Millis, budget: usize) -> bool {
        let mut expired_clients = Vec::new();
        let done = self.tokens.purge(now, budget, |_, token| {
            expired_clients.push(token.client_id)
        });
        for client in expired_clients {
            self.forget_front_of(&client);
        }
        done
    }

    /// Pops the client's queue entries whose tokens ended, oldest first; a client left
    /// with none is forgotten.
    fn forget_front_of(&mut self, client: &str) {
        let Some(queue) = self.by_client.get_mut(client) else {
            return;
        };
        while queue.front().is_some_and(|k| !self.tokens.contains_key(k)) {
            queue.pop_front();
        }
        if queue.is_empty() {
            self.by_client.remove(client);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_its_bound_and_its_oldest_token_goes_first() {
        let mut tokens = ClientTokens::default();
        let first = MintedToken::new();
        tokens.issue(&first, "en-acme", ScopeSet::default(), 10_000);
        for _ in 0..MAX_TOKENS_PER_CLIENT {
            tokens.issue(&MintedToken::new(), "en-acme", ScopeSet::default(), 10_000);
        }
        assert_eq!(tokens.len(), MAX_TOKENS_PER_CLIENT);
        assert!(tokens.get(&first.key).is_none(), "the oldest made room");
        assert!(tokens.purge(10_000, usize::MAX));
        assert!(tokens.is_empty());
        assert!(
            tokens.by_client.is_empty(),
            "no client is remembered for nothing"
        );
    }

    #[test]
    fn an_expired_token_is_purged_and_a_removed_one_is_gone() {
        let mut tokens = ClientTokens::default();
        let (a, b) = (MintedToken::new(), MintedToken::new());
        tokens.issue(&a, "en-acme", ScopeSet::default(), 1_000);
        tokens.issue(&b, "en-acme", ScopeSet::default(), 2_000);
        assert!(tokens.remove(&b.key));
        assert!(!tokens.remove(&b.key), "a token is removed once");
        assert!(tokens.purge(1_000, 10));
        assert!(tokens.get(&a.key).is_none());
        assert!(tokens.by_client.is_empty());
    }
}
