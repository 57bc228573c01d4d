//! DeleteRecords (`kafka-delete-records`, `Admin.deleteRecords`): move a partition's log start
//! offset forward so that everything below it is gone for readers; segments wholly below it
//! are deleted at once.
//!
//! Per partition, as Kafka's `Partition.deleteRecordsOnLeader`: offset `-1` means the high
//! watermark; an offset above the high watermark (or another negative one) is
//! `OFFSET_OUT_OF_RANGE`; one at or below the current log start changes nothing. The answer
//! carries the resulting log start offset as `low_watermark`. The new start offset is written
//! to `log-start-offset-checkpoint` before the request is answered, so it survives a restart.
//! `timeout_ms` is not needed: with the leader as the only replica the low watermark is
//! known when the log start moves.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};
use weir_protocol::ResponseError;
use weir_replication::TopicPartition;

use crate::codes;
use crate::BrokerState;

/// Internal topics whose records clients may not delete (Kafka's `Topic.isInternal`).
const INTERNAL_TOPICS: [&str; 2] = ["__consumer_offsets", "__transaction_state"];

pub async fn handle(
    state: &Arc<BrokerState>,
    request: DeleteRecordsRequest,
    _version: i16,
) -> DeleteRecordsResponse {
    let state = state.clone();
    let topics = tokio::task::spawn_blocking(move || {
        let image = state.image();
        request
            .topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let known = image.topic(&name).is_some();
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let resp = DeleteRecordsPartitionResult::default()
                            .with_partition_index(p.partition_index);
                        let tp = TopicPartition::new(name.clone(), p.partition_index);
                        let result = if INTERNAL_TOPICS.contains(&name.as_str()) {
                            Err(ResponseError::InvalidTopicException)
                        } else if !known || state.replicas.get(&tp).is_none() {
                            Err(ResponseError::UnknownTopicOrPartition)
                        } else {
                            state.replicas.delete_records(&tp, p.offset).map_err(|e| {
                                tracing::debug!(partition = %tp, offset = p.offset, error = %e, "delete records refused");
                                codes::replication_error(&e)
                            })
                        };
                        match result {
                            Ok(low_watermark) => resp.with_low_watermark(low_watermark),
                            Err(error) => resp.with_error_code(error.code()).with_low_watermark(-1),
                        }
                    })
                    .collect();
                DeleteRecordsTopicResult::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect()
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "delete records task failed");
        Vec::new()
    });
    DeleteRecordsResponse::default().with_topics(topics)
}
