/* envs.h: dependency environments, fleet-wide: a job with deps runs from a
 * Daytona snapshot holding them, built once per dependency set across every
 * worker (claimed in Redis, polled to active with its own deadline) while the
 * other jobs on the same set wait without a sandbox; a set pip cannot
 * install is remembered with pip's output; the least recently used
 * environments beyond ATC_ENV_MAX are deleted. See docs/worker.md. */
#ifndef ATC_WORKER_ENVS_H
#define ATC_WORKER_ENVS_H

#include <stddef.h>
#include "atc/daytona.h"
#include "atc/env_key.h"
#include "atc/job.h"
#include "atc/results.h"

struct envs_params {
    int enabled;                    /* ATC_ENVS=on */
    long max;                       /* ATC_ENV_MAX */
    const char *base_image;         /* ATC_ENV_BASE_IMAGE */
    const char *index_url;          /* ATC_PIP_INDEX_URL, or NULL */
    long build_timeout_s;           /* ATC_ENV_BUILD_TIMEOUT_S */
    long fail_ttl_s;                /* ATC_ENV_FAIL_TTL_S */
    long max_job_s;                 /* a job's longest run: the lease it takes */
    const char *worker_id;
};

enum envs_status {
    ENVS_NONE = 0,                  /* no deps: today's path */
    ENVS_HIT,                       /* active when the job came */
    ENVS_BUILT,                     /* this job built it */
    ENVS_WAITED,                    /* another job's build, waited for */
    ENVS_FALLBACK,                  /* install in the sandbox as before */
    ENVS_FAILED,                    /* pip cannot install the set: the job fails */
};

/* A job's environment, as envs_prepare left it. */
struct envs_job {
    enum envs_status status;
    char name[ATC_ENV_NAME_MAX];    /* "" when no key could be made */
    long build_ms;                  /* built or waited: the time it took; -1 otherwise */
    char *freeze;                   /* pip freeze known from Redis (malloc'd) or NULL */
    char *error;                    /* FAILED: pip's output (malloc'd) */
    char why[160];                  /* FALLBACK: why */
    int leased;
    int lost;                       /* set by the caller: the service refused its
                                     * snapshot; envs_finish forgets the state */
};

/* The name of a status for results ("hit", "built", "waited", "fallback",
 * "failed"), or NULL for ENVS_NONE. (Inline: run.c needs no more of envs.c,
 * whose unit tests replace it at link time.) */
static inline const char *envs_status_name(enum envs_status s)
{
    static const char *const names[] = {NULL, "hit", "built", "waited", "fallback", "failed"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : NULL;
}

/* Decides how job (with deps) gets its packages; fills *ej (release with
 * envs_job_cleanup). Waits, bounded by p->build_timeout_s, for a build that
 * is running elsewhere; builds when nobody does. stop(arg), polled about
 * every 200 ms, ends the wait early with ATC_ECANCELED. Otherwise returns 0:
 * every failure of the service or of Redis ends in ENVS_FALLBACK, counted. */
int envs_prepare(const struct envs_params *p, struct atc_daytona *d, struct atc_results *r,
                 const struct atc_job *job, int (*stop)(void *arg), void *stop_arg,
                 struct envs_job *ej);

/* Remembers the pip freeze a job read from its environment (first one wins). */
void envs_store_freeze(struct atc_results *r, const struct envs_job *ej, const char *freeze);

/* Ends the job's lease on its environment (and forgets the environment when
 * ej->lost, so that the next job builds it again), then drops the least
 * recently used environments beyond p->max that no job uses (their snapshots
 * deleted). */
void envs_finish(const struct envs_params *p, struct atc_daytona *d, struct atc_results *r,
                 const struct atc_job *job, struct envs_job *ej);

void envs_job_cleanup(struct envs_job *ej); /* accepts NULL */

/* Deletes the environments' snapshots (atc-env-*) in error or build_failed
 * (the reaper's sweep; a failed build's message is in Redis already).
 * Returns how many were deleted, or a negative ATC_* code with err. */
int envs_reap(struct atc_daytona *d, char *err, size_t errlen);

/* Deletes environment name: its snapshot and its state. 0 or ATC_* with err. */
int envs_remove(struct atc_daytona *d, struct atc_results *r, const char *name, char *err,
                size_t errlen);

#endif
