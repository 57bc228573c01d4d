"""confluent-kafka (librdkafka 2.x, current) against weir."""

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import OffsetSpec

import ck
from common import (CODECS, N_PARTITIONS, N_RECORDS, SoftChecks, check_offsets, check_roundtrip,
                    check_time_offsets, make_records, partition_counts, time_queries, topic_name)

PARTS = list(range(N_PARTITIONS))


def admin_list_offsets(bootstrap, topic, spec_for_partition):
    """AdminClient.list_offsets (ListOffsets through the admin API): {partition: offset or None}."""
    futures = ck.admin(bootstrap).list_offsets(
        {TopicPartition(topic, p): spec for p, spec in spec_for_partition.items()},
        request_timeout=ck.OP_TIMEOUT_S)
    result = {}
    for tp, fut in futures.items():
        offset = ck.result(fut, f"ListOffsets {tp}").offset
        result[tp.partition] = None if offset < 0 else offset
    return result


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip(broker, codec):
    bootstrap = broker.bootstrap
    topic = topic_name(f"ck-{codec}")
    ck.create_topic(bootstrap, topic, N_PARTITIONS)

    records = make_records("confluent-kafka", codec)
    acked = ck.produce_all(bootstrap, topic, records, codec)
    consumed = ck.consume_all(bootstrap, topic, PARTS, expected=N_RECORDS)
    check_roundtrip(records, consumed, acked=acked)

    counts = partition_counts(consumed)
    assert len(counts) == N_PARTITIONS, f"keys should spread over all partitions: {counts}"
    soft = SoftChecks()
    soft.check(lambda: check_offsets("watermark (low, high)", ck.watermarks(bootstrap, topic, PARTS),
                                     {p: (0, counts[p]) for p in PARTS}))
    soft.check(lambda: check_offsets(
        "AdminClient earliest", admin_list_offsets(bootstrap, topic, {p: OffsetSpec.earliest() for p in PARTS}),
        {p: 0 for p in PARTS}))
    soft.check(lambda: check_offsets(
        "AdminClient latest", admin_list_offsets(bootstrap, topic, {p: OffsetSpec.latest() for p in PARTS}),
        {p: counts[p] for p in PARTS}))

    queries = time_queries(consumed)
    soft.check(check_time_offsets, "Consumer.offsets_for_times",
               lambda p, ts: ck.offsets_for_times(bootstrap, topic, p, ts), queries)
    soft.check(check_time_offsets, "AdminClient.list_offsets(for_timestamp)",
               lambda p, ts: admin_list_offsets(bootstrap, topic, {p: OffsetSpec.for_timestamp(ts)})[p],
               queries)

    soft.check(ck.delete_topic_and_check_gone, bootstrap, topic)
    soft.finish()


def test_metadata_and_describe_cluster(broker):
    topic = topic_name("ck-meta")
    ck.create_topic(broker.bootstrap, topic, N_PARTITIONS)
    md = ck.admin(broker.bootstrap).list_topics(timeout=ck.OP_TIMEOUT_S)
    assert [(b.id, b.host, b.port) for b in md.brokers.values()] == [(1, "127.0.0.1", broker.port)]
    t = md.topics[topic]
    assert t.error is None
    for p in PARTS:
        pm = t.partitions[p]
        assert (pm.leader, pm.replicas, pm.isrs, pm.error) == (1, [1], [1], None), pm

    cluster = ck.result(ck.admin(broker.bootstrap).describe_cluster(request_timeout=ck.OP_TIMEOUT_S),
                        "DescribeCluster")
    assert [(n.id, n.host, n.port) for n in cluster.nodes] == [(1, "127.0.0.1", broker.port)]
    assert cluster.controller is not None and cluster.controller.id == 1
    assert cluster.cluster_id, "DescribeCluster returned no cluster id"


def test_auto_create_on_produce(start_broker):
    b = start_broker(overrides={"num.partitions": 2})
    topic = topic_name("ck-auto")
    records = make_records("confluent-kafka", "none", n=100)
    acked = ck.produce_all(b.bootstrap, topic, records, "none")
    assert {p for p, _ in acked.values()} <= {0, 1}
    assert ck.topic_partitions(b.bootstrap, topic) == [0, 1]
    consumed = ck.consume_all(b.bootstrap, topic, [0, 1], expected=100)
    check_roundtrip(records, consumed, acked=acked, n_partitions=2)
