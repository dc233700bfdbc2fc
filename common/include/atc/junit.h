/* junit.h: turns a JUnit XML report (as pytest --junitxml writes it) into
 * counts and the result's `tests` array (expat). Bytes in, values out. */
#ifndef ATC_JUNIT_H
#define ATC_JUNIT_H

#include <stddef.h>

enum atc_test_outcome {
    ATC_TEST_PASSED,
    ATC_TEST_FAILED,
    ATC_TEST_ERROR,
    ATC_TEST_SKIPPED,
    /* Set by the worker from the fleet plugin's side report, never by the
     * parser: a failure that passed when run again, and a failure that was the
     * per-test time limit. */
    ATC_TEST_FLAKY,
    ATC_TEST_TIMEOUT,
};

/* "passed", "failed", "error", "skipped", "flaky", "timeout". */
const char *atc_test_outcome_name(enum atc_test_outcome o);

struct atc_test_case {
    char *name;
    char *classname;
    enum atc_test_outcome outcome;
    long time_ms;
    char *message;             /* failure/error/skip message; "" when none */
};

struct atc_junit_report {
    struct atc_test_case *tests;
    size_t ntests;
    long total, passed, failed, errors, skipped;
};

/* A test case's name and classname are cut at this many bytes (at a UTF-8
 * character boundary). */
#define ATC_JUNIT_NAME_MAX 1024

/* Parses xml[0..len). Counts come from the test cases themselves (a <testcase>
 * with <failure> is failed, <error> is error, <skipped> is skipped, else passed).
 * At most max_tests cases are kept in tests (counts still cover all); messages
 * are cut at max_message bytes. Returns 0 and fills *out (free its contents
 * with atc_junit_report_cleanup), or ATC_EBADMSG with err set. */
int atc_junit_parse(const char *xml, size_t len, size_t max_tests, size_t max_message,
                    struct atc_junit_report *out, char *err, size_t errlen);

void atc_junit_report_cleanup(struct atc_junit_report *r); /* accepts NULL */

/* Encodes the tests array as the result's `tests` field: a msgpack array of maps
 * {name, classname, outcome, time_ms, message}. *buf is malloc'd (caller frees).
 * Returns 0 or ATC_ENOMEM. */
int atc_junit_tests_pack(const struct atc_junit_report *r, char **buf, size_t *len);

#endif
