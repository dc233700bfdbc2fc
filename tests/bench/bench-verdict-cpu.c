/* bench-verdict-cpu.c: the worker's CPU for what issue 13 adds to a job with
 * failures: parsing the plugin's side report (jansson), renaming the JUnit
 * cases and building the digest. A side report of N failing tests (argv[1],
 * default 5) with three frames each, like it_verdicts' digest job, done
 * argv[2] times (default 20000); prints microseconds and bytes per job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "digest.h"
#include "side.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 5;
    long rounds = argc > 2 ? atol(argv[2]) : 20000;
    char *json = malloc(4096 + (size_t)n * 512);
    struct atc_test_case *cases = calloc((size_t)n + 20, sizeof(*cases));
    struct digest_test *dt = calloc((size_t)n, sizeof(*dt));
    char (*names)[32] = calloc((size_t)n, 32);
    if (!json || !cases || !dt || !names)
        return 1;
    size_t pos = (size_t)sprintf(json, "{\"v\":1,\"tests\":[");
    for (int i = 0; i < n; i++) {
        snprintf(names[i], 32, "test_wrong_%d", i);
        pos += (size_t)sprintf(json + pos,
                               "%s{\"classname\":\"test_digest\",\"name\":\"%s\",\"runs\":2,"
                               "\"exception\":\"AssertionError: add(1, 1) gave 2, wanted -1\","
                               "\"frames\":[[\"test_digest.py\",7,\"test_wrong\",\"check_sum(1, 1, -1)\"],"
                               "[\"helper.py\",6,\"check_sum\",\"assert got == want\"],"
                               "[\"tool.py\",2,\"add\",\"return a + b\"]]}",
                               i ? "," : "", names[i]);
    }
    pos += (size_t)sprintf(json + pos, "],\"test_timeout_s\":30.0,\"reruns\":1,\"rerun_ms\":4,"
                                       "\"coverage\":{\"pct\":58.3,\"files\":{\"tool.py\":[7,12]}},"
                                       "\"lint\":{\"tests_without_assert\":[],"
                                       "\"tests_not_importing_tool\":[]}}");
    static const char *const files[] = {"tool.py", "helper.py", "test_digest.py"};
    struct timespec t0, t1;
    size_t dlen = 0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (long r = 0; r < rounds; r++) {
        struct side_report sr;
        char err[256];
        long flaky, timeouts;
        for (int i = 0; i < n; i++)
            cases[i] = (struct atc_test_case){names[i], "test_digest", ATC_TEST_FAILED, 1, ""};
        struct atc_junit_report rep = {.tests = cases, .ntests = (size_t)n, .total = n, .failed = n};
        if (side_report_parse(json, pos, 10000, &sr, err, sizeof(err)) != 0)
            return fprintf(stderr, "%s\n", err), 1;
        side_report_apply(&sr, &rep, &flaky, &timeouts);
        size_t hint = 0;
        for (int i = 0; i < n; i++) {
            const struct side_test *st = side_report_find_from(&sr, "test_digest", names[i], &hint);
            dt[i] = (struct digest_test){names[i], "failed", st->exception, st->frames, st->nframes};
        }
        char *out = NULL;
        if (digest_build(dt, (size_t)n, files, 3, NULL, 0, 2048, &out, &dlen) != 0)
            return 1;
        free(out);
        side_report_cleanup(&sr);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) /
                (double)rounds;
    printf("failing tests %d, side report %zu bytes, digest %zu bytes: %.1f us CPU per job\n", n,
           pos, dlen, us);
    free(json);
    free(cases);
    free(dt);
    free(names);
    return 0;
}
