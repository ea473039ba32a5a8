//! A bounded table of entries that expire: codes, pending authorizations, sessions,
//! device codes (issue 12 item 1).
//!
//! Each table gives every entry one lifetime, and the clock only moves forward, so
//! entries expire in the order they were inserted: a queue of (expires_at, key) finds
//! what expired in work proportional to it. At `capacity` the oldest entry is evicted to
//! make room, which only shortens the life of the oldest pending item (the one its
//! owner is least likely still to use).

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, RandomState};

use super::clock::Millis;

/// `S` hashes the keys: SipHash by default; a table keyed by server-minted digests may
/// use a faster hasher (`grants.rs` says why).
pub struct Expiring<K, V, S = RandomState> {
    entries: HashMap<K, (Millis, V), S>,
    /// (expires_at, key), oldest first. An entry removed early leaves its key here until
    /// it reaches the front; `expires_at` tells a stale key from a re-inserted one.
    queue: VecDeque<(Millis, K)>,
    capacity: usize,
}

/// Sizes only: entries may hold credentials' digests, and the hasher prints nothing.
impl<K, V, S> std::fmt::Debug for Expiring<K, V, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expiring")
            .field("len", &self.entries.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl<K: Hash + Eq + Clone, V> Expiring<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self::with_hasher(capacity, RandomState::new())
    }
}

impl<K: Hash + Eq + Clone, V, S: BuildHasher> Expiring<K, V, S> {
    pub fn with_hasher(capacity: usize, hasher: S) -> Self {
        Expiring {
            entries: HashMap::with_hasher(hasher),
            queue: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// Inserts `value` until `expires_at`; when full, evicts the oldest entry first and
    /// answers it.
    pub fn insert(&mut self, key: K, value: V, expires_at: Millis) -> Option<(K, V)> {
        let mut evicted = None;
        while evicted.is_none()
            && self.entries.len() >= self.capacity
            && !self.entries.contains_key(&key)
        {
            let Some((at, oldest)) = self.queue.pop_front() else {
                break;
            };
            evicted = self.remove_if_at(&oldest, at).map(|v| (oldest, v));
        }
        // Removed-early keys would otherwise make the queue outgrow the table.
        if self.queue.len() >= 2 * self.capacity {
            let entries = &self.entries;
            self.queue
                .retain(|(at, k)| entries.get(k).is_some_and(|(e, _)| e == at));
        }
        self.queue.push_back((expires_at, key.clone()));
        self.entries.insert(key, (expires_at, value));
        evicted
    }

    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.entries.get(key).map(|(_, v)| v)
    }

    pub fn get_mut<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        self.entries.get_mut(key).map(|(_, v)| v)
    }

    pub fn remove<Q: Hash + Eq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.entries.remove(key).map(|(_, v)| v)
    }

    pub fn contains_key<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.entries.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.values().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.values_mut().map(|(_, v)| v)
    }

    /// Keeps the entries `keep` accepts (a scan of the whole table: for rare operations
    /// such as a user's revoke, never on a request path that anyone may call).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.entries.retain(|k, (_, v)| keep(k, v));
    }

    /// Drops entries that expired by `now`, at most `budget` of them; answers whether
    /// nothing due is left. Removed entries are handed to `removed`.
    pub fn purge(&mut self, now: Millis, budget: usize, mut removed: impl FnMut(K, V)) -> bool {
        for _ in 0..budget {
            match self.queue.front() {
                Some((at, _)) if *at <= now => {}
                _ => return true,
            }
            if let Some((at, key)) = self.queue.pop_front()
                && let Some(value) = self.remove_if_at(&key, at)
            {
                removed(key, value);
            }
        }
        self.shrink_if_sparse();
        self.queue.front().is_none_or(|(at, _)| *at > now)
    }

    /// Gives memory back once a burst has expired: a table keeps its largest capacity
    /// otherwise. Amortised: it shrinks only after three quarters of it went.
    fn shrink_if_sparse(&mut self) {
        if self.entries.capacity() > 1024 && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
        }
        if self.queue.capacity() > 1024 && self.queue.len() < self.queue.capacity() / 4 {
            self.queue.shrink_to(self.queue.len() * 2);
        }
    }

    /// Removes `key` if its entry is the one queued at `at` (not a later re-insert).
    fn remove_if_at(&mut self, key: &K, at: Millis) -> Option<V> {
        match self.entries.get(key) {
            Some((e, _)) if *e == at => self.entries.remove(key).map(|(_, v)| v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purges_what_expired_and_evicts_the_oldest_at_capacity() {
        let mut t = Expiring::new(3);
        t.insert("a", 1, 10);
        t.insert("b", 2, 20);
        t.insert("c", 3, 30);
        t.insert("d", 4, 40);
        assert!(!t.contains_key("a"), "the oldest makes room");
        assert_eq!(t.len(), 3);
        let mut gone = Vec::new();
        assert!(t.purge(25, 10, |k, _| gone.push(k)));
        assert_eq!(gone, ["b"]);
        assert_eq!(t.get("c"), Some(&3));
        // A budget stops early and says so.
        assert!(!t.purge(100, 1, |_, _| {}));
        assert!(t.purge(100, 1, |_, _| {}));
        assert!(t.is_empty());
    }

    #[test]
    fn a_key_removed_early_and_inserted_again_keeps_its_new_lifetime() {
        let mut t = Expiring::new(10);
        t.insert("k", 1, 10);
        t.remove("k");
        t.insert("k", 2, 50);
        assert!(t.purge(20, 10, |_, _| {}));
        assert_eq!(t.get("k"), Some(&2));
    }
}
