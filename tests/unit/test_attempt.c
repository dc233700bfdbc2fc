/* test_attempt.c: one attempt of a job (worker/attempt.c) against a fake sandbox
 * service and a fake clock (tests/unit/fakes): which calls are retried, when
 * the run gives up, what it deletes and what it hands to the reaper, and how
 * a cancel or an abandon ends it. */
#include "support.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "atc/error.h"
#include "fakes.h"
#include "attempt.h"

static atomic_int abandon, cancel;
static char deferred[8][160];
static int ndeferred;
static struct atc_job_file files[] = {{"test_a.py", (unsigned char *)"def test_a(): pass\n", 19}};
static struct atc_job job = {.v = 1, .id = "job-1", .files = files, .nfiles = 1};
static struct attempt_params params;
static struct attempt_outcome out;
static struct atc_daytona *d;

static int defer_delete(void *arg, const char *id)
{
    (void)arg;
    if (ndeferred < 8)
        snprintf(deferred[ndeferred++], sizeof(deferred[0]), "%s", id);
    return 1;
}

static int setup(void **state)
{
    (void)state;
    fake_clock_reset();
    fake_daytona_reset();
    abandon = cancel = 0;
    ndeferred = 0;
    params = (struct attempt_params){
        .group = "fleet",
        .worker_id = "w-1",
        .max_timeout_s = 60,
        .install_timeout_s = 60,
        .create_timeout_s = 60,
        .max_output_bytes = 4096,
        .retry_max = 2,
        .abandon = &abandon,
        .cancel = &cancel,
        .defer_delete = defer_delete,
    };
    memset(&out, 0, sizeof(out));
    d = atc_daytona_new(NULL, NULL, 0);
    return d == NULL;
}

static int teardown(void **state)
{
    (void)state;
    attempt_outcome_cleanup(&out);
    atc_daytona_destroy(d);
    return 0;
}

static void set_cancel(void *arg)
{
    (void)arg;
    cancel = 1;
}

static void abandon_on_exec(void *arg, enum fake_dt_call call, int n)
{
    (void)arg;
    (void)n;
    if (call == FAKE_DT_EXEC)
        abandon = 1;
}

static void attempt__healthy_service__runs_the_tests_and_deletes_the_sandbox(void **state)
{
    (void)state;
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "passed");
    assert_string_equal(out.reason, "tests_passed");
    assert_int_equal(out.tries, 1);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 1);
    assert_int_equal(fake_dt.ndeleted, 1);
    assert_string_equal(fake_dt.deleted[0], "sb-1");
    assert_false(fake_dt.stop_set); /* the stop test is removed at the end */
}

static void attempt__create_failing_with_5xx__is_retried_then_given_up(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ESERVER};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    attempt_run(d, &params, &job, 1, &out);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 3); /* one try and retry_max retries */
    assert_string_equal(out.status, "error");
    assert_string_equal(out.reason, "sandbox_failed");
    assert_true(out.fleet_fault);
    assert_int_equal(fake_dt.calls[FAKE_DT_EXEC], 0);
    /* The service answered each create: nothing of ours can exist. */
    assert_int_equal(fake_dt.ndeleted, 0);
    assert_true(fake_clock.now_ms >= 250 + 500); /* two backoffs were waited */
}

static void attempt__create_refused_with_4xx__is_not_retried(void **state)
{
    (void)state;
    const int rcs[] = {ATC_EPROTO};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    fake_dt.http_status = 400;
    attempt_run(d, &params, &job, 1, &out);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 1);
    assert_string_equal(out.reason, "sandbox_rejected");
    assert_int_equal(fake_clock.sleeps, 0);
}

static void attempt__create_unanswered_then_answered__runs_once(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ECONN, 0};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 2);
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "passed");
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 2);
    /* The retry asks for the same name, so a create that did land is found. */
    assert_string_equal(fake_dt.created[0], fake_dt.created[1]);
    assert_int_equal(fake_dt.calls[FAKE_DT_EXEC], 1);
    assert_int_equal(fake_dt.ndeleted, 1);
}

