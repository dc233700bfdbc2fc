/* fake_kafka.c: the librdkafka calls of worker/consumer.c, interposed at link
 * time (see fakes.h): no broker; the test assigns, revokes and delivers, and
 * reads back what was stored. Configuration objects and partition lists are
 * librdkafka's own. */
#include "fakes.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

struct fake_kafka fake_kafka;

static struct {
    void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *,
                         void *);
    void *opaque;
    rd_kafka_topic_partition_list_t *assignment;
    rd_kafka_message_t *queue[FAKE_KAFKA_QUEUE];
    int nqueue;
    char topic[64];
} k;

static char handle; /* what rd_kafka_new returns */

void fake_kafka_reset(void)
{
    memset(&fake_kafka, 0, sizeof(fake_kafka));
    for (int i = 0; i < FAKE_KAFKA_PARTS; i++)
        fake_kafka.stored[i] = -1;
    if (k.assignment != NULL)
        rd_kafka_topic_partition_list_destroy(k.assignment);
    for (int i = 0; i < k.nqueue; i++)
        rd_kafka_message_destroy(k.queue[i]);
    memset(&k, 0, sizeof(k));
}

void rd_kafka_conf_set_opaque(rd_kafka_conf_t *conf, void *opaque)
{
    (void)conf;
    k.opaque = opaque;
}

void rd_kafka_conf_set_rebalance_cb(
    rd_kafka_conf_t *conf,
    void (*cb)(rd_kafka_t *, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t *, void *))
{
    (void)conf;
    k.rebalance_cb = cb;
}

void rd_kafka_conf_set_error_cb(rd_kafka_conf_t *conf,
                                void (*cb)(rd_kafka_t *, int, const char *, void *))
{
    (void)conf;
    (void)cb;
}

void rd_kafka_conf_set_log_cb(rd_kafka_conf_t *conf,
                              void (*cb)(const rd_kafka_t *, int, const char *, const char *))
{
    (void)conf;
    (void)cb;
}

void rd_kafka_conf_set_stats_cb(rd_kafka_conf_t *conf,
                                int (*cb)(rd_kafka_t *, char *, size_t, void *))
{
    (void)conf;
    (void)cb;
}

rd_kafka_t *rd_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
                         size_t errstr_size)
{
    (void)type;
    (void)errstr;
    (void)errstr_size;
    rd_kafka_conf_destroy(conf); /* the handle owns it now */
    return (rd_kafka_t *)&handle;
}

