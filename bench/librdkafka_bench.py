#!/usr/bin/env python3
"""Throughput, broker CPU cost, RSS and end-to-end latency of a release `weir broker`, measured
with librdkafka (confluent-kafka) on the same machine, over loopback.

    cargo build --release -p weir-cli
    compat/setup.sh                      # creates compat/.venv with confluent-kafka
    compat/.venv/bin/python bench/librdkafka_bench.py [--gigabytes 2] [--seconds 30]

Phases (one partition, 1 KiB records):
  produce   acks=1, linger.ms=5, batch.size=1000000, until --gigabytes or --seconds, one
            Producer.produce() call per record (what most applications do)
  produce_batch  the same through confluent-kafka's Producer.produce_batch(), 1,000 records a
            call, to a second topic: less Python interpreter time per record
  C producer the same with bench/rdkafka_produce.c (librdkafka's C API), to a third topic, if
            librdkafka-dev and gcc are installed: the least client cost per record, so the
            broker, not the client, sets the pace
  consume   assign partition 0 from the beginning, large fetch sizes, read it all back
  kcat      the same read with kcat (C librdkafka 2.0.2, output to a pipe), if installed:
            shows what the broker serves without the Python client's per-message cost
  C client  the same read with bench/rdkafka_consume.c (librdkafka's C API, counting only, 4 MiB fetches),
            if librdkafka-dev and gcc are installed: the least client cost per record
  latency   --rate records/s for --latency-seconds; the producer puts time.time_ns() in the
            value, a consumer in another process computes receive - send (first second dropped)
Broker CPU is utime+stime of its pid from /proc/PID/stat; peak RSS is VmHWM from /proc/PID/status.
Units: MB = 10^6 bytes, GB = 10^9 bytes, counting record values only.
Prints a table, then one JSON line.
"""

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

REPO = Path(__file__).resolve().parents[1]
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGETS = {  # from the "How fast"
    "produce_MBps": (">=", 600), "consume_MBps": (">=", 1000), "kcat_consume_MBps": (">=", 1000),
    "c_consume_MBps": (">=", 1000), "c_consume_cpu_s_per_GB": ("<=", 0.2),
    "batch_produce_MBps": (">=", 600), "batch_produce_cpu_s_per_GB": ("<=", 0.5),
    "c_produce_MBps": (">=", 600), "c_produce_cpu_s_per_GB": ("<=", 0.5),
    "produce_cpu_s_per_GB": ("<=", 0.5), "consume_cpu_s_per_GB": ("<=", 0.2),
    "kcat_consume_cpu_s_per_GB": ("<=", 0.2),
    "latency_p99_ms": ("<", 5), "broker_peak_rss_MiB": ("<", 256),
}


