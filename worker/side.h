/* side.h: the side report of the fleet's pytest plugin (fleet_plugin.py), a
 * JSON file beside the JUnit report. It is written by a process the job's code
 * runs in, so it is detail, not evidence: side_apply only ever renames a test
 * the JUnit report already says failed (to flaky or timeout), never the other
 * way. Bytes in, values out. */
#ifndef ATC_WORKER_SIDE_H
#define ATC_WORKER_SIDE_H

#include <stddef.h>
#include "atc/junit.h"
#include "digest.h"

struct side_test {
    char *classname, *name;
    char *outcome;              /* "flaky", "timeout" or NULL */
    char *exception;            /* "AssertionError: assert 5 == 6", or NULL */
    struct digest_frame *frames; /* strings owned by the report */
    size_t nframes;
    long runs;
};

struct side_report {
    struct side_test *tests;
    size_t ntests;
    int has_coverage;
    double coverage_pct;
    char *coverage_why;         /* why coverage was not measured, or NULL */
    char **no_assert, **no_import; /* lint: test node ids */
    size_t nno_assert, nno_import;
    long rerun_ms;              /* sandbox time the reruns took, -1 unknown */
};

/* Parses json[0..len) into *out (free with side_report_cleanup). At most
 * max_tests tests and 100 names per lint list are kept; unknown keys are
 * ignored. Returns 0, or ATC_EBADMSG with err set (*out then empty). */
int side_report_parse(const char *json, size_t len, size_t max_tests, struct side_report *out,
                      char *err, size_t errlen);

void side_report_cleanup(struct side_report *r);

/* The entry of the side report for a JUnit case, or NULL. side_report_find_from
 * starts at *hint and leaves it after the entry found: linear over cases
 * taken in run order. */
const struct side_test *side_report_find_from(const struct side_report *r, const char *classname,
                                              const char *name, size_t *hint);
const struct side_test *side_report_find(const struct side_report *r, const char *classname,
                                         const char *name);

/* Renames JUnit cases that failed or erred and that the side report calls
 * flaky or timeout; counts them into *flaky and *timeouts. */
void side_report_apply(const struct side_report *r, struct atc_junit_report *rep, long *flaky,
                       long *timeouts);

#endif
