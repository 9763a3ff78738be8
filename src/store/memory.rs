//! The in-process key-value store: sharded maps with per-key expiry, for one instance.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

const SHARDS: usize = 32;

#[derive(Debug)]
enum Val {
    Str(String),
    Int(i64),
}

#[derive(Debug)]
struct Entry {
    val: Val,
    expires: Instant,
}

#[derive(Clone)]
pub struct MemoryStore {
    shards: Arc<Vec<Mutex<HashMap<String, Entry>>>>,
    hasher: RandomState,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: Arc::new((0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect()),
            hasher: RandomState::new(),
        }
    }
}

impl MemoryStore {
    fn shard(&self, key: &str) -> MutexGuard<'_, HashMap<String, Entry>> {
        let idx = (self.hasher.hash_one(key) as usize) % SHARDS;
        // A poisoned shard only means another thread panicked mid-operation; the map itself
        // is still consistent because every mutation is a single insert or remove.
        self.shards[idx]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn live<'a>(map: &'a mut HashMap<String, Entry>, key: &str) -> Option<&'a mut Entry> {
        let now = Instant::now();
        if map.get(key).is_some_and(|e| e.expires <= now) {
            map.remove(key);
        }
        map.get_mut(key)
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let mut map = self.shard(key);
        match Self::live(&mut map, key).map(|e| &e.val) {
            Some(Val::Str(s)) => Some(s.clone()),
            Some(Val::Int(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn set(&self, key: &str, value: &str, ttl: Duration) {
        self.shard(key).insert(
            key.to_owned(),
            Entry {
                val: Val::Str(value.to_owned()),
                expires: Instant::now() + ttl,
            },
        );
    }

    pub fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> bool {
        let mut map = self.shard(key);
        if Self::live(&mut map, key).is_some() {
            return false;
        }
        map.insert(
            key.to_owned(),
            Entry {
                val: Val::Str(value.to_owned()),
                expires: Instant::now() + ttl,
            },
        );
        true
    }

    pub fn take(&self, key: &str) -> Option<String> {
        let mut map = self.shard(key);
        Self::live(&mut map, key)?;
        match map.remove(key).map(|e| e.val) {
            Some(Val::Str(s)) => Some(s),
            Some(Val::Int(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn del(&self, key: &str) {
        self.shard(key).remove(key);
    }

    pub fn incr(&self, key: &str, ttl: Duration) -> i64 {
        let mut map = self.shard(key);
        if let Some(entry) = Self::live(&mut map, key) {
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
        map.insert(
            key.to_owned(),
            Entry {
                val: Val::Int(1),
                expires: Instant::now() + ttl,
            },
        );
        1
    }

    pub fn decr(&self, key: &str) {
        let mut map = self.shard(key);
        if let Some(Entry {
            val: Val::Int(n), ..
        }) = Self::live(&mut map, key)
        {
            *n = (*n - 1).max(0);
        }
    }

    fn count(entry: Option<&Entry>) -> i64 {
        match entry.map(|e| &e.val) {
            Some(Val::Int(n)) => *n,
            Some(Val::Str(s)) => s.parse().unwrap_or(0),
            _ => 0,
        }
    }

    /// One critical section (the key's shard lock) decides and takes the slot.
    pub fn reserve(&self, key: &str, max: i64, ttl: Duration) -> super::Slot {
        let mut map = self.shard(key);
        let now = Instant::now();
        let entry = Self::live(&mut map, key);
        let held = Self::count(entry.as_deref());
        if held >= max {
            let wait = entry.map_or(ttl, |e| e.expires.saturating_duration_since(now));
            return Err(wait);
        }
        match entry {
            Some(e) => {
                e.val = Val::Int(held + 1);
            }
            None => {
                map.insert(
                    key.to_owned(),
                    Entry {
                        val: Val::Int(1),
                        expires: now + ttl,
                    },
                );
            }
        }
        Ok(held + 1)
    }

    pub fn hold_if_full(&self, key: &str, max: i64, ttl: Duration) -> bool {
        let mut map = self.shard(key);
        match Self::live(&mut map, key) {
            Some(e) if Self::count(Some(e)) >= max => {
                e.expires = Instant::now() + ttl;
                true
            }
            _ => false,
        }
    }

    pub fn ttl(&self, key: &str) -> Option<Duration> {
        let mut map = self.shard(key);
        Self::live(&mut map, key).map(|e| e.expires.saturating_duration_since(Instant::now()))
    }

    /// Drops expired entries; run periodically so keys nobody reads again still go away.
    pub fn purge_expired(&self) -> usize {
        let now = Instant::now();
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
            let before = map.len();
            map.retain(|_, e| e.expires > now);
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
