//! Controller decisions for topic administration: I/O-free functions that check a request
//! against the image and turn it into the records of one change, or reject it with a
//! [`TopicError`] that maps to one Kafka error code.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::config::broker::{broker_config_def, is_dynamic_broker_config, BrokerConfig};
use crate::config::topic::{topic_config_def, validate_topic_config};
use crate::config::{parse_list, validate_value, ConfigError, ConfigType};
use crate::image::MetadataImage;
use crate::record::{ConfigResource, MetadataRecord};

/// Longest legal topic name (Kafka's `Topic.MAX_NAME_LENGTH`).
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;
/// Most partitions one topic may have in Weir (a guard against requests that would build
/// huge metadata changes; Kafka itself has no fixed limit).
pub const MAX_PARTITIONS_PER_TOPIC: i32 = 100_000;

/// Why a topic admin request is rejected. Each variant names the Kafka error it stands for.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// `TOPIC_ALREADY_EXISTS` (36).
    #[error("Topic '{name}' already exists.")]
    TopicAlreadyExists { name: String },
    /// `INVALID_TOPIC_EXCEPTION` (17): illegal name.
    #[error("Topic name '{name}' is illegal: {reason}")]
    InvalidTopicName { name: String, reason: String },
    /// `INVALID_TOPIC_EXCEPTION` (17): the name differs from an existing topic's only by
    /// '.' vs '_', which collide in metric names.
    #[error("Topic '{name}' collides with existing topic: {existing}")]
    CollidingTopic { name: String, existing: String },
    /// `INVALID_PARTITIONS` (37).
    #[error("Invalid number of partitions {partitions}: {reason}")]
    InvalidPartitions { partitions: i32, reason: String },
    /// `INVALID_REPLICATION_FACTOR` (38).
    #[error("Replication factor {replication_factor} is invalid: {reason}")]
    InvalidReplicationFactor {
        replication_factor: i32,
        reason: String,
    },
    /// `INVALID_CONFIG` (40).
    #[error("{0}")]
    InvalidConfig(#[from] ConfigError),
    /// `UNKNOWN_TOPIC_OR_PARTITION` (3).
    #[error("This server does not host this topic: {name}")]
    UnknownTopic { name: String },
    /// `UNKNOWN_TOPIC_ID` (100).
    #[error("Unknown topic id {topic_id}")]
    UnknownTopicId { topic_id: Uuid },
    /// `POLICY_VIOLATION` (44): allowed by Kafka's rules but beyond one of Weir's limits.
    #[error("Policy violation: {reason}")]
    PolicyViolation { reason: String },
}

