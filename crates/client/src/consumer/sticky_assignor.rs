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
//! When subscriptions differ, this is Kafka's general algorithm, also step for step: owned
//! partitions kept where still subscribed, the others given to the least loaded member that
//! can take them, then partitions moved (to their previous owner of an older generation when
//! that helps, else to the least loaded candidate) while that improves the balance, undone if
//! the balance score did not improve. The orders Java's hash maps and sets give it are
//! reproduced (member ids, and the first partition of a `HashSet<TopicPartition>` when a move
//! is undone).
//!
//! Kafka's rack-aware variants are not here: this client sends no `client.rack`, and racks are
//! only used when members send theirs.
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
        (general(members, partitions_per_topic, &order, &owned), None)
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

/// Java's `TopicPartition.hashCode`: `31 * (31 + partition) + topic.hashCode()`.
fn java_tp_hash(tp: &TopicPartition) -> i32 {
    31i32
        .wrapping_mul(31i32.wrapping_add(tp.partition))
        .wrapping_add(java_string_hash(&tp.topic))
}

/// A Java `HashSet<TopicPartition>` where only "the first element" matters: its iteration
/// order is by bucket at the current capacity (which only grows), then insertion order.
#[derive(Default, Clone)]
struct JavaTpSet {
    items: Vec<TopicPartition>,
    capacity: usize,
}

impl JavaTpSet {
    fn insert(&mut self, tp: TopicPartition) {
        if self.capacity == 0 {
            self.capacity = 16;
        }
        if !self.items.contains(&tp) {
            self.items.push(tp);
            while self.items.len() > self.capacity * 3 / 4 {
                self.capacity *= 2;
            }
        }
    }
    fn remove(&mut self, tp: &TopicPartition) {
        self.items.retain(|x| x != tp);
    }
    fn first(&self) -> Option<&TopicPartition> {
        let bucket = |tp: &TopicPartition| {
            let h = java_tp_hash(tp) as u32;
            ((h ^ (h >> 16)) as usize) & (self.capacity.max(1) - 1)
        };
        // min_by_key keeps the first of equal keys: insertion order within a bucket.
        self.items.iter().min_by_key(|tp| bucket(tp))
    }
}

/// Kafka's `PartitionMovements`: which partitions moved between which members, so that a
/// partition moving back undoes a move instead of adding one.
#[derive(Default)]
struct PartitionMovements {
    by_topic: HashMap<String, HashMap<(String, String), JavaTpSet>>,
    moves: HashMap<TopicPartition, (String, String)>,
}

impl PartitionMovements {
    fn remove_record(&mut self, tp: &TopicPartition) -> Option<(String, String)> {
        let pair = self.moves.remove(tp)?;
        if let Some(topic) = self.by_topic.get_mut(&tp.topic) {
            if let Some(set) = topic.get_mut(&pair) {
                set.remove(tp);
                if set.items.is_empty() {
                    topic.remove(&pair);
                }
            }
            if topic.is_empty() {
                self.by_topic.remove(&tp.topic);
            }
        }
        Some(pair)
    }

    fn add_record(&mut self, tp: &TopicPartition, pair: (String, String)) {
        self.moves.insert(tp.clone(), pair.clone());
        self.by_topic
            .entry(tp.topic.clone())
            .or_default()
            .entry(pair)
            .or_default()
            .insert(tp.clone());
    }

    fn move_partition(&mut self, tp: &TopicPartition, old: &str, new: &str) {
        if self.moves.contains_key(tp) {
            if let Some(existing) = self.remove_record(tp) {
                if existing.0 != new {
                    self.add_record(tp, (existing.0, new.to_string()));
                }
            }
        } else {
            self.add_record(tp, (old.to_string(), new.to_string()));
        }
    }

    fn actual_partition_to_move(
        &self,
        tp: &TopicPartition,
        old: &str,
        new: &str,
    ) -> TopicPartition {
        let Some(topic) = self.by_topic.get(&tp.topic) else {
            return tp.clone();
        };
        let old = match self.moves.get(tp) {
            Some(pair) => pair.0.as_str(),
            None => old,
        };
        match topic.get(&(new.to_string(), old.to_string())) {
            Some(set) => set.first().cloned().unwrap_or_else(|| tp.clone()),
            None => tp.clone(),
        }
    }
}

