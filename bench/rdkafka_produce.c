/*
 * rdkafka_produce: writes N records of SIZE bytes to partition 0 of a topic with librdkafka's C
 * API (acks=1, linger.ms=5, batch.size=1000000, no compression: the produce settings)
 * and prints one JSON line with records, bytes (values only), seconds and MB/s (10^6 bytes).
 *
 * The Python producer spends about a microsecond of interpreter time per record on the core it
 * shares with the broker, so it cannot show how fast the broker takes writes; this producer
 * hands librdkafka the same static value for every record (no copy, no allocation of ours).
 *
 *   apt-get install librdkafka-dev
 *   gcc -O2 -o rdkafka_produce bench/rdkafka_produce.c -lrdkafka
 *   ./rdkafka_produce 127.0.0.1:9092 TOPIC RECORDS SIZE
 *
 * bench/librdkafka_bench.py builds and runs it when librdkafka-dev is installed.
 */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdkafka_util.h"

struct delivered {
    long long ok, failed;
};

/* Called from rd_kafka_poll/flush for every record the broker acknowledged or that failed. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    struct delivered *d = opaque;
    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        d->ok++;
    } else {
        if (d->failed++ == 0)
            fprintf(stderr, "delivery: %s\n", rd_kafka_err2str(m->err));
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s BOOTSTRAP TOPIC RECORDS SIZE\n", argv[0]);
        return 2;
    }
    long long records = atoll(argv[3]);
    size_t size = (size_t)atoll(argv[4]);
    char *value = malloc(size);
    if (!value)
        return 1;
    for (size_t i = 0; i < size; i++)
        value[i] = (char)(rand() & 0xff); /* incompressible, like the Python phase's urandom */

    char err[512];
    struct delivered d = {0, 0};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    set(conf, "bootstrap.servers", argv[1]);
    set(conf, "acks", "1");
    set(conf, "linger.ms", "5");
    set(conf, "batch.size", "1000000");
    set(conf, "enable.idempotence", "false");
    set(conf, "compression.type", "none");
    set(conf, "queue.buffering.max.messages", "2000000");
    set(conf, "queue.buffering.max.kbytes", "2097151");
    rd_kafka_conf_set_opaque(conf, &d);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        return 1;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, argv[2], NULL);

    /* One record first, so that connection set-up and metadata are outside the timing. */
    if (rd_kafka_produce(rkt, 0, 0, value, size, NULL, 0, NULL) == -1 ||
        rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR || d.ok != 1) {
        fprintf(stderr, "warm-up record not delivered\n");
        return 1;
    }
    d.ok = 0;
    double start = now_s();
    long long sent = 0;
    while (sent < records) {
        /* flags 0: librdkafka keeps a pointer to `value`, which lives until the end. */
        if (rd_kafka_produce(rkt, 0, 0, value, size, NULL, 0, NULL) == -1) {
            if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "produce: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
                return 1;
            }
            rd_kafka_poll(rk, 1);
            continue;
        }
        if (++sent % 10000 == 0)
            rd_kafka_poll(rk, 0);
    }
    rd_kafka_resp_err_t flushed = rd_kafka_flush(rk, 120000);
    double secs = now_s() - start;
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(value);
    printf("{\"records\": %lld, \"bytes\": %lld, \"seconds\": %.3f, \"MBps\": %.1f}\n", d.ok,
           d.ok * (long long)size, secs, (double)d.ok * (double)size / secs / 1e6);
    return flushed != RD_KAFKA_RESP_ERR_NO_ERROR || d.failed || d.ok < records ? 1 : 0;
}
