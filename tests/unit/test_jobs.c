/* test_jobs.c: the life of one message on a job thread (worker/jobs.c) with
 * its neighbours faked at link time (tests/unit/fakes): the sandbox service,
 * the result store, the dead-letter sender, the reaper and the clock. What
 * is checked is the contract: one final result per job, the offset let go
 * only after it, the dead letter before the result, and a given-up job's
 * sandbox handed to the reaper. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/job.h"
#include "fakes.h"
#include "jobs.h"

static struct worker_settings cfg = {
    .group = "fleet",
    .worker_id = "w-1",
    .redis_url = "redis://127.0.0.1:1",
    .dlq_topic = "atc-dlq",
    .result_ttl_s = 60,
    .max_job_bytes = 1 << 20,
    .max_timeout_s = 60,
    .install_timeout_s = 60,
    .sandbox_create_timeout_s = 60,
    .max_output_bytes = 4096,
    .retry_max = 2,
    .sandbox_snapshot = "",
    .daytona_api_url = "http://127.0.0.1:1",
    .daytona_api_key = "key",
    .daytona_target = "",
};
static struct jobs_ctx ctx;
static void *jt;
static struct task task;
static char dummy_dlq, dummy_reaper;

/* The message of job id: one passing test file. */
static void make_task(const char *id)
{
    struct atc_job_file files[] = {{"test_a.py", (unsigned char *)"def test_a(): pass\n", 19}};
    struct atc_job job = {.v = 1, .id = (char *)id, .files = files, .nfiles = 1};
    char err[256];
    char *buf = NULL;
    size_t len = 0;

    assert_int_equal(atc_job_encode(&job, &buf, &len, err, sizeof(err)), 0);
    task = (struct task){.topic = "atc-jobs", .partition = 0, .offset = 7, .key = (char *)id,
                         .value = buf, .len = len, .run_ms = -1};
}

static int setup(void **state)
{
    (void)state;
    fake_clock_reset();
    fake_daytona_reset();
    fake_results_reset();
    fake_worker_reset();
    jobs_ctx_init(&ctx, &cfg, (struct dlq *)&dummy_dlq, (struct reaper *)&dummy_reaper);
    jt = jobs_thread_init(&ctx, 0);
    make_task("job-1");
    return jt == NULL;
}

static int teardown(void **state)
{
    (void)state;
    jobs_thread_fini(&ctx, jt);
    jobs_ctx_cleanup(&ctx);
    free(task.value);
    return 0;
}

static void abandon_at_first_sleep(void *arg)
{
    (void)arg;
    ctx.abandon = 1;
}

/* The main thread's shutdown, while the job thread waits in its exec. */
static void abandon_during_exec(void *arg, enum fake_dt_call call, int n)
{
    (void)arg;
    (void)n;
    if (call != FAKE_DT_EXEC)
        return;
    ctx.abandon = 1;
    jobs_abandon_sandbox(NULL, jt);
}

static void jobs__passing_job__writes_one_final_result_and_lets_the_offset_go(void **state)
{
    (void)state;
    jobs_run_task(&ctx, jt, &task);
    assert_int_equal(fake_results.nfinal, 1);
    assert_string_equal(fake_results.final_status[0], "passed");
    assert_int_equal(fake_worker.dlq_sends, 0);
    assert_true(task.store);
}

static void jobs__result_write_failing_then_landing__is_retried_and_the_offset_stored(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ECONN, ATC_ECONN, 0};
    memcpy(fake_results.write_rc, rcs, sizeof(rcs));
    fake_results.nwrite_rc = 3;
    jobs_run_task(&ctx, jt, &task);
    assert_int_equal(fake_results.writes, 3);
    assert_int_equal(fake_results.nfinal, 1);
    assert_true(task.store);
    assert_true(fake_clock.now_ms >= 250 + 500); /* two backoffs */
}

