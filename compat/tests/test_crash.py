"""SIGKILL the broker while confluent-kafka produces with acks=1; every acknowledged record
must survive the restart at its acknowledged offset, and the log must take new writes."""

import time

import ck
from common import N_PARTITIONS, topic_name, wait_until

ACKED_BEFORE_KILL = 20_000     # kill once this many records were acknowledged...
MAX_RECORDS = 400_000           # ...bounded in any case
PARTS = list(range(N_PARTITIONS))


def value_of(i):
    return f"crash|{i:08d}|".encode() + b"v" * 100


def test_sigkill_mid_stream_keeps_acknowledged_records(broker):
    topic = topic_name("crash")
    ck.create_topic(broker.bootstrap, topic, N_PARTITIONS)

    acked = {}          # value -> (partition, offset)
    failed = []
    producer = ck.producer(broker.bootstrap, acks=1, linger_ms=1, message_timeout_ms=5_000,
                           retries=0, queue_buffering_max_messages=100_000)

    def on_delivery(err, msg):
        if err is None:
            acked[msg.value()] = (msg.partition(), msg.offset())
        else:
            failed.append(err.name())

    killed_at = None
    for i in range(MAX_RECORDS):
        while True:
            try:
                producer.produce(topic, key=str(i % 100).encode(), value=value_of(i), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
        if killed_at is None and len(acked) >= ACKED_BEFORE_KILL:
            broker.kill()      # SIGKILL while records are still in flight
            killed_at = i
        if killed_at is not None and i >= killed_at + 2_000:
            break              # kept producing into the dead broker for a while
    assert killed_at is not None, f"only {len(acked)} of {MAX_RECORDS} records acknowledged; broker never killed"
    producer.flush(15)         # remaining records fail with message timeouts
    acked_snapshot = dict(acked)
    print(f"killed after produce #{killed_at}; acknowledged {len(acked_snapshot)}, failed {len(failed)}")

    broker.restart()
    watermarks = ck.watermarks(broker.bootstrap, topic, PARTS)
    high = {p: watermarks[p][1] for p in PARTS}
    consumed = ck.consume_all(broker.bootstrap, topic, PARTS, expected=sum(high.values()))
    on_disk = {(g.partition, g.offset): g.value for g in consumed}

    lost = [(v[:15], po) for v, po in acked_snapshot.items() if on_disk.get(po) != v]
    assert not lost, (f"{len(lost)} of {len(acked_snapshot)} acknowledged records missing or changed "
                      f"after SIGKILL + restart, e.g. {lost[:5]} (high watermarks {high})")
    for p in PARTS:
        max_acked = max((o for (pp, o) in acked_snapshot.values() if pp == p), default=-1)
        assert high[p] > max_acked, f"partition {p}: high watermark {high[p]} <= acknowledged offset {max_acked}"

    # New writes go right after what the log holds.
    after = {}
    p2 = ck.producer(broker.bootstrap, acks=1)
    for p in PARTS:
        p2.produce(topic, value=f"after|{p}|".encode(), partition=p,
                   on_delivery=lambda err, msg: after.__setitem__(msg.partition(), (err, msg.offset())))
    assert p2.flush(30) == 0
    for p in PARTS:
        err, offset = after[p]
        assert err is None, f"produce after restart failed on partition {p}: {err}"
        assert offset == high[p], f"partition {p}: new record got offset {offset}, log end was {high[p]}"
    wait_until(lambda: all(ck.watermarks(broker.bootstrap, topic, PARTS)[p][1] == high[p] + 1 for p in PARTS),
               10, "high watermarks advanced by one")


def test_clean_restart_keeps_everything(broker):
    topic = topic_name("restart")
    ck.create_topic(broker.bootstrap, topic, 1)
    p = ck.producer(broker.bootstrap)
    for i in range(5_000):
        p.produce(topic, value=value_of(i), partition=0)
        p.poll(0)
    assert p.flush(30) == 0
    t0 = time.monotonic()
    assert broker.stop() == 0, "broker should exit 0 on SIGTERM"
    print(f"SIGTERM shutdown took {time.monotonic() - t0:.2f}s")
    broker.start()
    consumed = ck.consume_all(broker.bootstrap, topic, [0], expected=5_000)
    assert [(g.offset, g.value) for g in consumed] == [(i, value_of(i)) for i in range(5_000)]
