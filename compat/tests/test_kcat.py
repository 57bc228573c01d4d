"""kcat from Debian 12 (librdkafka 2.0.2, an old client) against weir.

kcat cannot create or delete topics, so those steps use confluent-kafka's AdminClient; kcat
cannot set per-record headers either (-H applies to every record of a run), so its records
carry the same two headers each."""

import json
import re
import shutil
import subprocess

import pytest

import ck
from common import (CODECS, N_PARTITIONS, N_RECORDS, Got, SoftChecks, check_offsets, check_roundtrip,
                    check_time_offsets, make_records, partition_counts, time_queries, topic_name)

KCAT_TIMEOUT_S = 120
PARTS = list(range(N_PARTITIONS))
CONSUME_FORMAT = r"%p\t%o\t%k\t%s\t%T\t%h\n"


@pytest.fixture(autouse=True)
def need_kcat():
    if shutil.which("kcat") is None:
        pytest.fail("kcat not installed: run compat/setup.sh")


def kcat(bootstrap, *args, stdin=None):
    proc = subprocess.run(["kcat", "-b", bootstrap, *map(str, args)], input=stdin,
                          capture_output=True, timeout=KCAT_TIMEOUT_S)
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, f"kcat {' '.join(map(str, args))} exited {proc.returncode}:\n{stderr[-3000:]}"
    return proc.stdout.decode(errors="replace"), stderr


def produce(bootstrap, topic, records, codec):
    lines = b"".join(r.key + b":" + r.value + b"\n" for r in records)
    header_args = [a for name, value in records[0].headers for a in ("-H", f"{name}={value.decode()}")]
    _, stderr = kcat(bootstrap, "-P", "-t", topic, "-K:", "-z", codec, *header_args,
                     "-X", "acks=all", stdin=lines)
    failures = [l for l in stderr.splitlines() if "fail" in l.lower() or "error" in l.lower()]
    assert not failures, f"kcat -P reported: {failures[:5]}"


def parse_headers(text):
    return tuple((h.split("=", 1)[0], h.split("=", 1)[1].encode()) for h in text.split(",") if h)


def consume(bootstrap, topic):
    stdout, _ = kcat(bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", CONSUME_FORMAT)
    got = []
    for line in stdout.splitlines():
        p, o, k, v, ts, h = line.split("\t")
        got.append(Got(int(p), int(o), k.encode(), v.encode(), parse_headers(h), int(ts)))
    return got


def query_offsets(bootstrap, topic, partition_ts):
    """kcat -Q -t topic:partition:ts ... -> {partition: offset or None}; ts -2/-1 = earliest/latest."""
    args = [a for p, ts in partition_ts for a in ("-t", f"{topic}:{p}:{ts}")]
    stdout, _ = kcat(bootstrap, "-Q", *args)
    found = {}
    for line in stdout.splitlines():
        m = re.fullmatch(r"(\S+) \[(\d+)\] offset (-?\d+)", line.strip())
        assert m, f"unexpected kcat -Q output line: {line!r}\nfull output:\n{stdout}"
        found[int(m.group(2))] = None if int(m.group(3)) < 0 else int(m.group(3))
    return found


def metadata(bootstrap):
    stdout, _ = kcat(bootstrap, "-L", "-J")
    return json.loads(stdout)


def topic_metadata(bootstrap, topic):
    return next((t for t in metadata(bootstrap)["topics"] if t["topic"] == topic), None)


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip(broker, codec):
    bootstrap = broker.bootstrap
    topic = topic_name(f"kcat-{codec}")
    ck.create_topic(bootstrap, topic, N_PARTITIONS)

    records = make_records("kcat", codec, base_ts=False, per_record_headers=False)
    produce(bootstrap, topic, records, codec)
    consumed = consume(bootstrap, topic)
    assert len(consumed) == N_RECORDS, f"kcat -C -e read {len(consumed)} of {N_RECORDS} records"
    check_roundtrip(records, consumed)
    counts = partition_counts(consumed)
    assert len(counts) == N_PARTITIONS, f"keys should spread over all partitions: {counts}"

    soft = SoftChecks()
    soft.check(lambda: check_offsets("kcat -Q earliest (-2)",
                                     query_offsets(bootstrap, topic, [(p, -2) for p in PARTS]),
                                     {p: 0 for p in PARTS}))
    soft.check(lambda: check_offsets("kcat -Q latest (-1)",
                                     query_offsets(bootstrap, topic, [(p, -1) for p in PARTS]),
                                     {p: counts[p] for p in PARTS}))
    soft.check(check_time_offsets, "kcat -Q",
               lambda p, ts: query_offsets(bootstrap, topic, [(p, ts)])[p], time_queries(consumed))

    def delete_and_check_gone():
        ck.delete_topic_and_check_gone(bootstrap, topic)
        assert topic_metadata(bootstrap, topic) is None

    soft.check(delete_and_check_gone)
    soft.finish()


def test_metadata_listing(broker):
    topic = topic_name("kcat-meta")
    ck.create_topic(broker.bootstrap, topic, N_PARTITIONS)
    md = metadata(broker.bootstrap)
    assert [(b["id"], b["name"]) for b in md["brokers"]] == [(1, broker.bootstrap)], md["brokers"]
    t = topic_metadata(broker.bootstrap, topic)
    assert t is not None, f"{topic} not in kcat -L: {md}"
    assert sorted(p["partition"] for p in t["partitions"]) == PARTS
    for p in t["partitions"]:
        assert p["leader"] == 1 and [r["id"] for r in p["replicas"]] == [1] \
            and [r["id"] for r in p["isrs"]] == [1], p
    plain, _ = kcat(broker.bootstrap, "-L")
    assert f'topic "{topic}" with 3 partitions' in plain, plain


def test_auto_create_on_produce(start_broker):
    b = start_broker(overrides={"num.partitions": 3, "auto.create.topics.enable": "true"})
    topic = topic_name("kcat-auto")
    records = make_records("kcat", "none", n=300, base_ts=False, per_record_headers=False)
    produce(b.bootstrap, topic, records, "none")
    t = topic_metadata(b.bootstrap, topic)
    assert t is not None and len(t["partitions"]) == 3, t
    consumed = consume(b.bootstrap, topic)
    check_roundtrip(records, consumed)