/// Checks a topic name with Kafka's rules (`Topic.validate`): non-empty, at most 249
/// characters, not `.` or `..`, only `[a-zA-Z0-9._-]`. Error: `INVALID_TOPIC_EXCEPTION`.
pub fn validate_topic_name(name: &str) -> Result<(), TopicError> {
    let invalid = |reason: &str| TopicError::InvalidTopicName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.is_empty() {
        return Err(invalid("the name is empty"));
    }
    if name == "." || name == ".." {
        return Err(invalid("'.' and '..' are not allowed"));
    }
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return Err(invalid("longer than 249 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(invalid(
            "contains a character other than ASCII alphanumerics, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// Substitutes the broker defaults for `-1` ("use the default") in CreateTopics:
/// `num.partitions` and `default.replication.factor`.
pub fn apply_create_defaults(
    partitions: i32,
    replication_factor: i16,
    broker: &BrokerConfig,
) -> (i32, i16) {
    let partitions = if partitions == -1 {
        broker.num_partitions()
    } else {
        partitions
    };
    let replication_factor = if replication_factor == -1 {
        broker.default_replication_factor()
    } else {
        replication_factor
    };
    (partitions, replication_factor)
}

/// Replicas of partition `p`: `rf` consecutive brokers starting at `p`, round-robin over the
/// sorted broker ids (so leaders spread over brokers). `brokers` must be non-empty.
fn assign_replicas(brokers: &[i32], partition: i32, replication_factor: usize) -> Vec<i32> {
    let n = brokers.len();
    (0..replication_factor)
        .filter_map(|j| {
            let start = usize::try_from(partition).unwrap_or(0);
            brokers.get((start + j) % n.max(1)).copied()
        })
        .collect()
}

fn partition_record(topic_id: Uuid, partition: i32, replicas: Vec<i32>) -> MetadataRecord {
    MetadataRecord::Partition {
        topic_id,
        partition,
        leader: replicas.first().copied().unwrap_or(-1),
        isr: replicas.clone(),
        replicas,
        leader_epoch: 0,
        partition_epoch: 0,
    }
}

fn sorted_brokers(broker_ids: &[i32]) -> Vec<i32> {
    let mut brokers = broker_ids.to_vec();
    brokers.sort_unstable();
    brokers.dedup();
    brokers
}

fn check_replication_factor(replication_factor: i32, brokers: usize) -> Result<(), TopicError> {
    let invalid = |reason: String| TopicError::InvalidReplicationFactor {
        replication_factor,
        reason,
    };
    if replication_factor < 1 {
        return Err(invalid("it must be at least 1".into()));
    }
    if replication_factor as usize > brokers {
        return Err(invalid(format!(
            "larger than the {brokers} available brokers"
        )));
    }
    Ok(())
}

fn check_partition_limit(partitions: i32) -> Result<(), TopicError> {
    if partitions > MAX_PARTITIONS_PER_TOPIC {
        return Err(TopicError::PolicyViolation {
            reason: format!(
                "{partitions} partitions exceed the limit of {MAX_PARTITIONS_PER_TOPIC} per topic"
            ),
        });
    }
    Ok(())
}

/// CreateTopics: records for a new topic with `partitions` partitions of `replication_factor`
/// replicas assigned round-robin over `broker_ids`, and its config overrides.
///
/// Pass `-1` values through [`apply_create_defaults`] first. Errors, in the order checked:
/// `INVALID_TOPIC_EXCEPTION` (name), `TOPIC_ALREADY_EXISTS`, `INVALID_TOPIC_EXCEPTION`
/// (collision), `INVALID_PARTITIONS` (< 1), `POLICY_VIOLATION` (over
/// [`MAX_PARTITIONS_PER_TOPIC`]), `INVALID_REPLICATION_FACTOR` (< 1 or more than the brokers),
/// `INVALID_CONFIG` (unknown key or bad value).
pub fn create_topic_records(
    image: &MetadataImage,
    name: &str,
    partitions: i32,
    replication_factor: i16,
    configs: BTreeMap<String, String>,
    broker_ids: &[i32],
    topic_id: Uuid,
) -> Result<Vec<MetadataRecord>, TopicError> {
    validate_topic_name(name)?;
    if image.topic(name).is_some() {
        return Err(TopicError::TopicAlreadyExists {
            name: name.to_string(),
        });
    }
    let collision_key = name.replace('.', "_");
    if let Some(existing) = image
        .topics()
        .keys()
        .find(|t| t.replace('.', "_") == collision_key)
    {
        return Err(TopicError::CollidingTopic {
            name: name.to_string(),
            existing: existing.clone(),
        });
    }
    if partitions < 1 {
        return Err(TopicError::InvalidPartitions {
            partitions,
            reason: "the number of partitions must be at least 1".into(),
        });
    }
    check_partition_limit(partitions)?;
    let brokers = sorted_brokers(broker_ids);
    check_replication_factor(i32::from(replication_factor), brokers.len())?;
    for (key, value) in &configs {
        validate_topic_config(key, value)?;
    }
    if image.topic_by_id(&topic_id).is_some() {
        // A fresh random id colliding is practically impossible; refuse rather than corrupt.
        return Err(TopicError::PolicyViolation {
            reason: format!("topic id {topic_id} is already in use"),
        });
    }

    let rf = usize::try_from(replication_factor).unwrap_or(1);
    let mut records = Vec::with_capacity(1 + partitions as usize + configs.len());
    records.push(MetadataRecord::Topic {
        name: name.to_string(),
        topic_id,
    });
    for (key, value) in configs {
        records.push(MetadataRecord::Config {
            resource: ConfigResource::Topic(name.to_string()),
            name: key,
            value: Some(value),
        });
    }
    for p in 0..partitions {
        records.push(partition_record(
            topic_id,
            p,
            assign_replicas(&brokers, p, rf),
        ));
    }
    Ok(records)
}

/// DeleteTopics by name: one `RemoveTopic` record. Error: `UNKNOWN_TOPIC_OR_PARTITION`.
/// (`delete.topic.enable=false` -> `TOPIC_DELETION_DISABLED` is checked by the broker.)
pub fn delete_topic_records(
    image: &MetadataImage,
    name: &str,
) -> Result<Vec<MetadataRecord>, TopicError> {
    let topic = image.topic(name).ok_or_else(|| TopicError::UnknownTopic {
        name: name.to_string(),
    })?;
    Ok(vec![MetadataRecord::RemoveTopic {
        topic_id: topic.topic_id,
    }])
}

/// DeleteTopics by id (v6+): one `RemoveTopic` record. Error: `UNKNOWN_TOPIC_ID`.
pub fn delete_topic_by_id_records(
    image: &MetadataImage,
    topic_id: Uuid,
) -> Result<Vec<MetadataRecord>, TopicError> {
    if image.topic_by_id(&topic_id).is_none() {
        return Err(TopicError::UnknownTopicId { topic_id });
    }
    Ok(vec![MetadataRecord::RemoveTopic { topic_id }])
}

/// CreatePartitions: records for partitions `current..new_total`, with the replication
/// factor of the topic's existing partitions, assigned round-robin over `broker_ids`.
///
/// Errors: `UNKNOWN_TOPIC_OR_PARTITION`, `INVALID_PARTITIONS` (`new_total` not larger than the
/// current count: partitions only grow), `POLICY_VIOLATION` (over
/// [`MAX_PARTITIONS_PER_TOPIC`]), `INVALID_REPLICATION_FACTOR` (fewer brokers than replicas).
pub fn create_partitions_records(
    image: &MetadataImage,
    name: &str,
    new_total: i32,
    broker_ids: &[i32],
) -> Result<Vec<MetadataRecord>, TopicError> {
    let topic = image.topic(name).ok_or_else(|| TopicError::UnknownTopic {
        name: name.to_string(),
    })?;
    let current = i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX);
    if new_total <= current {
        return Err(TopicError::InvalidPartitions {
            partitions: new_total,
            reason: format!("topic currently has {current} partitions, which is higher than or equal to the requested {new_total}"),
        });
    }
    check_partition_limit(new_total)?;
    let rf = topic
        .partitions
        .values()
        .next()
        .map_or(1, |p| p.replicas.len().max(1));
    let brokers = sorted_brokers(broker_ids);
    check_replication_factor(i32::try_from(rf).unwrap_or(i32::MAX), brokers.len())?;
    Ok((current..new_total)
        .map(|p| partition_record(topic.topic_id, p, assign_replicas(&brokers, p, rf)))
        .collect())
}

/// One operation of IncrementalAlterConfigs (its `config_operation` numbering: SET=0,
/// DELETE=1, APPEND=2, SUBTRACT=3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterConfigOp {
    Set { name: String, value: String },
    Delete { name: String },
    Append { name: String, value: String },
    Subtract { name: String, value: String },
}

fn check_resource_key(resource: &ConfigResource, key: &str, value: &str) -> Result<(), TopicError> {
    match resource {
        ConfigResource::Topic(_) => validate_topic_config(key, value)?,
        ConfigResource::Broker(_) => {
            let def = broker_config_def(key).ok_or_else(|| ConfigError::UnknownKey {
                key: key.to_string(),
            })?;
            validate_value(key, def.config_type, def.validator, value)?;
            if !is_dynamic_broker_config(key) {
                return Err(ConfigError::OperationNotAllowed {
                    key: key.to_string(),
                    reason: "this broker config is read-only: set it in server.properties".into(),
                }
                .into());
            }
        }
    }
    Ok(())
}

fn is_list(resource: &ConfigResource, key: &str) -> bool {
    let t = match resource {
        ConfigResource::Topic(_) => topic_config_def(key).map(|d| d.config_type),
        ConfigResource::Broker(_) => broker_config_def(key).map(|d| d.config_type),
    };
    t == Some(ConfigType::List)
}

fn current_configs<'a>(
    image: &'a MetadataImage,
    resource: &ConfigResource,
) -> Result<Option<&'a BTreeMap<String, String>>, TopicError> {
    match resource {
        ConfigResource::Topic(name) => image
            .topic(name)
            .map(|t| Some(&t.configs))
            .ok_or_else(|| TopicError::UnknownTopic { name: name.clone() }),
        ConfigResource::Broker(_) => Ok(image.configs(resource)),
    }
}

