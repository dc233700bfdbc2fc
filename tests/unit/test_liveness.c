/* test_liveness.c: the orphan decision and sandbox names (worker/liveness.c),
 * and the orphan sweep against redis-server and daytona-local. */
#include "support.h"

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "atc/daytona.h"
#include "atc/error.h"
#include "atc/results.h"
#include "liveness.h"
#include "verdict.h"

static void liveness__sandbox_attempt__reads_what_verdict_sandbox_name_wrote(void **state)
{
    char name[VERDICT_SANDBOX_NAME_MAX];
    (void)state;
    verdict_sandbox_name("job-7:x", 12, 3, name, sizeof(name));
    assert_int_equal(liveness_sandbox_attempt(name), 12);
    assert_int_equal(liveness_sandbox_attempt("other-sandbox"), 0);
    assert_int_equal(liveness_sandbox_attempt("atc-x--1"), 0);
    assert_int_equal(liveness_sandbox_attempt("atc-a-b-x1-1"), 0);
    assert_int_equal(liveness_sandbox_attempt(""), 0);
}

static void liveness__live_worker_running_job__is_kept(void **state)
{
    struct liveness_facts f = {.worker_known = 1, .worker_alive = 1, .job_status = "running",
                               .job_attempt = 2, .sandbox_attempt = 2};
    (void)state;
    assert_null(liveness_orphan_reason(&f));
}

static void liveness__dead_worker__is_reaped(void **state)
{
    struct liveness_facts f = {.worker_known = 1, .worker_alive = 0, .job_status = "running",
                               .job_attempt = 1, .sandbox_attempt = 1};
    (void)state;
    assert_non_null(strstr(liveness_orphan_reason(&f), "worker is gone"));
    f.worker_known = 0; /* liveness unreadable: kept */
    assert_null(liveness_orphan_reason(&f));
}

static void liveness__final_result__is_reaped_even_with_a_live_worker(void **state)
{
    struct liveness_facts f = {.worker_known = 1, .worker_alive = 1, .job_status = "passed",
                               .job_attempt = 1, .sandbox_attempt = 1};
    (void)state;
    assert_non_null(strstr(liveness_orphan_reason(&f), "final result"));
    f.job_status = "running";
    f.job_attempt = 2;
    /* A newer attempt while its worker lives (a rebalance): kept. */
    assert_null(liveness_orphan_reason(&f));
    f.worker_alive = 0;
    assert_non_null(strstr(liveness_orphan_reason(&f), "newer attempt"));
}

static void liveness__own_sandbox__is_reaped_only_from_an_earlier_run(void **state)
{
    struct liveness_facts f = {.own = 1, .worker_known = 1, .worker_alive = 0,
                               .job_status = "running", .job_attempt = 1, .sandbox_attempt = 1};
    (void)state;
    assert_null(liveness_orphan_reason(&f));
    f.before_start = 1;
    assert_non_null(liveness_orphan_reason(&f));
}

/* ---- the two-miss rule (liveness_judge) ---- */

/* One sweep's judgement of workers[0..n) with the keys of those in missing
 * absent; dead[] receives it. */
static void judge(struct liveness_memory *m, long long now_ms, const char *const *workers,
                  size_t n, const char *missing, int *dead)
{
    int alive[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++)
        alive[i] = strstr(missing, workers[i]) == NULL;
    assert_int_equal(liveness_judge(m, now_ms, workers, alive, n, 1, dead), 0);
}

static void liveness_judge__key_missing_on_one_sweep_only__is_no_death(void **state)
{
    struct liveness_memory m = {0};
    const char *const w[] = {"w-a", "w-b", "w-a"};
    int dead[3];
    (void)state;
    judge(&m, 0, w, 3, "", dead);
    /* Redis lost its data just before this sweep: every key is missing. */
    judge(&m, 10000, w, 3, "w-a w-b", dead);
    assert_int_equal(dead[0] + dead[1] + dead[2], 0);
    judge(&m, 20000, w, 3, "", dead); /* beaten again */
    assert_int_equal(dead[0] + dead[1] + dead[2], 0);
    judge(&m, 30000, w, 3, "w-b", dead); /* a new run of misses starts here */
    assert_int_equal(dead[0] + dead[1] + dead[2], 0);
    liveness_memory_cleanup(&m);
}

