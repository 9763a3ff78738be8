//! The in-process key-value store: sharded tables with per-key expiry, for one instance.
//!
//! A key is hashed once (keyed SipHash: clients choose many keys, a limiter's among them) and
//! that hash picks both its shard and its slot there; a read is one probe, where a map behind
//! the shard's own hash would hash it twice more.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

const SHARDS: usize = 32;

#[derive(Debug)]
enum Val {
    Str(String),
    Int(i64),
}

#[derive(Debug)]
struct Item {
    key: String,
    val: Val,
    expires: Instant,
}

type Table = HashTable<Item>;

#[derive(Clone)]
pub struct MemoryStore {
    shards: Arc<Vec<Mutex<Table>>>,
    hasher: RandomState,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: Arc::new((0..SHARDS).map(|_| Mutex::new(Table::new())).collect()),
            hasher: RandomState::new(),
        }
    }
}

/// A key and its hash.
#[derive(Clone, Copy)]
struct Key<'a> {
    name: &'a str,
    hash: u64,
}

impl Key<'_> {
    fn is(&self) -> impl Fn(&Item) -> bool + '_ {
        move |item| item.key == self.name
    }
}

/// The shard's lock, and the key's hash for its table.
struct Locked<'s, 'k> {
    table: MutexGuard<'s, Table>,
    key: Key<'k>,
    hasher: &'s RandomState,
}

impl Locked<'_, '_> {
    /// The key's entry unless it expired by `now`; an expired one is removed.
    fn live(&mut self, now: Instant) -> Option<&mut Item> {
        match self.table.find_entry(self.key.hash, self.key.is()) {
            Ok(found) if found.get().expires <= now => {
                found.remove();
                None
            }
            Ok(found) => Some(found.into_mut()),
            Err(_) => None,
        }
    }

    fn put(&mut self, val: Val, expires: Instant) {
        let hasher = self.hasher;
        match self.table.entry(self.key.hash, self.key.is(), |item| {
            hasher.hash_one(item.key.as_str())
        }) {
            Entry::Occupied(mut found) => {
                let item = found.get_mut();
                item.val = val;
                item.expires = expires;
            }
            Entry::Vacant(slot) => {
                slot.insert(Item {
                    key: self.key.name.to_owned(),
                    val,
                    expires,
                });
            }
        }
    }

    fn remove(&mut self) -> Option<Item> {
        let found = self.table.find_entry(self.key.hash, self.key.is()).ok()?;
        Some(found.remove().0)
    }
}

fn text(val: &Val) -> String {
    match val {
        Val::Str(s) => s.clone(),
        Val::Int(n) => n.to_string(),
    }
}

