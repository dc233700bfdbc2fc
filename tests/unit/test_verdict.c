/* test_verdict.c: the decisions of a job run (worker/verdict.c). */
#include "support.h"

#include <stdio.h>
#include <string.h>

#include "atc/error.h"
#include "atc/sha256.h"
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
    assert_int_equal(verdict_default_cmd(&job, ".atc/r-ab/report.xml", buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "--junitxml=.atc/r-ab/report.xml"));
    assert_null(strstr(buf, "-m pytest"));
    assert_non_null(strstr(buf, " 'test_tool.py'"));
    assert_non_null(strstr(buf, " 'sub/x_test.py'"));
    assert_null(strstr(buf, "'tool.py'"));
}

static void verdict__default_cmd_without_tests__is_no_tests(void **state)
{
    struct atc_job_file files[] = {{"tool.py", NULL, 0}};
    struct atc_job job = {.files = files, .nfiles = 1};
    char buf[1024];
    assert_int_equal(verdict_default_cmd(&job, ".atc/r-ab/report.xml", buf, sizeof(buf)), ATC_ENOTFOUND);
}

static void verdict__default_cmd_too_long__is_refused(void **state)
{
    struct atc_job_file files[] = {{"test_a_very_long_name.py", NULL, 0}};
    struct atc_job job = {.files = files, .nfiles = 1};
    char buf[40];
    assert_int_equal(verdict_default_cmd(&job, ".atc/r-ab/report.xml", buf, sizeof(buf)), ATC_ETOOBIG);
}

static void verdict__plugin_cmd__loads_the_plugin_with_its_options(void **state)
{
    struct atc_job_file files[] = {{"tool.py", NULL, 0}, {"test_tool.py", NULL, 0}};
    struct atc_job job = {.files = files, .nfiles = 2};
    struct verdict_plugin plug = {.test_timeout_s = 7, .reruns = 2, .coverage = 1};
    char buf[2048];
    assert_int_equal(verdict_plugin_cmd(&job, ".atc/r-ab/report.xml", &plug, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "sys.path.insert(0, \".atc/py\")"));
    assert_non_null(strstr(buf, " -p atc_fleet_plugin --atc-side=.atc/r-ab/fleet.json"
                                " --atc-test-timeout=7 --atc-reruns=2 --atc-coverage=1 -- 'test_tool.py'"));
    assert_non_null(strstr(buf, "--junitxml=.atc/r-ab/report.xml"));
    assert_int_equal(verdict_default_cmd(&job, ".atc/r-ab/report.xml", buf, sizeof(buf)), 0);
    assert_null(strstr(buf, "atc_fleet_plugin"));
}

static void verdict__only_flaky_failures__refine_the_reason_never_the_status(void **state)
{
    struct atc_junit_report r = {.total = 3, .passed = 1, .failed = 2};
    assert_string_equal(verdict_refine_reason("failed", "tests_failed", &r, 2), "flaky");
    assert_string_equal(verdict_refine_reason("failed", "tests_failed", &r, 1), "tests_failed");
    assert_string_equal(verdict_refine_reason("failed", "tests_failed", &r, 0), "tests_failed");
    assert_string_equal(verdict_refine_reason("passed", "tests_passed", &r, 2), "tests_passed");
    assert_string_equal(verdict_refine_reason("failed", "verdict_contradiction", &r, 2),
                        "verdict_contradiction");
    assert_string_equal(verdict_refine_reason("failed", "tests_failed", NULL, 2), "tests_failed");
    struct atc_job job = {0};
    assert_int_equal(verdict_test_timeout(&job, 30, 60), 30);
    assert_int_equal(verdict_test_timeout(&job, 30, 10), 10);
    job.has_test_timeout = 1;
    job.test_timeout_s = 5;
    assert_int_equal(verdict_test_timeout(&job, 30, 60), 5);
}

static void verdict__install_cmd__targets_the_sandbox_dir(void **state)
{
    char *deps[] = {"requests==2.31", "numpy>=1,<2"};
    struct atc_job job = {.deps = deps, .ndeps = 2};
    char buf[1024];
    assert_int_equal(verdict_install_cmd(&job, NULL, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "--target .atc/deps"));
    assert_non_null(strstr(buf, " 'requests==2.31' 'numpy>=1,<2'"));
}

