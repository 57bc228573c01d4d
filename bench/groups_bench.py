"""Consumer-group formation and clean-leave times with librdkafka (confluent-kafka).

Starts a release `weir broker` (group.initial.rebalance.delay.ms=0), a producer writing ~2,000
records/s over 6 partitions, then three consumers in one group:
  formation: from the last member's subscribe() to every member having its 2 partitions and
             a record from each of them;
  leave:     from one member's close() to the other two owning all 6 partitions and having a
             record from each partition they gained.
Run: compat/.venv/bin/python bench/groups_bench.py [heartbeat.interval.ms ...]

Large group: `bench/groups_bench.py large [MEMBERS [PARTITIONS [heartbeat.interval.ms]]]` (default
100 members, 1,000 partitions, 3000 ms): MEMBERS classic-protocol librdkafka consumers (range)
subscribe one after the other to an idle PARTITIONS-partition topic; the time is from the last
member's subscribe() to every member holding its share (the shares disjoint and covering every
partition), i.e. the last rebalance completed. Repeated 3 times with a new group each time.
"""

import os
import subprocess
import sys
import tempfile
import threading
import time
import socket
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

REPO = Path(__file__).resolve().parents[1]
WEIR = os.environ.get("WEIR_BIN", str(REPO / "target" / "release" / "weir"))
PARTS = 6


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Member:
    def __init__(self, bootstrap, group, topic, hb, strategy):
        self.lock = threading.Lock()
        self.assigned = set()
        self.first_at = {}  # partition -> first receive time after the last assignment
        self.stop = threading.Event()
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                           "auto.offset.reset": "latest", "heartbeat.interval.ms": hb,
                           "session.timeout.ms": 10000, "partition.assignment.strategy": strategy})
        self.c.subscribe([topic], on_assign=self.on_assign, on_revoke=self.on_revoke)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def on_assign(self, c, parts):
        with self.lock:
            self.assigned |= {p.partition for p in parts}

    def on_revoke(self, c, parts):
        with self.lock:
            self.assigned -= {p.partition for p in parts}

    def run(self):
        while not self.stop.is_set():
            m = self.c.poll(0.05)
            if m is not None and not m.error():
                with self.lock:
                    self.first_at.setdefault(m.partition(), time.monotonic())

    def reset(self):
        with self.lock:
            self.first_at = {}

    def consuming(self, want):
        with self.lock:
            return self.assigned == want and all(p in self.first_at for p in want)

    def close(self):
        self.stop.set()
        self.t.join()
        self.c.close()


def wait(cond, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return time.monotonic()
        time.sleep(0.005)
    raise TimeoutError


def run(hb, strategy, rounds=3):
    tmp = tempfile.mkdtemp(prefix="weir-groups-bench-")
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = subprocess.Popen([WEIR, "broker", "--override", f"listeners=PLAINTEXT://{bootstrap}",
                               "--override", f"log.dirs={tmp}",
                               "--override", "group.initial.rebalance.delay.ms=0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("bench", num_partitions=PARTS, replication_factor=1)])["bench"].result(30)
        stop = threading.Event()

        def produce():
            p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
            i = 0
            while not stop.is_set():
                p.produce("bench", value=b"x", partition=i % PARTS)
                i += 1
                p.poll(0)
                time.sleep(0.0005)
            p.flush(10)
        threading.Thread(target=produce, daemon=True).start()
        forms, leaves = [], []
        for r in range(rounds):
            group = f"g-{hb}-{strategy}-{r}"
            members = [Member(bootstrap, group, "bench", hb, strategy) for _ in range(3)]
            t0 = time.monotonic()
            def formed():
                sets = [m.assigned for m in members]
                return (sum(len(s) for s in sets) == PARTS and all(len(s) == 2 for s in sets)
                        and all(m.consuming(m.assigned) for m in members))
            forms.append(wait(formed) - t0)
            time.sleep(1)
            leaving = members.pop()
            for m in members:
                m.reset()
            t0 = time.monotonic()
            leaving.close()
            def absorbed():
                sets = [set(m.assigned) for m in members]
                return (set().union(*sets) == set(range(PARTS)) and sum(len(s) for s in sets) == PARTS
                        and all(m.consuming(s) for m, s in zip(members, sets)))
            leaves.append(wait(absorbed) - t0)
            for m in members:
                m.close()
        stop.set()
        return forms, leaves
    finally:
        broker.kill()
        broker.wait()


def run_large(members, partitions, hb, rounds=3):
    tmp = tempfile.mkdtemp(prefix="weir-groups-bench-")
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = subprocess.Popen([WEIR, "broker", "--override", f"listeners=PLAINTEXT://{bootstrap}",
                               "--override", f"log.dirs={tmp}",
                               "--override", "group.initial.rebalance.delay.ms=0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("large", num_partitions=partitions, replication_factor=1)])["large"].result(60)
        times = []
        for r in range(rounds):
            group = f"large-{r}"
            lock = threading.Lock()
            owned = {}

            def callbacks(i):
                def on_assign(c, parts):
                    with lock:
                        owned[i] = {p.partition for p in parts}

                def on_revoke(c, parts):
                    with lock:
                        owned[i] = set()
                return on_assign, on_revoke

            consumers = []
            stop = threading.Event()

            def poller(c):
                while not stop.is_set():
                    c.poll(0.05)
            threads = []
            for i in range(members):
                c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                              "auto.offset.reset": "latest", "heartbeat.interval.ms": hb,
                              "session.timeout.ms": 30000, "partition.assignment.strategy": "range"})
                on_assign, on_revoke = callbacks(i)
                c.subscribe(["large"], on_assign=on_assign, on_revoke=on_revoke)
                t = threading.Thread(target=poller, args=(c,), daemon=True)
                t.start()
                consumers.append(c)
                threads.append(t)
            t0 = time.monotonic()

            def formed():
                with lock:
                    sets = [owned.get(i, set()) for i in range(members)]
                share = partitions // members
                return (all(len(s) >= share for s in sets) and sum(len(s) for s in sets) == partitions
                        and len(set().union(*sets)) == partitions)
            times.append(wait(formed, timeout=300) - t0)
            stop.set()
            for t in threads:
                t.join()
            for c in consumers:
                c.close()
        return times
    finally:
        broker.kill()
        broker.wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["large"]:
        args = [int(a) for a in sys.argv[2:]]
        members = args[0] if len(args) > 0 else 100
        partitions = args[1] if len(args) > 1 else 1000
        hb = args[2] if len(args) > 2 else 3000
        times = run_large(members, partitions, hb)
        print(f"{members} members on {partitions} partitions, heartbeat.interval.ms={hb}: formation ms "
              f"[{', '.join(f'{t * 1000:.0f}' for t in times)}]", flush=True)
        sys.exit(0)
    hbs = [int(a) for a in sys.argv[1:]] or [3000, 500]
    for strategy in ["range", "cooperative-sticky"]:
        for hb in hbs:
            forms, leaves = run(hb, strategy)
            fmt = lambda xs: ", ".join(f"{x * 1000:.0f}" for x in xs)
            print(f"{strategy:18} heartbeat.interval.ms={hb:5}: formation ms [{fmt(forms)}]  clean leave ms [{fmt(leaves)}]",
                  flush=True)
