//! Topic administration shared by the admin handlers (CreateTopics, DeleteTopics,
//! CreatePartitions, AlterConfigs, IncrementalAlterConfigs) and Metadata's auto-creation.
//!
//! The decisions themselves are `weir_metadata::topics`'s; this module adds what needs the
//! broker: its defaults (`num.partitions`, `default.replication.factor`), the registered
//! brokers, manual replica assignments, names reserved by Weir's own layout, running a change
//! through [`BrokerState::commit`] off the async threads, and the Kafka error code of each
//! rejection ([`AdminError`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use uuid::Uuid;
use weir_metadata::config::BrokerConfig;
use weir_metadata::topics::{
    apply_create_defaults, create_partitions_records, create_topic_records, TopicError,
};
use weir_metadata::{MetadataImage, MetadataRecord};
use weir_protocol::ResponseError;

use crate::{BrokerError, BrokerState};

/// The KRaft metadata topic. Its partition directory (`__cluster_metadata-0`) holds Weir's
/// metadata log, so a user topic of that name would share it.
pub const CLUSTER_METADATA_TOPIC: &str = "__cluster_metadata";

/// Whether `name` is an internal topic (`__consumer_offsets`, `__transaction_state`, ...), as
/// the Metadata response reports it.
pub fn is_internal(name: &str) -> bool {
    name.starts_with("__")
}

/// Why one topic or resource of an admin request is refused: a Kafka error code and the
/// message sent with it.
#[derive(Debug, Clone)]
pub struct AdminError {
    pub code: ResponseError,
    pub message: Option<String>,
}

impl AdminError {
    pub fn new(code: ResponseError, message: impl Into<String>) -> AdminError {
        AdminError {
            code,
            message: Some(message.into()),
        }
    }

    /// A failure of the broker itself (metadata log I/O, a failed task): the client may retry.
    pub fn internal(e: &BrokerError) -> AdminError {
        tracing::error!(error = %e, "admin request failed");
        AdminError::new(ResponseError::UnknownServerError, e.to_string())
    }
}

impl From<TopicError> for AdminError {
    fn from(e: TopicError) -> AdminError {
        AdminError {
            code: topic_error_code(&e),
            message: Some(e.to_string()),
        }
    }
}

/// The Kafka error code of a rejected topic change.
pub fn topic_error_code(e: &TopicError) -> ResponseError {
    match e {
        TopicError::TopicAlreadyExists { .. } => ResponseError::TopicAlreadyExists,
        TopicError::InvalidTopicName { .. } | TopicError::CollidingTopic { .. } => {
            ResponseError::InvalidTopicException
        }
        TopicError::InvalidPartitions { .. } => ResponseError::InvalidPartitions,
        TopicError::InvalidReplicationFactor { .. } => ResponseError::InvalidReplicationFactor,
        TopicError::InvalidConfig(_) => ResponseError::InvalidConfig,
        TopicError::UnknownTopic { .. } => ResponseError::UnknownTopicOrPartition,
        TopicError::UnknownTopicId { .. } => ResponseError::UnknownTopicId,
        TopicError::PolicyViolation { .. } => ResponseError::PolicyViolation,
    }
}

/// Refuses names Weir reserves for its own files.
fn check_reserved_name(name: &str) -> Result<(), TopicError> {
    if name == CLUSTER_METADATA_TOPIC {
        return Err(TopicError::InvalidTopicName {
            name: name.to_string(),
            reason: "the name is reserved for the cluster metadata log".into(),
        });
    }
    Ok(())
}

/// Runs a blocking closure (a metadata commit) on tokio's blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, BrokerError> + Send + 'static,
) -> Result<T, BrokerError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BrokerError::Config(format!("admin task failed: {e}")))?
}

/// Creates `name` with the broker's `num.partitions` and `default.replication.factor`, as
/// Kafka does for a Metadata request naming an unknown topic.
pub async fn auto_create(
    state: Arc<BrokerState>,
    name: String,
) -> Result<Result<Arc<MetadataImage>, TopicError>, BrokerError> {
    let partitions = state.config.num_partitions();
    let replication_factor = state.config.default_replication_factor();
    create(state, name, partitions, replication_factor, BTreeMap::new()).await
}

