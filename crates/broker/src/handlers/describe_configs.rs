//! DescribeConfigs (v1-v4): the configs of topics and of this broker.
//!
//! - Topic resources (type 2): every topic config with its effective value and source
//!   (`DYNAMIC_TOPIC_CONFIG` for the topic's overrides, `STATIC_BROKER_CONFIG` for a broker
//!   synonym set in `server.properties`, `DEFAULT_CONFIG`), from `TopicConfigView::describe`.
//!   An unknown topic is `UNKNOWN_TOPIC_OR_PARTITION`, an illegal name
//!   `INVALID_TOPIC_EXCEPTION`.
//! - Broker resources (type 4): named by this broker's node id, every broker config Weir
//!   knows with its value (`None` for unset keys without a default and for passwords) and
//!   source; the empty name (the cluster-wide dynamic defaults) has no entries, since Weir has
//!   no dynamic broker configs yet. Another broker id is `INVALID_REQUEST`.
//! - Other resource types: `INVALID_REQUEST`.
//!
//! `configuration_keys` (null or empty: all) filters entries; synonyms are sent only with
//! `include_synonyms`, documentation only with `include_documentation` (v3+).
//!
//! Deliberate difference from Kafka: broker configs are all reported `read_only`, because
//! none can be changed at run time yet (Kafka marks its dynamically updatable ones writable).
//! Broker synonyms list only the key itself (set value, then default), not Kafka's alternative
//! keys such as `log.retention.hours` for `log.retention.ms`.

use std::sync::Arc;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;
use weir_metadata::topics::validate_topic_name;
use weir_metadata::{ConfigEntry, ConfigType, TopicConfigView};
use weir_protocol::ResponseError;

use crate::topic_admin::{topic_error_code, AdminError, RESOURCE_BROKER, RESOURCE_TOPIC};
use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: DescribeConfigsRequest,
    _version: i16,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .into_iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match describe(state, &resource) {
                Ok(entries) => result.with_configs(
                    entries
                        .into_iter()
                        .filter(|e| wanted(&resource, &e.name))
                        .map(|e| entry(e, request.include_synonyms, request.include_documentation))
                        .collect(),
                ),
                Err(e) => result
                    .with_error_code(e.code.code())
                    .with_error_message(e.message.map(StrBytes::from_string)),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn wanted(resource: &DescribeConfigsResource, name: &str) -> bool {
    match &resource.configuration_keys {
        Some(keys) if !keys.is_empty() => keys.iter().any(|k| k.as_str() == name),
        _ => true,
    }
}

/// The entries of one resource, unfiltered.
fn describe(
    state: &BrokerState,
    resource: &DescribeConfigsResource,
) -> Result<Vec<ConfigEntry>, AdminError> {
    let name = resource.resource_name.as_str();
    match resource.resource_type {
        RESOURCE_TOPIC => {
            validate_topic_name(name)
                .map_err(|e| AdminError::new(topic_error_code(&e), e.to_string()))?;
            let image = state.image();
            let topic = image.topic(name).ok_or_else(|| {
                AdminError::new(
                    ResponseError::UnknownTopicOrPartition,
                    format!("The topic '{name}' does not exist."),
                )
            })?;
            Ok(TopicConfigView::describe(&topic.configs, &state.config))
        }
        RESOURCE_BROKER => {
            if name.is_empty() {
                return Ok(Vec::new());
            }
            if name.parse::<i32>().ok() != Some(state.node_id) {
                return Err(AdminError::new(
                    ResponseError::InvalidRequest,
                    format!(
                        "Unexpected broker id, expected {} or empty string, but received {name}",
                        state.node_id
                    ),
                ));
            }
            Ok(broker_entries(state))
        }
        other => Err(AdminError::new(
            ResponseError::InvalidRequest,
            format!("Unsupported resource type: {other}"),
        )),
    }
}

/// Every broker config Weir knows, as this broker runs with it.
fn broker_entries(state: &BrokerState) -> Vec<ConfigEntry> {
    let mut entries = state.config.describe();
    for e in &mut entries {
        // AlterConfigs / IncrementalAlterConfigs refuse broker resources for now (the running
        // broker does not apply dynamic broker configs yet), so nothing is writable.
        e.read_only = true;
        if e.config_type == ConfigType::Password {
            e.sensitive = true;
            e.value = None;
            for s in &mut e.synonyms {
                s.value = None;
            }
        }
    }
    entries
}

fn entry(
    e: ConfigEntry,
    include_synonyms: bool,
    include_documentation: bool,
) -> DescribeConfigsResourceResult {
    let synonyms = if include_synonyms {
        e.synonyms
            .into_iter()
            .map(|s| {
                DescribeConfigsSynonym::default()
                    .with_name(StrBytes::from_string(s.name))
                    .with_value(s.value.map(StrBytes::from_string))
                    .with_source(s.source.as_i8())
            })
            .collect()
    } else {
        Vec::new()
    };
    DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_string(e.name))
        .with_value(if e.sensitive {
            None
        } else {
            e.value.map(StrBytes::from_string)
        })
        .with_read_only(e.read_only)
        .with_config_source(e.source.as_i8())
        .with_is_sensitive(e.sensitive)
        .with_synonyms(synonyms)
        .with_config_type(e.config_type.as_i8())
        .with_documentation(if include_documentation {
            e.documentation.map(StrBytes::from_string)
        } else {
            None
        })
}