/// IncrementalAlterConfigs: `Config` records for `ops` on a topic or broker resource.
///
/// Errors: `UNKNOWN_TOPIC_OR_PARTITION` (topic not found), `INVALID_CONFIG` (unknown key, bad
/// value, APPEND/SUBTRACT on a non-list config). Deleting a key that is not set is a no-op, as
/// in Kafka. Broker keys must be dynamic broker configs ([`is_dynamic_broker_config`]).
pub fn alter_config_records(
    image: &MetadataImage,
    resource: &ConfigResource,
    ops: &[AlterConfigOp],
) -> Result<Vec<MetadataRecord>, TopicError> {
    let current = current_configs(image, resource)?;
    // Working copy so that several ops on one key compose.
    let mut values: BTreeMap<String, Option<String>> = BTreeMap::new();
    let value_of = |values: &BTreeMap<String, Option<String>>, key: &str| -> Option<String> {
        match values.get(key) {
            Some(v) => v.clone(),
            None => current.and_then(|c| c.get(key)).cloned(),
        }
    };
    for op in ops {
        let (key, new) = match op {
            AlterConfigOp::Set { name, value } => (name, Some(value.trim().to_string())),
            AlterConfigOp::Delete { name } => {
                if topic_config_def(name).is_none() && broker_config_def(name).is_none() {
                    return Err(ConfigError::UnknownKey { key: name.clone() }.into());
                }
                (name, None)
            }
            AlterConfigOp::Append { name, value } | AlterConfigOp::Subtract { name, value } => {
                if !is_list(resource, name) {
                    return Err(ConfigError::OperationNotAllowed {
                        key: name.clone(),
                        reason: "APPEND and SUBTRACT apply only to list configs".into(),
                    }
                    .into());
                }
                let existing = value_of(&values, name).or_else(|| {
                    // Start from the effective default so that APPEND extends it.
                    match resource {
                        ConfigResource::Topic(_) => {
                            topic_config_def(name).map(|d| d.default.to_string())
                        }
                        ConfigResource::Broker(_) => {
                            broker_config_def(name).and_then(|d| d.default.map(str::to_string))
                        }
                    }
                });
                let mut items: Vec<String> = existing
                    .as_deref()
                    .map(parse_list)
                    .unwrap_or_default()
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                let given: Vec<String> =
                    parse_list(value).into_iter().map(str::to_string).collect();
                if matches!(op, AlterConfigOp::Append { .. }) {
                    for item in given {
                        if !items.contains(&item) {
                            items.push(item);
                        }
                    }
                } else {
                    items.retain(|i| !given.contains(i));
                }
                (name, Some(items.join(",")))
            }
        };
        if let Some(v) = &new {
            check_resource_key(resource, key, v)?;
        }
        values.insert(key.clone(), new);
    }
    Ok(values
        .into_iter()
        .filter(|(key, new)| current.and_then(|c| c.get(key)) != new.as_ref())
        .map(|(name, value)| MetadataRecord::Config {
            resource: resource.clone(),
            name,
            value,
        })
        .collect())
}

