"""Records cross between clients unchanged: what `weir produce` writes, confluent-kafka
(librdkafka) and the Java client read back, and what they write, `weir consume` prints. Keys,
values, headers, offsets and per-partition order are compared record by record, and the Java
producer and `weir produce` are shown to put each key on the same partition (both use the
murmur2 default partitioner)."""

import subprocess

import ck
import jv
from common import Got, check_roundtrip, make_records, topic_name
from conftest import WEIR_BIN

N = 3_000
PARTITIONS = 3


def weir(*args, stdin=None, timeout=120):
    proc = subprocess.run([str(WEIR_BIN), *map(str, args)], input=stdin, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, f"weir {args[:1]} failed: {proc.stderr[-3000:]}"
    return proc.stdout


def test_weir_produce_is_read_by_confluent_kafka_and_java(broker, tmp_path):
    b = broker.bootstrap
    topic = topic_name("from-weir")
    ck.create_topic(b, topic, PARTITIONS)
    # The console producer cannot set timestamps: the records get the producer's clock.
    records = make_records("weir", "lz4", n=N, base_ts=False)
    lines = "".join(
        ",".join(f"{k}:{v.decode()}" for k, v in r.headers) + f"\t{r.key.decode()}\t{r.value.decode()}\n"
        for r in records)
    weir("produce", "--bootstrap-server", b, "--topic", topic, "--compression-codec", "lz4",
         "--property", "parse.key=true", "--property", "parse.headers=true", stdin=lines)

    by_confluent = ck.consume_all(b, topic, range(PARTITIONS), N)
    check_roundtrip(records, by_confluent, n_partitions=PARTITIONS)
    by_java = jv.consume(b, topic, PARTITIONS, N)
    check_roundtrip(records, by_java, n_partitions=PARTITIONS)

    # The Java producer's default partitioner puts every key where `weir produce` put it.
    java_topic = topic_name("from-java-keys")
    ck.create_topic(b, java_topic, PARTITIONS)
    java_acked = jv.produce(b, java_topic, "none", make_records("java", "none", n=N), tmp_path)
    java_partition = {records[seq].key: p for seq, (p, _) in java_acked.items()}
    weir_partition = {g.key: g.partition for g in by_confluent}
    moved = {k: (weir_partition[k], p) for k, p in java_partition.items() if weir_partition[k] != p}
    assert not moved, f"{len(moved)} keys on another partition than Java's, e.g. {list(moved.items())[:3]}"


def parse_weir_consume(out):
    """`weir consume` lines printed with timestamp, partition, offset, headers, key, value."""
    got = []
    for line in out.splitlines():
        ts, partition, offset, headers, key, value = line.split("\t")
        assert ts.startswith("CreateTime:"), line
        hs = () if headers == "NO_HEADERS" else tuple(
            (h.split(":", 1)[0], h.split(":", 1)[1].encode()) for h in headers.split(","))
        got.append(Got(int(partition.removeprefix("Partition:")), int(offset.removeprefix("Offset:")),
                          key.encode(), value.encode(), hs, int(ts.removeprefix("CreateTime:"))))
    return got


def weir_consume_all(b, topic):
    out = weir("consume", "--bootstrap-server", b, "--topic", topic, "--from-beginning",
               "--max-messages", N, "--timeout-ms", 30_000,
               "--property", "print.timestamp=true", "--property", "print.partition=true",
               "--property", "print.offset=true", "--property", "print.headers=true",
               "--property", "print.key=true")
    return parse_weir_consume(out)


def test_confluent_kafka_and_java_produce_is_read_by_weir_consume(broker, tmp_path):
    b = broker.bootstrap
    for client, codec in (("confluent", "gzip"), ("java", "zstd")):
        topic = topic_name(f"to-weir-{client}")
        ck.create_topic(b, topic, PARTITIONS)
        records = make_records(client, codec, n=N)
        if client == "confluent":
            acked = ck.produce_all(b, topic, records, codec)
        else:
            acked = jv.produce(b, topic, codec, records, tmp_path)
        check_roundtrip(records, weir_consume_all(b, topic), acked=acked, n_partitions=PARTITIONS)
