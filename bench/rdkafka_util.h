/* What bench/rdkafka_produce.c and bench/rdkafka_consume.c share: a monotonic clock and a
 * config setter that exits on a bad key. */
#ifndef WEIR_BENCH_RDKAFKA_UTIL_H
#define WEIR_BENCH_RDKAFKA_UTIL_H

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
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

#endif
