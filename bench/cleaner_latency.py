#!/usr/bin/env python3
"""Produce latency while the log cleaner runs, against the same broker idle (issue 6: the
cleaner must not push produce p99 above twice its idle value).

Starts its own `weir broker` (target/release/weir, or $WEIR_BIN) on a free 127.0.0.1 port
with a temporary log dir, then:

1. fills `--rounds` compacted topics (each `--partitions` x `--mib` MiB of lz4 batches of
   keyed records, `--keys` keys per partition) with `min.compaction.lag.ms` at a day, so
   that nothing is cleanable yet;
2. for each round, measures produce latency on a separate one-partition topic, first for
   `--seconds` s with the cleaner idle, then while it cleans that round's topic:
   - a probe is one 100-byte record every 1/`--rate` s from confluent-kafka (`linger.ms=0`,
     `acks=all`); its latency is librdkafka's, from `produce()` until the acknowledgement
     is read (see `measure`);
   - cleaning starts when `min.compaction.lag.ms` is set to 0 on the topic (the cleaner
     picks it up on its next pass, `log.cleaner.backoff.ms=200`) and the phase lasts until
     the cleaner has been through every partition (they all appear in
     `cleaner-offset-checkpoint`, which is written once a pass ends);
   - one producer serves every phase, after `--warmup` s of probes that are not counted: a
     fresh producer's first second or so has stalls of its own (a 1.6 s phase measured
     without any cleaning had p99 at up to 6x the idle phase's when each phase had its own
     producer);
3. prints each round's p99s and ratio, then p50/p99/p99.9/max of all idle probes against all
   probes sent while cleaning, and their p99 ratio.

Rounds alternate idle and cleaning phases because this shared VM's own latency drifts over
minutes (a bare TCP ping-pong between two processes has p99 from under 1 ms to over 2 ms),
so a single idle phase followed by a single cleaning phase compares two different machines.

    compat/.venv/bin/python bench/cleaner_latency.py --rounds 3 --partitions 4 --mib 256

Every phase runs on the same host as the broker and the filling client, so the figures
include whatever else the machine does; run it on a quiet machine and compare the ratio.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   NewTopic, ResourceType)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from librdkafka_bench import free_port, start_broker, stop_broker  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MIB = 1 << 20
COMPACTED = "cleaner-load"
LATENCY = "latency"



def segment_bytes(path):
    """Size of the `.log` files under `path` (not the `.deleted` ones waiting for removal)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            if f.endswith(".log"):
                try:
                    total += os.stat(os.path.join(root, f)).st_size
                except FileNotFoundError:
                    pass
    return total


def percentiles(samples):
    s = sorted(samples)
    if not s:
        return {}

    def at(q):
        return s[min(len(s) - 1, int(q * len(s)))]

    return {"n": len(s), "p50": at(0.50), "p99": at(0.99), "p99.9": at(0.999), "max": s[-1]}


def fill(bootstrap, topic, args):
    """Writes a compacted topic: every key updated many times, so cleaning removes most."""
    p = Producer({"bootstrap.servers": bootstrap, "compression.type": "lz4", "linger.ms": 20,
                  "batch.size": 1_000_000, "acks": 1, "enable.idempotence": False,
                  "queue.buffering.max.kbytes": 512 * 1024})
    rng = random.Random(7)
    letters = b"abcdefghijklmnopqrstuvwxyz"
    values = [bytes(rng.choice(letters) for _ in range(args.value_bytes)) for _ in range(256)]
    per_partition = args.mib * MIB // (args.value_bytes + 16)
    errors = []
    for i in range(per_partition):
        for part in range(args.partitions):
            key = b"key-%07d" % ((i * 7919) % args.keys)
            while True:
                try:
                    p.produce(topic, key=key, value=values[i % len(values)], partition=part,
                              on_delivery=lambda err, _m: err is not None and errors.append(err))
                    break
                except BufferError:
                    p.poll(0.05)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(300) == 0, "records left unacknowledged"
    assert not errors, errors[:5]


def latency_producer(bootstrap):
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})


def measure(p, rate, seconds=None, until=None):
    """Latencies (ms) of one record sent every 1/rate s by producer `p`, for `seconds` or
    until `until()`.

    A latency is librdkafka's own (`Message.latency()`): from `produce()` to the moment its
    broker thread reads the acknowledgement, as Kafka's producer perf test times it in its
    sender thread. Between probes the loop sleeps. It used to poll with the time left as the
    timeout instead, but librdkafka takes whole milliseconds and the gaps are 0.5 ms, so it
    spun a core at 2,000 probes/s; with the cleaner on the other core, broker and client then
    queued behind that spinning loop, which is a cost of the bench, not of the cleaner."""
    latencies = []
    value = b"x" * 100

    def report(err, msg):
        if err is None and msg.latency() is not None:
            latencies.append(msg.latency() * 1000)

    # Warm the connection and metadata up.
    p.produce(LATENCY, value=value)
    p.flush(10)
    started = time.monotonic()
    next_send = started
    checked = started
    while True:
        now = time.monotonic()
        if seconds is not None and now - started >= seconds:
            break
        if until is not None and now - checked >= 0.1:
            checked = now
            if until():
                break
        if now < next_send:
            time.sleep(next_send - now)
        p.produce(LATENCY, value=value, on_delivery=report)
        next_send += 1.0 / rate
        p.poll(0)
    p.flush(30)
    return latencies, time.monotonic() - started


