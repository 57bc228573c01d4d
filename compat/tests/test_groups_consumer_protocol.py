"""The KIP-848 consumer group protocol with the Java client (kafka-clients 3.9,
group.protocol=consumer), against a `weir broker` process, for each server-side assignor:

- member 1 joins a 6-partition topic and gets every partition;
- member 2 joins: member 1 revokes exactly the 3 partitions member 2 then gets, and keeps the
  other 3 throughout (incremental, no stop-the-world: nothing else is revoked or lost);
- every record is consumed exactly once across the two (both commit after each poll and before
  giving a partition up);
- the broker restarts under the running members: the group's KIP-848 records in
  `__consumer_offsets` bring it back with the same members, epochs and assignments, so the
  members are not fenced, keep their partitions and go on, still exactly once;
- after both commit and leave, and the broker restarts again, a new member resumes exactly from
  the committed offsets.
"""

import subprocess
import threading
import time
from pathlib import Path

import pytest

import ck
from common import topic_name, wait_until

COMPAT = Path(__file__).resolve().parents[1]
JARS = COMPAT / ".deps" / "jars"
CLASSES = COMPAT / ".deps" / "classes"
PARTITIONS = 6


class Member:
    """A WeirConsumerProtocol process and the events it printed."""

    def __init__(self, bootstrap, topic, group, assignor):
        if not (CLASSES / "WeirConsumerProtocol.class").exists():
            pytest.fail("compat/.deps/classes/WeirConsumerProtocol.class missing: run compat/setup.sh")
        classpath = ":".join([str(CLASSES)] + sorted(str(j) for j in JARS.glob("*.jar")))
        self.proc = subprocess.Popen(
            ["java", "-cp", classpath, "WeirConsumerProtocol", bootstrap, topic, group, assignor],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def events(self):
        with self.lock:
            return list(self.lines)

    def _partitions(self, kind):
        out = []
        for line in self.events():
            k, _, rest = line.partition("\t")
            if k == kind and rest:
                out.extend(int(p) for p in rest.split(","))
        return out

    def assigned(self):
        """The partitions owned now: added minus revoked and lost, in event order."""
        owned = set()
        for line in self.events():
            k, _, rest = line.partition("\t")
            parts = {int(p) for p in rest.split(",")} if rest and k in "ARL" else set()
            if k == "A":
                owned |= parts
            elif k in ("R", "L"):
                owned -= parts
        return owned

    def revoked(self):
        return self._partitions("R")

    def lost(self):
        return self._partitions("L")

    def consumed(self):
        """(partition, offset, value) of every record printed."""
        out = []
        for line in self.events():
            if line.startswith("C\t"):
                _, p, o, v = line.split("\t")
                out.append((int(p), int(o), int(v)))
        return out

    def stop(self):
        try:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        self.reader.join(10)
        err = self.proc.stderr.read()
        assert self.proc.returncode == 0, err[-4000:]
        assert self.events()[-1] == "CLOSED", err[-4000:]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def produce(bootstrap, topic, values):
    p = ck.producer(bootstrap)
    for i in values:
        p.produce(topic, value=str(i).encode(), partition=i % PARTITIONS)
    assert p.flush(30) == 0


def check_exactly_once(records, expected):
    keys = [(p, o) for p, o, _ in records]
    assert len(keys) == len(set(keys)), "a record was consumed twice"
    assert sorted(v for _, _, v in records) == list(expected)


@pytest.mark.parametrize("assignor", ["uniform", "range"])
def test_java_consumer_protocol_incremental_rebalance_commit_restart_resume(start_broker, assignor):
    # A short heartbeat interval so revocations are noticed quickly (Kafka's default is 5 s).
    broker = start_broker(overrides={"group.consumer.heartbeat.interval.ms": "500"})
    topic = topic_name(f"kip848-{assignor}")
    group = f"g-kip848-{assignor}"
    ck.create_topic(broker.bootstrap, topic, PARTITIONS)
    produce(broker.bootstrap, topic, range(0, 300))

    members = []
    try:
        m1 = Member(broker.bootstrap, topic, group, assignor)
        members.append(m1)
        wait_until(lambda: m1.assigned() == set(range(PARTITIONS)), 60, "member 1 owns all partitions")
        wait_until(lambda: len(m1.consumed()) >= 300, 60, "member 1 consumed the first 300 records")

        m2 = Member(broker.bootstrap, topic, group, assignor)
        members.append(m2)
        wait_until(lambda: len(m2.assigned()) == 3 and len(m1.assigned()) == 3, 60,
                   "the partitions split 3/3")
        kept, taken = m1.assigned(), m2.assigned()
        assert kept | taken == set(range(PARTITIONS))
        # Incremental: member 1 gave up exactly what member 2 took, and nothing else.
        assert sorted(m1.revoked()) == sorted(taken), m1.events()[-20:]
        assert not m1.lost() and not m2.lost()
        assert not [e for e in m1.events() + m2.events() if e.startswith("F\t")]
        assert m1.events().count(f"A\t{','.join(map(str, range(PARTITIONS)))}") == 1

        produce(broker.bootstrap, topic, range(300, 600))
        wait_until(lambda: len(m1.consumed()) + len(m2.consumed()) >= 600, 60, "600 records consumed")
        time.sleep(1)
        check_exactly_once(m1.consumed() + m2.consumed(), range(600))
        assert {p for p, _, _ in m2.consumed()} == taken

        # Restart under the running members: the group is rebuilt from its records, the
        # members keep their epochs and partitions and carry on.
        events_before = (len(m1.events()), len(m2.events()))
        broker.restart()
        produce(broker.bootstrap, topic, range(600, 900))
        wait_until(lambda: len(m1.consumed()) + len(m2.consumed()) >= 900, 120,
                   "every record consumed after the restart")
        time.sleep(2)  # a few heartbeats with the restarted coordinator
        check_exactly_once(m1.consumed() + m2.consumed(), range(900))
        assert (m1.assigned(), m2.assigned()) == (kept, taken)
        after = m1.events()[events_before[0]:] + m2.events()[events_before[1]:]
        assert not [e for e in after if not e.startswith("C\t")], \
            f"no rebalance, loss or refused commit across the restart: {after[:10]}"
        m1.stop()
        m2.stop()

        # A new member resumes from the committed offsets.
        broker.restart()
        produce(broker.bootstrap, topic, range(900, 1000))
        m3 = Member(broker.bootstrap, topic, group, assignor)
        members.append(m3)
        wait_until(lambda: len(m3.consumed()) >= 100, 60, "the new member consumed the last 100")
        time.sleep(1)
        check_exactly_once(m3.consumed(), range(900, 1000))
        m3.stop()
    finally:
        for m in members:
            m.kill()
