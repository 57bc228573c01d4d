//! CreatePartitions (v0-v3): grows topics to `count` partitions, one metadata commit per
//! topic; committing opens the new partitions' logs.
//!
//! As Kafka's KRaft controller: an unknown topic is `UNKNOWN_TOPIC_OR_PARTITION`; a count not
//! above the current one is `INVALID_PARTITIONS` ("Topic already has N partition(s)." or
//! "... would not be an increase."); manual `assignments` must list exactly the new partitions,
//! each with as many registered, distinct brokers as the topic's replication factor
//! (`INVALID_REPLICA_ASSIGNMENT`); a topic named twice is `INVALID_REQUEST` ("Duplicate topic
//! name."). `validate_only` checks everything and commits nothing.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;
use weir_protocol::ResponseError;

use crate::topic_admin::{self, AdminError};
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: CreatePartitionsRequest,
    _version: i16,
) -> CreatePartitionsResponse {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for topic in &request.topics {
        *counts.entry(topic.name.0.to_string()).or_default() += 1;
    }
    let validate_only = request.validate_only;
    let topics = request.topics;
    let names: Vec<_> = topics.iter().map(|t| t.name.clone()).collect();
    let state2 = state.clone();
    let outcomes = topic_admin::blocking(move || {
        let mut outcomes = Vec::with_capacity(topics.len());
        let mut reported = std::collections::HashSet::new();
        for topic in topics {
            let name = topic.name.0.to_string();
            if counts.get(&name).copied().unwrap_or(0) > 1 {
                // One result per duplicated name, as Kafka answers.
                if reported.insert(name) {
                    outcomes.push((
                        topic.name,
                        Err(AdminError::new(
                            ResponseError::InvalidRequest,
                            "Duplicate topic name.",
                        )),
                    ));
                }
                continue;
            }
            // An empty list is taken as no assignment (kafka-protocol's default is an empty
            // list rather than null).
            let assignments: Option<Vec<Vec<i32>>> =
                topic.assignments.filter(|a| !a.is_empty()).map(|a| {
                    a.into_iter()
                        .map(|a| a.broker_ids.into_iter().map(|b| b.0).collect())
                        .collect()
                });
            let decide = |image: &weir_metadata::MetadataImage| {
                topic_admin::create_partitions_decision(
                    image,
                    &name,
                    topic.count,
                    assignments.as_deref(),
                )
            };
            let outcome = if validate_only {
                decide(&state2.image()).map(|_| ())
            } else {
                match state2.commit(decide) {
                    Ok(result) => result.map(|_| ()),
                    Err(e) => Err(AdminError::internal(&e)),
                }
            };
            outcomes.push((topic.name, outcome));
        }
        Ok(outcomes)
    })
    .await
    .unwrap_or_else(|e| {
        let error = AdminError::internal(&e);
        names.into_iter().map(|n| (n, Err(error.clone()))).collect()
    });

    CreatePartitionsResponse::default().with_results(
        outcomes
            .into_iter()
            .map(|(name, outcome)| {
                let result = CreatePartitionsTopicResult::default().with_name(name);
                match outcome {
                    Ok(()) => result,
                    Err(e) => result
                        .with_error_code(e.code.code())
                        .with_error_message(e.message.map(StrBytes::from_string)),
                }
            })
            .collect(),
    )
}
