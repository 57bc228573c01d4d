//! The background log cleaner: every `log.cleaner.backoff.ms`, compact each hosted partition
//! of a topic whose `cleanup.policy` contains `compact` (user topics, `__consumer_offsets`,
//! `__transaction_state`) when its dirty ratio or `max.compaction.lag.ms` says so, as Kafka's
//! `LogCleaner` threads do. Off with `log.cleaner.enable=false`.
//!
//! # The cleaner thread
//!
//! Passes run on a dedicated OS thread (Kafka's `CleanerThread`), not on tokio's blocking
//! pool, at a lower CPU priority (nice [`CLEANER_NICE`]): on a machine with few cores a
//! cleaning otherwise competes as an equal with the threads that answer produce and fetch,
//! and stretches their latency. The priority is per thread on Linux, and this thread does
//! nothing else, so no other work inherits it (a niced pool thread would later run produce
//! requests). The async [`cleaner_loop`] keeps the timer and watches for shutdown; it hands
//! the thread one pass at a time and waits for it, so a shutdown waits for the current pass
//! as before, and dropping the request channel ends the thread.
//!
//! Each partition's lock is held only to plan a cleaning
//! and to swap the cleaned segments in; reading and rewriting segments runs without it (see
//! `weir_storage::cleaner`), so produce and fetch keep going. One cleaning at a time gets the
//! whole `log.cleaner.dedupe.buffer.size` (Kafka splits it among `log.cleaner.threads`; Weir
//! runs one cleaner).
//!
//! # The cleaner checkpoint
//!
//! Where each partition's previous cleaning stopped (its first dirty offset) is Kafka's
//! `cleaner-offset-checkpoint` in the log directory, in the format of the other offset
//! checkpoints (`weir_storage::OffsetCheckpoint`). It is read when the task starts and
//! rewritten (atomically) after every pass that cleaned something, keeping only topics the
//! metadata still lists. So after a restart the dirty ratio is judged from where cleaning
//! really stopped, not from the log start: a clean log is not re-read, and tombstones that
//! were already through one cleaning can go on the first pass.
//!
//! An entry read from the file is trusted for the topic of that name; once cleaned in this
//! process it is tied to the topic id, so a topic deleted and re-created under the same name
//! starts again from its log start. The storage side also restarts from the log start when an
//! entry lies outside the log (below its start or past its end).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{oneshot, watch};
use uuid::Uuid;
use weir_storage::{CleanerStats, OffsetCheckpoint};

use crate::{codes, topic_config, BrokerState};

/// Kafka's name for the file of first dirty offsets in each log dir.
pub(crate) const CLEANER_OFFSET_CHECKPOINT: &str = "cleaner-offset-checkpoint";

/// Where the previous cleaning of each partition stopped, and its file.
pub(crate) struct CleanerCheckpoints {
    file: OffsetCheckpoint,
    /// (topic, partition) -> (the topic id it was recorded for; `None` when read from the
    /// file, first dirty offset).
    offsets: HashMap<(String, i32), (Option<Uuid>, i64)>,
}

impl CleanerCheckpoints {
    /// Reads `cleaner-offset-checkpoint` in `log_dir`. A missing file is empty; an unreadable
    /// or corrupt one is reported and ignored (cleaning then starts from each log start, which
    /// costs one extra pass and loses nothing).
    pub(crate) fn load(log_dir: &Path) -> Self {
        let file = OffsetCheckpoint::new(log_dir.join(CLEANER_OFFSET_CHECKPOINT));
        let offsets = match file.read() {
            Ok(entries) => entries
                .into_iter()
                .map(|(tp, offset)| (tp, (None, offset)))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring the cleaner checkpoint");
                HashMap::new()
            }
        };
        Self { file, offsets }
    }

    /// The first dirty offset recorded for the partition (0 if none).
    fn first_dirty(&self, topic: &str, partition: i32, topic_id: Uuid) -> i64 {
        match self.offsets.get(&(topic.to_string(), partition)) {
            Some(&(id, offset)) if id.is_none_or(|id| id == topic_id) => offset,
            _ => 0,
        }
    }

    fn record(&mut self, topic: &str, partition: i32, topic_id: Uuid, offset: i64) {
        self.offsets
            .insert((topic.to_string(), partition), (Some(topic_id), offset));
    }

    /// Rewrites the file with the entries of topics `exists` still knows.
    fn write(&mut self, exists: impl Fn(&str) -> bool) {
        self.offsets.retain(|(topic, _), _| exists(topic));
        let entries = self
            .offsets
            .iter()
            .map(|(tp, &(_, offset))| (tp.clone(), offset))
            .collect();
        if let Err(e) = self.file.write(&entries) {
            tracing::error!(error = %e, "failed to write the cleaner checkpoint");
        }
    }
}

/// The cleaner thread's nice value: low enough a priority that produce and fetch threads
/// (nice 0) get about ten times its share of a contended core, not so low that the cleaner
/// starves on a busy broker (Kafka leaves this to the operator; Weir's issue 6 asks that
/// cleaning not double produce p99).
const CLEANER_NICE: i32 = 10;

