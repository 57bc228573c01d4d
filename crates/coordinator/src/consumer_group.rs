//! One consumer-protocol (KIP-848) group: members with their epochs, the group epoch, the
//! target assignment and its epoch, and the reconciliation that moves each member from what
//! it owns towards its target (Kafka's `ConsumerGroup`, `ConsumerGroupMember` and
//! `CurrentAssignmentBuilder`).
//!
//! The epochs:
//! - the **group epoch** is bumped whenever the group's inputs change: a member joins, leaves
//!   or is fenced, a subscription changes, a subscribed topic gains partitions;
//! - the **assignment epoch** is the group epoch the target assignment was computed for; a
//!   group whose group epoch is ahead is `Assigning`;
//! - each **member epoch** is the assignment epoch the member has reached. A member moves to
//!   the target epoch only once it has given up (no longer reports owning) every partition it
//!   must revoke; and a partition joins a member's assignment only when no other member owns
//!   it (its *partition epoch* is free). Revoke first, then assign: no partition is ever
//!   consumed by two members, and no member stops for partitions it keeps.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use uuid::Uuid;

use crate::assignor::{Assignment, AssignmentMember, AssignmentSpec, PartitionAssignor, TopicInfo};

/// Kafka's consumer group states, as ConsumerGroupDescribe and ListGroups name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerGroupState {
    Empty,
    Assigning,
    Reconciling,
    Stable,
}

impl ConsumerGroupState {
    pub fn name(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }
}

/// Where a member is in its reconciliation (Kafka's `MemberState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// At its target epoch with everything it may have.
    Stable,
    /// Told to revoke partitions; stays at its epoch until it no longer owns them.
    UnrevokedPartitions,
    /// At the target epoch, waiting for partitions other members still own.
    UnreleasedPartitions,
}

impl MemberState {
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Stable => "stable",
            MemberState::UnrevokedPartitions => "unrevoked_partitions",
            MemberState::UnreleasedPartitions => "unreleased_partitions",
        }
    }
}

/// A member of a consumer-protocol group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub state: MemberState,
    pub rebalance_timeout_ms: i32,
    pub subscribed_topic_names: BTreeSet<String>,
    /// `group.remote.assignor` of the client, if it set one.
    pub server_assignor: Option<String>,
    /// What the member may consume now (the heartbeat response's assignment).
    pub assigned: Assignment,
    /// What the member was told to give up and has not yet confirmed.
    pub pending_revocation: Assignment,
    /// The session expires at this time unless a heartbeat comes first.
    pub session_deadline: i64,
    /// While revoking: the member is fenced if it has not revoked by this time.
    pub revocation_deadline: Option<i64>,
}

impl ConsumerMember {
    pub fn new(member_id: String, now: i64) -> Self {
        Self {
            member_id,
            instance_id: None,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            member_epoch: 0,
            previous_member_epoch: 0,
            state: MemberState::Stable,
            rebalance_timeout_ms: -1,
            subscribed_topic_names: BTreeSet::new(),
            server_assignor: None,
            assigned: Assignment::new(),
            pending_revocation: Assignment::new(),
            session_deadline: now,
            revocation_deadline: None,
        }
    }

    /// Whether the member has nothing left to do to reach `target_epoch`.
    pub fn is_reconciled_to(&self, target_epoch: i32) -> bool {
        self.state == MemberState::Stable && self.member_epoch == target_epoch
    }

    fn set_epoch(&mut self, epoch: i32) {
        self.previous_member_epoch = self.member_epoch;
        self.member_epoch = epoch;
    }
}

/// A consumer-protocol group's membership. Its committed offsets live with the classic
/// [`crate::Group`] of the same id, stored and fetched the same way.
#[derive(Debug, Clone)]
pub struct ConsumerGroup {
    pub group_id: String,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ConsumerMember>,
    /// group.instance.id -> member id.
    pub static_members: HashMap<String, String>,
    /// Target assignment per member id, computed at `assignment_epoch`.
    pub target: BTreeMap<String, Assignment>,
    /// Owner of each partition assigned or pending revocation: the owning member's epoch.
    /// A partition absent here is free to assign.
    partition_owners: HashMap<(Uuid, i32), (String, i32)>,
    /// The subscribed topics as of the last group epoch (name -> id and partition count);
    /// a change bumps the group epoch.
    pub subscription_metadata: BTreeMap<String, TopicInfo>,
    /// The assignor that computed the current target.
    pub assignor_name: String,
}

