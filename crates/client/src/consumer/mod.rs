//! The consumer: `assign` + `seek` + `poll`, fetching from every partition leader.
//!
//! ```text
//! poll() --> resets positions (ListOffsets, auto.offset.reset)
//!        --> one Fetch per leader covering its fetchable partitions (one in flight per broker)
//!        --> hands out buffered records (max.poll.records), leaving the next fetches in flight
//! ```
//!
//! A partition is fetched ahead while its buffered records are handed out: the fetch position
//! runs ahead of the position the caller sees ([`Consumer::position`]). A `seek` drops the
//! buffer and ignores the answer of a fetch already in flight for that partition.
//!
//! ```no_run
//! # async fn demo() -> Result<(), weir_client::ClientError> {
//! use std::time::Duration;
//! use weir_client::{Consumer, ConsumerConfig, TopicPartition};
//! let mut config = ConsumerConfig::new("127.0.0.1:9092");
//! config.set("auto.offset.reset", "earliest")?;
//! let mut consumer = Consumer::new(config).await?;
//! consumer.assign(vec![TopicPartition::new("events", 0)]).await?;
//! for record in consumer.poll(Duration::from_secs(1)).await? {
//!     println!("{}-{}@{}: {:?}", record.topic, record.partition, record.offset, record.value);
//! }
//! # Ok(()) }
//! ```

pub mod assignor;
mod commit_future;
pub mod config;
mod fetch;
mod group;
pub mod group_admin;
pub mod group_metadata;
pub mod sticky_assignor;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use weir_protocol::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use weir_protocol::kafka_protocol::messages::{BrokerId, ListOffsetsRequest, TopicName};
use weir_protocol::kafka_protocol::protocol::StrBytes;
use weir_protocol::ResponseError;

use crate::cluster::Cluster;
use crate::ClientError;
pub use commit_future::CommitFuture;
use config::{ConsumerConfig, OffsetReset};
use fetch::{FetchDone, FetchedPartition};
use group::Group;

/// A topic and a partition number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl std::fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Called around rebalances of a subscribed consumer, from within `poll` (and `close` /
/// `unsubscribe`): revoked before rejoining, after the auto commit; assigned once the new
/// assignment is known, before any record of it is fetched.
pub trait RebalanceListener: Send {
    fn on_partitions_revoked(&mut self, _partitions: &[TopicPartition]) {}
    fn on_partitions_assigned(&mut self, _partitions: &[TopicPartition]) {}
}

/// One record as `poll` hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
    /// Milliseconds since the epoch (create time or log-append time, see `log_append_time`).
    pub timestamp: i64,
    /// Whether `timestamp` is the broker's LogAppendTime rather than the producer's CreateTime.
    pub log_append_time: bool,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
    pub leader_epoch: i32,
}

/// Why a partition must look its position up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Reset {
    Earliest,
    Latest,
}

#[derive(Debug)]
struct PartState {
    /// The offset of the next record `poll` hands out; `None` until known.
    position: Option<i64>,
    /// A requested reset (seek_to_beginning/end, or auto.offset.reset).
    reset: Option<Reset>,
    /// The next offset to fetch (ahead of `position` by what is buffered).
    fetch_offset: i64,
    buffer: VecDeque<ConsumerRecord>,
    paused: bool,
    in_flight: bool,
    /// The group's committed offset must be looked up before `reset` applies.
    use_committed: bool,
    /// Bumped by every seek; answers to older fetches are dropped.
    generation: u64,
    high_watermark: i64,
    last_stable_offset: i64,
    log_start_offset: i64,
}

impl PartState {
    fn new() -> Self {
        PartState {
            position: None,
            reset: None,
            fetch_offset: 0,
            buffer: VecDeque::new(),
            paused: false,
            in_flight: false,
            use_committed: false,
            generation: 0,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
        }
    }

    fn seek(&mut self, offset: i64) {
        self.position = Some(offset);
        self.fetch_offset = offset;
        self.reset = None;
        self.use_committed = false;
        self.buffer.clear();
        self.generation += 1;
    }
}

