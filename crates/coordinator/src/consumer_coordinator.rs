//! The consumer group protocol of KIP-848 on [`GroupCoordinator`]: ConsumerGroupHeartbeat
//! (join, heartbeat, reconcile, leave), ConsumerGroupDescribe, and the session and revocation
//! timers, after Kafka's `GroupMetadataManager.consumerGroupHeartbeat`.
//!
//! Unlike the classic protocol nothing is parked: every heartbeat is answered at once with the
//! member's epoch and, when it changed, its assignment. The coordinator computes assignments
//! itself with the group's server-side assignor ([`crate::assignor`]).
//!
//! Consumer-group membership is kept in memory only (Kafka also writes it to
//! `__consumer_offsets` as records of keys 3 to 8). After a restart the group is unknown: a
//! member's next heartbeat gets `UNKNOWN_MEMBER_ID`, it rejoins with epoch 0 and resumes from
//! its committed offsets, which are persisted like any group's.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::consumer_group_describe_response::{
    self as describe, DescribedGroup,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{
    Assignment as HeartbeatAssignment, TopicPartitions,
};
use kafka_protocol::messages::{
    ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::assignor::{assignor, Assignment, TopicInfo};
use crate::consumer_group::{ConsumerGroup, ConsumerMember, MemberState};
use crate::coordinator::GroupCoordinator;

/// Member epoch of a member leaving the group.
pub const LEAVE_GROUP_MEMBER_EPOCH: i32 = -1;
/// Member epoch of a static member leaving temporarily (it keeps its partitions until its
/// session expires or it comes back).
pub const LEAVE_GROUP_STATIC_MEMBER_EPOCH: i32 = -2;

fn sb(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn error(e: ResponseError, message: impl Into<String>) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(e.code())
        .with_error_message(Some(StrBytes::from_string(message.into())))
        .with_member_epoch(0)
}

impl GroupCoordinator {
    /// ConsumerGroupHeartbeat. `topics` looks a topic up in the cluster metadata.
    pub fn consumer_group_heartbeat(
        &mut self,
        req: &ConsumerGroupHeartbeatRequest,
        client_id: &str,
        client_host: &str,
        topics: &dyn Fn(&str) -> Option<TopicInfo>,
        now: i64,
    ) -> ConsumerGroupHeartbeatResponse {
        if let Err((e, message)) = self.validate_heartbeat(req) {
            return error(e, message);
        }
        let group_id = req.group_id.0.to_string();
        if let Some(classic) = self.groups.get(&group_id) {
            if !classic.members.is_empty() || !classic.pending_members.is_empty() {
                return error(
                    ResponseError::GroupIdNotFound,
                    format!("Group {group_id} is not a consumer group."),
                );
            }
        }
        let result = if req.member_epoch < 0 {
            self.consumer_leave(&group_id, req, now)
        } else {
            self.consumer_heartbeat(&group_id, req, client_id, client_host, topics, now)
        };
        result.unwrap_or_else(|(e, message)| error(e, message))
    }

    /// The request checks of Kafka's `throwIfConsumerGroupHeartbeatRequestIsInvalid`.
    fn validate_heartbeat(
        &self,
        req: &ConsumerGroupHeartbeatRequest,
    ) -> Result<(), (ResponseError, String)> {
        let invalid = |m: &str| Err((ResponseError::InvalidRequest, m.to_string()));
        if req.group_id.0.is_empty() {
            return invalid("GroupId can't be empty.");
        }
        if req.instance_id.as_ref().is_some_and(|i| i.is_empty()) {
            return invalid("InstanceId can't be empty.");
        }
        if req.rack_id.as_ref().is_some_and(|r| r.is_empty()) {
            return invalid("RackId can't be empty.");
        }
        if req.subscribed_topic_regex.is_some() {
            return invalid("SubscribedTopicRegex is not supported yet.");
        }
        match req.member_epoch {
            0 => {
                if req.rebalance_timeout_ms == -1 {
                    return invalid("RebalanceTimeoutMs must be provided in first request.");
                }
                if req.topic_partitions.as_ref().is_none_or(|t| !t.is_empty()) {
                    return invalid("TopicPartitions must be empty when (re-)joining.");
                }
                if req.subscribed_topic_names.is_none() {
                    return invalid("SubscribedTopicNames must be set in first request.");
                }
            }
            LEAVE_GROUP_STATIC_MEMBER_EPOCH if req.instance_id.is_none() => {
                return invalid("InstanceId can't be null.");
            }
            e if e < LEAVE_GROUP_STATIC_MEMBER_EPOCH => {
                return invalid(&format!("MemberEpoch {e} is invalid."));
            }
            _ => {}
        }
        if req.member_epoch != 0 && req.member_id.is_empty() {
            return invalid("MemberId can't be empty.");
        }
        if let Some(name) = &req.server_assignor {
            if !self
                .config
                .consumer_assignors
                .iter()
                .any(|a| a == name.as_str())
            {
                return Err((
                    ResponseError::UnsupportedAssignor,
                    format!("ServerAssignor {name} is not supported."),
                ));
            }
        }
        Ok(())
    }

    fn consumer_leave(
        &mut self,
        group_id: &str,
        req: &ConsumerGroupHeartbeatRequest,
        now: i64,
    ) -> Result<ConsumerGroupHeartbeatResponse, (ResponseError, String)> {
        let Some(group) = self.consumer_groups.get_mut(group_id) else {
            return Err((
                ResponseError::GroupIdNotFound,
                format!("Group {group_id} not found."),
            ));
        };
        let member_id = req.member_id.to_string();
        let member_id = match req.instance_id.as_ref().map(|i| i.to_string()) {
            Some(instance) => match group.static_members.get(&instance) {
                None => {
                    return Err((
                        ResponseError::UnknownMemberId,
                        format!("Instance id {instance} is unknown."),
                    ))
                }
                Some(holder) if *holder != member_id => {
                    return Err((
                        ResponseError::FencedInstanceId,
                        format!("Instance id {instance} is held by another member."),
                    ))
                }
                Some(holder) => holder.clone(),
            },
            None => member_id,
        };
        let Some(member) = group.members.get(&member_id).cloned() else {
            return Err((
                ResponseError::UnknownMemberId,
                format!("Member {member_id} is not a member of group {group_id}."),
            ));
        };
        if req.member_epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH {
            // The static member keeps its partitions for its session: a restart within the
            // session timeout gets them back without moving anything.
            let mut m = member;
            m.member_epoch = LEAVE_GROUP_STATIC_MEMBER_EPOCH;
            m.revocation_deadline = None;
            group.put_member(m);
            tracing::info!(group = group_id, member = %member_id, "static member left temporarily");
        } else {
            group.remove_member(&member_id);
            group.group_epoch += 1;
            tracing::info!(group = group_id, member = %member_id, "member left the consumer group");
            self.note_if_empty(group_id, now);
        }
        Ok(ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(sb(&member_id)))
            .with_member_epoch(req.member_epoch))
    }

    #[allow(clippy::too_many_lines)]
    fn consumer_heartbeat(
        &mut self,
        group_id: &str,
        req: &ConsumerGroupHeartbeatRequest,
        client_id: &str,
        client_host: &str,
        topics: &dyn Fn(&str) -> Option<TopicInfo>,
        now: i64,
    ) -> Result<ConsumerGroupHeartbeatResponse, (ResponseError, String)> {
        let joining = req.member_epoch == 0;
        let config = self.config.clone();
        if !self.consumer_groups.contains_key(group_id) {
            if !joining {
                // Memberships are not persisted: after a restart the member is unknown and
                // rejoins with epoch 0.
                return Err((
                    ResponseError::UnknownMemberId,
                    format!(
                        "Member {} is not a member of group {group_id}.",
                        req.member_id
                    ),
                ));
            }
            self.consumer_groups.insert(
                group_id.to_string(),
                ConsumerGroup::new(group_id.to_string()),
            );
        }
        let member_id = if req.member_id.is_empty() {
            // Java 3.x clients let the coordinator choose the id (KIP-1082 moved it to the
            // client in 4.0).
            uuid::Uuid::new_v4().to_string()
        } else {
            req.member_id.to_string()
        };
        let instance_id = req.instance_id.as_ref().map(|i| i.to_string());
        let Some(group) = self.consumer_groups.get_mut(group_id) else {
            return Err((ResponseError::CoordinatorNotAvailable, String::new()));
        };

        // The member as it was, or a new one.
        let existing = group.members.get(&member_id).cloned();
        let mut fresh = false;
        let before: ConsumerMember = match (&instance_id, existing) {
            (Some(instance), _) if joining => {
                match group.static_members.get(instance).cloned() {
                    Some(old_id) if old_id != member_id => {
                        let Some(old) = group.members.get(&old_id).cloned() else {
                            return Err((ResponseError::UnknownServerError, String::new()));
                        };
                        if old.member_epoch != LEAVE_GROUP_STATIC_MEMBER_EPOCH {
                            return Err((
                                ResponseError::UnreleasedInstanceId,
                                format!(
                                    "Static member {old_id} with instance id {instance} is not released yet."
                                ),
                            ));
                        }
                        // The new instance takes over the old one's partitions and target.
                        let target = group.target.remove(&old_id);
                        group.remove_member(&old_id);
                        let mut m = old;
                        m.member_id = member_id.clone();
                        m.member_epoch = 0;
                        m.previous_member_epoch = 0;
                        if let Some(t) = target {
                            group.target.insert(member_id.clone(), t);
                        }
                        group.put_member(m.clone());
                        m
                    }
                    Some(_) => match group.members.get(&member_id).cloned() {
                        Some(m) => rejoin(group, m),
                        None => return Err((ResponseError::UnknownServerError, String::new())),
                    },
                    None => {
                        fresh = true;
                        ConsumerMember::new(member_id.clone(), now)
                    }
                }
            }
            (_, Some(m)) if joining => rejoin(group, m),
            (_, None) if joining => {
                fresh = true;
                ConsumerMember::new(member_id.clone(), now)
            }
            (_, None) => {
                return Err((
                    ResponseError::UnknownMemberId,
                    format!("Member {member_id} is not a member of group {group_id}."),
                ))
            }
            (instance, Some(m)) => {
                if let Some(instance) = instance {
                    if group.static_members.get(instance) != Some(&member_id) {
                        return Err((
                            ResponseError::FencedInstanceId,
                            format!("Instance id {instance} is held by another member."),
                        ));
                    }
                }
                let owned = owned_partitions(req);
                check_member_epoch(&m, req.member_epoch, owned.as_ref())?;
                m
            }
        };
        if fresh {
            let size = group.members.len();
            if usize::try_from(config.consumer_max_size).is_ok_and(|max| size >= max) {
                return Err((
                    ResponseError::GroupMaxSizeReached,
                    format!(
                        "The consumer group has reached its maximum capacity of {size} members."
                    ),
                ));
            }
        }

        // Update what the request says about the member.
        let mut member = before.clone();
        member.client_id = client_id.to_string();
        member.client_host = client_host.to_string();
        if instance_id.is_some() {
            member.instance_id = instance_id.clone();
        }
        if let Some(rack) = &req.rack_id {
            member.rack_id = Some(rack.to_string());
        }
        if req.rebalance_timeout_ms != -1 {
            member.rebalance_timeout_ms = req.rebalance_timeout_ms;
        }
        let mut bump = fresh;
        if let Some(names) = &req.subscribed_topic_names {
            let names: BTreeSet<String> = names.iter().map(|n| n.0.to_string()).collect();
            if names != member.subscribed_topic_names {
                member.subscribed_topic_names = names;
                bump = true;
            }
        }
        if let Some(name) = &req.server_assignor {
            if member.server_assignor.as_deref() != Some(name.as_str()) {
                member.server_assignor = Some(name.to_string());
                bump = true;
            }
        }
        member.session_deadline = now.saturating_add(i64::from(config.consumer_session_timeout_ms));
        group.put_member(member);

        // The subscribed topics' metadata: a topic created, deleted or grown changes the
        // assignment as a member change does.
        let metadata = group
            .subscribed_topic_names()
            .into_iter()
            .filter_map(|name| topics(&name).map(|t| (name, t)))
            .collect();
        if metadata != group.subscription_metadata {
            group.subscription_metadata = metadata;
            bump = true;
        }
        if bump {
            group.group_epoch += 1;
            tracing::debug!(
                group = group_id,
                epoch = group.group_epoch,
                "consumer group epoch bumped"
            );
        }
        if group.group_epoch > group.assignment_epoch {
            let name = group
                .preferred_assignor(&config.consumer_assignors)
                .unwrap_or("uniform");
            if let Some(a) = assignor(name) {
                group.compute_target(a);
            }
        }

        // Reconcile towards the target.
        let owned = owned_partitions(req);
        let Some(current) = group.members.get(&member_id).cloned() else {
            return Err((ResponseError::UnknownServerError, String::new()));
        };
        let mut next = group.reconcile(&current, owned.as_ref());
        if next.state == MemberState::UnrevokedPartitions {
            let newly = current.state != MemberState::UnrevokedPartitions
                || current.member_epoch != next.member_epoch;
            if newly || next.revocation_deadline.is_none() {
                next.revocation_deadline =
                    Some(now.saturating_add(i64::from(next.rebalance_timeout_ms.max(0))));
            }
        } else {
            next.revocation_deadline = None;
        }
        group.put_member(next.clone());

        let full = joining
            || (req.rebalance_timeout_ms != -1
                && req.subscribed_topic_names.is_some()
                && req.topic_partitions.is_some());
        let mut resp = ConsumerGroupHeartbeatResponse::default()
            .with_member_id(Some(sb(&member_id)))
            .with_member_epoch(next.member_epoch)
            .with_heartbeat_interval_ms(config.consumer_heartbeat_interval_ms);
        if full || next.assigned != before.assigned {
            resp = resp.with_assignment(Some(heartbeat_assignment(&next.assigned)));
        }
        Ok(resp)
    }

    /// When a consumer group loses its last member, its offsets start their retention clock.
    fn note_if_empty(&mut self, group_id: &str, now: i64) {
        let empty = self
            .consumer_groups
            .get(group_id)
            .is_some_and(|g| g.members.is_empty());
        if empty {
            if let Some(g) = self.groups.get_mut(group_id) {
                g.current_state_timestamp = now;
            }
        }
    }

    /// ConsumerGroupDescribe of one group.
    pub fn consumer_group_describe(&self, group_id: &str) -> DescribedGroup {
        let described = DescribedGroup::default().with_group_id(crate::group_id(group_id));
        let Some(group) = self.consumer_groups.get(group_id) else {
            let message = if self
                .groups
                .get(group_id)
                .is_some_and(|g| !g.members.is_empty())
            {
                format!("Group {group_id} is not a consumer group.")
            } else {
                format!("Group {group_id} not found.")
            };
            return described
                .with_error_code(ResponseError::GroupIdNotFound.code())
                .with_error_message(Some(StrBytes::from_string(message)))
                .with_group_state(sb("Dead"));
        };
        let to_describe = |a: &Assignment| {
            describe::Assignment::default().with_topic_partitions(
                a.iter()
                    .map(|(topic, partitions)| {
                        describe::TopicPartitions::default()
                            .with_topic_id(*topic)
                            .with_topic_name(TopicName(sb(group.topic_name(topic).unwrap_or(""))))
                            .with_partitions(partitions.iter().copied().collect())
                    })
                    .collect(),
            )
        };
        let empty = Assignment::new();
        let members = group
            .members
            .values()
            .map(|m| {
                describe::Member::default()
                    .with_member_id(sb(&m.member_id))
                    .with_instance_id(m.instance_id.as_deref().map(sb))
                    .with_rack_id(m.rack_id.as_deref().map(sb))
                    .with_member_epoch(m.member_epoch)
                    .with_client_id(sb(&m.client_id))
                    .with_client_host(sb(&m.client_host))
                    .with_subscribed_topic_names(
                        m.subscribed_topic_names
                            .iter()
                            .map(|n| TopicName(sb(n)))
                            .collect(),
                    )
                    .with_assignment(to_describe(&m.assigned))
                    .with_target_assignment(to_describe(
                        group.target.get(&m.member_id).unwrap_or(&empty),
                    ))
                    // 1 = the consumer protocol (0 would be a classic member).
                    .with_member_type(1)
            })
            .collect();
        described
            .with_group_state(sb(group.state().name()))
            .with_group_epoch(group.group_epoch)
            .with_assignment_epoch(group.assignment_epoch)
            .with_assignor_name(sb(&group.assignor_name))
            .with_members(members)
    }

    /// The consumer group of `group_id`, if it uses the consumer protocol.
    pub fn consumer_group(&self, group_id: &str) -> Option<&ConsumerGroup> {
        self.consumer_groups.get(group_id)
    }

    /// The earliest session or revocation deadline of a consumer-group member.
    pub(crate) fn consumer_next_deadline(&self) -> Option<i64> {
        self.consumer_groups
            .values()
            .flat_map(|g| g.members.values())
            .flat_map(|m| [Some(m.session_deadline), m.revocation_deadline])
            .flatten()
            .min()
    }

    /// Fences members whose session expired or who did not revoke within their rebalance
    /// timeout; the group epoch moves on so the others get their partitions.
    pub(crate) fn consumer_tick(&mut self, now: i64) {
        let mut emptied = Vec::new();
        for group in self.consumer_groups.values_mut() {
            let expired: Vec<(String, &'static str)> = group
                .members
                .values()
                .filter_map(|m| {
                    if m.session_deadline <= now {
                        Some((m.member_id.clone(), "session expired"))
                    } else if m.revocation_deadline.is_some_and(|d| d <= now)
                        && m.state == MemberState::UnrevokedPartitions
                    {
                        Some((
                            m.member_id.clone(),
                            "did not revoke within the rebalance timeout",
                        ))
                    } else {
                        None
                    }
                })
                .collect();
            if expired.is_empty() {
                continue;
            }
            for (id, why) in expired {
                tracing::info!(group = %group.group_id, member = %id, "consumer group member fenced: {why}");
                group.remove_member(&id);
            }
            group.group_epoch += 1;
            if group.members.is_empty() {
                emptied.push(group.group_id.clone());
            }
        }
        for id in emptied {
            self.note_if_empty(&id, now);
        }
    }
}

/// A member that rejoins with epoch 0 under its old id (it was fenced, or lost its state):
/// it starts over with nothing owned.
fn rejoin(group: &mut ConsumerGroup, mut m: ConsumerMember) -> ConsumerMember {
    m.member_epoch = 0;
    m.previous_member_epoch = 0;
    m.state = MemberState::Stable;
    m.assigned = Assignment::new();
    m.pending_revocation = Assignment::new();
    m.revocation_deadline = None;
    group.put_member(m.clone());
    m
}

/// The member's epoch check of Kafka's `throwIfMemberEpochIsInvalid`: a newer epoch than the
/// coordinator gave is fenced; an older one only passes when it is the previous epoch and
/// the member owns no more than its current assignment (the response with the new epoch was
/// lost).
fn check_member_epoch(
    m: &ConsumerMember,
    received: i32,
    owned: Option<&Assignment>,
) -> Result<(), (ResponseError, String)> {
    let fenced = || {
        Err((
            ResponseError::FencedMemberEpoch,
            format!(
                "The consumer group member has a greater or smaller epoch ({received}) than the one known by the coordinator ({}).",
                m.member_epoch
            ),
        ))
    };
    if received > m.member_epoch {
        return fenced();
    }
    if received < m.member_epoch {
        let subset = owned.is_some_and(|o| {
            o.iter().all(|(t, ps)| {
                m.assigned
                    .get(t)
                    .is_some_and(|a| ps.iter().all(|p| a.contains(p)))
            })
        });
        if received != m.previous_member_epoch || !subset {
            return fenced();
        }
    }
    Ok(())
}

fn owned_partitions(req: &ConsumerGroupHeartbeatRequest) -> Option<Assignment> {
    req.topic_partitions.as_ref().map(|tps| {
        let mut a = Assignment::new();
        for tp in tps {
            if !tp.partitions.is_empty() {
                a.entry(tp.topic_id)
                    .or_default()
                    .extend(tp.partitions.iter().copied());
            }
        }
        a
    })
}

fn heartbeat_assignment(a: &Assignment) -> HeartbeatAssignment {
    HeartbeatAssignment::default().with_topic_partitions(
        a.iter()
            .map(|(topic, partitions)| {
                TopicPartitions::default()
                    .with_topic_id(*topic)
                    .with_partitions(partitions.iter().copied().collect())
            })
            .collect(),
    )
}
