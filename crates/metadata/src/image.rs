//! The metadata image: cluster metadata as of some offset of the metadata log, built by
//! applying records in order.
//!
//! Plain owned data, cheap to clone: the broker keeps an `Arc<MetadataImage>` snapshot for
//! request handlers and swaps in a new one after each committed change.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use crate::error::{MetadataError, Result};
use crate::record::{ConfigResource, MetadataRecord};

/// A registered broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRegistration {
    pub broker_id: i32,
    pub host: String,
    pub port: u16,
    pub rack: Option<String>,
}

/// A partition's replica assignment and leadership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionImage {
    pub partition: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub leader: i32,
    pub leader_epoch: i32,
    pub partition_epoch: i32,
}

/// A topic: its id, partitions and config overrides (only those set on the topic; defaults
/// come from the broker config, see [`crate::config::topic`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicImage {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: BTreeMap<i32, PartitionImage>,
    pub configs: BTreeMap<String, String>,
}

/// Cluster metadata in memory.
///
/// Invariant kept by [`MetadataImage::apply`]: every topic in `topics` has its id in
/// `topic_names` and the other way round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataImage {
    brokers: BTreeMap<i32, BrokerRegistration>,
    topics: BTreeMap<String, TopicImage>,
    topic_names: HashMap<Uuid, String>,
    broker_configs: BTreeMap<i32, BTreeMap<String, String>>,
    /// First producer id not yet given to any broker (see [`MetadataRecord::ProducerIds`]).
    next_producer_id: i64,
}

impl MetadataImage {
    /// An empty image (an empty metadata log).
    pub fn new() -> MetadataImage {
        MetadataImage::default()
    }

    /// Applies one record. On error the image is unchanged.
    pub fn apply(&mut self, record: &MetadataRecord) -> Result<()> {
        match record {
            MetadataRecord::RegisterBroker {
                broker_id,
                host,
                port,
                rack,
            } => {
                self.brokers.insert(
                    *broker_id,
                    BrokerRegistration {
                        broker_id: *broker_id,
                        host: host.clone(),
                        port: *port,
                        rack: rack.clone(),
                    },
                );
            }
            MetadataRecord::Topic { name, topic_id } => {
                if let Some(existing) = self.topics.get(name) {
                    return Err(MetadataError::TopicNameConflict {
                        name: name.clone(),
                        existing: existing.topic_id,
                        topic_id: *topic_id,
                    });
                }
                if let Some(existing) = self.topic_names.get(topic_id) {
                    return Err(MetadataError::TopicIdConflict {
                        topic_id: *topic_id,
                        existing: existing.clone(),
                        name: name.clone(),
                    });
                }
                self.topic_names.insert(*topic_id, name.clone());
                self.topics.insert(
                    name.clone(),
                    TopicImage {
                        name: name.clone(),
                        topic_id: *topic_id,
                        partitions: BTreeMap::new(),
                        configs: BTreeMap::new(),
                    },
                );
            }
            MetadataRecord::Partition {
                topic_id,
                partition,
                replicas,
                isr,
                leader,
                leader_epoch,
                partition_epoch,
            } => {
                let topic = self.topic_by_id_mut(topic_id)?;
                topic.partitions.insert(
                    *partition,
                    PartitionImage {
                        partition: *partition,
                        replicas: replicas.clone(),
                        isr: isr.clone(),
                        leader: *leader,
                        leader_epoch: *leader_epoch,
                        partition_epoch: *partition_epoch,
                    },
                );
            }
            MetadataRecord::Config {
                resource,
                name,
                value,
            } => {
                let configs = match resource {
                    ConfigResource::Topic(topic) => {
                        &mut self
                            .topics
                            .get_mut(topic)
                            .ok_or_else(|| MetadataError::UnknownTopic {
                                name: topic.clone(),
                            })?
                            .configs
                    }
                    ConfigResource::Broker(id) => self.broker_configs.entry(*id).or_default(),
                };
                match value {
                    Some(value) => {
                        configs.insert(name.clone(), value.clone());
                    }
                    None => {
                        configs.remove(name);
                    }
                }
                if let ConfigResource::Broker(id) = resource {
                    if self.broker_configs.get(id).is_some_and(BTreeMap::is_empty) {
                        self.broker_configs.remove(id);
                    }
                }
            }
            MetadataRecord::RemoveTopic { topic_id } => {
                let name =
                    self.topic_names
                        .remove(topic_id)
                        .ok_or(MetadataError::UnknownTopicId {
                            topic_id: *topic_id,
                        })?;
                self.topics.remove(&name);
            }
            MetadataRecord::ProducerIds {
                next_producer_id, ..
            } => {
                if *next_producer_id < self.next_producer_id {
                    return Err(MetadataError::ProducerIdsGoBack {
                        current: self.next_producer_id,
                        next_producer_id: *next_producer_id,
                    });
                }
                self.next_producer_id = *next_producer_id;
            }
        }
        Ok(())
    }

