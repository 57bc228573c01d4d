//! The log cleaner's key -> latest offset map, bounded by `log.cleaner.dedupe.buffer.size`
//! as Kafka's `SkimpyOffsetMap` is.
//!
//! # Layout and memory
//!
//! An open-addressing table of 24-byte slots: a 128-bit hash of the key (two SipHash-1-3
//! digests with different prefixes; Kafka stores a 16-byte MD5) and the offset (`-1` marks a
//! free slot). Keys themselves are never stored, so the memory is `24 bytes x slots` whatever
//! the keys' sizes, and no allocation happens per key. Like Kafka's map it can confuse two
//! keys whose 128-bit hashes collide (probability about `n^2 / 2^129` for `n` keys, below
//! 10^-25 for a hundred million keys).
//!
//! The table starts small and doubles (rehashing) up to the slot count the buffer allows, so
//! a log with few keys costs little; once at that size it takes new keys until
//! `log.cleaner.io.buffer.load.factor` of its slots are used, then reports itself full. The
//! cleaner then stops mapping and cleans only up to the offset the map covers (see
//! `cleaner.rs`).

use std::hash::{DefaultHasher, Hasher};

/// Bytes per slot: 16 of hash, 8 of offset.
pub const SLOT_BYTES: usize = 24;

/// Slots allocated at first; the table grows from there.
const INITIAL_SLOTS: usize = 1 << 12;

/// Load at which a table below its maximum size doubles (probe sequences stay short).
const GROW_LOAD: f64 = 0.7;

#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: [u64; 2],
    /// `-1`: free.
    offset: i64,
}

const FREE: Slot = Slot {
    hash: [0, 0],
    offset: -1,
};

/// What [`OffsetMap::put`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// The key was new.
    Inserted,
    /// The key was there with this (lower) offset, now replaced.
    Replaced(i64),
    /// The key was there with a higher offset, which stays.
    Kept,
    /// The key is new and the map is full: nothing was stored.
    Full,
}

/// A key -> latest offset map of bounded memory (see the module docs).
#[derive(Debug)]
pub struct OffsetMap {
    slots: Vec<Slot>,
    /// Slots the buffer allows.
    max_slots: usize,
    /// Keys the map takes at `max_slots` (the load factor applied).
    max_entries: usize,
    len: usize,
}

