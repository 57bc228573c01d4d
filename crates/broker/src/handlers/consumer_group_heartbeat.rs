//! ConsumerGroupHeartbeat (KIP-848): joins, heartbeats and leaves of consumer-protocol
//! groups, answered at once with the member's epoch and, when it changed, its assignment.
//! The coordinator assigns partitions itself; it looks subscribed topics up in the metadata
//! image the request arrives with, and the group's changes are written to
//! `__consumer_offsets` (KIP-848 records) before the response leaves.

use std::sync::Arc;

use kafka_protocol::messages::{ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse};
use weir_coordinator::TopicInfo;
use weir_protocol::ResponseError;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: ConsumerGroupHeartbeatRequest,
    _version: i16,
    client_id: String,
    client_host: String,
) -> ConsumerGroupHeartbeatResponse {
    let error = |e: ResponseError| {
        ConsumerGroupHeartbeatResponse::default()
            .with_error_code(e.code())
            .with_member_epoch(0)
    };
    let coordinator = match groups::coordinator(state).await {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    let image = state.image();
    coordinator
        .call(move |core, now| {
            let lookup = |name: &str| {
                image.topic(name).map(|t| TopicInfo {
                    topic_id: t.topic_id,
                    partitions: i32::try_from(t.partitions.len()).unwrap_or(i32::MAX),
                })
            };
            // The records of what changed are appended before the response goes out.
            core.consumer_group_heartbeat(&request, &client_id, &client_host, &lookup, now)
        })
        .await
        .unwrap_or_else(|| error(ResponseError::CoordinatorNotAvailable))
}