    /// First producer id no broker has been given yet: the next block starts here.
    pub fn next_producer_id(&self) -> i64 {
        self.next_producer_id
    }

    fn topic_by_id_mut(&mut self, topic_id: &Uuid) -> Result<&mut TopicImage> {
        let unknown = || MetadataError::UnknownTopicId {
            topic_id: *topic_id,
        };
        let name = self.topic_names.get(topic_id).ok_or_else(unknown)?;
        self.topics.get_mut(name).ok_or_else(unknown)
    }

    /// Registered brokers by id.
    pub fn brokers(&self) -> &BTreeMap<i32, BrokerRegistration> {
        &self.brokers
    }

    /// One registered broker.
    pub fn broker(&self, broker_id: i32) -> Option<&BrokerRegistration> {
        self.brokers.get(&broker_id)
    }

    /// Topics by name.
    pub fn topics(&self) -> &BTreeMap<String, TopicImage> {
        &self.topics
    }

    /// A topic by name.
    pub fn topic(&self, name: &str) -> Option<&TopicImage> {
        self.topics.get(name)
    }

    /// A topic by id.
    pub fn topic_by_id(&self, topic_id: &Uuid) -> Option<&TopicImage> {
        self.topic_names
            .get(topic_id)
            .and_then(|name| self.topics.get(name))
    }

