use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use uuid::Uuid;
use weir_storage::{DeletedSegments, Log, LogConfig, OffsetCheckpoint, RetentionPolicy};

use crate::{Partition, ReplicationError};

/// Kafka's name for the file of per-partition recovery points in each log dir.
const RECOVERY_POINT_CHECKPOINT: &str = "recovery-point-offset-checkpoint";

/// Kafka's name for the file of per-partition log start offsets in each log dir.
const LOG_START_OFFSET_CHECKPOINT: &str = "log-start-offset-checkpoint";

/// A topic name and partition index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        Self {
            topic: topic.into(),
            partition,
        }
    }

    /// Kafka's directory name for the partition: `<topic>-<partition>`.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.topic, self.partition)
    }

    /// Parses a partition directory name; topic names may themselves contain `-`.
    pub fn from_dir_name(name: &str) -> Option<Self> {
        let (topic, partition) = name.rsplit_once('-')?;
        let partition = partition.parse().ok().filter(|p: &i32| *p >= 0)?;
        (!topic.is_empty()).then(|| Self::new(topic, partition))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// The partitions this broker hosts, in one log directory.
///
/// Layout: `<log.dir>/<topic>-<partition>/` per partition (see `weir_storage::Log`) and
/// `<log.dir>/recovery-point-offset-checkpoint`, the offsets below which every partition's
/// log is known to be flushed; recovery after a crash re-reads only what lies above them.
pub struct ReplicaManager {
    log_dir: PathBuf,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    recovery_points: OffsetCheckpoint,
    /// Recovery points read at start-up, consumed as partitions are opened.
    initial_recovery_points: HashMap<(String, i32), i64>,
    /// `log-start-offset-checkpoint`; the lock serialises its writers (retention,
    /// DeleteRecords, topic deletion, the periodic flush), which share one `.tmp` file.
    log_start_offsets: Mutex<OffsetCheckpoint>,
    /// Log start offsets read at start-up, applied as partitions are opened.
    initial_log_start_offsets: HashMap<(String, i32), i64>,
}

impl ReplicaManager {
    /// Opens the log directory (creating it if needed) and reads its recovery points.
    /// Partition logs are opened by [`ReplicaManager::ensure_partition`].
    pub fn open(log_dir: &Path) -> Result<Self, ReplicationError> {
        std::fs::create_dir_all(log_dir).map_err(|source| ReplicationError::Io {
            path: log_dir.to_path_buf(),
            source,
        })?;
        let recovery_points = OffsetCheckpoint::new(log_dir.join(RECOVERY_POINT_CHECKPOINT));
        let initial_recovery_points = recovery_points.read()?;
        let log_start_offsets = OffsetCheckpoint::new(log_dir.join(LOG_START_OFFSET_CHECKPOINT));
        let initial_log_start_offsets = log_start_offsets.read()?;
        Ok(Self {
            log_dir: log_dir.to_path_buf(),
            partitions: RwLock::new(HashMap::new()),
            recovery_points,
            initial_recovery_points,
            log_start_offsets: Mutex::new(log_start_offsets),
            initial_log_start_offsets,
        })
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// Returns the hosted partition, opening (and recovering) or creating its log if needed.
    pub fn ensure_partition(
        &self,
        tp: &TopicPartition,
        topic_id: Uuid,
        config: LogConfig,
    ) -> Result<Arc<Partition>, ReplicationError> {
        if let Some(p) = self.get(tp) {
            return Ok(p);
        }
        let mut partitions = self
            .partitions
            .write()
            .map_err(|_| ReplicationError::Poisoned)?;
        if let Some(p) = partitions.get(tp) {
            return Ok(p.clone());
        }
        let recovery_point = self
            .initial_recovery_points
            .get(&(tp.topic.clone(), tp.partition))
            .copied()
            .unwrap_or(0);
        let mut log = Log::open(&self.log_dir.join(tp.dir_name()), config, recovery_point)?;
        if let Some(&start) = self
            .initial_log_start_offsets
            .get(&(tp.topic.clone(), tp.partition))
        {
            log.restore_log_start_offset(start);
        }
        let partition = Arc::new(Partition::new(
            tp.topic.clone(),
            tp.partition,
            topic_id,
            log,
        ));
        partitions.insert(tp.clone(), partition.clone());
        Ok(partition)
    }

    pub fn get(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions.read().ok()?.get(tp).cloned()
    }

    /// Every hosted partition of `topic`.
    pub fn partitions_of(&self, topic: &str) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .map(|p| {
                p.iter()
                    .filter(|(tp, _)| tp.topic == topic)
                    .map(|(_, p)| p.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops hosting every partition of `topic` and deletes their directories. Readers that
    /// still hold a segment file finish their reads on the unlinked file.
    pub fn delete_topic(&self, topic: &str) -> Result<(), ReplicationError> {
        let removed: Vec<TopicPartition> = {
            let mut partitions = self
                .partitions
                .write()
                .map_err(|_| ReplicationError::Poisoned)?;
            let keys: Vec<TopicPartition> = partitions
                .keys()
                .filter(|tp| tp.topic == topic)
                .cloned()
                .collect();
            for k in &keys {
                partitions.remove(k);
            }
            keys
        };
        for tp in removed {
            self.remove_dir(&tp)?;
        }
        // A topic created again under the same name must not inherit the old start offsets.
        self.checkpoint_log_start_offsets()?;
        Ok(())
    }

    /// Deletes partition directories that the metadata no longer lists (a topic deleted while
    /// the broker was down).
    pub fn remove_strays(
        &self,
        expected: &HashSet<TopicPartition>,
    ) -> Result<(), ReplicationError> {
        let entries = std::fs::read_dir(&self.log_dir).map_err(|source| ReplicationError::Io {
            path: self.log_dir.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            let name = entry.file_name();
            let Some(tp) = name.to_str().and_then(TopicPartition::from_dir_name) else {
                continue;
            };
            if is_dir && !tp.topic.starts_with("__cluster_metadata") && !expected.contains(&tp) {
                tracing::info!(partition = %tp, "deleting log of a partition no longer in the metadata");
                self.remove_dir(&tp)?;
            }
        }
        Ok(())
    }

    fn remove_dir(&self, tp: &TopicPartition) -> Result<(), ReplicationError> {
        let path = self.log_dir.join(tp.dir_name());
        match std::fs::remove_dir_all(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ReplicationError::Io { path, source }),
        }
    }

    /// Every hosted partition.
    pub fn all(&self) -> Vec<(TopicPartition, Arc<Partition>)> {
        self.partitions
            .read()
            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Fsyncs every log and records the new recovery points (atomically replaced file), so a
    /// restart after a crash re-reads only what was written since.
    pub fn flush_and_checkpoint(&self) -> Result<(), ReplicationError> {
        let mut points = HashMap::new();
        for (tp, partition) in self.all() {
            points.insert((tp.topic, tp.partition), partition.flush()?);
        }
        self.recovery_points.write(&points)?;
        self.checkpoint_log_start_offsets()?;
        Ok(())
    }
}

/// Retention, DeleteRecords and the `log-start-offset-checkpoint` file.
impl ReplicaManager {
    /// Writes every hosted partition's log start offset to `log-start-offset-checkpoint`
    /// (Kafka's format, replaced atomically).
    pub fn checkpoint_log_start_offsets(&self) -> Result<(), ReplicationError> {
        let checkpoint = self
            .log_start_offsets
            .lock()
            .map_err(|_| ReplicationError::Poisoned)?;
        let entries: HashMap<(String, i32), i64> = self
            .all()
            .into_iter()
            .map(|(tp, p)| ((tp.topic, tp.partition), p.log_start_offset()))
            .collect();
        checkpoint.write(&entries)?;
        Ok(())
    }

    /// One retention pass over every hosted partition, with each topic's policy from
    /// `policy_of` (`None`: skip the topic). Dropped segments are renamed to `*.deleted` under
    /// the partition lock and removed `file.delete.delay.ms` later by the retention task's
    /// sweep. Returns what was deleted as `(segments, bytes)`.
    ///
    /// No checkpoint is written here (it would cost an fsync per pass under write load):
    /// retention moves a log start offset only to the base offset of the first remaining
    /// segment, which a restart finds again from the files; the periodic flush writes
    /// `log-start-offset-checkpoint` too. A crash before the rename brings the segments back
    /// until the next pass deletes them again; one after it leaves `.deleted` files, which
    /// opening the log removes.
    pub fn run_retention(
        &self,
        policy_of: impl Fn(&str) -> Option<RetentionPolicy>,
        now_ms: i64,
    ) -> Result<(usize, u64), ReplicationError> {
        let mut deleted = DeletedSegments::default();
        let mut first_error = None;
        for (tp, partition) in self.all() {
            let Some(policy) = policy_of(&tp.topic) else {
                continue;
            };
            match partition.delete_old_segments(&policy, now_ms) {
                Ok(d) => deleted.extend(d),
                Err(e) => {
                    tracing::error!(partition = %tp, error = %e, "retention failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        let summary = (deleted.len(), deleted.bytes());
        deleted.delete_files()?;
        first_error.map_or(Ok(summary), Err)
    }

    /// DeleteRecords on a hosted partition: see [`Partition::delete_records`]. The new start
    /// offset is checkpointed before the segments below it are renamed for deletion, so it
    /// survives a crash. Returns the new log start offset (the low watermark).
    pub fn delete_records(
        &self,
        tp: &TopicPartition,
        offset: i64,
    ) -> Result<i64, ReplicationError> {
        let partition = self
            .get(tp)
            .ok_or_else(|| ReplicationError::UnknownPartition {
                topic: tp.topic.clone(),
                partition: tp.partition,
            })?;
        let before = partition.log_start_offset();
        let (low_watermark, deleted) = partition.delete_records(offset)?;
        if low_watermark != before || !deleted.is_empty() {
            self.checkpoint_log_start_offsets()?;
        }
        deleted.delete_files()?;
        Ok(low_watermark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_names_round_trip_with_dashes_in_topic() {
        let tp = TopicPartition::new("my-topic-1", 12);
        assert_eq!(tp.dir_name(), "my-topic-1-12");
        assert_eq!(TopicPartition::from_dir_name("my-topic-1-12"), Some(tp));
        assert_eq!(TopicPartition::from_dir_name("nodash"), None);
        assert_eq!(
            TopicPartition::from_dir_name("t--1"),
            Some(TopicPartition::new("t-", 1))
        );
        assert_eq!(TopicPartition::from_dir_name("-1"), None);
        assert_eq!(TopicPartition::from_dir_name("t-x"), None);
    }
}
