//! Topic administration and configs: CreateTopics, DeleteTopics, CreatePartitions,
//! DescribeConfigs, AlterConfigs and IncrementalAlterConfigs against an in-process broker.

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    alter_configs_request, incremental_alter_configs_request, AlterConfigsRequest, ApiKey,
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    IncrementalAlterConfigsRequest, MetadataRequest, MetadataResponse, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;

use crate::produce_fetch::{produce, topic_name};
use crate::support::{batch, Client, TestBroker};

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_REPLICATION_FACTOR: i16 = 38;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const UNKNOWN_TOPIC_ID: i16 = 100;
const TOPIC_DELETION_DISABLED: i16 = 73;

const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn creatable(name: &str, partitions: i32, rf: i16, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(topic_name(name))
        .with_num_partitions(partitions)
        .with_replication_factor(rf)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(s(k))
                        .with_value(Some(s(v)))
                })
                .collect(),
        )
}

async fn create_topics(
    client: &mut Client,
    version: i16,
    topics: Vec<CreatableTopic>,
    validate_only: bool,
) -> Vec<CreatableTopicResult> {
    let req = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(5000)
        .with_validate_only(validate_only);
    let ResponseKind::CreateTopics(resp) = client
        .request(
            ApiKey::CreateTopics,
            version,
            RequestKind::CreateTopics(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    resp.topics
}

async fn create_one(client: &mut Client, topic: CreatableTopic) -> CreatableTopicResult {
    create_topics(client, 7, vec![topic], false).await.remove(0)
}

/// Metadata for one topic without auto-creation: (error code, partition count).
async fn metadata(client: &mut Client, topic: &str) -> (i16, usize) {
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(topic_name(topic)))
        ]))
        .with_allow_auto_topic_creation(false);
    let ResponseKind::Metadata(resp) = client
        .request(ApiKey::Metadata, 12, RequestKind::Metadata(req))
        .await
    else {
        panic!("wrong response type")
    };
    let resp: MetadataResponse = resp;
    (resp.topics[0].error_code, resp.topics[0].partitions.len())
}

async fn describe(
    client: &mut Client,
    resource_type: i8,
    name: &str,
    keys: Option<&[&str]>,
    synonyms: bool,
) -> DescribeConfigsResult {
    let req = DescribeConfigsRequest::default()
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(name))
            .with_configuration_keys(
                keys.map(|k| k.iter().map(|k| s(k)).collect()),
            )])
        .with_include_synonyms(synonyms)
        .with_include_documentation(true);
    let ResponseKind::DescribeConfigs(mut resp) = client
        .request(
            ApiKey::DescribeConfigs,
            4,
            RequestKind::DescribeConfigs(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    resp.results.remove(0)
}

/// (value, source) of one topic config.
async fn topic_config(client: &mut Client, topic: &str, key: &str) -> (Option<String>, i8) {
    let result = describe(client, 2, topic, Some(&[key]), false).await;
    assert_eq!(result.error_code, NONE, "{:?}", result.error_message);
    assert_eq!(result.configs.len(), 1);
    let c = &result.configs[0];
    (c.value.as_ref().map(|v| v.to_string()), c.config_source)
}

async fn incremental(
    client: &mut Client,
    topic: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> (i16, Option<String>) {
    use incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let req = IncrementalAlterConfigsRequest::default()
        .with_resources(vec![AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(topic))
            .with_configs(
                ops.iter()
                    .map(|(k, op, v)| {
                        AlterableConfig::default()
                            .with_name(s(k))
                            .with_config_operation(*op)
                            .with_value(v.map(s))
                    })
                    .collect(),
            )])
        .with_validate_only(validate_only);
    let ResponseKind::IncrementalAlterConfigs(resp) = client
        .request(
            ApiKey::IncrementalAlterConfigs,
            1,
            RequestKind::IncrementalAlterConfigs(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    let r = &resp.responses[0];
    (
        r.error_code,
        r.error_message.as_ref().map(|m| m.to_string()),
    )
}

async fn alter_legacy(client: &mut Client, topic: &str, configs: &[(&str, &str)]) -> i16 {
    use alter_configs_request::{AlterConfigsResource, AlterableConfig};
    let req = AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(2)
        .with_resource_name(s(topic))
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    AlterableConfig::default()
                        .with_name(s(k))
                        .with_value(Some(s(v)))
                })
                .collect(),
        )]);
    let ResponseKind::AlterConfigs(resp) = client
        .request(ApiKey::AlterConfigs, 2, RequestKind::AlterConfigs(req))
        .await
    else {
        panic!("wrong response type")
    };
    resp.responses[0].error_code
}

