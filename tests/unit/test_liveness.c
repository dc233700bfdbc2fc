/* test_liveness.c: the orphan decision and sandbox names (worker/liveness.c). */
#include "support.h"

#include <string.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(liveness__sandbox_attempt__reads_what_verdict_sandbox_name_wrote),
        cmocka_unit_test(liveness__live_worker_running_job__is_kept),
        cmocka_unit_test(liveness__dead_worker__is_reaped),
        cmocka_unit_test(liveness__final_result__is_reaped_even_with_a_live_worker),
        cmocka_unit_test(liveness__own_sandbox__is_reaped_only_from_an_earlier_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