rd_kafka_resp_err_t rd_kafka_set_log_queue(rd_kafka_t *rk, rd_kafka_queue_t *rkqu)
{
    (void)rk;
    (void)rkqu;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t rd_kafka_poll_set_consumer(rd_kafka_t *rk)
{
    (void)rk;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t rd_kafka_subscribe(rd_kafka_t *rk,
                                       const rd_kafka_topic_partition_list_t *topics)
{
    (void)rk;
    snprintf(k.topic, sizeof(k.topic), "%s", topics->elems[0].topic);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

void fake_kafka_assign(const char *topic, const int32_t *parts, int n)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, topic, parts[i]);
    k.rebalance_cb((rd_kafka_t *)&handle, RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, l, k.opaque);
    rd_kafka_topic_partition_list_destroy(l);
}

void fake_kafka_revoke(void)
{
    rd_kafka_topic_partition_list_t *l =
        k.assignment ? rd_kafka_topic_partition_list_copy(k.assignment)
                     : rd_kafka_topic_partition_list_new(0);
    k.rebalance_cb((rd_kafka_t *)&handle, RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS, l, k.opaque);
    rd_kafka_topic_partition_list_destroy(l);
}

static void set_part_pause(const rd_kafka_topic_partition_list_t *parts, int pause);

rd_kafka_resp_err_t rd_kafka_assign(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts)
{
    (void)rk;
    if (k.assignment != NULL)
        rd_kafka_topic_partition_list_destroy(k.assignment);
    k.assignment = parts ? rd_kafka_topic_partition_list_copy(parts) : NULL;
    fake_kafka.nassigned = parts ? parts->cnt : 0;
    /* As librdkafka 2.0.2: a partition's pause outlives its assignment. */
    rd_kafka_topic_partition_list_t *none = rd_kafka_topic_partition_list_new(0);
    set_part_pause(none, 0); /* recounts fake_kafka.paused over the new assignment */
    rd_kafka_topic_partition_list_destroy(none);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static void set_part_pause(const rd_kafka_topic_partition_list_t *parts, int pause)
{
    for (int i = 0; i < parts->cnt; i++) {
        int32_t p = parts->elems[i].partition;
        if (p >= 0 && p < FAKE_KAFKA_PARTS)
            fake_kafka.part_paused[p] = pause;
    }
    fake_kafka.paused = 0;
    for (int i = 0; k.assignment != NULL && i < k.assignment->cnt; i++) {
        int32_t p = k.assignment->elems[i].partition;
        if (p >= 0 && p < FAKE_KAFKA_PARTS && fake_kafka.part_paused[p])
            fake_kafka.paused = 1;
    }
}

rd_kafka_resp_err_t rd_kafka_assignment(rd_kafka_t *rk, rd_kafka_topic_partition_list_t **parts)
{
    (void)rk;
    *parts = k.assignment ? rd_kafka_topic_partition_list_copy(k.assignment)
                          : rd_kafka_topic_partition_list_new(0);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t rd_kafka_pause_partitions(rd_kafka_t *rk,
                                              rd_kafka_topic_partition_list_t *parts)
{
    (void)rk;
    fake_kafka.pause_calls++;
    set_part_pause(parts, 1);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t rd_kafka_resume_partitions(rd_kafka_t *rk,
                                               rd_kafka_topic_partition_list_t *parts)
{
    (void)rk;
    fake_kafka.resume_calls++;
    set_part_pause(parts, 0);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

const char *rd_kafka_rebalance_protocol(rd_kafka_t *rk)
{
    (void)rk;
    return "EAGER";
}

rd_kafka_resp_err_t rd_kafka_commit(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *offsets,
                                    int async)
{
    (void)rk;
    (void)offsets;
    (void)async;
    fake_kafka.commits++;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t rd_kafka_offsets_store(rd_kafka_t *rk,
                                           rd_kafka_topic_partition_list_t *offsets)
{
    (void)rk;
    for (int i = 0; i < offsets->cnt; i++) {
        int32_t p = offsets->elems[i].partition;
        if (p >= 0 && p < FAKE_KAFKA_PARTS)
            fake_kafka.stored[p] = offsets->elems[i].offset;
        fake_kafka.nstores++;
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* A message's rkt points at a topic name (rd_kafka_topic_name reads it). */
void fake_kafka_deliver(const char *topic, int32_t partition, int64_t offset, const char *value)
{
    rd_kafka_message_t *m = calloc(1, sizeof(*m));
    if (m == NULL || k.nqueue == FAKE_KAFKA_QUEUE) {
        free(m);
        return;
    }
    m->rkt = (rd_kafka_topic_t *)strdup(topic);
    m->partition = partition;
    m->offset = offset;
    m->len = strlen(value);
    m->payload = strdup(value);
    k.queue[k.nqueue++] = m;
}

rd_kafka_message_t *rd_kafka_consumer_poll(rd_kafka_t *rk, int timeout_ms)
{
    (void)rk;
    (void)timeout_ms;
    if (k.nqueue == 0)
        return NULL;
    rd_kafka_message_t *m = k.queue[0];
    memmove(k.queue, k.queue + 1, (size_t)(--k.nqueue) * sizeof(k.queue[0]));
    return m;
}

const char *rd_kafka_topic_name(const rd_kafka_topic_t *rkt)
{
    return (const char *)rkt;
}

rd_kafka_resp_err_t rd_kafka_message_headers(const rd_kafka_message_t *m,
                                             rd_kafka_headers_t **hdrs)
{
    (void)m;
    *hdrs = NULL;
    return RD_KAFKA_RESP_ERR__NOENT;
}

void rd_kafka_message_destroy(rd_kafka_message_t *m)
{
    free(m->rkt);
    free(m->payload);
    free(m);
}

rd_kafka_resp_err_t rd_kafka_consumer_close(rd_kafka_t *rk)
{
    (void)rk;
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

void rd_kafka_destroy(rd_kafka_t *rk)
{
    (void)rk;
}
