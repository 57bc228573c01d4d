//! IncrementalAlterConfigs (v0-v1): SET (0), DELETE (1), APPEND (2) and SUBTRACT (3) on a
//! topic's config overrides; APPEND and SUBTRACT apply to list configs (`cleanup.policy`) and
//! start from the effective default when the topic has no override. Each resource is checked
//! and committed on its own to the metadata log (so it survives a restart and applies to the
//! topic's open logs at once); `validate_only` checks and commits nothing.
//!
//! As Kafka: a resource given twice is `INVALID_REQUEST` ("Each resource must appear at most
//! once."), so is a key given twice in one resource ("Error due to duplicate config keys"), a
//! null value for anything but DELETE ("Null value not supported for : ...") and an unknown
//! operation; an unknown key, a bad value, or APPEND / SUBTRACT on a non-list config is
//! `INVALID_CONFIG`; an unknown topic `UNKNOWN_TOPIC_OR_PARTITION`. Deleting a key that is not
//! set is a no-op.
//!
//! Deliberate difference from Kafka: broker resources (type 4) are refused with
//! `INVALID_REQUEST`, since Weir has no dynamic broker configs yet; other resource types
//! (broker loggers, client metrics, groups) are `INVALID_REQUEST` too.

use std::collections::HashSet;
use std::sync::Arc;

use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use weir_metadata::topics::alter_config_records;
use weir_metadata::{AlterConfigOp, ConfigResource};
use weir_protocol::ResponseError;

use crate::topic_admin::{self, AdminError};
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: IncrementalAlterConfigsRequest,
    _version: i16,
) -> IncrementalAlterConfigsResponse {
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
                    return Err(invalid("Each resource must appear at most once."));
                }
                let ops = operations(resource)?;
                let topic = topic_admin::alterable_topic(
                    &state2,
                    resource.resource_type,
                    resource.resource_name.as_str(),
                )?;
                let target = ConfigResource::Topic(topic);
                topic_admin::alter_topic_configs_blocking(
                    &state2,
                    |image| alter_config_records(image, &target, &ops),
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

    IncrementalAlterConfigsResponse::default().with_responses(
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

fn invalid(message: impl Into<String>) -> AdminError {
    AdminError::new(ResponseError::InvalidRequest, message)
}

/// The resource's operations, after Kafka's shape checks (`ConfigAdminManager.preprocess`).
fn operations(resource: &AlterConfigsResource) -> Result<Vec<AlterConfigOp>, AdminError> {
    let mut names = HashSet::new();
    if !resource
        .configs
        .iter()
        .all(|c| names.insert(c.name.as_str()))
    {
        return Err(invalid("Error due to duplicate config keys"));
    }
    let null_updates: Vec<&str> = resource
        .configs
        .iter()
        .filter(|c| c.config_operation != 1 && c.value.is_none())
        .map(|c| c.name.as_str())
        .collect();
    if !null_updates.is_empty() {
        return Err(invalid(format!(
            "Null value not supported for : {}",
            null_updates.join(", ")
        )));
    }
    resource
        .configs
        .iter()
        .map(|c| {
            let name = c.name.to_string();
            let value = c
                .value
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            match c.config_operation {
                0 => Ok(AlterConfigOp::Set { name, value }),
                1 => Ok(AlterConfigOp::Delete { name }),
                2 => Ok(AlterConfigOp::Append { name, value }),
                3 => Ok(AlterConfigOp::Subtract { name, value }),
                other => Err(invalid(format!(
                    "Unknown operation type {other} for {name}"
                ))),
            }
        })
        .collect()
}
