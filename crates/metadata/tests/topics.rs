//! Topic admin decisions: each success and each error, applied through a MetadataStore.

use std::collections::BTreeMap;

use uuid::Uuid;
use weir_metadata::config::ConfigError;
use weir_metadata::topics::{
    alter_config_records, create_partitions_records, create_topic_records,
    delete_topic_by_id_records, delete_topic_records, replace_config_records,
    MAX_PARTITIONS_PER_TOPIC,
};
use weir_metadata::{AlterConfigOp, ConfigResource, MetadataImage, MetadataRecord, TopicError};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const BROKERS: &[i32] = &[3, 1, 2];

fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn apply(image: &mut MetadataImage, records: &[MetadataRecord]) -> TestResult {
    for r in records {
        image.apply(r)?;
    }
    Ok(())
}

fn image_with(
    name: &str,
    partitions: i32,
    rf: i16,
) -> Result<MetadataImage, Box<dyn std::error::Error>> {
    let mut image = MetadataImage::new();
    let records = create_topic_records(
        &image,
        name,
        partitions,
        rf,
        BTreeMap::new(),
        BROKERS,
        Uuid::from_u128(1),
    )?;
    apply(&mut image, &records)?;
    Ok(image)
}

#[test]
fn create_topic_assigns_round_robin_with_configs() -> TestResult {
    let mut image = MetadataImage::new();
    let id = Uuid::from_u128(7);
    let records = create_topic_records(
        &image,
        "orders",
        4,
        2,
        configs(&[("retention.ms", "1000"), ("cleanup.policy", "compact")]),
        BROKERS,
        id,
    )?;
    apply(&mut image, &records)?;
    let topic = image.topic("orders").ok_or("topic missing")?;
    assert_eq!(topic.topic_id, id);
    assert_eq!(
        topic.configs,
        configs(&[("retention.ms", "1000"), ("cleanup.policy", "compact")])
    );
    let replicas: Vec<Vec<i32>> = topic
        .partitions
        .values()
        .map(|p| p.replicas.clone())
        .collect();
    assert_eq!(replicas, [vec![1, 2], vec![2, 3], vec![3, 1], vec![1, 2]]);
    for p in topic.partitions.values() {
        assert_eq!(p.leader, p.replicas[0]);
        assert_eq!(p.isr, p.replicas);
        assert_eq!(p.leader_epoch, 0);
    }
    Ok(())
}

