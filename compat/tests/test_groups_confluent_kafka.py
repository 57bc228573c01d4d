"""Consumer groups with confluent-kafka (librdkafka) against a weir broker process.

Every test runs its consumers on threads of its own (one librdkafka consumer each), except the
crash test, whose victim is a separate Python process killed with SIGKILL. Brokers run with
group.initial.rebalance.delay.ms=0; consumers heartbeat every 500 ms so a rebalance is noticed
quickly (librdkafka's default is 3 s)."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from confluent_kafka import Consumer, TopicPartition

import ck
from common import topic_name, wait_until

PARTITIONS = 6
GROUP_BROKER = {"group.initial.rebalance.delay.ms": "0"}


def produce(bootstrap, topic, n, start=0):
    """n records with values start..start+n-1, keys spread over the partitions."""
    p = ck.producer(bootstrap)
    for i in range(start, start + n):
        p.produce(topic, key=str(i).encode(), value=str(i).encode(), partition=i % PARTITIONS)
    assert p.flush(30) == 0


class Member:
    """A consumer polling on its own thread, recording what it got and its assignment."""

    def __init__(self, bootstrap, group, topic, **conf):
        self.got = []
        self.assigned = set()
        self.revocations = 0
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        base = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": True,
            "auto.commit.interval.ms": 200,
            "heartbeat.interval.ms": 500,
            "session.timeout.ms": 10_000,
        }
        base.update(conf)
        self.cooperative = base.get("partition.assignment.strategy") == "cooperative-sticky"
        self.consumer = Consumer(base)
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_assign(self, consumer, partitions):
        with self.lock:
            if self.cooperative:
                self.assigned |= {p.partition for p in partitions}
            else:
                self.assigned = {p.partition for p in partitions}

    def _on_revoke(self, consumer, partitions):
        with self.lock:
            self.revocations += 1
            if self.cooperative:
                self.assigned -= {p.partition for p in partitions}
            else:
                self.assigned = set()
        # Commit what was consumed so the next owner starts right after it.
        try:
            consumer.commit(asynchronous=False)
        except Exception:
            pass

    def _run(self):
        while not self.stop_flag.is_set():
            msg = self.consumer.poll(0.1)
            if msg is None or msg.error():
                continue
            with self.lock:
                self.got.append((msg.partition(), msg.offset(), int(msg.value())))

    def assignment(self):
        with self.lock:
            return set(self.assigned)

    def values(self):
        with self.lock:
            return [v for _, _, v in self.got]

    def close(self):
        self.stop_flag.set()
        self.thread.join(10)
        self.consumer.close()

    def abandon(self):
        """Stops polling without leaving the group (the consumer object is not closed)."""
        self.stop_flag.set()
        self.thread.join(10)


def wait_balanced(members, timeout=30):
    """Waits until the members' assignments are disjoint, non-empty and cover every partition."""
    def balanced():
        sets = [m.assignment() for m in members]
        union = set().union(*sets)
        return (all(sets) and sum(len(s) for s in sets) == PARTITIONS and union == set(range(PARTITIONS)))
    wait_until(balanced, timeout, f"{len(members)} members to split {PARTITIONS} partitions "
               f"(now {[sorted(m.assignment()) for m in members]})")


def wait_values(members, expected, timeout=30):
    """Waits until the members together got every value in `expected`, then checks exactly once."""
    def all_in():
        got = Counter(v for m in members for v in m.values())
        return set(expected) <= set(got)
    wait_until(all_in, timeout, f"{len(expected)} records consumed across the group")
    time.sleep(0.5)  # let duplicates, if any, arrive
    got = Counter(v for m in members for v in m.values() if v in expected)
    dups = {v: c for v, c in got.items() if c > 1}
    assert not dups, f"consumed more than once: {sorted(dups.items())[:10]}"


def close_all(members):
    for m in members:
        try:
            m.close()
        except Exception:
            pass


@pytest.mark.parametrize("strategy", ["range", "roundrobin", "cooperative-sticky"])
def test_three_members_split_partitions_and_a_leave_moves_them(start_broker, strategy):
    broker = start_broker(overrides=GROUP_BROKER)
    topic = topic_name(f"grp-{strategy}")
    ck.create_topic(broker.bootstrap, topic, PARTITIONS)
    group = f"g-{strategy}"
    members = [Member(broker.bootstrap, group, topic, **{"partition.assignment.strategy": strategy})
               for _ in range(3)]
    try:
        wait_balanced(members)
        assert all(len(m.assignment()) == 2 for m in members), [m.assignment() for m in members]
        produce(broker.bootstrap, topic, 600)
        wait_values(members, set(range(600)))
        assert all(m.values() for m in members), "every member consumed"

        # One member leaves cleanly: the other two take its partitions.
        leaving = members.pop()
        leaving.close()
        wait_balanced(members)
        produce(broker.bootstrap, topic, 300, start=600)
        wait_values(members, set(range(600, 900)))
    finally:
        close_all(members)


