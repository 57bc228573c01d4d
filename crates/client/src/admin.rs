//! The admin client: topics, partitions, configs, offsets and the cluster.
//!
//! Each method is one or a few Kafka requests: CreateTopics, DeleteTopics and
//! CreatePartitions go to the controller; Metadata, DescribeConfigs,
//! IncrementalAlterConfigs and DescribeCluster to any broker (broker configs to that broker);
//! ListOffsets to each partition's leader. Errors carry the broker's Kafka error code and
//! message. (Group administration comes with the consumer.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use weir_protocol::kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use weir_protocol::kafka_protocol::messages::create_topics_request::{
    CreatableTopic, CreatableTopicConfig,
};
use weir_protocol::kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use weir_protocol::kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use weir_protocol::kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsTopic,
};
use weir_protocol::kafka_protocol::messages::{
    BrokerId, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest,
    DescribeClusterRequest, DescribeConfigsRequest, IncrementalAlterConfigsRequest,
    ListOffsetsRequest, TopicName,
};
use weir_protocol::kafka_protocol::protocol::StrBytes;

use crate::cluster::Cluster;
use crate::metadata::{BrokerInfo, TopicMetadata};
use crate::{ClientConfig, ClientError};

/// A topic to create.
#[derive(Debug, Clone)]
pub struct NewTopic {
    pub name: String,
    /// `-1`: the broker's `num.partitions`.
    pub partitions: i32,
    /// `-1`: the broker's `default.replication.factor`.
    pub replication_factor: i16,
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    pub fn new(name: impl Into<String>, partitions: i32, replication_factor: i16) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor,
            configs: Vec::new(),
        }
    }
    pub fn config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.push((key.into(), value.into()));
        self
    }
}

/// What DescribeConfigs / IncrementalAlterConfigs act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigResource {
    Topic(String),
    /// A broker by node id (`""` in Kafka means the cluster default).
    Broker(String),
}

impl ConfigResource {
    fn kind(&self) -> i8 {
        match self {
            ConfigResource::Topic(_) => 2,
            ConfigResource::Broker(_) => 4,
        }
    }
    fn name(&self) -> &str {
        match self {
            ConfigResource::Topic(n) | ConfigResource::Broker(n) => n,
        }
    }
}

/// Where a config value comes from (Kafka's `ConfigSource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    Unknown,
    DynamicTopicConfig,
    DynamicBrokerConfig,
    DynamicDefaultBrokerConfig,
    StaticBrokerConfig,
    DefaultConfig,
    DynamicBrokerLoggerConfig,
    ClientMetricsConfig,
    GroupConfig,
}

impl ConfigSource {
    fn from_i8(v: i8) -> Self {
        match v {
            1 => ConfigSource::DynamicTopicConfig,
            2 => ConfigSource::DynamicBrokerConfig,
            3 => ConfigSource::DynamicDefaultBrokerConfig,
            4 => ConfigSource::StaticBrokerConfig,
            5 => ConfigSource::DefaultConfig,
            6 => ConfigSource::DynamicBrokerLoggerConfig,
            7 => ConfigSource::ClientMetricsConfig,
            8 => ConfigSource::GroupConfig,
            _ => ConfigSource::Unknown,
        }
    }

    /// Kafka's name, as `kafka-configs --describe` prints it.
    pub fn name(self) -> &'static str {
        match self {
            ConfigSource::Unknown => "UNKNOWN",
            ConfigSource::DynamicTopicConfig => "DYNAMIC_TOPIC_CONFIG",
            ConfigSource::DynamicBrokerConfig => "DYNAMIC_BROKER_CONFIG",
            ConfigSource::DynamicDefaultBrokerConfig => "DYNAMIC_DEFAULT_BROKER_CONFIG",
            ConfigSource::StaticBrokerConfig => "STATIC_BROKER_CONFIG",
            ConfigSource::DefaultConfig => "DEFAULT_CONFIG",
            ConfigSource::DynamicBrokerLoggerConfig => "DYNAMIC_BROKER_LOGGER_CONFIG",
            ConfigSource::ClientMetricsConfig => "CLIENT_METRICS_CONFIG",
            ConfigSource::GroupConfig => "GROUP_CONFIG",
        }
    }
}

/// One config of a topic or broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
    pub read_only: bool,
    pub sensitive: bool,
}

