/* test_client.c: the producer API against kafka-mock and a real redis-server. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>

#include "atc/client.h"
#include "atc/error.h"
#include "atc/job.h"

static struct test_proc kafka_proc;
static struct test_proc redis_proc;
static char brokers[512];
static char redis_url[128];
static int redis_port;

#define TOPIC "atc.jobs"

/* A message read back from the topic, copied out of the consumer. */
struct got_msg {
    unsigned char *value;
    size_t len;
    char traceparent[128];
    int has_traceparent;
};

static void got_msg_cleanup(struct got_msg *m)
{
    free(m->value);
    memset(m, 0, sizeof(*m));
}

/* Reads the topic from the beginning of every partition (assign, not subscribe:
 * no group rebalance to wait for) until the message keyed `key` turns up.
 * Returns 0 with *out filled, or -1 after 20 s without it. */
static int consume_by_key(const char *key, struct got_msg *out)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", "test-client-reader", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr))) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_poll_set_consumer(rk);
    rkt = rd_kafka_topic_new(rk, TOPIC, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1)
        goto out;
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int p = 0; p < md->topics[0].partition_cnt; p++)
        rd_kafka_topic_partition_list_add(parts, TOPIC, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto out;

    for (int i = 0; i < 200 && rc != 0; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->key_len == strlen(key) &&
            memcmp(m->key, key, m->key_len) == 0) {
            rd_kafka_headers_t *hdrs = NULL;
            const void *hv = NULL;
            size_t hlen = 0;
            out->value = malloc(m->len ? m->len : 1);
            if (out->value != NULL) {
                memcpy(out->value, m->payload, m->len);
                out->len = m->len;
                if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    rd_kafka_header_get_last(hdrs, "traceparent", &hv, &hlen) ==
                        RD_KAFKA_RESP_ERR_NO_ERROR &&
                    hlen < sizeof(out->traceparent)) {
                    memcpy(out->traceparent, hv, hlen);
                    out->traceparent[hlen] = '\0';
                    out->has_traceparent = 1;
                }
                rc = 0;
            }
        }
        rd_kafka_message_destroy(m);
    }

out:
    if (parts != NULL)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    if (rkt != NULL)
        rd_kafka_topic_destroy(rkt);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

/* HGET atc:queued:<id> <field> (the producer's queued mark) into buf; ""
 * when absent. */
static void redis_hget(const char *id, const char *field, char *buf, size_t len)
{
    redisContext *rc = redisConnect("127.0.0.1", redis_port);
    redisReply *r;

    buf[0] = '\0';
    assert_non_null(rc);
    assert_int_equal(rc->err, 0);
    r = redisCommand(rc, "HGET atc:queued:%s %s", id, field);
    assert_non_null(r);
    if (r->type == REDIS_REPLY_STRING)
        snprintf(buf, len, "%s", r->str);
    freeReplyObject(r);
    redisFree(rc);
}

static struct atc_client *new_client(const char *bootstrap, const char *rurl, int timeout_ms)
{
    struct atc_client_opts opts = {0};
    char err[512] = "";
    struct atc_client *c;

    opts.brokers = bootstrap;
    opts.topic = TOPIC;
    opts.redis_url = rurl;
    opts.delivery_timeout_ms = timeout_ms;
    c = atc_client_new(&opts, err, sizeof(err));
    if (c == NULL)
        print_error("atc_client_new: %s\n", err);
    assert_non_null(c);
    return c;
}

/* A small valid job: one test file, one label. Fields point at static data. */
static void sample_job(struct atc_job *job, struct atc_job_file *file, struct atc_kv *label)
{
    static char path[] = "test_sample.py";
    static char body[] = "def test_ok():\n    assert True\n";
    static char lk[] = "session", lv[] = "s-42";

    memset(job, 0, sizeof(*job));
    file->path = path;
    file->data = (unsigned char *)body;
    file->len = sizeof(body) - 1;
    label->key = lk;
    label->value = lv;
    job->v = ATC_JOB_VERSION;
    job->files = file;
    job->nfiles = 1;
    job->labels = label;
    job->nlabels = 1;
}

static int group_setup(void **state)
{
    char bin[512];
    (void)state;

    char *argv[] = {(char *)test_bin("kafka-mock", bin, sizeof(bin)), "--partitions", "2", NULL};
    if (test_proc_start(&kafka_proc, argv, 1) != 0 ||
        strncmp(kafka_proc.first_line, "ATC_BROKERS=", 12) != 0) {
        print_error("kafka-mock did not start (%s)\n", bin);
        return -1;
    }
    snprintf(brokers, sizeof(brokers), "%s", kafka_proc.first_line + 12);
    if (test_redis_start(&redis_proc, &redis_port) != 0) {
        print_error("redis-server did not start\n");
        return -1;
    }
    snprintf(redis_url, sizeof(redis_url), "redis://127.0.0.1:%d/0", redis_port);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    test_proc_stop(&redis_proc);
    test_proc_stop(&kafka_proc);
    return 0;
}

