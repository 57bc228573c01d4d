/*
 * rdkafka_consume: reads partition 0 of a topic from the beginning with librdkafka's C API and
 * prints one JSON line with records, bytes (values only), seconds and MB/s (10^6 bytes).
 *
 * The Python client and kcat spend more CPU per record than the broker does (Python objects,
 * kcat's output formatting), so they cannot show whether the broker serves 1 GB/s; this
 * consumer touches each message once (its length) and nothing else.
 *
 *   apt-get install librdkafka-dev
 *   gcc -O2 -o rdkafka_consume bench/rdkafka_consume.c -lrdkafka
 *   ./rdkafka_consume 127.0.0.1:9092 TOPIC EXPECTED_RECORDS
 *
 * bench/librdkafka_bench.py builds and runs it when librdkafka-dev is installed.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void set(rd_kafka_conf_t *conf, const char *key, const char *value) {
    char err[512];
    if (rd_kafka_conf_set(conf, key, value, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "config %s=%s: %s\n", key, value, err);
        exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC EXPECTED_RECORDS\n", argv[0]);
        return 2;
    }
    long long expected = atoll(argv[3]);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", argv[1]);
    set(conf, "group.id", "weir-bench-assign-only");
    set(conf, "enable.auto.commit", "false");
    set(conf, "enable.auto.offset.store", "false");
    set(conf, "fetch.max.bytes", "67108864");
    set(conf, "max.partition.fetch.bytes", "67108864");
    set(conf, "receive.message.max.bytes", "67109376");
    set(conf, "queued.max.messages.kbytes", "1048576");
    set(conf, "fetch.wait.max.ms", "100");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, argv[2], 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        fprintf(stderr, "assign: %s\n", rd_kafka_err2str(e));
        return 1;
    }
    /* Messages in batches from the consumer queue: one queue lock per batch, not per message. */
    enum { BATCH = 10000 };
    static rd_kafka_message_t *msgs[BATCH];
    rd_kafka_queue_t *queue = rd_kafka_queue_get_consumer(rk);
    long long n = 0, bytes = 0;
    int failed = 0;
    double start = now_s(), deadline = start + 300;
    while (n < expected && now_s() < deadline && !failed) {
        ssize_t got = rd_kafka_consume_batch_queue(queue, 1000, msgs, BATCH);
        for (ssize_t i = 0; i < got; i++) {
            rd_kafka_message_t *m = msgs[i];
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
                failed = 1;
            } else if (!m->err) {
                n++;
                bytes += (long long)m->len;
            }
            rd_kafka_message_destroy(m);
        }
    }
    double secs = now_s() - start;
    rd_kafka_queue_destroy(queue);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    printf("{\"records\": %lld, \"bytes\": %lld, \"seconds\": %.3f, \"MBps\": %.1f}\n", n, bytes, secs,
           (double)bytes / secs / 1e6);
    return failed || n < expected ? 1 : 0;
}