/// One change for [`Admin::incremental_alter_configs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterConfigOp {
    Set(String, String),
    /// Back to the default.
    Delete(String),
}

/// Which offset [`Admin::list_offsets`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset (`-2`).
    Earliest,
    /// The log end offset (`-1`).
    Latest,
    /// The first offset whose timestamp is at or after this one (ms).
    Timestamp(i64),
    /// The offset of the record with the largest timestamp (`-3`).
    MaxTimestamp,
}

impl OffsetSpec {
    /// Kafka's GetOffsetShell `--time` value: `-1` latest, `-2` earliest, `-3` max timestamp,
    /// otherwise a timestamp.
    pub fn from_time(t: i64) -> OffsetSpec {
        match t {
            -1 => OffsetSpec::Latest,
            -2 => OffsetSpec::Earliest,
            -3 => OffsetSpec::MaxTimestamp,
            t => OffsetSpec::Timestamp(t),
        }
    }
    fn timestamp(self) -> i64 {
        match self {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::MaxTimestamp => -3,
            OffsetSpec::Timestamp(t) => t,
        }
    }
}

/// One partition's answer to ListOffsets; `offset` is `-1` when no record matches a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListedOffset {
    pub partition: i32,
    pub offset: i64,
    pub timestamp: i64,
}

/// DescribeCluster's answer.
#[derive(Debug, Clone)]
pub struct ClusterDescription {
    pub cluster_id: String,
    pub controller_id: i32,
    pub brokers: Vec<BrokerInfo>,
}

/// The admin client (see the module docs).
#[derive(Debug, Clone)]
pub struct Admin {
    cluster: Arc<Cluster>,
}

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

fn check(
    context: impl FnOnce() -> String,
    code: i16,
    message: Option<&StrBytes>,
) -> Result<(), ClientError> {
    match ClientError::kafka("", code) {
        None => Ok(()),
        Some(ClientError::Kafka { error, .. }) => Err(ClientError::Kafka {
            context: match message {
                Some(m) if !m.is_empty() => format!("{}: {}", context(), m.as_str()),
                _ => context(),
            },
            error,
        }),
        Some(other) => Err(other),
    }
}

impl Admin {
    /// Connects to the cluster.
    pub async fn connect(config: ClientConfig) -> Result<Admin, ClientError> {
        Ok(Admin {
            cluster: Cluster::connect(config, false).await?,
        })
    }

    /// An admin client on an existing cluster handle.
    pub fn with_cluster(cluster: Arc<Cluster>) -> Admin {
        Admin { cluster }
    }

    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    fn timeout_ms(&self) -> i32 {
        i32::try_from(self.cluster.config().request_timeout.as_millis()).unwrap_or(i32::MAX)
    }

    async fn send_controller<R: weir_protocol::kafka_protocol::protocol::Request>(
        &self,
        request: &R,
    ) -> Result<R::Response, ClientError> {
        let controller = self.cluster.metadata().controller_id;
        if controller >= 0 {
            if let Ok(conn) = self.cluster.connection(controller).await {
                return conn.send(request).await;
            }
        }
        self.cluster.send_any(request).await
    }

