//! The background retention task: every `log.retention.check.interval.ms`, delete the
//! segments that each topic's `retention.ms` / `retention.bytes` (or a moved log start
//! offset) no longer needs, as Kafka's `LogManager.cleanupLogs` does.
//!
//! The work happens on a blocking thread; each partition's lock is held only while its
//! segments are chosen and dropped from memory, and the files are unlinked after every lock is
//! released (see `weir_storage::retention`), so produce and fetch do not pause.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::{codes, topic_config, BrokerState};

/// Runs a retention pass every `log.retention.check.interval.ms` until shutdown.
pub(crate) async fn retention_loop(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    let interval_ms = state.config.log_retention_check_interval_ms().max(1);
    let interval = Duration::from_millis(u64::try_from(interval_ms).unwrap_or(300_000));
    // Fixed rate, as Kafka's scheduler: a pass's own duration does not stretch the period.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let state = state.clone();
                match tokio::task::spawn_blocking(move || run_once(&state)).await {
                    Ok(Err(e)) => tracing::error!(error = %e, "retention pass failed"),
                    Err(e) => tracing::error!(error = %e, "retention task panicked"),
                    Ok(Ok(_)) => {}
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// One retention pass over every hosted partition, with each topic's current configs.
/// Returns `(segments, bytes)` deleted.
pub(crate) fn run_once(
    state: &BrokerState,
) -> Result<(usize, u64), weir_replication::ReplicationError> {
    let image = state.image();
    let (segments, bytes) = state.replicas.run_retention(
        |topic| {
            image
                .topic(topic)
                .map(|t| topic_config::retention_policy(&state.config, t))
        },
        codes::now_ms(),
    )?;
    if segments > 0 {
        tracing::debug!(segments, bytes, "retention pass deleted segments");
    }
    Ok((segments, bytes))
}
