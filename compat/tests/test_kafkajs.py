"""kafkajs 2.2.4 (Node.js) against weir, through compat/js/weir_kafkajs.js: a round trip with
the idempotent producer (kafkajs has gzip built in; the other codecs need plugins), a group of
two members that splits a topic, and transactions read under both isolation levels."""

import shutil
import subprocess
from pathlib import Path

import pytest

from common import N_PARTITIONS, check_roundtrip, make_records, topic_name
from jv import parse_consumed, write_records_file

JS = Path(__file__).resolve().parents[1] / "js"
NODE_TIMEOUT_S = 120


def kafkajs(*args):
    """Runs one weir_kafkajs.js step; returns its stdout lines split on tabs."""
    if shutil.which("node") is None or not (JS / "node_modules" / "kafkajs").exists():
        pytest.fail("node or compat/js/node_modules/kafkajs missing: run compat/setup.sh")
    proc = subprocess.run(["node", str(JS / "weir_kafkajs.js"), *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=NODE_TIMEOUT_S)
    assert proc.returncode == 0, f"weir_kafkajs {args[0]} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    return [line.split("\t") for line in proc.stdout.splitlines() if line]


def consumed(lines):
    """The "C" lines, which have WeirCompat's layout."""
    return parse_consumed(lines)


@pytest.mark.parametrize("codec", ["none", "gzip"])
def test_roundtrip(broker, codec, tmp_path):
    b = broker.bootstrap
    topic = topic_name(f"kjs-{codec}")
    assert kafkajs("create", b, topic, N_PARTITIONS) == [["CREATED"]]
    records = make_records("kafkajs", codec, n=3_000)
    path = tmp_path / "records.tsv"
    write_records_file(path, records)
    acks = kafkajs("produce", b, topic, codec, path)
    assert acks and all(a[0] == "A" and a[3] == "0" for a in acks), acks
    got = consumed(kafkajs("consume", b, topic, len(records), 60_000, "read_uncommitted"))
    check_roundtrip(records, got)


def test_group_of_two_splits_the_topic(broker):
    b = broker.bootstrap
    topic = topic_name("kjs-group")
    kafkajs("create", b, topic, 6)
    lines = [f for f in kafkajs("group", b, topic, 600) if f[0] == "M"]
    values = [f[4] for f in lines]
    assert sorted(values) == sorted(f"g-{i}" for i in range(600)), "every record exactly once"
    by_member = {f[1] for f in lines}
    assert by_member == {"0", "1"}, "both members read records"
    partitions = {m: {f[2] for f in lines if f[1] == m} for m in by_member}
    assert not partitions["0"] & partitions["1"], partitions


def test_transactions_and_isolation_levels(broker):
    b = broker.bootstrap
    topic = topic_name("kjs-txn")
    kafkajs("create", b, topic, 3)
    assert kafkajs("txn", b, topic) == [["TXN", "33", "30"]]
    committed = consumed(kafkajs("consume", b, topic, 33, 30_000, "read_committed"))
    assert sorted(g.value.decode() for g in committed) == sorted(
        [f"committed-{i}" for i in range(30)] + [f"committed-last-{p}" for p in range(3)])
    everything = consumed(kafkajs("consume", b, topic, 63, 30_000, "read_uncommitted"))
    assert len([g for g in everything if g.value.startswith(b"aborted-")]) == 30
