//! ListOffsets: earliest (-2), latest (-1), max timestamp (-3), or the first offset at or after
//! a timestamp (via the time index). Latest honours the isolation level: the high watermark
//! for read_uncommitted, the last stable offset for read_committed.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use weir_protocol::ResponseError;

use crate::codes;
use crate::BrokerState;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: ListOffsetsRequest,
    version: i16,
) -> ListOffsetsResponse {
    let state = state.clone();
    let read_committed = request.isolation_level == 1;
    let topics = tokio::task::spawn_blocking(move || {
        let image = state.image();
        request
            .topics
            .into_iter()
            .map(|t| {
                let name = t.name.0.to_string();
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let resp = ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index);
                        let partition = image
                            .topic(&name)
                            .and_then(|_| state.partition(&name, p.partition_index));
                        let Some(partition) = partition else {
                            return resp
                                .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                                .with_timestamp(-1)
                                .with_offset(-1);
                        };
                        let found = match p.timestamp {
                            // read_committed consumers start at the last stable offset.
                            LATEST if read_committed => {
                                partition.last_stable_offset().map(|o| Some((-1, o)))
                            }
                            LATEST => Ok(Some((-1, partition.high_watermark()))),
                            EARLIEST => Ok(Some((-1, partition.log_start_offset()))),
                            MAX_TIMESTAMP => partition.max_timestamp_and_offset(),
                            ts if ts >= 0 => partition
                                .offset_for_timestamp(ts)
                                .map(|o| o.map(|(offset, ts)| (ts, offset))),
                            _ => Ok(None),
                        };
                        match found {
                            // leader_epoch exists from v4 on; earlier versions must leave it
                            // at its default or the response cannot be encoded.
                            Ok(Some((timestamp, offset))) if version >= 4 => resp
                                .with_timestamp(timestamp)
                                .with_offset(offset)
                                .with_leader_epoch(0),
                            Ok(Some((timestamp, offset))) => {
                                resp.with_timestamp(timestamp).with_offset(offset)
                            }
                            // Kafka answers "no such offset" with offset -1 and no error.
                            Ok(None) => resp.with_timestamp(-1).with_offset(-1),
                            Err(e) => resp
                                .with_error_code(codes::replication_error(&e).code())
                                .with_timestamp(-1)
                                .with_offset(-1),
                        }
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(t.name)
                    .with_partitions(partitions)
            })
            .collect()
    })
    .await
    .unwrap_or_default();
    ListOffsetsResponse::default().with_topics(topics)
}
