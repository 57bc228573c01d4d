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
--rounds is reported for each.

Consume: the acks=1 topics are read back from the beginning by `weir perf consume` (its
fetch_records_per_sec: after the group join) and by bench/rdkafka_consume.c (librdkafka's C
API, counting only; needs gcc and librdkafka-dev, skipped otherwise).

Memory: the peak RSS (ru_maxrss) of every `weir perf` process, to compare with what bounds it:
buffer.memory (32 MiB by default) for the producer, the fetch buffers (fetch.max.bytes, 50 MiB)
for the consumer. Prints a table, then one JSON line.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from librdkafka_bench import create_topic, free_port, machine, start_broker, status_kib  # noqa: E402

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


def run_measured(cmd):
    """Runs `cmd`; returns (its last stdout line as JSON, its peak RSS in MiB).

    The peak is the process's VmHWM, read from /proc every 20 ms while it runs (VmHWM only
    grows, so the last reading is the peak unless it grew in its last 20 ms). Not ru_maxrss:
    for a child forked from this Python process that includes the parent's memory copied
    before exec."""
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        peak_kib = [0]

        def sample():
            while p.poll() is None:
                try:
                    peak_kib[0] = max(peak_kib[0], status_kib(p.pid, "VmHWM"))
                except (OSError, ValueError, TypeError):
                    pass
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out = p.stdout.read()
        p.wait()
        sampler.join()
        if p.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{cmd[:3]} failed: {err.read().decode(errors='replace')[-500:]}")
    return json.loads(out.strip().splitlines()[-1]), peak_kib[0] / 1024


def weir_perf(weir, bootstrap, topic, records, size, acks):
    return run_measured(
        [weir, "perf", "produce", "--topic", topic, "--num-records", str(records),
         "--record-size", str(size), "--throughput", "-1", "--json", "--producer-props",
         f"bootstrap.servers={bootstrap}", f"acks={acks}", "linger.ms=5", "batch.size=1000000"])


def weir_consume(weir, bootstrap, topic, records):
    return run_measured(
        [weir, "perf", "consume", "--bootstrap-server", bootstrap, "--topic", topic,
         "--messages", str(records), "--json"])


def c_consume(bootstrap, topic, records, build_dir):
    """records/s of bench/rdkafka_consume.c, or None without gcc and librdkafka-dev."""
    if shutil.which("gcc") is None or not Path("/usr/include/librdkafka/rdkafka.h").exists():
        return None
    exe = Path(build_dir) / "rdkafka_consume"
    if not exe.exists():
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(REPO / "bench" / "rdkafka_consume.c"),
                        "-lrdkafka"], check=True)
    out = subprocess.run([str(exe), bootstrap, topic, str(records)], check=True, capture_output=True,
                         text=True, timeout=330).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["records"] / r["seconds"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=500_000)
    ap.add_argument("--record-size", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--weir", default=str(REPO / "target" / "release" / "weir"))
    args = ap.parse_args()
    weir = args.weir
    results = {"records": args.records, "record_size": args.record_size, "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        with open(Path(tmp) / "broker.log", "wb") as log:
            broker = start_broker(weir, Path(tmp) / "data", port, log)
            bootstrap = f"127.0.0.1:{port}"
            try:
                k = 0
                peak_produce, consumed_topics = 0.0, []
                for acks in ["1", "all"]:
                    rk, ours, lat = [], [], None
                    for _ in range(args.rounds):
                        k += 1
                        create_topic(bootstrap, f"rk{k}")
                        rk.append(librdkafka(bootstrap, f"rk{k}", args.records, args.record_size, acks))
                        create_topic(bootstrap, f"weir{k}")
                        r, peak = weir_perf(weir, bootstrap, f"weir{k}", args.records, args.record_size, acks)
                        peak_produce = max(peak_produce, peak)
                        if acks == "1":
                            consumed_topics.append(f"weir{k}")
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
                ours, theirs, peak_consume = [], [], 0.0
                for topic in consumed_topics:
                    r, peak = weir_consume(weir, bootstrap, topic, args.records)
                    ours.append(r["fetch_records_per_sec"])
                    peak_consume = max(peak_consume, peak)
                    c = c_consume(bootstrap, topic, args.records, tmp)
                    if c is not None:
                        theirs.append(c)
                results["consume"] = {
                    "weir_fetch_records_per_sec": round(max(ours)),
                    "c_librdkafka_records_per_sec": round(max(theirs)) if theirs else None,
                    "ratio_weir_over_c_librdkafka": round(max(ours) / max(theirs), 2) if theirs else None,
                    "all_rounds_weir": [round(x) for x in ours],
                    "all_rounds_c_librdkafka": [round(x) for x in theirs],
                }
                results["peak_rss_MiB"] = {"perf_produce": round(peak_produce, 1),
                                           "perf_consume": round(peak_consume, 1)}
            finally:
                broker.terminate()
                broker.wait(15)
    print(f"{'acks':>5} {'librdkafka rec/s':>17} {'weir rec/s':>12} {'ratio':>6}")
    for acks in ["1", "all"]:
        r = results[f"acks_{acks}"]
        print(f"{acks:>5} {r['librdkafka_records_per_sec']:>17} {r['weir_records_per_sec']:>12} "
              f"{r['ratio_weir_over_librdkafka']:>6}")
    c = results["consume"]
    print(f"consume: weir {c['weir_fetch_records_per_sec']} rec/s, C librdkafka "
          f"{c['c_librdkafka_records_per_sec']} rec/s, ratio {c['ratio_weir_over_c_librdkafka']}")
    print(f"peak RSS: perf produce {results['peak_rss_MiB']['perf_produce']} MiB, "
          f"perf consume {results['peak_rss_MiB']['perf_consume']} MiB")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