# ---------------------------------------------------------------- broker process and /proc

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def port_answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def start_broker(weir, datadir, port, log, overrides=()):
    """A release broker on 127.0.0.1:`port`; `overrides`: more `key=value` settings."""
    extra = [a for o in overrides for a in ("--override", o)]
    proc = subprocess.Popen(
        [str(weir), "broker", "--override", f"listeners=PLAINTEXT://127.0.0.1:{port}",
         "--override", f"log.dirs={datadir}", *extra],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def ready():
        if proc.poll() is not None:
            raise RuntimeError(f"weir broker exited with {proc.returncode}; see {log.name}")
        return port_answers(port)

    wait_until(ready, 20, "broker port")
    return proc


def stop_broker(proc):
    """SIGTERM, then SIGKILL if it has not exited within 15 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # fields 14 and 15 of stat(5)


def status_kib(pid, key):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem_kib = int(next(l for l in Path("/proc/meminfo").read_text().splitlines()
                       if l.startswith("MemTotal")).split()[1])
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_GiB": round(mem_kib / 2**20, 1),
            "kernel": platform.release()}


# ---------------------------------------------------------------- phases

def create_topic(bootstrap, topic):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    wait_until(lambda: topic in admin.list_topics(timeout=10).topics, 30, f"topic {topic}")


PRODUCER_CONFIG = {
    "acks": 1, "linger.ms": 5, "batch.size": 1_000_000, "enable.idempotence": False,
    "compression.type": "none",
    "queue.buffering.max.messages": 2_000_000, "queue.buffering.max.kbytes": 2_097_151,
}


def produce_phase(bootstrap, topic, record_size, max_bytes, max_seconds):
    p = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG})
    value = os.urandom(record_size)
    errors = []
    p.produce(topic, value=value, partition=0, on_delivery=lambda e, m: e and errors.append(e))
    p.flush(30)  # connection set up before timing starts
    n, start = 0, time.monotonic()
    deadline = start + max_seconds
    while n * record_size < max_bytes:
        try:
            p.produce(topic, value=value, partition=0)
            n += 1
        except BufferError:
            p.poll(0.001)
            continue
        if n % 10_000 == 0:
            p.poll(0)
            if time.monotonic() > deadline:
                break
    remaining = p.flush(120)
    elapsed = time.monotonic() - start
    if remaining or errors:
        raise RuntimeError(f"produce: {remaining} unacknowledged, errors {errors[:3]}")
    return n, elapsed


def batch_produce_phase(bootstrap, topic, record_size, max_bytes, max_seconds, per_call=1000):
    """As produce_phase, through Producer.produce_batch() (confluent-kafka >= 2.12)."""
    p = Producer({"bootstrap.servers": bootstrap, **PRODUCER_CONFIG})
    value = os.urandom(record_size)
    p.produce(topic, value=value, partition=0)
    p.flush(30)
    messages = [{"value": value} for _ in range(per_call)]
    n, start = 0, time.monotonic()
    deadline = start + max_seconds
    while n * record_size < max_bytes and time.monotonic() < deadline:
        try:
            queued = p.produce_batch(topic, messages, partition=0)
        except BufferError:
            queued = 0
        n += queued
        p.poll(0 if queued == per_call else 0.001)
    remaining = p.flush(120)
    elapsed = time.monotonic() - start
    failed = [m["_error"] for m in messages if "_error" in m]
    if remaining or failed:
        raise RuntimeError(f"produce_batch: {remaining} unacknowledged, errors {failed[:3]}")
    return n, elapsed


def build_c(build_dir, name):
    """Compiles bench/NAME.c against librdkafka; None when librdkafka-dev or gcc is missing."""
    if shutil.which("gcc") is None or not Path("/usr/include/librdkafka/rdkafka.h").exists():
        return None
    exe = Path(build_dir) / name
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(REPO / "bench" / f"{name}.c"), "-lrdkafka"],
                   check=True)
    return exe


def c_produce_phase(bootstrap, topic, record_size, max_bytes, build_dir):
    """bench/rdkafka_produce.c writes max_bytes of records. Returns (records, seconds) or None."""
    exe = build_c(build_dir, "rdkafka_produce")
    if exe is None:
        return None
    proc = subprocess.run([str(exe), bootstrap, topic, str(int(max_bytes // record_size)),
                           str(record_size)], stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"rdkafka_produce failed: {proc.stderr.decode(errors='replace')[-500:]}")
    r = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return r["records"], r["seconds"]


def consume_phase(bootstrap, topic, expected, record_size, **extra):
    """Reads `expected` records of partition 0 from the beginning; `extra`: more consumer
    settings (e.g. isolation.level). Returns (records, bytes, seconds)."""
    c = Consumer({
        "bootstrap.servers": bootstrap, "group.id": "weir-bench-assign-only",
        "enable.auto.commit": False, "enable.auto.offset.store": False,
        "fetch.max.bytes": 64 * 2**20, "max.partition.fetch.bytes": 64 * 2**20,
        "receive.message.max.bytes": 64 * 2**20 + 512, "queued.max.messages.kbytes": 1_048_576,
        "fetch.wait.max.ms": 100, **extra,
    })
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    n, nbytes = 0, 0
    start = time.monotonic()
    deadline = start + 300
    while n < expected and time.monotonic() < deadline:
        for msg in c.consume(num_messages=100_000, timeout=1.0):
            if msg.error():
                raise RuntimeError(f"consume: {msg.error()}")
            n += 1
            nbytes += len(msg)
    elapsed = time.monotonic() - start
    c.close()
    if n < expected:
        raise RuntimeError(f"consume: read {n} of {expected} records in 300s")
    return n, nbytes, elapsed


def kcat_consume_phase(bootstrap, topic, expected):
    """The same read with kcat (librdkafka in C): shows the broker's rate without the Python
    client's per-message cost. Returns (records, seconds) or None when kcat is not installed."""
    if shutil.which("kcat") is None:
        return None
    start = time.monotonic()
    proc = subprocess.run(
        ["kcat", "-b", bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q",
         "-f", "%o\n", "-X", "fetch.max.bytes=67108864", "-X", "max.partition.fetch.bytes=67108864",
         "-X", "receive.message.max.bytes=67109376", "-X", "queued.max.messages.kbytes=1048576"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"kcat consume failed: {proc.stderr.decode(errors='replace')[-500:]}")
    n = proc.stdout.count(b"\n")
    if n < expected:
        raise RuntimeError(f"kcat consume: read {n} of {expected} records")
    return n, elapsed


def c_consume_phase(bootstrap, topic, expected, build_dir):
    """The same read with bench/rdkafka_consume.c (librdkafka's C API, nothing done per
    message but counting): the broker's serving rate with the least client cost. Returns
    (records, bytes, seconds) or None when librdkafka-dev or gcc is missing."""
    exe = build_c(build_dir, "rdkafka_consume")
    if exe is None:
        return None
    proc = subprocess.run([str(exe), bootstrap, topic, str(expected)], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=330)
    if proc.returncode != 0:
        raise RuntimeError(f"rdkafka_consume failed: {proc.stderr.decode(errors='replace')[-500:]}")
    r = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return r["records"], r["bytes"], r["seconds"]


def latency_consumer(bootstrap, topic, expected, timeout_s, out):
    """Runs in its own process: reads `expected` records from offset 0, returns latencies (ns)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "weir-bench-latency",
                  "enable.auto.commit": False, "fetch.wait.max.ms": 500, "fetch.min.bytes": 1,
                  "fetch.error.backoff.ms": 10})
    c.assign([TopicPartition(topic, 0, 0)])
    latencies = []
    deadline = time.monotonic() + timeout_s
    out.put("ready")
    while len(latencies) < expected and time.monotonic() < deadline:
        # poll(), not consume(n, timeout): consume() waits to fill its batch, adding latency.
        msg = c.poll(0.2)
        if msg is not None and not msg.error():
            now = time.time_ns()
            latencies.append(now - struct.unpack_from(">q", msg.value())[0])
    c.close()
    out.put(latencies)


def latency_phase(bootstrap, topic, rate, seconds, record_size):
    total = rate * seconds
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=latency_consumer, args=(bootstrap, topic, total, seconds + 30, queue))
    child.start()
    assert queue.get(timeout=60) == "ready"
    # linger.ms=0 here: a 5 ms linger alone would put every record above the 5 ms p99 target.
    p = Producer({"bootstrap.servers": bootstrap, "acks": 1, "linger.ms": 0,
                  "enable.idempotence": False})
    pad = b"\0" * (record_size - 8)
    start = time.monotonic()
    for i in range(total):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        p.produce(topic, value=struct.pack(">q", time.time_ns()) + pad, partition=0)
        p.poll(0)
    p.flush(30)
    latencies = queue.get(timeout=seconds + 60)
    child.join(10)
    if len(latencies) < total:
        raise RuntimeError(f"latency: consumer got {len(latencies)} of {total} records")
    steady = sorted(latencies[rate:])  # first second dropped: connection and fetch warm-up
    pick = lambda q: steady[min(len(steady) - 1, int(q * len(steady)))] / 1e6  # noqa: E731
    return {"latency_p50_ms": pick(0.50), "latency_p99_ms": pick(0.99), "latency_p999_ms": pick(0.999),
            "latency_max_ms": steady[-1] / 1e6}


# ---------------------------------------------------------------- report

def verdict(key, value):
    if key not in TARGETS:
        return ""
    op, target = TARGETS[key]
    ok = {">=": value >= target, "<=": value <= target, "<": value < target}[op]
    return f"{'ok  ' if ok else 'MISS'} (target {op} {target})"


def print_table(result):
    rows = [
        ("produce throughput", "produce_MBps", "MB/s"),
        ("produce, produce_batch()", "batch_produce_MBps", "MB/s"),
        ("broker CPU/GB, produce_batch", "batch_produce_cpu_s_per_GB", "CPU-s/GB"),
        ("produce, C client", "c_produce_MBps", "MB/s"),
        ("broker CPU/GB produced, C", "c_produce_cpu_s_per_GB", "CPU-s/GB"),
        ("consume throughput", "consume_MBps", "MB/s"),
        ("broker CPU per GB produced", "produce_cpu_s_per_GB", "CPU-s/GB"),
        ("broker CPU per GB consumed", "consume_cpu_s_per_GB", "CPU-s/GB"),
        ("consume throughput, kcat", "kcat_consume_MBps", "MB/s"),
        ("broker CPU/GB consumed, kcat", "kcat_consume_cpu_s_per_GB", "CPU-s/GB"),
        ("consume throughput, C client", "c_consume_MBps", "MB/s"),
        ("broker CPU/GB consumed, C", "c_consume_cpu_s_per_GB", "CPU-s/GB"),
        ("e2e latency p50", "latency_p50_ms", "ms"),
        ("e2e latency p99", "latency_p99_ms", "ms"),
        ("e2e latency p99.9", "latency_p999_ms", "ms"),
        ("broker peak RSS (VmHWM)", "broker_peak_rss_MiB", "MiB"),
    ]
    print(f"\n{'metric':<30} {'value':>10}  {'unit':<9} verdict")
    print("-" * 75)
    for label, key, unit in rows:
        if key not in result:
            continue
        print(f"{label:<30} {result[key]:>10.2f}  {unit:<9} {verdict(key, result[key])}")
    print(f"\n{result['records']:,} records x {result['record_size']} B = {result['bytes'] / 1e9:.2f} GB; "
          f"machine: {result['machine']['nproc']} cores, {result['machine']['cpu']}, "
          f"{result['machine']['memory_GiB']} GiB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weir", default=str(REPO / "target" / "release" / "weir"))
    ap.add_argument("--gigabytes", type=float, default=2.0, help="produce phase size (GB)")
    ap.add_argument("--seconds", type=float, default=30, help="produce phase time limit")
    ap.add_argument("--record-size", type=int, default=1024)
    ap.add_argument("--rate", type=int, default=5000, help="latency phase records/s")
    ap.add_argument("--latency-seconds", type=int, default=20)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="weir-bench-") as tmp:
        port = free_port()
        bootstrap = f"127.0.0.1:{port}"
        log = open(Path(tmp) / "broker.log", "wb")
        broker = start_broker(args.weir, Path(tmp) / "data", port, log)
        try:
            create_topic(bootstrap, "bench")
            create_topic(bootstrap, "latency")
            create_topic(bootstrap, "bench_batch")
            create_topic(bootstrap, "bench_c")

            cpu0 = cpu_seconds(broker.pid)
            n, produce_s = produce_phase(bootstrap, "bench", args.record_size,
                                         args.gigabytes * 1e9, args.seconds)
            cpu1 = cpu_seconds(broker.pid)
            nbytes = n * args.record_size
            print(f"produced {n:,} records ({nbytes / 1e9:.2f} GB) in {produce_s:.1f}s", file=sys.stderr)

            extra = {}
            cpu_b0 = cpu_seconds(broker.pid)
            nb, batch_s = batch_produce_phase(bootstrap, "bench_batch", args.record_size,
                                              args.gigabytes * 1e9, args.seconds)
            cpu_b1 = cpu_seconds(broker.pid)
            extra["batch_produce_MBps"] = nb * args.record_size / batch_s / 1e6
            extra["batch_produce_cpu_s_per_GB"] = (cpu_b1 - cpu_b0) / (nb * args.record_size / 1e9)
            print(f"produce_batch: {nb:,} records in {batch_s:.1f}s", file=sys.stderr)
            c_produced = c_produce_phase(bootstrap, "bench_c", args.record_size,
                                         args.gigabytes * 1e9, tmp)
            cpu_c1 = cpu_seconds(broker.pid)
            if c_produced:
                nc, c_s = c_produced
                extra["c_produce_MBps"] = nc * args.record_size / c_s / 1e6
                extra["c_produce_cpu_s_per_GB"] = (cpu_c1 - cpu_b1) / (nc * args.record_size / 1e9)
                print(f"C client produced {nc:,} records in {c_s:.1f}s", file=sys.stderr)
            cpu_reads = cpu_seconds(broker.pid)  # the reads below cover topic "bench" only

            # n + 1: the produce phase's warm-up record is in the topic too.
            n_read, bytes_read, consume_s = consume_phase(bootstrap, "bench", n + 1, args.record_size)
            cpu2 = cpu_seconds(broker.pid)
            print(f"consumed {n_read:,} records ({bytes_read / 1e9:.2f} GB) in {consume_s:.1f}s", file=sys.stderr)

            kcat_result = kcat_consume_phase(bootstrap, "bench", n + 1)
            cpu3 = cpu_seconds(broker.pid)
            if kcat_result:
                print(f"kcat consumed {kcat_result[0]:,} records in {kcat_result[1]:.1f}s", file=sys.stderr)

            c_result = c_consume_phase(bootstrap, "bench", n + 1, tmp)
            cpu4 = cpu_seconds(broker.pid)
            if c_result:
                print(f"C client consumed {c_result[0]:,} records in {c_result[2]:.1f}s", file=sys.stderr)

            latency = latency_phase(bootstrap, "latency", args.rate, args.latency_seconds, args.record_size)
            result = {
                "records": n, "record_size": args.record_size, "bytes": nbytes,
                "produce_MBps": nbytes / produce_s / 1e6,
                "consume_MBps": bytes_read / consume_s / 1e6,
                "produce_cpu_s_per_GB": (cpu1 - cpu0) / (nbytes / 1e9),
                "consume_cpu_s_per_GB": (cpu2 - cpu_reads) / (bytes_read / 1e9),
                **extra,
                **({"kcat_consume_MBps": kcat_result[0] * args.record_size / kcat_result[1] / 1e6,
                    "kcat_consume_cpu_s_per_GB": (cpu3 - cpu2) / (kcat_result[0] * args.record_size / 1e9)}
                   if kcat_result else {}),
                **({"c_consume_MBps": c_result[1] / c_result[2] / 1e6,
                    "c_consume_cpu_s_per_GB": (cpu4 - cpu3) / (c_result[1] / 1e9)}
                   if c_result else {}),
                **latency,
                "broker_peak_rss_MiB": status_kib(broker.pid, "VmHWM") / 1024,
                "broker_rss_end_MiB": status_kib(broker.pid, "VmRSS") / 1024,
                "latency_rate": args.rate, "latency_seconds": args.latency_seconds,
                "machine": machine(),
            }
        except BaseException:
            log.flush()
            tail = (Path(tmp) / "broker.log").read_text(errors="replace").splitlines()[-30:]
            print("---- broker log (tail) ----\n" + "\n".join(tail), file=sys.stderr)
            raise
        finally:
            stop_broker(broker)
            log.close()

    print_table(result)
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()}))


if __name__ == "__main__":
    main()
