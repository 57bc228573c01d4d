//! TxnOffsetCommit: offsets committed inside a transaction. They are checked by the group
//! coordinator as an OffsetCommit would be (group generation and member, metadata size) and
//! then held by the transaction coordinator: EndTxn with commit stores them in
//! `__consumer_offsets` together with the markers; an abort drops them.

use std::sync::Arc;

use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{TxnOffsetCommitRequest, TxnOffsetCommitResponse};
use weir_coordinator::{CommitPartition, CoordinatorRecord, OffsetAndMetadata};
use weir_protocol::ResponseError;

use crate::{groups, txns, BrokerState};

pub async fn handle(
    state: &Arc<BrokerState>,
    request: TxnOffsetCommitRequest,
    version: i16,
) -> TxnOffsetCommitResponse {
    let image = state.image();
    let mut to_commit = Vec::new();
    let mut unknown = Vec::new();
    for topic in &request.topics {
        let known = image.topic(topic.name.as_str());
        for p in &topic.partitions {
            if known.is_some_and(|t| t.partitions.contains_key(&p.partition_index)) {
                to_commit.push(CommitPartition {
                    topic: topic.name.to_string(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                });
            } else {
                unknown.push((topic.name.to_string(), p.partition_index));
            }
        }
    }
    let result = commit(state, &request, to_commit, version).await;
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let code = if unknown.contains(&(t.name.to_string(), p.partition_index)) {
                        ResponseError::UnknownTopicOrPartition.code()
                    } else {
                        match &result {
                            Ok(errors) => errors
                                .iter()
                                .find(|(tn, pi, _)| {
                                    tn == t.name.as_str() && *pi == p.partition_index
                                })
                                .and_then(|(_, _, e)| *e)
                                .map_or(0, |e| e.code()),
                            Err(e) => txns::for_version(*e, version, 2).code(),
                        }
                    };
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

type PartitionErrors = Vec<(String, i32, Option<ResponseError>)>;

async fn commit(
    state: &Arc<BrokerState>,
    request: &TxnOffsetCommitRequest,
    to_commit: Vec<CommitPartition>,
    version: i16,
) -> Result<PartitionErrors, ResponseError> {
    let txns = txns::coordinator(state).await?;
    let groups = groups::coordinator(state).await?;
    let group_id = request.group_id.to_string();
    if group_id.is_empty() {
        return Err(ResponseError::InvalidGroupId);
    }
    // The group's checks; the records are kept, not applied.
    let generation = request.generation_id;
    let member_id = request.member_id.to_string();
    let instance = request.group_instance_id.as_ref().map(|i| i.to_string());
    let g = group_id.clone();
    let parts = to_commit.clone();
    let (errors, records) = groups
        .call(move |core, now| {
            let r = if version < 3 {
                // Before KIP-447 the request carries no member: Kafka does not check one.
                Ok(unchecked(&g, &parts, now))
            } else {
                core.offset_commit(&g, generation, &member_id, instance.as_deref(), &parts, now)
            };
            (r, Default::default())
        })
        .await
        .unwrap_or(Err(ResponseError::CoordinatorNotAvailable))?;
    let tid = request.transactional_id.to_string();
    let (pid, epoch) = (request.producer_id.0, request.producer_epoch);
    txns.call(move |core, _now| {
        (
            core.txn_offset_commit(&tid, pid, epoch, records),
            Default::default(),
        )
    })
    .await
    .unwrap_or(Err(ResponseError::CoordinatorNotAvailable))?;
    Ok(to_commit
        .into_iter()
        .zip(errors)
        .map(|(c, e)| (c.topic, c.partition, e))
        .collect())
}

/// Offset records for a request without a group member to check.
fn unchecked(
    group: &str,
    parts: &[CommitPartition],
    now: i64,
) -> (Vec<Option<ResponseError>>, Vec<CoordinatorRecord>) {
    let records = parts
        .iter()
        .map(|p| CoordinatorRecord::Offset {
            group: group.to_string(),
            topic: p.topic.clone(),
            partition: p.partition,
            value: Some(OffsetAndMetadata {
                offset: p.offset,
                leader_epoch: p.leader_epoch,
                metadata: p.metadata.clone().unwrap_or_default(),
                commit_timestamp: now,
            }),
        })
        .collect();
    (vec![None; parts.len()], records)
}