/// Commits a new topic to the metadata log and opens its partitions' logs.
pub async fn create(
    state: Arc<BrokerState>,
    name: String,
    partitions: i32,
    replication_factor: i16,
    configs: BTreeMap<String, String>,
) -> Result<Result<Arc<MetadataImage>, TopicError>, BrokerError> {
    blocking(move || {
        state.commit(|image| {
            check_reserved_name(&name)?;
            let brokers: Vec<i32> = image.brokers().keys().copied().collect();
            create_topic_records(
                image,
                &name,
                partitions,
                replication_factor,
                configs,
                &brokers,
                Uuid::new_v4(),
            )
        })
    })
    .await
}

/// A topic to create, as CreateTopics describes it.
#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    /// `-1`: `num.partitions` (or the number of manual assignments).
    pub num_partitions: i32,
    /// `-1`: `default.replication.factor` (or the size of the manual assignments).
    pub replication_factor: i16,
    /// Manual replica assignment: partition index -> broker ids, in request order.
    pub assignments: Vec<(i32, Vec<i32>)>,
    pub configs: BTreeMap<String, String>,
}

/// What a created (or validated) topic ended up with.
#[derive(Debug, Clone)]
pub struct CreatedTopic {
    pub num_partitions: i32,
    pub replication_factor: i16,
}

/// Checks a manual assignment as Kafka's controller does (`validateManualPartitionAssignment`):
/// no empty or repeated replica lists, registered brokers only, the same replication factor
/// for every partition. Returns the replication factor.
fn check_assignment(
    image: &MetadataImage,
    partition: i32,
    replicas: &[i32],
    expected_rf: Option<usize>,
) -> Result<usize, AdminError> {
    let invalid = |m: String| AdminError::new(ResponseError::InvalidReplicaAssignment, m);
    if replicas.is_empty() {
        return Err(invalid(format!(
            "The manual partition assignment of partition {partition} includes an empty replica list."
        )));
    }
    let mut seen = HashSet::new();
    for &broker in replicas {
        if !seen.insert(broker) {
            return Err(invalid(format!(
                "The manual partition assignment includes the broker {broker} more than once."
            )));
        }
        if image.broker(broker).is_none() {
            return Err(invalid(format!(
                "The manual partition assignment includes broker {broker}, but no such broker is registered."
            )));
        }
    }
    if let Some(rf) = expected_rf {
        if rf != replicas.len() {
            return Err(invalid(format!(
                "The manual partition assignment includes a partition with {} replica(s), but this is not consistent with previous partitions, which have {rf} replica(s).",
                replicas.len()
            )));
        }
    }
    Ok(replicas.len())
}

/// Replaces the replicas (and ISR and leader) of the `Partition` records with a manual
/// assignment; the records came from the round-robin decision of the same size.
fn apply_assignment(records: &mut [MetadataRecord], assignment: &BTreeMap<i32, Vec<i32>>) {
    for record in records {
        if let MetadataRecord::Partition {
            partition,
            replicas,
            isr,
            leader,
            ..
        } = record
        {
            if let Some(manual) = assignment.get(partition) {
                *replicas = manual.clone();
                *isr = manual.clone();
                *leader = manual.first().copied().unwrap_or(-1);
            }
        }
    }
}