static void jobs__shutdown_during_result_retries__gives_up_and_keeps_the_offset(void **state)
{
    (void)state;
    fake_results.write_rc[0] = ATC_ECONN;
    fake_results.nwrite_rc = 1;
    fake_clock.on_sleep = abandon_at_first_sleep;
    jobs_run_task(&ctx, jt, &task);
    assert_int_equal(fake_results.nfinal, 0);
    assert_false(task.store); /* the message comes again to another worker */
    assert_true(fake_results.writes <= 2);
}

static void jobs__fleet_fault__sends_the_dead_letter_before_the_result(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ESERVER};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    jobs_run_task(&ctx, jt, &task);
    assert_int_equal(fake_results.nfinal, 1);
    assert_string_equal(fake_results.final_status[0], "error");
    assert_int_equal(fake_worker.dlq_sends, 1);
    assert_string_equal(fake_worker.dlq_reason, "sandbox_failed");
    assert_true(fake_worker.dlq_order < fake_results.final_order);
    assert_true(task.store);
}

static void jobs__dead_letter_failing_at_shutdown__writes_no_result_and_keeps_the_offset(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ESERVER};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    fake_worker.dlq_rc[0] = ATC_ETIMEDOUT;
    fake_worker.ndlq_rc = 1;
    ctx.stopping = 1;
    jobs_run_task(&ctx, jt, &task);
    assert_int_equal(fake_results.nfinal, 0);
    assert_false(task.store);
}

static void jobs__result_already_final__is_skipped_and_its_offset_stored(void **state)
{
    (void)state;
    fake_results.running_rc[0] = ATC_EFINAL;
    fake_results.nrunning_rc = 1;
    jobs_run_task(&ctx, jt, &task);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 0);
    assert_int_equal(fake_results.nfinal, 0);
    assert_true(task.store);
}

static void jobs__cancel_asked_while_queued__ends_cancelled_without_a_sandbox(void **state)
{
    (void)state;
    fake_results.cancel_asked = 1;
    jobs_run_task(&ctx, jt, &task);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 0);
    assert_int_equal(fake_results.nfinal, 1);
    assert_string_equal(fake_results.final_status[0], "cancelled");
    assert_true(task.store);
}

static void jobs__abandoned_at_shutdown__hands_its_sandbox_to_the_reaper(void **state)
{
    (void)state;
    fake_dt.on_call = abandon_during_exec;
    jobs_run_task(&ctx, jt, &task);
    assert_int_equal(fake_worker.ndeleted_now, 1);
    assert_string_equal(fake_worker.deleted_now[0], "sb-1");
    assert_int_equal(fake_results.nfinal, 0);
    assert_false(task.store);
}

static void jobs__unreadable_message__is_rejected_and_dead_lettered(void **state)
{
    (void)state;
    static char junk[] = "\xc1 not msgpack";
    free(task.value);
    task.value = strdup(junk);
    task.len = sizeof(junk) - 1;
    task.key = "job-9";
    jobs_run_task(&ctx, jt, &task);
    assert_int_equal(fake_results.nfinal, 1);
    assert_string_equal(fake_results.final_status[0], "rejected");
    assert_int_equal(fake_worker.dlq_sends, 1);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 0);
    assert_true(task.store);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(jobs__passing_job__writes_one_final_result_and_lets_the_offset_go),
        T(jobs__result_write_failing_then_landing__is_retried_and_the_offset_stored),
        T(jobs__shutdown_during_result_retries__gives_up_and_keeps_the_offset),
        T(jobs__fleet_fault__sends_the_dead_letter_before_the_result),
        T(jobs__dead_letter_failing_at_shutdown__writes_no_result_and_keeps_the_offset),
        T(jobs__result_already_final__is_skipped_and_its_offset_stored),
        T(jobs__cancel_asked_while_queued__ends_cancelled_without_a_sandbox),
        T(jobs__abandoned_at_shutdown__hands_its_sandbox_to_the_reaper),
        T(jobs__unreadable_message__is_rejected_and_dead_lettered),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
