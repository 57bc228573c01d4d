//! OffsetFetch: committed offsets (-1 where none), for one group (v1-v7) or several (v8+).
//! From v9 a member of a consumer-protocol (KIP-848) group sends its member id and epoch:
//! an unknown member or an older epoch gets the group-level error Kafka gives
//! (`UNKNOWN_MEMBER_ID`, `STALE_MEMBER_EPOCH`).
//! With `require_stable` (v7+, KIP-447), a partition whose offset an ongoing transaction is
//! about to commit answers `UNSTABLE_OFFSET_COMMIT`, so the consumer retries instead of
//! starting from an offset that is about to move.

use std::sync::Arc;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use weir_coordinator::OffsetAndMetadata;

use crate::groups;
use crate::BrokerState;

type Fetched = Vec<(String, Vec<(i32, Option<OffsetAndMetadata>)>)>;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    let coordinator = groups::coordinator(state).await;
    let fetch = |group: &str, topics: Option<Vec<(String, Vec<i32>)>>| -> Fetched {
        match &coordinator {
            Ok(c) => c.read(|core| core.offset_fetch(group, topics)),
            Err(_) => Vec::new(),
        }
    };
    let group_error = coordinator.as_ref().err().map_or(0, |e| e.code());
    let require_stable = version >= 7 && request.require_stable;
    let unstable = |group: &str, topic: &str, p: i32| {
        require_stable && state.txns.read(|t| t.has_pending_offset(group, topic, p))
    };
    let unstable_code = weir_protocol::ResponseError::UnstableOffsetCommit.code();
    let epoch = |o: &OffsetAndMetadata| if version >= 5 { o.leader_epoch } else { -1 };
    if version >= 8 {
        let groups = request
            .groups
            .iter()
            .map(|g| {
                let topics = g.topics.as_ref().map(|ts| {
                    ts.iter()
                        .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
                        .collect()
                });
                // v9: a consumer-protocol member names itself and its epoch (KIP-848).
                let member_error = match &coordinator {
                    Ok(c) if version >= 9 => c.read(|core| {
                        core.validate_offset_fetch(
                            g.group_id.as_str(),
                            g.member_id.as_deref(),
                            g.member_epoch,
                        )
                    }),
                    _ => None,
                };
                if let Some(e) = member_error {
                    return OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id.clone())
                        .with_error_code(e.code());
                }
                let fetched = fetch(g.group_id.as_str(), topics);
                let topics = fetched
                    .into_iter()
                    .map(|(topic, partitions)| {
                        let name = topic.clone();
                        OffsetFetchResponseTopics::default()
                            .with_name(TopicName(StrBytes::from_string(topic)))
                            .with_partitions(
                                partitions
                                    .into_iter()
                                    .map(|(p, o)| {
                                        let r = OffsetFetchResponsePartitions::default()
                                            .with_partition_index(p);
                                        if unstable(g.group_id.as_str(), &name, p) {
                                            return r
                                                .with_committed_offset(-1)
                                                .with_error_code(unstable_code);
                                        }
                                        match o {
                                            Some(o) => r
                                                .with_committed_offset(o.offset)
                                                .with_committed_leader_epoch(epoch(&o))
                                                .with_metadata(Some(StrBytes::from_string(
                                                    o.metadata,
                                                ))),
                                            None => r.with_committed_offset(-1),
                                        }
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_topics(topics)
                    .with_error_code(group_error)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let topics = request.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    let fetched = fetch(request.group_id.as_str(), topics);
    let topics = fetched
        .into_iter()
        .map(|(topic, partitions)| {
            let name = topic.clone();
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(StrBytes::from_string(topic)))
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|(p, o)| {
                            let r = OffsetFetchResponsePartition::default().with_partition_index(p);
                            if unstable(request.group_id.as_str(), &name, p) {
                                return r.with_committed_offset(-1).with_error_code(unstable_code);
                            }
                            let r = match o {
                                Some(o) => r
                                    .with_committed_offset(o.offset)
                                    .with_committed_leader_epoch(epoch(&o))
                                    .with_metadata(Some(StrBytes::from_string(o.metadata))),
                                None => r.with_committed_offset(-1),
                            };
                            // Before v2 the group's error is reported per partition.
                            if version < 2 {
                                r.with_error_code(group_error)
                            } else {
                                r
                            }
                        })
                        .collect(),
                )
        })
        .collect();
    let resp = OffsetFetchResponse::default().with_topics(topics);
    if version >= 2 {
        resp.with_error_code(group_error)
    } else {
        resp
    }
}
