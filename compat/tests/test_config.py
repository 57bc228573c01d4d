"""Broker configuration, topic configs and admin error codes, through confluent-kafka."""

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions,
                                   NewTopic, ResourceType)

import ck
from common import topic_name, wait_until

KAFKA_TOPIC_DEFAULTS = {
    "cleanup.policy": "delete",
    "segment.bytes": "1073741824",
    "retention.ms": "604800000",
    "retention.bytes": "-1",
    "max.message.bytes": "1048588",
    "message.timestamp.type": "CreateTime",
    "compression.type": "producer",
    "min.insync.replicas": "1",
}


def describe_topic_configs(bootstrap, topic):
    resource = ConfigResource(ResourceType.TOPIC, topic)
    entries = ck.result(ck.admin(bootstrap).describe_configs([resource], request_timeout=ck.OP_TIMEOUT_S)[resource],
                        f"DescribeConfigs {topic}")
    return {name: entry.value for name, entry in entries.items()}


def expect_kafka_error(future, code):
    with pytest.raises(KafkaException) as info:
        ck.result(future, f"request expected to fail with {KafkaError(code).name()}")
    got = ck.error_code(info.value)
    assert got == code, f"expected {KafkaError(code).name()} ({code}), got {info.value}"


def test_config_file(start_broker):
    b = start_broker(config_text=(
        "# Kafka property names\n"
        "node.id=7\n"
        "listeners=PLAINTEXT://127.0.0.1:{port}\n"
        "log.dirs={datadir}\n"
        "num.partitions=2\n"
        "auto.create.topics.enable=true\n"
        "log.segment.bytes=1048576\n"))
    md = ck.admin(b.bootstrap).list_topics(timeout=ck.OP_TIMEOUT_S)
    assert [(x.id, x.host, x.port) for x in md.brokers.values()] == [(7, "127.0.0.1", b.port)]
    topic = topic_name("cfg-file")
    producer = ck.producer(b.bootstrap)
    producer.produce(topic, value=b"hello")
    assert producer.flush(30) == 0
    assert ck.topic_partitions(b.bootstrap, topic) == [0, 1], "num.partitions=2 from the config file"
    assert describe_topic_configs(b.bootstrap, topic)["segment.bytes"] == "1048576", \
        "log.segment.bytes from the config file is the topic default"


def test_describe_configs_returns_kafka_defaults(broker):
    topic = topic_name("cfg-defaults")
    ck.create_topic(broker.bootstrap, topic, 1)
    configs = describe_topic_configs(broker.bootstrap, topic)
    wrong = {k: (configs.get(k), v) for k, v in KAFKA_TOPIC_DEFAULTS.items() if configs.get(k) != v}
    assert not wrong, f"topic configs differing from Kafka defaults (got, expected): {wrong}"


def test_alter_configs_persist_across_restart(broker):
    topic = topic_name("cfg-alter")
    ck.create_topic(broker.bootstrap, topic, 1, config={"retention.ms": "86400000"})
    assert describe_topic_configs(broker.bootstrap, topic)["retention.ms"] == "86400000"
    a = ck.admin(broker.bootstrap)

    # Legacy AlterConfigs replaces the topic's whole config set.
    resource = ConfigResource(ResourceType.TOPIC, topic, set_config={"retention.ms": "3600000",
                                                                     "cleanup.policy": "compact"})
    ck.result(a.alter_configs([resource])[resource], "AlterConfigs")
    # IncrementalAlterConfigs changes one key and keeps the rest.
    resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("max.message.bytes", "2000000", incremental_operation=AlterConfigOpType.SET)])
    ck.result(a.incremental_alter_configs([resource])[resource], "IncrementalAlterConfigs")

    expected = {"retention.ms": "3600000", "cleanup.policy": "compact", "max.message.bytes": "2000000",
                "segment.bytes": "1073741824"}

    def check():
        configs = describe_topic_configs(broker.bootstrap, topic)
        return {k: configs.get(k) for k in expected}

    assert check() == expected
    broker.restart()
    assert check() == expected, "topic configs after a restart"
    broker.restart(sig=9)
    assert check() == expected, "topic configs after SIGKILL + restart"


def test_create_partitions_grows_topic(broker):
    topic = topic_name("cfg-grow")
    ck.create_topic(broker.bootstrap, topic, 1)
    a = ck.admin(broker.bootstrap)
    ck.result(a.create_partitions([NewPartitions(topic, 3)])[topic], "CreatePartitions")
    wait_until(lambda: ck.topic_partitions(broker.bootstrap, topic) == [0, 1, 2], 30, "3 partitions")
    expect_kafka_error(a.create_partitions([NewPartitions(topic, 2)])[topic], KafkaError.INVALID_PARTITIONS)

    producer = ck.producer(broker.bootstrap)
    reports = []
    producer.produce(topic, value=b"to-new-partition", partition=2,
                     on_delivery=lambda err, msg: reports.append((err, msg.partition(), msg.offset())))
    assert producer.flush(30) == 0
    assert reports == [(None, 2, 0)]


def test_replication_factor_above_broker_count_fails(broker):
    topic = topic_name("cfg-rf3")
    futures = ck.admin(broker.bootstrap).create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])
    expect_kafka_error(futures[topic], KafkaError.INVALID_REPLICATION_FACTOR)
    assert ck.topic_partitions(broker.bootstrap, topic) == []


def test_create_existing_topic_fails(broker):
    topic = topic_name("cfg-exists")
    ck.create_topic(broker.bootstrap, topic, 1)
    futures = ck.admin(broker.bootstrap).create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    expect_kafka_error(futures[topic], KafkaError.TOPIC_ALREADY_EXISTS)


def test_unknown_topic_with_auto_create_off(start_broker):
    b = start_broker(overrides={"auto.create.topics.enable": "false"})
    topic = topic_name("cfg-unknown")

    md = ck.admin(b.bootstrap).list_topics(topic, timeout=ck.OP_TIMEOUT_S)
    assert md.topics[topic].error is not None and \
        md.topics[topic].error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, md.topics[topic].error

    errors = []
    producer = ck.producer(b.bootstrap, message_timeout_ms=10_000,
                           topic_metadata_propagation_max_ms=1_000)
    producer.produce(topic, value=b"nowhere", on_delivery=lambda err, msg: errors.append(err))
    producer.flush(20)
    assert len(errors) == 1 and errors[0] is not None, "produce to an unknown topic must fail"
    # librdkafka reports the broker's UNKNOWN_TOPIC_OR_PART, or its local _UNKNOWN_TOPIC for it.
    assert errors[0].code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC), errors[0]
    assert ck.topic_partitions(b.bootstrap, topic) == [], "topic must not have been created"
