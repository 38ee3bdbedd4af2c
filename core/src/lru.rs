//! A map that knows which entry was used least recently, in logarithmic time: the caches
//! of run machines (the engine's shards) and of workflow runs (the SDK's workers). Their
//! owners decide when to forget the oldest ([`LruMap::oldest`]); before, each found it by
//! scanning every entry, once per insert into a full cache — 1,000 entries in a worker at
//! its default size, 10,000 in a shard.

use std::collections::BTreeMap;

/// Entries by key, and their keys by last use (a counter, not a clock: deterministic).
#[derive(Clone, Debug)]
pub struct LruMap<K, V> {
    entries: BTreeMap<K, Entry<V>>,
    by_use: BTreeMap<u64, K>,
    uses: u64,
}

#[derive(Clone, Debug)]
struct Entry<V> {
    value: V,
    used: u64,
}

impl<K, V> Default for LruMap<K, V> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            by_use: BTreeMap::new(),
            uses: 0,
        }
    }
}

impl<K: Ord + Clone, V> LruMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`, without counting this as a use.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|entry| &entry.value)
    }

    /// The value of `key`, which becomes the most recently used.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let entry = self.entries.get_mut(key)?;
        self.uses += 1;
        self.by_use.remove(&entry.used);
        entry.used = self.uses;
        self.by_use.insert(self.uses, key.clone());
        Some(&mut entry.value)
    }

    /// Sets `key`'s value, the most recently used; the value it replaced, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.uses += 1;
        let earlier = self.remove(&key);
        self.by_use.insert(self.uses, key.clone());
        self.entries.insert(
            key,
            Entry {
                value,
                used: self.uses,
            },
        );
        debug_assert_eq!(self.entries.len(), self.by_use.len());
        earlier
    }

    /// Takes `key`'s value out.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let entry = self.entries.remove(key)?;
        self.by_use.remove(&entry.used);
        Some(entry.value)
    }

    /// The least recently used key.
    pub fn oldest(&self) -> Option<&K> {
        self.by_use.first_key_value().map(|(_, key)| key)
    }

    /// Takes the least recently used entry out.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        let (_, key) = self.by_use.pop_first()?;
        let entry = self.entries.remove(&key)?;
        Some((key, entry.value))
    }

    /// Empties it; the keys it held, in key order.
    pub fn take_keys(&mut self) -> Vec<K> {
        self.by_use.clear();
        std::mem::take(&mut self.entries).into_keys().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_is_the_least_recently_inserted_or_got() {
        let mut map = LruMap::new();
        for key in 1..=4 {
            assert_eq!(map.insert(key, key * 10), None);
        }
        assert_eq!(map.oldest(), Some(&1));
        // A use moves a key to the back; a peek does not.
        assert_eq!(map.get_mut(&1).copied(), Some(10));
        assert_eq!(map.peek(&2), Some(&20));
        assert_eq!(map.oldest(), Some(&2));
        // Inserting again replaces the value and counts as a use.
        assert_eq!(map.insert(2, 21), Some(20));
        assert_eq!(map.pop_oldest(), Some((3, 30)));
        assert_eq!(map.pop_oldest(), Some((4, 40)));
        assert_eq!(map.pop_oldest(), Some((1, 10)));
        assert_eq!(map.pop_oldest(), Some((2, 21)));
        assert_eq!(map.pop_oldest(), None);
        assert!(map.is_empty());
    }

    #[test]
    fn removing_forgets_the_use_too() {
        let mut map = LruMap::new();
        map.insert("a", 1);
        map.insert("b", 2);
        assert_eq!(map.remove(&"a"), Some(1));
        assert_eq!(map.remove(&"a"), None);
        assert_eq!(map.oldest(), Some(&"b"));
        assert_eq!(map.len(), 1);
        map.insert("c", 3);
        assert_eq!(map.take_keys(), ["b", "c"]);
        assert!(map.is_empty());
        assert_eq!(map.oldest(), None);
    }

    #[test]
    fn it_agrees_with_a_scan_over_random_uses() {
        // The oldest by a scan of every entry's last use, as the caches found it before.
        let mut map = LruMap::new();
        let mut last_use: BTreeMap<u32, u64> = BTreeMap::new();
        let mut random = crate::random::SplitMix64::new(7);
        for step in 0..5_000_u64 {
            let key = random.below(64) as u32;
            match random.below(4) {
                0 => {
                    map.remove(&key);
                    last_use.remove(&key);
                }
                1 => {
                    if map.get_mut(&key).is_some() {
                        last_use.insert(key, step);
                    }
                }
                _ => {
                    map.insert(key, step);
                    last_use.insert(key, step);
                }
            }
            let scanned = last_use
                .iter()
                .min_by_key(|(_, used)| **used)
                .map(|(key, _)| key);
            assert_eq!(map.oldest(), scanned, "step {step}");
            assert_eq!(map.len(), last_use.len());
        }
    }
}