VICTIM = r"""
import sys
from confluent_kafka import Consumer
bootstrap, group, topic = sys.argv[1:4]
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
              "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
def on_assign(consumer, partitions):
    print("ASSIGNED", ",".join(str(p.partition) for p in partitions), flush=True)
c.subscribe([topic], on_assign=on_assign)
while True:
    c.poll(0.1)
"""


def test_killed_member_partitions_move_after_session_timeout(start_broker):
    broker = start_broker(overrides=GROUP_BROKER)
    topic = topic_name("grp-kill")
    ck.create_topic(broker.bootstrap, topic, PARTITIONS)
    group = "g-kill"
    members = [Member(broker.bootstrap, group, topic, **{"session.timeout.ms": 6000}) for _ in range(2)]
    victim = subprocess.Popen([sys.executable, "-c", VICTIM, broker.bootstrap, group, topic],
                              stdout=subprocess.PIPE, text=True)
    try:
        # Wait until the victim holds partitions and the group is balanced over three.
        def three_way():
            sets = [m.assignment() for m in members]
            return all(sets) and sum(len(s) for s in sets) == PARTITIONS - 2
        wait_until(three_way, 30, "a balanced group of three")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        killed_at = time.monotonic()
        wait_balanced(members, timeout=30)
        moved_after = time.monotonic() - killed_at
        # The session timeout (6 s) must pass first; then the rebalance is quick.
        assert 4.0 <= moved_after <= 15.0, moved_after
        produce(broker.bootstrap, topic, 300)
        wait_values(members, set(range(300)))
    finally:
        if victim.poll() is None:
            victim.kill()
        close_all(members)


def test_commit_restart_broker_and_resume(start_broker):
    broker = start_broker(overrides=GROUP_BROKER)
    topic = topic_name("grp-resume")
    ck.create_topic(broker.bootstrap, topic, PARTITIONS)
    produce(broker.bootstrap, topic, 300)
    conf = {"bootstrap.servers": broker.bootstrap, "group.id": "g-resume",
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    c = Consumer(conf)
    c.subscribe([topic])
    seen = set()
    deadline = time.monotonic() + 30
    while len(seen) < 300 and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            seen.add(int(msg.value()))
    assert len(seen) == 300
    c.commit(asynchronous=False)
    committed = c.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    assert sum(tp.offset for tp in committed) == 300
    c.close()

    broker.restart()
    produce(broker.bootstrap, topic, 120, start=300)
    c = Consumer(conf)
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + 30
    while len(got) < 120 and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            got.append(int(msg.value()))
    c.close()
    assert sorted(got) == list(range(300, 420)), "resumed exactly at the committed offsets"


def test_static_member_restart_keeps_partitions_without_rebalancing_others(start_broker):
    broker = start_broker(overrides=GROUP_BROKER)
    topic = topic_name("grp-static")
    ck.create_topic(broker.bootstrap, topic, PARTITIONS)
    group = "g-static"
    conf = {"session.timeout.ms": 10_000}
    a = Member(broker.bootstrap, group, topic, **{"group.instance.id": "a"}, **conf)
    b = Member(broker.bootstrap, group, topic, **{"group.instance.id": "b"}, **conf)
    try:
        wait_balanced([a, b])
        before_a, revocations_b = a.assignment(), b.revocations
        # A static member's close does not leave the group; its replacement takes its place.
        a.close()
        a = Member(broker.bootstrap, group, topic, **{"group.instance.id": "a"}, **conf)
        wait_until(lambda: a.assignment(), 20, "the restarted static member's assignment")
        assert a.assignment() == before_a
        time.sleep(2)
        assert b.revocations == revocations_b, "the other member was not rebalanced"
        produce(broker.bootstrap, topic, 120)
        wait_values([a, b], set(range(120)))
    finally:
        close_all([a, b])


def test_two_groups_each_get_every_record(start_broker):
    broker = start_broker(overrides=GROUP_BROKER)
    topic = topic_name("grp-pubsub")
    ck.create_topic(broker.bootstrap, topic, PARTITIONS)
    queue = [Member(broker.bootstrap, "g-queue", topic) for _ in range(2)]
    audit = [Member(broker.bootstrap, "g-audit", topic)]
    try:
        wait_balanced(queue)
        wait_balanced(audit)
        produce(broker.bootstrap, topic, 400)
        wait_values(queue, set(range(400)))
        wait_values(audit, set(range(400)))
        assert all(m.values() for m in queue), "both members of the queue group got records"
        assert len(set(queue[0].values()) & set(queue[1].values())) == 0
    finally:
        close_all(queue + audit)
