/* fuzz_side.c: libFuzzer target for the fleet plugin's side report (bytes a
 * sandbox sends back) and the digest built from it: any bytes must parse or
 * give ATC_EBADMSG; a parsed report may rename only failed cases; the digest
 * stays within its cap and ends with a newline. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "digest.h"
#include "side.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct side_report sr;
    char err[256];
    static const char *const files[] = {"tool.py", "test_tool.py"};

    if (side_report_parse((const char *)data, size, 64, &sr, err, sizeof(err)) != 0)
        return 0;
    struct atc_test_case cases[3] = {
        {"test_a", "test_tool", ATC_TEST_FAILED, 0, "AssertionError"},
        {"test_b", "test_tool", ATC_TEST_PASSED, 0, ""},
        {"test_c", "test_tool", ATC_TEST_ERROR, 0, "boom"},
    };
    struct atc_junit_report rep = {.tests = cases, .ntests = 3, .total = 3, .passed = 1,
                                   .failed = 1, .errors = 1};
    long flaky = 0, timeouts = 0;
    side_report_apply(&sr, &rep, &flaky, &timeouts);
    if (cases[1].outcome != ATC_TEST_PASSED || flaky + timeouts > 2)
        abort();
    struct digest_test dt[64];
    size_t n = 0;
    for (size_t i = 0; i < sr.ntests && n < 64; i++, n++)
        dt[n] = (struct digest_test){sr.tests[i].name, sr.tests[i].outcome ? sr.tests[i].outcome : "failed",
                                     sr.tests[i].exception, sr.tests[i].frames, sr.tests[i].nframes};
    char *out = NULL;
    size_t len = 0;
    if (digest_build(dt, n, files, 2, (const char *)data, size > 512 ? 512 : size, 300, &out,
                     &len) == 0 && out != NULL) {
        if (len > 300 || len != strlen(out) || out[len - 1] != '\n')
            abort();
        free(out);
    }
    side_report_cleanup(&sr);
    return 0;
}
