/* fuzz_daytona_json.c: libFuzzer target for the reading of Daytona's replies
 * (common/src/daytona_json.c, jansson underneath): any bytes, read as a
 * sandbox reply and as an exec reply, must give an error or values that keep
 * their promises: an id usable in a URL, NUL-terminated fields and labels
 * with no NUL, an output of the length said, and nothing leaked. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/src/daytona_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_field(const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct atc_sandbox sb;
    char proxy[512];
    char err[256];
    char *out = NULL;
    size_t out_len = 0;
    int exit_code = -12345;

    if (atc_djson_sandbox((const char *)data, size, &sb, proxy, sizeof(proxy), "fuzz", err,
                          sizeof(err)) == 0) {
        if (!atc_djson_id_ok(sb.id))
            abort();
        check_field(sb.name, sizeof(sb.name));
        check_field(sb.state, sizeof(sb.state));
        check_field(sb.error_reason, sizeof(sb.error_reason));
        check_field(proxy, sizeof(proxy));
        check_field(sb.job_label, sizeof(sb.job_label));
        check_field(sb.fleet_label, sizeof(sb.fleet_label));
    } else if (sb.id[0] != '\0' && !atc_djson_id_ok(sb.id)) {
        abort(); /* an id left behind after a failure must still be usable */
    }
    if (atc_djson_exec_reply((const char *)data, size, &exit_code, &out, &out_len, "fuzz", err,
                             sizeof(err)) == 0) {
        if (out == NULL || out[out_len] != '\0')
            abort();
        free(out);
    } else if (out != NULL || exit_code != -12345) {
        abort(); /* a failure hands nothing out */
    }
    return 0;
}
