//! Records of Weir's metadata log, in the spirit of Kafka KRaft's metadata records
//! (`RegisterBrokerRecord`, `TopicRecord`, `PartitionRecord`, `ConfigRecord`,
//! `RemoveTopicRecord`).
//!
//! A change to cluster metadata is a `Vec<MetadataRecord>` appended as one log entry, so the
//! records of one change are applied all together or not at all. The serde representation
//! (externally tagged by variant name) is the on-disk format: add variants, and add fields only
//! with `#[serde(default)]`, never rename.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The resource a [`MetadataRecord::Config`] applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ConfigResource {
    /// A topic, by name (DescribeConfigs / AlterConfigs resource type 2).
    Topic(String),
    /// A broker, by node id (resource type 4): a dynamic broker config.
    Broker(i32),
}

/// One record of the metadata log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MetadataRecord {
    /// A broker joined (or re-registered) with its advertised endpoint.
    RegisterBroker {
        broker_id: i32,
        host: String,
        port: u16,
        rack: Option<String>,
    },
    /// A topic was created with this name and id.
    Topic { name: String, topic_id: Uuid },
    /// A partition's full state: creates the partition or replaces its previous state
    /// (leader change, ISR change, reassignment).
    Partition {
        topic_id: Uuid,
        partition: i32,
        replicas: Vec<i32>,
        isr: Vec<i32>,
        leader: i32,
        leader_epoch: i32,
        partition_epoch: i32,
    },
    /// A config was set (`Some`) or deleted (`None`) on a resource.
    Config {
        resource: ConfigResource,
        name: String,
        value: Option<String>,
    },
    /// A topic and all its partitions and configs were removed.
    RemoveTopic { topic_id: Uuid },
    /// A broker took the block of producer ids below `next_producer_id` (Kafka's
    /// `ProducerIdsRecord`): ids are handed out in blocks so that no id is used twice, across
    /// restarts too, without a metadata write per producer.
    ProducerIds {
        broker_id: i32,
        next_producer_id: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_json() -> Result<(), serde_json::Error> {
        let records = vec![
            MetadataRecord::RegisterBroker {
                broker_id: 1,
                host: "localhost".into(),
                port: 9092,
                rack: None,
            },
            MetadataRecord::Topic {
                name: "t".into(),
                topic_id: Uuid::from_u128(7),
            },
            MetadataRecord::Partition {
                topic_id: Uuid::from_u128(7),
                partition: 0,
                replicas: vec![1],
                isr: vec![1],
                leader: 1,
                leader_epoch: 0,
                partition_epoch: 0,
            },
            MetadataRecord::Config {
                resource: ConfigResource::Topic("t".into()),
                name: "retention.ms".into(),
                value: Some("1000".into()),
            },
            MetadataRecord::Config {
                resource: ConfigResource::Broker(1),
                name: "log.retention.ms".into(),
                value: None,
            },
            MetadataRecord::RemoveTopic {
                topic_id: Uuid::from_u128(7),
            },
            MetadataRecord::ProducerIds {
                broker_id: 1,
                next_producer_id: 2000,
            },
        ];
        let json = serde_json::to_vec(&records)?;
        let back: Vec<MetadataRecord> = serde_json::from_slice(&json)?;
        assert_eq!(back, records);
        Ok(())
    }
}
