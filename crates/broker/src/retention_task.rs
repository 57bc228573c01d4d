//! The background retention task: every `log.retention.check.interval.ms`, delete the
//! segments that each topic's `retention.ms` / `retention.bytes` (or a moved log start
//! offset) no longer needs, as Kafka's `LogManager.cleanupLogs` does.
//!
//! The work happens on a blocking thread; each partition's lock is held only while its
//! segments are chosen, dropped from memory and their files renamed to `.deleted` (see
//! `weir_storage::retention`), so produce and fetch do not pause.
//!
//! The same task sweeps the partition directories for `.deleted` files (from retention,
//! DeleteRecords and the log cleaner) and removes those that have waited each topic's
//! `file.delete.delay.ms` (see `weir_storage::deleted_files`), every quarter of the broker's
//! `log.segment.delete.delay.ms` (between 100 ms and 5 s).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use weir_metadata::config::topic::TopicConfigView;
use weir_storage::DeletedFileSweeper;

use crate::{codes, topic_config, BrokerState};

/// Runs a retention pass every `log.retention.check.interval.ms` until shutdown.
pub(crate) async fn retention_loop(state: Arc<BrokerState>, mut shutdown: watch::Receiver<bool>) {
    let interval_ms = state.config.log_retention_check_interval_ms().max(1);
    let interval = Duration::from_millis(u64::try_from(interval_ms).unwrap_or(300_000));
    // Fixed rate, as Kafka's scheduler: a pass's own duration does not stretch the period.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let delay_ms = state
        .config
        .get("log.segment.delete.delay.ms")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(60_000);
    let mut sweeps = tokio::time::interval(Duration::from_millis((delay_ms / 4).clamp(100, 5_000)));
    sweeps.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let sweeper = Arc::new(std::sync::Mutex::new(DeletedFileSweeper::new()));
    loop {
        tokio::select! {
            _ = sweeps.tick() => {
                let (state, sweeper) = (state.clone(), sweeper.clone());
                let sweep = tokio::task::spawn_blocking(move || {
                    let mut sweeper = sweeper.lock().unwrap_or_else(|e| e.into_inner());
                    sweep_deleted_files(&state, &mut sweeper)
                });
                if let Err(e) = sweep.await {
                    tracing::error!(error = %e, "deleted file sweep panicked");
                }
            }
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

/// Removes the `.deleted` files of hosted partitions that have waited their topic's
/// `file.delete.delay.ms`. Returns how many were removed.
pub(crate) fn sweep_deleted_files(state: &BrokerState, sweeper: &mut DeletedFileSweeper) -> usize {
    let image = state.image();
    let dirs: Vec<_> = state
        .replicas
        .all()
        .into_iter()
        .map(|(tp, _)| {
            let delay_ms = image.topic(&tp.topic).map_or(60_000, |t| {
                TopicConfigView::resolve(&t.configs, &state.config).file_delete_delay_ms
            });
            (state.replicas.log_dir().join(tp.dir_name()), delay_ms)
        })
        .collect();
    sweeper.sweep(&dirs, codes::now_ms())
}