async fn create_partitions(client: &mut Client, topic: &str, count: i32) -> (i16, Option<String>) {
    let req = CreatePartitionsRequest::default()
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(topic_name(topic))
            .with_count(count)])
        .with_timeout_ms(5000);
    let ResponseKind::CreatePartitions(resp) = client
        .request(
            ApiKey::CreatePartitions,
            3,
            RequestKind::CreatePartitions(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    let r = &resp.results[0];
    (
        r.error_code,
        r.error_message.as_ref().map(|m| m.to_string()),
    )
}

#[tokio::test]
async fn create_topics_validates_and_creates() {
    let broker = TestBroker::start(&["num.partitions=2"]).await;
    let mut client = broker.client().await;

    // validate_only: answered as a success, nothing created.
    let r = create_topics(&mut client, 7, vec![creatable("orders", 3, 1, &[])], true).await;
    assert_eq!(r[0].error_code, NONE);
    assert_eq!(r[0].num_partitions, 3);
    assert_eq!(
        metadata(&mut client, "orders").await.0,
        UNKNOWN_TOPIC_OR_PARTITION
    );

    // Created with defaults for -1, carrying partitions, RF, configs and id.
    let r = create_one(
        &mut client,
        creatable("orders", -1, -1, &[("retention.ms", "1000")]),
    )
    .await;
    assert_eq!(r.error_code, NONE, "{:?}", r.error_message);
    assert_eq!(r.num_partitions, 2);
    assert_eq!(r.replication_factor, 1);
    assert!(!r.topic_id.is_nil());
    let configs = r.configs.unwrap_or_default();
    let retention = configs
        .iter()
        .find(|c| c.name.as_str() == "retention.ms")
        .unwrap();
    assert_eq!(retention.value.as_deref(), Some("1000"));
    assert_eq!(retention.config_source, SOURCE_DYNAMIC_TOPIC);
    assert_eq!(metadata(&mut client, "orders").await, (NONE, 2));
    assert!(broker.dir.path().join("orders-0").is_dir());
    assert!(broker.dir.path().join("orders-1").is_dir());

    // Errors.
    let r = create_one(&mut client, creatable("orders", 1, 1, &[])).await;
    assert_eq!(r.error_code, TOPIC_ALREADY_EXISTS);
    let r = create_one(&mut client, creatable("bad/name", 1, 1, &[])).await;
    assert_eq!(r.error_code, INVALID_TOPIC_EXCEPTION);
    let r = create_one(&mut client, creatable("three", 1, 3, &[])).await;
    assert_eq!(r.error_code, INVALID_REPLICATION_FACTOR);
    let r = create_one(&mut client, creatable("zero", 0, 1, &[])).await;
    assert_eq!(r.error_code, INVALID_PARTITIONS);
    let r = create_one(
        &mut client,
        creatable("cfg", 1, 1, &[("segment.bytes", "1")]),
    )
    .await;
    assert_eq!(r.error_code, INVALID_CONFIG);
    assert!(r
        .error_message
        .as_deref()
        .unwrap_or("")
        .contains("segment.bytes"));
    let r = create_one(
        &mut client,
        creatable("cfg", 1, 1, &[("no.such.config", "1")]),
    )
    .await;
    assert_eq!(r.error_code, INVALID_CONFIG);
    let r = create_one(&mut client, creatable("__cluster_metadata", 1, 1, &[])).await;
    assert_eq!(r.error_code, INVALID_TOPIC_EXCEPTION);
    assert_eq!(
        metadata(&mut client, "cfg").await.0,
        UNKNOWN_TOPIC_OR_PARTITION
    );

    // A name given twice: one INVALID_REQUEST, nothing created.
    let r = create_topics(
        &mut client,
        4,
        vec![creatable("twice", 1, 1, &[]), creatable("twice", 1, 1, &[])],
        false,
    )
    .await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].error_code, INVALID_REQUEST);
    assert_eq!(
        metadata(&mut client, "twice").await.0,
        UNKNOWN_TOPIC_OR_PARTITION
    );

    broker.stop().await;
}

