//! The connection pool and metadata cache every client shares.
//!
//! A [`Cluster`] bootstraps from the first answering address in `bootstrap.servers`, then keeps
//! one [`BrokerConnection`] per broker (node id), reconnecting with exponential backoff
//! (`reconnect.backoff.ms` up to `reconnect.backoff.max.ms`). It caches metadata for the topics a
//! client asked about and refreshes it on demand (after `NOT_LEADER_OR_FOLLOWER`,
//! `UNKNOWN_TOPIC_OR_PARTITION`, `LEADER_NOT_AVAILABLE`, a lost connection...) and at least every
//! `metadata.max.age.ms`. The producer, the admin client and the consumer all route requests
//! through it: [`Cluster::connection`] for a node, [`Cluster::any_connection`] for requests any
//! broker can answer.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use weir_protocol::kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use weir_protocol::kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, MetadataRequest, TopicName,
};
use weir_protocol::kafka_protocol::protocol::{Request, StrBytes};

use crate::connection::BrokerConnection;
use crate::metadata::ClusterMetadata;
use crate::{ClientConfig, ClientError};

#[derive(Default)]
struct NodeSlot {
    conn: Option<Arc<BrokerConnection>>,
    failures: u32,
    next_attempt: Option<Instant>,
}

/// Shared connections and metadata (see the module docs).
pub struct Cluster {
    config: ClientConfig,
    allow_auto_topic_creation: bool,
    nodes: Mutex<HashMap<i32, NodeSlot>>,
    /// Connections opened to bootstrap addresses (keyed by address), used until the real
    /// broker list is known and as a last resort.
    bootstrap: tokio::sync::Mutex<Option<Arc<BrokerConnection>>>,
    metadata: RwLock<Arc<ClusterMetadata>>,
    refresh_wanted: Arc<Notify>,
    topics: Mutex<HashSet<String>>,
    refresh_lock: tokio::sync::Mutex<()>,
    refreshes: AtomicU64,
    refresh_running: AtomicBool,
    updated: Notify,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("bootstrap", &self.config.bootstrap_servers)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Bootstraps: connects to the first answering address and loads the broker list.
    /// `allow_auto_topic_creation` is sent with metadata requests (the producer's
    /// `allow.auto.create.topics`).
    pub async fn connect(
        config: ClientConfig,
        allow_auto_topic_creation: bool,
    ) -> Result<Arc<Cluster>, ClientError> {
        if config.bootstrap_servers.is_empty() {
            return Err(crate::config::invalid(
                "bootstrap.servers",
                "",
                "at least one host:port is needed",
            ));
        }
        let cluster = Arc::new(Cluster {
            config,
            allow_auto_topic_creation,
            nodes: Mutex::new(HashMap::new()),
            bootstrap: tokio::sync::Mutex::new(None),
            metadata: RwLock::new(Arc::new(ClusterMetadata::default())),
            refresh_wanted: Arc::new(Notify::new()),
            topics: Mutex::new(HashSet::new()),
            refresh_lock: tokio::sync::Mutex::new(()),
            refreshes: AtomicU64::new(0),
            refresh_running: AtomicBool::new(false),
            updated: Notify::new(),
        });
        cluster.bootstrap_connection().await?;
        cluster.refresh_metadata().await?;
        tokio::spawn(periodic_refresh(
            Arc::downgrade(&cluster),
            cluster.refresh_wanted.clone(),
            cluster.config.metadata_max_age,
        ));
        Ok(cluster)
    }