static void liveness_judge__key_missing_on_two_sweeps__is_a_death(void **state)
{
    struct liveness_memory m = {0};
    const char *const w[] = {"w-a", "w-b", "w-a", ""};
    int dead[4];
    (void)state;
    judge(&m, 0, w, 4, "w-a", dead);
    assert_int_equal(dead[0] + dead[1] + dead[2] + dead[3], 0);
    judge(&m, 10000, w, 4, "w-a", dead);
    assert_true(dead[0] && dead[2]);
    assert_false(dead[1] || dead[3]);
    judge(&m, 20000, w, 4, "w-a", dead); /* and stays dead */
    assert_true(dead[0] && dead[2]);
    liveness_memory_cleanup(&m);
}

/* Sweeps closer together than the beats (ATC_ORPHAN_SWEEP_S=1) could both
 * fall in the gap after a flush: the misses must span LIVENESS_MISS_SPAN_MS. */
static void liveness_judge__close_sweeps__need_the_misses_to_span_the_beats(void **state)
{
    struct liveness_memory m = {0};
    const char *const w[] = {"w-a"};
    int dead[1];
    (void)state;
    judge(&m, 0, w, 1, "w-a", dead);
    judge(&m, 1000, w, 1, "w-a", dead);
    judge(&m, LIVENESS_MISS_SPAN_MS - 1, w, 1, "w-a", dead);
    assert_false(dead[0]);
    judge(&m, LIVENESS_MISS_SPAN_MS, w, 1, "w-a", dead);
    assert_true(dead[0]);
    liveness_memory_cleanup(&m);
}

/* A sweep that could not read the keys breaks the run of misses, and a worker
 * its sandboxes no longer name is forgotten. */
static void liveness_judge__unread_keys_or_an_absent_worker__start_the_count_again(void **state)
{
    struct liveness_memory m = {0};
    const char *const w[] = {"w-a"};
    const char *const none[] = {"w-other"};
    int alive[1] = {0}, dead[1];
    (void)state;
    judge(&m, 0, w, 1, "w-a", dead);
    assert_int_equal(liveness_judge(&m, 10000, w, alive, 1, 0, dead), 0);
    assert_false(dead[0]);
    judge(&m, 20000, w, 1, "w-a", dead);
    assert_false(dead[0]);
    judge(&m, 30000, none, 1, "", dead);
    judge(&m, 40000, w, 1, "w-a", dead);
    assert_false(dead[0]);
    judge(&m, 50000, w, 1, "w-a", dead);
    assert_true(dead[0]);
    liveness_memory_cleanup(&m);
}

/* ---- the sweep, against redis-server and daytona-local ---- */

#define GROUP "fleet"
#define SELF "w-me"

static struct {
    struct test_proc redis;
    int redis_port;
    struct test_daytona dt;
    struct atc_results *r;
    redisContext *raw;
    struct liveness_memory mem;
    long long now_ms;           /* of the next sweep, ATC_ORPHAN_SWEEP_S's default apart */
} sw;
static char err[512];

static int sweep_setup(void **state)
{
    char url[128];
    (void)state;
    memset(&sw, 0, sizeof(sw));
    if (test_redis_start(&sw.redis, &sw.redis_port) != 0)
        return -1;
    if (test_daytona_up(&sw.dt, NULL) != 0)
        return -1;
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", sw.redis_port);
    sw.r = atc_results_new(url, 5000, err, sizeof(err));
    sw.raw = redisConnect("127.0.0.1", sw.redis_port);
    return sw.r == NULL || sw.raw == NULL || sw.raw->err != 0;
}

static int sweep_teardown(void **state)
{
    (void)state;
    liveness_memory_cleanup(&sw.mem);
    redisFree(sw.raw);
    atc_results_destroy(sw.r);
    test_daytona_down(&sw.dt);
    test_proc_stop(&sw.redis);
    return 0;
}