#[tokio::test]
async fn create_topic_with_manual_assignment() {
    use kafka_protocol::messages::create_topics_request::CreatableReplicaAssignment;
    use kafka_protocol::messages::BrokerId;
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    let assignment = |p: i32, brokers: &[i32]| {
        CreatableReplicaAssignment::default()
            .with_partition_index(p)
            .with_broker_ids(brokers.iter().copied().map(BrokerId).collect())
    };
    let topic = creatable("manual", -1, -1, &[])
        .with_assignments(vec![assignment(0, &[1]), assignment(1, &[1])]);
    let r = create_one(&mut client, topic).await;
    assert_eq!(r.error_code, NONE, "{:?}", r.error_message);
    assert_eq!((r.num_partitions, r.replication_factor), (2, 1));
    assert_eq!(metadata(&mut client, "manual").await, (NONE, 2));

    // Assignments need -1 for partitions and RF, and registered brokers.
    let topic = creatable("manual2", 2, -1, &[]).with_assignments(vec![assignment(0, &[1])]);
    assert_eq!(
        create_one(&mut client, topic).await.error_code,
        INVALID_REQUEST
    );
    let topic = creatable("manual2", -1, -1, &[]).with_assignments(vec![assignment(0, &[7])]);
    assert_eq!(create_one(&mut client, topic).await.error_code, 39); // INVALID_REPLICA_ASSIGNMENT
    broker.stop().await;
}

#[tokio::test]
async fn create_partitions_grows_only() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    assert_eq!(
        create_one(&mut client, creatable("grow", 1, 1, &[]))
            .await
            .error_code,
        NONE
    );

    assert_eq!(create_partitions(&mut client, "grow", 3).await.0, NONE);
    assert_eq!(metadata(&mut client, "grow").await, (NONE, 3));
    assert!(broker.dir.path().join("grow-2").is_dir());

    let (code, message) = create_partitions(&mut client, "grow", 2).await;
    assert_eq!(code, INVALID_PARTITIONS);
    assert!(message
        .unwrap_or_default()
        .contains("would not be an increase"));
    assert_eq!(
        create_partitions(&mut client, "grow", 3).await.0,
        INVALID_PARTITIONS
    );
    assert_eq!(
        create_partitions(&mut client, "missing", 3).await.0,
        UNKNOWN_TOPIC_OR_PARTITION
    );

    // validate_only commits nothing.
    let req = CreatePartitionsRequest::default()
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(topic_name("grow"))
            .with_count(5)])
        .with_validate_only(true);
    let ResponseKind::CreatePartitions(resp) = client
        .request(
            ApiKey::CreatePartitions,
            0,
            RequestKind::CreatePartitions(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    assert_eq!(resp.results[0].error_code, NONE);
    assert_eq!(metadata(&mut client, "grow").await, (NONE, 3));
    broker.stop().await;
}

#[tokio::test]
async fn describe_and_alter_topic_configs() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    assert_eq!(
        create_one(&mut client, creatable("conf", 1, 1, &[]))
            .await
            .error_code,
        NONE
    );

    // Defaults.
    let all = describe(&mut client, 2, "conf", None, false).await;
    assert_eq!(all.error_code, NONE);
    let get = |name: &str| {
        all.configs
            .iter()
            .find(|c| c.name.as_str() == name)
            .unwrap()
    };
    assert_eq!(get("segment.bytes").value.as_deref(), Some("1073741824"));
    assert_eq!(get("segment.bytes").config_source, SOURCE_DEFAULT);
    assert_eq!(get("segment.bytes").config_type, 3); // INT
    assert!(get("segment.bytes").documentation.is_some());
    assert!(get("segment.bytes").synonyms.is_empty());
    assert_eq!(get("cleanup.policy").value.as_deref(), Some("delete"));
    let only = describe(&mut client, 2, "conf", Some(&["retention.ms"]), true).await;
    assert_eq!(only.configs.len(), 1);
    assert!(!only.configs[0].synonyms.is_empty());

    // SET, then DELETE.
    let (code, _) = incremental(
        &mut client,
        "conf",
        &[("segment.bytes", SET, Some("1048576"))],
        false,
    )
    .await;
    assert_eq!(code, NONE);
    assert_eq!(
        topic_config(&mut client, "conf", "segment.bytes").await,
        (Some("1048576".into()), SOURCE_DYNAMIC_TOPIC)
    );
    let (code, _) = incremental(
        &mut client,
        "conf",
        &[("segment.bytes", DELETE, None)],
        false,
    )
    .await;
    assert_eq!(code, NONE);
    assert_eq!(
        topic_config(&mut client, "conf", "segment.bytes").await,
        (Some("1073741824".into()), SOURCE_DEFAULT)
    );

    // APPEND to a list config starts from the default.
    let (code, _) = incremental(
        &mut client,
        "conf",
        &[("cleanup.policy", APPEND, Some("compact"))],
        false,
    )
    .await;
    assert_eq!(code, NONE);
    assert_eq!(
        topic_config(&mut client, "conf", "cleanup.policy")
            .await
            .0
            .as_deref(),
        Some("delete,compact")
    );

    // Refusals: bad value, APPEND on a non-list, duplicate keys, null SET, validate_only.
    let (code, message) = incremental(
        &mut client,
        "conf",
        &[("segment.bytes", SET, Some("1"))],
        false,
    )
    .await;
    assert_eq!(code, INVALID_CONFIG);
    assert!(message.unwrap_or_default().contains("segment.bytes"));
    let (code, _) = incremental(
        &mut client,
        "conf",
        &[("retention.ms", APPEND, Some("1"))],
        false,
    )
    .await;
    assert_eq!(code, INVALID_CONFIG);
    let (code, _) = incremental(
        &mut client,
        "conf",
        &[
            ("retention.ms", SET, Some("1")),
            ("retention.ms", DELETE, None),
        ],
        false,
    )
    .await;
    assert_eq!(code, INVALID_REQUEST);
    let (code, _) = incremental(&mut client, "conf", &[("retention.ms", SET, None)], false).await;
    assert_eq!(code, INVALID_REQUEST);
    let (code, _) = incremental(
        &mut client,
        "conf",
        &[("retention.ms", SET, Some("5"))],
        true,
    )
    .await;
    assert_eq!(code, NONE);
    assert_eq!(
        topic_config(&mut client, "conf", "retention.ms").await.1,
        SOURCE_DEFAULT
    );
    let (code, _) = incremental(
        &mut client,
        "nope",
        &[("retention.ms", SET, Some("5"))],
        false,
    )
    .await;
    assert_eq!(code, UNKNOWN_TOPIC_OR_PARTITION);

    // Legacy AlterConfigs replaces the whole set of overrides.
    assert_eq!(
        alter_legacy(&mut client, "conf", &[("retention.ms", "5000")]).await,
        NONE
    );
    assert_eq!(
        topic_config(&mut client, "conf", "retention.ms").await,
        (Some("5000".into()), SOURCE_DYNAMIC_TOPIC)
    );
    assert_eq!(
        topic_config(&mut client, "conf", "cleanup.policy").await,
        (Some("delete".into()), SOURCE_DEFAULT),
        "overrides not named are removed"
    );
    assert_eq!(
        alter_legacy(&mut client, "conf", &[("retention.ms", "soon")]).await,
        INVALID_CONFIG
    );

    // Unknown topic and unsupported resources.
    let r = describe(&mut client, 2, "nope", None, false).await;
    assert_eq!(r.error_code, UNKNOWN_TOPIC_OR_PARTITION);
    let r = describe(&mut client, 3, "x", None, false).await;
    assert_eq!(r.error_code, INVALID_REQUEST);
    broker.stop().await;
}