/// The records creating `topic` (Kafka's CreateTopics rules), with the partition count and
/// replication factor it gets.
pub fn create_topic_decision(
    image: &MetadataImage,
    broker: &BrokerConfig,
    topic: &NewTopic,
    topic_id: Uuid,
) -> Result<(Vec<MetadataRecord>, CreatedTopic), AdminError> {
    check_reserved_name(&topic.name)?;
    let brokers: Vec<i32> = image.brokers().keys().copied().collect();
    if topic.assignments.is_empty() {
        if topic.replication_factor < -1 || topic.replication_factor == 0 {
            return Err(AdminError::new(
                ResponseError::InvalidReplicationFactor,
                "Replication factor must be larger than 0, or -1 to use the default value.",
            ));
        }
        if topic.num_partitions < -1 || topic.num_partitions == 0 {
            return Err(AdminError::new(
                ResponseError::InvalidPartitions,
                "Number of partitions was set to an invalid non-positive value.",
            ));
        }
        let (partitions, rf) =
            apply_create_defaults(topic.num_partitions, topic.replication_factor, broker);
        let records = create_topic_records(
            image,
            &topic.name,
            partitions,
            rf,
            topic.configs.clone(),
            &brokers,
            topic_id,
        )?;
        let created = CreatedTopic {
            num_partitions: partitions,
            replication_factor: rf,
        };
        return Ok((records, created));
    }

    if topic.replication_factor != -1 {
        return Err(AdminError::new(
            ResponseError::InvalidRequest,
            "A manual partition assignment was specified, but replication factor was not set to -1.",
        ));
    }
    if topic.num_partitions != -1 {
        return Err(AdminError::new(
            ResponseError::InvalidRequest,
            "A manual partition assignment was specified, but numPartitions was not set to -1.",
        ));
    }
    let mut assignment = BTreeMap::new();
    let mut rf = None;
    for (partition, replicas) in &topic.assignments {
        if assignment.contains_key(partition) {
            return Err(AdminError::new(
                ResponseError::InvalidReplicaAssignment,
                format!("Found multiple manual partition assignments for partition {partition}"),
            ));
        }
        rf = Some(check_assignment(image, *partition, replicas, rf)?);
        assignment.insert(*partition, replicas.clone());
    }
    let partitions = i32::try_from(assignment.len()).unwrap_or(i32::MAX);
    if assignment.keys().copied().ne(0..partitions) {
        return Err(AdminError::new(
            ResponseError::InvalidReplicaAssignment,
            "partitions should be a consecutive 0-based integer sequence",
        ));
    }
    let rf = i16::try_from(rf.unwrap_or(1)).unwrap_or(i16::MAX);
    let mut records = create_topic_records(
        image,
        &topic.name,
        partitions,
        rf,
        topic.configs.clone(),
        &brokers,
        topic_id,
    )?;
    apply_assignment(&mut records, &assignment);
    let created = CreatedTopic {
        num_partitions: partitions,
        replication_factor: rf,
    };
    Ok((records, created))
}

/// Creates a topic (or, with `validate_only`, only checks that it could be created). Returns
/// the new topic's id (nil when only validating). Blocking: call through [`blocking`].
pub fn create_topic_blocking(
    state: &BrokerState,
    topic: &NewTopic,
    validate_only: bool,
) -> Result<Result<(Uuid, CreatedTopic), AdminError>, BrokerError> {
    if validate_only {
        let image = state.image();
        return Ok(
            create_topic_decision(&image, &state.config, topic, Uuid::new_v4())
                .map(|(_, created)| (Uuid::nil(), created)),
        );
    }
    let topic_id = Uuid::new_v4();
    let mut created = None;
    let result = state.commit(|image| {
        let (records, c) = create_topic_decision(image, &state.config, topic, topic_id)?;
        created = Some(c);
        Ok::<_, AdminError>(records)
    })?;
    Ok(result.and_then(|_| {
        created.map(|c| (topic_id, c)).ok_or_else(|| {
            AdminError::new(
                ResponseError::UnknownServerError,
                "topic creation decided nothing",
            )
        })
    }))
}

/// The records adding partitions to `name` up to `count` (Kafka's CreatePartitions rules),
/// with an optional manual assignment of the new partitions.
pub fn create_partitions_decision(
    image: &MetadataImage,
    name: &str,
    count: i32,
    assignments: Option<&[Vec<i32>]>,
) -> Result<Vec<MetadataRecord>, AdminError> {
    let topic = image.topic(name).ok_or_else(|| {
        AdminError::new(
            ResponseError::UnknownTopicOrPartition,
            format!("The topic '{name}' does not exist."),
        )
    })?;
    let current = i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX);
    if count == current {
        return Err(AdminError::new(
            ResponseError::InvalidPartitions,
            format!("Topic already has {current} partition(s)."),
        ));
    }
    if count < current {
        return Err(AdminError::new(
            ResponseError::InvalidPartitions,
            format!(
                "The topic {name} currently has {current} partition(s); {count} would not be an increase."
            ),
        ));
    }
    let brokers: Vec<i32> = image.brokers().keys().copied().collect();
    let mut records = create_partitions_records(image, name, count, &brokers)?;
    if let Some(assignments) = assignments {
        let additional = count - current;
        if usize::try_from(additional).ok() != Some(assignments.len()) {
            return Err(AdminError::new(
                ResponseError::InvalidReplicaAssignment,
                format!(
                    "Attempted to add {additional} additional partition(s), but only {} assignment(s) were specified.",
                    assignments.len()
                ),
            ));
        }
        let rf = topic
            .partitions
            .values()
            .next()
            .map(|p| p.replicas.len().max(1));
        let mut manual = BTreeMap::new();
        for (partition, replicas) in (current..count).zip(assignments) {
            check_assignment(image, partition, replicas, rf)?;
            manual.insert(partition, replicas.clone());
        }
        apply_assignment(&mut records, &manual);
    }
    Ok(records)
}

