//! A snapshot of cluster metadata: brokers, topics, partitions with leader, replicas and ISR.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;
use weir_protocol::kafka_protocol::messages::MetadataResponse;
use weir_protocol::ResponseError;

/// One broker as the cluster advertises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub node_id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

impl BrokerInfo {
    /// `host:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// One partition: leader (`-1` when none), replicas and in-sync replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionMetadata {
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
    pub error: Option<ResponseError>,
}

/// One topic; `partitions` is sorted by partition number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMetadata {
    pub name: String,
    pub topic_id: Uuid,
    pub is_internal: bool,
    pub error: Option<ResponseError>,
    pub partitions: Vec<PartitionMetadata>,
}

/// Everything one Metadata response said.
#[derive(Debug, Clone, Default)]
pub struct ClusterMetadata {
    pub cluster_id: Option<String>,
    pub controller_id: i32,
    pub brokers: HashMap<i32, BrokerInfo>,
    pub topics: HashMap<String, Arc<TopicMetadata>>,
}

impl ClusterMetadata {
    pub(crate) fn from_response(response: MetadataResponse) -> ClusterMetadata {
        let brokers = response
            .brokers
            .into_iter()
            .map(|b| {
                let id = b.node_id.0;
                (
                    id,
                    BrokerInfo {
                        node_id: id,
                        host: b.host.to_string(),
                        port: b.port,
                        rack: b.rack.map(|r| r.to_string()),
                    },
                )
            })
            .collect();
        let topics = response
            .topics
            .into_iter()
            .filter_map(|t| {
                let name = t.name?.0.to_string();
                let mut partitions: Vec<PartitionMetadata> = t
                    .partitions
                    .into_iter()
                    .map(|p| PartitionMetadata {
                        partition: p.partition_index,
                        leader: p.leader_id.0,
                        leader_epoch: p.leader_epoch,
                        replicas: p.replica_nodes.iter().map(|r| r.0).collect(),
                        isr: p.isr_nodes.iter().map(|r| r.0).collect(),
                        offline_replicas: p.offline_replicas.iter().map(|r| r.0).collect(),
                        error: ResponseError::try_from_code(p.error_code),
                    })
                    .collect();
                partitions.sort_by_key(|p| p.partition);
                Some((
                    name.clone(),
                    Arc::new(TopicMetadata {
                        name,
                        topic_id: t.topic_id,
                        is_internal: t.is_internal,
                        error: ResponseError::try_from_code(t.error_code),
                        partitions,
                    }),
                ))
            })
            .collect();
        ClusterMetadata {
            cluster_id: response.cluster_id.map(|c| c.to_string()),
            controller_id: response.controller_id.0,
            brokers,
            topics,
        }
    }

    /// The topic, if the cluster knows it and it has partitions.
    pub fn topic(&self, name: &str) -> Option<&Arc<TopicMetadata>> {
        self.topics
            .get(name)
            .filter(|t| t.error.is_none() && !t.partitions.is_empty())
    }

    /// The leader of `topic`-`partition`, if one is known and listed among the brokers.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let t = self.topics.get(topic)?;
        let p = t.partitions.get(usize::try_from(partition).ok()?)?;
        (p.partition == partition && p.leader >= 0 && self.brokers.contains_key(&p.leader))
            .then_some(p.leader)
    }
}
