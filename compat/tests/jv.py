"""The Java client (kafka-clients 3.9.1) helpers shared by several test files: running one step
of a compat/java program, and the record files and output lines of WeirCompat."""

import subprocess
from pathlib import Path

import pytest

from common import Got

COMPAT = Path(__file__).resolve().parents[1]
JARS = COMPAT / ".deps" / "jars"
CLASSES = COMPAT / ".deps" / "classes"
JAVA_TIMEOUT_S = 120


def run(program, *args, timeout=JAVA_TIMEOUT_S):
    """Runs `program` (a class compiled by compat/setup.sh) with `args`; returns its stdout.
    Fails the test, with the client's stderr, if it exits non-zero or outlives `timeout`."""
    if not (CLASSES / f"{program}.class").exists():
        pytest.fail(f"compat/.deps/classes/{program}.class missing: run compat/setup.sh")
    classpath = ":".join([str(CLASSES)] + sorted(str(j) for j in JARS.glob("*.jar")))
    try:
        proc = subprocess.run(["java", "-cp", classpath, program, *map(str, args)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        err = (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        raise AssertionError(f"{program} {args[:1]} still running after {timeout}s; stderr tail:\n"
                             f"{err[-3000:]}") from None
    # stderr carries the client's warnings and, on failure, the exception.
    stderr = "\n".join(l for l in proc.stderr.splitlines() if not l.startswith("SLF4J"))
    assert proc.returncode == 0, f"{program} {args[:1]} failed (exit {proc.returncode}):\n{stderr[-4000:]}"
    return proc.stdout


def compat(*args):
    """Runs one WeirCompat step; returns its stdout lines split on tabs."""
    return [line.split("\t") for line in run("WeirCompat", *args).splitlines()]


def write_records_file(path, records):
    """WeirCompat's RECORDS_FILE: seq, key, value, timestamp, name=value;... (ASCII)."""
    with open(path, "w", encoding="ascii") as f:
        for r in records:
            headers = ";".join(f"{k}={v.decode()}" for k, v in r.headers)
            f.write(f"{r.seq}\t{r.key.decode()}\t{r.value.decode()}\t{r.timestamp}\t{headers}\n")


def produce(bootstrap, topic, codec, records, tmp_path):
    """Produces `records` (common.Rec) with the Java producer; returns {seq: (partition, offset)}."""
    records_file = tmp_path / f"records-{topic}.tsv"
    write_records_file(records_file, records)
    lines = compat("produce", bootstrap, topic, codec, records_file)
    errors = [f for f in lines if f[0] == "E"]
    assert not errors, f"{len(errors)} send errors, first: {errors[:5]}"
    acked = {int(f[1]): (int(f[2]), int(f[3])) for f in lines if f[0] == "A"}
    assert len(acked) == len(records), f"{len(acked)} of {len(records)} acknowledged"
    return acked


def parse_consumed(lines):
    """WeirCompat consume's "C" lines as common.Got."""
    got = []
    for f in lines:
        if f[0] != "C":
            continue
        headers = tuple((h.split("=", 1)[0], h.split("=", 1)[1].encode()) for h in f[6].split(";") if h)
        key = None if f[3] == "\\N" else f[3].encode()
        got.append(Got(int(f[1]), int(f[2]), key, f[4].encode(), headers, int(f[5])))
    return got


def consume(bootstrap, topic, partitions, expected, timeout_ms=60_000):
    return parse_consumed(compat("consume", bootstrap, topic, partitions, expected, timeout_ms))