def checkpointed_partitions(datadir, topic):
    try:
        lines = (datadir / "cleaner-offset-checkpoint").read_text().splitlines()[2:]
    except FileNotFoundError:
        return 0
    return sum(1 for line in lines if line.startswith(topic + " "))


def report(name, p):
    print(f"produce latency, {name:15} n={p['n']:6}  p50 {p['p50']:7.2f} ms  "
          f"p99 {p['p99']:7.2f} ms  p99.9 {p['p99.9']:7.2f} ms  max {p['max']:7.2f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="idle/cleaning phase pairs")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--mib", type=int, default=512, help="MiB of log per compacted partition")
    ap.add_argument("--keys", type=int, default=10_000, help="keys per partition")
    ap.add_argument("--value-bytes", type=int, default=1000)
    ap.add_argument("--segment-mib", type=int, default=32)
    ap.add_argument("--rate", type=float, default=2000, help="latency probes per second")
    ap.add_argument("--seconds", type=float, default=5, help="idle phase of each round")
    ap.add_argument("--warmup", type=float, default=3, help="uncounted probes first")
    args = ap.parse_args()

    weir = Path(os.environ.get("WEIR_BIN", REPO / "target" / "release" / "weir"))
    tmp = tempfile.TemporaryDirectory(prefix="weir-cleaner-latency-")
    datadir = Path(tmp.name) / "data"
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    log = open(Path(tmp.name) / "broker.log", "wb")
    broker = start_broker(weir, datadir, port, log,
                          ["log.cleaner.backoff.ms=200"])
    try:
        admin = AdminClient({"bootstrap.servers": bootstrap})
        topics = [f"{COMPACTED}-{r}" for r in range(args.rounds)]
        futures = admin.create_topics([
            NewTopic(topic, args.partitions, 1, config={
                "cleanup.policy": "compact",
                "segment.bytes": str(args.segment_mib * MIB),
                "min.cleanable.dirty.ratio": "0.01",
                "min.compaction.lag.ms": "86400000",
            }) for topic in topics
        ] + [NewTopic(LATENCY, 1, 1)])
        for f in futures.values():
            f.result(30)

        t0 = time.monotonic()
        for topic in topics:
            fill(bootstrap, topic, args)
        fill_s = time.monotonic() - t0
        before = segment_bytes(datadir)
        # Write the fill back to disk first: its writeback would otherwise overlap the
        # phases (ext4 stalls writers while it commits a large backlog).
        os.sync()
        time.sleep(2)

        probe = latency_producer(bootstrap)
        measure(probe, args.rate, seconds=args.warmup)
        idle, busy, cleaning_s = [], [], 0.0
        print(f"compacted topics   {args.rounds} x {args.partitions} partitions x {args.mib} MiB "
              f"(lz4, {args.keys} keys each, segment.bytes {args.segment_mib} MiB), "
              f"filled in {fill_s:.1f} s")
        for r, topic in enumerate(topics):
            quiet, _ = measure(probe, args.rate, seconds=args.seconds)
            resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
                ConfigEntry("min.compaction.lag.ms", "0",
                            incremental_operation=AlterConfigOpType.SET)])
            for f in admin.incremental_alter_configs([resource]).values():
                f.result(30)
            cleaning, took = measure(
                probe, args.rate,
                until=lambda topic=topic: checkpointed_partitions(datadir, topic) >= args.partitions
                or time.monotonic() - t0 > 3600)
            q, c = percentiles(quiet), percentiles(cleaning)
            print(f"round {r + 1}            idle p99 {q['p99']:6.2f} ms, cleaning {took:4.1f} s "
                  f"p99 {c['p99']:6.2f} ms, ratio {c['p99'] / q['p99']:.2f}")
            idle += quiet
            busy += cleaning
            cleaning_s += took
        after = segment_bytes(datadir)

        i, b = percentiles(idle), percentiles(busy)
        print(f"cleaning           {cleaning_s:.1f} s in all (from each config change until every "
              f"partition was checkpointed); segments {before / MIB:.0f} -> {after / MIB:.0f} MiB")
        report("idle", i)
        report("cleaner running", b)
        print(f"p99 ratio          {b['p99'] / i['p99']:.2f} (all rounds; the issue asks for at most 2)")
        return 0
    finally:
        stop_broker(broker)
        log.close()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
