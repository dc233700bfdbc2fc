/* fuzz_job.c: libFuzzer target for the job decoder, with an encode/decode round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/job.h"

/* Small enough to keep the fuzzer fast, large enough for real jobs. */
#define FUZZ_MAX_BYTES (1u << 20)

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static int same_kvs(const struct atc_kv *a, size_t na, const struct atc_kv *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (!same_str(a[i].key, b[i].key) || !same_str(a[i].value, b[i].value))
            return 0;
    return 1;
}

static int same_job(const struct atc_job *a, const struct atc_job *b)
{
    if (a->v != b->v || !same_str(a->id, b->id) || a->nfiles != b->nfiles ||
        a->ndeps != b->ndeps || !same_str(a->cmd, b->cmd) || a->has_timeout != b->has_timeout ||
        a->timeout_s != b->timeout_s || !same_kvs(a->env, a->nenv, b->env, b->nenv) ||
        !same_kvs(a->labels, a->nlabels, b->labels, b->nlabels) ||
        !same_str(a->snapshot, b->snapshot) || a->submitted_ms != b->submitted_ms)
        return 0;
    for (size_t i = 0; i < a->nfiles; i++) {
        if (!same_str(a->files[i].path, b->files[i].path) || a->files[i].len != b->files[i].len)
            return 0;
        if (a->files[i].len > 0 && memcmp(a->files[i].data, b->files[i].data, a->files[i].len) != 0)
            return 0;
    }
    for (size_t i = 0; i < a->ndeps; i++)
        if (!same_str(a->deps[i], b->deps[i]))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct atc_job *a = NULL;
    struct atc_job *b = NULL;
    struct atc_job_error jerr;
    char *buf1 = NULL;
    char *buf2 = NULL;
    size_t len1 = 0;
    size_t len2 = 0;
    char err[256];
    int rc;

    rc = atc_job_decode(data, size, FUZZ_MAX_BYTES, &a, &jerr);
    if (rc != 0) {
        /* A rejection always says why, with a documented reason. */
        if (a != NULL || jerr.message[0] == '\0' ||
            (strcmp(jerr.reason, "bad_message") != 0 && strcmp(jerr.reason, "too_large") != 0))
            abort();
        if (jerr.id[0] != '\0' && !atc_job_id_valid(jerr.id, strlen(jerr.id)))
            abort();
        goto out;
    }
    if (atc_job_encode(a, &buf1, &len1, err, sizeof(err)) != 0)
        abort();
    if (atc_job_decode(buf1, len1, FUZZ_MAX_BYTES, &b, &jerr) != 0)
        abort();
    if (!same_job(a, b))
        abort();
    if (atc_job_encode(b, &buf2, &len2, err, sizeof(err)) != 0)
        abort();
    if (len1 != len2 || memcmp(buf1, buf2, len1) != 0)
        abort();
out:
    free(buf1);
    free(buf2);
    atc_job_free(a);
    atc_job_free(b);
    return 0;
}
