//! DescribeLogDirs (`kafka-log-dirs --describe`): the broker's log directory with the size of
//! each hosted partition and, from v4, the file system's total and usable bytes.
//!
//! Weir has one log directory and no future (being-moved) replicas, so every partition is
//! reported with `is_future_key = false` and, being its own leader, an offset lag of 0.
//! A `null` topic list means every hosted partition; requested topics or partitions that are
//! not hosted are left out, as Kafka does.

use std::path::Path;
use std::sync::Arc;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use weir_protocol::ResponseError;

use crate::BrokerState;

pub async fn handle(
    state: &Arc<BrokerState>,
    request: DescribeLogDirsRequest,
    version: i16,
) -> DescribeLogDirsResponse {
    let state = state.clone();
    let result = tokio::task::spawn_blocking(move || describe(&state, request, version)).await;
    match result {
        Ok(r) => DescribeLogDirsResponse::default().with_results(vec![r]),
        Err(e) => {
            tracing::error!(error = %e, "describe log dirs task failed");
            let resp = DescribeLogDirsResponse::default();
            if version >= 3 {
                resp.with_error_code(ResponseError::UnknownServerError.code())
            } else {
                resp
            }
        }
    }
}

fn describe(
    state: &BrokerState,
    request: DescribeLogDirsRequest,
    version: i16,
) -> DescribeLogDirsResult {
    let image = state.image();
    // (topic, wanted partitions; None = all)
    let wanted: Vec<(String, Option<Vec<i32>>)> = match request.topics {
        None => image
            .topics()
            .values()
            .map(|t| (t.name.clone(), None))
            .collect(),
        Some(topics) => topics
            .into_iter()
            .map(|t| (t.topic.0.to_string(), Some(t.partitions)))
            .collect(),
    };
    let mut topics = Vec::new();
    for (name, partitions) in wanted {
        let mut hosted = state.replicas.partitions_of(&name);
        hosted.sort_by_key(|p| p.index());
        let partitions: Vec<DescribeLogDirsPartition> = hosted
            .into_iter()
            .filter(|p| partitions.as_ref().is_none_or(|w| w.contains(&p.index())))
            .filter_map(|p| {
                let size = p.size_bytes().ok()?;
                Some(
                    DescribeLogDirsPartition::default()
                        .with_partition_index(p.index())
                        .with_partition_size(i64::try_from(size).unwrap_or(i64::MAX))
                        .with_offset_lag(0)
                        .with_is_future_key(false),
                )
            })
            .collect();
        if !partitions.is_empty() {
            topics.push(
                DescribeLogDirsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partitions(partitions),
            );
        }
    }
    let log_dir = state.replicas.log_dir();
    let log_dir_name = std::fs::canonicalize(log_dir)
        .unwrap_or_else(|_| log_dir.to_path_buf())
        .display()
        .to_string();
    let result = DescribeLogDirsResult::default()
        .with_log_dir(StrBytes::from_string(log_dir_name))
        .with_topics(topics);
    if version >= 4 {
        let (total, usable) = disk_space(log_dir).unwrap_or((-1, -1));
        result.with_total_bytes(total).with_usable_bytes(usable)
    } else {
        result
    }
}

/// `(total, usable)` bytes of the file system holding `dir` (usable: what an unprivileged
/// process may still write, as Java's `FileStore.getUsableSpace`).
#[allow(
    clippy::useless_conversion,
    reason = "statvfs field types are u64 on Linux but narrower on other Unixes"
)]
fn disk_space(dir: &Path) -> Option<(i64, i64)> {
    let st = nix::sys::statvfs::statvfs(dir)
        .map_err(|e| tracing::warn!(dir = %dir.display(), error = %e, "statvfs failed"))
        .ok()?;
    let frag = u64::from(st.fragment_size());
    let total = u64::from(st.blocks()).saturating_mul(frag);
    let usable = u64::from(st.blocks_available()).saturating_mul(frag);
    Some((
        i64::try_from(total).unwrap_or(i64::MAX),
        i64::try_from(usable).unwrap_or(i64::MAX),
    ))
}