impl ConsumerGroup {
    pub fn new(group_id: String) -> Self {
        Self {
            group_id,
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            static_members: HashMap::new(),
            target: BTreeMap::new(),
            partition_owners: HashMap::new(),
            subscription_metadata: BTreeMap::new(),
            assignor_name: String::new(),
        }
    }

    pub fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            ConsumerGroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| !m.is_reconciled_to(self.assignment_epoch))
        {
            ConsumerGroupState::Reconciling
        } else {
            ConsumerGroupState::Stable
        }
    }

    /// The epoch of the member owning `(topic, partition)`, `-1` if it is free.
    pub fn partition_epoch(&self, topic: Uuid, partition: i32) -> i32 {
        self.partition_owners
            .get(&(topic, partition))
            .map_or(-1, |(_, epoch)| *epoch)
    }

    /// Inserts or replaces a member, keeping the partition owners in step with what it holds.
    pub fn put_member(&mut self, member: ConsumerMember) {
        if let Some(old) = self.members.get(&member.member_id).cloned() {
            self.release(&old);
        }
        self.claim(&member);
        if let Some(instance) = &member.instance_id {
            self.static_members
                .insert(instance.clone(), member.member_id.clone());
        }
        self.members.insert(member.member_id.clone(), member);
    }

    /// Removes a member and frees what it owned; its target is dropped too.
    pub fn remove_member(&mut self, member_id: &str) -> Option<ConsumerMember> {
        let member = self.members.remove(member_id)?;
        self.release(&member);
        if let Some(instance) = &member.instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        self.target.remove(member_id);
        Some(member)
    }

    fn claim(&mut self, m: &ConsumerMember) {
        for (topic, partitions) in m.assigned.iter().chain(m.pending_revocation.iter()) {
            for &p in partitions {
                self.partition_owners
                    .insert((*topic, p), (m.member_id.clone(), m.member_epoch));
            }
        }
    }

    fn release(&mut self, m: &ConsumerMember) {
        for (topic, partitions) in m.assigned.iter().chain(m.pending_revocation.iter()) {
            for &p in partitions {
                let owned_by_m = self
                    .partition_owners
                    .get(&(*topic, p))
                    .is_some_and(|(owner, _)| *owner == m.member_id);
                if owned_by_m {
                    self.partition_owners.remove(&(*topic, p));
                }
            }
        }
    }

    /// Every topic name any member subscribes to.
    pub fn subscribed_topic_names(&self) -> BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| m.subscribed_topic_names.iter().cloned())
            .collect()
    }

    /// The assignor to use: the one most members ask for (ties to the first name in
    /// `configured` order), else the first configured one (Kafka's `computePreferredServerAssignor`).
    pub fn preferred_assignor<'a>(&self, configured: &'a [String]) -> Option<&'a str> {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for m in self.members.values() {
            if let Some(name) = m.server_assignor.as_deref() {
                *votes.entry(name).or_default() += 1;
            }
        }
        let mut best: Option<(&'a str, usize)> = None;
        for name in configured {
            let count = votes.get(name.as_str()).copied().unwrap_or(0);
            if count > 0 && best.is_none_or(|(_, b)| count > b) {
                best = Some((name.as_str(), count));
            }
        }
        best.map(|(n, _)| n)
            .or_else(|| configured.first().map(String::as_str))
    }

    /// Computes the target assignment for the current group epoch.
    pub fn compute_target(&mut self, assignor: &dyn PartitionAssignor) {
        let spec = AssignmentSpec {
            members: self
                .members
                .iter()
                .map(|(id, m)| {
                    let subscribed = m
                        .subscribed_topic_names
                        .iter()
                        .filter_map(|name| self.subscription_metadata.get(name))
                        .map(|t| t.topic_id)
                        .collect();
                    let current = self.target.get(id).cloned().unwrap_or_default();
                    (
                        id.clone(),
                        AssignmentMember {
                            subscribed,
                            current,
                        },
                    )
                })
                .collect(),
            topics: self
                .subscription_metadata
                .values()
                .map(|t| (t.topic_id, t.partitions))
                .collect(),
        };
        self.target = assignor.assign(&spec);
        self.assignment_epoch = self.group_epoch;
        self.assignor_name = assignor.name().to_string();
    }

    /// The topic name of `topic_id` among the subscribed topics.
    pub fn topic_name(&self, topic_id: &Uuid) -> Option<&str> {
        self.subscription_metadata
            .iter()
            .find(|(_, t)| t.topic_id == *topic_id)
            .map(|(n, _)| n.as_str())
    }

    /// Moves `member` towards its target (Kafka's `CurrentAssignmentBuilder`). `owned` is
    /// what the member reported owning in this heartbeat (`None`: not reported, assume it
    /// still owns everything it was given). Returns the updated member; the caller stores it.
    pub fn reconcile(&self, member: &ConsumerMember, owned: Option<&Assignment>) -> ConsumerMember {
        let target_epoch = self.assignment_epoch;
        if member.is_reconciled_to(target_epoch) {
            return member.clone();
        }
        match member.state {
            MemberState::Stable => {
                self.next_assignment(member, member.member_epoch, &member.assigned, owned)
            }
            MemberState::UnrevokedPartitions => {
                if owns_any(owned, &member.pending_revocation) {
                    return member.clone();
                }
                self.next_assignment(member, member.member_epoch + 1, &member.assigned, owned)
            }
            MemberState::UnreleasedPartitions => {
                self.next_assignment(member, member.member_epoch, &member.assigned, owned)
            }
        }
    }

    fn next_assignment(
        &self,
        member: &ConsumerMember,
        epoch_if_revoking: i32,
        current: &Assignment,
        owned: Option<&Assignment>,
    ) -> ConsumerMember {
        let empty = Assignment::new();
        let target = self.target.get(&member.member_id).unwrap_or(&empty);
        let topics: BTreeSet<Uuid> = target.keys().chain(current.keys()).copied().collect();
        let mut assigned = Assignment::new();
        let mut revoking = Assignment::new();
        let mut to_assign = Assignment::new();
        let mut unreleased = false;
        for topic in topics {
            let want = target.get(&topic).cloned().unwrap_or_default();
            let have = current.get(&topic).cloned().unwrap_or_default();
            let keep: BTreeSet<i32> = have.intersection(&want).copied().collect();
            let revoke: BTreeSet<i32> = have.difference(&keep).copied().collect();
            let mut add: BTreeSet<i32> = want.difference(&keep).copied().collect();
            let before = add.len();
            // Another member still owns it: wait until it is released.
            add.retain(|&p| {
                self.partition_owners
                    .get(&(topic, p))
                    .is_none_or(|(owner, _)| *owner == member.member_id)
            });
            unreleased |= add.len() != before;
            if !keep.is_empty() {
                assigned.insert(topic, keep);
            }
            if !revoke.is_empty() {
                revoking.insert(topic, revoke);
            }
            if !add.is_empty() {
                to_assign.insert(topic, add);
            }
        }
        let mut next = member.clone();
        if !revoking.is_empty() && owns_any(owned, &revoking) {
            next.state = MemberState::UnrevokedPartitions;
            if next.member_epoch != epoch_if_revoking {
                next.set_epoch(epoch_if_revoking);
            }
            next.assigned = assigned;
            next.pending_revocation = revoking;
            return next;
        }
        for (topic, partitions) in to_assign {
            assigned.entry(topic).or_default().extend(partitions);
        }
        next.state = if unreleased {
            MemberState::UnreleasedPartitions
        } else {
            MemberState::Stable
        };
        if next.member_epoch != self.assignment_epoch {
            next.set_epoch(self.assignment_epoch);
        }
        next.assigned = assigned;
        next.pending_revocation = Assignment::new();
        next
    }
}

/// Whether `owned` (unknown = yes) holds any partition of `partitions`.
fn owns_any(owned: Option<&Assignment>, partitions: &Assignment) -> bool {
    let Some(owned) = owned else {
        return true;
    };
    partitions.iter().any(|(topic, ps)| {
        owned
            .get(topic)
            .is_some_and(|o| ps.iter().any(|p| o.contains(p)))
    })
}
