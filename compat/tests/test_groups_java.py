"""Consumer groups with the Java client (kafka-clients 3.9.1, classic protocol): join,
commit, and a second process resuming from the committed offsets."""

import subprocess
from pathlib import Path

import pytest

import ck
from common import topic_name

COMPAT = Path(__file__).resolve().parents[1]
JARS = COMPAT / ".deps" / "jars"
CLASSES = COMPAT / ".deps" / "classes"
PARTITIONS = 6


def java_consume(bootstrap, topic, group, count, protocol="classic", timeout_ms=30_000):
    if not (CLASSES / "WeirGroups.class").exists():
        pytest.fail("compat/.deps/classes/WeirGroups.class missing: run compat/setup.sh")
    classpath = ":".join([str(CLASSES)] + sorted(str(j) for j in JARS.glob("*.jar")))
    proc = subprocess.run(["java", "-cp", classpath, "WeirGroups", "consume", bootstrap, topic, group,
                           str(count), protocol, str(timeout_ms)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return [int(line.split("\t")[3]) for line in proc.stdout.splitlines() if line.startswith("C\t")]


def test_java_classic_join_commit_resume(start_broker):
    broker = start_broker(overrides={"group.initial.rebalance.delay.ms": "0"})
    topic = topic_name("grp-java")
    ck.create_topic(broker.bootstrap, topic, PARTITIONS)
    p = ck.producer(broker.bootstrap)
    for i in range(200):
        p.produce(topic, value=str(i).encode(), partition=i % PARTITIONS)
    assert p.flush(30) == 0

    first = java_consume(broker.bootstrap, topic, "g-java", 120)
    assert len(first) == 120 and len(set(first)) == 120
    broker.restart()
    rest = java_consume(broker.bootstrap, topic, "g-java", 80)
    assert sorted(first + rest) == list(range(200)), "resumed from the committed offsets, no gap or repeat"
