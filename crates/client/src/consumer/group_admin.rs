//! Listing and describing consumer groups (what `kafka-consumer-groups` shows).

use std::collections::BTreeSet;
use std::sync::Arc;

use weir_protocol::kafka_protocol::messages::{
    ConsumerProtocolAssignment, DeleteGroupsRequest, DescribeGroupsRequest, GroupId,
    ListGroupsRequest,
};
use weir_protocol::kafka_protocol::protocol::StrBytes;

use super::config::ConsumerConfig;
use super::group::{decode_versioned, Group};
use super::TopicPartition;
use crate::cluster::Cluster;
use crate::ClientError;

/// One group as ListGroups reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListedGroup {
    pub group_id: String,
    pub protocol_type: String,
    pub state: String,
}

/// One member of a described group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    pub assignment: Vec<TopicPartition>,
}

/// DescribeGroups plus the committed offsets of the group.
#[derive(Debug, Clone)]
pub struct GroupDescription {
    pub group_id: String,
    pub state: String,
    pub protocol_type: String,
    /// The assignor chosen (`range`, ...).
    pub protocol: String,
    pub members: Vec<GroupMember>,
    /// Committed offsets, sorted by partition.
    pub committed: Vec<(TopicPartition, i64)>,
}

/// Every group of every broker, sorted by id.
pub async fn list_groups(cluster: &Arc<Cluster>) -> Result<Vec<ListedGroup>, ClientError> {
    let mut out = BTreeSet::new();
    let mut ids: Vec<i32> = cluster.metadata().brokers.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        let response = cluster.send(id, &ListGroupsRequest::default()).await?;
        if let Some(e) = ClientError::kafka("list groups", response.error_code) {
            return Err(e);
        }
        for g in response.groups {
            out.insert(ListedGroup {
                group_id: g.group_id.0.to_string(),
                protocol_type: g.protocol_type.to_string(),
                state: g.group_state.to_string(),
            });
        }
    }
    Ok(out.into_iter().collect())
}

/// Members, assignments and committed offsets of `group_id`.
pub async fn describe_group(
    cluster: &Arc<Cluster>,
    group_id: &str,
) -> Result<GroupDescription, ClientError> {
    let mut config = ConsumerConfig::new("");
    config.client = cluster.config().clone();
    let mut group = Group::new(cluster.clone(), group_id.to_string(), &config);
    let (_, conn) = group.coordinator().await?;
    let response = conn
        .send(
            &DescribeGroupsRequest::default()
                .with_groups(vec![GroupId(StrBytes::from_string(group_id.to_string()))]),
        )
        .await?;
    let g = response
        .groups
        .into_iter()
        .next()
        .ok_or_else(|| ClientError::MissingInResponse {
            what: format!("group {group_id}"),
        })?;
    if let Some(e) = ClientError::kafka(format!("describe group {group_id}"), g.error_code) {
        return Err(e);
    }
    let mut members = Vec::new();
    for m in g.members {
        let mut assignment = Vec::new();
        if g.protocol_type.as_str() == "consumer" && m.member_assignment.len() >= 2 {
            if let Ok(a) = decode_versioned::<ConsumerProtocolAssignment>(
                "ConsumerProtocolAssignment",
                m.member_assignment.clone(),
            ) {
                for t in a.assigned_partitions {
                    for p in t.partitions {
                        assignment.push(TopicPartition::new(t.topic.0.to_string(), p));
                    }
                }
            }
        }
        assignment.sort();
        members.push(GroupMember {
            member_id: m.member_id.to_string(),
            group_instance_id: m.group_instance_id.map(|s| s.to_string()),
            client_id: m.client_id.to_string(),
            host: m.client_host.to_string(),
            assignment,
        });
    }
    let mut committed: Vec<(TopicPartition, i64)> = group
        .fetch_committed_of(None)
        .await?
        .into_iter()
        .filter(|(_, o)| *o >= 0)
        .collect();
    committed.sort();
    Ok(GroupDescription {
        group_id: group_id.to_string(),
        state: g.group_state.to_string(),
        protocol_type: g.protocol_type.to_string(),
        protocol: g.protocol_data.to_string(),
        members,
        committed,
    })
}

fn admin_group(cluster: &Arc<Cluster>, group_id: &str) -> Group {
    let mut config = ConsumerConfig::new("");
    config.client = cluster.config().clone();
    Group::new(cluster.clone(), group_id.to_string(), &config)
}

/// Commits `offsets` for `group_id` from outside the group (generation -1, as Kafka's
/// `--reset-offsets`); the coordinator refuses it while the group has members.
pub async fn commit_group_offsets(
    cluster: &Arc<Cluster>,
    group_id: &str,
    offsets: &[(TopicPartition, i64)],
) -> Result<(), ClientError> {
    admin_group(cluster, group_id).commit(offsets).await
}

/// Deletes `group_id` (it must have no members).
pub async fn delete_group(cluster: &Arc<Cluster>, group_id: &str) -> Result<(), ClientError> {
    let mut group = admin_group(cluster, group_id);
    let (_, conn) = group.coordinator().await?;
    let response = conn
        .send(
            &DeleteGroupsRequest::default()
                .with_groups_names(vec![GroupId(StrBytes::from_string(group_id.to_string()))]),
        )
        .await?;
    for r in response.results {
        if let Some(e) = ClientError::kafka(format!("delete group {group_id}"), r.error_code) {
            return Err(e);
        }
    }
    Ok(())
}
