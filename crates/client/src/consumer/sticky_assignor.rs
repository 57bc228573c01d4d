//! The `sticky` and `cooperative-sticky` assignors: Kafka's `AbstractStickyAssignor`, which
//! keeps as many partitions as it can where they were while balancing the group.
//!
//! When every member subscribes to the same topics (the usual case) this is Kafka's
//! constrained algorithm, step for step, so the leader computes the same assignment as a Java
//! leader would for the same JoinGroup (`tests/assignors.rs` checks it against vectors
//! computed by kafka-clients 3.9.1):
//!
//! 1. each member keeps its previously owned partitions, up to `maxQuota` for the first
//!    `partitions % members` members that own that many, else up to `minQuota`
//!    (`floor(partitions / members)`); the owned partitions are taken in (partition, topic)
//!    order, and the members in the iteration order of Java's `HashMap` of member ids (which
//!    [`java_hash_map_order`] reproduces, because it decides who keeps `maxQuota`);
//! 2. the remaining partitions, sorted by topic then partition, go round-robin to the members
//!    under `minQuota` (sorted by member id), then one each to members at `minQuota` until
//!    `partitions % members` members have `maxQuota`.
//!
//! A partition claimed by two members of the same generation is owned by neither; between
//! different generations the higher one wins.
//!
//! When subscriptions differ, Kafka runs its general algorithm (a search that moves partitions
//! until no move improves the balance). Weir keeps each member's owned partitions it still
//! subscribes to, gives every other partition to the least loaded member subscribed to its
//! topic, then moves partitions from a member to one with at least two fewer; the result is
//! balanced and sticky but not always Kafka's exact choice.
//!
//! `cooperative-sticky` then removes from the assignment every partition that changes owner
//! (Kafka's `adjustAssignment`): its owner revokes it and rejoins, and the next rebalance hands
//! it out (KIP-429).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use bytes::Bytes;

use super::assignor::{Assignment, MemberSubscription};
use super::TopicPartition;

/// Java's `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The order a Java `HashMap<String, _>` filled with `keys` (in that order) iterates them:
/// by bucket (`(h ^ h >>> 16) & (capacity - 1)`, the capacity doubling from 16 whenever the
/// size passes three quarters of it), keys of one bucket in insertion order (resizing keeps
/// that order).
pub fn java_hash_map_order<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    let mut capacity = 16usize;
    while keys.len() > capacity * 3 / 4 {
        capacity *= 2;
    }
    let bucket = |k: &str| {
        let h = java_string_hash(k) as u32;
        ((h ^ (h >> 16)) as usize) & (capacity - 1)
    };
    let mut out = keys.to_vec();
    out.sort_by_key(|k| bucket(k));
    out
}

/// Runs the sticky assignor; `cooperative` removes the partitions that change owner.
pub fn sticky(
    members: &[MemberSubscription],
    partitions_per_topic: &HashMap<String, i32>,
    cooperative: bool,
) -> Assignment {
    let ids: Vec<&str> = members.iter().map(|m| m.member_id.as_str()).collect();
    let order = java_hash_map_order(&ids);
    let by_id: HashMap<&str, &MemberSubscription> =
        members.iter().map(|m| (m.member_id.as_str(), m)).collect();

    // allSubscriptionsEqual: owned partitions per member after resolving double claims.
    let mut owned: BTreeMap<&str, Vec<TopicPartition>> = BTreeMap::new();
    let mut owner_of: HashMap<TopicPartition, &str> = HashMap::new();
    let mut multiply_owned: HashSet<TopicPartition> = HashSet::new();
    let mut first_topics: Option<BTreeSet<&str>> = None;
    let mut all_equal = true;
    for &id in &order {
        let m = by_id[id];
        let topics: BTreeSet<&str> = m.topics.iter().map(String::as_str).collect();
        match &first_topics {
            None => first_topics = Some(topics),
            Some(first) => all_equal &= *first == topics,
        }
        let generation = m.generation;
        let mut mine = Vec::new();
        for tp in &m.owned_partitions {
            if !partitions_per_topic.contains_key(&tp.topic) {
                continue;
            }
            match owner_of.get(tp).copied() {
                None => {
                    mine.push(tp.clone());
                    owner_of.insert(tp.clone(), id);
                }
                Some(other) => {
                    let other_generation = by_id[other].generation;
                    if generation == other_generation {
                        multiply_owned.insert(tp.clone());
                        if let Some(list) = owned.get_mut(other) {
                            list.retain(|x| x != tp);
                        }
                        owner_of.insert(tp.clone(), id);
                    } else if generation > other_generation {
                        mine.push(tp.clone());
                        if let Some(list) = owned.get_mut(other) {
                            list.retain(|x| x != tp);
                        }
                        owner_of.insert(tp.clone(), id);
                    }
                }
            }
        }
        owned.insert(id, mine);
    }

    let (mut assignment, transferring) = if all_equal {
        let mut b = Constrained::new(partitions_per_topic, &order, &multiply_owned);
        b.build(&owned);
        (b.assignment, Some(b.transferring))
    } else {
        (general(members, partitions_per_topic, &owned), None)
    };
    if cooperative {
        let transferring = transferring.unwrap_or_else(|| {
            // Kafka's computePartitionsTransferringOwnership: added to one member and revoked
            // from another.
            let mut added: HashMap<TopicPartition, String> = HashMap::new();
            let mut revoked: HashSet<TopicPartition> = HashSet::new();
            for m in members {
                let assigned = assignment.get(&m.member_id).cloned().unwrap_or_default();
                for tp in &assigned {
                    if !m.owned_partitions.contains(tp) {
                        added.insert(tp.clone(), m.member_id.clone());
                    }
                }
                for tp in &m.owned_partitions {
                    if !assigned.contains(tp) {
                        revoked.insert(tp.clone());
                    }
                }
            }
            added.retain(|tp, _| revoked.contains(tp));
            added
        });
        for (tp, member) in transferring {
            if let Some(list) = assignment.get_mut(&member) {
                list.retain(|x| *x != tp);
            }
        }
    }
    assignment
}

