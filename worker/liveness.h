/* liveness.h: each worker's liveness key in Redis, renewed by its main loop,
 * and the orphan sweep the reaper thread runs with it: the sandboxes of a
 * worker whose key expired (it died), and those whose job already has a
 * final result, are deleted within a minute, not after
 * the age sweep's limit (docs/worker.md, "Leaked sandboxes"). */
#ifndef ATC_WORKER_LIVENESS_H
#define ATC_WORKER_LIVENESS_H

#include "atc/daytona.h"
#include "atc/results.h"
#include "reaper.h"
#include "settings.h"

/* Renews this worker's key atc:worker:<group>:<worker id> for
 * cfg->liveness_ttl_s. Also serves as the main loop's Redis check. 0 or an
 * error with err. */
int liveness_beat(struct atc_results *r, const struct worker_settings *cfg, char *err,
                  size_t errlen);

/* The attempt in a sandbox name made by verdict_sandbox_name
 * ("atc-<clean>-<hash>-<attempt>-<try>"), or 0 when name is not of that form. */
long liveness_sandbox_attempt(const char *name);

/* What the sweep knows of one sandbox that no job of this worker uses. */
struct liveness_facts {
    int own;                    /* labelled with this worker's id */
    int before_start;           /* created before this worker's first sweep */
    int worker_known;           /* labelled with a worker, whose liveness was read */
    int worker_alive;
    const char *job_status;     /* "" when unknown */
    long job_attempt;           /* 0 when unknown */
    long sandbox_attempt;       /* from its name; 0 when unknown */
};

/* Why such a sandbox must go now (a sentence for the log), or NULL to keep it. */
const char *liveness_orphan_reason(const struct liveness_facts *f);

/* One orphan sweep over the sandboxes labelled atc-fleet=<group>: deletes
 * those liveness_orphan_reason condemns, skipping those in_use says this
 * worker uses. *start_ms is the service's clock at the first sweep (set when
 * 0). Returns how many were deleted, or a negative ATC_* code with err. */
int liveness_sweep(struct atc_daytona *d, struct atc_results *r, const char *group,
                   const char *self, long long *start_ms, reaper_in_use_fn in_use,
                   void *in_use_arg, char *err, size_t errlen);

#endif