/* A sandbox of the group labelled with worker and job; its id into id. */
static void make_sandbox(const char *worker, const char *job, char *id, size_t idlen)
{
    struct atc_kv labels[] = {{"atc-fleet", GROUP}, {"atc-worker", (char *)worker},
                              {"atc-job", (char *)job}};
    struct atc_sandbox_spec spec = {.labels = labels, .nlabels = 3, .auto_stop_min = -1,
                                    .auto_delete_min = -1};
    struct atc_sandbox sb;
    int rc = atc_daytona_create(sw.dt.d, &spec, &sb, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    snprintf(id, idlen, "%s", sb.id);
}

static int is_live(const char *id)
{
    struct atc_sandbox sb;
    int rc = atc_daytona_get(sw.dt.d, id, &sb, err, sizeof(err));
    if (rc == ATC_ENOTFOUND)
        return 0;
    assert_int_equal_msg(rc, 0, err);
    return strcmp(sb.state, "destroyed") != 0 && strcmp(sb.state, "destroying") != 0;
}

static void beat(const char *worker)
{
    int rc = atc_results_worker_beat(sw.r, GROUP, worker, 15, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
}

/* One sweep of this process; how many sandboxes it deleted. */
static int sweep(void)
{
    int rc = liveness_sweep(sw.dt.d, sw.r, GROUP, SELF, &sw.mem, sw.now_ms, NULL, NULL, err,
                            sizeof(err));
    sw.now_ms += 10000;
    if (rc < 0)
        print_error("liveness_sweep: %s\n", err);
    assert_true(rc >= 0);
    return rc;
}

static void flushall(void)
{
    redisReply *reply = redisCommand(sw.raw, "FLUSHALL");
    assert_non_null(reply);
    assert_int_equal(reply->type, REDIS_REPLY_STATUS);
    freeReplyObject(reply);
}

/* Redis restarted without its data (or FLUSHALL): a live worker's key is gone
 * until its next beat, up to 2 s; a sweep in that window must keep its
 * sandboxes. */
static void liveness_sweep__keys_lost_with_redis__keeps_a_live_workers_sandbox(void **state)
{
    char id[128];
    (void)state;
    beat("w-live");
    make_sandbox("w-live", "job-live", id, sizeof(id));
    assert_int_equal(sweep(), 0);
    flushall();
    assert_int_equal(sweep(), 0);
    beat("w-live"); /* its next beat */
    assert_int_equal(sweep(), 0);
    assert_true(is_live(id));
}

/* A worker that is really gone: its key stays missing, and the second sweep
 * that misses it deletes its sandbox. */
static void liveness_sweep__a_worker_missing_on_two_sweeps__loses_its_sandbox(void **state)
{
    char id[128];
    (void)state;
    make_sandbox("w-dead", "job-dead", id, sizeof(id));
    assert_int_equal(sweep(), 0);
    assert_true(is_live(id));
    assert_int_equal(sweep(), 1);
    assert_false(is_live(id));
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(liveness__sandbox_attempt__reads_what_verdict_sandbox_name_wrote),
        cmocka_unit_test(liveness__live_worker_running_job__is_kept),
        cmocka_unit_test(liveness__dead_worker__is_reaped),
        cmocka_unit_test(liveness__final_result__is_reaped_even_with_a_live_worker),
        cmocka_unit_test(liveness__own_sandbox__is_reaped_only_from_an_earlier_run),
        cmocka_unit_test(liveness_judge__key_missing_on_one_sweep_only__is_no_death),
        cmocka_unit_test(liveness_judge__key_missing_on_two_sweeps__is_a_death),
        cmocka_unit_test(liveness_judge__close_sweeps__need_the_misses_to_span_the_beats),
        cmocka_unit_test(
            liveness_judge__unread_keys_or_an_absent_worker__start_the_count_again),
        cmocka_unit_test_setup_teardown(
            liveness_sweep__keys_lost_with_redis__keeps_a_live_workers_sandbox, sweep_setup,
            sweep_teardown),
        cmocka_unit_test_setup_teardown(
            liveness_sweep__a_worker_missing_on_two_sweeps__loses_its_sandbox, sweep_setup,
            sweep_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
