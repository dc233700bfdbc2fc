/* fake_results.c: the result store of atc/results.h in memory, with scripted
 * failures (see fakes.h). Only what the job threads call. */
#include "fakes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/results.h"

struct fake_results fake_results;

struct atc_results {
    int unused;
};

void fake_results_reset(void)
{
    memset(&fake_results, 0, sizeof(fake_results));
}

struct atc_results *atc_results_new(const char *url, int timeout_ms, char *err, size_t errlen)
{
    (void)url;
    (void)timeout_ms;
    struct atc_results *r = calloc(1, sizeof(*r));
    if (r == NULL)
        snprintf(err, errlen, "out of memory");
    return r;
}

void atc_results_destroy(struct atc_results *r)
{
    free(r);
}

int atc_results_mark_running_cancel(struct atc_results *r, const char *id,
                                    const struct atc_field *fields, size_t nfields,
                                    int *attempt_out, int *cancel_out, char *err, size_t errlen)
{
    (void)r;
    (void)id;
    (void)fields;
    (void)nfields;
    int rc = fake_scripted(fake_results.running_rc, fake_results.nrunning_rc,
                           fake_results.runnings++);
    *cancel_out = rc == 0 ? fake_results.cancel_asked : 0;
    if (rc == 0)
        *attempt_out = 1;
    else
        snprintf(err, errlen, "fake failure (%s)", atc_strerror(rc));
    return rc;
}

int atc_results_write_final(struct atc_results *r, const char *id, const char *status,
                            const struct atc_field *fields, size_t nfields, long ttl_s,
                            char *err, size_t errlen)
{
    (void)r;
    (void)id;
    (void)fields;
    (void)nfields;
    (void)ttl_s;
    int rc = fake_scripted(fake_results.write_rc, fake_results.nwrite_rc, fake_results.writes++);
    if (rc != 0) {
        snprintf(err, errlen, "fake failure (%s)", atc_strerror(rc));
        return rc;
    }
    if (fake_results.nfinal < FAKE_RESULTS_MAX)
        snprintf(fake_results.final_status[fake_results.nfinal++],
                 sizeof(fake_results.final_status[0]), "%s", status);
    fake_results.final_order = ++fake_results.order;
    return 0;
}

int atc_results_get(struct atc_results *r, const char *id, struct atc_result **out, char *err,
                    size_t errlen)
{
    (void)r;
    (void)id;
    *out = NULL;
    snprintf(err, errlen, "no such result");
    return ATC_ENOTFOUND;
}

int atc_results_cache_lookup(struct atc_results *r, const char *key, char *id_out, size_t idlen,
                             char *err, size_t errlen)
{
    (void)r;
    (void)key;
    (void)id_out;
    (void)idlen;
    snprintf(err, errlen, "not cached");
    return ATC_ENOTFOUND;
}

int atc_results_cache_store(struct atc_results *r, const char *key, const char *id, long ttl_s,
                            char *err, size_t errlen)
{
    (void)r;
    (void)key;
    (void)id;
    (void)ttl_s;
    (void)err;
    (void)errlen;
    return 0;
}

int atc_results_cancel_check(struct atc_results *r, const char *const *ids, size_t n, int *flags,
                             char *err, size_t errlen)
{
    (void)r;
    (void)ids;
    (void)err;
    (void)errlen;
    for (size_t i = 0; i < n; i++)
        flags[i] = fake_results.cancel_flag;
    return 0;
}

int atc_results_count_abandoned(struct atc_results *r, const char *id, char *err, size_t errlen)
{
    (void)r;
    (void)id;
    (void)err;
    (void)errlen;
    fake_results.abandoned++;
    return 0;
}

int atc_results_job_state(struct atc_results *r, const char *id, char *status, size_t statuslen,
                          long *attempt, long *abandoned, char *err, size_t errlen)
{
    (void)r;
    (void)id;
    (void)err;
    (void)errlen;
    if (statuslen > 0)
        status[0] = '\0';
    *attempt = fake_results.runnings;
    *abandoned = fake_results.abandoned;
    return 0;
}

const struct atc_field *atc_result_field(const struct atc_result *r, const char *name)
{
    (void)r;
    (void)name;
    return NULL;
}

const char *atc_result_str(const struct atc_result *r, const char *name)
{
    (void)r;
    (void)name;
    return "";
}

void atc_result_free(struct atc_result *r)
{
    (void)r;
}
