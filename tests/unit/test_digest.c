/* test_digest.c: the failure digest (worker/digest.c) and the plugin's side
 * report (worker/side.c). */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "digest.h"
#include "side.h"

static const char *const FILES[] = {"tool.py", "test_tool.py"};

static void digest__keeps_only_frames_in_the_job_files(void **state)
{
    struct digest_frame fr[] = {
        {"/usr/lib/python3/dist-packages/_pytest/python.py", 195, "pytest_pyfunc_call", "result = testfunction(**testargs)"},
        {"test_tool.py", 4, "test_add", "assert add(2, 3) == 6"},
        {"tool.py", 2, "add", "return a + b"},
    };
    struct digest_test t = {"test_tool::test_add", "failed", "AssertionError: assert 5 == 6\n +  where 5 = add(2, 3)", fr, 3};
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(digest_build(&t, 1, FILES, 2, NULL, 0, 2048, &out, &len), 0);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    assert_non_null(strstr(out, "failed test_tool::test_add\n"));
    assert_non_null(strstr(out, "  AssertionError: assert 5 == 6\n"));
    assert_null(strstr(out, "where 5"));
    assert_non_null(strstr(out, "test_tool.py:4 in test_add: assert add(2, 3) == 6"));
    assert_non_null(strstr(out, "tool.py:2 in add: return a + b"));
    assert_null(strstr(out, "_pytest"));
    free(out);
}

static void digest__folds_the_same_failure_of_several_tests(void **state)
{
    struct digest_frame fa[] = {{"test_tool.py", 4, "test_a", "check()"}, {"tool.py", 9, "check", "raise ValueError('x')"}};
    struct digest_frame fb[] = {{"test_tool.py", 7, "test_b", "check()"}, {"tool.py", 9, "check", "raise ValueError('x')"}};
    struct digest_frame fc[] = {{"test_tool.py", 10, "test_c", "assert 1 == 2"}};
    struct digest_test t[] = {
        {"m::test_a", "failed", "ValueError: x", fa, 2},
        {"m::test_b", "failed", "ValueError: x", fb, 2},
        {"m::test_c", "failed", "AssertionError: assert 1 == 2", fc, 1},
    };
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(digest_build(t, 3, FILES, 2, NULL, 0, 2048, &out, &len), 0);
    assert_non_null(strstr(out, "failed m::test_a (same failure: m::test_b)\n"));
    assert_null(strstr(out, "failed m::test_b"));
    assert_non_null(strstr(out, "failed m::test_c\n"));
    /* ValueError appears once: test_b's entry was folded into test_a's. */
    const char *first = strstr(out, "ValueError: x");
    assert_non_null(first);
    assert_null(strstr(first + 1, "ValueError: x"));
    free(out);
}

static void digest__stays_under_its_cap_and_says_what_it_left_out(void **state)
{
    enum { N = 200 };
    struct digest_test t[N];
    char names[N][32];
    char whats[N][64];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "m::test_%d", i);
        snprintf(whats[i], sizeof(whats[i]), "AssertionError: assert %d == -1", i);
        t[i] = (struct digest_test){names[i], "failed", whats[i], NULL, 0};
    }
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(digest_build(t, N, FILES, 2, NULL, 0, 512, &out, &len), 0);
    assert_true(len <= 512);
    assert_non_null(strstr(out, "failed m::test_0\n"));
    assert_non_null(strstr(out, "more failures not shown\n"));
    assert_int_equal(out[len - 1], '\n');
    free(out);
}

static void digest__names_pips_reason_for_an_install_failure(void **state)
{
    const char pip[] = "Collecting x==9\n"
                       "ERROR: Could not find a version that satisfies the requirement x==9 (from versions: none)\n"
                       "ERROR: No matching distribution found for x==9\n";
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(digest_build(NULL, 0, FILES, 2, pip, sizeof(pip) - 1, 2048, &out, &len), 0);
    assert_non_null(out);
    assert_string_equal(out, "install failed: ERROR: Could not find a version that satisfies the "
                             "requirement x==9 (from versions: none)\n");
    free(out);
}