    /// Creates topics; fails on the first topic the broker refused.
    pub async fn create_topics(&self, topics: &[NewTopic]) -> Result<(), ClientError> {
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(self.timeout_ms())
            .with_topics(
                topics
                    .iter()
                    .map(|t| {
                        CreatableTopic::default()
                            .with_name(name(&t.name))
                            .with_num_partitions(t.partitions)
                            .with_replication_factor(t.replication_factor)
                            .with_configs(
                                t.configs
                                    .iter()
                                    .map(|(k, v)| {
                                        CreatableTopicConfig::default()
                                            .with_name(StrBytes::from_string(k.clone()))
                                            .with_value(Some(StrBytes::from_string(v.clone())))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let response = self.send_controller(&request).await?;
        for t in &response.topics {
            check(
                || format!("create topic {}", t.name.0.as_str()),
                t.error_code,
                t.error_message.as_ref(),
            )?;
        }
        self.wait_for_metadata(topics.iter().map(|t| t.name.as_str()), true)
            .await;
        Ok(())
    }

    /// Waits (briefly) until metadata shows the topics created or deleted, as Kafka's tools do.
    async fn wait_for_metadata<'a>(&self, topics: impl Iterator<Item = &'a str>, present: bool) {
        let topics: Vec<String> = topics.map(str::to_string).collect();
        for _ in 0..50 {
            match self.cluster.fetch_metadata(Some(&topics), false).await {
                Ok(m) if topics.iter().all(|t| m.topic(t).is_some() == present) => return,
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// Deletes topics by name.
    pub async fn delete_topics(&self, topics: &[String]) -> Result<(), ClientError> {
        let request = DeleteTopicsRequest::default()
            .with_timeout_ms(self.timeout_ms())
            .with_topic_names(topics.iter().map(|t| name(t)).collect())
            .with_topics(
                topics
                    .iter()
                    .map(|t| {
                        weir_protocol::kafka_protocol::messages::delete_topics_request::DeleteTopicState::default()
                            .with_name(Some(name(t)))
                    })
                    .collect(),
            );
        let response = self.send_controller(&request).await?;
        for t in &response.responses {
            let n = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
            check(
                || format!("delete topic {n}"),
                t.error_code,
                t.error_message.as_ref(),
            )?;
        }
        self.wait_for_metadata(topics.iter().map(String::as_str), false)
            .await;
        Ok(())
    }

    /// Names of all topics, sorted; internal topics only with `include_internal`.
    pub async fn list_topics(&self, include_internal: bool) -> Result<Vec<String>, ClientError> {
        let m = self.cluster.fetch_metadata(None, false).await?;
        let mut names: Vec<String> = m
            .topics
            .values()
            .filter(|t| include_internal || !t.is_internal)
            .map(|t| t.name.clone())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Partitions with leader, replicas and ISR; `None`: every topic. A topic that does not
    /// exist is an `UNKNOWN_TOPIC_OR_PARTITION` error.
    pub async fn describe_topics(
        &self,
        topics: Option<&[String]>,
    ) -> Result<Vec<Arc<TopicMetadata>>, ClientError> {
        let m = self.cluster.fetch_metadata(topics, false).await?;
        let mut out: Vec<Arc<TopicMetadata>> = Vec::new();
        for t in m.topics.values() {
            if let Some(e) = t.error {
                return Err(ClientError::Kafka {
                    context: format!("describe topic {}", t.name),
                    error: e,
                });
            }
            out.push(t.clone());
        }
        if let Some(wanted) = topics {
            for w in wanted {
                if !out.iter().any(|t| &t.name == w) {
                    return Err(ClientError::Kafka {
                        context: format!("describe topic {w}"),
                        error: weir_protocol::ResponseError::UnknownTopicOrPartition,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Raises the partition count of `topic` to `total`.
    pub async fn create_partitions(&self, topic: &str, total: i32) -> Result<(), ClientError> {
        let request = CreatePartitionsRequest::default()
            .with_timeout_ms(self.timeout_ms())
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(name(topic))
                .with_count(total)
                .with_assignments(None)]);
        let response = self.send_controller(&request).await?;
        for r in &response.results {
            check(
                || format!("create partitions for {topic}"),
                r.error_code,
                r.error_message.as_ref(),
            )?;
        }
        Ok(())
    }

    async fn send_for_resource<R: weir_protocol::kafka_protocol::protocol::Request>(
        &self,
        resource: &ConfigResource,
        request: &R,
    ) -> Result<R::Response, ClientError> {
        match resource {
            ConfigResource::Broker(id) => match id.parse::<i32>() {
                Ok(node) => self.cluster.send(node, request).await,
                Err(_) => self.cluster.send_any(request).await,
            },
            ConfigResource::Topic(_) => self.cluster.send_any(request).await,
        }
    }

    /// Every config of a topic or broker with its value and source.
    pub async fn describe_configs(
        &self,
        resource: &ConfigResource,
    ) -> Result<Vec<ConfigEntry>, ClientError> {
        let request = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(resource.kind())
                .with_resource_name(StrBytes::from_string(resource.name().to_string()))
                .with_configuration_keys(None),
        ]);
        let response = self.send_for_resource(resource, &request).await?;
        let Some(result) = response.results.into_iter().next() else {
            return Err(ClientError::MissingInResponse {
                what: "a DescribeConfigs result".into(),
            });
        };
        check(
            || format!("describe configs of {resource:?}"),
            result.error_code,
            result.error_message.as_ref(),
        )?;
        let mut entries: Vec<ConfigEntry> = result
            .configs
            .into_iter()
            .map(|c| ConfigEntry {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                source: ConfigSource::from_i8(c.config_source),
                read_only: c.read_only,
                sensitive: c.is_sensitive,
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Sets or deletes configs of a topic or broker (IncrementalAlterConfigs).
    pub async fn incremental_alter_configs(
        &self,
        resource: &ConfigResource,
        ops: &[AlterConfigOp],
    ) -> Result<(), ClientError> {
        let configs = ops
            .iter()
            .map(|op| match op {
                AlterConfigOp::Set(k, v) => AlterableConfig::default()
                    .with_name(StrBytes::from_string(k.clone()))
                    .with_config_operation(0)
                    .with_value(Some(StrBytes::from_string(v.clone()))),
                AlterConfigOp::Delete(k) => AlterableConfig::default()
                    .with_name(StrBytes::from_string(k.clone()))
                    .with_config_operation(1)
                    .with_value(None),
            })
            .collect();
        let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(resource.kind())
                .with_resource_name(StrBytes::from_string(resource.name().to_string()))
                .with_configs(configs),
        ]);
        let response = self.send_for_resource(resource, &request).await?;
        for r in &response.responses {
            check(
                || format!("alter configs of {resource:?}"),
                r.error_code,
                r.error_message.as_ref(),
            )?;
        }
        Ok(())
    }

    /// Offsets of `topic`'s partitions (`None`: all of them), asked of each leader.
    pub async fn list_offsets(
        &self,
        topic: &str,
        partitions: Option<&[i32]>,
        spec: OffsetSpec,
    ) -> Result<Vec<ListedOffset>, ClientError> {
        let wanted = [topic.to_string()];
        let m = self.cluster.fetch_metadata(Some(&wanted), false).await?;
        let t = m
            .topics
            .get(topic)
            .cloned()
            .ok_or_else(|| ClientError::Kafka {
                context: format!("list offsets of {topic}"),
                error: weir_protocol::ResponseError::UnknownTopicOrPartition,
            })?;
        if let Some(e) = t.error {
            return Err(ClientError::Kafka {
                context: format!("list offsets of {topic}"),
                error: e,
            });
        }
        let mut by_leader: HashMap<i32, Vec<i32>> = HashMap::new();
        for p in &t.partitions {
            if partitions.is_some_and(|ps| !ps.contains(&p.partition)) {
                continue;
            }
            if p.leader < 0 {
                return Err(ClientError::LeaderNotAvailable {
                    topic: topic.to_string(),
                    partition: p.partition,
                });
            }
            by_leader.entry(p.leader).or_default().push(p.partition);
        }
        let mut out = Vec::new();
        for (leader, parts) in by_leader {
            let request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![ListOffsetsTopic::default()
                    .with_name(name(topic))
                    .with_partitions(
                        parts
                            .iter()
                            .map(|&p| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_current_leader_epoch(-1)
                                    .with_timestamp(spec.timestamp())
                            })
                            .collect(),
                    )]);
            let response = self.cluster.send(leader, &request).await?;
            for rt in response.topics {
                for rp in rt.partitions {
                    check(
                        || format!("list offsets of {topic}-{}", rp.partition_index),
                        rp.error_code,
                        None,
                    )?;
                    out.push(ListedOffset {
                        partition: rp.partition_index,
                        offset: rp.offset,
                        timestamp: rp.timestamp,
                    });
                }
            }
        }
        out.sort_by_key(|o| o.partition);
        Ok(out)
    }

    /// Cluster id, controller and brokers (DescribeCluster).
    pub async fn describe_cluster(&self) -> Result<ClusterDescription, ClientError> {
        let response = self
            .cluster
            .send_any(&DescribeClusterRequest::default())
            .await?;
        check(
            || "describe cluster".to_string(),
            response.error_code,
            response.error_message.as_ref(),
        )?;
        let mut brokers: Vec<BrokerInfo> = response
            .brokers
            .into_iter()
            .map(|b| BrokerInfo {
                node_id: b.broker_id.0,
                host: b.host.to_string(),
                port: b.port,
                rack: b.rack.map(|r| r.to_string()),
            })
            .collect();
        brokers.sort_by_key(|b| b.node_id);
        Ok(ClusterDescription {
            cluster_id: response.cluster_id.to_string(),
            controller_id: response.controller_id.0,
            brokers,
        })
    }
}
