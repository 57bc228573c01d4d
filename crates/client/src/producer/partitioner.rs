//! Choosing a partition for a record.
//!
//! [`DefaultPartitioner`] is Kafka's built-in one: a record with a key goes to
//! `toPositive(murmur2(key)) % numPartitions`, bit for bit the Java client's choice, so keyed
//! records land on the same partitions whichever client produced them; a record without a key
//! goes to a "sticky" partition that changes once `batch.size` bytes went to it (KIP-480,
//! KIP-794), so null-key traffic fills whole batches. [`RoundRobinPartitioner`] cycles through
//! the partitions record by record. Implement [`Partitioner`] for anything else.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A partitioning strategy. Called once per record whose partition was not set explicitly.
pub trait Partitioner: Send + Sync {
    /// The partition in `0..num_partitions` for this record.
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        num_partitions: i32,
    ) -> i32;
}

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`, seed `0x9747b28c`).
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ (length as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    // Java sign-extends nothing here: bytes are masked with 0xff.
    match tail.len() {
        3 => {
            h ^= u32::from(tail[2]) << 16;
            h ^= u32::from(tail[1]) << 8;
            h ^= u32::from(tail[0]);
            h = h.wrapping_mul(M);
        }
        2 => {
            h ^= u32::from(tail[1]) << 8;
            h ^= u32::from(tail[0]);
            h = h.wrapping_mul(M);
        }
        1 => {
            h ^= u32::from(tail[0]);
            h = h.wrapping_mul(M);
        }
        _ => {}
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (not `abs`, which overflows on `i32::MIN`).
pub fn to_positive(n: i32) -> i32 {
    n & 0x7fff_ffff
}

/// The partition Kafka's default partitioner gives a keyed record.
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    to_positive(murmur2(key)) % num_partitions.max(1)
}

struct Sticky {
    partition: i32,
    bytes: usize,
}

/// Kafka's default partitioner (see the module docs). `batch.size` sets when the sticky
/// partition of null-key records moves on.
pub struct DefaultPartitioner {
    sticky: Mutex<HashMap<String, Sticky>>,
    switch_after: usize,
    seed: AtomicU64,
}

impl DefaultPartitioner {
    pub fn new() -> Self {
        Self::with_batch_size(16_384)
    }

    /// Null-key records move to another partition after `batch_size` bytes.
    pub fn with_batch_size(batch_size: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x2545_f491_4f6c_dd1d)
            | 1;
        DefaultPartitioner {
            sticky: Mutex::new(HashMap::new()),
            switch_after: batch_size.max(1),
            seed: AtomicU64::new(seed),
        }
    }

    fn random(&self) -> u64 {
        // xorshift64*: good enough to spread sticky partitions, no dependency.
        let mut x = self.seed.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.seed.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn next_sticky(&self, previous: Option<i32>, n: i32) -> i32 {
        let n = n.max(1);
        if n == 1 {
            return 0;
        }
        let mut p = (self.random() % n as u64) as i32;
        if Some(p) == previous {
            p = (p + 1) % n;
        }
        p
    }
}

impl Default for DefaultPartitioner {
    fn default() -> Self {
        Self::new()
    }
}

impl Partitioner for DefaultPartitioner {
    fn partition(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        num_partitions: i32,
    ) -> i32 {
        if let Some(key) = key {
            return partition_for_key(key, num_partitions);
        }
        let size = value.map_or(0, <[u8]>::len) + 8;
        let Ok(mut sticky) = self.sticky.lock() else {
            return 0;
        };
        match sticky.get_mut(topic) {
            Some(s) if s.partition < num_partitions && s.bytes < self.switch_after => {
                s.bytes += size;
                s.partition
            }
            Some(s) => {
                s.partition = self.next_sticky(Some(s.partition), num_partitions);
                s.bytes = size;
                s.partition
            }
            None => {
                let p = self.next_sticky(None, num_partitions);
                sticky.insert(
                    topic.to_string(),
                    Sticky {
                        partition: p,
                        bytes: size,
                    },
                );
                p
            }
        }
    }
}

/// Every record to the next partition, in turn (Kafka's `RoundRobinPartitioner`).
#[derive(Default)]
pub struct RoundRobinPartitioner {
    counters: Mutex<HashMap<String, u32>>,
}

impl RoundRobinPartitioner {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Partitioner for RoundRobinPartitioner {
    fn partition(&self, topic: &str, _: Option<&[u8]>, _: Option<&[u8]>, n: i32) -> i32 {
        let Ok(mut counters) = self.counters.lock() else {
            return 0;
        };
        let c = match counters.get_mut(topic) {
            Some(c) => c,
            None => counters.entry(topic.to_string()).or_insert(0),
        };
        let p = (*c % n.max(1) as u32) as i32;
        *c = c.wrapping_add(1);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Produced once with the Java client 3.9.1 (`compat/.deps/jars/kafka-clients.jar`):
    /// a small program printed `Utils.murmur2(key.getBytes(UTF_8))` and
    /// `Utils.toPositive(h) % n` for n = 3, 7 and 100.
    const JAVA_VECTORS: &[(&str, i32, i32, i32, i32)] = &[
        ("", 275646681, 0, 2, 81),
        ("a", -1563381124, 1, 5, 24),
        ("ab", 316155434, 2, 0, 34),
        ("abc", 479470107, 0, 4, 7),
        ("abcd", -1323649548, 2, 5, 0),
        ("abcde", 461995741, 1, 4, 41),
        ("key-0", 29210041, 1, 0, 41),
        ("key-1", 193331640, 0, 5, 40),
        ("key-42", -187086521, 0, 3, 27),
        ("hello world", 1221641059, 1, 2, 59),
        ("user-12345", -243491053, 1, 1, 95),
        (
            "The quick brown fox jumps over the lazy dog",
            495243318,
            0,
            3,
            18,
        ),
        ("été", -2101193575, 1, 4, 73),
        ("0123456789abcdef0", 1856781438, 0, 1, 38),
    ];

    #[test]
    fn murmur2_matches_the_java_client() {
        for &(key, hash, p3, p7, p100) in JAVA_VECTORS {
            assert_eq!(murmur2(key.as_bytes()), hash, "murmur2({key:?})");
            assert_eq!(partition_for_key(key.as_bytes(), 3), p3, "{key:?} % 3");
            assert_eq!(partition_for_key(key.as_bytes(), 7), p7, "{key:?} % 7");
            assert_eq!(
                partition_for_key(key.as_bytes(), 100),
                p100,
                "{key:?} % 100"
            );
            let dp = DefaultPartitioner::new();
            assert_eq!(dp.partition("t", Some(key.as_bytes()), None, 7), p7);
        }
    }

    #[test]
    fn sticky_partition_moves_after_batch_size() {
        let p = DefaultPartitioner::with_batch_size(100);
        let first = p.partition("t", None, Some(&[0; 42]), 4);
        assert_eq!(p.partition("t", None, Some(&[0; 42]), 4), first);
        // 3 x 50 bytes > 100: the third record goes elsewhere.
        assert_ne!(p.partition("t", None, Some(&[0; 42]), 4), first);
    }

    #[test]
    fn round_robin_cycles() {
        let p = RoundRobinPartitioner::new();
        let got: Vec<i32> = (0..7).map(|_| p.partition("t", None, None, 3)).collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2, 0]);
    }
}
