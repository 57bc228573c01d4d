/*
 * rdkafka_consume: reads partition 0 of a topic from the beginning with librdkafka's C API and
 * prints one JSON line with records, bytes (values only), seconds and MB/s (10^6 bytes).
 *
 * The Python client and kcat spend more CPU per record than the broker does (Python objects,
 * kcat's output formatting), so they cannot show whether the broker serves 1 GB/s; this
 * consumer touches each message once (its length) and nothing else. It uses the simple
 * consumer API, as kcat does for one partition.
 *
 * FETCH_BYTES (default 4 MiB) is the fetch size, per partition and per response. Not larger:
 * librdkafka allocates a buffer for each whole response, and one above glibc's largest mmap
 * threshold (32 MiB) is a fresh mapping every time, page faults and zeroing included. With
 * 64 MiB responses this consumer spent 2.2 s of system time per 2 GB against 0.8 s at 4 MiB,
 * and read 520-710 MB/s against 930-1,030 (broker and client on the same two cores).
 *
 *   apt-get install librdkafka-dev
 *   gcc -O2 -o rdkafka_consume bench/rdkafka_consume.c -lrdkafka
 *   ./rdkafka_consume 127.0.0.1:9092 TOPIC EXPECTED_RECORDS [FETCH_BYTES]
 *
 * bench/librdkafka_bench.py builds and runs it when librdkafka-dev is installed.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdkafka_util.h"

struct count {
    long long n, bytes;
    int failed;
};

/* Called by librdkafka for every message it hands out, straight from its fetch queue. */
static void on_message(rd_kafka_message_t *m, void *opaque) {
    struct count *c = opaque;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        c->n++;
        c->bytes += (long long)m->len;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
        c->failed = 1;
    }
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC EXPECTED_RECORDS [FETCH_BYTES]\n", argv[0]);
        return 2;
    }
    long long expected = atoll(argv[3]);
    long long fetch_bytes = argc == 5 ? atoll(argv[4]) : 4 << 20;
    char fetch[32], receive[32];
    snprintf(fetch, sizeof fetch, "%lld", fetch_bytes);
    /* Room for the response's own framing around the records. */
    snprintf(receive, sizeof receive, "%lld", fetch_bytes + 65536);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", argv[1]);
    set(conf, "fetch.max.bytes", fetch);
    set(conf, "max.partition.fetch.bytes", fetch);
    set(conf, "receive.message.max.bytes", receive);
    set(conf, "queued.max.messages.kbytes", "1048576");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 1;
    }
    /* The simple (legacy) consumer, as kcat uses for one partition: no group, and a
     * callback per message without a queue round trip per batch. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[2], NULL);
    if (rd_kafka_consume_start(rkt, 0, RD_KAFKA_OFFSET_BEGINNING) == -1) {
        fprintf(stderr, "consume_start: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
        return 1;
    }
    struct count c = {0, 0, 0};
    double start = now_s(), deadline = start + 300;
    while (c.n < expected && now_s() < deadline && !c.failed) {
        rd_kafka_consume_callback(rkt, 0, 1000, on_message, &c);
    }
    double secs = now_s() - start;
    rd_kafka_consume_stop(rkt, 0);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    printf("{\"records\": %lld, \"bytes\": %lld, \"seconds\": %.3f, \"MBps\": %.1f}\n", c.n, c.bytes, secs,
           (double)c.bytes / secs / 1e6);
    return c.failed || c.n < expected ? 1 : 0;
}
