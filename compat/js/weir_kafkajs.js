// Drives kafkajs 2.2.4 against a broker, one step per invocation; compat/tests/test_kafkajs.py
// runs it and checks the tab-separated lines it prints.
//
//   create   BOOTSTRAP TOPIC PARTITIONS                 -> "CREATED"
//   produce  BOOTSTRAP TOPIC CODEC RECORDS_FILE         -> "A partition baseOffset count" per partition
//            (CODEC none or gzip, the codecs kafkajs has without plugins; idempotent, acks=-1)
//   consume  BOOTSTRAP TOPIC EXPECTED TIMEOUT_MS ISOLATION
//                                                       -> "C partition offset key value timestamp headers"
//   group    BOOTSTRAP TOPIC RECORDS                    -> "M member partition offset value" per record
//            (two members of one group; the records are produced once both own partitions)
//   txn      BOOTSTRAP TOPIC                            -> "TXN committed aborted"
// RECORDS_FILE lines: seq TAB key TAB value TAB timestamp TAB name=value;name=value (ASCII only).
// Exit code 0 on success; on failure the error is printed to stderr and the exit code is 1.
'use strict';

const fs = require('fs');
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

const TIMEOUT_MS = 30000;

// Synchronous writes: process.exit() would drop what console.log still has queued for a pipe.
function print(text) {
  if (text) fs.writeSync(1, `${text}\n`);
}

function client(bootstrap) {
  return new Kafka({
    clientId: 'weir-compat-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.ERROR,
    requestTimeout: TIMEOUT_MS,
    retry: { retries: 5 },
  });
}

function headersOf(message) {
  return Object.entries(message.headers || {})
    .map(([k, v]) => `${k}=${v === null ? '' : v.toString()}`)
    .join(';');
}

function deadline(ms, what) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms));
}

async function create(bootstrap, topic, partitions) {
  const admin = client(bootstrap).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: Number(partitions) }], waitForLeaders: true });
  await admin.disconnect();
  print('CREATED');
}

async function produce(bootstrap, topic, codec, recordsFile) {
  const messages = fs.readFileSync(recordsFile, 'ascii').split('\n').filter((l) => l).map((line) => {
    const [, key, value, timestamp, headers] = line.split('\t');
    const h = {};
    for (const kv of headers ? headers.split(';') : []) {
      const eq = kv.indexOf('=');
      h[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return { key, value, timestamp, headers: h };
  });
  const producer = client(bootstrap).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const compression = codec === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  const out = [];
  // Chunks keep each request well below the broker's limits; order within a partition holds
  // because one chunk is acknowledged before the next is sent.
  for (let i = 0; i < messages.length; i += 2000) {
    const acks = await producer.send({ topic, messages: messages.slice(i, i + 2000), acks: -1, compression });
    for (const a of acks) out.push(`A\t${a.partition}\t${a.baseOffset}\t${a.errorCode}`);
  }
  await producer.disconnect();
  print(out.join('\n'));
}

async function consume(bootstrap, topic, expected, timeoutMs, isolation) {
  const consumer = client(bootstrap).consumer({
    groupId: `weir-compat-${process.pid}-${Date.now()}`,
    readUncommitted: isolation !== 'read_committed',
    maxWaitTimeInMs: 500,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const lines = [];
  const done = new Promise((resolve) => {
    consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        lines.push(['C', partition, message.offset, message.key === null ? '\\N' : message.key.toString(),
          message.value.toString(), message.timestamp, headersOf(message)].join('\t'));
        if (lines.length >= Number(expected)) resolve();
      },
    });
  });
  await Promise.race([done, deadline(Number(timeoutMs), `${expected} records`)]).catch((e) => {
    console.error(`${e.message}: got ${lines.length}`);
  });
  // A short wait shows records beyond `expected`, if any.
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  print(lines.join('\n'));
}

async function group(bootstrap, topic, count) {
  const kafka = client(bootstrap);
  const groupId = `weir-compat-group-${process.pid}`;
  const members = [0, 1].map(() => kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 }));
  const owned = [new Set(), new Set()];
  const lines = [];
  let seen = 0;
  let allRead;
  const read = new Promise((resolve) => { allRead = resolve; });
  members.forEach((m, i) => m.on(m.events.GROUP_JOIN, (e) => {
    owned[i] = new Set((e.payload.memberAssignment[topic] || []).map(Number));
  }));
  for (const [i, m] of members.entries()) {
    await m.connect();
    await m.subscribe({ topic, fromBeginning: true });
    await m.run({
      eachMessage: async ({ partition, message }) => {
        lines.push(['M', i, partition, message.offset, message.value.toString()].join('\t'));
        if (++seen >= Number(count)) allRead();
      },
    });
  }
  // The group settles first, so no record is read before a rebalance moves its partition.
  const settled = async () => {
    while (!(owned[0].size && owned[1].size && owned[0].size + owned[1].size === 6)) {
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await Promise.race([settled(), deadline(TIMEOUT_MS, 'the group to settle')]);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < Number(count); i++) messages.push({ key: `k${i}`, value: `g-${i}` });
  await producer.send({ topic, messages, acks: -1 });
  await producer.disconnect();
  await Promise.race([read, deadline(TIMEOUT_MS, `${count} records`)]);
  await new Promise((r) => setTimeout(r, 500));
  for (const m of members) await m.disconnect();
  print(lines.join('\n'));
}

async function txn(bootstrap, topic) {
  const producer = client(bootstrap).producer({
    transactionalId: `weir-compat-${topic}`, idempotent: true, maxInFlightRequests: 1,
  });
  await producer.connect();
  const batch = (prefix) => Array.from({ length: 30 }, (_, i) => ({ value: `${prefix}-${i}`, partition: i % 3 }));
  let t = await producer.transaction();
  await t.send({ topic, messages: batch('committed') });
  await t.commit();
  t = await producer.transaction();
  await t.send({ topic, messages: batch('aborted') });
  await t.abort();
  // A last committed one, so read_committed readers get past the aborted data everywhere.
  t = await producer.transaction();
  await t.send({ topic, messages: [0, 1, 2].map((p) => ({ value: `committed-last-${p}`, partition: p })) });
  await t.commit();
  await producer.disconnect();
  print('TXN\t33\t30');
}

const [cmd, ...args] = process.argv.slice(2);
const steps = { create, produce, consume, group, txn };
if (!steps[cmd]) {
  console.error(`unknown command ${cmd}`);
  process.exit(2);
}
steps[cmd](...args).then(() => process.exit(0), (e) => {
  console.error('ERROR', e && e.stack ? e.stack : e);
  process.exit(1);
});
