//! AlterConfigs (v0-v2), the legacy non-incremental API: a topic's config overrides become
//! exactly the ones in the request; overrides not named are removed (back to the broker
//! default). Each resource is validated (`INVALID_CONFIG` with the reason, for an unknown key
//! or a bad value) and committed on its own to the metadata log, so it survives a restart and
//! applies to the topic's open logs at once. `validate_only` checks and commits nothing.
//!
//! An unknown topic is `UNKNOWN_TOPIC_OR_PARTITION`; a resource given twice is
//! `INVALID_REQUEST`. A null value is treated as "not set", as Kafka's controller does.
//!
//! Deliberate difference from Kafka: broker resources (type 4) are refused with
//! `INVALID_REQUEST`, since Weir has no dynamic broker configs yet; other resource types are
//! `INVALID_REQUEST` too.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use weir_metadata::topics::replace_config_records;
use weir_metadata::ConfigResource;
use weir_protocol::ResponseError;

use crate::topic_admin::{self, AdminError};
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: AlterConfigsRequest,
    _version: i16,
) -> AlterConfigsResponse {
    let validate_only = request.validate_only;
    let resources = request.resources;
    let keys: Vec<_> = resources
        .iter()
        .map(|r| (r.resource_type, r.resource_name.clone()))
        .collect();
    let state2 = state.clone();
    let outcomes = topic_admin::blocking(move || {
        let duplicate = topic_admin::duplicate_resources(
            resources
                .iter()
                .map(|r| (r.resource_type, r.resource_name.as_str())),
        );
        Ok(resources
            .iter()
            .zip(duplicate)
            .map(|(resource, duplicate)| {
                if duplicate {
                    return Err(AdminError::new(
                        ResponseError::InvalidRequest,
                        "Duplicate resource.",
                    ));
                }
                let topic = topic_admin::alterable_topic(
                    &state2,
                    resource.resource_type,
                    resource.resource_name.as_str(),
                )?;
                let configs: BTreeMap<String, String> = resource
                    .configs
                    .iter()
                    .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
                    .collect();
                let target = ConfigResource::Topic(topic);
                topic_admin::alter_topic_configs_blocking(
                    &state2,
                    |image| replace_config_records(image, &target, &configs),
                    validate_only,
                )
            })
            .collect::<Vec<_>>())
    })
    .await
    .unwrap_or_else(|e| {
        let error = AdminError::internal(&e);
        keys.iter().map(|_| Err(error.clone())).collect()
    });

    AlterConfigsResponse::default().with_responses(
        keys.into_iter()
            .zip(outcomes)
            .map(|((resource_type, resource_name), outcome)| {
                let response = AlterConfigsResourceResponse::default()
                    .with_resource_type(resource_type)
                    .with_resource_name(resource_name);
                match outcome {
                    Ok(()) => response,
                    Err(e) => response
                        .with_error_code(e.code.code())
                        .with_error_message(e.message.map(StrBytes::from_string)),
                }
            })
            .collect(),
    )
}