static void verdict__pytest_exit_codes__map_to_statuses(void **state)
{
    struct atc_junit_report ok = {.total = 1, .passed = 1};
    char why[256];
    struct verdict v = verdict_of_run(0, 0, &ok, why, sizeof(why));
    assert_string_equal(v.status, "passed");
    assert_string_equal(why, "");
    v = verdict_of_run(0, 1, NULL, why, sizeof(why));
    assert_string_equal(v.status, "failed");
    assert_string_equal(v.reason, "tests_failed");
    v = verdict_of_run(0, 2, NULL, why, sizeof(why));
    assert_string_equal(v.reason, "collection_error");
    v = verdict_of_run(0, 5, NULL, why, sizeof(why));
    assert_string_equal(v.reason, "no_tests");
    v = verdict_of_run(0, 124, NULL, why, sizeof(why));
    assert_string_equal(v.status, "timeout");
    assert_string_equal(v.reason, "test_timeout");
    v = verdict_of_run(0, 139, NULL, why, sizeof(why));
    assert_string_equal(v.reason, "crashed");
}

static void verdict__exit_zero_without_the_report__is_failed_no_report(void **state)
{
    char why[256];
    struct verdict v = verdict_of_run(0, 0, NULL, why, sizeof(why));
    assert_string_equal(v.status, "failed");
    assert_string_equal(v.reason, "no_report");
    assert_non_null(strstr(why, "no JUnit report"));
}

static void verdict__exit_zero_with_a_failed_test__is_a_contradiction(void **state)
{
    struct atc_junit_report r = {.total = 2, .passed = 1, .failed = 1};
    char why[256];
    for (int custom = 0; custom <= 1; custom++) {
        struct verdict v = verdict_of_run(custom, 0, &r, why, sizeof(why));
        assert_string_equal(v.status, "failed");
        assert_string_equal(v.reason, "verdict_contradiction");
        assert_non_null(strstr(why, "exit status 0 contradicts"));
    }
    struct atc_junit_report e = {.total = 1, .errors = 1};
    assert_string_equal(verdict_of_run(0, 0, &e, why, sizeof(why)).reason, "verdict_contradiction");
}

static void verdict__exit_zero_with_an_empty_report__is_no_tests(void **state)
{
    struct atc_junit_report r = {0};
    char why[256];
    struct verdict v = verdict_of_run(0, 0, &r, why, sizeof(why));
    assert_string_equal(v.status, "failed");
    assert_string_equal(v.reason, "no_tests");
}

static void verdict__custom_cmd_exit_zero_without_a_report__passes(void **state)
{
    char why[256];
    assert_string_equal(verdict_of_run(1, 0, NULL, why, sizeof(why)).status, "passed");
}

static void verdict__report_path__is_a_fresh_directory_under_atc(void **state)
{
    unsigned char a[16] = {0}, b[16] = {0};
    char pa[VERDICT_REPORT_PATH_MAX], pb[VERDICT_REPORT_PATH_MAX];
    b[15] = 1;
    verdict_report_path(a, pa, sizeof(pa));
    verdict_report_path(b, pb, sizeof(pb));
    assert_string_equal(pa, ".atc/r-00000000000000000000000000000000/report.xml");
    assert_string_not_equal(pa, pb);
}

static void verdict__sigkill__is_failed_oom(void **state)
{
    char why[256];
    for (int custom = 0; custom <= 1; custom++) {
        struct verdict v = verdict_of_run(custom, 137, NULL, why, sizeof(why));
        assert_string_equal(v.status, "failed");
        assert_string_equal(v.reason, "oom");
        assert_non_null(strstr(why, "memory"));
    }
}

static void verdict__runner_header__is_parsed_or_refused(void **state)
{
    struct verdict_header h;
    const char *ok = "1234 1 52428800 1500";
    assert_int_equal(verdict_parse_header(ok, strlen(ok), &h), 0);
    assert_int_equal(h.total, 1234);
    assert_int_equal(h.has_report, 1);
    assert_int_equal(h.peak_rss, 52428800);
    assert_int_equal(h.cpu_ms, 1500);
    const char *unknown = "7 0 - -";
    assert_int_equal(verdict_parse_header(unknown, strlen(unknown), &h), 0);
    assert_int_equal(h.has_report, 0);
    assert_int_equal(h.peak_rss, -1);
    const char *side = "12 1 - - 5";
    assert_int_equal(verdict_parse_header(side, strlen(side), &h), 0);
    assert_int_equal(h.side_len, 5);
    assert_int_equal(verdict_parse_header(ok, strlen(ok), &h), 0);
    assert_int_equal(h.side_len, 0);
    static const char *const bad[] = {"", "12", "12 2 - -", "12 1 x -", "12 1 - - 5 6",
                                      "12 1 - - -", "12 1 - - x", "hello world", "12 1 -- -",
                                      "-1 1 - -"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(verdict_parse_header(bad[i], strlen(bad[i]), &h), -1);
        assert_int_equal(h.has_report, 1);
        assert_int_equal(h.cpu_ms, -1);
    }
}

