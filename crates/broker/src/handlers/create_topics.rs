//! CreateTopics (v2-v7): creates each requested topic with its own metadata commit.
//!
//! Per topic, as Kafka's KRaft controller: `num_partitions` / `replication_factor` of `-1`
//! take `num.partitions` / `default.replication.factor`; a manual `assignments` list needs
//! both at `-1` (else `INVALID_REQUEST`) and is checked for empty or repeated replica lists,
//! unregistered brokers, inconsistent sizes and non-consecutive partitions
//! (`INVALID_REPLICA_ASSIGNMENT`); configs are validated (`INVALID_CONFIG` with the reason);
//! other errors are `INVALID_TOPIC_EXCEPTION`, `TOPIC_ALREADY_EXISTS`, `INVALID_PARTITIONS`
//! and `INVALID_REPLICATION_FACTOR` (more replicas than registered brokers). A name given twice
//! is refused with one `INVALID_REQUEST` result. `validate_only` checks everything
//! and commits nothing. From v5 a success carries the partition count, replication factor and
//! the configs as DescribeConfigs shows them; from v7 the topic id.
//!
//! Deliberate differences from Kafka: a validate-only success carries a nil topic id (Kafka
//! sends a random id that never exists); `__cluster_metadata` is refused with
//! `INVALID_TOPIC_EXCEPTION` (Kafka leaves it out of the response), because its partition
//! directory is Weir's metadata log; topics are committed one by one, so a failure of one
//! does not undo the ones before it (Kafka's controller does the same per topic).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;
use weir_metadata::TopicConfigView;
use weir_protocol::ResponseError;

use crate::topic_admin::{self, AdminError, CreatedTopic, NewTopic};
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: CreateTopicsRequest,
    version: i16,
) -> CreateTopicsResponse {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for topic in &request.topics {
        *counts.entry(topic.name.0.to_string()).or_default() += 1;
    }
    let names: Vec<String> = counts.keys().cloned().collect();
    let validate_only = request.validate_only;
    let topics = request.topics;
    let state2 = state.clone();
    let results = topic_admin::blocking(move || {
        let mut results = Vec::with_capacity(topics.len());
        let mut reported = HashSet::new();
        for topic in topics {
            let name = topic.name.0.to_string();
            let outcome = if counts.get(&name).copied().unwrap_or(0) > 1 {
                // One result per duplicated name, as Kafka answers.
                if !reported.insert(name.clone()) {
                    continue;
                }
                Err(AdminError::new(
                    ResponseError::InvalidRequest,
                    "Duplicate topic name.",
                ))
            } else {
                match new_topic(topic) {
                    Ok(new) => topic_admin::create_topic_blocking(&state2, &new, validate_only)
                        .unwrap_or_else(|e| Err(AdminError::internal(&e)))
                        .map(|(id, created)| (id, created, new.configs)),
                    Err(e) => Err(e),
                }
            };
            results.push((name, outcome));
        }
        Ok(results)
    })
    .await;
    let results = match results {
        Ok(results) => results,
        Err(e) => {
            let error = AdminError::internal(&e);
            return CreateTopicsResponse::default().with_topics(
                names
                    .into_iter()
                    .map(|name| (name, Err(error.clone())))
                    .map(|(name, outcome)| topic_result(state, name, outcome, version))
                    .collect(),
            );
        }
    };
    CreateTopicsResponse::default().with_topics(
        results
            .into_iter()
            .map(|(name, outcome)| topic_result(state, name, outcome, version))
            .collect(),
    )
}

/// The request's topic in the shape `topic_admin` decides on.
fn new_topic(topic: CreatableTopic) -> Result<NewTopic, AdminError> {
    let mut configs = BTreeMap::new();
    let mut null_values = Vec::new();
    for config in topic.configs {
        let name = config.name.to_string();
        match config.value {
            Some(value) => {
                configs.insert(name, value.to_string());
            }
            None => null_values.push(name),
        }
    }
    if !null_values.is_empty() {
        return Err(AdminError::new(
            ResponseError::InvalidConfig,
            format!(
                "Null value not supported for topic configs: {}",
                null_values.join(",")
            ),
        ));
    }
    Ok(NewTopic {
        name: topic.name.0.to_string(),
        num_partitions: topic.num_partitions,
        replication_factor: topic.replication_factor,
        assignments: topic
            .assignments
            .into_iter()
            .map(|a| {
                (
                    a.partition_index,
                    a.broker_ids.into_iter().map(|b| b.0).collect(),
                )
            })
            .collect(),
        configs,
    })
}

type Outcome = Result<(Uuid, CreatedTopic, BTreeMap<String, String>), AdminError>;

fn topic_result(
    state: &BrokerState,
    name: String,
    outcome: Outcome,
    version: i16,
) -> CreatableTopicResult {
    let result = CreatableTopicResult::default().with_name(kafka_protocol::messages::TopicName(
        StrBytes::from_string(name),
    ));
    match outcome {
        Ok((topic_id, created, overrides)) => {
            let result = result.with_topic_id(topic_id);
            if version < 5 {
                return result;
            }
            let configs = TopicConfigView::describe(&overrides, &state.config)
                .into_iter()
                .map(|entry| {
                    CreatableTopicConfigs::default()
                        .with_name(StrBytes::from_string(entry.name))
                        .with_value(if entry.sensitive {
                            None
                        } else {
                            entry.value.map(StrBytes::from_string)
                        })
                        .with_read_only(entry.read_only)
                        .with_config_source(entry.source.as_i8())
                        .with_is_sensitive(entry.sensitive)
                })
                .collect();
            result
                .with_num_partitions(created.num_partitions)
                .with_replication_factor(created.replication_factor)
                .with_configs(Some(configs))
        }
        Err(error) => result
            .with_error_code(error.code.code())
            .with_error_message(error.message.map(StrBytes::from_string))
            .with_num_partitions(-1)
            .with_replication_factor(-1),
    }
}
