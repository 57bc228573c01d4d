#!/usr/bin/env python3
"""`weir perf produce` (the native Rust client) against librdkafka (confluent-kafka) on the same
release `weir broker`, machine and workload: 1 KiB records, one partition, acks=1 and acks=all.

    cargo build --release -p weir-cli
    compat/setup.sh                      # creates compat/.venv with confluent-kafka
    compat/.venv/bin/python bench/client_bench.py [--records 500000] [--rounds 3]

Both producers get the same settings: linger.ms=5, batch.size=1000000, no compression, the
default idempotence of each client for acks=all (on for both) and off for acks=1. Each run uses a
fresh topic. The librdkafka figure counts from the first produce() to the end of flush(); the
weir figure is the tool's own records/sec (first send to last acknowledgement). The best of
--rounds is reported for each. Prints a table, then one JSON line.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from librdkafka_bench import create_topic, free_port, machine, start_broker  # noqa: E402

from confluent_kafka import Producer  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def librdkafka(bootstrap, topic, records, size, acks):
    p = Producer({
        "bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5, "batch.size": 1_000_000,
        "enable.idempotence": acks == "all", "compression.type": "none",
        "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 2_097_151,
    })
    value = os.urandom(size)
    p.produce(topic, value=value, partition=0)
    p.flush(30)
    start = time.monotonic()
    n = 0
    while n < records:
        try:
            p.produce(topic, value=value, partition=0)
            n += 1
        except BufferError:
            p.poll(0.001)
            continue
        if n % 10_000 == 0:
            p.poll(0)
    if p.flush(120):
        raise RuntimeError("librdkafka: unacknowledged records")
    return records / (time.monotonic() - start)


def weir_perf(weir, bootstrap, topic, records, size, acks):
    out = subprocess.run(
        [weir, "perf", "produce", "--topic", topic, "--num-records", str(records),
         "--record-size", str(size), "--throughput", "-1", "--json", "--producer-props",
         f"bootstrap.servers={bootstrap}", f"acks={acks}", "linger.ms=5", "batch.size=1000000"],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--record-size", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    weir = str(REPO / "target" / "release" / "weir")
    results = {"records": args.records, "record_size": args.record_size, "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        with open(Path(tmp) / "broker.log", "wb") as log:
            broker = start_broker(weir, Path(tmp) / "data", port, log)
            bootstrap = f"127.0.0.1:{port}"
            try:
                k = 0
                for acks in ["1", "all"]:
                    rk, ours, lat = [], [], None
                    for _ in range(args.rounds):
                        k += 1
                        create_topic(bootstrap, f"rk{k}")
                        rk.append(librdkafka(bootstrap, f"rk{k}", args.records, args.record_size, acks))
                        create_topic(bootstrap, f"weir{k}")
                        r = weir_perf(weir, bootstrap, f"weir{k}", args.records, args.record_size, acks)
                        ours.append(r["records_per_sec"])
                        if lat is None or r["records_per_sec"] >= max(ours):
                            lat = r
                    mb = args.record_size / 1e6
                    results[f"acks_{acks}"] = {
                        "librdkafka_records_per_sec": round(max(rk)),
                        "weir_records_per_sec": round(max(ours)),
                        "librdkafka_MBps": round(max(rk) * mb, 1),
                        "weir_MBps": round(max(ours) * mb, 1),
                        "ratio_weir_over_librdkafka": round(max(ours) / max(rk), 2),
                        "weir_p50_ms": lat["p50_ms"], "weir_p99_ms": lat["p99_ms"],
                        "all_rounds_librdkafka": [round(x) for x in rk],
                        "all_rounds_weir": [round(x) for x in ours],
                    }
            finally:
                broker.terminate()
                broker.wait(15)
    print(f"{'acks':>5} {'librdkafka rec/s':>17} {'weir rec/s':>12} {'ratio':>6}")
    for acks in ["1", "all"]:
        r = results[f"acks_{acks}"]
        print(f"{acks:>5} {r['librdkafka_records_per_sec']:>17} {r['weir_records_per_sec']:>12} "
              f"{r['ratio_weir_over_librdkafka']:>6}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
