"""Log compaction and compression.type driven by confluent-kafka (librdkafka).

The broker's cleaner runs every 200 ms (log.cleaner.backoff.ms) and compacted topics use
small segments and min.cleanable.dirty.ratio=0.01, so cleaning starts as soon as segments
close.
"""

import random
import signal
import struct
import time

import pytest

import ck
from common import topic_name, wait_until

FAST_CLEANER = {"log.cleaner.backoff.ms": "200"}
N_RECORDS = 100_000
N_KEYS = 1_000


def compacted_topic(bootstrap, prefix):
    topic = topic_name(prefix)
    ck.create_topic(bootstrap, topic, 1, config={
        "cleanup.policy": "compact",
        "segment.bytes": "65536",
        "min.cleanable.dirty.ratio": "0.01",
    })
    return topic


def produce_updates(bootstrap, topic, n, start=0, value_bytes=0):
    """n updates over N_KEYS keys (every 17th a tombstone); returns {offset: (key, value)}."""
    p = ck.producer(bootstrap, compression_type="lz4", linger_ms=20)
    acked, errors = {}, []

    def report(key, value):
        def on_delivery(err, msg):
            if err is not None:
                errors.append(err)
            else:
                acked[msg.offset()] = (key, value)
        return on_delivery

    for i in range(start, start + n):
        key = b"key-%04d" % (i % N_KEYS)
        value = None if i % 17 == 16 else b"value-%07d" % i + b"x" * value_bytes
        while True:
            try:
                p.produce(topic, key=key, value=value, partition=0,
                          on_delivery=report(key, value))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(ck.OP_TIMEOUT_S * 2) == 0
    assert not errors, errors[:5]
    assert len(acked) == n
    return acked


def read_partition(bootstrap, topic, high):
    """Every record of partition 0 up to `high`, as [(offset, key, value)]."""
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition
    c = ck.consumer(bootstrap)
    out = []
    try:
        c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        deadline = time.monotonic() + 60
        last = -1
        while last < high - 1 and time.monotonic() < deadline:
            msgs = c.consume(num_messages=10_000, timeout=0.5)
            for msg in msgs:
                assert not msg.error(), msg.error()
                out.append((msg.offset(), msg.key(), msg.value()))
                last = msg.offset()
            if not msgs and out:
                # Compaction may have removed the records just below the high watermark; but
                # an empty poll alone is no proof of the end (a broker busy swapping in a
                # cleaned segment or recovering after a kill can take longer than the poll):
                # stop only once the position has reached the high watermark, or a partial
                # read passes for a compacted one.
                tp = TopicPartition(topic, 0)
                _, hw = c.get_watermark_offsets(tp, timeout=ck.OP_TIMEOUT_S, cached=False)
                if c.position([tp])[0].offset >= hw:
                    break
    finally:
        c.close()
    return out


def check_compacted(records, produced, max_records):
    """Offsets increase and are unchanged; the last record of each key is its latest."""
    offsets = [o for o, _, _ in records]
    assert offsets == sorted(set(offsets)), "offsets not strictly increasing"
    for o, k, v in records:
        assert produced[o] == (k, v), f"offset {o} holds {(k, v)}, produced {produced[o]}"
    latest = {}
    for o in sorted(produced):
        latest[produced[o][0]] = (o, produced[o][1])
    seen = {}
    for o, k, v in records:
        seen[k] = (o, v)
    for key, (o, v) in latest.items():
        if v is None:
            # A deleted key: gone, or its tombstone is the last record.
            assert key not in seen or seen[key] == (o, None), (key, seen.get(key), o)
        else:
            assert seen.get(key) == (o, v), (key, seen.get(key), (o, v))
    assert len(records) <= max_records, f"{len(records)} records left, not compacted"


