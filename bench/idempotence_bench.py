#!/usr/bin/env python3
"""Produce throughput of a release `weir broker` with librdkafka idempotence on vs off.

    cargo build --release -p weir-cli
    compat/.venv/bin/python bench/idempotence_bench.py [--gigabytes 1] [--rounds 3]

Same workload both ways: one partition, 1 KiB records, acks=all (idempotence requires it),
linger.ms=5, batch.size=1000000, no compression. Rounds alternate off/on against one broker,
each on a fresh topic; the best round of each is reported, then one JSON line.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import Producer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from librdkafka_bench import REPO, cpu_seconds, create_topic, free_port, start_broker  # noqa: E402


def produce(bootstrap, topic, record_size, max_bytes, idempotence):
    p = Producer({
        "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "batch.size": 1_000_000,
        "enable.idempotence": idempotence, "compression.type": "none",
        "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 2_097_151,
    })
    value = os.urandom(record_size)
    errors = []
    p.produce(topic, value=value, partition=0, on_delivery=lambda e, m: e and errors.append(e))
    p.flush(30)
    n, start = 0, time.monotonic()
    while n * record_size < max_bytes:
        try:
            p.produce(topic, value=value, partition=0)
            n += 1
        except BufferError:
            p.poll(0.001)
            continue
        if n % 10_000 == 0:
            p.poll(0)
    remaining = p.flush(120)
    elapsed = time.monotonic() - start
    if remaining or errors:
        raise RuntimeError(f"{remaining} unacknowledged, errors {errors[:3]}")
    return n * record_size / elapsed / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weir", default=str(REPO / "target" / "release" / "weir"))
    ap.add_argument("--gigabytes", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--record-size", type=int, default=1024)
    args = ap.parse_args()
    results = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="weir-idem-bench-") as tmp:
        port = free_port()
        bootstrap = f"127.0.0.1:{port}"
        log = open(Path(tmp) / "broker.log", "wb")
        broker = start_broker(args.weir, Path(tmp) / "data", port, log)
        try:
            for r in range(args.rounds):
                for idem in (False, True):
                    topic = f"bench-{r}-{'on' if idem else 'off'}"
                    create_topic(bootstrap, topic)
                    cpu0 = cpu_seconds(broker.pid)
                    mbps = produce(bootstrap, topic, args.record_size, args.gigabytes * 1e9, idem)
                    cpu = cpu_seconds(broker.pid) - cpu0
                    results[idem].append(mbps)
                    print(f"round {r} idempotence={'on ' if idem else 'off'}: {mbps:8.1f} MB/s "
                          f"(broker CPU {cpu:.2f}s)", file=sys.stderr)
        finally:
            broker.terminate()
            broker.wait(30)
    off, on = max(results[False]), max(results[True])
    print(f"\nbest of {args.rounds}: off {off:.1f} MB/s, on {on:.1f} MB/s, "
          f"on/off = {on / off:.3f} (target >= 0.95)")
    print(json.dumps({"off_MBps": results[False], "on_MBps": results[True],
                      "best_off_MBps": off, "best_on_MBps": on, "ratio": on / off}))


if __name__ == "__main__":
    main()
