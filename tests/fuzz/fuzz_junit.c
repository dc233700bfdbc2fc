/* fuzz_junit.c: libFuzzer target for the JUnit XML parser: any bytes must give
 * a report or ATC_EBADMSG, with counts that add up, and pack cleanly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "atc/junit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct atc_junit_report r;
    char err[256];

    if (atc_junit_parse((const char *)data, size, 64, 128, &r, err, sizeof(err)) != 0)
        return 0;
    if (r.passed + r.failed + r.errors + r.skipped != r.total || r.ntests > 64 ||
        (size_t)r.total < r.ntests)
        abort();
    char *buf = NULL;
    size_t len = 0;
    if (atc_junit_tests_pack(&r, &buf, &len) == 0)
        free(buf);
    atc_junit_report_cleanup(&r);
    return 0;
}