/// A Kafka consumer (see the module docs). Like Kafka's, it is used from one task at a time.
pub struct Consumer {
    cluster: Arc<Cluster>,
    config: ConsumerConfig,
    parts: BTreeMap<TopicPartition, PartState>,
    /// Nodes with a fetch in flight.
    in_flight: HashSet<i32>,
    done_tx: mpsc::UnboundedSender<FetchDone>,
    done_rx: mpsc::UnboundedReceiver<FetchDone>,
    /// Where the next `poll` starts handing out, for fairness across partitions.
    next_part: usize,
    /// Membership and committed offsets, with a `group.id`.
    group: Option<Group>,
    /// Whether the assignment comes from the group (`subscribe`) rather than `assign`.
    subscribed: bool,
    last_auto_commit: Instant,
    /// A pattern subscription: topics matching it, looked up again every
    /// `metadata.max.age.ms`.
    pattern: Option<regex::Regex>,
    last_pattern_check: Instant,
    listener: Option<std::sync::Mutex<Box<dyn RebalanceListener>>>,
}

impl std::fmt::Debug for Consumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumer")
            .field("assignment", &self.parts.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Consumer {
    /// Connects to the cluster.
    pub async fn new(config: ConsumerConfig) -> Result<Consumer, ClientError> {
        let cluster =
            Cluster::connect(config.client.clone(), config.allow_auto_create_topics).await?;
        Ok(Self::with_cluster(cluster, config))
    }

    /// A consumer on an existing cluster handle (shared with a producer or an admin client).
    pub fn with_cluster(cluster: Arc<Cluster>, config: ConsumerConfig) -> Consumer {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let group = config
            .group_id
            .clone()
            .map(|g| Group::new(cluster.clone(), g, &config));
        Consumer {
            group,
            subscribed: false,
            last_auto_commit: Instant::now(),
            pattern: None,
            last_pattern_check: Instant::now(),
            listener: None,
            cluster,
            config,
            parts: BTreeMap::new(),
            in_flight: HashSet::new(),
            done_tx,
            done_rx,
            next_part: 0,
        }
    }

    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// Replaces the assignment by `partitions` (no group membership). Partitions kept keep
    /// their position; new ones start at the group's committed offset (with a `group.id`), else
    /// per `auto.offset.reset`.
    pub async fn assign(&mut self, partitions: Vec<TopicPartition>) -> Result<(), ClientError> {
        if self.subscribed {
            return Err(crate::config::invalid(
                "assign",
                "",
                "the consumer is subscribed; unsubscribe first",
            ));
        }
        self.set_assignment(partitions).await
    }

    async fn set_assignment(&mut self, partitions: Vec<TopicPartition>) -> Result<(), ClientError> {
        let wanted: HashSet<TopicPartition> = partitions.into_iter().collect();
        self.parts.retain(|tp, _| wanted.contains(tp));
        let mut new_topics = false;
        let has_group = self.group.is_some();
        for tp in wanted {
            new_topics |= self.cluster.add_topic(&tp.topic);
            self.parts.entry(tp).or_insert_with(|| {
                let mut p = PartState::new();
                p.use_committed = has_group;
                p
            });
        }
        if new_topics {
            self.cluster.refresh_metadata().await?;
        }
        Ok(())
    }

    /// Joins the group (`group.id` needed) with a subscription to `topics`; the assignment
    /// comes from the group leader's assignor at the next `poll`.
    pub async fn subscribe(&mut self, topics: Vec<String>) -> Result<(), ClientError> {
        if self.group.is_none() {
            return Err(crate::config::invalid(
                "group.id",
                "",
                "subscribe needs a group.id",
            ));
        }
        let mut topics = topics;
        topics.sort();
        topics.dedup();
        if topics.is_empty() {
            return self.unsubscribe().await;
        }
        self.pattern = None;
        self.set_subscription(topics);
        Ok(())
    }

    /// Replaces the group subscription, asking for a rejoin if it changed.
    fn set_subscription(&mut self, topics: Vec<String>) {
        let Some(group) = self.group.as_mut() else {
            return;
        };
        for t in &topics {
            self.cluster.add_topic(t);
        }
        if group.subscription != topics || !self.subscribed {
            group.subscription = topics;
            group
                .rejoin
                .store(true, std::sync::atomic::Ordering::Release);
            group.wake.notify_one();
        }
        self.subscribed = true;
    }

    /// Joins the group (`group.id` needed) subscribed to every topic whose whole name matches
    /// `pattern` (a `regex` crate expression, as Java's `Pattern` for the usual syntax;
    /// internal topics excluded). The match is redone every `metadata.max.age.ms`: topics
    /// created or deleted later join or leave the subscription, which rebalances the group.
    pub async fn subscribe_pattern(&mut self, pattern: &str) -> Result<(), ClientError> {
        if self.group.is_none() {
            return Err(crate::config::invalid(
                "group.id",
                "",
                "subscribe needs a group.id",
            ));
        }
        let regex = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| crate::config::invalid("pattern", pattern, e.to_string()))?;
        self.pattern = Some(regex);
        self.match_pattern().await
    }

    /// Like [`Consumer::subscribe_pattern`], with callbacks around every rebalance.
    pub async fn subscribe_pattern_with_listener(
        &mut self,
        pattern: &str,
        listener: Box<dyn RebalanceListener>,
    ) -> Result<(), ClientError> {
        self.subscribe_pattern(pattern).await?;
        self.listener = Some(std::sync::Mutex::new(listener));
        Ok(())
    }

    /// Matches the pattern against every topic in the cluster.
    async fn match_pattern(&mut self) -> Result<(), ClientError> {
        let Some(pattern) = self.pattern.clone() else {
            return Ok(());
        };
        self.last_pattern_check = Instant::now();
        let all = self.cluster.fetch_metadata(None, false).await?;
        let mut topics: Vec<String> = all
            .topics
            .values()
            .filter(|t| !t.is_internal && t.error.is_none() && pattern.is_match(&t.name))
            .map(|t| t.name.clone())
            .collect();
        topics.sort();
        for t in &topics {
            self.cluster.add_topic(t);
        }
        self.set_subscription(topics);
        Ok(())
    }

    /// Like [`Consumer::subscribe`], with callbacks around every rebalance.
    pub async fn subscribe_with_listener(
        &mut self,
        topics: Vec<String>,
        listener: Box<dyn RebalanceListener>,
    ) -> Result<(), ClientError> {
        self.subscribe(topics).await?;
        self.listener = Some(std::sync::Mutex::new(listener));
        Ok(())
    }

    fn revoke_all(&mut self) {
        if let Some(l) = self.listener.as_mut() {
            let revoked: Vec<TopicPartition> = self.parts.keys().cloned().collect();
            match l.get_mut() {
                Ok(l) => l.on_partitions_revoked(&revoked),
                Err(p) => p.into_inner().on_partitions_revoked(&revoked),
            }
        }
    }

    /// Leaves the group and drops the assignment.
    pub async fn unsubscribe(&mut self) -> Result<(), ClientError> {
        self.pattern = None;
        if self.subscribed {
            self.auto_commit(true).await;
            self.revoke_all();
            self.listener = None;
            if let Some(g) = self.group.as_mut() {
                g.subscription.clear();
                let _ = g.leave().await;
            }
        }
        self.subscribed = false;
        self.parts.clear();
        Ok(())
    }

    /// The member id and generation in the group, once joined.
    pub fn group_member(&self) -> Option<(String, i32)> {
        self.group
            .as_ref()
            .filter(|g| !g.member_id.is_empty())
            .map(|g| (g.member_id.clone(), g.generation))
    }

    /// The group, generation and member this consumer is, for
    /// [`crate::Producer::send_offsets_to_transaction`] (`None` without a `group.id`). Before
    /// the first join the generation is -1 and the member id empty.
    pub fn group_metadata(&self) -> Option<group_metadata::ConsumerGroupMetadata> {
        self.group
            .as_ref()
            .map(|g| group_metadata::ConsumerGroupMetadata {
                group_id: g.group_id.clone(),
                generation_id: g.generation,
                member_id: g.member_id.clone(),
                group_instance_id: g.instance_id.clone(),
            })
    }

    /// Commits the positions of every assigned partition and waits for the answer.
    pub async fn commit_sync(&mut self) -> Result<(), ClientError> {
        let offsets = self.positions();
        self.commit_offsets(&offsets).await
    }

    /// Commits the positions of every assigned partition without waiting: the request is on
    /// its way when this returns (only a coordinator lookup, when none is known, is awaited
    /// first); await the [`CommitFuture`] for the answer. Commits are answered in the order
    /// they were made.
    pub async fn commit_async(&mut self) -> Result<CommitFuture, ClientError> {
        let offsets = self.positions();
        self.commit_offsets_async(&offsets).await
    }

    /// Like [`Consumer::commit_async`] for explicit offsets (the next offsets to read).
    pub async fn commit_offsets_async(
        &mut self,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<CommitFuture, ClientError> {
        let group = self
            .group
            .as_mut()
            .ok_or_else(|| crate::config::invalid("group.id", "", "commit needs a group.id"))?;
        let pending = group.commit_async(offsets).await?;
        self.last_auto_commit = Instant::now();
        Ok(CommitFuture::new(pending))
    }

    /// Like [`Consumer::commit_async`], calling `callback` with the outcome (on another
    /// task: keep it short), as Java's `commitAsync(callback)`.
    pub async fn commit_async_with_callback<F>(&mut self, callback: F) -> Result<(), ClientError>
    where
        F: FnOnce(Result<(), ClientError>) + Send + 'static,
    {
        let pending = self.commit_async().await?;
        tokio::spawn(async move { callback(pending.await) });
        Ok(())
    }

    fn positions(&self) -> Vec<(TopicPartition, i64)> {
        self.parts
            .iter()
            .filter_map(|(tp, p)| p.position.map(|o| (tp.clone(), o)))
            .collect()
    }

    /// Commits explicit offsets (the offset of the next record to read).
    pub async fn commit_offsets(
        &mut self,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<(), ClientError> {
        let group = self
            .group
            .as_mut()
            .ok_or_else(|| crate::config::invalid("group.id", "", "commit needs a group.id"))?;
        group.commit(offsets).await?;
        self.last_auto_commit = Instant::now();
        Ok(())
    }

    /// The group's committed offsets of `partitions` (`None` where nothing is committed).
    pub async fn committed(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<Vec<(TopicPartition, Option<i64>)>, ClientError> {
        let group = self
            .group
            .as_mut()
            .ok_or_else(|| crate::config::invalid("group.id", "", "committed needs a group.id"))?;
        let c = group.fetch_committed(partitions).await?;
        Ok(partitions
            .iter()
            .map(|tp| (tp.clone(), c.get(tp).copied().filter(|o| *o >= 0)))
            .collect())
    }

    async fn auto_commit(&mut self, force: bool) {
        if !self.config.enable_auto_commit || self.group.is_none() {
            return;
        }
        if !force && self.last_auto_commit.elapsed() < self.config.auto_commit_interval {
            return;
        }
        if let Err(e) = self.commit_sync().await {
            tracing::warn!(error = %e, "auto commit failed");
        }
        self.last_auto_commit = Instant::now();
    }

    /// Whether rebalances are cooperative (KIP-429): only when every configured assignor
    /// supports it, as in Kafka, which here means `cooperative-sticky` alone.
    fn cooperative(&self) -> bool {
        self.config
            .assignment_strategy
            .iter()
            .all(|a| a == "cooperative-sticky")
    }

    fn notify_listener(&mut self, revoked: bool, partitions: &[TopicPartition]) {
        if let Some(l) = self.listener.as_mut() {
            let l = match l.get_mut() {
                Ok(l) => l,
                Err(p) => p.into_inner(),
            };
            if revoked {
                l.on_partitions_revoked(partitions);
            } else {
                l.on_partitions_assigned(partitions);
            }
        }
    }

    /// Rejoins the group when the heartbeat (or a commit) asked for it.
    ///
    /// Eager protocols give every partition up before joining. The cooperative one keeps
    /// fetching its partitions through the join, sends them as owned, then gives up only the
    /// ones the new assignment moves elsewhere and rejoins at once, so that the second
    /// rebalance can hand those to their new owners.
    async fn maybe_rejoin(&mut self) -> Result<(), ClientError> {
        let needed = self.subscribed
            && self
                .group
                .as_ref()
                .is_some_and(|g| g.rejoin.load(std::sync::atomic::Ordering::Acquire));
        if !needed {
            return Ok(());
        }
        // Commit what was consumed before giving the partitions up.
        if !self.parts.is_empty() {
            self.auto_commit(true).await;
        }
        let cooperative = self.cooperative();
        let owned: Vec<TopicPartition> = if cooperative {
            self.parts.keys().cloned().collect()
        } else {
            if self.group.as_ref().is_some_and(|g| g.generation >= 0) {
                self.revoke_all();
            }
            Vec::new()
        };
        let Some(group) = self.group.as_mut() else {
            return Ok(());
        };
        let assignment = group.join(&owned).await?;
        if !cooperative {
            // Every partition starts over from the committed offsets of the new generation.
            self.parts.clear();
            self.set_assignment(assignment).await?;
            let assigned: Vec<TopicPartition> = self.parts.keys().cloned().collect();
            self.notify_listener(false, &assigned);
            return Ok(());
        }
        let new: HashSet<&TopicPartition> = assignment.iter().collect();
        let revoked: Vec<TopicPartition> = owned
            .iter()
            .filter(|tp| !new.contains(tp))
            .cloned()
            .collect();
        let added: Vec<TopicPartition> = assignment
            .iter()
            .filter(|tp| !self.parts.contains_key(tp))
            .cloned()
            .collect();
        if !revoked.is_empty() {
            self.notify_listener(true, &revoked);
            if let Some(g) = self.group.as_ref() {
                g.rejoin.store(true, std::sync::atomic::Ordering::Release);
            }
        }
        // Partitions kept keep their positions and buffers.
        self.set_assignment(assignment).await?;
        self.notify_listener(false, &added);
        Ok(())
    }

    /// The partitions assigned, sorted.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.parts.keys().cloned().collect()
    }

    fn part_mut(&mut self, tp: &TopicPartition) -> Result<&mut PartState, ClientError> {
        self.parts
            .get_mut(tp)
            .ok_or_else(|| crate::config::invalid("partition", &tp.to_string(), "not assigned"))
    }

    /// The next `poll` returns records of `tp` from `offset`.
    pub fn seek(&mut self, tp: &TopicPartition, offset: i64) -> Result<(), ClientError> {
        self.part_mut(tp)?.seek(offset);
        Ok(())
    }

    /// Moves `partitions` (all assigned ones when empty) to their log start offset.
    pub fn seek_to_beginning(&mut self, partitions: &[TopicPartition]) -> Result<(), ClientError> {
        self.request_reset(partitions, Reset::Earliest)
    }

    /// Moves `partitions` (all assigned ones when empty) to their log end offset (the last
    /// stable offset with `read_committed`).
    pub fn seek_to_end(&mut self, partitions: &[TopicPartition]) -> Result<(), ClientError> {
        self.request_reset(partitions, Reset::Latest)
    }

    fn request_reset(&mut self, tps: &[TopicPartition], reset: Reset) -> Result<(), ClientError> {
        let all: Vec<TopicPartition> = if tps.is_empty() {
            self.parts.keys().cloned().collect()
        } else {
            tps.to_vec()
        };
        for tp in &all {
            let p = self.part_mut(tp)?;
            p.seek(0);
            p.position = None;
            p.reset = Some(reset);
        }
        Ok(())
    }

    /// The offset of the next record `poll` will hand out for `tp`, looked up if needed.
    pub async fn position(&mut self, tp: &TopicPartition) -> Result<i64, ClientError> {
        self.part_mut(tp)?;
        self.update_positions().await?;
        self.part_mut(tp)?
            .position
            .ok_or_else(|| crate::config::invalid("partition", &tp.to_string(), "no position"))
    }

    /// Stops fetching `partitions` until [`Consumer::resume`]; buffered records are kept back.
    pub fn pause(&mut self, partitions: &[TopicPartition]) -> Result<(), ClientError> {
        for tp in partitions {
            self.part_mut(tp)?.paused = true;
        }
        Ok(())
    }

    pub fn resume(&mut self, partitions: &[TopicPartition]) -> Result<(), ClientError> {
        for tp in partitions {
            self.part_mut(tp)?.paused = false;
        }
        Ok(())
    }

    /// The paused partitions.
    pub fn paused(&self) -> Vec<TopicPartition> {
        self.parts
            .iter()
            .filter(|(_, p)| p.paused)
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// High watermark the last fetch of `tp` reported, minus the position: records not yet
    /// handed out. `None` before the first fetch answer.
    pub fn lag(&self, tp: &TopicPartition) -> Option<i64> {
        let p = self.parts.get(tp)?;
        let end = if self.config.isolation_level == config::IsolationLevel::ReadCommitted {
            p.last_stable_offset
        } else {
            p.high_watermark
        };
        (end >= 0)
            .then(|| end - p.position.unwrap_or(end))
            .map(|l| l.max(0))
    }

    /// Log start offset, high watermark and last stable offset of `tp` as of the last fetch.
    pub fn watermarks(&self, tp: &TopicPartition) -> Option<(i64, i64, i64)> {
        let p = self.parts.get(tp)?;
        Some((p.log_start_offset, p.high_watermark, p.last_stable_offset))
    }

    /// Waits up to `timeout` for records and returns at most `max.poll.records` of them.
    pub async fn poll(&mut self, timeout: Duration) -> Result<Vec<ConsumerRecord>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.pattern.is_some()
                && self.last_pattern_check.elapsed() >= self.config.client.metadata_max_age
            {
                if let Err(e) = self.match_pattern().await {
                    tracing::debug!(error = %e, "pattern subscription: metadata lookup failed");
                }
            }
            self.maybe_rejoin().await?;
            self.auto_commit(false).await;
            while let Ok(done) = self.done_rx.try_recv() {
                self.handle_fetch(done)?;
            }
            self.update_positions().await?;
            self.send_fetches().await;
            let out = self.take_records();
            if !out.is_empty() {
                // Refill what was just drained while the caller works on these.
                self.send_fetches().await;
                return Ok(out);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            let mut wait = deadline - now;
            if self.in_flight.is_empty() {
                // Nothing to wait for (no leader known, all paused): look again shortly.
                wait = wait.min(self.config.client.retry_backoff);
            }
            let wake = self.group.as_ref().map(|g| g.wake.clone());
            let rejoin = async {
                match wake {
                    Some(w) => w.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                done = tokio::time::timeout(wait, self.done_rx.recv()) => {
                    if let Ok(Some(done)) = done {
                        self.handle_fetch(done)?;
                    }
                }
                _ = rejoin => {}
            }
        }
    }

    fn take_records(&mut self) -> Vec<ConsumerRecord> {
        let max = self.config.max_poll_records;
        let mut out = Vec::new();
        let n = self.parts.len();
        if n == 0 {
            return out;
        }
        let start = self.next_part % n;
        let mut parts: Vec<&mut PartState> = self.parts.values_mut().collect();
        for k in 0..n {
            let i = (start + k) % n;
            if out.len() >= max {
                break;
            }
            let p = &mut parts[i];
            if p.paused || p.buffer.is_empty() {
                continue;
            }
            let take = (max - out.len()).min(p.buffer.len());
            out.extend(p.buffer.drain(..take));
            if let Some(last) = out.last() {
                p.position = Some(last.offset + 1);
            }
            if p.buffer.is_empty() {
                p.position = Some(p.fetch_offset.max(p.position.unwrap_or(0)));
            }
            self.next_part = i + 1;
        }
        out
    }

    /// Looks up positions of partitions that have none (requested resets, auto.offset.reset).
    async fn update_positions(&mut self) -> Result<(), ClientError> {
        let mut wanted: HashMap<Reset, Vec<TopicPartition>> = HashMap::new();
        let committed: Vec<TopicPartition> = self
            .parts
            .iter()
            .filter(|(_, p)| p.position.is_none() && p.use_committed && p.reset.is_none())
            .map(|(tp, _)| tp.clone())
            .collect();
        if !committed.is_empty() {
            if let Some(group) = self.group.as_mut() {
                let offsets = group.fetch_committed(&committed).await?;
                for tp in committed {
                    if let Some(p) = self.parts.get_mut(&tp) {
                        match offsets.get(&tp) {
                            Some(&o) if o >= 0 => p.seek(o),
                            _ => p.use_committed = false,
                        }
                    }
                }
            }
        }
        for (tp, p) in &mut self.parts {
            if p.position.is_some() {
                continue;
            }
            let reset = match (p.reset, self.config.auto_offset_reset) {
                (Some(r), _) => r,
                (None, OffsetReset::Earliest) => Reset::Earliest,
                (None, OffsetReset::Latest) => Reset::Latest,
                (None, OffsetReset::None) => {
                    return Err(ClientError::Kafka {
                        context: format!(
                            "no position for {tp} and auto.offset.reset=none (NoOffsetForPartition)"
                        ),
                        error: ResponseError::OffsetOutOfRange,
                    })
                }
            };
            wanted.entry(reset).or_default().push(tp.clone());
        }
        for (reset, tps) in wanted {
            let offsets = self.list_offsets(&tps, reset).await?;
            for (tp, offset) in offsets {
                if let Some(p) = self.parts.get_mut(&tp) {
                    if p.position.is_none() {
                        p.seek(offset);
                    }
                }
            }
        }
        Ok(())
    }

    /// ListOffsets for `tps` (earliest or latest), asked of each leader. Partitions whose
    /// leader is unknown are left out (and a metadata refresh is requested).
    async fn list_offsets(
        &self,
        tps: &[TopicPartition],
        reset: Reset,
    ) -> Result<Vec<(TopicPartition, i64)>, ClientError> {
        let metadata = self.cluster.metadata();
        let mut by_leader: HashMap<i32, BTreeMap<&str, Vec<i32>>> = HashMap::new();
        for tp in tps {
            match metadata.leader(&tp.topic, tp.partition) {
                Some(l) => by_leader
                    .entry(l)
                    .or_default()
                    .entry(tp.topic.as_str())
                    .or_default()
                    .push(tp.partition),
                None => self.cluster.request_refresh(),
            }
        }
        let timestamp = match reset {
            Reset::Earliest => -2,
            Reset::Latest => -1,
        };
        let mut out = Vec::new();
        for (leader, topics) in by_leader {
            let request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_isolation_level(self.config.isolation_level.code())
                .with_topics(
                    topics
                        .iter()
                        .map(|(t, ps)| {
                            ListOffsetsTopic::default()
                                .with_name(TopicName(StrBytes::from_string(t.to_string())))
                                .with_partitions(
                                    ps.iter()
                                        .map(|&p| {
                                            ListOffsetsPartition::default()
                                                .with_partition_index(p)
                                                .with_current_leader_epoch(-1)
                                                .with_timestamp(timestamp)
                                        })
                                        .collect(),
                                )
                        })
                        .collect(),
                );
            let response = match self.cluster.send(leader, &request).await {
                Ok(r) => r,
                Err(e) if e.is_retriable() => {
                    self.cluster.request_refresh();
                    continue;
                }
                Err(e) => return Err(e),
            };
            for rt in response.topics {
                for rp in rt.partitions {
                    let tp = TopicPartition::new(rt.name.0.to_string(), rp.partition_index);
                    match ClientError::kafka(format!("list offsets of {tp}"), rp.error_code) {
                        None => out.push((tp, rp.offset)),
                        Some(e) if e.is_retriable() => self.cluster.request_refresh(),
                        Some(e) => return Err(e),
                    }
                }
            }
        }
        Ok(out)
    }

    /// Sends one Fetch to every leader without one in flight, for its fetchable partitions.
    async fn send_fetches(&mut self) {
        let metadata = self.cluster.metadata();
        let buffer_limit = self.config.max_poll_records;
        let mut by_node: BTreeMap<i32, Vec<(TopicPartition, i64, u64)>> = BTreeMap::new();
        for (tp, p) in &self.parts {
            if p.paused || p.in_flight || p.position.is_none() || p.buffer.len() >= buffer_limit {
                continue;
            }
            let Some(leader) = metadata.leader(&tp.topic, tp.partition) else {
                self.cluster.request_refresh();
                continue;
            };
            if self.in_flight.contains(&leader) {
                continue;
            }
            by_node
                .entry(leader)
                .or_default()
                .push((tp.clone(), p.fetch_offset, p.generation));
        }
        for (node, partitions) in by_node {
            let conn = match self.cluster.connection(node).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(node, error = %e, "no connection for fetch");
                    self.cluster.request_refresh();
                    continue;
                }
            };
            match fetch::send(
                &conn,
                node,
                &self.config,
                &metadata,
                partitions,
                self.done_tx.clone(),
            ) {
                Ok(sent) => {
                    self.in_flight.insert(node);
                    for tp in sent {
                        if let Some(p) = self.parts.get_mut(&tp) {
                            p.in_flight = true;
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(node, error = %e, "fetch not sent");
                    self.cluster.request_refresh();
                }
            }
        }
    }

    fn handle_fetch(&mut self, done: FetchDone) -> Result<(), ClientError> {
        self.in_flight.remove(&done.node);
        for (tp, _, _) in &done.requested {
            if let Some(p) = self.parts.get_mut(tp) {
                p.in_flight = false;
            }
        }
        let partitions = match done.result {
            Ok(ps) => ps,
            Err(e) => {
                tracing::debug!(node = done.node, error = %e, "fetch failed");
                self.cluster.request_refresh();
                return if e.is_retriable() { Ok(()) } else { Err(e) };
            }
        };
        let mut first_error = None;
        for FetchedPartition {
            tp,
            error,
            high_watermark,
            last_stable_offset,
            log_start_offset,
            records,
            next_fetch_offset,
        } in partitions
        {
            let Some((_, fetched_at, generation)) =
                done.requested.iter().find(|(t, _, _)| *t == tp).cloned()
            else {
                continue;
            };
            let strategy = self.config.auto_offset_reset;
            let Some(p) = self.parts.get_mut(&tp) else {
                continue; // unassigned meanwhile
            };
            if p.generation != generation || p.fetch_offset != fetched_at {
                continue; // seeked meanwhile
            }
            match error {
                None => {}
                Some(ResponseError::OffsetOutOfRange) => {
                    match strategy {
                        OffsetReset::Earliest => {
                            p.position = None;
                            p.reset = Some(Reset::Earliest);
                        }
                        OffsetReset::Latest => {
                            p.position = None;
                            p.reset = Some(Reset::Latest);
                        }
                        OffsetReset::None => {
                            first_error.get_or_insert(ClientError::Kafka {
                                context: format!("fetch {tp} at offset {fetched_at}"),
                                error: ResponseError::OffsetOutOfRange,
                            });
                        }
                    }
                    continue;
                }
                Some(e) if e.is_retriable() => {
                    self.cluster.request_refresh();
                    continue;
                }
                Some(e) => {
                    first_error.get_or_insert(ClientError::Kafka {
                        context: format!("fetch {tp} at offset {fetched_at}"),
                        error: e,
                    });
                    continue;
                }
            }
            p.high_watermark = high_watermark;
            p.last_stable_offset = last_stable_offset;
            p.log_start_offset = log_start_offset;
            p.buffer.extend(records);
            p.fetch_offset = p.fetch_offset.max(next_fetch_offset);
            if p.buffer.is_empty() {
                // Only control or aborted batches: the position moves past them.
                p.position = Some(p.fetch_offset);
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Commits (with `enable.auto.commit`), leaves the group and drops the assignment;
    /// fetches in flight are ignored.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.auto_commit(true).await;
        if self.subscribed {
            self.revoke_all();
            if let Some(g) = self.group.as_mut() {
                g.leave().await?;
            }
        }
        self.parts.clear();
        Ok(())
    }
}
