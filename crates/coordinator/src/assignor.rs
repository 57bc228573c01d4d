//! Server-side partition assignors of consumer-protocol (KIP-848) groups: the input they see,
//! the assignment they return, and the lookup by the names clients put in
//! `group.remote.assignor` (Kafka's `ConsumerGroupPartitionAssignor`).
//!
//! An assignor is a pure function of the members' subscriptions, their current target
//! assignment (so it can be sticky) and the subscribed topics' partition counts. It never sees
//! who still owns what: the reconciliation in [`crate::ConsumerGroup`] turns a new target into
//! revocations first and assignments second.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::range::RangeAssignor;
use crate::uniform::UniformAssignor;

/// Partitions per topic id: a member's assignment (current, pending revocation or target).
pub type Assignment = BTreeMap<Uuid, BTreeSet<i32>>;

/// A topic as the coordinator knows it from the cluster metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicInfo {
    pub topic_id: Uuid,
    pub partitions: i32,
}

/// One member as an assignor sees it.
#[derive(Debug, Clone, Default)]
pub struct AssignmentMember {
    /// Subscribed topics that exist, by id.
    pub subscribed: BTreeSet<Uuid>,
    /// The member's current target assignment, the starting point of a sticky assignor.
    pub current: Assignment,
}

/// What an assignor is given: members by member id and the partition count of every topic
/// any of them subscribes to.
#[derive(Debug, Clone, Default)]
pub struct AssignmentSpec {
    pub members: BTreeMap<String, AssignmentMember>,
    pub topics: BTreeMap<Uuid, i32>,
}

impl AssignmentSpec {
    /// Members subscribed to `topic`, in member id order.
    pub fn subscribers(&self, topic: &Uuid) -> Vec<&String> {
        self.members
            .iter()
            .filter(|(_, m)| m.subscribed.contains(topic))
            .map(|(id, _)| id)
            .collect()
    }
}

/// A server-side assignor.
pub trait PartitionAssignor: Send + Sync {
    /// The name clients select it by (`group.remote.assignor`).
    fn name(&self) -> &'static str;
    /// The target assignment of every member of `spec` (members with nothing get an empty
    /// assignment, never a missing entry).
    fn assign(&self, spec: &AssignmentSpec) -> BTreeMap<String, Assignment>;
}

/// The assignor called `name`, if Weir has one.
pub fn assignor(name: &str) -> Option<&'static dyn PartitionAssignor> {
    match name {
        "uniform" => Some(&UniformAssignor),
        "range" => Some(&RangeAssignor),
        _ => None,
    }
}

/// Every partition of `spec`'s topics, in topic id then partition order.
pub(crate) fn all_partitions(spec: &AssignmentSpec) -> Vec<(Uuid, i32)> {
    spec.topics
        .iter()
        .flat_map(|(&t, &n)| (0..n.max(0)).map(move |p| (t, p)))
        .collect()
}

/// An empty assignment for every member.
pub(crate) fn empty_for(spec: &AssignmentSpec) -> BTreeMap<String, Assignment> {
    spec.members
        .keys()
        .map(|id| (id.clone(), Assignment::new()))
        .collect()
}

/// Adds `(topic, partition)` to `member`'s assignment in `out`.
pub(crate) fn give(
    out: &mut BTreeMap<String, Assignment>,
    member: &str,
    topic: Uuid,
    partition: i32,
) {
    if let Some(a) = out.get_mut(member) {
        a.entry(topic).or_default().insert(partition);
    }
}

/// Number of partitions in an assignment.
pub fn partition_count(a: &Assignment) -> usize {
    a.values().map(BTreeSet::len).sum()
}
