"""The Java client (kafka-clients 3.9.1) against weir, through compat/java/WeirCompat.java."""

import subprocess
from pathlib import Path

import pytest

from common import (CODECS, N_PARTITIONS, N_RECORDS, Got, SoftChecks, check_offsets, check_roundtrip,
                    check_time_offsets, make_records, partition_counts, time_queries, topic_name,
                    wait_until)

COMPAT = Path(__file__).resolve().parents[1]
JARS = COMPAT / ".deps" / "jars"
CLASSES = COMPAT / ".deps" / "classes"
JAVA_TIMEOUT_S = 120


def java(*args):
    """Runs one WeirCompat step; returns its stdout lines split on tabs."""
    if not (CLASSES / "WeirCompat.class").exists():
        pytest.fail("compat/.deps/classes/WeirCompat.class missing: run compat/setup.sh")
    classpath = ":".join([str(CLASSES)] + sorted(str(j) for j in JARS.glob("*.jar")))
    try:
        proc = subprocess.run(["java", "-cp", classpath, "WeirCompat", *map(str, args)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=JAVA_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise AssertionError(f"WeirCompat {args[0]} still running after {JAVA_TIMEOUT_S}s; stderr tail:\n"
                             f"{err[-3000:]}") from None
    # stderr carries the client's warnings and, on failure, the exception.
    stderr = "\n".join(l for l in proc.stderr.splitlines() if not l.startswith("SLF4J"))
    assert proc.returncode == 0, f"WeirCompat {args[0]} failed (exit {proc.returncode}):\n{stderr[-4000:]}"
    return [line.split("\t") for line in proc.stdout.splitlines()]


def write_records_file(path, records):
    with open(path, "w", encoding="ascii") as f:
        for r in records:
            headers = ";".join(f"{k}={v.decode()}" for k, v in r.headers)
            f.write(f"{r.seq}\t{r.key.decode()}\t{r.value.decode()}\t{r.timestamp}\t{headers}\n")


def parse_consumed(lines):
    got = []
    for f in lines:
        if f[0] != "C":
            continue
        headers = tuple((h.split("=", 1)[0], h.split("=", 1)[1].encode()) for h in f[6].split(";") if h)
        key = None if f[3] == "\\N" else f[3].encode()
        got.append(Got(int(f[1]), int(f[2]), key, f[4].encode(), headers, int(f[5])))
    return got


def list_offsets(bootstrap, topic, queries):
    """queries: [(partition, spec)] -> {(source, partition, spec): offset or None} for both the
    Admin API and the consumer's beginningOffsets/endOffsets/offsetsForTimes."""
    lines = java("offsets", bootstrap, topic, *[f"{p}:{spec}" for p, spec in queries])
    return {(f[1], int(f[2]), f[3]): (None if int(f[4]) < 0 else int(f[4])) for f in lines if f[0] == "O"}


def topics(bootstrap):
    return {f[1] for f in java("topics", bootstrap) if f[0] == "T"}


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip(broker, codec, tmp_path):
    bootstrap = broker.bootstrap
    topic = topic_name(f"java-{codec}")
    assert java("create", bootstrap, topic, N_PARTITIONS) == [["CREATED"]]

    records = make_records("java", codec)
    records_file = tmp_path / "records.tsv"
    write_records_file(records_file, records)
    lines = java("produce", bootstrap, topic, codec, records_file)
    errors = [f for f in lines if f[0] == "E"]
    assert not errors, f"{len(errors)} send errors, first: {errors[:5]}"
    acked = {int(f[1]): (int(f[2]), int(f[3])) for f in lines if f[0] == "A"}
    assert len(acked) == N_RECORDS

    consumed = parse_consumed(java("consume", bootstrap, topic, N_PARTITIONS, N_RECORDS, 60_000))
    check_roundtrip(records, consumed, acked=acked)

    counts = partition_counts(consumed)
    parts = range(N_PARTITIONS)
    soft = SoftChecks()

    def check_earliest_latest():
        answers = list_offsets(bootstrap, topic,
                               [(p, "earliest") for p in parts] + [(p, "latest") for p in parts])
        for source in ("admin", "consumer"):
            soft.check(check_offsets, f"{source} earliest",
                       {p: answers[(source, p, "earliest")] for p in parts}, {p: 0 for p in parts})
            soft.check(check_offsets, f"{source} latest",
                       {p: answers[(source, p, "latest")] for p in parts}, {p: counts[p] for p in parts})

    def check_by_time():
        queries = time_queries(consumed)
        answers = list_offsets(bootstrap, topic, [(p, ts) for p, probes in queries.items() for ts, _ in probes])
        for source in ("admin", "consumer"):
            soft.check(check_time_offsets, f"Java {source}",
                       lambda p, ts: answers[(source, p, str(ts))], queries)

    def delete_and_check_gone():
        assert java("delete", bootstrap, topic) == [["DELETED"]]
        wait_until(lambda: topic not in topics(bootstrap), 30, f"{topic} gone")

    soft.check(check_earliest_latest)
    soft.check(check_by_time)
    soft.check(delete_and_check_gone)
    soft.finish()


def test_describe_cluster(broker):
    lines = java("cluster", broker.bootstrap)
    assert [f for f in lines if f[0] == "N"] == [["N", "1", "127.0.0.1", str(broker.port)]]
    assert ["CONTROLLER", "1"] in lines
    cluster_id = [f[1] for f in lines if f[0] == "CLUSTER_ID"]
    assert cluster_id and cluster_id[0] not in ("", "null"), lines