static void digest__install_line__carries_no_control_character(void **state)
{
    const char pip[] = "ERROR: bad\x1b[31m x\0y\n";
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(digest_build(NULL, 0, FILES, 2, pip, sizeof(pip) - 1, 2048, &out, &len), 0);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    assert_string_equal(out, "install failed: ERROR: bad?[31m x?y\n");
    free(out);
}

static void digest__of_nothing__is_null(void **state)
{
    char *out = (char *)1;
    size_t len = 1;
    assert_int_equal(digest_build(NULL, 0, FILES, 2, NULL, 0, 2048, &out, &len), 0);
    assert_null(out);
    assert_int_equal(len, 0);
}

static const char SIDE[] =
    "{\"v\":1,\"tests\":["
    "{\"classname\":\"test_tool\",\"name\":\"test_hang\",\"runs\":1,\"outcome\":\"timeout\","
    "\"exception\":\"AtcTestTimeout: x\",\"frames\":[[\"test_tool.py\",7,\"test_hang\",\"time.sleep(1)\"]]},"
    "{\"classname\":\"test_tool\",\"name\":\"test_flaky\",\"runs\":2,\"outcome\":\"flaky\"},"
    "{\"classname\":\"test_tool\",\"name\":\"test_ok\",\"runs\":2,\"outcome\":\"flaky\"}],"
    "\"coverage\":{\"pct\":58.3},\"rerun_ms\":12,"
    "\"lint\":{\"tests_without_assert\":[\"test_tool.py::test_hang\"],\"tests_not_importing_tool\":[]}}";

static void side__renames_only_tests_the_junit_report_failed(void **state)
{
    struct side_report sr;
    char err[256];
    assert_int_equal(side_report_parse(SIDE, sizeof(SIDE) - 1, 100, &sr, err, sizeof(err)), 0);
    assert_int_equal(sr.ntests, 3);
    assert_true(sr.has_coverage);
    assert_true(sr.coverage_pct > 58.2 && sr.coverage_pct < 58.4);
    assert_int_equal(sr.nno_assert, 1);
    assert_int_equal(sr.rerun_ms, 12);

    struct atc_test_case cases[] = {
        {"test_hang", "test_tool", ATC_TEST_FAILED, 0, ""},
        {"test_flaky", "test_tool", ATC_TEST_FAILED, 0, ""},
        {"test_ok", "test_tool", ATC_TEST_PASSED, 0, ""}, /* the side report cannot fail it */
    };
    struct atc_junit_report rep = {.tests = cases, .ntests = 3, .total = 3, .passed = 1, .failed = 2};
    long flaky = -1, timeouts = -1;
    side_report_apply(&sr, &rep, &flaky, &timeouts);
    assert_int_equal(cases[0].outcome, ATC_TEST_TIMEOUT);
    assert_int_equal(cases[1].outcome, ATC_TEST_FLAKY);
    assert_int_equal(cases[2].outcome, ATC_TEST_PASSED);
    assert_int_equal(flaky, 1);
    assert_int_equal(timeouts, 1);
    side_report_cleanup(&sr);
}

static void side__that_is_not_json__is_refused(void **state)
{
    struct side_report sr;
    char err[256];
    assert_int_equal(side_report_parse("{\"tests\":[1]}", 13, 100, &sr, err, sizeof(err)), ATC_EBADMSG);
    assert_int_equal(side_report_parse("nope", 4, 100, &sr, err, sizeof(err)), ATC_EBADMSG);
    assert_int_equal(sr.ntests, 0);
    side_report_cleanup(&sr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digest__keeps_only_frames_in_the_job_files),
        cmocka_unit_test(digest__folds_the_same_failure_of_several_tests),
        cmocka_unit_test(digest__stays_under_its_cap_and_says_what_it_left_out),
        cmocka_unit_test(digest__names_pips_reason_for_an_install_failure),
        cmocka_unit_test(digest__install_line__carries_no_control_character),
        cmocka_unit_test(digest__of_nothing__is_null),
        cmocka_unit_test(side__renames_only_tests_the_junit_report_failed),
        cmocka_unit_test(side__that_is_not_json__is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