static void submit__job__arrives_keyed_by_id_with_traceparent_and_is_queued(void **state)
{
    struct atc_job job;
    struct atc_job_file file;
    struct atc_kv label;
    struct atc_client *c = new_client(brokers, redis_url, 10000);
    char id[ATC_JOB_ID_MAX + 1] = "";
    char err[512] = "";
    char status[64];
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    struct got_msg got;
    struct atc_job *decoded = NULL;
    struct atc_job_error jerr;
    (void)state;

    sample_job(&job, &file, &label);
    job.id = "job-with-trace.1";
    assert_int_equal(atc_client_submit(c, &job, tp, id, sizeof(id), err, sizeof(err)), 0);
    assert_string_equal(id, "job-with-trace.1");

    assert_int_equal(consume_by_key(id, &got), 0);
    assert_true(got.has_traceparent);
    assert_string_equal(got.traceparent, tp);
    assert_int_equal(atc_job_decode(got.value, got.len, ATC_JOB_DEFAULT_MAX_BYTES, &decoded, &jerr),
                     0);
    assert_string_equal(decoded->id, id);
    assert_int_equal(decoded->nfiles, 1);
    assert_string_equal(decoded->files[0].path, "test_sample.py");
    assert_int_equal(decoded->nlabels, 1);
    assert_string_equal(decoded->labels[0].value, "s-42");
    assert_true(decoded->submitted_ms > 0);

    /* The queued mark in the producer's own key, read back as queued. */
    char want[32];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)decoded->submitted_ms);
    redis_hget(id, "submitted_ms", status, sizeof(status));
    assert_string_equal(status, want);
    struct atc_result *res = NULL;
    assert_int_equal(atc_client_get(c, id, &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "queued");
    atc_result_free(res);

    atc_job_free(decoded);
    got_msg_cleanup(&got);
    atc_client_destroy(c);
}

static void submit__job_without_id__gets_a_uuid7_and_no_traceparent(void **state)
{
    struct atc_job job;
    struct atc_job_file file;
    struct atc_kv label;
    struct atc_client *c = new_client(brokers, redis_url, 10000);
    char id[ATC_JOB_ID_MAX + 1] = "";
    char err[512] = "";
    struct got_msg got;
    (void)state;

    sample_job(&job, &file, &label);
    assert_int_equal(atc_client_submit(c, &job, NULL, id, sizeof(id), err, sizeof(err)), 0);
    assert_int_equal(strlen(id), 36);
    assert_int_equal(id[14], '7');
    assert_null(job.id); /* the caller's job is left as it was */

    assert_int_equal(consume_by_key(id, &got), 0);
    assert_false(got.has_traceparent);
    got_msg_cleanup(&got);
    atc_client_destroy(c);
}

static void submit__job_breaking_a_rule__is_refused_before_sending(void **state)
{
    struct atc_job job;
    struct atc_job_file file;
    struct atc_kv label;
    struct atc_client *c = new_client(brokers, redis_url, 10000);
    char id[ATC_JOB_ID_MAX + 1] = "";
    char err[512] = "";
    static char bad_path[] = "../escape.py";
    (void)state;

    sample_job(&job, &file, &label);
    file.path = bad_path;
    assert_int_equal(atc_client_submit(c, &job, NULL, id, sizeof(id), err, sizeof(err)),
                     ATC_EINVAL);
    assert_true(err[0] != '\0');
    atc_client_destroy(c);
}

static void submit_raw__bytes__arrive_as_they_were_given(void **state)
{
    struct atc_client *c = new_client(brokers, redis_url, 10000);
    char err[512] = "";
    const unsigned char junk[] = {0xc1, 0x00, 0xff, 'x'};
    struct got_msg got;
    (void)state;

    assert_int_equal(atc_client_submit_raw(c, "raw-key-1", junk, sizeof(junk), err, sizeof(err)), 0);
    assert_int_equal(consume_by_key("raw-key-1", &got), 0);
    assert_int_equal(got.len, sizeof(junk));
    assert_memory_equal(got.value, junk, sizeof(junk));
    got_msg_cleanup(&got);
    atc_client_destroy(c);
}

static void submit__unreachable_broker__fails_with_a_connection_error(void **state)
{
    struct atc_job job;
    struct atc_job_file file;
    struct atc_kv label;
    char dead[64];
    char id[ATC_JOB_ID_MAX + 1] = "";
    char err[512] = "";
    struct atc_client *c;
    int rc;
    (void)state;

    snprintf(dead, sizeof(dead), "127.0.0.1:%d", test_free_port());
    c = new_client(dead, redis_url, 1500);
    sample_job(&job, &file, &label);
    rc = atc_client_submit(c, &job, NULL, id, sizeof(id), err, sizeof(err));
    assert_true(rc == ATC_ECONN || rc == ATC_ETIMEDOUT);
    assert_true(err[0] != '\0');
    assert_string_equal(id, "");
    atc_client_destroy(c);
}

