"""aiokafka (asyncio Python client) against weir: a round trip under each codec with the
idempotent producer, a consumer group that splits a topic and resumes from its commits, and
transactions read back under both isolation levels."""

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from common import CODECS, N_PARTITIONS, N_RECORDS, Got, check_roundtrip, make_records, topic_name

TIMEOUT_S = 60


async def create_topic(bootstrap, topic, partitions):
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        await admin.close()


def got(m):
    return Got(m.partition, m.offset, m.key, m.value, tuple(m.headers), m.timestamp)


async def produce_all(bootstrap, topic, records, codec):
    """Idempotent producer, acks=all; returns {seq: (partition, offset)}."""
    p = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                         linger_ms=5, compression_type=None if codec == "none" else codec)
    await p.start()
    try:
        futures = [(r.seq, await p.send(topic, key=r.key, value=r.value, headers=list(r.headers),
                                        timestamp_ms=r.timestamp)) for r in records]
        acked = {}
        for seq, fut in futures:
            md = await asyncio.wait_for(fut, TIMEOUT_S)
            acked[seq] = (md.partition, md.offset)
        return acked
    finally:
        await p.stop()


async def read(consumer, expected, timeout_s=TIMEOUT_S):
    """getmany() until `expected` records came, then one more short round for extras."""
    out = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while len(out) < expected and loop.time() < deadline:
        for msgs in (await consumer.getmany(timeout_ms=500, max_records=10_000)).values():
            out.extend(got(m) for m in msgs)
    for msgs in (await consumer.getmany(timeout_ms=300)).values():
        out.extend(got(m) for m in msgs)
    return out


async def consume_assigned(bootstrap, topic, partitions, expected, **extra):
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **extra)
    await c.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        c.assign(tps)
        await c.seek_to_beginning(*tps)
        return await read(c, expected)
    finally:
        await c.stop()


@pytest.mark.parametrize("codec", CODECS)
def test_roundtrip(broker, codec):
    async def run():
        topic = topic_name(f"aio-{codec}")
        await create_topic(broker.bootstrap, topic, N_PARTITIONS)
        records = make_records("aiokafka", codec)
        acked = await produce_all(broker.bootstrap, topic, records, codec)
        consumed = await consume_assigned(broker.bootstrap, topic, N_PARTITIONS, N_RECORDS)
        check_roundtrip(records, consumed, acked=acked)
    asyncio.run(run())


def test_group_splits_the_topic_and_resumes_from_commits(start_broker):
    broker = start_broker({"group.initial.rebalance.delay.ms": "0"})
    b = broker.bootstrap

    async def run():
        topic = topic_name("aio-group")
        await create_topic(b, topic, 6)

        def member():
            return AIOKafkaConsumer(topic, bootstrap_servers=b, group_id="aio-g",
                                    auto_offset_reset="earliest", enable_auto_commit=False,
                                    session_timeout_ms=10_000, heartbeat_interval_ms=500)
        one, two = member(), member()
        await one.start()
        await two.start()
        loop = asyncio.get_running_loop()
        try:
            # The group settles first (both members own partitions), so no record is read
            # before a rebalance moves its partition. Settled means the two views split the
            # six partitions: a member's own view lags the group (aiokafka shows its previous
            # assignment until its SyncGroup answer arrives), so one snapshot may show the
            # first member's old six next to the second's new three. That no record is read
            # by both is checked by check_roundtrip below.
            deadline = loop.time() + TIMEOUT_S
            while not (one.assignment() and two.assignment()
                       and len(one.assignment() | two.assignment()) == 6
                       and not one.assignment() & two.assignment()):
                assert loop.time() < deadline, "the group did not settle"
                await asyncio.gather(one.getmany(timeout_ms=100), two.getmany(timeout_ms=100))

            records = make_records("aiokafka", "none", n=600)
            await produce_all(b, topic, records, "none")
            a, c = [], []
            deadline = loop.time() + TIMEOUT_S
            while len(a) + len(c) < 600 and loop.time() < deadline:
                for consumer, out in ((one, a), (two, c)):
                    for msgs in (await consumer.getmany(timeout_ms=200)).values():
                        out.extend(got(m) for m in msgs)
            assert a and c, "both members read records"
            await one.commit()
            await two.commit()
        finally:
            await one.stop()
            await two.stop()
        check_roundtrip(records, a + c, n_partitions=6)

        # A new member of the same group starts at the commits: only newer records arrive.
        more = make_records("aiokafka-more", "none", n=60)
        await produce_all(b, topic, more, "none")
        three = member()
        await three.start()
        try:
            resumed = await read(three, 60)
        finally:
            await three.stop()
        assert sorted(g.value for g in resumed) == sorted(r.value for r in more)
    asyncio.run(run())


def test_transactions_and_isolation_levels(broker):
    b = broker.bootstrap

    async def run():
        topic = topic_name("aio-txn")
        await create_topic(b, topic, N_PARTITIONS)
        p = AIOKafkaProducer(bootstrap_servers=b, transactional_id=f"{topic}-tx")
        await p.start()
        try:
            async with p.transaction():
                for i in range(30):
                    await p.send(topic, value=f"committed-{i}".encode(), partition=i % N_PARTITIONS)
            await p.begin_transaction()
            for i in range(30):
                await p.send(topic, value=f"aborted-{i}".encode(), partition=i % N_PARTITIONS)
            await p.abort_transaction()
            # A last committed one, so read_committed readers get past the aborted data.
            async with p.transaction():
                await p.send(topic, value=b"committed-last", partition=0)
        finally:
            await p.stop()
        committed = await consume_assigned(b, topic, N_PARTITIONS, 31, isolation_level="read_committed")
        values = sorted(g.value.decode() for g in committed)
        assert values == sorted([f"committed-{i}" for i in range(30)] + ["committed-last"])
        everything = await consume_assigned(b, topic, N_PARTITIONS, 61)
        assert len([g for g in everything if g.value.startswith(b"aborted-")]) == 30
    asyncio.run(run())
