//! The broker's shared state: static settings, the metadata image, the hosted partitions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use uuid::Uuid;

use weir_coordinator::{GroupCoordinatorService, TxnCoordinatorService};
use weir_metadata::config::BrokerConfig;
use weir_metadata::{MetadataImage, MetadataRecord, MetadataStore, TopicImage};
use weir_replication::{Partition, ReplicaManager, TopicPartition};

use crate::error::BrokerError;
use crate::topic_config;

/// Everything request handlers share. Built once by [`crate::Broker::start`].
pub struct BrokerState {
    pub config: BrokerConfig,
    pub node_id: i32,
    pub cluster_id: String,
    /// Host and port clients are told to connect to (first advertised listener).
    pub advertised_host: String,
    pub advertised_port: i32,
    pub socket_request_max_bytes: usize,
    metadata: Mutex<MetadataStore>,
    image: RwLock<Arc<MetadataImage>>,
    pub replicas: ReplicaManager,
    /// Producer ids handed out by InitProducerId.
    pub producer_ids: crate::handlers::init_producer_id::ProducerIdManager,
    /// The group coordinator (see `groups.rs`); loaded on start-up or first use.
    pub groups: Arc<GroupCoordinatorService>,
    /// Serializes creating and loading `__consumer_offsets`.
    pub(crate) groups_load: tokio::sync::Mutex<()>,
    /// The transaction coordinator (see `txns.rs`); loaded on start-up or first use.
    pub txns: Arc<TxnCoordinatorService>,
    /// Serializes creating and loading `__transaction_state`.
    pub(crate) txns_load: tokio::sync::Mutex<()>,
    /// Produce settings per topic id, with the topic configs they were resolved from.
    /// Resolving walks every topic config definition with string lookups (a few percent of
    /// the broker's CPU when done for every produce request); the broker config is fixed for
    /// the process's life, so equal topic configs mean equal settings.
    settings_cache: Mutex<HashMap<Uuid, CachedSettings>>,
}

/// A topic's configs and the settings resolved from them.
type CachedSettings = (BTreeMap<String, String>, topic_config::TopicSettings);

/// Entries kept in the settings cache before it is emptied (deleted topics leave entries).
const SETTINGS_CACHE_MAX: usize = 10_000;

impl BrokerState {
    pub(crate) fn new(
        config: BrokerConfig,
        cluster_id: String,
        advertised_host: String,
        advertised_port: i32,
        metadata: MetadataStore,
        replicas: ReplicaManager,
    ) -> Result<Self, BrokerError> {
        let image = Arc::new(metadata.image().clone());
        let groups = GroupCoordinatorService::new(
            crate::groups::coordinator_config(&config),
            config.offsets_topic_num_partitions(),
        );
        let txns = TxnCoordinatorService::new(
            crate::txns::txn_config(&config),
            config.transaction_state_log_num_partitions(),
            groups.clone(),
        );
        let state = Self {
            node_id: config.node_id(),
            socket_request_max_bytes: usize::try_from(config.socket_request_max_bytes())
                .unwrap_or(0),
            config,
            cluster_id,
            advertised_host,
            advertised_port,
            metadata: Mutex::new(metadata),
            image: RwLock::new(image.clone()),
            replicas,
            producer_ids: Default::default(),
            groups,
            groups_load: tokio::sync::Mutex::new(()),
            txns,
            txns_load: tokio::sync::Mutex::new(()),
            settings_cache: Mutex::new(HashMap::new()),
        };
        state.sync_replicas(&image, None)?;
        Ok(state)
    }

    /// The current metadata image. Handlers work on this snapshot; a change committed meanwhile
    /// is seen by the next request.
    pub fn image(&self) -> Arc<MetadataImage> {
        match self.image.read() {
            Ok(image) => image.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Commits one metadata change, decided from the current image by `decide`, then brings the
    /// hosted partitions in line with the new image. Blocking (fsync of the metadata log): call
    /// from `spawn_blocking`.
    pub fn commit<E>(
        &self,
        decide: impl FnOnce(&MetadataImage) -> Result<Vec<MetadataRecord>, E>,
    ) -> Result<Result<Arc<MetadataImage>, E>, BrokerError> {
        let mut store = self.metadata.lock().map_err(|_| BrokerError::Poisoned)?;
        let before = Arc::new(store.image().clone());
        let records = match decide(&before) {
            Ok(records) => records,
            Err(e) => return Ok(Err(e)),
        };
        if records.is_empty() {
            return Ok(Ok(before));
        }
        store.commit(records)?;
        let after = Arc::new(store.image().clone());
        *self.image.write().map_err(|_| BrokerError::Poisoned)? = after.clone();
        self.sync_replicas(&after, Some(&before))?;
        Ok(Ok(after))
    }

    /// Opens or creates the log of every partition this broker leads, deletes the logs of
    /// topics that are gone, and applies config changes to open logs.
    fn sync_replicas(
        &self,
        image: &MetadataImage,
        before: Option<&MetadataImage>,
    ) -> Result<(), BrokerError> {
        let mut expected = HashSet::new();
        for topic in image.topics().values() {
            let log_config = topic_config::log_config(&self.config, topic);
            let changed = before
                .and_then(|b| b.topic(&topic.name))
                .is_some_and(|old| old.configs != topic.configs);
            for (&index, p) in &topic.partitions {
                if !p.replicas.contains(&self.node_id) {
                    continue;
                }
                let tp = TopicPartition::new(topic.name.clone(), index);
                let partition =
                    self.replicas
                        .ensure_partition(&tp, topic.topic_id, log_config.clone())?;
                if changed {
                    partition.update_config(log_config.clone())?;
                }
                expected.insert(tp);
            }
        }
        if let Some(before) = before {
            for old in before.topics().values() {
                let gone = image
                    .topic(&old.name)
                    .is_none_or(|t| t.topic_id != old.topic_id);
                if gone {
                    self.replicas.delete_topic(&old.name)?;
                }
            }
        } else {
            self.replicas.remove_strays(&expected)?;
        }
        Ok(())
    }

    /// The hosted partition, if this broker has it.
    pub fn partition(&self, topic: &str, index: i32) -> Option<Arc<Partition>> {
        self.replicas.get(&TopicPartition::new(topic, index))
    }

    /// Topic settings (defaults from the broker config, overridden by the topic's).
    pub fn topic_settings(&self, topic: &TopicImage) -> topic_config::TopicSettings {
        let Ok(mut cache) = self.settings_cache.lock() else {
            return topic_config::settings(&self.config, topic);
        };
        if let Some((configs, settings)) = cache.get(&topic.topic_id) {
            if *configs == topic.configs {
                return *settings;
            }
        }
        let settings = topic_config::settings(&self.config, topic);
        if cache.len() >= SETTINGS_CACHE_MAX {
            cache.clear();
        }
        cache.insert(topic.topic_id, (topic.configs.clone(), settings));
        settings
    }
}