static void submit__unreachable_redis__still_succeeds(void **state)
{
    struct atc_job job;
    struct atc_job_file file;
    struct atc_kv label;
    char dead_redis[64];
    char id[ATC_JOB_ID_MAX + 1] = "";
    char err[512] = "";
    struct atc_client *c;
    (void)state;

    snprintf(dead_redis, sizeof(dead_redis), "redis://127.0.0.1:%d/0", test_free_port());
    c = new_client(brokers, dead_redis, 10000);
    sample_job(&job, &file, &label);
    assert_int_equal(atc_client_submit(c, &job, NULL, id, sizeof(id), err, sizeof(err)), 0);
    assert_int_equal(strlen(id), 36);
    atc_client_destroy(c);
}

static void get__submitted_job__is_queued_and_unknown_id_is_not_found(void **state)
{
    struct atc_job job;
    struct atc_job_file file;
    struct atc_kv label;
    struct atc_client *c = new_client(brokers, redis_url, 10000);
    char id[ATC_JOB_ID_MAX + 1] = "";
    char err[512] = "";
    struct atc_result *r = NULL;
    (void)state;

    sample_job(&job, &file, &label);
    assert_int_equal(atc_client_submit(c, &job, NULL, id, sizeof(id), err, sizeof(err)), 0);
    assert_int_equal(atc_client_get(c, id, &r, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(r, "status"), "queued");
    atc_result_free(r);
    r = NULL;
    assert_int_equal(atc_client_get(c, "no-such-job", &r, err, sizeof(err)), ATC_ENOTFOUND);
    assert_null(r);
    atc_client_destroy(c);
}

static void wait__job_not_final__times_out_with_the_current_result(void **state)
{
    struct atc_job job;
    struct atc_job_file file;
    struct atc_kv label;
    struct atc_client *c = new_client(brokers, redis_url, 10000);
    char id[ATC_JOB_ID_MAX + 1] = "";
    char err[512] = "";
    struct atc_result *r = NULL;
    (void)state;

    sample_job(&job, &file, &label);
    assert_int_equal(atc_client_submit(c, &job, NULL, id, sizeof(id), err, sizeof(err)), 0);
    assert_int_equal(atc_client_wait(c, id, 1.0, &r, err, sizeof(err)), ATC_ETIMEDOUT);
    if (r != NULL)
        assert_string_equal(atc_result_str(r, "status"), "queued");
    atc_result_free(r);
    atc_client_destroy(c);
}

static void get__unreachable_redis__is_a_connection_error(void **state)
{
    char dead_redis[64];
    char err[512] = "";
    struct atc_result *r = NULL;
    struct atc_client *c;
    int rc;
    (void)state;

    snprintf(dead_redis, sizeof(dead_redis), "redis://127.0.0.1:%d/0", test_free_port());
    c = new_client(brokers, dead_redis, 10000);
    rc = atc_client_get(c, "some-id", &r, err, sizeof(err));
    assert_int_equal(rc, ATC_ECONN);
    assert_null(r);
    atc_client_destroy(c);
}

static void uuid7__text__has_the_rfc9562_layout(void **state)
{
    char u[37];
    (void)state;

    atc_uuid7(u, sizeof(u));
    assert_int_equal(strlen(u), 36);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(u[i], '-');
        else
            assert_non_null(strchr("0123456789abcdef", u[i]));
    }
    assert_int_equal(u[14], '7');                  /* version */
    assert_non_null(strchr("89ab", u[19]));        /* variant 10xx */
    assert_true(atc_job_id_valid(u, strlen(u)));
}

static void uuid7__many_made_in_a_row__sort_in_the_order_made(void **state)
{
    char prev[37], cur[37];
    (void)state;

    atc_uuid7(prev, sizeof(prev));
    for (int i = 0; i < 20000; i++) {
        atc_uuid7(cur, sizeof(cur));
        if (strcmp(prev, cur) >= 0)
            fail_msg("%s is not after %s", cur, prev);
        memcpy(prev, cur, sizeof(prev));
    }
}

static void uuid7__small_buffer__gets_an_empty_string(void **state)
{
    char small[20] = "xxxxxxxxxxxxxxxxxxx";
    (void)state;

    atc_uuid7(small, sizeof(small));
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uuid7__text__has_the_rfc9562_layout),
        cmocka_unit_test(uuid7__many_made_in_a_row__sort_in_the_order_made),
        cmocka_unit_test(uuid7__small_buffer__gets_an_empty_string),
        cmocka_unit_test(submit__job__arrives_keyed_by_id_with_traceparent_and_is_queued),
        cmocka_unit_test(submit__job_without_id__gets_a_uuid7_and_no_traceparent),
        cmocka_unit_test(submit__job_breaking_a_rule__is_refused_before_sending),
        cmocka_unit_test(submit_raw__bytes__arrive_as_they_were_given),
        cmocka_unit_test(submit__unreachable_broker__fails_with_a_connection_error),
        cmocka_unit_test(submit__unreachable_redis__still_succeeds),
        cmocka_unit_test(get__submitted_job__is_queued_and_unknown_id_is_not_found),
        cmocka_unit_test(wait__job_not_final__times_out_with_the_current_result),
        cmocka_unit_test(get__unreachable_redis__is_a_connection_error),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