/// Kafka's `ConstrainedAssignmentBuilder` without racks (this client sends none).
struct Constrained<'a> {
    partitions_per_topic: &'a HashMap<String, i32>,
    order: &'a [&'a str],
    multiply_owned: &'a HashSet<TopicPartition>,
    maybe_revoked: HashMap<TopicPartition, String>,
    under_min: Vec<String>,
    exactly_min: std::collections::VecDeque<String>,
    min_quota: usize,
    max_quota: usize,
    expected_over_min: usize,
    current_over_min: usize,
    assignment: Assignment,
    assigned: Vec<TopicPartition>,
    transferring: HashMap<TopicPartition, String>,
}

impl<'a> Constrained<'a> {
    fn new(
        partitions_per_topic: &'a HashMap<String, i32>,
        order: &'a [&'a str],
        multiply_owned: &'a HashSet<TopicPartition>,
    ) -> Self {
        let total: usize = partitions_per_topic
            .values()
            .map(|&n| usize::try_from(n).unwrap_or(0))
            .sum();
        let members = order.len().max(1);
        Constrained {
            partitions_per_topic,
            order,
            multiply_owned,
            maybe_revoked: HashMap::new(),
            under_min: Vec::new(),
            exactly_min: Default::default(),
            min_quota: total / members,
            max_quota: total.div_ceil(members),
            expected_over_min: total % members,
            current_over_min: 0,
            assignment: order
                .iter()
                .map(|id| (id.to_string(), Vec::new()))
                .collect(),
            assigned: Vec::new(),
            transferring: HashMap::new(),
        }
    }

    fn build(&mut self, owned: &BTreeMap<&str, Vec<TopicPartition>>) {
        self.assign_owned(owned);
        let unassigned = self.unassigned();
        self.under_min.sort();
        self.exactly_min.make_contiguous().sort();
        self.assign_round_robin(&unassigned);
    }

    fn assign_owned(&mut self, owned: &BTreeMap<&str, Vec<TopicPartition>>) {
        for &id in self.order {
            let mut mine: Vec<TopicPartition> = owned.get(id).cloned().unwrap_or_default();
            mine.sort_by(|a, b| a.partition.cmp(&b.partition).then(a.topic.cmp(&b.topic)));
            mine.retain(|tp| !self.multiply_owned.contains(tp));
            let keep = if mine.len() < self.min_quota {
                self.under_min.push(id.to_string());
                mine.len()
            } else if mine.len() >= self.max_quota && self.current_over_min < self.expected_over_min
            {
                self.current_over_min += 1;
                if self.current_over_min == self.expected_over_min {
                    self.exactly_min.clear();
                }
                self.max_quota
            } else {
                if self.current_over_min < self.expected_over_min {
                    self.exactly_min.push_back(id.to_string());
                }
                self.min_quota
            };
            for tp in mine.iter().skip(keep) {
                self.maybe_revoked.insert(tp.clone(), id.to_string());
            }
            mine.truncate(keep);
            self.assigned.extend(mine.iter().cloned());
            if let Some(list) = self.assignment.get_mut(id) {
                list.extend(mine);
            }
        }
    }

    /// Every partition (topics sorted, partitions ascending) not kept by its owner.
    fn unassigned(&self) -> Vec<TopicPartition> {
        let assigned: HashSet<&TopicPartition> = self.assigned.iter().collect();
        let topics: BTreeMap<&String, &i32> = self.partitions_per_topic.iter().collect();
        let mut out = Vec::new();
        for (topic, &n) in topics {
            for p in 0..n {
                let tp = TopicPartition::new(topic.as_str(), p);
                if !assigned.contains(&tp) {
                    out.push(tp);
                }
            }
        }
        out
    }

    fn assign_round_robin(&mut self, unassigned: &[TopicPartition]) {
        // A cursor over `under_min`, as Java's iterator over its LinkedList: `next` is the
        // index of the member it returns next.
        let mut next = 0usize;
        for tp in unassigned {
            let (consumer, from_cursor) = if next < self.under_min.len() {
                next += 1;
                (self.under_min[next - 1].clone(), true)
            } else if self.under_min.is_empty() {
                match self.exactly_min.pop_front() {
                    Some(c) => (c, false),
                    // Kafka throws here ("No more unfilled consumers"); it cannot happen
                    // with quotas computed from the same counts.
                    None => return,
                }
            } else {
                next = 1;
                (self.under_min[0].clone(), true)
            };
            let count = self.assign_new(tp, &consumer);
            if count == self.min_quota && from_cursor {
                next -= 1;
                self.under_min.remove(next);
                self.exactly_min.push_back(consumer);
            } else if count == self.max_quota {
                self.current_over_min += 1;
            }
        }
    }

    fn assign_new(&mut self, tp: &TopicPartition, consumer: &str) -> usize {
        let list = self.assignment.entry(consumer.to_string()).or_default();
        list.push(tp.clone());
        let count = list.len();
        let moved = self
            .maybe_revoked
            .get(tp)
            .is_some_and(|previous| previous != consumer);
        if moved || self.multiply_owned.contains(tp) {
            self.transferring.insert(tp.clone(), consumer.to_string());
        }
        count
    }
}