/// `ConfigResource.Type` id of a topic in DescribeConfigs / (Incremental)AlterConfigs.
pub const RESOURCE_TOPIC: i8 = 2;
/// `ConfigResource.Type` id of a broker.
pub const RESOURCE_BROKER: i8 = 4;

/// The topic an (Incremental)AlterConfigs resource names, or why Weir cannot alter it.
/// Broker resources are refused: Weir has no dynamic broker configs yet.
pub fn alterable_topic(
    state: &BrokerState,
    resource_type: i8,
    name: &str,
) -> Result<String, AdminError> {
    match resource_type {
        RESOURCE_TOPIC if name.is_empty() => Err(AdminError::new(
            ResponseError::InvalidRequest,
            "Default topic resources are not allowed.",
        )),
        RESOURCE_TOPIC => Ok(name.to_string()),
        RESOURCE_BROKER => {
            if !name.is_empty() && name.parse::<i32>().ok() != Some(state.node_id) {
                return Err(AdminError::new(
                    ResponseError::InvalidRequest,
                    format!(
                        "Unexpected broker id, expected {} or empty string, but received {name}",
                        state.node_id
                    ),
                ));
            }
            Err(AdminError::new(
                ResponseError::InvalidRequest,
                "Weir does not support dynamic broker configs yet; set them in server.properties \
                 or with --override and restart the broker",
            ))
        }
        other => Err(AdminError::new(
            ResponseError::InvalidRequest,
            format!("Unsupported resource type: {other}"),
        )),
    }
}

/// Changes a topic's configs as `decide` says (validated against the current image), or only
/// validates them. Blocking: call through [`blocking`]. Committing applies the new configs to
/// the topic's open logs (`BrokerState::commit`).
pub fn alter_topic_configs_blocking(
    state: &BrokerState,
    decide: impl FnOnce(&MetadataImage) -> Result<Vec<MetadataRecord>, TopicError>,
    validate_only: bool,
) -> Result<(), AdminError> {
    if validate_only {
        return decide(&state.image()).map(|_| ()).map_err(AdminError::from);
    }
    match state.commit(decide) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(AdminError::from(e)),
        Err(e) => Err(AdminError::internal(&e)),
    }
}

/// Flags every resource that appears more than once (same type and name).
pub fn duplicate_resources<'a>(
    resources: impl Iterator<Item = (i8, &'a str)> + Clone,
) -> Vec<bool> {
    let mut counts: std::collections::HashMap<(i8, &str), usize> = std::collections::HashMap::new();
    for key in resources.clone() {
        *counts.entry(key).or_default() += 1;
    }
    resources
        .map(|key| counts.get(&key).copied().unwrap_or(0) > 1)
        .collect()
}

/// Creates a compacted internal topic (`__consumer_offsets`, `__transaction_state`) if it does
/// not exist yet; `segment_bytes_key` is the broker config that sets its `segment.bytes`.
/// Any failure is `COORDINATOR_NOT_AVAILABLE` to the client, which retries.
pub async fn ensure_internal_topic(
    state: &Arc<BrokerState>,
    name: &str,
    num_partitions: i32,
    replication_factor: i16,
    segment_bytes_key: &str,
) -> Result<(), ResponseError> {
    if state.image().topic(name).is_some() {
        return Ok(());
    }
    let mut configs = BTreeMap::new();
    configs.insert("cleanup.policy".to_string(), "compact".to_string());
    configs.insert("compression.type".to_string(), "producer".to_string());
    if let Some(bytes) = state.config.get(segment_bytes_key) {
        configs.insert("segment.bytes".to_string(), bytes.to_string());
    }
    let created = create(
        state.clone(),
        name.to_string(),
        num_partitions,
        replication_factor,
        configs,
    )
    .await;
    match created {
        Ok(Ok(_)) => {
            tracing::info!(partitions = num_partitions, "created {name}");
            Ok(())
        }
        Ok(Err(TopicError::TopicAlreadyExists { .. })) => Ok(()),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot create {name}");
            Err(ResponseError::CoordinatorNotAvailable)
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot create {name}");
            Err(ResponseError::CoordinatorNotAvailable)
        }
    }
}
