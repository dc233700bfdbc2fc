/* fuzz_json_pick.c: libFuzzer target for the tree-less JSON member picker
 * (common/src/json_pick.c), against jansson: any bytes must get the same
 * verdict (object, not an object, not JSON) and the same picked values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/src/json_pick.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* jansson accepts some documents with raw NUL bytes in them (this target
     * found one); the picker refuses them all, as JSON does. */
    if (memchr(data, '\0', size) != NULL)
        return 0;
    struct atc_jpick f[] = {{.key = "id"}, {.key = "exitCode"}, {.key = "result"}, {.key = ""}};
    size_t nf = sizeof(f) / sizeof(f[0]);
    char err[256];
    int rc = atc_jpick_object((const char *)data, size, f, nf, err, sizeof(err));
    json_t *root = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);

    /* jansson refuses a top-level scalar that the picker calls "not an object";
     * real numbers that overflow a double are not checked by the picker. */
    if (root == NULL) {
        if (rc == 0) {
            const char *p = memchr(data, 'e', size) ? "e" : memchr(data, 'E', size) ? "E" : NULL;
            if (p == NULL)
                abort();
        }
        return 0;
    }
    if (json_is_object(root) != (rc == 0))
        abort();
    for (size_t k = 0; rc == 0 && k < nf; k++) {
        json_t *v = json_object_get(root, f[k].key);
        if (v == NULL) {
            if (f[k].type != ATC_JPICK_NONE)
                abort();
        } else if (json_is_string(v)) {
            size_t n = 0;
            char *s = atc_jpick_dup(&f[k], &n);
            if (s == NULL || f[k].type != ATC_JPICK_STRING || n != json_string_length(v) ||
                memcmp(s, json_string_value(v), n) != 0)
                abort();
            free(s);
        } else if (json_is_integer(v)) {
            if (f[k].type != ATC_JPICK_INT || f[k].num != json_integer_value(v))
                abort();
        } else if (json_is_null(v) != (f[k].type == ATC_JPICK_NULL)) {
            abort();
        }
    }
    json_decref(root);
    return 0;
}
