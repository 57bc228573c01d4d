"""Transactions with the Java client (kafka-clients 3.9.1): a transactional producer commits,
aborts and commits again across three partitions; read_committed and read_uncommitted Java
consumers; zombie fencing between two producers with the same transactional.id."""

import subprocess
import time
import uuid
from pathlib import Path

import pytest

import ck
from common import topic_name

COMPAT = Path(__file__).resolve().parents[1]
JARS = COMPAT / ".deps" / "jars"
CLASSES = COMPAT / ".deps" / "classes"


def java(*args, timeout=90):
    if not (CLASSES / "WeirTxn.class").exists():
        pytest.fail("compat/.deps/classes/WeirTxn.class missing: run compat/setup.sh")
    classpath = ":".join([str(CLASSES)] + sorted(str(j) for j in JARS.glob("*.jar")))
    proc = subprocess.run(["java", "-cp", classpath, "WeirTxn", *map(str, args)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout


def consumed(out):
    return sorted(line.split("\t", 1)[1] for line in out.splitlines() if line.startswith("C\t"))


def test_java_commit_abort_and_isolation_levels(broker):
    b = broker.bootstrap
    topic = topic_name("txn-java")
    ck.create_topic(b, topic, 3)
    java("produce", b, topic, f"tx-{uuid.uuid4()}", 3)
    committed = consumed(java("consume", b, topic, 3, "read_committed", 18))
    assert len(committed) == 18, committed
    assert not any(v.startswith("a-") for v in committed)
    everything = consumed(java("consume", b, topic, 3, "read_uncommitted", 33))
    assert len(everything) == 33
    assert sum(v.startswith("a-") for v in everything) == 15


def test_java_zombie_is_fenced(broker):
    b = broker.bootstrap
    topic = topic_name("txn-java-fence")
    ck.create_topic(b, topic, 3)
    out = java("fence", b, topic, f"tx-{uuid.uuid4()}")
    assert "FENCED" in out.split(), out
    assert consumed(java("consume", b, topic, 3, "read_committed", 1)) == ["new"]


def test_idle_transactional_id_expires(start_broker):
    """transactional.id.expiration.ms: an id with no transaction in progress is forgotten; the
    Java Admin client's describeTransactions then gets TRANSACTIONAL_ID_NOT_FOUND."""
    broker = start_broker({"transactional.id.expiration.ms": "3000"})
    b = broker.bootstrap
    topic = topic_name("txn-java-expiry")
    ck.create_topic(b, topic, 3)
    tid = f"tx-{uuid.uuid4()}"
    java("produce", b, topic, tid, 3)
    state = java("describe", b, tid).split()
    assert state[:2] == ["STATE", "CompleteCommit"], state
    deadline = time.monotonic() + 30
    while java("describe", b, tid).strip() != "NOT_FOUND":
        assert time.monotonic() < deadline, "the idle transactional id did not expire"
        time.sleep(1)
