"""Client-independent helpers: waiting, the records every client produces, and the checks on
what comes back. Each client test turns its client's results into `Got` tuples and calls
`check_roundtrip`, so all clients are held to exactly the same expectations."""

import time
import uuid
from collections import defaultdict
from typing import NamedTuple, Optional

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
N_RECORDS = 10_000
N_PARTITIONS = 3
N_KEYS = 1_000  # keys repeat, so we also see that one key always lands in one partition
MAX_PROBLEMS_SHOWN = 15


def wait_until(condition, timeout_s, what, interval_s=0.05):
    """Polls `condition` until it returns a truthy value (returned) or `timeout_s` passes."""
    deadline = time.monotonic() + timeout_s
    last_error = None
    while True:
        try:
            result = condition()
            if result:
                return result
        except AssertionError as e:  # a condition may assert to explain why it is not met yet
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}{detail}")
        time.sleep(interval_s)


def topic_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def now_ms():
    return time.time_ns() // 1_000_000


class Rec(NamedTuple):
    """A record as produced: `seq` is its index in produce order."""
    seq: int
    key: bytes
    value: bytes
    headers: tuple  # ((name: str, value: bytes), ...)
    timestamp: Optional[int]  # CreateTime set by the producer, None = let the client stamp it


class Got(NamedTuple):
    """A record as consumed (or as acknowledged by a delivery report: value/key/headers only)."""
    partition: int
    offset: int
    key: Optional[bytes]
    value: bytes
    headers: tuple
    timestamp: Optional[int] = None


def make_records(client, codec, n=N_RECORDS, base_ts=None, per_record_headers=True):
    """Keyed records with headers; values are unique, of varied length and compressible.
    Timestamps start an hour back (clearly producer-set CreateTime), 1 ms apart."""
    if base_ts is None:
        base_ts = now_ms() - 3_600_000
    records = []
    for i in range(n):
        key = f"key-{i % N_KEYS:04d}".encode()
        value = f"{client}|{codec}|{i:06d}|".encode() + b"x" * (i % 200)
        if per_record_headers:
            headers = (("seq", str(i).encode()), ("codec", codec.encode()))
        else:
            headers = (("client", client.encode()), ("codec", codec.encode()))
        timestamp = None if base_ts is False else base_ts + i
        records.append(Rec(i, key, value, headers, timestamp))
    return records


def seq_of(value):
    return int(value.split(b"|")[2])


def _fail_if(problems, title):
    if problems:
        shown = "\n  ".join(problems[:MAX_PROBLEMS_SHOWN])
        more = f"\n  ... and {len(problems) - MAX_PROBLEMS_SHOWN} more" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        raise AssertionError(f"{title}: {len(problems)} problem(s)\n  {shown}{more}")