    /// A partition of a topic, by topic name.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionImage> {
        self.topics.get(topic)?.partitions.get(&partition)
    }

    /// Dynamic configs set on one broker (empty when none).
    pub fn broker_configs(&self, broker_id: i32) -> Option<&BTreeMap<String, String>> {
        self.broker_configs.get(&broker_id)
    }

    /// Config overrides of a resource: a topic's configs or a broker's dynamic configs.
    pub fn configs(&self, resource: &ConfigResource) -> Option<&BTreeMap<String, String>> {
        match resource {
            ConfigResource::Topic(name) => self.topics.get(name).map(|t| &t.configs),
            ConfigResource::Broker(id) => self.broker_configs.get(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: Uuid = Uuid::from_u128(42);

    fn partition(p: i32, leader_epoch: i32) -> MetadataRecord {
        MetadataRecord::Partition {
            topic_id: ID,
            partition: p,
            replicas: vec![1, 2],
            isr: vec![1, 2],
            leader: 1,
            leader_epoch,
            partition_epoch: leader_epoch,
        }
    }

    fn image_with_topic() -> Result<MetadataImage> {
        let mut image = MetadataImage::new();
        image.apply(&MetadataRecord::Topic {
            name: "orders".into(),
            topic_id: ID,
        })?;
        image.apply(&partition(0, 0))?;
        image.apply(&partition(1, 0))?;
        Ok(image)
    }

    #[test]
    fn builds_topics_partitions_and_configs() -> Result<()> {
        let mut image = image_with_topic()?;
        image.apply(&partition(1, 3))?;
        image.apply(&MetadataRecord::Config {
            resource: ConfigResource::Topic("orders".into()),
            name: "retention.ms".into(),
            value: Some("1000".into()),
        })?;
        let topic = image
            .topic("orders")
            .ok_or(MetadataError::UnknownTopicId { topic_id: ID })?;
        assert_eq!(topic.partitions.len(), 2);
        assert_eq!(topic.partitions[&1].leader_epoch, 3);
        assert_eq!(topic.configs["retention.ms"], "1000");
        assert_eq!(
            image.topic_by_id(&ID).map(|t| t.name.as_str()),
            Some("orders")
        );
        assert_eq!(image.partition("orders", 0).map(|p| p.leader), Some(1));

        image.apply(&MetadataRecord::Config {
            resource: ConfigResource::Topic("orders".into()),
            name: "retention.ms".into(),
            value: None,
        })?;
        assert!(image.topic("orders").is_some_and(|t| t.configs.is_empty()));
        Ok(())
    }

    #[test]
    fn remove_topic_forgets_name_and_id() -> Result<()> {
        let mut image = image_with_topic()?;
        image.apply(&MetadataRecord::RemoveTopic { topic_id: ID })?;
        assert!(image.topic("orders").is_none());
        assert!(image.topic_by_id(&ID).is_none());
        // The name can be reused with a new id.
        image.apply(&MetadataRecord::Topic {
            name: "orders".into(),
            topic_id: Uuid::from_u128(43),
        })?;
        assert!(image
            .topic("orders")
            .is_some_and(|t| t.partitions.is_empty()));
        Ok(())
    }

    #[test]
    fn brokers_and_broker_configs() -> Result<()> {
        let mut image = MetadataImage::new();
        image.apply(&MetadataRecord::RegisterBroker {
            broker_id: 3,
            host: "h".into(),
            port: 9093,
            rack: Some("r1".into()),
        })?;
        image.apply(&MetadataRecord::Config {
            resource: ConfigResource::Broker(3),
            name: "log.retention.ms".into(),
            value: Some("5".into()),
        })?;
        assert_eq!(image.broker(3).map(|b| b.port), Some(9093));
        assert_eq!(
            image
                .configs(&ConfigResource::Broker(3))
                .and_then(|c| c.get("log.retention.ms"))
                .map(String::as_str),
            Some("5")
        );
        image.apply(&MetadataRecord::Config {
            resource: ConfigResource::Broker(3),
            name: "log.retention.ms".into(),
            value: None,
        })?;
        assert!(image.broker_configs(3).is_none());
        Ok(())
    }

    #[test]
    fn producer_id_blocks_only_move_forward() -> Result<()> {
        let mut image = MetadataImage::new();
        assert_eq!(image.next_producer_id(), 0);
        image.apply(&MetadataRecord::ProducerIds {
            broker_id: 1,
            next_producer_id: 1000,
        })?;
        assert_eq!(image.next_producer_id(), 1000);
        let back = image.apply(&MetadataRecord::ProducerIds {
            broker_id: 1,
            next_producer_id: 500,
        });
        assert!(matches!(back, Err(MetadataError::ProducerIdsGoBack { .. })));
        assert_eq!(image.next_producer_id(), 1000);
        Ok(())
    }

    #[test]
    fn inconsistent_records_are_rejected_and_leave_image_unchanged() -> Result<()> {
        let mut image = image_with_topic()?;
        let before = image.clone();
        let other = Uuid::from_u128(9);
        let errs = [
            image.apply(&MetadataRecord::Topic {
                name: "orders".into(),
                topic_id: other,
            }),
            image.apply(&MetadataRecord::Topic {
                name: "other".into(),
                topic_id: ID,
            }),
            image.apply(&MetadataRecord::RemoveTopic { topic_id: other }),
            image.apply(&MetadataRecord::Partition {
                topic_id: other,
                partition: 0,
                replicas: vec![],
                isr: vec![],
                leader: -1,
                leader_epoch: 0,
                partition_epoch: 0,
            }),
            image.apply(&MetadataRecord::Config {
                resource: ConfigResource::Topic("nope".into()),
                name: "retention.ms".into(),
                value: Some("1".into()),
            }),
        ];
        assert!(matches!(
            errs[0],
            Err(MetadataError::TopicNameConflict { .. })
        ));
        assert!(matches!(
            errs[1],
            Err(MetadataError::TopicIdConflict { .. })
        ));
        assert!(
            matches!(errs[2], Err(MetadataError::UnknownTopicId { topic_id }) if topic_id == other)
        );
        assert!(matches!(errs[3], Err(MetadataError::UnknownTopicId { .. })));
        assert!(matches!(errs[4], Err(MetadataError::UnknownTopic { ref name }) if name == "nope"));
        assert_eq!(image, before);
        Ok(())
    }
}
