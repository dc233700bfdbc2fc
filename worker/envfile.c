/* envfile.c: the job's environment as a file for the runner to source (see envfile.h). */
#include "envfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "verdict.h"

static const char EXPORT[] = "export ";
static const char QUOTE_ESC[] = "'\\''"; /* close the quotes, a quoted ', reopen */

/* Bytes s takes in single quotes, the quotes included. */
static size_t quoted_len(const char *s)
{
    size_t n = 2;
    for (; *s != '\0'; s++)
        n += *s == '\'' ? sizeof(QUOTE_ESC) - 1 : 1;
    return n;
}

/* Writes s in single quotes at p; returns the end. The caller sized the room. */
static char *put_quoted(char *p, const char *s)
{
    *p++ = '\'';
    for (; *s != '\0'; s++) {
        if (*s == '\'') {
            memcpy(p, QUOTE_ESC, sizeof(QUOTE_ESC) - 1);
            p += sizeof(QUOTE_ESC) - 1;
        } else {
            *p++ = *s;
        }
    }
    *p++ = '\'';
    return p;
}

int envfile_render(const struct atc_kv *env, size_t n, char **out, size_t *out_len)
{
    size_t len = 0;
    char *buf = NULL;
    char *p;

    *out = NULL;
    *out_len = 0;
    for (size_t i = 0; i < n; i++) {
        /* export 'NAME'='value'\n; each piece is below the message cap (4 MiB
         * by default, 64 entries), so the sum cannot wrap a size_t. */
        len += sizeof(EXPORT) - 1 + quoted_len(env[i].key) + 1 + quoted_len(env[i].value) + 1;
    }
    buf = malloc(len + 1);
    if (buf == NULL)
        return ATC_ENOMEM;
    p = buf;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, EXPORT, sizeof(EXPORT) - 1);
        p += sizeof(EXPORT) - 1;
        p = put_quoted(p, env[i].key);
        *p++ = '=';
        p = put_quoted(p, env[i].value);
        *p++ = '\n';
    }
    *p = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

int envfile_for_job(const struct atc_job *job, const char *report, char **out, size_t *out_len,
                    char *err, size_t errlen)
{
    struct atc_kv *env = NULL;
    char *pypath = NULL;
    size_t n = 0;
    int rc = 0;

    *out = NULL;
    *out_len = 0;
    env = calloc(job->nenv + 6, sizeof(*env));
    if (env == NULL) {
        rc = ATC_ENOMEM;
        goto out;
    }
    /* Fixed so that a run repeats: set dicts' order and the local time. */
    env[n++] = (struct atc_kv){.key = "PYTHONHASHSEED", .value = ENVFILE_HASH_SEED};
    env[n++] = (struct atc_kv){.key = "TZ", .value = ENVFILE_TZ};
    const char *job_pypath = NULL;
    for (size_t i = 0; i < job->nenv; i++) {
        if (job->ndeps > 0 && strcmp(job->env[i].key, "PYTHONPATH") == 0)
            job_pypath = job->env[i].value; /* merged below, after the deps */
        else
            env[n++] = job->env[i];
    }
    env[n++] = (struct atc_kv){.key = "ATC_JUNIT_XML", .value = (char *)report};
    env[n++] = (struct atc_kv){.key = "PIP_USER", .value = "0"};
    env[n++] = (struct atc_kv){.key = "PYTHONUNBUFFERED", .value = "1"};
    if (job->ndeps > 0) {
        /* The installed deps stay importable beside the job's own path. */
        size_t len = sizeof(VERDICT_DEPS_DIR) + (job_pypath ? strlen(job_pypath) + 1 : 0);
        pypath = malloc(len);
        if (pypath == NULL) {
            rc = ATC_ENOMEM;
            goto out;
        }
        if (job_pypath && job_pypath[0] != '\0')
            snprintf(pypath, len, "%s:%s", VERDICT_DEPS_DIR, job_pypath);
        else
            snprintf(pypath, len, "%s", VERDICT_DEPS_DIR);
        env[n++] = (struct atc_kv){.key = "PYTHONPATH", .value = pypath};
    }
    rc = envfile_render(env, n, out, out_len);
out:
    if (rc == ATC_ENOMEM)
        snprintf(err, errlen, "out of memory writing the job's environment file");
    free(pypath);
    free(env);
    return rc;
}
