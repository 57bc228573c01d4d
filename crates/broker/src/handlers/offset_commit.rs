//! OffsetCommit: offsets of partitions of existing topics are appended to
//! `__consumer_offsets` and acknowledged once the append returned. For a consumer-protocol
//! (KIP-848) group the generation field (v9: `GenerationIdOrMemberEpoch`) is the member epoch:
//! an older one answers `STALE_MEMBER_EPOCH`, a newer one `FENCED_MEMBER_EPOCH`.

use std::sync::Arc;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{OffsetCommitRequest, OffsetCommitResponse};
use weir_coordinator::CommitPartition;
use weir_protocol::ResponseError;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: OffsetCommitRequest,
    version: i16,
) -> OffsetCommitResponse {
    let image = state.image();
    // (topic index, partition index, error) in request order; `None` = to commit.
    let mut slots: Vec<(usize, i32, Option<ResponseError>)> = Vec::new();
    let mut to_commit = Vec::new();
    for (ti, topic) in request.topics.iter().enumerate() {
        let name = topic.name.to_string();
        let known = image.topic(&name);
        for p in &topic.partitions {
            let exists = known.is_some_and(|t| t.partitions.contains_key(&p.partition_index));
            if exists {
                slots.push((ti, p.partition_index, None));
                to_commit.push(CommitPartition {
                    topic: name.clone(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                });
            } else {
                slots.push((
                    ti,
                    p.partition_index,
                    Some(ResponseError::UnknownTopicOrPartition),
                ));
            }
        }
    }
    let result = match groups::coordinator(state).await {
        Err(e) => Err(e),
        Ok(_) if to_commit.is_empty() => Ok(Vec::new()),
        Ok(c) => {
            let group_id = request.group_id.to_string();
            let generation = request.generation_id_or_member_epoch;
            let member_id = request.member_id.to_string();
            let instance = request.group_instance_id.as_ref().map(|i| i.to_string());
            c.commit(move |core, now| {
                core.offset_commit_request(
                    &group_id,
                    generation,
                    &member_id,
                    instance.as_deref(),
                    version,
                    &to_commit,
                    now,
                )
            })
            .await
        }
    };
    let mut accepted = match &result {
        Ok(errors) => errors.clone().into_iter(),
        Err(_) => Vec::new().into_iter(),
    };
    let mut topics: Vec<OffsetCommitResponseTopic> = request
        .topics
        .iter()
        .map(|t| OffsetCommitResponseTopic::default().with_name(t.name.clone()))
        .collect();
    for (ti, partition, error) in slots {
        let error = match (error, &result) {
            (Some(e), _) => Some(e),
            (None, Err(e)) => Some(*e),
            (None, Ok(_)) => accepted.next().flatten(),
        };
        if let Some(t) = topics.get_mut(ti) {
            t.partitions.push(
                OffsetCommitResponsePartition::default()
                    .with_partition_index(partition)
                    .with_error_code(error.map_or(0, |e| e.code())),
            );
        }
    }
    OffsetCommitResponse::default().with_topics(topics)
}
