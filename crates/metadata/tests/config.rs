//! BrokerConfig from a sample server.properties; topic config validation and resolution.

use std::collections::BTreeMap;
use std::path::PathBuf;

use weir_metadata::config::{ConfigError, ConfigSource, Listener, TopicConfigView};
use weir_metadata::BrokerConfig;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SAMPLE: &str = r#"
# Weir / Kafka server.properties
############################# Server Basics #############################
process.roles=broker,controller
node.id=2
! a bang comment

listeners = PLAINTEXT://:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners: PLAINTEXT://broker-2.example:9092
controller.listener.names=CONTROLLER
log.dirs=/var/lib/weir/a, /var/lib/weir/b
num.partitions=3
default.replication.factor=1
log.retention.hours=72
log.segment.bytes=536870912
auto.create.topics.enable=false
zookeeper.connect=localhost:2181
sasl.enabled.mechanisms=PLAIN
"#;

#[test]
fn sample_server_properties() -> TestResult {
    let config = BrokerConfig::from_properties(SAMPLE, &[])?;
    assert_eq!(config.node_id(), 2);
    assert_eq!(
        config.listeners(),
        vec![
            Listener {
                name: "PLAINTEXT".into(),
                host: String::new(),
                port: 9092
            },
            Listener {
                name: "CONTROLLER".into(),
                host: "127.0.0.1".into(),
                port: 9093
            },
        ]
    );
    assert_eq!(config.advertised_listeners()[0].host, "broker-2.example");
    assert_eq!(
        config.log_dirs(),
        vec![
            PathBuf::from("/var/lib/weir/a"),
            PathBuf::from("/var/lib/weir/b")
        ]
    );
    assert_eq!(config.metadata_log_dir(), PathBuf::from("/var/lib/weir/a"));
    assert_eq!(config.num_partitions(), 3);
    assert!(!config.auto_create_topics_enable());
    assert_eq!(config.process_roles(), ["broker", "controller"]);
    assert_eq!(config.get("controller.listener.names"), Some("CONTROLLER"));
    // Unset keys keep the defaults.
    assert_eq!(config.message_max_bytes(), 1_048_588);
    assert_eq!(config.get("compression.type"), Some("producer"));
    // Unknown keys are reported, in order, not fatal.
    assert_eq!(
        config.unknown_keys(),
        ["zookeeper.connect", "sasl.enabled.mechanisms"]
    );
    assert_eq!(config.get("zookeeper.connect"), Some("localhost:2181"));

    let topic = TopicConfigView::resolve(&BTreeMap::new(), &config);
    assert_eq!(topic.retention_ms, 72 * 3_600_000);
    assert_eq!(topic.segment_bytes, 536_870_912);
    Ok(())
}

#[test]
fn overrides_win_over_file() -> TestResult {
    let overrides = vec![
        "num.partitions=8".to_string(),
        "log.retention.ms = 1000".to_string(),
        "listeners=PLAINTEXT://127.0.0.1:0".to_string(),
    ];
    let config = BrokerConfig::from_properties(SAMPLE, &overrides)?;
    assert_eq!(config.num_partitions(), 8);
    assert_eq!(config.listeners()[0].port, 0);
    assert_eq!(
        config.explicit("num.partitions"),
        Some(("8", ConfigSource::StaticBroker))
    );
    // log.retention.ms beats log.retention.hours from the file.
    let topic = TopicConfigView::resolve(&BTreeMap::new(), &config);
    assert_eq!(topic.retention_ms, 1000);
    Ok(())
}

#[test]
fn load_without_file_is_embedded_defaults() -> TestResult {
    let config = BrokerConfig::load(None, &[])?;
    assert_eq!(config, BrokerConfig::new());
    assert_eq!(config.listeners()[0].port, 9092);

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("server.properties");
    std::fs::write(&path, "node.id=5\n")?;
    assert_eq!(BrokerConfig::load(Some(&path), &[])?.node_id(), 5);
    let missing = BrokerConfig::load(Some(&dir.path().join("nope")), &[]);
    assert!(matches!(missing, Err(ConfigError::Io { .. })));
    Ok(())
}

#[test]
fn bad_values_name_key_and_value() {
    let cases = [
        ("num.partitions=three", "num.partitions", "three"),
        ("num.partitions=0", "num.partitions", "0"),
        ("listeners=localhost:9092", "listeners", "localhost:9092"),
        (
            "listeners=PLAINTEXT://h:70000",
            "listeners",
            "PLAINTEXT://h:70000",
        ),
        (
            "auto.create.topics.enable=yes",
            "auto.create.topics.enable",
            "yes",
        ),
        ("log.cleanup.policy=keep", "log.cleanup.policy", "keep"),
    ];
    for (text, key, value) in cases {
        match BrokerConfig::from_properties(text, &[]) {
            Err(ConfigError::InvalidValue {
                key: k, value: v, ..
            }) => assert_eq!((k.as_str(), v.as_str()), (key, value), "{text}"),
            other => panic!("{text}: expected InvalidValue, got {other:?}"),
        }
    }
    assert!(matches!(
        BrokerConfig::from_properties("", &["novalue".to_string()]),
        Err(ConfigError::InvalidOverride { .. })
    ));
}
