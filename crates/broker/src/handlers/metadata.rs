//! Metadata: brokers, topics (with ids) and partition leadership, auto-creating requested
//! topics when `auto.create.topics.enable` and the request allow it.

use std::sync::Arc;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;
use weir_metadata::{MetadataImage, TopicImage};
use weir_protocol::ResponseError;

use crate::topic_admin;
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: MetadataRequest,
    version: i16,
) -> MetadataResponse {
    let mut image = state.image();
    // v0 uses an empty list for "all topics"; later versions use null.
    let all = match &request.topics {
        None => true,
        Some(t) => t.is_empty() && version == 0,
    };
    let allow_auto_create = version < 4 || request.allow_auto_topic_creation;

    let mut topics = Vec::new();
    if all {
        topics.extend(image.topics().values().map(|t| describe_topic(&image, t)));
    } else {
        for wanted in request.topics.unwrap_or_default() {
            let topic = match wanted.name {
                Some(name) => {
                    let name = name.0.to_string();
                    if image.topic(&name).is_none()
                        && allow_auto_create
                        && state.config.auto_create_topics_enable()
                    {
                        if let Ok(Ok(new_image)) =
                            topic_admin::auto_create(state.clone(), name.clone()).await
                        {
                            image = new_image;
                        }
                    }
                    match image.topic(&name) {
                        Some(t) => describe_topic(&image, t),
                        None => {
                            let error = unknown_name_error(&name);
                            error_topic(Some(name), Uuid::nil(), error)
                        }
                    }
                }
                None => match image.topic_by_id(&wanted.topic_id) {
                    Some(t) => describe_topic(&image, t),
                    None => error_topic(None, wanted.topic_id, ResponseError::UnknownTopicId),
                },
            };
            topics.push(topic);
        }
    }

    MetadataResponse::default()
        .with_brokers(vec![MetadataResponseBroker::default()
            .with_node_id(BrokerId(state.node_id))
            .with_host(StrBytes::from_string(state.advertised_host.clone()))
            .with_port(state.advertised_port)])
        .with_cluster_id(Some(StrBytes::from_string(state.cluster_id.clone())))
        .with_controller_id(BrokerId(state.node_id))
        .with_topics(topics)
}

fn unknown_name_error(name: &str) -> ResponseError {
    if weir_metadata::topics::validate_topic_name(name).is_err() {
        ResponseError::InvalidTopicException
    } else {
        ResponseError::UnknownTopicOrPartition
    }
}

fn error_topic(name: Option<String>, id: Uuid, error: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(error.code())
        .with_name(name.map(|n| TopicName(StrBytes::from_string(n))))
        .with_topic_id(id)
}

fn describe_topic(_image: &MetadataImage, topic: &TopicImage) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .values()
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p.partition)
                .with_leader_id(BrokerId(p.leader))
                .with_leader_epoch(p.leader_epoch)
                .with_replica_nodes(p.replicas.iter().copied().map(BrokerId).collect())
                .with_isr_nodes(p.isr.iter().copied().map(BrokerId).collect())
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
        .with_topic_id(topic.topic_id)
        .with_is_internal(topic.name.starts_with("__"))
        .with_partitions(partitions)
}
