/* test_cancels.c: the worker's reading of the producers' cancel nudges
 * (worker/cancels.c) against a real redis-server. */
#include "support.h"

#include "atc/clock.h"
#include "atc/results.h"
#include "cancels.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

static struct test_proc redis_proc;
static int redis_port;
static char redis_url[128];
static char err[512];

static int group_setup(void **state)
{
    if (test_redis_start(&redis_proc, &redis_port) != 0)
        return -1;
    snprintf(redis_url, sizeof(redis_url), "redis://127.0.0.1:%d/0", redis_port);
    return 0;
}

static int group_teardown(void **state)
{
    test_proc_stop(&redis_proc);
    return 0;
}

static struct atc_results *store_open(void)
{
    struct atc_results *r = atc_results_new(redis_url, 5000, err, sizeof(err));
    assert_non_null(r);
    return r;
}

/* One command given as words split on spaces (no '%' in it). */
static void raw(const char *cmd)
{
    redisContext *c = redisConnect("127.0.0.1", redis_port);
    assert_non_null(c);
    redisReply *reply = redisCommand(c, cmd);
    assert_non_null(reply);
    assert_int_not_equal(reply->type, REDIS_REPLY_ERROR);
    freeReplyObject(reply);
    redisFree(c);
}

static const char *status_of(struct atc_results *r, const char *id, char *buf, size_t len)
{
    struct atc_result *res = NULL;
    buf[0] = '\0';
    if (atc_results_get(r, id, &res, err, sizeof(err)) == 0)
        snprintf(buf, len, "%s", atc_result_str(res, "status"));
    atc_result_free(res);
    return buf;
}

/* Runs first: its nudge is older than a minute, which XADD only takes on a
 * stream with nothing newer. */
static void poll__nudge_from_before_the_lookback__is_not_read(void **state)
{
    struct atc_results *r = store_open();
    struct cancels c;
    char st[32];
    long long now = (long long)atc_clock_wall_ms();
    char cmd[128];

    raw("SET atc:cancel:old-1 1 EX 600");
    snprintf(cmd, sizeof(cmd), "XADD atc:cancels %lld-0 id old-1", now - 120000);
    raw(cmd);
    cancels_init(&c, now, 600);
    assert_int_equal(cancels_poll(&c, r), 0);
    assert_string_equal(status_of(r, "old-1", st, sizeof(st)), "");
    atc_results_destroy(r);
}

static void poll__cancel_sent_just_before_the_start__ends_the_job_cancelled(void **state)
{
    struct atc_results *r = store_open();
    struct cancels c;
    char st[32];
    int outcome = -1;

    assert_int_equal(atc_results_mark_queued_group(r, "pre-1", 9, "g", err, sizeof(err)), 0);
    assert_int_equal(atc_results_cancel(r, "pre-1", 0, 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_REQUESTED);
    cancels_init(&c, (long long)atc_clock_wall_ms(), 600);
    assert_int_equal(cancels_poll(&c, r), 1);
    assert_string_equal(status_of(r, "pre-1", st, sizeof(st)), "cancelled");
    /* Read once: the next poll has nothing new. */
    assert_int_equal(cancels_poll(&c, r), 0);
    atc_results_destroy(r);
}

static void poll__many_nudges__are_read_in_batches_each_once(void **state)
{
    struct atc_results *r = store_open();
    struct cancels c;
    char id[32], st[32];
    int outcome = -1;

    cancels_init(&c, (long long)atc_clock_wall_ms(), 600);
    cancels_poll(&c, r); /* the earlier tests' nudges, within the minute */
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "many-%d", i);
        assert_int_equal(atc_results_mark_queued(r, id, 1, err, sizeof(err)), 0);
        assert_int_equal(atc_results_cancel(r, id, 0, 0, &outcome, err, sizeof(err)), 0);
    }
    size_t n = cancels_poll(&c, r);
    assert_int_equal(n, 300);
    for (int i = 0; i < 300; i += 37) {
        snprintf(id, sizeof(id), "many-%d", i);
        assert_string_equal(status_of(r, id, st, sizeof(st)), "cancelled");
    }
    assert_int_equal(cancels_poll(&c, r), 0);
    atc_results_destroy(r);
}

static void poll__two_workers__both_read_the_nudge_and_one_result_is_written(void **state)
{
    struct atc_results *r = store_open();
    struct cancels a, b;
    char st[32];
    int outcome = -1;

    cancels_init(&a, (long long)atc_clock_wall_ms(), 600);
    cancels_init(&b, (long long)atc_clock_wall_ms(), 600);
    cancels_poll(&a, r);
    cancels_poll(&b, r);
    assert_int_equal(atc_results_mark_queued(r, "two-1", 1, err, sizeof(err)), 0);
    assert_int_equal(atc_results_cancel(r, "two-1", 0, 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(cancels_poll(&a, r), 1);
    assert_int_equal(cancels_poll(&b, r), 1);
    assert_string_equal(status_of(r, "two-1", st, sizeof(st)), "cancelled");
    redisContext *rc = redisConnect("127.0.0.1", redis_port);
    redisReply *reply = redisCommand(rc, "LLEN atc:done:two-1");
    assert_int_equal(reply->integer, 1);
    freeReplyObject(reply);
    redisFree(rc);
    atc_results_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poll__nudge_from_before_the_lookback__is_not_read),
        cmocka_unit_test(poll__cancel_sent_just_before_the_start__ends_the_job_cancelled),
        cmocka_unit_test(poll__many_nudges__are_read_in_batches_each_once),
        cmocka_unit_test(poll__two_workers__both_read_the_nudge_and_one_result_is_written),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