static void attempt__create_unanswered_for_good__deletes_by_name_in_case_it_landed(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ECONN};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    attempt_run(d, &params, &job, 1, &out);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 3);
    assert_string_equal(out.reason, "sandbox_failed");
    assert_int_equal(fake_dt.ndeleted, 1);
    assert_string_equal(fake_dt.deleted[0], fake_dt.created[0]);
}

static void attempt__delete_failing__is_handed_to_the_reaper(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ESERVER};
    fake_daytona_script(FAKE_DT_DELETE, rcs, 1);
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "passed"); /* the verdict does not wait on it */
    assert_int_equal(fake_dt.calls[FAKE_DT_DELETE], 3);
    assert_int_equal(ndeferred, 1);
    assert_string_equal(deferred[0], "sb-1");
}

static void attempt__delete_told_to_wait_a_minute__is_handed_over_at_once(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ERATELIMIT};
    fake_daytona_script(FAKE_DT_DELETE, rcs, 1);
    fake_dt.retry_after_s = 60;
    fake_dt.http_status = 429;
    attempt_run(d, &params, &job, 1, &out);
    assert_int_equal(fake_dt.calls[FAKE_DT_DELETE], 1);
    assert_int_equal(ndeferred, 1);
    assert_true(fake_clock.now_ms < 1000);
}

static void attempt__cancel_during_a_retry_wait__ends_the_wait_and_the_job(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ERATELIMIT};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    fake_dt.retry_after_s = 120; /* a wait of two minutes... */
    fake_dt.http_status = 429;
    fake_clock.on_sleep = set_cancel; /* ...cancelled as it starts */
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "cancelled");
    assert_string_equal(out.reason, "cancelled");
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 1);
    assert_true(fake_clock.now_ms <= 200); /* ended within one slice */
}

static void attempt__abandoned_while_testing__has_no_status_and_deletes_its_sandbox(void **state)
{
    (void)state;
    fake_dt.on_call = abandon_on_exec;
    attempt_run(d, &params, &job, 1, &out);
    assert_null(out.status);
    assert_int_equal(fake_dt.ndeleted, 1);
    assert_string_equal(fake_dt.deleted[0], "sb-1");
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 1); /* no new sandbox after an abandon */
}

static void attempt__exec_unanswered__is_retried_on_a_new_sandbox(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ECONN, 0};
    fake_daytona_script(FAKE_DT_EXEC, rcs, 2);
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "passed");
    assert_int_equal(out.tries, 2);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 2);
    assert_int_equal(fake_dt.ndeleted, 2);
    assert_string_not_equal(fake_dt.created[0], fake_dt.created[1]); /* try 1 and try 2 */
}

static void attempt__tests_exiting_1__are_failed(void **state)
{
    (void)state;
    fake_dt.exit_code = 1;
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "failed");
    assert_string_equal(out.reason, "tests_failed");
    assert_false(out.fleet_fault);
    assert_int_equal(out.exit_code, 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(attempt__healthy_service__runs_the_tests_and_deletes_the_sandbox),
        T(attempt__create_failing_with_5xx__is_retried_then_given_up),
        T(attempt__create_refused_with_4xx__is_not_retried),
        T(attempt__create_unanswered_then_answered__runs_once),
        T(attempt__create_unanswered_for_good__deletes_by_name_in_case_it_landed),
        T(attempt__delete_failing__is_handed_to_the_reaper),
        T(attempt__delete_told_to_wait_a_minute__is_handed_over_at_once),
        T(attempt__cancel_during_a_retry_wait__ends_the_wait_and_the_job),
        T(attempt__abandoned_while_testing__has_no_status_and_deletes_its_sandbox),
        T(attempt__exec_unanswered__is_retried_on_a_new_sandbox),
        T(attempt__tests_exiting_1__are_failed),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
