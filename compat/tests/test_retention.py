"""Retention, DeleteRecords and timestamp limits driven by confluent-kafka (librdkafka).

The broker runs its retention pass every 200 ms (log.retention.check.interval.ms), topics
use tiny segments, and the records that should expire carry CreateTime timestamps two hours
in the past, so nothing here waits for wall-clock retention.
"""

import time

from confluent_kafka import KafkaError, TopicPartition

import ck
from common import now_ms, topic_name, wait_until

HOUR_MS = 3_600_000
FAST_RETENTION = {"log.retention.check.interval.ms": "200"}


def produce(bootstrap, topic, values, timestamp=None):
    """Produces to partition 0; returns the delivery results [(error or None, offset)]."""
    p = ck.producer(bootstrap)
    results = []

    def on_delivery(err, msg):
        results.append((err, msg.offset()))

    for v in values:
        kwargs = {"timestamp": timestamp} if timestamp is not None else {}
        p.produce(topic, value=v, partition=0, on_delivery=on_delivery, **kwargs)
        p.poll(0)
    assert p.flush(ck.OP_TIMEOUT_S) == 0
    return results


def low_high(bootstrap, topic):
    return ck.watermarks(bootstrap, topic, [0])[0]


def consume_from(bootstrap, topic, offset, expected, reset):
    """Assigns partition 0 at `offset` with auto.offset.reset=`reset`; returns (offsets, errors)."""
    c = ck.consumer(bootstrap, auto_offset_reset=reset)
    offsets, errors = [], []
    try:
        c.assign([TopicPartition(topic, 0, offset)])
        deadline = time.monotonic() + 30
        while len(offsets) < expected and time.monotonic() < deadline and len(errors) < 5:
            for msg in c.consume(num_messages=1000, timeout=0.5):
                if msg.error():
                    errors.append(msg.error())
                else:
                    offsets.append(msg.offset())
        return offsets, errors
    finally:
        c.close()


def test_consumer_below_log_start_resets_to_earliest(start_broker):
    broker = start_broker(FAST_RETENTION)
    topic = topic_name("retention")
    # ~1 KiB segments, one hour of retention.
    ck.create_topic(broker.bootstrap, topic, 1,
                    config={"segment.bytes": "1024", "retention.ms": str(HOUR_MS)})
    old = produce(broker.bootstrap, topic, [b"old-%04d" % i for i in range(300)],
                  timestamp=now_ms() - 2 * HOUR_MS)
    fresh = produce(broker.bootstrap, topic, [b"fresh-%04d" % i for i in range(100)])
    assert all(err is None for err, _ in old + fresh)
    first_fresh = min(o for _, o in fresh)
    assert first_fresh == 300

    # Retention deletes the old segments: the low watermark moves up to a segment boundary
    # at or before the first fresh record.
    low = wait_until(lambda: low_high(broker.bootstrap, topic)[0] or None, 30,
                     "low watermark to move after retention")
    low, high = low_high(broker.bootstrap, topic)
    assert 0 < low <= first_fresh, (low, high)
    assert high == 400
    segments = sorted(p.name for p in (broker.datadir / f"{topic}-0").glob("*.log"))
    assert int(segments[0].split(".")[0]) == low, segments

    # A consumer positioned at 0 (below the log start) gets OFFSET_OUT_OF_RANGE and, with
    # auto.offset.reset=earliest, continues from the new log start.
    offsets, errors = consume_from(broker.bootstrap, topic, 0, high - low, "earliest")
    assert not errors, errors
    assert offsets[0] == low, offsets[:5]
    assert offsets == list(range(low, high))

    # With auto.offset.reset=error the consumer is told instead.
    offsets, errors = consume_from(broker.bootstrap, topic, 0, 1, "error")
    assert not offsets
    assert errors and errors[0].code() == KafkaError._AUTO_OFFSET_RESET, errors


def test_delete_records_with_admin_client(start_broker):
    broker = start_broker()
    topic = topic_name("delete-records")
    ck.create_topic(broker.bootstrap, topic, 1, config={"segment.bytes": "1024"})
    produce(broker.bootstrap, topic, [b"v-%04d" % i for i in range(200)])

    futures = ck.admin(broker.bootstrap).delete_records(
        [TopicPartition(topic, 0, 120)], request_timeout=ck.OP_TIMEOUT_S)
    [(tp, fut)] = futures.items()
    deleted = ck.result(fut, "DeleteRecords")
    assert deleted.low_watermark == 120
    assert low_high(broker.bootstrap, topic) == (120, 200)

    offsets, errors = consume_from(broker.bootstrap, topic, 50, 80, "earliest")
    assert not errors, errors
    assert offsets == list(range(120, 200))

    # Survives a restart (log-start-offset-checkpoint).
    broker.restart()
    wait_until(lambda: low_high(broker.bootstrap, topic) == (120, 200), 30,
               "watermarks (120, 200) after restart")


def test_timestamp_out_of_range_is_rejected(start_broker):
    broker = start_broker()
    topic = topic_name("timestamps")
    ck.create_topic(broker.bootstrap, topic, 1,
                    config={"message.timestamp.before.max.ms": str(HOUR_MS),
                            "message.timestamp.after.max.ms": "60000"})
    [(err, _)] = produce(broker.bootstrap, topic, [b"too old"], timestamp=now_ms() - 2 * HOUR_MS)
    assert err is not None and err.code() == KafkaError.INVALID_TIMESTAMP, err
    [(err, _)] = produce(broker.bootstrap, topic, [b"too new"], timestamp=now_ms() + HOUR_MS)
    assert err is not None and err.code() == KafkaError.INVALID_TIMESTAMP, err
    [(err, offset)] = produce(broker.bootstrap, topic, [b"just right"])
    assert err is None and offset == 0
