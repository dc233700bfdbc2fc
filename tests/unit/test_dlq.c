/* test_dlq.c: the dead-letter producer against librdkafka's mock cluster:
 * records larger than librdkafka's default message cap arrive, and an original
 * beyond the job size cap arrives cut, marked as such. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "dlq.h"

#define TOPIC "atc.jobs.dlq"
/* librdkafka's default message cap is 1,000,000 bytes; the mock cluster
 * keeps a few MiB per partition. */
#define BIG (2u * 1024 * 1024)
#define CAP (1536u * 1024)

static rd_kafka_t *mock_rk; /* a handle for the mock cluster's bookkeeping */
static rd_kafka_mock_cluster_t *mock;
static char brokers[512];

static int group_setup(void **state)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK)
        return -1;
    mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (mock_rk == NULL)
        return -1;
    mock = rd_kafka_mock_cluster_new(mock_rk, 1);
    if (mock == NULL || rd_kafka_mock_topic_create(mock, TOPIC, 1, 1) != 0)
        return -1;
    snprintf(brokers, sizeof(brokers), "%s", rd_kafka_mock_cluster_bootstraps(mock));
    return 0;
}

static int group_teardown(void **state)
{
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(mock_rk);
    return 0;
}

static struct dlq *dlq_open(size_t max_original)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    struct dlq *d = dlq_new(conf, TOPIC, max_original, err, sizeof(err));
    if (d == NULL)
        print_error("dlq_new: %s\n", err);
    assert_non_null(d);
    return d;
}

/* The last record on the topic, as msgpack (caller frees *buf). */
static void read_last(char **buf, size_t *len)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "fetch.max.bytes", "20000000", err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "group.id", "test-dlq-reader", err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "receive.message.max.bytes", "20001000", err,
                                       sizeof(err)), RD_KAFKA_CONF_OK);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL)
        print_error("consumer: %s\n", err);
    assert_non_null(rk);
    int64_t lo = 0, hi = 0;
    assert_int_equal(rd_kafka_query_watermark_offsets(rk, TOPIC, 0, &lo, &hi, 10000), 0);
    assert_true(hi > lo);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, TOPIC, 0)->offset = hi - 1;
    assert_int_equal(rd_kafka_assign(rk, list), 0);
    rd_kafka_topic_partition_list_destroy(list);
    *buf = NULL;
    for (int i = 0; i < 200 && *buf == NULL; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        if (m->err == 0) {
            *buf = malloc(m->len);
            assert_non_null(*buf);
            memcpy(*buf, m->payload, m->len);
            *len = m->len;
        }
        rd_kafka_message_destroy(m);
    }
    assert_non_null(*buf);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* The value of key in the record's map, or NULL. */
static const msgpack_object *field(const msgpack_object *map, const char *key)
{
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    return NULL;
}

static void send_original(struct dlq *d, size_t n)
{
    char err[512];
    char *original = malloc(n);
    assert_non_null(original);
    memset(original, 'j', n);
    struct dlq_record r = {.reason = "bad_message", .error = "files: missing", .worker = "w1",
                           .ts_ms = 1, .topic = "atc.jobs", .partition = 0, .offset = 5,
                           .original = original, .original_len = n};
    int rc = dlq_send(d, "job-1", &r, err, sizeof(err));
    if (rc != 0)
        print_error("dlq_send: %s\n", err);
    assert_int_equal(rc, 0);
    free(original);
}

static void dlq_send__record_above_librdkafkas_default_cap__arrives_whole(void **state)
{
    struct dlq *d = dlq_open(4u * 1024 * 1024);
    char *buf;
    size_t len;

    send_original(d, BIG);
    read_last(&buf, &len);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *o = field(&up.data, "original");
    assert_non_null(o);
    assert_int_equal(o->via.bin.size, BIG);
    assert_null(field(&up.data, "original_truncated"));
    msgpack_unpacked_destroy(&up);
    free(buf);
    dlq_destroy(d);
}

static void dlq_send__original_beyond_the_job_cap__arrives_cut_and_marked(void **state)
{
    struct dlq *d = dlq_open(CAP);
    char *buf;
    size_t len;

    send_original(d, CAP + 4096);
    read_last(&buf, &len);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *o = field(&up.data, "original");
    assert_non_null(o);
    assert_int_equal(o->via.bin.size, CAP);
    const msgpack_object *full = field(&up.data, "original_len");
    assert_non_null(full);
    assert_int_equal(full->via.u64, CAP + 4096);
    const msgpack_object *cut = field(&up.data, "original_truncated");
    assert_non_null(cut);
    assert_int_equal(cut->type, MSGPACK_OBJECT_BOOLEAN);
    assert_true(cut->via.boolean);
    msgpack_unpacked_destroy(&up);
    free(buf);
    dlq_destroy(d);
}

/* librdkafka's own limit is 5 min (ctest would kill the test first): the
 * producer's message.timeout.ms must be the 30 s dlq_new sets. */
static void dlq_send__topic_that_never_takes_it__gives_up_with_a_timeout(void **state)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_mock_topic_create(mock, "atc.jobs.dlq.down", 1, 1), 0);
    rd_kafka_mock_topic_set_error(mock, "atc.jobs.dlq.down",
                                  RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
    struct dlq *d = dlq_new(conf, "atc.jobs.dlq.down", 1024 * 1024, err, sizeof(err));
    assert_non_null(d);
    struct dlq_record r = {.reason = "bad_message", .error = "x", .worker = "w1",
                           .topic = "atc.jobs", .original = "abc", .original_len = 3};
    assert_int_equal(dlq_send(d, "job-2", &r, err, sizeof(err)), ATC_ETIMEDOUT);
    dlq_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dlq_send__record_above_librdkafkas_default_cap__arrives_whole),
        cmocka_unit_test(dlq_send__original_beyond_the_job_cap__arrives_cut_and_marked),
        cmocka_unit_test(dlq_send__topic_that_never_takes_it__gives_up_with_a_timeout),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
