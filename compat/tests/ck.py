"""confluent-kafka (librdkafka) helpers shared by several test files."""

import time

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewTopic

from common import Got, wait_until

OP_TIMEOUT_S = 30


_admins = {}


def admin(bootstrap):
    """One AdminClient per broker address, kept alive: librdkafka fails the futures of a
    client that is garbage-collected, so `admin(b).create_topics(...)[t].result()` needs this."""
    if bootstrap not in _admins:
        _admins[bootstrap] = AdminClient({"bootstrap.servers": bootstrap})
    return _admins[bootstrap]


def forget_admins():
    """Drops the cached AdminClients (called when the test's brokers are gone)."""
    _admins.clear()


def result(future, what):
    """future.result() with a timeout that says what did not answer."""
    try:
        return future.result(OP_TIMEOUT_S)
    except TimeoutError:
        raise AssertionError(f"{what}: no answer within {OP_TIMEOUT_S}s") from None


def create_topic(bootstrap, topic, partitions, replication_factor=1, config=None):
    futures = admin(bootstrap).create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=replication_factor,
                  config=config or {})], operation_timeout=OP_TIMEOUT_S, request_timeout=OP_TIMEOUT_S)
    result(futures[topic], f"CreateTopics {topic}")
    wait_until(lambda: len(topic_partitions(bootstrap, topic)) == partitions, OP_TIMEOUT_S,
               f"metadata for {topic} with {partitions} partitions")


def topic_partitions(bootstrap, topic):
    """Partition ids of `topic` in Metadata, [] if absent (does not auto-create)."""
    md = admin(bootstrap).list_topics(timeout=OP_TIMEOUT_S)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        return []
    return sorted(t.partitions)


def delete_topic_and_check_gone(bootstrap, topic):
    result(admin(bootstrap).delete_topics([topic], operation_timeout=OP_TIMEOUT_S)[topic], f"DeleteTopics {topic}")
    wait_until(lambda: topic not in admin(bootstrap).list_topics(timeout=OP_TIMEOUT_S).topics,
               OP_TIMEOUT_S, f"{topic} gone from Metadata")


def producer(bootstrap, **extra):
    conf = {"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": False,
            "message.timeout.ms": 30_000}
    conf.update({k.replace("_", "."): v for k, v in extra.items()})
    return Producer(conf)


def produce_all(bootstrap, topic, records, codec, **extra):
    """Produces `records` (common.Rec); returns {seq: (partition, offset)} from the delivery
    reports. Raises listing the delivery errors if any record was not acknowledged."""
    p = producer(bootstrap, compression_type=codec, **extra)
    acked, errors = {}, []

    def report(seq):
        def on_delivery(err, msg):
            if err is not None:
                errors.append(f"seq {seq}: {err.name()} ({err.code()}): {err.str()}")
            else:
                acked[seq] = (msg.partition(), msg.offset())
        return on_delivery

    for rec in records:
        kwargs = {"timestamp": rec.timestamp} if rec.timestamp is not None else {}
        while True:
            try:
                p.produce(topic, key=rec.key, value=rec.value, headers=list(rec.headers),
                          on_delivery=report(rec.seq), **kwargs)
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                p.poll(0.1)
        p.poll(0)
    remaining = p.flush(OP_TIMEOUT_S * 2)
    assert remaining == 0, f"{remaining} records still unacknowledged after flush"
    assert not errors, f"{len(errors)} delivery errors, first: {errors[:5]}"
    assert len(acked) == len(records)
    return acked


def consumer(bootstrap, **extra):
    # group.id is mandatory for librdkafka consumers; no group API is used (assign + no commits).
    conf = {"bootstrap.servers": bootstrap, "group.id": "weir-compat-assign-only",
            "enable.auto.commit": False, "enable.auto.offset.store": False,
            "auto.offset.reset": "error", "enable.partition.eof": False}
    conf.update({k.replace("_", "."): v for k, v in extra.items()})
    return Consumer(conf)


def header_tuple(headers):
    return tuple((k, v if v is not None else b"") for k, v in (headers or []))


def consume_all(bootstrap, topic, partitions, expected, timeout_s=60, start=OFFSET_BEGINNING, **extra):
    """Assigns the partitions from `start` and reads until `expected` records arrived (then
    briefly more, to catch extra records). Returns a list of common.Got."""
    c = consumer(bootstrap, **extra)
    try:
        c.assign([TopicPartition(topic, p, start) for p in partitions])
        got, errors = [], []
        deadline = time.monotonic() + timeout_s
        while len(got) < expected and time.monotonic() < deadline and len(errors) < 10:
            for msg in c.consume(num_messages=10_000, timeout=0.5):
                if msg.error():
                    errors.append(f"{msg.error().name()}: {msg.error().str()}")
                    continue
                got.append(Got(msg.partition(), msg.offset(), msg.key(), msg.value(),
                               header_tuple(msg.headers()), msg.timestamp()[1]))
        assert not errors, f"consumer errors: {errors}"
        for msg in c.consume(num_messages=10_000, timeout=0.5):  # anything beyond `expected`?
            if not msg.error():
                got.append(Got(msg.partition(), msg.offset(), msg.key(), msg.value(),
                               header_tuple(msg.headers()), msg.timestamp()[1]))
        assert len(got) >= expected, f"consumed {len(got)} of {expected} records within {timeout_s}s"
        return got
    finally:
        c.close()


def watermarks(bootstrap, topic, partitions):
    c = consumer(bootstrap)
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=OP_TIMEOUT_S, cached=False)
                for p in partitions}
    finally:
        c.close()


def offsets_for_times(bootstrap, topic, partition, ts):
    """Consumer.offsets_for_times -> offset, or None when no record is that new."""
    c = consumer(bootstrap)
    try:
        [tp] = c.offsets_for_times([TopicPartition(topic, partition, ts)], timeout=OP_TIMEOUT_S)
        if tp.error:
            raise KafkaException(tp.error)
        return None if tp.offset < 0 else tp.offset
    finally:
        c.close()


def error_code(exc):
    """The KafkaError code inside a KafkaException (or None)."""
    if isinstance(exc, KafkaException) and exc.args and isinstance(exc.args[0], KafkaError):
        return exc.args[0].code()
    return None
