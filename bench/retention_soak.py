#!/usr/bin/env python3
"""Long-run retention check: write several GiB into a topic with a small retention.bytes and
show that the broker's disk use stays bounded.

Starts its own `weir broker` (target/release/weir, or $WEIR_BIN) on a free 127.0.0.1 port
with a temporary log dir, creates a topic with `segment.bytes` and `retention.bytes` small,
produces `--gib` GiB with confluent-kafka as fast as the broker takes it, and samples the
log dir's allocated size (st_blocks, what `du` reports) every 100 ms. Prints the largest
size seen, the size at the end, the bound Kafka's rules give
(partitions x (retention.bytes + segment.bytes) + what arrives between two retention passes)
and the final low/high watermarks.

    compat/.venv/bin/python bench/retention_soak.py --gib 2
"""

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from librdkafka_bench import free_port, start_broker, stop_broker  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MIB = 1 << 20



def dir_bytes(path):
    """Allocated bytes under `path` (files may vanish while we walk: retention)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gib", type=float, default=2.0, help="GiB to produce")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--segment-mib", type=int, default=16)
    ap.add_argument("--retention-mib", type=int, default=64, help="retention.bytes per partition")
    ap.add_argument("--check-interval-ms", type=int, default=500)
    ap.add_argument("--value-bytes", type=int, default=10_000)
    ap.add_argument("--delete-delay-ms", type=int, default=1000,
                    help="log.segment.delete.delay.ms: deleted segments wait this long as "
                         "*.deleted files (Kafka's default 60000 keeps a minute of writes)")
    args = ap.parse_args()

    weir = Path(os.environ.get("WEIR_BIN", REPO / "target" / "release" / "weir"))
    tmp = tempfile.TemporaryDirectory(prefix="weir-soak-")
    datadir = Path(tmp.name) / "data"
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    log = open(Path(tmp.name) / "broker.log", "wb")
    broker = start_broker(weir, datadir, port, log,
                          [f"log.retention.check.interval.ms={args.check_interval_ms}",
                           f"log.segment.delete.delay.ms={args.delete_delay_ms}"])
    try:
        topic = "soak"
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic(topic, args.partitions, 1, config={
            "segment.bytes": str(args.segment_mib * MIB),
            "retention.bytes": str(args.retention_mib * MIB),
        })])[topic].result(30)

        samples = []
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                samples.append((time.monotonic(), dir_bytes(datadir)))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        target = int(args.gib * (1 << 30))
        value = os.urandom(args.value_bytes)  # incompressible, not that it matters: no codec
        p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 1_000_000,
                      "queue.buffering.max.kbytes": 256 * 1024, "acks": 1,
                      "enable.idempotence": False, "compression.type": "none"})
        errors = []
        sent = 0
        started = time.monotonic()
        while sent < target:
            try:
                p.produce(topic, value=value,
                          on_delivery=lambda err, _m: err is not None and errors.append(err))
                sent += len(value)
            except BufferError:
                p.poll(0.05)
            p.poll(0)
        assert p.flush(120) == 0, "records left unacknowledged"
        elapsed = time.monotonic() - started
        # Let one more retention pass and the delayed removals run, then take the final size.
        time.sleep((2 * args.check_interval_ms + 1.5 * args.delete_delay_ms) / 1000 + 0.5)
        stop.set()
        sampler.join()
        final = dir_bytes(datadir)

        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "soak"})
        marks = [c.get_watermark_offsets(TopicPartition(topic, i), timeout=10, cached=False)
                 for i in range(args.partitions)]
        c.close()

        peak_t, peak = max(samples, key=lambda s: s[1])
        rate = sent / elapsed
        bound = args.partitions * (args.retention_mib + args.segment_mib) * MIB
        # Deleted segments stay on disk as *.deleted for the delay (plus one sweep, at most
        # a quarter of it), as in Kafka.
        between_passes = rate * (args.check_interval_ms + 1.25 * args.delete_delay_ms) / 1000
        print(f"produced           {sent / (1 << 30):.2f} GiB in {elapsed:.1f} s "
              f"({rate / MIB:.0f} MiB/s), delivery errors: {len(errors)}")
        print(f"retention          {args.partitions} partitions x retention.bytes "
              f"{args.retention_mib} MiB, segment.bytes {args.segment_mib} MiB, "
              f"check every {args.check_interval_ms} ms")
        print(f"disk use: peak     {peak / MIB:.0f} MiB (at {peak_t - started:.1f} s), "
              f"final {final / MIB:.0f} MiB, samples {len(samples)}")
        print(f"Kafka's bound      {bound / MIB:.0f} MiB kept + up to {between_passes / MIB:.0f} MiB "
              f"arriving between passes and file.delete.delay.ms = "
              f"{(bound + between_passes) / MIB:.0f} MiB")
        print(f"watermarks         {marks}")
        ok = not errors and peak <= bound + between_passes + 64 * MIB
        print("BOUNDED" if ok else "NOT BOUNDED")
        return 0 if ok else 1
    finally:
        stop_broker(broker)
        log.close()
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