#[test]
fn create_topic_errors() -> TestResult {
    let image = image_with("orders.v1", 1, 1)?;
    let create = |name: &str, partitions: i32, rf: i16, cfg: &[(&str, &str)]| {
        create_topic_records(
            &image,
            name,
            partitions,
            rf,
            configs(cfg),
            BROKERS,
            Uuid::from_u128(2),
        )
    };
    assert!(matches!(
        create("orders.v1", 1, 1, &[]),
        Err(TopicError::TopicAlreadyExists { .. })
    ));
    assert!(matches!(
        create("orders_v1", 1, 1, &[]),
        Err(TopicError::CollidingTopic { ref existing, .. }) if existing == "orders.v1"
    ));
    for bad in ["", ".", "..", "has space", "slash/y", &"x".repeat(250)] {
        assert!(
            matches!(
                create(bad, 1, 1, &[]),
                Err(TopicError::InvalidTopicName { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(matches!(
        create("t", 0, 1, &[]),
        Err(TopicError::InvalidPartitions { partitions: 0, .. })
    ));
    assert!(matches!(
        create("t", -1, 1, &[]),
        Err(TopicError::InvalidPartitions { .. })
    ));
    assert!(matches!(
        create("t", MAX_PARTITIONS_PER_TOPIC + 1, 1, &[]),
        Err(TopicError::PolicyViolation { .. })
    ));
    assert!(matches!(
        create("t", 1, 4, &[]),
        Err(TopicError::InvalidReplicationFactor {
            replication_factor: 4,
            ..
        })
    ));
    assert!(matches!(
        create("t", 1, 0, &[]),
        Err(TopicError::InvalidReplicationFactor { .. })
    ));
    assert!(matches!(
        create("t", 1, 1, &[("retention.weeks", "1")]),
        Err(TopicError::InvalidConfig(ConfigError::UnknownKey { .. }))
    ));
    match create("t", 1, 1, &[("segment.bytes", "10")]) {
        Err(TopicError::InvalidConfig(ConfigError::InvalidValue { key, value, .. })) => {
            assert_eq!((key.as_str(), value.as_str()), ("segment.bytes", "10"));
        }
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
    assert!(create("t", 1, 3, &[]).is_ok());
    Ok(())
}

#[test]
fn delete_topic() -> TestResult {
    let mut image = image_with("orders", 2, 1)?;
    assert!(matches!(
        delete_topic_records(&image, "nope"),
        Err(TopicError::UnknownTopic { ref name }) if name == "nope"
    ));
    assert!(matches!(
        delete_topic_by_id_records(&image, Uuid::from_u128(99)),
        Err(TopicError::UnknownTopicId { .. })
    ));
    assert_eq!(
        delete_topic_by_id_records(&image, Uuid::from_u128(1))?,
        delete_topic_records(&image, "orders")?
    );
    let records = delete_topic_records(&image, "orders")?;
    apply(&mut image, &records)?;
    assert!(image.topics().is_empty());
    Ok(())
}

#[test]
fn create_partitions_grows_only() -> TestResult {
    let mut image = image_with("orders", 2, 2)?;
    assert!(matches!(
        create_partitions_records(&image, "orders", 2, BROKERS),
        Err(TopicError::InvalidPartitions { partitions: 2, .. })
    ));
    assert!(matches!(
        create_partitions_records(&image, "orders", 1, BROKERS),
        Err(TopicError::InvalidPartitions { .. })
    ));
    assert!(matches!(
        create_partitions_records(&image, "nope", 5, BROKERS),
        Err(TopicError::UnknownTopic { .. })
    ));
    assert!(matches!(
        create_partitions_records(&image, "orders", 5, &[1]),
        Err(TopicError::InvalidReplicationFactor { .. })
    ));
    assert!(matches!(
        create_partitions_records(&image, "orders", MAX_PARTITIONS_PER_TOPIC + 1, BROKERS),
        Err(TopicError::PolicyViolation { .. })
    ));
    let records = create_partitions_records(&image, "orders", 4, BROKERS)?;
    assert_eq!(records.len(), 2);
    apply(&mut image, &records)?;
    let topic = image.topic("orders").ok_or("topic missing")?;
    assert_eq!(
        topic.partitions.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(topic.partitions[&2].replicas, [3, 1]);
    Ok(())
}

#[test]
fn alter_configs_incremental_and_replace() -> TestResult {
    let mut image = image_with("orders", 1, 1)?;
    let topic = ConfigResource::Topic("orders".into());
    let set = |name: &str, value: &str| AlterConfigOp::Set {
        name: name.into(),
        value: value.into(),
    };

    let records = alter_config_records(
        &image,
        &topic,
        &[set("retention.ms", "5"), set("segment.bytes", "2048")],
    )?;
    apply(&mut image, &records)?;
    assert_eq!(
        image.topic("orders").map(|t| t.configs.clone()),
        Some(configs(&[("retention.ms", "5"), ("segment.bytes", "2048")]))
    );

    // Append to a list starts from the default (delete).
    let records = alter_config_records(
        &image,
        &topic,
        &[AlterConfigOp::Append {
            name: "cleanup.policy".into(),
            value: "compact".into(),
        }],
    )?;
    apply(&mut image, &records)?;
    assert_eq!(image.partition("orders", 0).map(|p| p.leader), Some(1));
    assert_eq!(
        image
            .topic("orders")
            .and_then(|t| t.configs.get("cleanup.policy").cloned())
            .as_deref(),
        Some("delete,compact")
    );
    let records = alter_config_records(
        &image,
        &topic,
        &[AlterConfigOp::Subtract {
            name: "cleanup.policy".into(),
            value: "delete".into(),
        }],
    )?;
    apply(&mut image, &records)?;
    assert_eq!(
        image
            .topic("orders")
            .and_then(|t| t.configs.get("cleanup.policy").cloned())
            .as_deref(),
        Some("compact")
    );

    // Setting a value already set, or deleting one not set, writes nothing.
    assert!(alter_config_records(&image, &topic, &[set("retention.ms", "5")])?.is_empty());
    assert!(alter_config_records(
        &image,
        &topic,
        &[AlterConfigOp::Delete {
            name: "flush.ms".into()
        }]
    )?
    .is_empty());

    // Replace: exactly the given set remains.
    let records = replace_config_records(&image, &topic, &configs(&[("retention.ms", "9")]))?;
    apply(&mut image, &records)?;
    assert_eq!(
        image.topic("orders").map(|t| t.configs.clone()),
        Some(configs(&[("retention.ms", "9")]))
    );

    // Errors.
    assert!(matches!(
        alter_config_records(
            &image,
            &ConfigResource::Topic("nope".into()),
            &[set("retention.ms", "1")]
        ),
        Err(TopicError::UnknownTopic { .. })
    ));
    assert!(matches!(
        alter_config_records(&image, &topic, &[set("retention.ms", "soon")]),
        Err(TopicError::InvalidConfig(ConfigError::InvalidValue { .. }))
    ));
    assert!(matches!(
        alter_config_records(&image, &topic, &[set("bogus", "1")]),
        Err(TopicError::InvalidConfig(ConfigError::UnknownKey { .. }))
    ));
    assert!(matches!(
        alter_config_records(
            &image,
            &topic,
            &[AlterConfigOp::Append {
                name: "retention.ms".into(),
                value: "1".into()
            }]
        ),
        Err(TopicError::InvalidConfig(
            ConfigError::OperationNotAllowed { .. }
        ))
    ));
    Ok(())
}

#[test]
fn alter_broker_configs() -> TestResult {
    let mut image = MetadataImage::new();
    let broker = ConfigResource::Broker(1);
    let records = alter_config_records(
        &image,
        &broker,
        &[AlterConfigOp::Set {
            name: "log.retention.ms".into(),
            value: "100".into(),
        }],
    )?;
    apply(&mut image, &records)?;
    assert_eq!(image.broker_configs(1).map(|c| c.len()), Some(1));
    assert!(matches!(
        alter_config_records(
            &image,
            &broker,
            &[AlterConfigOp::Set {
                name: "retention.ms".into(),
                value: "1".into()
            }]
        ),
        Err(TopicError::InvalidConfig(ConfigError::UnknownKey { .. }))
    ));
    assert!(matches!(
        alter_config_records(
            &image,
            &broker,
            &[AlterConfigOp::Set {
                name: "num.io.threads".into(),
                value: "4".into()
            }]
        ),
        Err(TopicError::InvalidConfig(
            ConfigError::OperationNotAllowed { .. }
        ))
    ));
    Ok(())
}
