/* submit_and_wait.c: the producer C API by example: submit one job made of the
 * files named on the command line, wait for its result, print it, cancel on
 * request. Build: part of the CMake build (bin/submit_and_wait).
 *
 *   submit_and_wait [--cancel] FILE... : each FILE uploaded under its base name;
 *   exit 0 passed, 1 failed, 3 anything else final, 4 no result in 300 s, 2 error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/client.h"
#include "atc/error.h"

#define EXAMPLE_MAX_FILES 16
#define EXAMPLE_MAX_BYTES (1024 * 1024)

/* Reads path whole into a malloc'd buffer. 0, or -1. */
static int slurp(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n;
    int rc = -1;

    if (f == NULL)
        return -1;
    buf = malloc(EXAMPLE_MAX_BYTES);
    if (buf == NULL)
        goto out;
    n = fread(buf, 1, EXAMPLE_MAX_BYTES, f);
    if (ferror(f) || !feof(f))
        goto out;
    *data = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

int main(int argc, char **argv)
{
    struct atc_job_file files[EXAMPLE_MAX_FILES];
    struct atc_job job;
    struct atc_client_opts opts = {0}; /* everything from the environment */
    struct atc_client *c = NULL;
    struct atc_result *r = NULL;
    char err[512], id[ATC_JOB_ID_MAX + 1];
    int cancel = 0, status = 2, rc;
    size_t n = 0;

    memset(files, 0, sizeof(files));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cancel") == 0) {
            cancel = 1;
            continue;
        }
        if (n == EXAMPLE_MAX_FILES || slurp(argv[i], &files[n].data, &files[n].len) != 0) {
            fprintf(stderr, "cannot read %s (or too many files)\n", argv[i]);
            goto out;
        }
        const char *slash = strrchr(argv[i], '/');
        files[n++].path = (char *)(slash != NULL ? slash + 1 : argv[i]);
    }
    if (n == 0) {
        fprintf(stderr, "usage: submit_and_wait [--cancel] FILE...\n");
        goto out;
    }

    c = atc_client_new(&opts, err, sizeof(err));
    if (c == NULL) {
        fprintf(stderr, "%s\n", err);
        goto out;
    }
    memset(&job, 0, sizeof(job));
    job.v = ATC_JOB_VERSION; /* id NULL: a fresh UUIDv7; submitted_ms 0: now */
    job.files = files;
    job.nfiles = n;
    rc = atc_client_submit(c, &job, NULL, id, sizeof(id), err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "submit: %s (%s)\n", err, atc_strerror(rc));
        goto out;
    }
    printf("submitted %s\n", id);

    if (cancel) {
        int outcome = 0;
        rc = atc_client_cancel(c, id, &outcome, err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "cancel: %s\n", err);
            goto out;
        }
        printf("cancel outcome %d\n", outcome);
    }

    rc = atc_client_wait(c, id, 300.0, &r, err, sizeof(err));
    if (rc == ATC_ETIMEDOUT) {
        fprintf(stderr, "no final result within 300 s\n");
        status = 4;
        goto out;
    }
    if (rc != 0) {
        fprintf(stderr, "wait: %s\n", err);
        goto out;
    }
    printf("status %s reason %s tests %s/%s\n", atc_result_str(r, "status"),
           atc_result_str(r, "reason"), atc_result_str(r, "tests_passed"),
           atc_result_str(r, "tests_total"));
    if (strcmp(atc_result_str(r, "status"), "passed") == 0)
        status = 0;
    else if (strcmp(atc_result_str(r, "status"), "failed") == 0)
        status = 1;
    else
        status = 3;
out:
    atc_result_free(r);
    atc_client_destroy(c);
    for (size_t i = 0; i < n; i++)
        free(files[i].data);
    return status;
}
