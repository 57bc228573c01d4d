"""The Java client (kafka-clients 3.9.1) against weir, through compat/java/WeirCompat.java."""

import pytest

from common import (CODECS, N_PARTITIONS, N_RECORDS, SoftChecks, check_offsets, check_roundtrip,
                    check_time_offsets, make_records, partition_counts, time_queries, topic_name,
                    wait_until)
from jv import compat as java
from jv import consume, produce


def list_offsets(bootstrap, topic, queries):
    """queries: [(partition, spec)] -> {(source, partition, spec): offset or None} for both the
    Admin API and the consumer's beginningOffsets/endOffsets/offsetsForTimes."""
    lines = java("offsets", bootstrap, topic, *[f"{p}:{spec}" for p, spec in queries])
    return {(f[1], int(f[2]), f[3]): (None if int(f[4]) < 0 else int(f[4])) for f in lines if f[0] == "O"}


def topics(bootstrap):
    return {f[1] for f in java("topics", bootstrap) if f[0] == "T"}


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip(broker, codec, tmp_path):
    bootstrap = broker.bootstrap
    topic = topic_name(f"java-{codec}")
    assert java("create", bootstrap, topic, N_PARTITIONS) == [["CREATED"]]

    records = make_records("java", codec)
    acked = produce(bootstrap, topic, codec, records, tmp_path)
    consumed = consume(bootstrap, topic, N_PARTITIONS, N_RECORDS)
    check_roundtrip(records, consumed, acked=acked)

    counts = partition_counts(consumed)
    parts = range(N_PARTITIONS)
    soft = SoftChecks()

    def check_earliest_latest():
        answers = list_offsets(bootstrap, topic,
                               [(p, "earliest") for p in parts] + [(p, "latest") for p in parts])
        for source in ("admin", "consumer"):
            soft.check(check_offsets, f"{source} earliest",
                       {p: answers[(source, p, "earliest")] for p in parts}, {p: 0 for p in parts})
            soft.check(check_offsets, f"{source} latest",
                       {p: answers[(source, p, "latest")] for p in parts}, {p: counts[p] for p in parts})

    def check_by_time():
        queries = time_queries(consumed)
        answers = list_offsets(bootstrap, topic, [(p, ts) for p, probes in queries.items() for ts, _ in probes])
        for source in ("admin", "consumer"):
            soft.check(check_time_offsets, f"Java {source}",
                       lambda p, ts: answers[(source, p, str(ts))], queries)

    def delete_and_check_gone():
        assert java("delete", bootstrap, topic) == [["DELETED"]]
        wait_until(lambda: topic not in topics(bootstrap), 30, f"{topic} gone")

    soft.check(check_earliest_latest)
    soft.check(check_by_time)
    soft.check(delete_and_check_gone)
    soft.finish()


def test_describe_cluster(broker):
    lines = java("cluster", broker.bootstrap)
    assert [f for f in lines if f[0] == "N"] == [["N", "1", "127.0.0.1", str(broker.port)]]
    assert ["CONTROLLER", "1"] in lines
    cluster_id = [f[1] for f in lines if f[0] == "CLUSTER_ID"]
    assert cluster_id and cluster_id[0] not in ("", "null"), lines