/// AlterConfigs (the legacy, non-incremental API): the resource's overrides become exactly
/// `configs`; keys not given are deleted. Errors as [`alter_config_records`].
pub fn replace_config_records(
    image: &MetadataImage,
    resource: &ConfigResource,
    configs: &BTreeMap<String, String>,
) -> Result<Vec<MetadataRecord>, TopicError> {
    let current = current_configs(image, resource)?;
    let mut ops: Vec<AlterConfigOp> = current
        .into_iter()
        .flat_map(|c| c.keys())
        .filter(|k| !configs.contains_key(*k))
        .map(|k| AlterConfigOp::Delete { name: k.clone() })
        .collect();
    ops.extend(configs.iter().map(|(k, v)| AlterConfigOp::Set {
        name: k.clone(),
        value: v.clone(),
    }));
    alter_config_records(image, resource, &ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_assignment() {
        let brokers = [1, 2, 3];
        assert_eq!(assign_replicas(&brokers, 0, 2), vec![1, 2]);
        assert_eq!(assign_replicas(&brokers, 1, 2), vec![2, 3]);
        assert_eq!(assign_replicas(&brokers, 2, 2), vec![3, 1]);
        assert_eq!(assign_replicas(&brokers, 3, 3), vec![1, 2, 3]);
    }

    #[test]
    fn topic_names() {
        assert!(validate_topic_name("orders.v1_x-y").is_ok());
        assert!(validate_topic_name(&"a".repeat(249)).is_ok());
        for bad in ["", ".", "..", "a b", "a/b", "ü"] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_topic_name(&"a".repeat(250)).is_err());
    }

    #[test]
    fn defaults_substituted() {
        let broker =
            BrokerConfig::from_properties("num.partitions=3\ndefault.replication.factor=2", &[]);
        assert!(broker.is_ok());
        if let Ok(broker) = broker {
            assert_eq!(apply_create_defaults(-1, -1, &broker), (3, 2));
            assert_eq!(apply_create_defaults(5, 1, &broker), (5, 1));
        }
    }
}
