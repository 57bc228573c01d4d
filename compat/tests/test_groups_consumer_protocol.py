"""The KIP-848 consumer group protocol with real clients against a `weir broker` process, for
each server-side assignor (`group.remote.assignor` uniform and range).

The Java client (kafka-clients 3.9, group.protocol=consumer):

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

librdkafka (confluent-kafka, group.protocol=consumer): three members join one after the other,
each newcomer takes only what the others give up, and every record is consumed exactly once.
"""

import signal
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
            # SIGQUIT makes the JVM print every thread's stack to stdout: where close() waits.
            self.proc.send_signal(signal.SIGQUIT)
            time.sleep(2)
            self.proc.kill()
            self.reader.join(10)
            err = self.proc.stderr.read()
            dump = "\n".join(e for e in self.events() if not e.startswith("C\t"))
            raise AssertionError(f"member did not close within 60 s\n{dump[-20000:]}\n{err[-4000:]}")
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


def start_group(start_broker, name, assignor):
    """A broker with a short heartbeat interval (revocations are noticed quickly; Kafka's
    default is 5 s) and a topic of PARTITIONS partitions holding records 0..299. Returns the
    broker, the topic and the group id to use."""
    broker = start_broker(overrides={"group.consumer.heartbeat.interval.ms": "500"})
    topic = topic_name(f"{name}-{assignor}")
    ck.create_topic(broker.bootstrap, topic, PARTITIONS)
    produce(broker.bootstrap, topic, range(0, 300))
    return broker, topic, f"g-{name}-{assignor}"


def first_member(member_type, broker, topic, group, assignor, members):
    """Starts the group's first member and waits until it owns every partition and has read
    the first 300 records."""
    first = member_type(broker.bootstrap, topic, group, assignor)
    members.append(first)
    wait_until(lambda: first.assigned() == set(range(PARTITIONS)), 60, "member 1 owns all partitions")
    wait_until(lambda: len(first.consumed()) >= 300, 60, "member 1 consumed the first 300 records")
    return first


@pytest.mark.parametrize("assignor", ["uniform", "range"])
def test_java_consumer_protocol_incremental_rebalance_commit_restart_resume(start_broker, assignor):
    broker, topic, group = start_group(start_broker, "kip848", assignor)
    members = []
    try:
        m1 = first_member(Member, broker, topic, group, assignor, members)

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


class RdMember:
    """A librdkafka (confluent-kafka) consumer with group.protocol=consumer on its own thread,
    committing each record synchronously before it polls again."""

    def __init__(self, bootstrap, topic, group, assignor):
        from confluent_kafka import Consumer

        self.lock = threading.Lock()
        self.owned = set()
        self.revoked = []
        self.got = []
        self.errors = []
        self.stop_flag = threading.Event()
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                  "group.protocol": "consumer", "group.remote.assignor": assignor,
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
        self.consumer.subscribe([topic], on_assign=self._assign, on_revoke=self._revoke,
                                on_lost=self._lost)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _assign(self, _c, parts):
        with self.lock:
            self.owned |= {p.partition for p in parts}

    def _revoke(self, _c, parts):
        with self.lock:
            self.owned -= {p.partition for p in parts}
            self.revoked.extend(p.partition for p in parts)

    def _lost(self, _c, parts):
        with self.lock:
            self.owned -= {p.partition for p in parts}
            self.errors.append(f"lost {[p.partition for p in parts]}")

    def _run(self):
        while not self.stop_flag.is_set():
            m = self.consumer.poll(0.1)
            if m is None:
                continue
            if m.error():
                with self.lock:
                    self.errors.append(str(m.error()))
                continue
            with self.lock:
                self.got.append((m.partition(), m.offset(), int(m.value())))
            self.consumer.commit(m, asynchronous=False)

    def assigned(self):
        with self.lock:
            return set(self.owned)

    def consumed(self):
        with self.lock:
            return list(self.got)

    def close(self):
        self.stop_flag.set()
        self.thread.join(30)
        self.consumer.close()


@pytest.mark.parametrize("assignor", ["uniform", "range"])
def test_librdkafka_consumer_protocol_incremental_split(start_broker, assignor):
    """librdkafka's KIP-848 consumer: three members join one after the other; each newcomer
    only takes partitions the others give up (nothing else is revoked), the group ends 2/2/2,
    and every record is consumed exactly once."""
    broker, topic, group = start_group(start_broker, "kip848-rd", assignor)
    members = []
    try:
        first_member(RdMember, broker, topic, group, assignor, members)
        for size in (2, 3):
            before = [m.assigned() for m in members]
            revoked_before = [len(m.revoked) for m in members]
            newcomer = RdMember(broker.bootstrap, topic, group, assignor)
            members.append(newcomer)
            share = PARTITIONS // size
            wait_until(lambda: all(len(m.assigned()) == share for m in members), 60,
                       f"the partitions split {share} each over {size} members")
            # Incremental: the old members gave up exactly what the newcomer took.
            given_up = set()
            for m, owned, n in zip(members, before, revoked_before):
                now = m.assigned()
                assert now <= owned, "an old member gained partitions"
                with m.lock:
                    revoked = set(m.revoked[n:])
                assert revoked == owned - now, "revoked more than moved"
                given_up |= owned - now
            assert newcomer.assigned() == given_up
        produce(broker.bootstrap, topic, range(300, 600))
        wait_until(lambda: sum(len(m.consumed()) for m in members) >= 600, 60, "600 records consumed")
        time.sleep(1)
        check_exactly_once([r for m in members for r in m.consumed()], range(600))
        assert not [e for m in members for e in m.errors]
    finally:
        for m in members:
            m.close()