static void verdict__snapshot_allow_list__takes_only_listed_names(void **state)
{
    assert_true(verdict_snapshot_allowed(NULL, "any"));
    assert_true(verdict_snapshot_allowed("", "any"));
    assert_true(verdict_snapshot_allowed("py311, py312 ,node", "py312"));
    assert_true(verdict_snapshot_allowed("py311,py312", "py311"));
    assert_false(verdict_snapshot_allowed("py311,py312", "py31"));
    assert_false(verdict_snapshot_allowed("py311,py312", "py3112"));
    assert_false(verdict_snapshot_allowed(",", ""));
}

static void verdict__probe_addr__is_the_url_host_and_port(void **state)
{
    char buf[64];
    assert_int_equal(verdict_probe_addr("https://app.daytona.io/api", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "app.daytona.io:443");
    assert_int_equal(verdict_probe_addr("http://127.0.0.1:3000/api", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "127.0.0.1:3000");
    assert_int_equal(verdict_probe_addr("http://[::1]/api", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "[::1]:80");
    assert_int_equal(verdict_probe_addr("http://[::1]:9/api", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "[::1]:9");
    assert_int_equal(verdict_probe_addr("ftp://x/", buf, sizeof(buf)), -1);
    assert_int_equal(verdict_probe_addr("http://u@h/", buf, sizeof(buf)), -1);
}

static void verdict__custom_cmd_failure__uses_the_report(void **state)
{
    struct atc_junit_report r = {.total = 2, .passed = 1, .failed = 1};
    char why[256];
    struct verdict v = verdict_of_run(1, 3, &r, why, sizeof(why));
    assert_string_equal(v.reason, "tests_failed");
    v = verdict_of_run(1, 3, NULL, why, sizeof(why));
    assert_string_equal(v.status, "failed");
    assert_string_equal(v.reason, "command_failed");
}

/* 1 when name keeps to lower-case letters, digits and dashes, at most 63 long. */
static int name_is_tame(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '-'))
            return 0;
    return 1;
}

static void verdict__sandbox_name__is_stable_and_distinct_per_attempt(void **state)
{
    char a[VERDICT_SANDBOX_NAME_MAX], b[VERDICT_SANDBOX_NAME_MAX], c[VERDICT_SANDBOX_NAME_MAX];
    char d[VERDICT_SANDBOX_NAME_MAX];
    verdict_sandbox_name("job-1", 1, 1, a, sizeof(a));
    verdict_sandbox_name("job-1", 1, 1, b, sizeof(b));
    verdict_sandbox_name("job-1", 2, 1, c, sizeof(c));
    verdict_sandbox_name("job-1", 1, 2, d, sizeof(d));
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_string_not_equal(c, d);
    /* Ids with other characters clean to the same prefix; the hash tells them apart. */
    verdict_sandbox_name("Job:1", 1, 1, c, sizeof(c));
    verdict_sandbox_name("job.1", 1, 1, d, sizeof(d));
    assert_string_not_equal(c, d);
    assert_string_not_equal(a, c);
}

static void verdict__sandbox_name__has_one_form_with_sha256_of_the_id(void **state)
{
    char a[VERDICT_SANDBOX_NAME_MAX];
    /* SHA-256("job-1") = 026ab639c21df8aa... (sha256sum of the 5 bytes). */
    verdict_sandbox_name("job-1", 3, 2, a, sizeof(a));
    assert_string_equal(a, "atc-job-1-026ab639c21df8aa-3-2");
    /* Long ids keep their first 24 cleaned characters, then the same hash form. */
    verdict_sandbox_name("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123", 1, 1, a, sizeof(a));
    assert_int_equal(strncmp(a, "atc-abcdefghijklmnopqrstuvwx-", 29), 0);
    assert_int_equal(strlen(a), 29 + 16 + 4);
}

static void verdict__sandbox_name__cannot_be_forged_by_a_crafted_id(void **state)
{
    char victim[VERDICT_SANDBOX_NAME_MAX], forged[VERDICT_SANDBOX_NAME_MAX];
    char crafted[ATC_JOB_ID_MAX + 1];
    /* The old scheme gave "victim" the name atc-victim-1-1 and a long id
     * "<clean 24>-<hash>" a name ending in its own hash: an id spelling out
     * another's name (prefix, hash and all) must not get that name. */
    verdict_sandbox_name("victim", 1, 1, victim, sizeof(victim));
    size_t n = strlen(victim);
    assert_true(n > 8);
    /* "atc-victim-<hash>-1-1" less "atc-" and "-1-1": the id that would
     * reproduce it if names were the id as-is. */
    snprintf(crafted, sizeof(crafted), "%.*s", (int)(n - 8), victim + 4);
    verdict_sandbox_name(crafted, 1, 1, forged, sizeof(forged));
    assert_string_not_equal(victim, forged);
    /* And the name of an attempt cannot be reached by an id ending in "-<attempt>". */
    verdict_sandbox_name("victim-1", 1, 1, forged, sizeof(forged));
    assert_string_not_equal(victim, forged);
}

static void verdict__sandbox_name__keeps_to_daytona_name_rules(void **state)
{
    static const char *const ids[] = {"job-1", "Job:1", "a", "../../etc/passwd", "é ü\t\"'",
                                      "----------------------------------------",
                                      ("0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
                                       "cdef0123456789abcdef0123456789abcdef0123456789abcdef01234567")};
    char a[VERDICT_SANDBOX_NAME_MAX];
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        verdict_sandbox_name(ids[i], 99999, 99, a, sizeof(a));
        assert_true(name_is_tame(a));
        assert_int_equal(strncmp(a, "atc-", 4), 0);
    }
}

/* The sandbox name's digest: the FIPS 180-2 test vectors, prepared or not. */
static void sha256__known_vectors__match_before_and_after_prepare(void **state)
{
    (void)state;
    static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    static const char empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    unsigned char md[32];
    char hex[65];

    for (int round = 0; round < 2; round++) {
        assert_int_equal(atc_sha256("abc", 3, md), 0);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        assert_string_equal(hex, abc);
        assert_int_equal(atc_sha256("", 0, md), 0);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        assert_string_equal(hex, empty);
        assert_int_equal(atc_sha256_prepare(), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256__known_vectors__match_before_and_after_prepare),
        cmocka_unit_test(verdict__test_file_names__follow_pytest_conventions),
        cmocka_unit_test(verdict__default_cmd__lists_only_test_files_quoted),
        cmocka_unit_test(verdict__default_cmd_without_tests__is_no_tests),
        cmocka_unit_test(verdict__default_cmd_too_long__is_refused),
        cmocka_unit_test(verdict__install_cmd__targets_the_sandbox_dir),
        cmocka_unit_test(verdict__pytest_exit_codes__map_to_statuses),
        cmocka_unit_test(verdict__custom_cmd_failure__uses_the_report),
        cmocka_unit_test(verdict__sigkill__is_failed_oom),
        cmocka_unit_test(verdict__probe_addr__is_the_url_host_and_port),
        cmocka_unit_test(verdict__snapshot_allow_list__takes_only_listed_names),
        cmocka_unit_test(verdict__runner_header__is_parsed_or_refused),
        cmocka_unit_test(verdict__plugin_cmd__loads_the_plugin_with_its_options),
        cmocka_unit_test(verdict__only_flaky_failures__refine_the_reason_never_the_status),
        cmocka_unit_test(verdict__exit_zero_without_the_report__is_failed_no_report),
        cmocka_unit_test(verdict__exit_zero_with_a_failed_test__is_a_contradiction),
        cmocka_unit_test(verdict__exit_zero_with_an_empty_report__is_no_tests),
        cmocka_unit_test(verdict__custom_cmd_exit_zero_without_a_report__passes),
        cmocka_unit_test(verdict__report_path__is_a_fresh_directory_under_atc),
        cmocka_unit_test(verdict__sandbox_name__is_stable_and_distinct_per_attempt),
        cmocka_unit_test(verdict__sandbox_name__has_one_form_with_sha256_of_the_id),
        cmocka_unit_test(verdict__sandbox_name__cannot_be_forged_by_a_crafted_id),
        cmocka_unit_test(verdict__sandbox_name__keeps_to_daytona_name_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
