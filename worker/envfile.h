/* envfile.h: the shell file (.atc/env) that gives a job's command its
 * environment. The runner sources it just before it starts the command, so the
 * job's env reaches the command only, never the worker's own runner tools. */
#ifndef ATC_WORKER_ENVFILE_H
#define ATC_WORKER_ENVFILE_H

#include <stddef.h>
#include "atc/job.h"

#define ENVFILE_PATH ".atc/env"
/* What a job's command runs with unless its env says otherwise (the result
 * records the values: python_hash_seed, tz). */
#define ENVFILE_HASH_SEED "0"
#define ENVFILE_TZ "UTC"

/* Renders the n entries of env, in order, as lines `export 'NAME'='value'`:
 * name and value in POSIX single quotes, each ' in them written '\'', so that
 * a shell sourcing the text sets each variable to exactly its value's bytes
 * (newlines, quotes, $, backticks and non-UTF-8 bytes included; a value holds
 * no NUL). Nothing in it is expanded. Names are not checked here: the job
 * decoder has (a bad name makes `export` fail, it cannot inject anything).
 * On success *out is malloc'd (caller frees), NUL-terminated, *out_len bytes
 * long. Returns 0 or ATC_ENOMEM. */
int envfile_render(const struct atc_kv *env, size_t n, char **out, size_t *out_len);

/* The .atc/env of job: PYTHONHASHSEED=ENVFILE_HASH_SEED and TZ=ENVFILE_TZ
 * (which the job's env may override), its env, then the worker's variables its command relies
 * on, which come later and so win over the job's: ATC_JUNIT_XML (report, the
 * fleet's report path of this try), PIP_USER=0 (pip refuses --target with a user install),
 * PYTHONUNBUFFERED=1 (output reaches the pipe before a time limit kills the
 * run), and for a job with deps PYTHONPATH=.atc/deps, followed by ':' and the
 * job's own PYTHONPATH when it sets a non-empty one. *out as envfile_render.
 * Returns 0 or ATC_ENOMEM (with a sentence in err). */
int envfile_for_job(const struct atc_job *job, const char *report, char **out, size_t *out_len,
                    char *err, size_t errlen);

#endif
