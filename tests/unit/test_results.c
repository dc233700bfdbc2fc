/* test_results.c: the result store against a real redis-server: URL parsing,
 * marks, the final write and its notifications, waiting, reconnecting. */
#include "support.h"

#include "../../common/src/redis_url.h"
#include "atc/clock.h"
#include "atc/error.h"
#include "atc/results.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    if (r == NULL)
        print_error("atc_results_new: %s\n", err);
    assert_non_null(r);
    return r;
}

/* A plain hiredis connection for looking at what the store wrote. */
static redisContext *raw_open(int port)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

static long long raw_int(redisContext *c, const char *fmt, const char *arg)
{
    redisReply *reply = redisCommand(c, fmt, arg);
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_INTEGER);
    long long v = reply->integer;
    freeReplyObject(reply);
    return v;
}

static void write_final_ok(struct atc_results *r, const char *id, const char *status,
                           long ttl_s)
{
    struct atc_field f[] = {{"reason", "tests_passed", 12}, {"exit_code", "0", 1}};
    int rc = atc_results_write_final(r, id, status, f, 2, ttl_s, err, sizeof(err));
    if (rc != 0)
        print_error("write_final: %s\n", err);
    assert_int_equal(rc, 0);
}

/* ---- URL parsing ---- */

static void redis_url_parse__good_urls__are_read(void **state)
{
    static const struct {
        const char *url;
        int is_unix;
        const char *host_or_path;
        int port, db;
        const char *user, *password;
    } cases[] = {
        {"redis://127.0.0.1", 0, "127.0.0.1", 6379, 0, NULL, NULL},
        {"redis://127.0.0.1:6379/0", 0, "127.0.0.1", 6379, 0, NULL, NULL},
        {"redis://redis.svc.local:6380/2", 0, "redis.svc.local", 6380, 2, NULL, NULL},
        {"redis://h/", 0, "h", 6379, 0, NULL, NULL},
        {"redis://:s3cret@h:7000/15", 0, "h", 7000, 15, NULL, "s3cret"},
        {"redis://:p%40ss%2Fw@h", 0, "h", 6379, 0, NULL, "p@ss/w"},
        {"redis://:pa/ss@h:1", 0, "h", 1, 0, NULL, "pa/ss"},
        {"redis://alice:pw@h/3", 0, "h", 6379, 3, "alice", "pw"},
        {"redis://[::1]:7001/4", 0, "::1", 7001, 4, NULL, NULL},
        {"unix:///run/redis/redis.sock", 1, "/run/redis/redis.sock", 0, 0, NULL, NULL},
        {"unix://:pw@/tmp/r.sock?db=5", 1, "/tmp/r.sock", 0, 5, NULL, "pw"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct atc_redis_url u;
        int rc = atc_redis_url_parse(cases[i].url, &u, err, sizeof(err));
        if (rc != 0)
            print_error("%s: %s\n", cases[i].url, err);
        assert_int_equal(rc, 0);
        assert_int_equal(u.is_unix, cases[i].is_unix);
        assert_string_equal(u.is_unix ? u.path : u.host, cases[i].host_or_path);
        if (!u.is_unix)
            assert_int_equal(u.port, cases[i].port);
        assert_int_equal(u.db, cases[i].db);
        if (cases[i].user != NULL)
            assert_string_equal(u.user, cases[i].user);
        else
            assert_null(u.user);
        if (cases[i].password != NULL)
            assert_string_equal(u.password, cases[i].password);
        else
            assert_null(u.password);
        atc_redis_url_cleanup(&u);
    }
}

static void redis_url_parse__bad_urls__name_the_bad_part(void **state)
{
    static const struct {
        const char *url;
        const char *says;
    } cases[] = {
        {"", "empty"},
        {"http://h:6379", "redis:// or unix://"},
        {"rediss://h", "TLS"},
        {"redis://", "no host"},
        {"redis://:6379", "no host"},
        {"redis://h:0", "port"},
        {"redis://h:65536", "port"},
        {"redis://h:12ab", "port"},
        {"redis://h:", "port"},
        {"redis://h/db1", "database"},
        {"redis://h/-1", "database"},
        {"redis://h?timeout=1", "after the host"},
        {"redis://h o", "host"},
        {"redis://[::1:6379", "']'"},
        {"redis://secret@h", "':'"},
        {"redis://:p%zz@h", "escape"},
        {"redis://:p%00@h", "escape"},
        {"redis://bob:@h", "no password"},
        {"unix://relative.sock", "absolute"},
        {"unix:///tmp/r.sock?database=1", "?db=N"},
        {"unix:///tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock",
         "unix socket allows"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct atc_redis_url u;
        err[0] = '\0';
        int rc = atc_redis_url_parse(cases[i].url, &u, err, sizeof(err));
        if (rc != ATC_EINVAL || strstr(err, cases[i].says) == NULL)
            print_error("%s: rc %d, '%s' lacks '%s'\n", cases[i].url, rc, err, cases[i].says);
        assert_int_equal(rc, ATC_EINVAL);
        assert_non_null(strstr(err, cases[i].says));
        assert_null(u.host);
        assert_null(u.password);
    }
}

static void redis_url_parse__error__never_shows_the_password(void **state)
{
    struct atc_redis_url u;

    assert_int_equal(atc_redis_url_parse("redis://:hunter2@h:99999", &u, err, sizeof(err)),
                     ATC_EINVAL);
    assert_null(strstr(err, "hunter2"));
}

/* ---- connecting ---- */

static void results_new__nothing_listening__fails_with_a_connection_error(void **state)
{
    char url[64];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", test_free_port());

    err[0] = '\0';
    assert_null(atc_results_new(url, 1000, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot connect"));
}

static void results_new__bad_url__fails_naming_it(void **state)
{
    assert_null(atc_results_new("redis://h:port", 1000, err, sizeof(err)));
    assert_non_null(strstr(err, "port"));
}

/* ---- marks and the final write ---- */

static long long raw_exists(redisContext *c, const char *key)
{
    return raw_int(c, "EXISTS %s", key);
}

static void mark_queued__writes_its_own_key_with_a_ttl_and_no_result(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    redisContext *c = raw_open(redis_port);

    assert_int_equal(atc_results_mark_queued(r, "q-1", 1700000000123ULL, err, sizeof(err)), 0);
    assert_int_equal(raw_exists(c, "atc:result:q-1"), 0);
    long long ttl = raw_int(c, "TTL %s", "atc:queued:q-1");
    assert_true(ttl > 0 && ttl <= ATC_RESULT_DEFAULT_TTL_S);
    /* A reader shows the mark as the status queued. */
    assert_int_equal(atc_results_get(r, "q-1", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "queued");
    assert_string_equal(atc_result_str(res, "submitted_ms"), "1700000000123");
    assert_null(atc_result_field(res, "group"));
    assert_null(atc_result_field(res, "cancel_requested"));
    atc_result_free(res);
    redisFree(c);
    atc_results_destroy(r);
}

static void mark_queued__after_a_worker_started_the_job__writes_no_mark(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    redisContext *c = raw_open(redis_port);
    int attempt = 0;

    /* A fast job: the worker's running mark came before the submit's queued
     * mark. The mark would outlive the job by its whole TTL. */
    assert_int_equal(atc_results_mark_running(r, "q-late", NULL, 0, &attempt, err, sizeof(err)),
                     0);
    assert_int_equal(atc_results_mark_queued(r, "q-late", 7, err, sizeof(err)), 0);
    assert_int_equal(raw_exists(c, "atc:queued:q-late"), 0);
    assert_int_equal(atc_results_get(r, "q-late", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "running");
    atc_result_free(res);
    /* The connection is not left watching: the next mark is written. */
    assert_int_equal(atc_results_mark_queued(r, "q-next", 8, err, sizeof(err)), 0);
    assert_int_equal(raw_exists(c, "atc:queued:q-next"), 1);
    redisFree(c);
    atc_results_destroy(r);
}

static void get__queued_mark__shows_only_its_own_fields_as_queued(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    redisContext *c = raw_open(redis_port);

    assert_int_equal(atc_results_mark_queued_group(r, "q-3", 7, "race-3", err, sizeof(err)), 0);
    /* What else a producer may write there is not shown: not a verdict. */
    freeReplyObject(redisCommand(c, "HSET atc:queued:q-3 status passed reason tests_passed"));
    assert_int_equal(atc_results_get(r, "q-3", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "queued");
    assert_string_equal(atc_result_str(res, "group"), "race-3");
    assert_string_equal(atc_result_str(res, "submitted_ms"), "7");
    assert_null(atc_result_field(res, "reason"));
    assert_int_equal(res->nfields, 3);
    atc_result_free(res);
    redisFree(c);
    atc_results_destroy(r);
}

static void get__result_hash__wins_over_the_queued_mark(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;

    write_final_ok(r, "q-2", "passed", 0);
    assert_int_equal(atc_results_mark_queued(r, "q-2", 1, err, sizeof(err)), 0);
    assert_int_equal(atc_results_get(r, "q-2", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "passed");
    assert_null(atc_result_field(res, "submitted_ms"));
    atc_result_free(res);
    atc_results_destroy(r);
}

static void get__cancel_mark__reads_as_cancel_requested_until_final(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    redisContext *c = raw_open(redis_port);
    int attempt = 0;

    freeReplyObject(redisCommand(c, "SET atc:cancel:cr-1 1"));
    freeReplyObject(redisCommand(c, "SET atc:cancel:cr-2 1"));
    freeReplyObject(redisCommand(c, "SET atc:cancel:cr-3 1"));
    assert_int_equal(atc_results_mark_queued(r, "cr-1", 1, err, sizeof(err)), 0);
    assert_int_equal(atc_results_get(r, "cr-1", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "queued");
    assert_string_equal(atc_result_str(res, "cancel_requested"), "1");
    atc_result_free(res);
    assert_int_equal(atc_results_mark_running(r, "cr-2", NULL, 0, &attempt, err, sizeof(err)), 0);
    assert_int_equal(atc_results_get(r, "cr-2", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "running");
    assert_string_equal(atc_result_str(res, "cancel_requested"), "1");
    atc_result_free(res);
    write_final_ok(r, "cr-3", "passed", 0);
    assert_int_equal(atc_results_get(r, "cr-3", &res, err, sizeof(err)), 0);
    assert_null(atc_result_field(res, "cancel_requested"));
    atc_result_free(res);
    /* A mark alone is no job. */
    res = (struct atc_result *)&res;
    freeReplyObject(redisCommand(c, "SET atc:cancel:cr-4 1"));
    assert_int_equal(atc_results_get(r, "cr-4", &res, err, sizeof(err)), ATC_ENOTFOUND);
    assert_null(res);
    redisFree(c);
    atc_results_destroy(r);
}

static void mark_queued__with_a_group__keeps_it_through_a_cancel(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    redisContext *c = raw_open(redis_port);
    int outcome = -1;

    assert_int_equal(atc_results_mark_queued_group(r, "qg-1", 5, "race-7", err, sizeof(err)), 0);
    assert_int_equal(atc_results_cancel(r, "qg-1", 600, 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_REQUESTED);
    assert_int_equal(atc_results_cancel_finalise(r, "qg-1", 600, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_DONE);
    assert_int_equal(atc_results_get(r, "qg-1", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "cancelled");
    assert_string_equal(atc_result_str(res, "group"), "race-7");
    assert_string_equal(atc_result_str(res, "submitted_ms"), "5");
    assert_int_equal(raw_exists(c, "atc:queued:qg-1"), 0);
    atc_result_free(res);
    res = NULL;
    assert_int_equal(atc_results_mark_queued_group(r, "qg-2", 5, NULL, err, sizeof(err)), 0);
    assert_int_equal(atc_results_get(r, "qg-2", &res, err, sizeof(err)), 0);
    assert_null(atc_result_field(res, "group"));
    atc_result_free(res);
    redisFree(c);
    atc_results_destroy(r);
}

/* The id of the newest nudge in atc:cancels ("" when none). */
static void newest_nudge(redisContext *c, char *id, size_t idlen)
{
    redisReply *reply = redisCommand(c, "XREVRANGE atc:cancels + - COUNT 1");
    assert_non_null(reply);
    id[0] = '\0';
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1) {
        const redisReply *kv = reply->element[0]->element[1];
        assert_int_equal(kv->elements, 2);
        assert_string_equal(kv->element[0]->str, "id");
        snprintf(id, idlen, "%s", kv->element[1]->str);
    }
    freeReplyObject(reply);
}

static void cancel__not_final__sets_the_mark_and_a_nudge_and_writes_no_result(void **state)
{
    struct atc_results *r = store_open();
    redisContext *c = raw_open(redis_port);
    struct atc_stream_entry e[4];
    char before[48], nudged[64];
    size_t n = 0;
    int outcome = -1;

    assert_int_equal(atc_results_stream_last(r, before, sizeof(before), err, sizeof(err)), 0);
    assert_int_equal(atc_results_mark_queued(r, "cn-1", 1, err, sizeof(err)), 0);
    assert_int_equal(atc_results_cancel(r, "cn-1", 600, 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_REQUESTED);
    assert_int_equal(raw_exists(c, "atc:result:cn-1"), 0);
    assert_int_equal(raw_exists(c, "atc:done:cn-1"), 0);
    long long ttl = raw_int(c, "TTL %s", "atc:cancel:cn-1");
    assert_true(ttl > 500 && ttl <= 600);
    newest_nudge(c, nudged, sizeof(nudged));
    assert_string_equal(nudged, "cn-1");
    /* Nothing went to the results stream. */
    assert_int_equal(atc_results_stream_read(r, before, 0, e, 4, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    /* The nudge as a worker reads it. */
    assert_int_equal(atc_results_cancel_nudges(r, "0-0", e, 4, &n, err, sizeof(err)), 0);
    assert_true(n >= 1);
    assert_string_equal(e[n - 1].id, "cn-1");
    redisFree(c);
    atc_results_destroy(r);
}

static void cancel__final_result__is_left_alone_with_no_mark(void **state)
{
    struct atc_results *r = store_open();
    redisContext *c = raw_open(redis_port);
    int outcome = -1;

    write_final_ok(r, "cn-2", "passed", 0);
    assert_int_equal(atc_results_cancel(r, "cn-2", 0, 5, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_ALREADY_FINAL);
    assert_int_equal(raw_exists(c, "atc:cancel:cn-2"), 0);
    redisFree(c);
    atc_results_destroy(r);
}

static void cancel__unknown_id__is_unknown_and_a_worker_makes_it_cancelled(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    int outcome = -1;

    /* UNKNOWN at once: no wait, though one is asked for. */
    long long t0 = atc_clock_mono_ms();
    assert_int_equal(atc_results_cancel(r, "cn-3", 0, 5, &outcome, err, sizeof(err)), 0);
    assert_true(atc_clock_mono_ms() - t0 < 2000);
    assert_int_equal(outcome, ATC_CANCEL_UNKNOWN);
    assert_int_equal(atc_results_cancel_finalise(r, "cn-3", 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_UNKNOWN);
    assert_int_equal(atc_results_get(r, "cn-3", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "cancelled");
    assert_string_equal(atc_result_str(res, "reason"), "cancelled");
    atc_result_free(res);
    atc_results_destroy(r);
}

static void cancel_finalise__each_state__does_what_the_state_needs(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    redisContext *c = raw_open(redis_port);
    struct atc_stream_entry e[8];
    char before[48];
    size_t n = 0;
    int outcome = -1, attempt = 0;

    assert_int_equal(atc_results_stream_last(r, before, sizeof(before), err, sizeof(err)), 0);
    /* No cancel mark: nothing, even for a queued job. */
    assert_int_equal(atc_results_mark_queued(r, "cf-q", 3, err, sizeof(err)), 0);
    assert_int_equal(atc_results_cancel_finalise(r, "cf-q", 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_NOT_ASKED);
    assert_int_equal(raw_exists(c, "atc:result:cf-q"), 0);
    /* Queued: the final cancelled result, notified; a second run changes nothing. */
    assert_int_equal(atc_results_cancel(r, "cf-q", 0, 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(atc_results_cancel_finalise(r, "cf-q", 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_DONE);
    assert_int_equal(atc_results_cancel_finalise(r, "cf-q", 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_ALREADY_FINAL);
    assert_int_equal(atc_results_get(r, "cf-q", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "cancelled");
    assert_string_equal(atc_result_str(res, "error"), "cancelled before it ran");
    assert_string_equal(atc_result_str(res, "submitted_ms"), "3");
    assert_non_null(atc_result_field(res, "finished_ms"));
    assert_null(atc_result_field(res, "attempt"));
    atc_result_free(res);
    res = NULL;
    assert_int_equal(raw_int(c, "LLEN %s", "atc:done:cf-q"), 1);
    long long ttl = raw_int(c, "TTL %s", "atc:result:cf-q");
    assert_true(ttl > 0 && ttl <= ATC_RESULT_DEFAULT_TTL_S);
    assert_int_equal(atc_results_stream_read(r, before, 0, e, 8, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].id, "cf-q");
    assert_string_equal(e[0].status, "cancelled");
    /* A worker consuming it afterwards finds it final. */
    assert_int_equal(atc_results_mark_running(r, "cf-q", NULL, 0, &attempt, err, sizeof(err)),
                     ATC_EFINAL);

    /* Running: cancel_requested only; its worker writes the final result. */
    assert_int_equal(atc_results_mark_running(r, "cf-r", NULL, 0, &attempt, err, sizeof(err)), 0);
    assert_int_equal(atc_results_cancel(r, "cf-r", 0, 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_REQUESTED);
    assert_int_equal(atc_results_cancel_finalise(r, "cf-r", 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_REQUESTED);
    assert_int_equal(atc_results_get(r, "cf-r", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "running");
    assert_string_equal(atc_result_str(res, "cancel_requested"), "1");
    atc_result_free(res);
    assert_int_equal(raw_exists(c, "atc:done:cf-r"), 0);

    /* Final: nothing, though a mark is there. */
    write_final_ok(r, "cf-p", "passed", 0);
    freeReplyObject(redisCommand(c, "SET atc:cancel:cf-p 1"));
    assert_int_equal(atc_results_cancel_finalise(r, "cf-p", 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_ALREADY_FINAL);
    assert_int_equal(raw_int(c, "LLEN %s", "atc:done:cf-p"), 1);
    redisFree(c);
    atc_results_destroy(r);
}

/* A worker's part: reads the nudges from the start and finalises them. */
static void *finaliser_run(void *arg)
{
    const char *id = arg;
    char ferr[256];
    struct atc_results *r = atc_results_new(redis_url, 5000, ferr, sizeof(ferr));
    struct atc_stream_entry e[64];
    int done = 0;

    for (int i = 0; r != NULL && i < 100 && !done; i++) {
        size_t n = 0;
        usleep(50 * 1000);
        if (atc_results_cancel_nudges(r, "0-0", e, 64, &n, ferr, sizeof(ferr)) != 0)
            break;
        for (size_t k = 0; k < n; k++) {
            int outcome;
            if (strcmp(e[k].id, id) == 0 &&
                atc_results_cancel_finalise(r, id, 0, &outcome, ferr, sizeof(ferr)) == 0)
                done = 1;
        }
    }
    atc_results_destroy(r);
    return NULL;
}

static void cancel__with_a_wait__is_done_once_a_worker_finalised_it(void **state)
{
    struct atc_results *r = store_open();
    pthread_t worker;
    int outcome = -1;

    assert_int_equal(atc_results_mark_queued(r, "cw-1", 1, err, sizeof(err)), 0);
    assert_int_equal(pthread_create(&worker, NULL, finaliser_run, "cw-1"), 0);
    assert_int_equal(atc_results_cancel(r, "cw-1", 0, 5, &outcome, err, sizeof(err)), 0);
    pthread_join(worker, NULL);
    assert_int_equal(outcome, ATC_CANCEL_DONE);
    /* With no worker: asked, not final within the wait. */
    assert_int_equal(atc_results_mark_queued(r, "cw-2", 1, err, sizeof(err)), 0);
    assert_int_equal(atc_results_cancel(r, "cw-2", 0, 0.3, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_REQUESTED);
    atc_results_destroy(r);
}

static void mark_running__each_attempt__increments_attempt_and_sets_fields(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    struct atc_field f[] = {{"worker", "w-1", 3}, {"attempt", "99", 2}, {"status", "x", 1}};
    int attempt = 0;
    redisContext *c = raw_open(redis_port);

    assert_int_equal(atc_results_mark_queued_group(r, "r-1", 5, "g-1", err, sizeof(err)), 0);
    assert_int_equal(atc_results_mark_running(r, "r-1", f, 3, &attempt, err, sizeof(err)), 0);
    assert_int_equal(attempt, 1);
    assert_int_equal(atc_results_mark_running(r, "r-1", f, 1, &attempt, err, sizeof(err)), 0);
    assert_int_equal(attempt, 2);
    assert_int_equal(atc_results_get(r, "r-1", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "running");
    assert_string_equal(atc_result_str(res, "attempt"), "2");
    assert_string_equal(atc_result_str(res, "worker"), "w-1");
    /* Kept from the queued mark, which is gone. */
    assert_string_equal(atc_result_str(res, "submitted_ms"), "5");
    assert_string_equal(atc_result_str(res, "group"), "g-1");
    assert_int_equal(raw_exists(c, "atc:queued:r-1"), 0);
    atc_result_free(res);
    redisFree(c);
    atc_results_destroy(r);
}

static void mark_running__after_a_final_result__is_refused(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    struct atc_field f[] = {{"worker", "w-2", 3}};
    int attempt = -1;

    assert_int_equal(atc_results_mark_running(r, "r-2", f, 1, &attempt, err, sizeof(err)), 0);
    write_final_ok(r, "r-2", "failed", 0);
    assert_int_equal(atc_results_mark_running(r, "r-2", f, 1, &attempt, err, sizeof(err)),
                     ATC_EFINAL);
    assert_int_equal(atc_results_get(r, "r-2", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "failed");
    assert_string_equal(atc_result_str(res, "attempt"), "1");
    atc_result_free(res);
    atc_results_destroy(r);
}

static void mark_running_cancel__reads_the_cancel_mark_in_the_same_call(void **state)
{
    struct atc_results *r = store_open();
    struct atc_field f[] = {{"worker", "w-3", 3}};
    int attempt = 0, cancel = -1, outcome = -1;

    assert_int_equal(atc_results_mark_queued(r, "r-3", 5, err, sizeof(err)), 0);
    assert_int_equal(atc_results_mark_running_cancel(r, "r-3", f, 1, &attempt, &cancel, err,
                                                     sizeof(err)), 0);
    assert_int_equal(attempt, 1);
    assert_int_equal(cancel, 0);
    assert_int_equal(atc_results_cancel(r, "r-3", 60, 0, &outcome, err, sizeof(err)), 0);
    assert_int_equal(outcome, ATC_CANCEL_REQUESTED);
    assert_int_equal(atc_results_mark_running_cancel(r, "r-3", f, 1, &attempt, &cancel, err,
                                                     sizeof(err)), 0);
    assert_int_equal(attempt, 2);
    assert_int_equal(cancel, 1);
    /* The connection stays in step: the next call reads its own reply. */
    assert_int_equal(atc_results_ping(r, err, sizeof(err)), 0);
    write_final_ok(r, "r-3", "failed", 0);
    cancel = -1;
    assert_int_equal(atc_results_mark_running_cancel(r, "r-3", f, 1, &attempt, &cancel, err,
                                                     sizeof(err)), ATC_EFINAL);
    assert_int_equal(cancel, 0);
    atc_results_destroy(r);
}

static int commandstats_has(redisContext *c, const char *needle)
{
    redisReply *reply = redisCommand(c, "INFO commandstats");
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_STRING);
    int found = strstr(reply->str, needle) != NULL;
    freeReplyObject(reply);
    return found;
}

static void scripts__unknown_to_the_server__are_sent_whole_once_then_by_hash(void **state)
{
    struct atc_results *r = store_open();
    redisContext *c = raw_open(redis_port);
    struct atc_field f[] = {{"worker", "w-s", 3}};
    int attempt = 0, cancel = -1;

    freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
    /* NOSCRIPT on a pipelined command, and on a single one. */
    assert_int_equal(atc_results_mark_running_cancel(r, "s-1", f, 1, &attempt, &cancel, err,
                                                     sizeof(err)), 0);
    assert_int_equal(attempt, 1);
    assert_int_equal(cancel, 0);
    write_final_ok(r, "s-1", "passed", 0);
    assert_int_equal(raw_int(c, "LLEN %s", "atc:done:s-1"), 1);

    /* Now the server has them: only their hashes travel. */
    freeReplyObject(redisCommand(c, "CONFIG RESETSTAT"));
    assert_int_equal(atc_results_mark_running_cancel(r, "s-2", f, 1, &attempt, &cancel, err,
                                                     sizeof(err)), 0);
    write_final_ok(r, "s-2", "passed", 0);
    assert_true(commandstats_has(c, "cmdstat_evalsha:calls=2,"));
    assert_false(commandstats_has(c, "cmdstat_eval:"));
    redisFree(c);
    atc_results_destroy(r);
}

static void write_final__second_write__returns_efinal_and_changes_nothing(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    redisContext *c = raw_open(redis_port);
    struct atc_field f2[] = {{"exit_code", "1", 1}, {"reason", "tests_failed", 12},
                             {"worker", "late", 4}};

    write_final_ok(r, "f-1", "passed", 0);
    assert_int_equal(atc_results_write_final(r, "f-1", "failed", f2, 3, 0, err, sizeof(err)),
                     ATC_EFINAL);
    assert_int_equal(atc_results_get(r, "f-1", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "passed");
    assert_string_equal(atc_result_str(res, "exit_code"), "0");
    assert_string_equal(atc_result_str(res, "reason"), "tests_passed");
    assert_null(atc_result_field(res, "worker"));
    /* One notification only. */
    assert_int_equal(raw_int(c, "LLEN %s", "atc:done:f-1"), 1);
    atc_result_free(res);
    redisFree(c);
    atc_results_destroy(r);
}

static void write_final__sets_the_ttl_on_hash_and_done_list(void **state)
{
    struct atc_results *r = store_open();
    redisContext *c = raw_open(redis_port);

    write_final_ok(r, "f-2", "error", 1000);
    long long t1 = raw_int(c, "TTL %s", "atc:result:f-2");
    long long t2 = raw_int(c, "TTL %s", "atc:done:f-2");
    assert_true(t1 > 0 && t1 <= 1000);
    assert_true(t2 > 0 && t2 <= 1000);

    /* ttl 0 takes the default of 7 days, and replaces the queued TTL. */
    assert_int_equal(atc_results_mark_queued(r, "f-3", 1, err, sizeof(err)), 0);
    write_final_ok(r, "f-3", "timeout", 0);
    t1 = raw_int(c, "TTL %s", "atc:result:f-3");
    t2 = raw_int(c, "TTL %s", "atc:done:f-3");
    assert_true(t1 > 1000 && t1 <= ATC_RESULT_DEFAULT_TTL_S);
    assert_true(t2 > 1000 && t2 <= ATC_RESULT_DEFAULT_TTL_S);
    redisFree(c);
    atc_results_destroy(r);
}

static void write_final__adds_a_stream_entry_with_id_and_status(void **state)
{
    struct atc_results *r = store_open();
    redisContext *c = raw_open(redis_port);
    int found = 0;

    write_final_ok(r, "f-4", "rejected", 0);
    redisReply *reply = redisCommand(c, "XRANGE %s - +", ATC_RESULTS_STREAM);
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < reply->elements; i++) {
        redisReply *kv = reply->element[i]->element[1];
        assert_int_equal(kv->elements, 4);
        if (strcmp(kv->element[0]->str, "id") == 0 && strcmp(kv->element[1]->str, "f-4") == 0) {
            assert_string_equal(kv->element[2]->str, "status");
            assert_string_equal(kv->element[3]->str, "rejected");
            found++;
        }
    }
    assert_int_equal(found, 1);
    freeReplyObject(reply);
    redisFree(c);
    atc_results_destroy(r);
}

static void write_final__status_that_is_not_final__is_invalid(void **state)
{
    struct atc_results *r = store_open();

    assert_int_equal(atc_results_write_final(r, "f-5", "running", NULL, 0, 0, err, sizeof(err)),
                     ATC_EINVAL);
    assert_int_equal(atc_results_write_final(r, "", "passed", NULL, 0, 0, err, sizeof(err)),
                     ATC_EINVAL);
    atc_results_destroy(r);
}

static void fields__binary_values__survive_the_round_trip(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    static const char blob[] = {'\x92', '\0', '\xff', '\r', '\n', 'a', '\0'};
    struct atc_field f[] = {{"tests", (char *)blob, sizeof(blob)}, {"empty", NULL, 0}};

    assert_int_equal(atc_results_write_final(r, "b-1", "passed", f, 2, 0, err, sizeof(err)), 0);
    assert_int_equal(atc_results_get(r, "b-1", &res, err, sizeof(err)), 0);
    const struct atc_field *got = atc_result_field(res, "tests");
    assert_non_null(got);
    assert_int_equal(got->len, sizeof(blob));
    assert_memory_equal(got->value, blob, sizeof(blob));
    got = atc_result_field(res, "empty");
    assert_non_null(got);
    assert_int_equal(got->len, 0);
    assert_string_equal(atc_result_str(res, "empty"), "");
    atc_result_free(res);
    atc_results_destroy(r);
}

static void get__missing_result__is_enotfound(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = (struct atc_result *)&res;

    assert_int_equal(atc_results_get(r, "nobody", &res, err, sizeof(err)), ATC_ENOTFOUND);
    assert_null(res);
    atc_results_destroy(r);
}

static void status_is_final__knows_the_final_statuses(void **state)
{
    static const char *const final[] = {"passed", "failed", "error",
                                        "timeout", "rejected", "cancelled"};
    for (size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
        assert_true(atc_status_is_final(final[i]));
    assert_false(atc_status_is_final("queued"));
    assert_false(atc_status_is_final("running"));
    assert_false(atc_status_is_final(""));
    assert_false(atc_status_is_final(NULL));
}

/* ---- waiting ---- */

static void wait__result_already_final__returns_it(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;

    write_final_ok(r, "w-1", "failed", 0);
    assert_int_equal(atc_results_wait(r, "w-1", 0, &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "failed");
    atc_result_free(res);
    atc_results_destroy(r);
}

static void wait__result_not_final__times_out_with_the_current_result(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    int attempt;

    assert_int_equal(atc_results_mark_running(r, "w-2", NULL, 0, &attempt, err, sizeof(err)), 0);
    assert_int_equal(atc_results_wait(r, "w-2", 0.3, &res, err, sizeof(err)), ATC_ETIMEDOUT);
    assert_non_null(res);
    assert_string_equal(atc_result_str(res, "status"), "running");
    atc_result_free(res);

    res = (struct atc_result *)&res;
    assert_int_equal(atc_results_wait(r, "w-none", 0.2, &res, err, sizeof(err)), ATC_ETIMEDOUT);
    assert_null(res);
    /* The handle is still usable with its normal timeout afterwards. */
    assert_int_equal(atc_results_ping(r, err, sizeof(err)), 0);
    atc_results_destroy(r);
}

struct waiter {
    const char *id;
    double timeout_s;
    int rc;
    char status[32];
};

static void *waiter_run(void *arg)
{
    struct waiter *w = arg;
    char werr[256];
    struct atc_result *res = NULL;
    struct atc_results *r = atc_results_new(redis_url, 5000, werr, sizeof(werr));

    w->rc = -100;
    if (r == NULL)
        return NULL;
    w->rc = atc_results_wait(r, w->id, w->timeout_s, &res, werr, sizeof(werr));
    snprintf(w->status, sizeof(w->status), "%s", atc_result_str(res, "status"));
    atc_result_free(res);
    atc_results_destroy(r);
    return NULL;
}

/* Waits (without a time limit on correctness) until n clients block in Redis. */
static void wait_blocked_clients(redisContext *c, int n)
{
    for (int i = 0; i < 3000; i++) {
        redisReply *reply = redisCommand(c, "INFO clients");
        assert_non_null(reply);
        const char *p = strstr(reply->str, "blocked_clients:");
        int blocked = p != NULL ? (int)strtol(p + 16, NULL, 10) : 0;
        freeReplyObject(reply);
        if (blocked >= n)
            return;
        atc_clock_sleep_ms(10);
    }
    fail_msg("%d waiters never blocked", n);
}

static void wait__final_written_meanwhile__wakes_the_waiter(void **state)
{
    struct atc_results *r = store_open();
    redisContext *c = raw_open(redis_port);
    struct waiter w = {.id = "w-3", .timeout_s = 120};
    pthread_t th;

    assert_int_equal(atc_results_mark_queued(r, "w-3", 1, err, sizeof(err)), 0);
    assert_int_equal(pthread_create(&th, NULL, waiter_run, &w), 0);
    wait_blocked_clients(c, 1);
    write_final_ok(r, "w-3", "timeout", 0);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, 0);
    assert_string_equal(w.status, "timeout");
    redisFree(c);
    atc_results_destroy(r);
}

static void wait__two_waiters__both_wake(void **state)
{
    struct atc_results *r = store_open();
    redisContext *c = raw_open(redis_port);
    /* One waits forever (in slices), one with a limit. */
    struct waiter w1 = {.id = "w-4", .timeout_s = 0};
    struct waiter w2 = {.id = "w-4", .timeout_s = 120};
    pthread_t t1, t2;

    assert_int_equal(pthread_create(&t1, NULL, waiter_run, &w1), 0);
    assert_int_equal(pthread_create(&t2, NULL, waiter_run, &w2), 0);
    wait_blocked_clients(c, 2);
    write_final_ok(r, "w-4", "passed", 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_int_equal(w1.rc, 0);
    assert_int_equal(w2.rc, 0);
    assert_string_equal(w1.status, "passed");
    assert_string_equal(w2.status, "passed");
    /* The waiters left the element for others. */
    assert_int_equal(raw_int(c, "LLEN %s", "atc:done:w-4"), 1);
    redisFree(c);
    atc_results_destroy(r);
}

/* ---- connection loss ---- */

static int redis_start_on(struct test_proc *p, int port, const char *extra_name,
                          const char *extra_value)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    char *argv[] = {"/usr/bin/redis-server", "--port", portstr, "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--loglevel", "warning",
                    (char *)extra_name, (char *)extra_value, NULL};
    if (extra_name == NULL)
        argv[11] = NULL;
    return test_proc_start(p, argv, 0);
}

/* Pings until the store answers; the server was just (re)started. */
static int ping_until_up(struct atc_results *r)
{
    for (int i = 0; i < 500; i++) {
        if (atc_results_ping(r, err, sizeof(err)) == 0)
            return 0;
        atc_clock_sleep_ms(20);
    }
    return -1;
}

static void results__server_restarted__reconnects_on_a_later_call(void **state)
{
    struct test_proc p;
    int port = test_free_port();
    struct atc_results *r = NULL;
    struct atc_result *res = NULL;
    char url[64];

    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    assert_int_equal(redis_start_on(&p, port, NULL, NULL), 0);
    for (int i = 0; i < 500 && r == NULL; i++) {
        r = atc_results_new(url, 2000, err, sizeof(err));
        if (r == NULL)
            atc_clock_sleep_ms(20);
    }
    assert_non_null(r);
    write_final_ok(r, "c-1", "passed", 0);

    test_proc_stop(&p);
    assert_int_equal(atc_results_get(r, "c-1", &res, err, sizeof(err)), ATC_ECONN);
    assert_int_equal(atc_results_ping(r, err, sizeof(err)), ATC_ECONN);
    assert_int_equal(atc_results_mark_queued(r, "c-2", 1, err, sizeof(err)), ATC_ECONN);
    assert_int_equal(atc_results_wait(r, "c-2", 1, &res, err, sizeof(err)), ATC_ECONN);
    assert_null(res);

    assert_int_equal(redis_start_on(&p, port, NULL, NULL), 0);
    assert_int_equal(ping_until_up(r), 0);
    /* A fresh server without persistence: the old result is gone, writes work. */
    assert_int_equal(atc_results_get(r, "c-1", &res, err, sizeof(err)), ATC_ENOTFOUND);
    write_final_ok(r, "c-1", "failed", 0);
    assert_int_equal(atc_results_get(r, "c-1", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "failed");
    atc_result_free(res);
    atc_results_destroy(r);
    test_proc_stop(&p);
}

static void results__password_and_database__are_used(void **state)
{
    struct test_proc p;
    int port = test_free_port();
    struct atc_results *r = NULL;
    char url[128];

    assert_int_equal(redis_start_on(&p, port, "--requirepass", "s3c@ret"), 0);
    snprintf(url, sizeof(url), "redis://:s3c%%40ret@127.0.0.1:%d/3", port);
    for (int i = 0; i < 500 && r == NULL; i++) {
        r = atc_results_new(url, 2000, err, sizeof(err));
        if (r == NULL)
            atc_clock_sleep_ms(20);
    }
    assert_non_null(r);
    write_final_ok(r, "p-1", "passed", 0);

    redisContext *c = raw_open(port);
    redisReply *reply = redisCommand(c, "AUTH %s", "s3c@ret");
    assert_non_null(reply);
    freeReplyObject(reply);
    assert_int_equal(raw_int(c, "EXISTS %s", "atc:result:p-1"), 0);
    reply = redisCommand(c, "SELECT 3");
    assert_non_null(reply);
    freeReplyObject(reply);
    assert_int_equal(raw_int(c, "EXISTS %s", "atc:result:p-1"), 1);
    redisFree(c);
    atc_results_destroy(r);

    snprintf(url, sizeof(url), "redis://:wrong-pw@127.0.0.1:%d", port);
    assert_null(atc_results_new(url, 2000, err, sizeof(err)));
    assert_non_null(strstr(err, "AUTH"));
    assert_null(strstr(err, "wrong-pw"));
    test_proc_stop(&p);
}

static void results__unix_socket__works(void **state)
{
    struct test_proc p;
    char dir[] = "/tmp/atc-results-XXXXXX";
    char sock[128], url[160];
    struct atc_results *r = NULL;
    struct atc_result *res = NULL;

    assert_non_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
    snprintf(url, sizeof(url), "unix://%s?db=1", sock);
    assert_int_equal(redis_start_on(&p, 0, "--unixsocket", sock), 0);
    for (int i = 0; i < 500 && r == NULL; i++) {
        r = atc_results_new(url, 2000, err, sizeof(err));
        if (r == NULL)
            atc_clock_sleep_ms(20);
    }
    assert_non_null(r);
    write_final_ok(r, "u-1", "passed", 0);
    assert_int_equal(atc_results_wait(r, "u-1", 1, &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "passed");
    atc_result_free(res);
    atc_results_destroy(r);
    test_proc_stop(&p);
    unlink(sock);
    rmdir(dir);
}

/* ---- the reset for a replay ---- */

static int reset(struct atc_results *r, const char *id, unsigned flags, char *status)
{
    int outcome = -1;
    int rc = atc_results_reset_for_replay(r, id, flags, 0, &outcome, status, 32, err,
                                          sizeof(err));
    if (rc != 0)
        print_error("reset_for_replay: %s\n", err);
    assert_int_equal(rc, 0);
    return outcome;
}

static void reset_for_replay__error_result__is_queued_again_keeping_attempt(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    redisContext *c = raw_open(redis_port);
    struct atc_field run[] = {{"worker", "w-1", 3}, {"submitted_ms", "5", 1}};
    struct atc_field fin[] = {{"reason", "sandbox_failed", 14}, {"error", "503", 3},
                              {"labels", "\x80", 1}};
    char status[32];
    int attempt = 0;

    assert_int_equal(atc_results_mark_running(r, "rp-1", run, 2, &attempt, err, sizeof(err)), 0);
    assert_int_equal(atc_results_write_final(r, "rp-1", "error", fin, 3, 0, err, sizeof(err)), 0);
    assert_int_equal(reset(r, "rp-1", 0, status), ATC_REPLAY_RESET);
    assert_string_equal(status, "error");
    assert_int_equal(atc_results_get(r, "rp-1", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "queued");
    assert_string_equal(atc_result_str(res, "attempt"), "1");
    assert_string_equal(atc_result_str(res, "replayed"), "1");
    assert_string_equal(atc_result_str(res, "submitted_ms"), "5");
    assert_non_null(atc_result_field(res, "replayed_ms"));
    assert_non_null(atc_result_field(res, "labels"));
    assert_null(atc_result_field(res, "reason"));
    assert_null(atc_result_field(res, "error"));
    assert_null(atc_result_field(res, "worker"));
    atc_result_free(res);
    /* No done element left to wake a waiter at once; a TTL remains. */
    assert_int_equal(raw_int(c, "EXISTS %s", "atc:done:rp-1"), 0);
    assert_true(raw_int(c, "TTL %s", "atc:result:rp-1") > 0);

    /* The worker runs it again: attempt 2, and its final write lands. */
    assert_int_equal(atc_results_mark_running(r, "rp-1", run, 1, &attempt, err, sizeof(err)), 0);
    assert_int_equal(attempt, 2);
    write_final_ok(r, "rp-1", "passed", 0);
    assert_int_equal(raw_int(c, "LLEN %s", "atc:done:rp-1"), 1);
    assert_int_equal(atc_results_get(r, "rp-1", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "passed");
    assert_string_equal(atc_result_str(res, "replayed"), "1");
    atc_result_free(res);
    /* A passed result is never reset. */
    assert_int_equal(reset(r, "rp-1", ATC_REPLAY_ALLOW_REJECTED, status), ATC_REPLAY_KEPT);
    assert_string_equal(status, "passed");
    redisFree(c);
    atc_results_destroy(r);
}

static void reset_for_replay__verdicts_and_cancels__are_never_reset(void **state)
{
    static const char *const kept[] = {"passed", "failed", "timeout", "cancelled"};
    struct atc_results *r = store_open();
    redisContext *c = raw_open(redis_port);
    char id[32], status[32];

    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        snprintf(id, sizeof(id), "rp-k%zu", i);
        write_final_ok(r, id, kept[i], 0);
        assert_int_equal(reset(r, id, ATC_REPLAY_ALLOW_REJECTED, status), ATC_REPLAY_KEPT);
        assert_string_equal(status, kept[i]);
        assert_int_equal(raw_int(c, "LLEN atc:done:%s", id), 1);
    }
    redisFree(c);
    atc_results_destroy(r);
}

static void reset_for_replay__rejected__is_reset_only_where_allowed(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    char status[32];

    write_final_ok(r, "rp-rej", "rejected", 0);
    assert_int_equal(reset(r, "rp-rej", 0, status), ATC_REPLAY_KEPT);
    assert_string_equal(status, "rejected");
    assert_int_equal(reset(r, "rp-rej", ATC_REPLAY_ALLOW_REJECTED, status), ATC_REPLAY_RESET);
    assert_int_equal(atc_results_get(r, "rp-rej", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "queued");
    atc_result_free(res);
    atc_results_destroy(r);
}

static void reset_for_replay__check_only__changes_nothing(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    redisContext *c = raw_open(redis_port);
    char status[32];

    write_final_ok(r, "rp-dry", "error", 0);
    assert_int_equal(reset(r, "rp-dry", ATC_REPLAY_CHECK_ONLY, status), ATC_REPLAY_RESET);
    assert_int_equal(reset(r, "rp-dry-none", ATC_REPLAY_CHECK_ONLY, status), ATC_REPLAY_NEW);
    assert_int_equal(atc_results_get(r, "rp-dry", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "error");
    assert_null(atc_result_field(res, "replayed"));
    atc_result_free(res);
    assert_int_equal(raw_int(c, "LLEN %s", "atc:done:rp-dry"), 1);
    assert_int_equal(raw_int(c, "EXISTS %s", "atc:result:rp-dry-none"), 0);
    redisFree(c);
    atc_results_destroy(r);
}

static void reset_for_replay__missing_queued_running__say_what_they_found(void **state)
{
    struct atc_results *r = store_open();
    struct atc_result *res = NULL;
    struct atc_field f[] = {{"worker", "w-1", 3}};
    char status[32];
    int attempt = 0;

    /* Expired: queued afresh; then it is one an earlier replay queued. */
    assert_int_equal(reset(r, "rp-gone", 0, status), ATC_REPLAY_NEW);
    assert_string_equal(status, "");
    assert_int_equal(atc_results_get(r, "rp-gone", &res, err, sizeof(err)), 0);
    assert_string_equal(atc_result_str(res, "status"), "queued");
    assert_string_equal(atc_result_str(res, "replayed"), "1");
    atc_result_free(res);
    assert_int_equal(reset(r, "rp-gone", 0, status), ATC_REPLAY_AGAIN);
    assert_string_equal(status, "queued");
    /* Queued by a submit, or running: in flight. */
    assert_int_equal(atc_results_mark_queued(r, "rp-q", 1, err, sizeof(err)), 0);
    assert_int_equal(reset(r, "rp-q", 0, status), ATC_REPLAY_IN_FLIGHT);
    assert_string_equal(status, "queued");
    assert_int_equal(atc_results_mark_running(r, "rp-gone", f, 1, &attempt, err, sizeof(err)), 0);
    assert_int_equal(reset(r, "rp-gone", 0, status), ATC_REPLAY_IN_FLIGHT);
    assert_string_equal(status, "running");
    atc_results_destroy(r);
}

static void reset_for_replay__cancel_asked__is_left_alone(void **state)
{
    struct atc_results *r = store_open();
    redisContext *c = raw_open(redis_port);
    char status[32];

    write_final_ok(r, "rp-c", "error", 0);
    redisReply *reply = redisCommand(c, "SET atc:cancel:rp-c 1");
    assert_non_null(reply);
    freeReplyObject(reply);
    assert_int_equal(reset(r, "rp-c", 0, status), ATC_REPLAY_CANCELLED);
    assert_int_equal(raw_int(c, "LLEN %s", "atc:done:rp-c"), 1);
    redisFree(c);
    atc_results_destroy(r);
}

int main(void)
{
    /* A write to a connection the server closed must fail, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redis_url_parse__good_urls__are_read),
        cmocka_unit_test(redis_url_parse__bad_urls__name_the_bad_part),
        cmocka_unit_test(redis_url_parse__error__never_shows_the_password),
        cmocka_unit_test(results_new__nothing_listening__fails_with_a_connection_error),
        cmocka_unit_test(results_new__bad_url__fails_naming_it),
        cmocka_unit_test(mark_queued__writes_its_own_key_with_a_ttl_and_no_result),
        cmocka_unit_test(mark_queued__after_a_worker_started_the_job__writes_no_mark),
        cmocka_unit_test(get__queued_mark__shows_only_its_own_fields_as_queued),
        cmocka_unit_test(get__result_hash__wins_over_the_queued_mark),
        cmocka_unit_test(get__cancel_mark__reads_as_cancel_requested_until_final),
        cmocka_unit_test(mark_queued__with_a_group__keeps_it_through_a_cancel),
        cmocka_unit_test(cancel__not_final__sets_the_mark_and_a_nudge_and_writes_no_result),
        cmocka_unit_test(cancel__final_result__is_left_alone_with_no_mark),
        cmocka_unit_test(cancel__unknown_id__is_unknown_and_a_worker_makes_it_cancelled),
        cmocka_unit_test(cancel_finalise__each_state__does_what_the_state_needs),
        cmocka_unit_test(cancel__with_a_wait__is_done_once_a_worker_finalised_it),
        cmocka_unit_test(mark_running__each_attempt__increments_attempt_and_sets_fields),
        cmocka_unit_test(mark_running__after_a_final_result__is_refused),
        cmocka_unit_test(mark_running_cancel__reads_the_cancel_mark_in_the_same_call),
        cmocka_unit_test(scripts__unknown_to_the_server__are_sent_whole_once_then_by_hash),
        cmocka_unit_test(write_final__second_write__returns_efinal_and_changes_nothing),
        cmocka_unit_test(write_final__sets_the_ttl_on_hash_and_done_list),
        cmocka_unit_test(write_final__adds_a_stream_entry_with_id_and_status),
        cmocka_unit_test(write_final__status_that_is_not_final__is_invalid),
        cmocka_unit_test(fields__binary_values__survive_the_round_trip),
        cmocka_unit_test(get__missing_result__is_enotfound),
        cmocka_unit_test(status_is_final__knows_the_final_statuses),
        cmocka_unit_test(wait__result_already_final__returns_it),
        cmocka_unit_test(wait__result_not_final__times_out_with_the_current_result),
        cmocka_unit_test(wait__final_written_meanwhile__wakes_the_waiter),
        cmocka_unit_test(wait__two_waiters__both_wake),
        cmocka_unit_test(results__server_restarted__reconnects_on_a_later_call),
        cmocka_unit_test(results__password_and_database__are_used),
        cmocka_unit_test(results__unix_socket__works),
        cmocka_unit_test(reset_for_replay__error_result__is_queued_again_keeping_attempt),
        cmocka_unit_test(reset_for_replay__verdicts_and_cancels__are_never_reset),
        cmocka_unit_test(reset_for_replay__rejected__is_reset_only_where_allowed),
        cmocka_unit_test(reset_for_replay__check_only__changes_nothing),
        cmocka_unit_test(reset_for_replay__missing_queued_running__say_what_they_found),
        cmocka_unit_test(reset_for_replay__cancel_asked__is_left_alone),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
