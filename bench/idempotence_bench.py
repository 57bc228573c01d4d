#!/usr/bin/env python3
"""What exactly-once costs on a release `weir broker`, measured with librdkafka (confluent-kafka):

    cargo build --release -p weir-cli
    compat/.venv/bin/python bench/idempotence_bench.py [--gigabytes 1] [--rounds 3]

Produce, same workload every way: one partition, 1 KiB records, acks=all, linger.ms=5,
batch.size=1000000, no compression, each round on a fresh topic, modes alternating:
  plain          enable.idempotence=false
  idempotent     enable.idempotence=true                      (issue target: >= 95% of plain)
  transactional  a transactional.id, commit every --commit-ms (issue target: >= 70% of plain)
Read: the last transactional topic (committed data and a marker every --commit-ms) read from
the beginning with isolation.level read_uncommitted and read_committed, alternating
(issue target: read_committed >= 90% of read_uncommitted).
The best round of each mode is reported, then one JSON line.
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
from librdkafka_bench import (REPO, consume_phase, cpu_seconds, create_topic, free_port,  # noqa: E402
                              start_broker)

MODES = ("plain", "idempotent", "transactional")


def produce(bootstrap, topic, record_size, max_bytes, mode, commit_ms, round_no):
    """Produces `max_bytes` of records; returns (MB/s, records, transactions committed)."""
    conf = {
        "bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "batch.size": 1_000_000,
        "enable.idempotence": mode != "plain", "compression.type": "none",
        "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 2_097_151,
    }
    if mode == "transactional":
        conf["transactional.id"] = f"bench-{round_no}-{os.getpid()}"
    p = Producer(conf)
    value = os.urandom(record_size)
    errors = []
    txns = 0
    if mode == "transactional":
        p.init_transactions(30)
        p.begin_transaction()
    p.produce(topic, value=value, partition=0, on_delivery=lambda e, m: e and errors.append(e))
    if mode == "transactional":
        p.commit_transaction(30)
        p.begin_transaction()
    else:
        p.flush(30)
    n, start = 0, time.monotonic()
    next_commit = start + commit_ms / 1000
    while n * record_size < max_bytes:
        try:
            p.produce(topic, value=value, partition=0)
            n += 1
        except BufferError:
            p.poll(0.001)
            continue
        if n % 1000 == 0:
            p.poll(0)
            if mode == "transactional" and time.monotonic() >= next_commit:
                p.commit_transaction(60)
                txns += 1
                p.begin_transaction()
                next_commit = time.monotonic() + commit_ms / 1000
    if mode == "transactional":
        p.commit_transaction(120)
        txns += 1
        remaining = 0
    else:
        remaining = p.flush(120)
    elapsed = time.monotonic() - start
    if remaining or errors:
        raise RuntimeError(f"{remaining} unacknowledged, errors {errors[:3]}")
    return n * record_size / elapsed / 1e6, n + 1, txns


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weir", default=str(REPO / "target" / "release" / "weir"))
    ap.add_argument("--gigabytes", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--record-size", type=int, default=1024)
    ap.add_argument("--commit-ms", type=int, default=100)
    args = ap.parse_args()
    produced = {m: [] for m in MODES}
    read = {"read_uncommitted": [], "read_committed": []}
    with tempfile.TemporaryDirectory(prefix="weir-eos-bench-") as tmp:
        port = free_port()
        bootstrap = f"127.0.0.1:{port}"
        log = open(Path(tmp) / "broker.log", "wb")
        broker = start_broker(args.weir, Path(tmp) / "data", port, log)
        try:
            txn_topic, txn_records = None, 0
            for r in range(args.rounds):
                for mode in MODES:
                    topic = f"bench-{r}-{mode}"
                    create_topic(bootstrap, topic)
                    cpu0 = cpu_seconds(broker.pid)
                    mbps, n, txns = produce(bootstrap, topic, args.record_size, args.gigabytes * 1e9,
                                            mode, args.commit_ms, r)
                    cpu = cpu_seconds(broker.pid) - cpu0
                    produced[mode].append(mbps)
                    extra = f", {txns} transactions" if mode == "transactional" else ""
                    print(f"round {r} {mode:<13}: {mbps:8.1f} MB/s (broker CPU {cpu:.2f}s{extra})",
                          file=sys.stderr)
                    if mode == "transactional":
                        txn_topic, txn_records = topic, n
            for r in range(args.rounds):
                for level in read:
                    n, nbytes, secs = consume_phase(bootstrap, txn_topic, txn_records, args.record_size,
                                                    **{"isolation.level": level})
                    read[level].append(nbytes / secs / 1e6)
                    print(f"round {r} {level:<16}: {read[level][-1]:8.1f} MB/s ({n} records)",
                          file=sys.stderr)
        finally:
            broker.terminate()
            broker.wait(30)
    best = {m: max(v) for m, v in produced.items()}
    best_read = {lvl: max(v) for lvl, v in read.items()}
    idem = best["idempotent"] / best["plain"]
    txn = best["transactional"] / best["plain"]
    rc = best_read["read_committed"] / best_read["read_uncommitted"]
    print(f"\nbest of {args.rounds} (MB/s): plain {best['plain']:.1f}, idempotent {best['idempotent']:.1f}, "
          f"transactional {best['transactional']:.1f}; read_uncommitted {best_read['read_uncommitted']:.1f}, "
          f"read_committed {best_read['read_committed']:.1f}")
    print(f"idempotent/plain = {idem:.3f} (target >= 0.95), transactional/plain = {txn:.3f} "
          f"(target >= 0.70), read_committed/read_uncommitted = {rc:.3f} (target >= 0.90)")
    print(json.dumps({"produce_MBps": produced, "read_MBps": read, "idempotent_ratio": idem,
                      "transactional_ratio": txn, "read_committed_ratio": rc,
                      "commit_ms": args.commit_ms}))


if __name__ == "__main__":
    main()
