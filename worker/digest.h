/* digest.h: the result's `digest`, a short text for an agent's next prompt:
 * for each failing, erroring or timed-out test its name, the assertion or
 * exception line and only the traceback frames inside the job's own files;
 * for an install failure the line that says why. Identical failures are
 * folded into one entry naming every test. Values in, text out: no I/O. */
#ifndef ATC_WORKER_DIGEST_H
#define ATC_WORKER_DIGEST_H

#include <stddef.h>

struct digest_frame {
    const char *file;   /* relative to the work directory */
    long line;
    const char *func;
    const char *code;   /* the source line, or "" */
};

struct digest_test {
    const char *name;      /* e.g. "test_tool::test_add" */
    const char *outcome;   /* "failed", "error", "timeout", "flaky" */
    const char *what;      /* the assertion or exception line; may hold newlines (first kept) */
    const struct digest_frame *frames;
    size_t nframes;
};

/* Writes the digest of the n tests and of install_output (NULL when the
 * install did not fail) into a malloc'd *out of at most max bytes (and a
 * NUL). Frames whose file is not one of the nfiles job_files are left out.
 * Whole entries are kept or dropped, so the text is never cut inside a line
 * (and so never inside a UTF-8 sequence); a last line says how many tests
 * did not fit. *out is NULL and *out_len 0 when there is nothing to say.
 * Returns 0 or ATC_ENOMEM. */
int digest_build(const struct digest_test *tests, size_t n, const char *const *job_files,
                 size_t nfiles, const char *install_output, size_t install_len, size_t max,
                 char **out, size_t *out_len);

#endif