impl MemoryStore {
    fn lock<'k>(&self, name: &'k str) -> Locked<'_, 'k> {
        let hash = self.hasher.hash_one(name);
        // Bits the table does not use for its slot (the low ones) or its tag (the top seven).
        let idx = (hash >> 32) as usize % SHARDS;
        // A poisoned shard only means another thread panicked mid-operation; the table itself
        // is still consistent because every mutation is a single insert or remove.
        let table = self.shards[idx]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Locked {
            table,
            key: Key { name, hash },
            hasher: &self.hasher,
        }
    }

    fn get_at(&self, key: &str, now: Instant) -> Option<String> {
        self.lock(key).live(now).map(|e| text(&e.val))
    }

    pub fn get(&self, key: &str) -> Option<String> {
        self.get_at(key, Instant::now())
    }

    /// Two keys read with one clock reading (each under its own shard's lock).
    pub fn get_pair(&self, a: &str, b: &str) -> (Option<String>, Option<String>) {
        let now = Instant::now();
        (self.get_at(a, now), self.get_at(b, now))
    }

    pub fn set(&self, key: &str, value: &str, ttl: Duration) {
        self.lock(key)
            .put(Val::Str(value.to_owned()), Instant::now() + ttl);
    }

    pub fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> bool {
        let mut locked = self.lock(key);
        let now = Instant::now();
        if locked.live(now).is_some() {
            return false;
        }
        locked.put(Val::Str(value.to_owned()), now + ttl);
        true
    }

    /// Sets `key` to `value` for `ttl` and returns what it held, in one step.
    pub fn swap(&self, key: &str, value: &str, ttl: Duration) -> Option<String> {
        let mut locked = self.lock(key);
        let now = Instant::now();
        let was = locked.live(now).map(|item| text(&item.val));
        locked.put(Val::Str(value.to_owned()), now + ttl);
        was
    }

    pub fn take(&self, key: &str) -> Option<String> {
        let mut locked = self.lock(key);
        locked.live(Instant::now())?;
        match locked.remove()?.val {
            Val::Str(s) => Some(s),
            Val::Int(n) => Some(n.to_string()),
        }
    }

    pub fn del(&self, key: &str) {
        self.lock(key).remove();
    }

    pub fn incr(&self, key: &str, ttl: Duration) -> i64 {
        let mut locked = self.lock(key);
        let now = Instant::now();
        if let Some(entry) = locked.live(now) {
            if let Val::Int(n) = &mut entry.val {
                *n += 1;
                return *n;
            }
            if let Val::Str(s) = &entry.val
                && let Ok(n) = s.parse::<i64>()
            {
                entry.val = Val::Int(n + 1);
                return n + 1;
            }
        }
        locked.put(Val::Int(1), now + ttl);
        1
    }

    pub fn decr(&self, key: &str) {
        if let Some(Item {
            val: Val::Int(n), ..
        }) = self.lock(key).live(Instant::now())
        {
            *n = (*n - 1).max(0);
        }
    }

    fn count(entry: Option<&Item>) -> i64 {
        match entry.map(|e| &e.val) {
            Some(Val::Int(n)) => *n,
            Some(Val::Str(s)) => s.parse().unwrap_or(0),
            _ => 0,
        }
    }

    /// One critical section (the key's shard lock) decides and takes the slot.
    pub fn reserve(&self, key: &str, max: i64, ttl: Duration) -> super::Slot {
        let mut locked = self.lock(key);
        let now = Instant::now();
        let entry = locked.live(now);
        let held = Self::count(entry.as_deref());
        if held >= max {
            let wait = entry.map_or(ttl, |e| e.expires.saturating_duration_since(now));
            return Err(wait);
        }
        match entry {
            Some(e) => e.val = Val::Int(held + 1),
            None => locked.put(Val::Int(1), now + ttl),
        }
        Ok(held + 1)
    }

    pub fn hold_if_full(&self, key: &str, max: i64, ttl: Duration) -> bool {
        let now = Instant::now();
        match self.lock(key).live(now) {
            Some(e) if Self::count(Some(e)) >= max => {
                e.expires = now + ttl;
                true
            }
            _ => false,
        }
    }

    pub fn ttl(&self, key: &str) -> Option<Duration> {
        let now = Instant::now();
        self.lock(key)
            .live(now)
            .map(|e| e.expires.saturating_duration_since(now))
    }

    /// Drops expired entries; run periodically so keys nobody reads again still go away.
    pub fn purge_expired(&self) -> usize {
        let now = Instant::now();
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = map.len();
            map.retain(|e| e.expires > now);
            removed += before - map.len();
        }
        removed
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn swap_returns_what_the_key_held_once_per_value() {
        let s = MemoryStore::default();
        assert_eq!(s.swap("k", "a", MIN), None);
        assert_eq!(s.swap("k", "b", MIN).as_deref(), Some("a"));
        assert_eq!(s.get("k").as_deref(), Some("b"));
        s.set("gone", "x", Duration::ZERO);
        assert_eq!(
            s.swap("gone", "y", MIN),
            None,
            "an expired value is not returned"
        );
    }

    #[test]
    fn take_returns_a_value_once() {
        let s = MemoryStore::default();
        s.set("k", "v", MIN);
        assert_eq!(s.take("k").as_deref(), Some("v"));
        assert_eq!(s.take("k"), None);
    }

    #[test]
    fn expired_keys_are_gone() {
        let s = MemoryStore::default();
        s.set("k", "v", Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(s.get("k"), None);
        s.set("j", "v", Duration::from_millis(1));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(s.purge_expired(), 1);
    }

    #[test]
    fn incr_counts_and_keeps_first_expiry() {
        let s = MemoryStore::default();
        assert_eq!(s.incr("c", MIN), 1);
        assert_eq!(s.incr("c", Duration::from_secs(3600)), 2);
        assert!(s.ttl("c").unwrap() <= MIN);
    }

    #[test]
    fn reserve_hands_out_at_most_max_slots_under_contention() {
        let s = MemoryStore::default();
        let taken = std::sync::atomic::AtomicI64::new(0);
        std::thread::scope(|scope| {
            for _ in 0..16 {
                scope.spawn(|| {
                    for _ in 0..100 {
                        if s.reserve("r", 5, MIN).is_ok() {
                            taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(taken.into_inner(), 5);
        assert!(s.reserve("r", 5, MIN).unwrap_err() <= MIN);
        s.decr("r");
        assert_eq!(s.reserve("r", 5, MIN), Ok(5));
    }

    #[test]
    fn a_full_counter_is_held_from_the_failure_that_filled_it() {
        let s = MemoryStore::default();
        s.reserve("h", 2, Duration::from_millis(50)).unwrap();
        assert!(!s.hold_if_full("h", 2, MIN), "not full yet");
        s.reserve("h", 2, Duration::from_millis(50)).unwrap();
        assert!(s.hold_if_full("h", 2, MIN));
        std::thread::sleep(Duration::from_millis(80));
        assert!(
            s.reserve("h", 2, MIN).is_err(),
            "held past the counter's own expiry"
        );
    }

    #[test]
    fn given_back_slots_never_go_below_zero() {
        let s = MemoryStore::default();
        s.reserve("g", 3, MIN).unwrap();
        s.decr("g");
        s.decr("g");
        assert_eq!(s.reserve("g", 3, MIN), Ok(1));
    }

    #[test]
    fn set_nx_only_sets_absent_keys() {
        let s = MemoryStore::default();
        assert!(s.set_nx("k", "a", MIN));
        assert!(!s.set_nx("k", "b", MIN));
        assert_eq!(s.get("k").as_deref(), Some("a"));
    }
}