#[tokio::test]
async fn describe_broker_configs() {
    let broker = TestBroker::start(&["num.partitions=4"]).await;
    let mut client = broker.client().await;
    let r = describe(&mut client, 4, "1", None, true).await;
    assert_eq!(r.error_code, NONE);
    let get = |name: &str| r.configs.iter().find(|c| c.name.as_str() == name).unwrap();
    assert_eq!(get("num.partitions").value.as_deref(), Some("4"));
    assert_eq!(get("num.partitions").config_source, 4); // STATIC_BROKER_CONFIG
    assert_eq!(
        get("log.segment.bytes").value.as_deref(),
        Some("1073741824")
    );
    assert_eq!(get("log.segment.bytes").config_source, SOURCE_DEFAULT);
    let r = describe(&mut client, 4, "", None, false).await;
    assert_eq!(r.error_code, NONE);
    let r = describe(&mut client, 4, "9", None, false).await;
    assert_eq!(r.error_code, INVALID_REQUEST);
    broker.stop().await;
}

#[tokio::test]
async fn configs_survive_restart_and_apply_to_open_logs() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    assert_eq!(
        create_one(&mut client, creatable("keep", 1, 1, &[]))
            .await
            .error_code,
        NONE
    );
    let (code, _) = incremental(
        &mut client,
        "keep",
        &[("retention.ms", SET, Some("60000"))],
        false,
    )
    .await;
    assert_eq!(code, NONE);

    // A smaller segment.bytes reaches the open log: appends now roll segments.
    let ops = [("segment.bytes", SET, Some("200"))];
    assert_eq!(incremental(&mut client, "keep", &ops, false).await.0, NONE);
    for _ in 0..4 {
        let (code, _) = produce(&mut client, "keep", batch(&[&[7u8; 150]]), 1).await;
        assert_eq!(code, NONE);
    }
    let segments = std::fs::read_dir(broker.dir.path().join("keep-0"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "log"))
        })
        .count();
    assert!(
        segments > 1,
        "segment.bytes=200 rolls the log ({segments} segments)"
    );

    // max.message.bytes is enforced on the next produce.
    let ops = [("max.message.bytes", SET, Some("100"))];
    assert_eq!(incremental(&mut client, "keep", &ops, false).await.0, NONE);
    let (code, _) = produce(&mut client, "keep", batch(&[&[7u8; 150]]), 1).await;
    assert_eq!(code, 10); // MESSAGE_TOO_LARGE
    drop(client);
    let dir = broker.stop().await;

    let broker = TestBroker::start_in(dir, &[]).await;
    let mut client = broker.client().await;
    assert_eq!(
        topic_config(&mut client, "keep", "retention.ms").await,
        (Some("60000".into()), SOURCE_DYNAMIC_TOPIC)
    );
    broker.stop().await;
}