/// Members with different subscriptions (see the module docs for how this differs from
/// Kafka's general algorithm).
fn general(
    members: &[MemberSubscription],
    partitions_per_topic: &HashMap<String, i32>,
    owned: &BTreeMap<&str, Vec<TopicPartition>>,
) -> Assignment {
    let subscribed: HashMap<&str, HashSet<&str>> = members
        .iter()
        .map(|m| {
            let topics = m
                .topics
                .iter()
                .map(String::as_str)
                .filter(|t| partitions_per_topic.contains_key(*t))
                .collect();
            (m.member_id.as_str(), topics)
        })
        .collect();
    let mut assignment: Assignment = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    let mut owner: HashMap<TopicPartition, String> = HashMap::new();
    for (&id, tps) in owned {
        for tp in tps {
            let valid = tp.partition >= 0
                && partitions_per_topic
                    .get(&tp.topic)
                    .is_some_and(|&n| tp.partition < n);
            if valid && subscribed[id].contains(tp.topic.as_str()) {
                owner.insert(tp.clone(), id.to_string());
                if let Some(list) = assignment.get_mut(id) {
                    list.push(tp.clone());
                }
            }
        }
    }
    // Kafka's order: topics with fewer potential consumers first, then by name.
    let potential = |t: &str| subscribed.values().filter(|s| s.contains(t)).count();
    let mut topics: Vec<&String> = partitions_per_topic.keys().collect();
    topics.sort_by(|a, b| potential(a).cmp(&potential(b)).then(a.cmp(b)));
    let all: Vec<TopicPartition> = topics
        .iter()
        .flat_map(|t| (0..partitions_per_topic[*t]).map(|p| TopicPartition::new(t.as_str(), p)))
        .collect();
    let least_loaded = |assignment: &Assignment, topic: &str| -> Option<String> {
        assignment
            .iter()
            .filter(|(id, _)| subscribed[id.as_str()].contains(topic))
            .min_by(|a, b| a.1.len().cmp(&b.1.len()).then(a.0.cmp(b.0)))
            .map(|(id, _)| id.clone())
    };
    for tp in &all {
        if owner.contains_key(tp) {
            continue;
        }
        if let Some(id) = least_loaded(&assignment, &tp.topic) {
            owner.insert(tp.clone(), id.clone());
            if let Some(list) = assignment.get_mut(&id) {
                list.push(tp.clone());
            }
        }
    }
    // Balance: move a partition to an eligible member with at least two fewer partitions.
    let mut moved = true;
    let mut rounds = 0;
    while moved && rounds < all.len() * members.len().max(1) {
        moved = false;
        rounds += 1;
        for tp in &all {
            let Some(current) = owner.get(tp).cloned() else {
                continue;
            };
            let Some(target) = least_loaded(&assignment, &tp.topic) else {
                continue;
            };
            let from = assignment.get(&current).map_or(0, Vec::len);
            let to = assignment.get(&target).map_or(0, Vec::len);
            if to + 1 < from {
                if let Some(list) = assignment.get_mut(&current) {
                    list.retain(|x| x != tp);
                }
                if let Some(list) = assignment.get_mut(&target) {
                    list.push(tp.clone());
                }
                owner.insert(tp.clone(), target);
                moved = true;
            }
        }
    }
    assignment
}