def test_compaction_keeps_latest_value_per_key(start_broker):
    broker = start_broker(FAST_CLEANER)
    topic = compacted_topic(broker.bootstrap, "compact")
    produced = produce_updates(broker.bootstrap, topic, N_RECORDS)
    high = max(produced) + 1
    assert high == N_RECORDS

    def cleaned():
        records = read_partition(broker.bootstrap, topic, high)
        return records if len(records) < N_RECORDS // 10 else None

    records = wait_until(cleaned, 60, "the cleaner to compact the topic", interval_s=0.5)
    check_compacted(records, produced, N_RECORDS // 10)


def test_compaction_survives_sigkill_mid_clean(start_broker):
    # Write with the cleaner off, so that the whole log is dirty when it starts.
    broker = start_broker({**FAST_CLEANER, "log.cleaner.enable": "false"})
    topic = compacted_topic(broker.bootstrap, "compact-kill")
    produced = produce_updates(broker.bootstrap, topic, N_RECORDS, value_bytes=200)
    broker.overrides["log.cleaner.enable"] = "true"
    rng = random.Random(7)
    # The first cleaning starts log.cleaner.backoff.ms after start-up; each start treats the
    # whole log as dirty again until a pass completes and writes cleaner-offset-checkpoint.
    # Kill at spread-out moments around it, so that some kills land mid-clean.
    for _ in range(12):
        broker.restart(signal.SIGKILL)
        time.sleep(rng.uniform(0.2, 0.9))
    broker.restart(signal.SIGKILL)
    records = wait_until(
        lambda: (lambda r: r if len(r) < N_RECORDS // 10 else None)(
            read_partition(broker.bootstrap, topic, N_RECORDS)),
        60, "the cleaner to compact the topic after the kills", interval_s=0.5)
    check_compacted(records, produced, N_RECORDS // 10)
    log = broker.log_path.read_text(errors="replace")
    print(f"kills: cleaned files dropped at start: {log.count('.cleaned')}, swaps completed "
          f"at start: {log.count('interrupted segment swap')}, "
          f"cleanings finished: {log.count('log cleaned')}")
    # Deterministically too: SIGKILL, then leave on disk what a kill inside the swap leaves
    # (a complete `A.log.E.swap` replacing segment A, A's indexes already deleted) and what a
    # kill while writing leaves (a partial `.cleaned`); the restart finishes the swap.
    broker.kill()
    part = broker.datadir / f"{topic}-0"
    segs = sorted(part.glob("*.log"))
    a, e = segs[0], segs[1]
    swap = part / f"{a.name}.{e.name.split('.')[0]}.swap"
    swap.write_bytes(a.read_bytes())
    (part / a.name.replace(".log", ".index")).unlink()
    (part / f"{e.name}.cleaned").write_bytes(e.read_bytes()[:100])
    # Cleaner off for this start, so that no new cleaning writes files of the same names.
    broker.overrides["log.cleaner.enable"] = "false"
    broker.start()
    assert not swap.exists() and not (part / f"{e.name}.cleaned").exists()
    check_compacted(read_partition(broker.bootstrap, topic, N_RECORDS), produced,
                    N_RECORDS // 10)
    assert "interrupted segment swap" in broker.log_path.read_text(errors="replace")
    broker.overrides["log.cleaner.enable"] = "true"
    broker.restart()
    # More updates after the restarts land after the old ones and are compacted too.
    more = produce_updates(broker.bootstrap, topic, 20_000, start=N_RECORDS)
    produced.update(more)
    records = wait_until(
        lambda: (lambda r: r if len(r) < 20_000 else None)(
            read_partition(broker.bootstrap, topic, N_RECORDS + 20_000)),
        60, "the cleaner to compact the new updates", interval_s=0.5)
    check_compacted(records, produced, 20_000)


def test_cleaner_io_throttle(start_broker):
    """`log.cleaner.io.max.bytes.per.second` slows a cleaning down to about that rate (its
    reads and writes together), and the result is still a correct compaction.

    The throttle checks its rate every 300 ms, as Kafka's does, so only a cleaning longer
    than that is held back: the log is ~100 MiB of incompressible values, which this
    machine cleans unthrottled in well under a second. The rate is set so that reading the
    log once takes 5 s; the mapping pass and the rewrite each read it, so a throttled
    cleaning takes longer still."""
    broker = start_broker({**FAST_CLEANER, "log.cleaner.enable": "false"})
    topic = topic_name("compact-throttle")
    ck.create_topic(broker.bootstrap, topic, 1, config={
        "cleanup.policy": "compact", "segment.bytes": str(8 << 20),
        "min.cleanable.dirty.ratio": "0.01"})
    rng = random.Random(11)
    values = [rng.randbytes(1000) for _ in range(64)]
    p = ck.producer(broker.bootstrap, linger_ms=20)
    produced = {}

    def on_delivery(err, msg):
        assert err is None, err
        produced[msg.offset()] = (msg.key(), msg.value())

    n = 100_000
    for i in range(n):
        while True:
            try:
                p.produce(topic, key=b"key-%04d" % (i % N_KEYS), value=values[i % len(values)],
                          partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    assert p.flush(ck.OP_TIMEOUT_S * 2) == 0
    assert len(produced) == n

    part = broker.datadir / f"{topic}-0"
    size = sum(f.stat().st_size for f in part.glob("*.log"))
    rate = size / 5
    broker.overrides.update({"log.cleaner.enable": "true",
                             "log.cleaner.io.max.bytes.per.second": str(int(rate))})
    broker.restart()
    started = time.monotonic()
    checkpoint = broker.datadir / "cleaner-offset-checkpoint"
    wait_until(lambda: checkpoint.exists() and f"{topic} 0 " in checkpoint.read_text(),
               120, "the throttled cleaning to finish", interval_s=0.1)
    took = time.monotonic() - started
    assert took >= size / rate, f"{size} bytes cleaned in {took:.1f} s at {rate:.0f} B/s"
    check_compacted(read_partition(broker.bootstrap, topic, n), produced, n // 10)


def test_compacted_topic_rejects_records_without_key(start_broker):
    from confluent_kafka import KafkaError
    broker = start_broker(FAST_CLEANER)
    topic = compacted_topic(broker.bootstrap, "compact-nokey")
    p = ck.producer(broker.bootstrap)
    results = []
    p.produce(topic, value=b"no key", partition=0, on_delivery=lambda e, m: results.append(e))
    p.produce(topic, key=b"k", value=b"keyed", partition=0,
              on_delivery=lambda e, m: results.append(e))
    assert p.flush(ck.OP_TIMEOUT_S) == 0
    errors = [e for e in results if e is not None]
    assert errors and errors[0].code() == KafkaError.INVALID_RECORD, results


CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}


def stored_codecs(datadir, topic):
    """Codec ids of the batches in partition 0's segment files."""
    codecs = []
    for seg in sorted((datadir / f"{topic}-0").glob("*.log")):
        data = seg.read_bytes()
        pos = 0
        while pos + 61 <= len(data):
            (length,) = struct.unpack_from(">i", data, pos + 8)
            (attributes,) = struct.unpack_from(">h", data, pos + 21)
            codecs.append(attributes & 7)
            pos += 12 + length
    return codecs


@pytest.mark.parametrize("target,sent", [
    ("uncompressed", "gzip"),
    ("gzip", "none"),
    ("snappy", "lz4"),
    ("lz4", "zstd"),
    ("zstd", "snappy"),
    ("producer", "lz4"),
])
def test_compression_type_conversion(start_broker, target, sent):
    broker = start_broker()
    topic = topic_name(f"ct-{target}")
    ck.create_topic(broker.bootstrap, topic, 1, config={"compression.type": target})
    p = ck.producer(broker.bootstrap, compression_type=sent, linger_ms=50)
    sent_records = []
    for i in range(500):
        key = b"k%03d" % (i % 50)
        value = b"value %d " % i * 5
        headers = [("h", b"%d" % i), ("h", b"dup")]
        p.produce(topic, key=key, value=value, headers=headers, partition=0)
        sent_records.append((key, value, tuple(headers)))
    assert p.flush(ck.OP_TIMEOUT_S) == 0
    got = ck.consume_all(broker.bootstrap, topic, [0], len(sent_records))
    assert [g.offset for g in got] == list(range(len(sent_records)))
    assert [(g.key, g.value, g.headers) for g in got] == sent_records
    expected = CODEC_IDS[sent] if target == "producer" else CODEC_IDS.get(target, 0)
    codecs = stored_codecs(broker.datadir, topic)
    assert codecs and set(codecs) == {expected}, (target, sent, codecs)
