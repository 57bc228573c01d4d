//! The background log cleaner: every `log.cleaner.backoff.ms`, compact each hosted partition
//! of a topic whose `cleanup.policy` contains `compact` (user topics, `__consumer_offsets`,
//! `__transaction_state`) when its dirty ratio or `max.compaction.lag.ms` says so, as Kafka's
//! `LogCleaner` threads do. Off with `log.cleaner.enable=false`.
//!
//! Work happens on a blocking thread. Each partition's lock is held only to plan a cleaning
//! and to swap the cleaned segments in; reading and rewriting segments runs without it (see
//! `weir_storage::cleaner`), so produce and fetch keep going.
//!
//! Where each partition's previous cleaning stopped (Kafka's `cleaner-offset-checkpoint`) is
//! kept in memory: after a restart the first cleaning of a log treats it all as dirty, which
//! costs one extra pass and changes nothing else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;
use weir_storage::CleanerStats;

use crate::{codes, topic_config, BrokerState};

/// Where the previous cleaning of each partition stopped: (topic id, partition) -> offset.
pub(crate) type CleanerCheckpoints = HashMap<(Uuid, i32), i64>;

/// Runs a cleaner pass every `log.cleaner.backoff.ms` until shutdown.
pub(crate) async fn cleaner_loop(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    let enabled = state
        .config
        .get("log.cleaner.enable")
        .is_none_or(|v| v.trim().eq_ignore_ascii_case("true"));
    if !enabled {
        return;
    }
    let backoff_ms = state
        .config
        .get("log.cleaner.backoff.ms")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(15_000)
        .max(1);
    let interval = Duration::from_millis(backoff_ms);
    let checkpoints = Arc::new(std::sync::Mutex::new(CleanerCheckpoints::new()));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {
                let (state, checkpoints) = (state.clone(), checkpoints.clone());
                let pass = tokio::task::spawn_blocking(move || {
                    let mut checkpoints = checkpoints.lock().unwrap_or_else(|e| e.into_inner());
                    run_once(&state, &mut checkpoints)
                });
                if let Err(e) = pass.await {
                    tracing::error!(error = %e, "log cleaner panicked");
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// One pass over every hosted partition of a compacted topic. Returns the stats of the logs
/// cleaned; a log that fails is logged and skipped (Kafka marks it uncleanable).
pub(crate) fn run_once(
    state: &BrokerState,
    checkpoints: &mut CleanerCheckpoints,
) -> Vec<CleanerStats> {
    let image = state.image();
    let mut cleaned = Vec::new();
    for (tp, partition) in state.replicas.all() {
        let Some(config) = image
            .topic(&tp.topic)
            .and_then(|t| topic_config::cleaner_config(&state.config, t))
        else {
            continue;
        };
        let key = (partition.topic_id(), tp.partition);
        let first_dirty = checkpoints.get(&key).copied().unwrap_or(0);
        match partition.clean_log(&config, first_dirty, codes::now_ms()) {
            Ok(Some(stats)) => {
                tracing::debug!(partition = %tp, ?stats, "partition cleaned");
                checkpoints.insert(key, stats.next_dirty_offset);
                cleaned.push(stats);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(partition = %tp, error = %e, "log cleaning failed"),
        }
    }
    cleaned
}