def check_roundtrip(sent, consumed, acked=None, n_partitions=N_PARTITIONS, first_offsets=None,
                    check_timestamps=True):
    """Checks that `consumed` (list of Got) is exactly `sent` (list of Rec):
    every record once, same key/value/headers (and CreateTime), offsets contiguous from
    `first_offsets[p]` (0 by default) in each partition, produce order kept per partition,
    each key in a single partition, and -- if `acked` (seq -> (partition, offset)) is given --
    each record at the partition/offset its delivery report named."""
    problems = []
    by_seq = {}
    for got in consumed:
        seq = seq_of(got.value)
        if seq in by_seq:
            problems.append(f"duplicate record seq={seq}: {by_seq[seq]} and {got}")
        by_seq[seq] = got
    missing = [r.seq for r in sent if r.seq not in by_seq]
    if missing:
        problems.append(f"{len(missing)} of {len(sent)} records not consumed, e.g. seq {missing[:10]}")
    for rec in sent:
        got = by_seq.get(rec.seq)
        if got is None:
            continue
        if got.key != rec.key:
            problems.append(f"seq {rec.seq}: key {got.key!r} != sent {rec.key!r}")
        if got.value != rec.value:
            problems.append(f"seq {rec.seq}: value {got.value[:40]!r} != sent {rec.value[:40]!r}")
        if tuple(got.headers) != tuple(rec.headers):
            problems.append(f"seq {rec.seq}: headers {got.headers!r} != sent {rec.headers!r}")
        if check_timestamps and rec.timestamp is not None and got.timestamp != rec.timestamp:
            problems.append(f"seq {rec.seq}: timestamp {got.timestamp} != sent CreateTime {rec.timestamp}")
        if acked is not None and acked.get(rec.seq) != (got.partition, got.offset):
            problems.append(f"seq {rec.seq}: consumed at (partition, offset) {(got.partition, got.offset)}"
                            f" but delivery report said {acked.get(rec.seq)}")

    per_partition = defaultdict(list)
    for got in consumed:
        per_partition[got.partition].append(got)
    unknown = set(per_partition) - set(range(n_partitions))
    if unknown:
        problems.append(f"records from partitions {sorted(unknown)} of a {n_partitions}-partition topic")
    for p, gots in sorted(per_partition.items()):
        start = (first_offsets or {}).get(p, 0)
        offsets = [g.offset for g in gots]
        if offsets != list(range(start, start + len(gots))):
            first_bad = next(i for i, o in enumerate(offsets) if o != start + i)
            problems.append(f"partition {p}: offsets not contiguous from {start}: "
                            f"position {first_bad} has offset {offsets[first_bad]}")
        seqs = [seq_of(g.value) for g in gots]
        for a, b in zip(seqs, seqs[1:]):
            if b <= a:
                problems.append(f"partition {p}: order not kept: seq {a} consumed before seq {b}")
                break
    key_partitions = defaultdict(set)
    for got in consumed:
        key_partitions[got.key].add(got.partition)
    split = {k: v for k, v in key_partitions.items() if len(v) > 1}
    if split:
        problems.append(f"{len(split)} keys spread over several partitions, e.g. {next(iter(split.items()))}")
    _fail_if(problems, "round trip mismatch")
    return {p: len(g) for p, g in per_partition.items()}


def partition_counts(consumed):
    counts = defaultdict(int)
    for got in consumed:
        counts[got.partition] += 1
    return dict(counts)


def time_queries(consumed):
    """For each partition: [(timestamp, expected offset or None)] probing before the first
    record, at a middle record, just after it, and after the last record. Kafka's answer is
    the first offset whose timestamp is >= the target, or none."""
    per_partition = defaultdict(list)
    for got in consumed:
        per_partition[got.partition].append(got)
    queries = {}
    for p, gots in per_partition.items():
        gots.sort(key=lambda g: g.offset)
        mid = gots[len(gots) // 2]

        def expected(ts):
            return next((g.offset for g in gots if g.timestamp >= ts), None)

        probes = [gots[0].timestamp - 60_000, mid.timestamp, mid.timestamp + 1,
                  max(g.timestamp for g in gots) + 60_000]
        queries[p] = [(ts, expected(ts)) for ts in probes]
    return queries


class SoftChecks:
    """Runs independent checks, keeps going after a failed one, and fails at the end with all
    of them -- so one broker bug does not hide the next step's result."""

    def __init__(self):
        self.failures = []

    def check(self, fn, *args, **kwargs):
        try:
            fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - every kind of failure is reported at the end
            self.failures.append(f"{type(e).__name__}: {e}")

    def finish(self):
        if self.failures:
            raise AssertionError(f"{len(self.failures)} check(s) failed:\n" + "\n".join(self.failures))


def check_offsets(label, actual, expected):
    """actual/expected: {partition: offset}; reports every partition that differs."""
    problems = [f"partition {p}: got {actual.get(p)!r}, expected {expected[p]!r}"
                for p in sorted(expected) if actual.get(p) != expected[p]]
    _fail_if(problems, f"{label} offsets")


def check_time_offsets(label, answer, queries):
    """answer(partition, timestamp) -> offset or None; queries as built by time_queries."""
    problems = []
    for p, probes in sorted(queries.items()):
        for ts, want in probes:
            got = answer(p, ts)
            if got != want:
                problems.append(f"partition {p}, timestamp {ts}: got offset {got!r}, expected {want!r}")
    _fail_if(problems, f"{label} offsets by timestamp")
