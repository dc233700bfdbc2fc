/* test_verdict.c: the decisions of a job run (worker/verdict.c). */
#include "support.h"

#include <string.h>

#include "atc/error.h"
#include "verdict.h"

static void verdict__test_file_names__follow_pytest_conventions(void **state)
{
    assert_true(verdict_is_test_file("test_tool.py"));
    assert_true(verdict_is_test_file("pkg/tool_test.py"));
    assert_false(verdict_is_test_file("tool.py"));
    assert_false(verdict_is_test_file("test_tool.txt"));
    assert_false(verdict_is_test_file("_test.py"));
    assert_false(verdict_is_test_file("testtool.py"));
}

static void verdict__default_cmd__lists_only_test_files_quoted(void **state)
{
    struct atc_job_file files[] = {{"tool.py", NULL, 0}, {"test_tool.py", NULL, 0},
                                   {"sub/x_test.py", NULL, 0}};
    struct atc_job job = {.files = files, .nfiles = 3};
    char buf[1024];
    assert_int_equal(verdict_default_cmd(&job, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "--junitxml=" VERDICT_REPORT_PATH));
    assert_non_null(strstr(buf, " 'test_tool.py'"));
    assert_non_null(strstr(buf, " 'sub/x_test.py'"));
    assert_null(strstr(buf, "'tool.py'"));
}

static void verdict__default_cmd_without_tests__is_no_tests(void **state)
{
    struct atc_job_file files[] = {{"tool.py", NULL, 0}};
    struct atc_job job = {.files = files, .nfiles = 1};
    char buf[1024];
    assert_int_equal(verdict_default_cmd(&job, buf, sizeof(buf)), ATC_ENOTFOUND);
}

static void verdict__default_cmd_too_long__is_refused(void **state)
{
    struct atc_job_file files[] = {{"test_a_very_long_name.py", NULL, 0}};
    struct atc_job job = {.files = files, .nfiles = 1};
    char buf[40];
    assert_int_equal(verdict_default_cmd(&job, buf, sizeof(buf)), ATC_ETOOBIG);
}

static void verdict__install_cmd__targets_the_sandbox_dir(void **state)
{
    char *deps[] = {"requests==2.31", "numpy>=1,<2"};
    struct atc_job job = {.deps = deps, .ndeps = 2};
    char buf[1024];
    assert_int_equal(verdict_install_cmd(&job, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "--target .atc/deps"));
    assert_non_null(strstr(buf, " 'requests==2.31' 'numpy>=1,<2'"));
}

static void verdict__pytest_exit_codes__map_to_statuses(void **state)
{
    struct verdict v = verdict_of_run(0, 0, NULL);
    assert_string_equal(v.status, "passed");
    v = verdict_of_run(0, 1, NULL);
    assert_string_equal(v.status, "failed");
    assert_string_equal(v.reason, "tests_failed");
    v = verdict_of_run(0, 2, NULL);
    assert_string_equal(v.reason, "collection_error");
    v = verdict_of_run(0, 5, NULL);
    assert_string_equal(v.reason, "no_tests");
    v = verdict_of_run(0, 124, NULL);
    assert_string_equal(v.status, "timeout");
    assert_string_equal(v.reason, "test_timeout");
    v = verdict_of_run(0, 139, NULL);
    assert_string_equal(v.reason, "crashed");
}

static void verdict__custom_cmd_failure__uses_the_report(void **state)
{
    struct atc_junit_report r = {.total = 2, .passed = 1, .failed = 1};
    struct verdict v = verdict_of_run(1, 3, &r);
    assert_string_equal(v.reason, "tests_failed");
    v = verdict_of_run(1, 3, NULL);
    assert_string_equal(v.status, "failed");
    assert_string_equal(v.reason, "command_failed");
}

static void verdict__backoff__grows_is_capped_and_honours_retry_after(void **state)
{
    long first = verdict_backoff_ms(1, -1, 0);
    long later = verdict_backoff_ms(5, -1, 0);
    assert_true(first >= 250 && first <= 500);
    assert_true(later > first);
    for (unsigned rnd = 0; rnd < 1000; rnd += 97)
        assert_true(verdict_backoff_ms(50, -1, rnd) <= 30000);
    assert_true(verdict_backoff_ms(1, 7.0, 0) >= 7000);
}

static void verdict__sandbox_name__is_stable_and_distinct_per_attempt(void **state)
{
    char a[160], b[160], c[160], d[160];
    verdict_sandbox_name("job-1", 1, 1, a, sizeof(a));
    verdict_sandbox_name("job-1", 1, 1, b, sizeof(b));
    verdict_sandbox_name("job-1", 2, 1, c, sizeof(c));
    assert_string_equal(a, b);
    assert_string_equal(a, "atc-job-1-1-1");
    assert_string_not_equal(a, c);
    /* Ids with other characters get a hash, so two ids never share a name. */
    verdict_sandbox_name("Job:1", 1, 1, c, sizeof(c));
    verdict_sandbox_name("job.1", 1, 1, d, sizeof(d));
    assert_string_not_equal(c, d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verdict__test_file_names__follow_pytest_conventions),
        cmocka_unit_test(verdict__default_cmd__lists_only_test_files_quoted),
        cmocka_unit_test(verdict__default_cmd_without_tests__is_no_tests),
        cmocka_unit_test(verdict__default_cmd_too_long__is_refused),
        cmocka_unit_test(verdict__install_cmd__targets_the_sandbox_dir),
        cmocka_unit_test(verdict__pytest_exit_codes__map_to_statuses),
        cmocka_unit_test(verdict__custom_cmd_failure__uses_the_report),
        cmocka_unit_test(verdict__backoff__grows_is_capped_and_honours_retry_after),
        cmocka_unit_test(verdict__sandbox_name__is_stable_and_distinct_per_attempt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
