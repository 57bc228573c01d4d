//! OffsetDelete: removes committed offsets of topics the group no longer consumes
//! (`GROUP_SUBSCRIBED_TO_TOPIC` for topics its members still subscribe to).

use std::sync::Arc;

use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};
use kafka_protocol::messages::{OffsetDeleteRequest, OffsetDeleteResponse};
use weir_protocol::ResponseError;

use crate::groups;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: OffsetDeleteRequest,
    _version: i16,
) -> OffsetDeleteResponse {
    let coordinator = match groups::coordinator(state).await {
        Ok(c) => c,
        Err(e) => return OffsetDeleteResponse::default().with_error_code(e.code()),
    };
    let image = state.image();
    let group_id = request.group_id.to_string();
    let topics: Vec<(String, Vec<i32>)> = request
        .topics
        .iter()
        .map(|t| {
            (
                t.name.to_string(),
                t.partitions.iter().map(|p| p.partition_index).collect(),
            )
        })
        .collect();
    let result = coordinator
        .call(
            move |core, _now| match core.offset_delete(&group_id, &topics) {
                Ok((results, records)) => (
                    Ok(results),
                    weir_coordinator::Effects {
                        records,
                        ..Default::default()
                    },
                ),
                Err(e) => (Err(e), Default::default()),
            },
        )
        .await;
    let results = match result {
        Some(Ok(results)) => results,
        Some(Err(e)) => return OffsetDeleteResponse::default().with_error_code(e.code()),
        None => {
            return OffsetDeleteResponse::default()
                .with_error_code(ResponseError::CoordinatorNotAvailable.code())
        }
    };
    let topics = request
        .topics
        .into_iter()
        .zip(results)
        .map(|(t, (_, partitions))| {
            let known = image.topic(t.name.as_str());
            OffsetDeleteResponseTopic::default()
                .with_name(t.name)
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|(p, e)| {
                            let e = if known.is_none_or(|k| !k.partitions.contains_key(&p)) {
                                Some(ResponseError::UnknownTopicOrPartition)
                            } else {
                                e
                            };
                            OffsetDeleteResponsePartition::default()
                                .with_partition_index(p)
                                .with_error_code(e.map_or(0, |e| e.code()))
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}