/// Runs a cleaner pass every `log.cleaner.backoff.ms` until shutdown, on the cleaner thread
/// (see the module docs).
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
    let (passes, requests) = std::sync::mpsc::channel::<oneshot::Sender<()>>();
    let thread_state = state.clone();
    let thread = match std::thread::Builder::new()
        .name("log-cleaner-0".to_string())
        .spawn(move || cleaner_thread(&thread_state, &requests))
    {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the log cleaner thread");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {
                let (done, pass) = oneshot::channel();
                // Either fails only when the thread is gone (it never exits on its own).
                if passes.send(done).is_err() || pass.await.is_err() {
                    tracing::error!("the log cleaner thread stopped");
                    break;
                }
            }
            _ = shutdown.changed() => break,
        }
    }
    // No pass is running: closing the channel ends the thread at once.
    drop(passes);
    let joined = tokio::task::spawn_blocking(move || thread.join()).await;
    if !matches!(joined, Ok(Ok(()))) {
        tracing::error!("the log cleaner thread did not stop cleanly");
    }
}

/// The cleaner thread: lowers its own priority, then runs one pass per request until the
/// request channel closes. A pass that panics is logged and the next one still runs, as when
/// passes ran on the blocking pool.
fn cleaner_thread(state: &BrokerState, requests: &std::sync::mpsc::Receiver<oneshot::Sender<()>>) {
    lower_priority();
    let mut checkpoints = CleanerCheckpoints::load(state.replicas.log_dir());
    for done in requests {
        let pass = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_once(state, &mut checkpoints)
        }));
        if pass.is_err() {
            tracing::error!("log cleaner panicked");
        }
        // The loop may have stopped waiting (shutdown of the runtime); nothing to tell then.
        let _ = done.send(());
    }
}

/// Sets the calling thread's nice value to [`CLEANER_NICE`]. On Linux `setpriority` with a
/// thread id applies to that thread only. A failure (a seccomp filter, say) costs latency,
/// not correctness, so it is logged and cleaning goes on.
fn lower_priority() {
    let tid = rustix::thread::gettid();
    match rustix::process::setpriority_process(Some(tid), CLEANER_NICE) {
        Ok(()) => tracing::debug!(nice = CLEANER_NICE, "log cleaner thread started"),
        Err(e) => tracing::warn!(error = %e, "cannot lower the log cleaner thread's priority"),
    }
}

/// One pass over every hosted partition of a compacted topic. Returns the stats of the logs
/// cleaned; a log that fails is logged and skipped (Kafka marks it uncleanable).
pub(crate) fn run_once(
    state: &BrokerState,
    checkpoints: &mut CleanerCheckpoints,
) -> Vec<CleanerStats> {
    let image = state.image();
    let dedupe_buffer_size = state
        .config
        .get("log.cleaner.dedupe.buffer.size")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(128 << 20);
    let load_factor = state
        .config
        .get("log.cleaner.io.buffer.load.factor")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.9);
    let io_max_bytes_per_second = state
        .config
        .get("log.cleaner.io.max.bytes.per.second")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(f64::MAX);
    let mut cleaned = Vec::new();
    for (tp, partition) in state.replicas.all() {
        let Some(mut config) = image
            .topic(&tp.topic)
            .and_then(|t| topic_config::cleaner_config(&state.config, t))
        else {
            continue;
        };
        config.dedupe_buffer_size = dedupe_buffer_size;
        config.dedupe_buffer_load_factor = load_factor;
        config.io_max_bytes_per_second = io_max_bytes_per_second;
        let topic_id = partition.topic_id();
        let first_dirty = checkpoints.first_dirty(&tp.topic, tp.partition, topic_id);
        match partition.clean_log(&config, first_dirty, codes::now_ms()) {
            Ok(Some(stats)) => {
                tracing::debug!(partition = %tp, ?stats, "partition cleaned");
                checkpoints.record(&tp.topic, tp.partition, topic_id, stats.next_dirty_offset);
                cleaned.push(stats);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(partition = %tp, error = %e, "log cleaning failed"),
        }
    }
    if !cleaned.is_empty() {
        checkpoints.write(|topic| image.topic(topic).is_some());
    }
    cleaned
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_round_trips_and_ties_entries_to_topic_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut cp = CleanerCheckpoints::load(dir.path());
        assert_eq!(cp.first_dirty("t", 0, a), 0);
        cp.record("t", 0, a, 1234);
        cp.record("gone", 3, b, 7);
        cp.write(|topic| topic == "t");
        let text = std::fs::read_to_string(dir.path().join(CLEANER_OFFSET_CHECKPOINT))
            .expect("checkpoint written");
        assert_eq!(text, "0\n1\nt 0 1234\n");

        let mut reloaded = CleanerCheckpoints::load(dir.path());
        // Read from the file: trusted for whatever topic now has the name.
        assert_eq!(reloaded.first_dirty("t", 0, b), 1234);
        assert_eq!(reloaded.first_dirty("t", 1, a), 0);
        reloaded.record("t", 0, a, 2000);
        // Recorded for topic id `a`: a re-created topic `t` starts over.
        assert_eq!(reloaded.first_dirty("t", 0, a), 2000);
        assert_eq!(reloaded.first_dirty("t", 0, b), 0);
    }

    #[test]
    fn corrupt_checkpoint_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(CLEANER_OFFSET_CHECKPOINT), "0\n2\nt 0 5\n").expect("write");
        let cp = CleanerCheckpoints::load(dir.path());
        assert_eq!(cp.first_dirty("t", 0, Uuid::nil()), 0);
    }
}
