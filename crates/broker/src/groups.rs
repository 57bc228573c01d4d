//! The broker's side of the group coordinator: creating `__consumer_offsets`, handing its
//! partitions to the coordinator (which replays them), the coordinator's settings from the
//! broker config, and consumer lag.
//!
//! The topic is created on the first request that needs the coordinator (FindCoordinator or
//! any group API), as Kafka does, so a broker that never serves a group has no such topic. At
//! start-up an existing topic is replayed before the listeners answer group requests.

use std::sync::Arc;

use weir_coordinator::{CoordinatorConfig, GroupCoordinatorService, CONSUMER_OFFSETS_TOPIC};
use weir_metadata::config::BrokerConfig;
use weir_protocol::ResponseError;

use crate::{topic_admin, BrokerState};

/// The coordinator's settings, from the broker config (Kafka's names and defaults).
pub fn coordinator_config(config: &BrokerConfig) -> CoordinatorConfig {
    let number = |key: &str, fallback: i64| -> i64 {
        config
            .get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(fallback)
    };
    CoordinatorConfig {
        initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms(),
        min_session_timeout_ms: config.group_min_session_timeout_ms(),
        max_session_timeout_ms: config.group_max_session_timeout_ms(),
        max_size: i32::try_from(number("group.max.size", i64::from(i32::MAX))).unwrap_or(i32::MAX),
        offsets_retention_ms: number("offsets.retention.minutes", 10080).saturating_mul(60_000),
        offsets_retention_check_interval_ms: number("offsets.retention.check.interval.ms", 600_000)
            .max(1),
        consumer_session_timeout_ms: config.group_consumer_session_timeout_ms(),
        consumer_heartbeat_interval_ms: config.group_consumer_heartbeat_interval_ms(),
        consumer_assignors: config.group_consumer_assignors(),
        consumer_max_size: i32::try_from(number("group.consumer.max.size", i64::from(i32::MAX)))
            .unwrap_or(i32::MAX),
    }
}

/// The group coordinator, loaded: creates `__consumer_offsets` if it is missing and replays
/// it on first use. The error is the code to answer with.
pub async fn coordinator(
    state: &Arc<BrokerState>,
) -> Result<Arc<GroupCoordinatorService>, ResponseError> {
    let groups = state.groups.clone();
    if groups.is_loaded() {
        return Ok(groups);
    }
    let _guard = state.groups_load.lock().await;
    if groups.is_loaded() {
        return Ok(groups);
    }
    let num_partitions = groups.num_partitions();
    topic_admin::ensure_internal_topic(
        state,
        CONSUMER_OFFSETS_TOPIC,
        num_partitions,
        state.config.offsets_topic_replication_factor(),
        "offsets.topic.segment.bytes",
    )
    .await?;
    load(state).await?;
    Ok(groups)
}

/// Hands the existing `__consumer_offsets` partitions to the coordinator, which replays them.
pub async fn load(state: &Arc<BrokerState>) -> Result<(), ResponseError> {
    let image = state.image();
    let Some(topic) = image.topic(CONSUMER_OFFSETS_TOPIC) else {
        return Err(ResponseError::CoordinatorNotAvailable);
    };
    let count = i32::try_from(topic.partitions.len()).unwrap_or(0);
    if count != state.groups.num_partitions() {
        // Kafka refuses to change the partition count of this topic; groups would move.
        tracing::warn!(
            topic_partitions = count,
            configured = state.groups.num_partitions(),
            "{CONSUMER_OFFSETS_TOPIC} has a different partition count than offsets.topic.num.partitions"
        );
    }
    let mut partitions = Vec::new();
    for index in 0..state.groups.num_partitions() {
        match state.partition(CONSUMER_OFFSETS_TOPIC, index) {
            Some(p) => partitions.push(p),
            None => return Err(ResponseError::CoordinatorNotAvailable),
        }
    }
    let groups = state.groups.clone();
    tokio::task::spawn_blocking(move || groups.load(partitions))
        .await
        .map_err(|_| ResponseError::CoordinatorNotAvailable)?
        .map_err(|e| {
            tracing::error!(error = %e, "cannot load {CONSUMER_OFFSETS_TOPIC}");
            ResponseError::CoordinatorLoadInProgress
        })
}

/// One partition's lag for a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    pub committed_offset: i64,
    /// `-1` when the partition is not hosted here (topic deleted).
    pub log_end_offset: i64,
}

impl PartitionLag {
    /// Log end offset minus committed offset (0 when unknown).
    pub fn lag(&self) -> i64 {
        if self.log_end_offset < 0 {
            0
        } else {
            (self.log_end_offset - self.committed_offset).max(0)
        }
    }
}

/// Per partition with a committed offset: the committed offset and the log end offset
/// (the high watermark, what consumers can reach), for the CLI and the console.
pub fn group_lag(state: &BrokerState, group_id: &str) -> Vec<PartitionLag> {
    let mut out: Vec<PartitionLag> = state
        .groups
        .committed_offsets(group_id)
        .into_iter()
        .map(|(topic, partition, committed_offset)| {
            let log_end_offset = state
                .partition(&topic, partition)
                .map_or(-1, |p| p.high_watermark());
            PartitionLag {
                topic,
                partition,
                committed_offset,
                log_end_offset,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    out
}
