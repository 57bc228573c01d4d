"""kafka-python (pure Python client) against weir."""

import time

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from common import (CODECS, N_PARTITIONS, N_RECORDS, Got, SoftChecks, check_offsets, check_roundtrip,
                    check_time_offsets, make_records, partition_counts, time_queries, topic_name,
                    wait_until)

OP_TIMEOUT_S = 30
PARTS = list(range(N_PARTITIONS))


def admin(bootstrap):
    return KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=OP_TIMEOUT_S * 1000)


def produce_all(bootstrap, topic, records, codec):
    """Returns {seq: (partition, offset)} from the send futures."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                             enable_idempotence=False,
                             compression_type=None if codec == "none" else codec)
    try:
        futures = [(rec.seq, producer.send(topic, key=rec.key, value=rec.value,
                                           headers=list(rec.headers), timestamp_ms=rec.timestamp))
                   for rec in records]
        producer.flush(OP_TIMEOUT_S * 2)
        acked, errors = {}, []
        for seq, fut in futures:
            try:
                md = fut.get(timeout=OP_TIMEOUT_S)
                acked[seq] = (md.partition, md.offset)
            except Exception as e:  # noqa: BLE001 - report every failed send
                errors.append(f"seq {seq}: {type(e).__name__}: {e}")
        assert not errors, f"{len(errors)} sends failed, first: {errors[:5]}"
        return acked
    finally:
        producer.close(timeout=10)


def consumer(bootstrap):
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         request_timeout_ms=OP_TIMEOUT_S * 1000 + 5000)


def consume_all(bootstrap, topic, expected, timeout_s=60):
    c = consumer(bootstrap)
    try:
        tps = [TopicPartition(topic, p) for p in PARTS]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        got = []
        deadline = time.monotonic() + timeout_s
        while len(got) < expected and time.monotonic() < deadline:
            for _tp, msgs in c.poll(timeout_ms=500, max_records=10_000).items():
                got.extend(Got(m.partition, m.offset, m.key, m.value,
                               tuple((k, v) for k, v in m.headers), m.timestamp) for m in msgs)
        for _tp, msgs in c.poll(timeout_ms=500).items():  # anything beyond `expected`?
            got.extend(Got(m.partition, m.offset, m.key, m.value,
                           tuple((k, v) for k, v in m.headers), m.timestamp) for m in msgs)
        assert len(got) >= expected, f"consumed {len(got)} of {expected} records within {timeout_s}s"
        return got
    finally:
        c.close()


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip(broker, codec):
    bootstrap = broker.bootstrap
    topic = topic_name(f"kp-{codec}")
    a = admin(bootstrap)
    try:
        a.create_topics({topic: {"num_partitions": N_PARTITIONS, "replication_factor": 1}},
                        timeout_ms=OP_TIMEOUT_S * 1000)
        a.wait_for_topics([topic], timeout_ms=OP_TIMEOUT_S * 1000)
        described = a.describe_topics([topic])
        assert len(described[0]["partitions"]) == N_PARTITIONS, described

        records = make_records("kafka-python", codec)
        acked = produce_all(bootstrap, topic, records, codec)
        consumed = consume_all(bootstrap, topic, expected=N_RECORDS)
        check_roundtrip(records, consumed, acked=acked)
        counts = partition_counts(consumed)

        soft = SoftChecks()
        c = consumer(bootstrap)
        try:
            tps = [TopicPartition(topic, p) for p in PARTS]
            soft.check(lambda: check_offsets("beginning_offsets",
                                             {tp.partition: o for tp, o in c.beginning_offsets(tps).items()},
                                             {p: 0 for p in PARTS}))
            soft.check(lambda: check_offsets("end_offsets",
                                             {tp.partition: o for tp, o in c.end_offsets(tps).items()},
                                             {p: counts[p] for p in PARTS}))

            def by_time(p, ts):
                answer = c.offsets_for_times({TopicPartition(topic, p): ts}, timeout_ms=OP_TIMEOUT_S * 1000)
                found = answer[TopicPartition(topic, p)]
                return None if found is None else found.offset

            soft.check(check_time_offsets, "offsets_for_times", by_time, time_queries(consumed))
        finally:
            c.close()

        def delete_and_check_gone():
            a.delete_topics([topic], timeout_ms=OP_TIMEOUT_S * 1000)
            wait_until(lambda: topic not in a.list_topics(), OP_TIMEOUT_S, f"{topic} gone")

        soft.check(delete_and_check_gone)
        soft.finish()
    finally:
        a.close()
