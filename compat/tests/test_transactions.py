"""Transactions with confluent-kafka (librdkafka) against weir: commit and abort across three
partitions, read_committed vs read_uncommitted consumers, zombie fencing, a
consume-transform-produce loop with send_offsets_to_transaction (also SIGKILLed ten times,
the broker three of them, ending with every input record in the output exactly once), and a
broker SIGKILL in the middle of a transaction."""

import time
import uuid

import pytest
from confluent_kafka import (Consumer, KafkaError, KafkaException, Producer, TopicPartition,
                             OFFSET_BEGINNING)

import ck
from common import topic_name

PARTS = [0, 1, 2]


def txn_producer(bootstrap, tid, **extra):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 5,
            "transaction.timeout.ms": 60_000, "message.timeout.ms": 30_000}
    conf.update({k.replace("_", "."): v for k, v in extra.items()})
    p = Producer(conf)
    p.init_transactions(30)
    return p


def values(bootstrap, topic, isolation, expected, timeout_s=30):
    got = ck.consume_all(bootstrap, topic, PARTS, expected=expected, timeout_s=timeout_s,
                         isolation_level=isolation)
    return sorted(g.value.decode() for g in got)


def send_each_partition(p, topic, label, n=5):
    for part in PARTS:
        for i in range(n):
            p.produce(topic, value=f"{label}-{part}-{i}".encode(), partition=part)
    p.flush(30)


def test_commit_and_abort_across_three_partitions(broker):
    b = broker.bootstrap
    topic = topic_name("txn")
    ck.create_topic(b, topic, 3)
    p = txn_producer(b, f"tx-{uuid.uuid4()}")
    p.begin_transaction()
    send_each_partition(p, topic, "committed")
    p.commit_transaction(30)
    p.begin_transaction()
    send_each_partition(p, topic, "aborted")
    p.abort_transaction(30)
    # A last committed transaction after the aborted one: read_committed must skip over it.
    p.begin_transaction()
    send_each_partition(p, topic, "late", n=1)
    p.commit_transaction(30)

    committed = values(b, topic, "read_committed", expected=18)
    assert len(committed) == 18, committed
    assert all(v.startswith(("committed-", "late-")) for v in committed), committed
    everything = values(b, topic, "read_uncommitted", expected=33)
    assert len(everything) == 33
    assert sum(v.startswith("aborted-") for v in everything) == 15


def test_open_transaction_holds_back_read_committed(broker):
    b = broker.bootstrap
    topic = topic_name("txnopen")
    ck.create_topic(b, topic, 3)
    p = txn_producer(b, f"tx-{uuid.uuid4()}")
    p.begin_transaction()
    send_each_partition(p, topic, "open", n=2)
    # Not committed yet: read_committed sees nothing, read_uncommitted sees the records.
    assert len(values(b, topic, "read_uncommitted", expected=6)) == 6
    c = ck.consumer(b, isolation_level="read_committed")
    try:
        c.assign([TopicPartition(topic, part, OFFSET_BEGINNING) for part in PARTS])
        msgs = [m for m in c.consume(num_messages=100, timeout=2) if not m.error()]
        assert msgs == []
        p.commit_transaction(30)
        deadline = time.monotonic() + 20
        while len(msgs) < 6 and time.monotonic() < deadline:
            msgs += [m for m in c.consume(num_messages=100, timeout=0.5) if not m.error()]
        assert len(msgs) == 6
    finally:
        c.close()


def test_zombie_is_fenced(broker):
    b = broker.bootstrap
    topic = topic_name("txnzombie")
    ck.create_topic(b, topic, 3)
    tid = f"tx-{uuid.uuid4()}"
    old = txn_producer(b, tid)
    old.begin_transaction()
    old.produce(topic, value=b"zombie", partition=0)
    old.flush(30)
    new = txn_producer(b, tid)  # fences `old` and aborts its open transaction
    new.begin_transaction()
    new.produce(topic, value=b"new", partition=1)
    new.commit_transaction(30)
    with pytest.raises(KafkaException) as info:
        old.produce(topic, value=b"zombie2", partition=0)
        old.flush(10)
        old.commit_transaction(10)
    err = info.value.args[0]
    assert err.fatal() or err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED,
                                         KafkaError.INVALID_PRODUCER_EPOCH), err
    assert values(b, topic, "read_committed", expected=1) == ["new"]