/// Kafka's `GeneralAssignmentBuilder` (without racks), for members with different
/// subscriptions: keep owned partitions, give each unassigned partition to the least loaded
/// member that can take it, then move partitions while that improves the balance.
struct General<'a> {
    partitions_per_topic: &'a HashMap<String, i32>,
    /// Member ids in Java's HashMap order.
    order: Vec<String>,
    topic_consumers: HashMap<String, Vec<String>>,
    consumer_topics: HashMap<String, Vec<String>>,
    current: HashMap<String, Vec<TopicPartition>>,
    owner: HashMap<TopicPartition, String>,
    sorted_all: Vec<TopicPartition>,
    /// Kafka's `sortedCurrentSubscriptions`: (partition count, member id).
    sorted: BTreeSet<(usize, String)>,
    movements: PartitionMovements,
    revocation_required: bool,
    total: usize,
}

impl<'a> General<'a> {
    fn size(&self, consumer: &str) -> usize {
        self.current.get(consumer).map_or(0, Vec::len)
    }

    fn sorted_remove(&mut self, consumer: &str) {
        let key = (self.size(consumer), consumer.to_string());
        self.sorted.remove(&key);
    }

    fn sorted_add(&mut self, consumer: &str) {
        let key = (self.size(consumer), consumer.to_string());
        self.sorted.insert(key);
    }

    fn max_assignment_size(&self, topics: &[String]) -> usize {
        if topics.len() == self.partitions_per_topic.len() {
            self.total
        } else {
            topics
                .iter()
                .map(|t| usize::try_from(self.partitions_per_topic[t]).unwrap_or(0))
                .sum()
        }
    }

    fn subscribed(&self, consumer: &str, topic: &str) -> bool {
        self.consumer_topics
            .get(consumer)
            .is_some_and(|ts| ts.iter().any(|t| t == topic))
    }