async fn delete_by_names(client: &mut Client, version: i16, names: &[&str]) -> Vec<i16> {
    let req = DeleteTopicsRequest::default()
        .with_topic_names(names.iter().map(|n| topic_name(n)).collect())
        .with_timeout_ms(5000);
    let ResponseKind::DeleteTopics(resp) = client
        .request(
            ApiKey::DeleteTopics,
            version,
            RequestKind::DeleteTopics(req),
        )
        .await
    else {
        panic!("wrong response type")
    };
    resp.responses.iter().map(|r| r.error_code).collect()
}

#[tokio::test]
async fn delete_topics_by_name_and_id() {
    let broker = TestBroker::start(&[]).await;
    let mut client = broker.client().await;
    assert_eq!(
        create_one(&mut client, creatable("gone", 2, 1, &[]))
            .await
            .error_code,
        NONE
    );
    let by_id = create_one(&mut client, creatable("gone-by-id", 1, 1, &[])).await;
    assert_eq!(by_id.error_code, NONE);
    assert!(broker.dir.path().join("gone-0").is_dir());

    assert_eq!(delete_by_names(&mut client, 5, &["gone"]).await, vec![NONE]);
    assert_eq!(
        metadata(&mut client, "gone").await.0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert!(!broker.dir.path().join("gone-0").exists());
    assert!(!broker.dir.path().join("gone-1").exists());
    assert_eq!(
        delete_by_names(&mut client, 1, &["gone"]).await,
        vec![UNKNOWN_TOPIC_OR_PARTITION]
    );

    // v6 by id.
    let req = DeleteTopicsRequest::default().with_topics(vec![
        DeleteTopicState::default().with_topic_id(by_id.topic_id),
        DeleteTopicState::default().with_topic_id(uuid::Uuid::from_u128(7)),
    ]);
    let ResponseKind::DeleteTopics(resp) = client
        .request(ApiKey::DeleteTopics, 6, RequestKind::DeleteTopics(req))
        .await
    else {
        panic!("wrong response type")
    };
    let codes: Vec<i16> = resp.responses.iter().map(|r| r.error_code).collect();
    assert_eq!(codes, vec![NONE, UNKNOWN_TOPIC_ID]);
    assert_eq!(
        resp.responses[0].name.as_ref().map(|n| n.0.as_str()),
        Some("gone-by-id")
    );
    assert!(!broker.dir.path().join("gone-by-id-0").exists());

    // The deletion is in the metadata log: still gone after a restart.
    drop(client);
    let dir = broker.stop().await;
    let broker = TestBroker::start_in(dir, &[]).await;
    let mut client = broker.client().await;
    assert_eq!(
        metadata(&mut client, "gone").await.0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    broker.stop().await;
}

#[tokio::test]
async fn delete_topics_refused_when_disabled() {
    let broker = TestBroker::start(&["delete.topic.enable=false"]).await;
    let mut client = broker.client().await;
    assert_eq!(
        create_one(&mut client, creatable("stay", 1, 1, &[]))
            .await
            .error_code,
        NONE
    );
    assert_eq!(
        delete_by_names(&mut client, 4, &["stay"]).await,
        vec![TOPIC_DELETION_DISABLED]
    );
    assert_eq!(
        delete_by_names(&mut client, 2, &["stay"]).await,
        vec![INVALID_REQUEST]
    );
    assert_eq!(metadata(&mut client, "stay").await, (NONE, 1));
    broker.stop().await;
}