def consume_transform_produce(b, src, dst, group, tid, stop_after=None):
    """Reads `src` in a group, writes each value upper-cased to `dst` and commits the input
    offsets in the same transaction. Returns the number of records processed."""
    c = Consumer({"bootstrap.servers": b, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    p = txn_producer(b, tid)
    c.subscribe([src])
    done = 0
    idle_since = time.monotonic()
    try:
        while time.monotonic() - idle_since < 5:
            msgs = [m for m in c.consume(num_messages=50, timeout=0.5) if not m.error()]
            if not msgs:
                continue
            idle_since = time.monotonic()
            p.begin_transaction()
            for m in msgs:
                p.produce(dst, key=m.key(), value=m.value().upper(), partition=m.partition())
            offsets = {}
            for m in msgs:
                offsets[(m.topic(), m.partition())] = m.offset() + 1
            p.send_offsets_to_transaction(
                [TopicPartition(t, part, o) for (t, part), o in offsets.items()],
                c.consumer_group_metadata(), 30)
            if stop_after is not None and done + len(msgs) > stop_after:
                p.abort_transaction(30)
                return done
            p.commit_transaction(30)
            done += len(msgs)
        return done
    finally:
        c.close()


def test_consume_transform_produce(broker):
    b = broker.bootstrap
    src, dst = topic_name("ctp-in"), topic_name("ctp-out")
    ck.create_topic(b, src, 3)
    ck.create_topic(b, dst, 3)
    n = 300
    prod = ck.producer(b)
    for i in range(n):
        prod.produce(src, value=f"v{i:05d}".encode(), partition=i % 3)
    prod.flush(30)
    group = f"g-{uuid.uuid4()}"
    tid = f"tx-{uuid.uuid4()}"
    # First run stops (aborting its last transaction) part way; the second picks up from the
    # committed offsets.
    first = consume_transform_produce(b, src, dst, group, tid, stop_after=100)
    second = consume_transform_produce(b, src, dst, group, tid)
    assert first + second == n
    out = values(b, dst, "read_committed", expected=n)
    assert out == sorted(f"V{i:05d}" for i in range(n))


def test_broker_sigkill_mid_transaction(start_broker):
    broker = start_broker()
    b = broker.bootstrap
    topic = topic_name("txnkill")
    ck.create_topic(b, topic, 3)
    tid = f"tx-{uuid.uuid4()}"
    p = txn_producer(b, tid)
    p.begin_transaction()
    send_each_partition(p, topic, "committed", n=3)
    p.commit_transaction(30)
    p.begin_transaction()
    send_each_partition(p, topic, "inflight", n=3)
    broker.kill()
    broker.start()
    # The restarted broker still knows the open transaction: read_committed sees only the
    # committed records, and a new instance of the producer aborts the open one.
    ck.forget_admins()
    p2 = txn_producer(b, tid)
    p2.begin_transaction()
    send_each_partition(p2, topic, "after", n=1)
    p2.commit_transaction(30)
    got = values(b, topic, "read_committed", expected=12)
    assert len(got) == 12, got
    assert not any(v.startswith("inflight-") for v in got), got


# A consume-transform-produce worker in its own process (so it can be SIGKILLed): reads `src`
# in a group (static member, so a restarted worker takes its partitions back at once), writes
# each value to `dst` and commits the input offsets in the same transaction. It initialises
# the producer first, which aborts whatever transaction a killed predecessor left open.
WORKER = r"""
import sys, time
from confluent_kafka import Consumer, Producer, TopicPartition
bootstrap, src, dst, group, tid, run_s = sys.argv[1:7]
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": tid, "linger.ms": 5,
              "transaction.timeout.ms": 60000})
p.init_transactions(60)
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "group.instance.id": "w",
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 500,
              "enable.auto.commit": False, "auto.offset.reset": "earliest",
              "isolation.level": "read_committed"})
c.subscribe([src])
deadline = time.monotonic() + float(run_s)
idle_since = time.monotonic()
while time.monotonic() < deadline and time.monotonic() - idle_since < 8:
    msgs = [m for m in c.consume(num_messages=20, timeout=0.2) if not m.error()]
    if not msgs:
        continue
    idle_since = time.monotonic()
    p.begin_transaction()
    offsets = {}
    for m in msgs:
        p.produce(dst, key=m.key(), value=m.value(), partition=m.partition())
        offsets[m.partition()] = m.offset() + 1
    p.send_offsets_to_transaction([TopicPartition(src, q, o) for q, o in offsets.items()],
                                  c.consumer_group_metadata(), 30)
    p.commit_transaction(30)
print("done", flush=True)
c.close()
"""


def test_consume_transform_produce_survives_sigkill_of_worker_and_broker(broker):
    import random
    import subprocess
    import sys

    b = broker.bootstrap
    src, dst = topic_name("eos-in"), topic_name("eos-out")
    ck.create_topic(b, src, 3)
    ck.create_topic(b, dst, 3)
    n = 3000
    prod = ck.producer(b)
    for i in range(n):
        prod.produce(src, key=str(i).encode(), value=f"r{i:06d}".encode(), partition=i % 3)
    assert prod.flush(30) == 0
    group, tid = f"g-{uuid.uuid4()}", f"tx-{uuid.uuid4()}"
    rng = random.Random(5)

    def worker(run_s):
        return subprocess.Popen([sys.executable, "-c", WORKER, b, src, dst, group, tid, str(run_s)],
                                stdout=subprocess.PIPE, text=True)

    for i in range(10):
        w = worker(120)
        time.sleep(rng.uniform(1.5, 4.0))
        if i % 3 == 2:
            # The broker too, in the middle of the worker's transactions.
            broker.kill()
            w.kill()
            w.wait(10)
            broker.start()
            ck.forget_admins()
        else:
            w.kill()
            w.wait(10)
    # The killed workers did commit work (so the kills hit a running loop).
    assert len(values(b, dst, "read_committed", expected=1)) > 0
    # The last one runs until the input is drained.
    w = worker(120)
    out, _ = w.communicate(timeout=180)
    assert "done" in out
    got = values(b, dst, "read_committed", expected=n, timeout_s=60)
    assert len(got) == n, f"{len(got)} records in the output, {n} in the input"
    assert got == sorted(f"r{i:06d}" for i in range(n))