/// The `sticky` assignor's user data (Kafka's `StickyAssignorUserData` v1): the member's
/// previous assignment, `[topic: STRING, partitions: [INT32]]`, then its generation (INT32).
pub(crate) fn encode_sticky_user_data(previous: &[TopicPartition], generation: i32) -> Bytes {
    use bytes::BufMut;
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in previous {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    let mut b = bytes::BytesMut::new();
    b.put_i32(by_topic.len() as i32);
    for (topic, partitions) in by_topic {
        b.put_i16(topic.len() as i16);
        b.put_slice(topic.as_bytes());
        b.put_i32(partitions.len() as i32);
        for p in partitions {
            b.put_i32(p);
        }
    }
    b.put_i32(generation);
    b.freeze()
}

/// Decodes [`encode_sticky_user_data`]'s format; v0 (no generation) gives generation -1.
/// `None` when the bytes are not that format.
pub(crate) fn decode_sticky_user_data(mut b: &[u8]) -> Option<(Vec<TopicPartition>, i32)> {
    fn take<const N: usize>(b: &mut &[u8]) -> Option<[u8; N]> {
        let (head, rest) = b.split_first_chunk::<N>()?;
        *b = rest;
        Some(*head)
    }
    let topics = i32::from_be_bytes(take::<4>(&mut b)?);
    let mut out = Vec::new();
    for _ in 0..topics.max(0) {
        let len = usize::try_from(i16::from_be_bytes(take::<2>(&mut b)?)).ok()?;
        let name = std::str::from_utf8(b.get(..len)?).ok()?.to_string();
        b = b.get(len..)?;
        let n = i32::from_be_bytes(take::<4>(&mut b)?);
        for _ in 0..n.max(0) {
            out.push(TopicPartition::new(
                name.clone(),
                i32::from_be_bytes(take::<4>(&mut b)?),
            ));
        }
    }
    let generation = take::<4>(&mut b).map_or(-1, i32::from_be_bytes);
    Some((out, generation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sticky_user_data_round_trips() {
        let tps = vec![
            TopicPartition::new("a", 1),
            TopicPartition::new("a", 0),
            TopicPartition::new("b", 2),
        ];
        let bytes = encode_sticky_user_data(&tps, 7);
        let (back, generation) = decode_sticky_user_data(&bytes).unwrap();
        assert_eq!(generation, 7);
        assert_eq!(
            back,
            [
                TopicPartition::new("a", 1),
                TopicPartition::new("a", 0),
                TopicPartition::new("b", 2)
            ]
        );
        // v0: no generation.
        let (_, generation) = decode_sticky_user_data(&bytes[..bytes.len() - 4]).unwrap();
        assert_eq!(generation, -1);
        assert!(decode_sticky_user_data(&[0, 0, 0, 1, 0]).is_none());
    }

    #[test]
    fn java_string_hashes() {
        // Values of "...".hashCode() in Java.
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("consumer-1"), -166_239_206);
    }

    #[test]
    fn hash_map_order_is_by_bucket_then_insertion() {
        // "Aa" and "BB" share a hash (2112, bucket 0) and keep insertion order; "a" (97) is
        // in bucket 1.
        assert_eq!(java_hash_map_order(&["a", "BB", "Aa"]), ["BB", "Aa", "a"]);
        assert_eq!(java_hash_map_order(&["a", "Aa", "BB"]), ["Aa", "BB", "a"]);
    }
}