    fn is_balanced(&self) -> bool {
        let (Some(first), Some(last)) = (self.sorted.first(), self.sorted.last()) else {
            return true;
        };
        if first.0 + 1 >= last.0 {
            return true;
        }
        let mut all: HashMap<&TopicPartition, &str> = HashMap::new();
        for id in &self.order {
            for tp in self.current.get(id).into_iter().flatten() {
                all.insert(tp, id);
            }
        }
        for (count, consumer) in &self.sorted {
            let topics = &self.consumer_topics[consumer];
            if *count == self.max_assignment_size(topics) {
                continue;
            }
            let mine = &self.current[consumer];
            for topic in topics {
                for p in 0..self.partitions_per_topic[topic] {
                    let tp = TopicPartition::new(topic.as_str(), p);
                    if mine.contains(&tp) {
                        continue;
                    }
                    if let Some(other) = all.get(&tp) {
                        if count + 1 < self.size(other) {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }

    fn can_consumer_participate(&self, consumer: &str) -> bool {
        let size = self.size(consumer);
        if size < self.max_assignment_size(&self.consumer_topics[consumer]) {
            return true;
        }
        self.current
            .get(consumer)
            .into_iter()
            .flatten()
            .any(|tp| self.topic_consumers[&tp.topic].len() >= 2)
    }

    fn reassign_to(&mut self, tp: &TopicPartition, new: &str) {
        let Some(old) = self.owner.get(tp).cloned() else {
            return;
        };
        let moved = self.movements.actual_partition_to_move(tp, &old, new);
        let Some(old) = self.owner.get(&moved).cloned() else {
            return;
        };
        self.sorted_remove(&old);
        self.sorted_remove(new);
        self.movements.move_partition(&moved, &old, new);
        if let Some(list) = self.current.get_mut(&old) {
            if let Some(i) = list.iter().position(|x| *x == moved) {
                list.remove(i);
            }
        }
        self.current
            .entry(new.to_string())
            .or_default()
            .push(moved.clone());
        self.owner.insert(moved, new.to_string());
        self.sorted_add(new);
        self.sorted_add(&old);
    }

    fn perform_reassignments(
        &mut self,
        partitions: &[TopicPartition],
        prev: &HashMap<TopicPartition, (String, i32)>,
    ) -> bool {
        let mut performed = false;
        loop {
            let mut modified = false;
            for tp in partitions {
                if self.is_balanced() {
                    break;
                }
                let Some(consumer) = self.owner.get(tp).cloned() else {
                    continue;
                };
                if let Some((prev_owner, _)) = prev.get(tp) {
                    if self.size(&consumer) > self.size(prev_owner) + 1 {
                        let prev_owner = prev_owner.clone();
                        self.reassign_to(tp, &prev_owner);
                        performed = true;
                        modified = true;
                        continue;
                    }
                }
                let others = self.topic_consumers[&tp.topic].clone();
                if others
                    .iter()
                    .any(|other| self.size(&consumer) > self.size(other) + 1)
                {
                    let target = self
                        .sorted
                        .iter()
                        .find(|(_, c)| self.subscribed(c, &tp.topic))
                        .map(|(_, c)| c.clone());
                    if let Some(target) = target {
                        self.reassign_to(tp, &target);
                    }
                    performed = true;
                    modified = true;
                }
            }
            if !modified {
                return performed;
            }
        }
    }
}

fn balance_score(assignment: &HashMap<String, Vec<TopicPartition>>) -> usize {
    let sizes: Vec<usize> = assignment.values().map(Vec::len).collect();
    let mut score = 0;
    for (i, a) in sizes.iter().enumerate() {
        for b in &sizes[i + 1..] {
            score += a.abs_diff(*b);
        }
    }
    score
}

/// Kafka's general sticky algorithm (members with different subscriptions).
fn general(
    members: &[MemberSubscription],
    partitions_per_topic: &HashMap<String, i32>,
    order: &[&str],
    owned: &BTreeMap<&str, Vec<TopicPartition>>,
) -> Assignment {
    let by_id: HashMap<&str, &MemberSubscription> =
        members.iter().map(|m| (m.member_id.as_str(), m)).collect();
    let max_generation = members
        .iter()
        .map(|m| m.generation)
        .max()
        .unwrap_or(-1)
        .max(-1);
    let mut topic_consumers: HashMap<String, Vec<String>> = partitions_per_topic
        .keys()
        .map(|t| (t.clone(), Vec::new()))
        .collect();
    let mut consumer_topics: HashMap<String, Vec<String>> = HashMap::new();
    let mut current: HashMap<String, Vec<TopicPartition>> = HashMap::new();
    for &id in order {
        let m = by_id[id];
        let mut topics = Vec::new();
        for t in &m.topics {
            if let Some(list) = topic_consumers.get_mut(t) {
                topics.push(t.clone());
                list.push(id.to_string());
            }
        }
        consumer_topics.insert(id.to_string(), topics);
        current.insert(id.to_string(), owned.get(id).cloned().unwrap_or_default());
    }
    let mut owner: HashMap<TopicPartition, String> = HashMap::new();
    for &id in order {
        for tp in &current[id] {
            owner.insert(tp.clone(), id.to_string());
        }
    }
    let topic_key = |t: &String| (topic_consumers[t].len(), t.clone());
    let mut sorted_topics: Vec<&String> = topic_consumers.keys().collect();
    sorted_topics.sort_by_key(|t| topic_key(t));
    let sorted_all: Vec<TopicPartition> = sorted_topics
        .iter()
        .flat_map(|t| (0..partitions_per_topic[*t]).map(|p| TopicPartition::new(t.as_str(), p)))
        .collect();
    let total = sorted_all.len();
    let mut b = General {
        partitions_per_topic,
        order: order.iter().map(|s| s.to_string()).collect(),
        topic_consumers,
        consumer_topics,
        current,
        owner,
        sorted_all,
        sorted: BTreeSet::new(),
        movements: PartitionMovements::default(),
        revocation_required: false,
        total,
    };

    // prepopulateCurrentAssignments: partitions members owned in older generations.
    let mut prev: HashMap<TopicPartition, (String, i32)> = HashMap::new();
    for &id in order {
        let m = by_id[id];
        if m.generation < max_generation {
            for tp in &m.owned_partitions {
                match prev.get(tp) {
                    Some((_, g)) if m.generation <= *g => {}
                    _ => {
                        prev.insert(tp.clone(), (id.to_string(), m.generation));
                    }
                }
            }
        }
    }

    // assignOwnedPartitions.
    let mut assigned: HashSet<TopicPartition> = HashSet::new();
    for id in b.order.clone() {
        let list = b.current.get(&id).cloned().unwrap_or_default();
        let mut kept = Vec::new();
        for tp in list {
            if !b.topic_consumers.contains_key(&tp.topic) {
                b.owner.remove(&tp);
            } else if !b.subscribed(&id, &tp.topic) {
                b.revocation_required = true;
            } else {
                assigned.insert(tp.clone());
                kept.push(tp);
            }
        }
        b.current.insert(id, kept);
    }
    let mut unassigned: Vec<TopicPartition> = b
        .sorted_all
        .iter()
        .filter(|tp| !assigned.contains(*tp))
        .cloned()
        .collect();
    for id in b.order.clone() {
        b.sorted_add(&id);
    }

    // balance.
    let initializing = b
        .sorted
        .last()
        .is_none_or(|(_, c)| b.current.get(c).is_none_or(Vec::is_empty));
    for tp in &unassigned {
        if b.topic_consumers[&tp.topic].is_empty() {
            continue;
        }
        let target = b
            .sorted
            .iter()
            .find(|(_, c)| b.subscribed(c, &tp.topic))
            .map(|(_, c)| c.clone());
        if let Some(c) = target {
            b.sorted_remove(&c);
            b.current.entry(c.clone()).or_default().push(tp.clone());
            b.owner.insert(tp.clone(), c.clone());
            b.sorted_add(&c);
        }
    }
    let fixed_topics: HashSet<String> = b
        .topic_consumers
        .iter()
        .filter(|(_, cs)| cs.len() < 2)
        .map(|(t, _)| t.clone())
        .collect();
    b.sorted_all.retain(|tp| !fixed_topics.contains(&tp.topic));
    unassigned.retain(|tp| !fixed_topics.contains(&tp.topic));
    let mut fixed: Vec<(String, Vec<TopicPartition>)> = Vec::new();
    for id in b.order.clone() {
        if !b.can_consumer_participate(&id) {
            b.sorted_remove(&id);
            if let Some(list) = b.current.remove(&id) {
                fixed.push((id, list));
            }
        }
    }
    let pre_balance = b.current.clone();
    let pre_owner = b.owner.clone();
    if !b.revocation_required {
        b.perform_reassignments(&unassigned, &prev);
    }
    let all = b.sorted_all.clone();
    let performed = b.perform_reassignments(&all, &prev);
    if !initializing && performed && balance_score(&b.current) >= balance_score(&pre_balance) {
        b.current = pre_balance;
        b.owner = pre_owner;
    }
    for (id, list) in fixed {
        b.current.insert(id.clone(), list);
        b.sorted_add(&id);
    }
    members
        .iter()
        .map(|m| {
            (
                m.member_id.clone(),
                b.current.get(&m.member_id).cloned().unwrap_or_default(),
            )
        })
        .collect()
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
    fn java_hash_set_first_element() {
        // Checked with java.util.HashSet<org.apache.kafka.common.TopicPartition>.
        assert_eq!(java_tp_hash(&TopicPartition::new("t1", 3)), 4699);
        let mut set = JavaTpSet::default();
        for t in ["t2", "t0", "t1"] {
            for p in 0..5 {
                set.insert(TopicPartition::new(t, p));
            }
        }
        assert_eq!(set.first(), Some(&TopicPartition::new("t0", 4)));
        let mut set = JavaTpSet::default();
        set.insert(TopicPartition::new("t1", 3));
        set.insert(TopicPartition::new("t0", 7));
        assert_eq!(set.first(), Some(&TopicPartition::new("t0", 7)));
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