impl OffsetMap {
    /// A map using at most `buffer_bytes` (at least one slot), full at `load_factor` of its
    /// slots (clamped to `(0, 1)`; Kafka's default is 0.9).
    pub fn new(buffer_bytes: u64, load_factor: f64) -> Self {
        let max_slots = usize::try_from(buffer_bytes / SLOT_BYTES as u64)
            .unwrap_or(usize::MAX)
            .max(1);
        let load = if load_factor.is_finite() {
            load_factor.clamp(0.01, 0.99)
        } else {
            0.9
        };
        let max_entries = ((max_slots as f64 * load) as usize).clamp(1, max_slots);
        Self {
            slots: Vec::new(),
            max_slots,
            max_entries,
            len: 0,
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keys the map takes before [`Put::Full`].
    pub fn capacity(&self) -> usize {
        self.max_entries
    }

    /// Bytes currently allocated for slots.
    pub fn allocated_bytes(&self) -> usize {
        self.slots.capacity() * SLOT_BYTES
    }

    /// Forgets every key, keeping the allocation.
    pub fn clear(&mut self) {
        self.slots.fill(FREE);
        self.len = 0;
    }

    /// Records `offset` for `key` unless a higher offset is already there.
    pub fn put(&mut self, key: &[u8], offset: i64) -> Put {
        let hash = hash_key(key);
        if self.slots.is_empty() {
            self.slots = vec![FREE; INITIAL_SLOTS.min(self.max_slots)];
        }
        let at = self.find(hash);
        let Some(slot) = self.slots.get_mut(at) else {
            return Put::Full;
        };
        if slot.offset >= 0 {
            if slot.offset >= offset {
                return Put::Kept;
            }
            let previous = slot.offset;
            slot.offset = offset;
            return Put::Replaced(previous);
        }
        if self.len >= self.max_entries {
            return Put::Full;
        }
        *slot = Slot { hash, offset };
        self.len += 1;
        if self.slots.len() < self.max_slots
            && self.len as f64 > self.slots.len() as f64 * GROW_LOAD
        {
            self.grow();
        }
        Put::Inserted
    }

    /// The latest offset recorded for `key`.
    pub fn get(&self, key: &[u8]) -> Option<i64> {
        if self.slots.is_empty() {
            return None;
        }
        let slot = self.slots.get(self.find(hash_key(key)))?;
        (slot.offset >= 0).then_some(slot.offset)
    }

    /// The slot holding `hash`, or the free slot where it would go. There is always a free
    /// slot: `len <= max_entries < max_slots` or, below the maximum size, the table grows
    /// before it passes [`GROW_LOAD`].
    fn find(&self, hash: [u64; 2]) -> usize {
        let n = self.slots.len();
        let mut at = ((u128::from(hash[0]) * n as u128) >> 64) as usize;
        for _ in 0..n {
            match self.slots.get(at) {
                Some(s) if s.offset < 0 || s.hash == hash => return at,
                _ => {}
            }
            at += 1;
            if at == n {
                at = 0;
            }
        }
        // Unreachable with a free slot; `put` and `get` treat it as "absent / full".
        n
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).min(self.max_slots);
        let old = std::mem::replace(&mut self.slots, vec![FREE; size]);
        for slot in old.into_iter().filter(|s| s.offset >= 0) {
            let at = self.find(slot.hash);
            if let Some(free) = self.slots.get_mut(at) {
                *free = slot;
            }
        }
    }
}

/// 128 bits of hash of a key: SipHash-1-3 (std's `DefaultHasher`) of the key and of the key
/// after a one-byte prefix. A map lives for one cleaning, so the hash only has to be the same
/// within a process (std does not promise it across Rust versions).
fn hash_key(key: &[u8]) -> [u64; 2] {
    let mut a = DefaultHasher::new();
    a.write(key);
    let mut b = DefaultHasher::new();
    b.write_u8(0x5c);
    b.write(key);
    [a.finish(), b.finish()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_offset_per_key() {
        let mut map = OffsetMap::new(1 << 20, 0.9);
        assert_eq!(map.put(b"a", 3), Put::Inserted);
        assert_eq!(map.put(b"b", 4), Put::Inserted);
        assert_eq!(map.put(b"a", 7), Put::Replaced(3));
        assert_eq!(map.put(b"a", 5), Put::Kept);
        assert_eq!(map.get(b"a"), Some(7));
        assert_eq!(map.get(b"b"), Some(4));
        assert_eq!(map.get(b"c"), None);
        assert_eq!(map.len(), 2);
        map.clear();
        assert_eq!(map.get(b"a"), None);
        assert!(map.is_empty());
    }

    #[test]
    fn grows_then_reports_full_at_the_load_factor() {
        // 100 slots of 24 bytes; 0.9 of them: 90 keys.
        let mut map = OffsetMap::new(2_400, 0.9);
        assert_eq!(map.capacity(), 90);
        for i in 0..90i64 {
            assert_eq!(map.put(format!("key-{i}").as_bytes(), i), Put::Inserted);
        }
        assert_eq!(map.put(b"one more", 90), Put::Full);
        assert_eq!(map.get(b"one more"), None);
        // Known keys still update when full.
        assert_eq!(map.put(b"key-5", 91), Put::Replaced(5));
        for i in 0..90i64 {
            let expected = if i == 5 { 91 } else { i };
            assert_eq!(map.get(format!("key-{i}").as_bytes()), Some(expected));
        }
        assert!(map.allocated_bytes() <= 2_400);
    }

    #[test]
    fn memory_stays_within_the_buffer_whatever_the_key_count() {
        let budget = 64 * 1024;
        let mut map = OffsetMap::new(budget, 0.9);
        let mut full_at = None;
        for i in 0..1_000_000i64 {
            if map.put(&i.to_be_bytes(), i) == Put::Full {
                full_at = Some(i);
                break;
            }
        }
        assert_eq!(full_at, Some(map.capacity() as i64));
        assert!(map.allocated_bytes() <= budget as usize);
        for i in 0..map.capacity() as i64 {
            assert_eq!(map.get(&i.to_be_bytes()), Some(i));
        }
    }
}
