"""Consumer groups with kafka-python: two members split the partitions, commit, and a new
member resumes from the committed offsets after a broker restart."""

import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

import ck
from common import topic_name, wait_until

PARTITIONS = 6


def consumer(bootstrap, group):
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                         enable_auto_commit=False, heartbeat_interval_ms=500,
                         session_timeout_ms=10_000, consumer_timeout_ms=200)


class Member:
    """A kafka-python consumer on its own thread (its poll blocks during a rebalance), which
    commits after every batch."""

    def __init__(self, bootstrap, group, topic):
        self.got = []
        self.lock = threading.Lock()
        self.assigned = set()
        self.stop_flag = threading.Event()
        self.consumer = consumer(bootstrap, group)
        self.consumer.subscribe([topic])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        c = self.consumer
        while not self.stop_flag.is_set():
            batches = c.poll(timeout_ms=100)
            with self.lock:
                self.assigned = {tp.partition for tp in c.assignment()}
            for tp, records in batches.items():
                with self.lock:
                    self.got.extend(int(r.value) for r in records)
                c.commit({tp: OffsetAndMetadata(records[-1].offset + 1, "", -1)})

    def assignment(self):
        with self.lock:
            return set(self.assigned)

    def close(self):
        self.stop_flag.set()
        self.thread.join(15)
        self.consumer.close()


def test_kafka_python_join_commit_resume(start_broker):
    broker = start_broker(overrides={"group.initial.rebalance.delay.ms": "0"})
    topic = topic_name("grp-kp")
    ck.create_topic(broker.bootstrap, topic, PARTITIONS)

    members = [Member(broker.bootstrap, "g-kp", topic) for _ in range(2)]

    def balanced():
        sa, sb = (m.assignment() for m in members)
        return sa and sb and len(sa) + len(sb) == PARTITIONS and not (sa & sb)
    # Generous: under CI load kafka-python only notices the rebalance on its next heartbeat.
    wait_until(balanced, 60, "two kafka-python members splitting the partitions")

    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(300):
        producer.send(topic, value=str(i).encode(), partition=i % PARTITIONS)
    producer.flush(30)

    wait_until(lambda: sum(len(m.got) for m in members) >= 300, 30, "300 records across the group")
    for m in members:
        m.close()
    values = members[0].got + members[1].got
    assert sorted(values) == list(range(300)), "every record exactly once across the group"
    assert members[0].got and members[1].got, "both members consumed"

    broker.restart()
    for i in range(300, 360):
        producer.send(topic, value=str(i).encode(), partition=i % PARTITIONS)
    producer.flush(30)
    producer.close()
    c = consumer(broker.bootstrap, "g-kp")
    c.subscribe([topic])
    resumed = []
    deadline = time.monotonic() + 30
    while len(resumed) < 60 and time.monotonic() < deadline:
        for records in c.poll(timeout_ms=200).values():
            resumed.extend(int(r.value) for r in records)
    committed = sum(c.committed(TopicPartition(topic, p)) or 0 for p in range(PARTITIONS))
    c.close()
    assert sorted(resumed) == list(range(300, 360))
    assert committed == 300
