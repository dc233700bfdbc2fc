/* fake_envs.c: worker/envs.h for tests of jobs.c: every job with deps falls
 * back to pip in its sandbox, as with ATC_ENVS=off; nothing reaches Redis or
 * the snapshot API. */
#include <string.h>

#include "envs.h"
#include "fakes.h"

int envs_prepare(const struct envs_params *p, struct atc_daytona *d, struct atc_results *r,
                 const struct atc_job *job, int (*stop)(void *arg), void *stop_arg,
                 struct envs_job *ej)
{
    (void)p, (void)d, (void)r, (void)stop, (void)stop_arg;
    memset(ej, 0, sizeof(*ej));
    ej->build_ms = -1;
    ej->status = job->ndeps > 0 ? ENVS_FALLBACK : ENVS_NONE;
    return 0;
}

void envs_store_freeze(struct atc_results *r, const struct envs_job *ej, const char *freeze)
{
    (void)r, (void)ej, (void)freeze;
}

void envs_finish(const struct envs_params *p, struct atc_daytona *d, struct atc_results *r,
                 const struct atc_job *job, struct envs_job *ej)
{
    (void)p, (void)d, (void)r, (void)job, (void)ej;
}

void envs_job_cleanup(struct envs_job *ej)
{
    (void)ej;
}

int envs_reap(struct atc_daytona *d, char *err, size_t errlen)
{
    (void)d, (void)err, (void)errlen;
    return 0;
}

int envs_remove(struct atc_daytona *d, struct atc_results *r, const char *name, char *err,
                size_t errlen)
{
    (void)d, (void)r, (void)name, (void)err, (void)errlen;
    return 0;
}