    /// The settings this cluster was opened with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    async fn bootstrap_connection(&self) -> Result<Arc<BrokerConnection>, ClientError> {
        let mut slot = self.bootstrap.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_dead()) {
            return Ok(c.clone());
        }
        let mut reasons = Vec::new();
        for addr in &self.config.bootstrap_servers {
            match self.open(addr).await {
                Ok(c) => {
                    let c = Arc::new(c);
                    *slot = Some(c.clone());
                    return Ok(c);
                }
                Err(e) => reasons.push(e.to_string()),
            }
        }
        Err(ClientError::BootstrapFailed {
            addresses: self.config.bootstrap_servers.join(","),
            reason: reasons.join("; "),
        })
    }

    async fn open(&self, addr: &str) -> Result<BrokerConnection, ClientError> {
        BrokerConnection::connect(
            addr,
            &self.config.client_id,
            self.config.connection_setup_timeout,
            self.config.request_timeout,
            self.config.max_response_size,
        )
        .await
    }

    /// The latest metadata snapshot.
    pub fn metadata(&self) -> Arc<ClusterMetadata> {
        match self.metadata.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Adds `topic` to the topics whose metadata is kept; returns true if it was new.
    pub fn add_topic(&self, topic: &str) -> bool {
        match self.topics.lock() {
            Ok(mut t) if !t.contains(topic) => t.insert(topic.to_string()),
            _ => false,
        }
    }

    /// A connection to `node_id` if one is open and healthy, without waiting.
    pub fn cached_connection(&self, node_id: i32) -> Option<Arc<BrokerConnection>> {
        let nodes = self.nodes.lock().ok()?;
        nodes
            .get(&node_id)
            .and_then(|s| s.conn.clone())
            .filter(|c| !c.is_dead())
    }

    /// A connection to `node_id`, opening one if needed (after the reconnect backoff).
    pub async fn connection(&self, node_id: i32) -> Result<Arc<BrokerConnection>, ClientError> {
        if let Some(c) = self.cached_connection(node_id) {
            return Ok(c);
        }
        let addr = self
            .metadata()
            .brokers
            .get(&node_id)
            .map(|b| b.addr())
            .ok_or_else(|| ClientError::ConnectionClosed {
                addr: format!("node {node_id}"),
                reason: "broker not in metadata".into(),
            })?;
        let wait = self
            .nodes
            .lock()
            .ok()
            .and_then(|n| n.get(&node_id).and_then(|s| s.next_attempt))
            .map(|t| t.saturating_duration_since(Instant::now()));
        if let Some(wait) = wait.filter(|w| !w.is_zero()) {
            tokio::time::sleep(wait).await;
        }
        if let Some(c) = self.cached_connection(node_id) {
            return Ok(c);
        }
        match self.open(&addr).await {
            Ok(c) => {
                let c = Arc::new(c);
                if let Ok(mut nodes) = self.nodes.lock() {
                    let slot = nodes.entry(node_id).or_default();
                    // Another task may have connected meanwhile: keep the first.
                    if let Some(existing) = slot.conn.clone().filter(|c| !c.is_dead()) {
                        return Ok(existing);
                    }
                    slot.conn = Some(c.clone());
                    slot.failures = 0;
                    slot.next_attempt = None;
                }
                Ok(c)
            }
            Err(e) => {
                if let Ok(mut nodes) = self.nodes.lock() {
                    let slot = nodes.entry(node_id).or_default();
                    slot.failures = slot.failures.saturating_add(1);
                    let backoff = self
                        .config
                        .reconnect_backoff
                        .saturating_mul(1 << slot.failures.min(16).saturating_sub(1))
                        .min(self.config.reconnect_backoff_max);
                    slot.next_attempt = Some(Instant::now() + backoff);
                }
                self.request_refresh();
                Err(e)
            }
        }
    }

    /// A connection to any broker: an open one if there is one, else each known broker in
    /// turn, else the bootstrap addresses.
    pub async fn any_connection(&self) -> Result<Arc<BrokerConnection>, ClientError> {
        let open = self.nodes.lock().ok().and_then(|nodes| {
            nodes
                .values()
                .filter_map(|s| s.conn.clone())
                .find(|c| !c.is_dead())
        });
        if let Some(c) = open {
            return Ok(c);
        }
        let mut ids: Vec<i32> = self.metadata().brokers.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            if let Ok(c) = self.connection(id).await {
                return Ok(c);
            }
        }
        self.bootstrap_connection().await
    }

    /// Sends `request` to `node_id` and waits for the answer.
    pub async fn send<R: Request>(
        &self,
        node_id: i32,
        request: &R,
    ) -> Result<R::Response, ClientError> {
        self.connection(node_id).await?.send(request).await
    }

    /// Sends `request` to any broker.
    pub async fn send_any<R: Request>(&self, request: &R) -> Result<R::Response, ClientError> {
        self.any_connection().await?.send(request).await
    }

    /// Sends a Metadata request for `topics` (`None`: all topics) and returns the answer
    /// without touching the cache.
    pub async fn fetch_metadata(
        &self,
        topics: Option<&[String]>,
        allow_auto_topic_creation: bool,
    ) -> Result<ClusterMetadata, ClientError> {
        let request = MetadataRequest::default()
            .with_topics(topics.map(|ts| {
                ts.iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
                    })
                    .collect()
            }))
            .with_allow_auto_topic_creation(allow_auto_topic_creation);
        let response = self.send_any(&request).await?;
        Ok(ClusterMetadata::from_response(response))
    }

    /// FindCoordinator for `key` (`key_type` 0: a group id, 1: a transactional id): the node id
    /// of its coordinator, refreshing metadata when that node is not known yet.
    pub async fn find_coordinator(&self, key_type: i8, key: &str) -> Result<i32, ClientError> {
        let any = self.any_connection().await?;
        let mut request = FindCoordinatorRequest::default().with_key_type(key_type);
        // v4 batches keys (KIP-699); older versions take one key.
        request = if any.version(ApiKey::FindCoordinator).unwrap_or(0) >= 4 {
            request.with_coordinator_keys(vec![StrBytes::from_string(key.to_string())])
        } else {
            request.with_key(StrBytes::from_string(key.to_string()))
        };
        let response = any.send(&request).await?;
        let (node, code) = match response.coordinators.first() {
            Some(c) => (c.node_id.0, c.error_code),
            None => (response.node_id.0, response.error_code),
        };
        let what = if key_type == 1 {
            "transaction"
        } else {
            "group"
        };
        if let Some(e) = ClientError::kafka(format!("find coordinator of {what} {key}"), code) {
            return Err(e);
        }
        if !self.metadata().brokers.contains_key(&node) {
            self.refresh_metadata().await?;
        }
        Ok(node)
    }

    /// Refreshes the cached metadata for the topics of interest now. Concurrent callers share
    /// one request.
    pub async fn refresh_metadata(&self) -> Result<(), ClientError> {
        let seen = self.refreshes.load(Ordering::Acquire);
        let _guard = self.refresh_lock.lock().await;
        if self.refreshes.load(Ordering::Acquire) != seen {
            return Ok(()); // someone refreshed while we waited
        }
        let topics: Vec<String> = self
            .topics
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        let fresh = self
            .fetch_metadata(Some(&topics), self.allow_auto_topic_creation)
            .await?;
        // Brokers that left the cluster lose their connection.
        if let Ok(mut nodes) = self.nodes.lock() {
            nodes.retain(|id, _| fresh.brokers.contains_key(id));
        }
        if let Ok(mut m) = self.metadata.write() {
            *m = Arc::new(fresh);
        }
        self.refreshes.fetch_add(1, Ordering::AcqRel);
        self.updated.notify_waiters();
        Ok(())
    }

    /// Asks for a metadata refresh in the background (coalesced: at most one runs at a time).
    pub fn request_refresh(&self) {
        if self.refresh_running.swap(true, Ordering::AcqRel) {
            return;
        }
        // The periodic task holds only a weak handle; it wakes up and refreshes now.
        self.refresh_wanted.notify_one();
    }

    /// Waits until the metadata was refreshed (or `timeout`).
    pub async fn wait_for_update(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.updated.notified()).await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Wakes the periodic task so that it sees the cluster is gone and ends.
        self.refresh_wanted.notify_one();
    }
}

async fn periodic_refresh(cluster: Weak<Cluster>, wanted: Arc<Notify>, max_age: Duration) {
    loop {
        tokio::select! {
            _ = wanted.notified() => {}
            _ = tokio::time::sleep(max_age) => {}
        }
        let Some(c) = cluster.upgrade() else { return };
        let result = c.refresh_metadata().await;
        c.refresh_running.store(false, Ordering::Release);
        let backoff = c.config.retry_backoff;
        drop(c);
        if let Err(e) = result {
            tracing::debug!(error = %e, "metadata refresh failed");
            tokio::time::sleep(backoff).await;
        }
    }
}
