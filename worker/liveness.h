/* liveness.h: each worker's liveness key in Redis, renewed by its main loop,
 * and the orphan sweep the reaper thread runs with it: the sandboxes of a
 * worker whose key stayed missing over two sweeps (it died), and those whose
 * job already has a final result, are deleted within a minute, not after
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

/* How long a worker's key must be missing, over consecutive sweeps, before
 * the worker is judged dead: longer than the 2 s between its beats (main.c),
 * so that the gap after Redis lost its data (a restart without persistence,
 * a FLUSHALL), until each live worker's next beat, is no death. With sweeps
 * of ATC_ORPHAN_SWEEP_S >= 5 s this is "missing on two consecutive sweeps". */
#define LIVENESS_MISS_SPAN_MS 5000

/* A worker that the last sweep found without a liveness key. */
struct liveness_miss {
    char *worker;               /* owned */
    long long since_ms;         /* now_ms of the first sweep of the unbroken run of misses */
};

/* What one process's orphan sweeps remember from one sweep to the next. Zero
 * it before the first sweep; liveness_memory_cleanup frees what it holds. */
struct liveness_memory {
    long long start_ms;             /* the service's clock at the first sweep; 0 before */
    struct liveness_miss *misses;   /* malloc'd, nmisses of them */
    size_t nmisses;
};

void liveness_memory_cleanup(struct liveness_memory *m);

/* The two-miss rule, with no I/O. A sweep at now_ms (a monotonic clock) read
 * the liveness keys of workers[0..n) (the sandboxes' atc-worker labels;
 * repeats allowed, "" for none): alive[i] = 1 when workers[i]'s key exists,
 * or read = 0 when the keys could not be read. Sets dead[i] = 1 when
 * workers[i] has no key now and had none at every sweep since one at least
 * LIVENESS_MISS_SPAN_MS earlier; else 0. Then m remembers the workers
 * missing now (read = 0: none, so a later miss starts a new run). 0, or
 * ATC_ENOMEM with every dead[i] = 0 and m's misses forgotten. */
int liveness_judge(struct liveness_memory *m, long long now_ms, const char *const *workers,
                   const int *alive, size_t n, int read, int *dead);

/* What the sweep knows of one sandbox that no job of this worker uses. */
struct liveness_facts {
    int own;                    /* labelled with this worker's id */
    int before_start;           /* created before this worker's first sweep */
    int worker_known;           /* labelled with a worker, whose liveness was read */
    int worker_alive;           /* not judged dead by liveness_judge */
    const char *job_status;     /* "" when unknown */
    long job_attempt;           /* 0 when unknown */
    long sandbox_attempt;       /* from its name; 0 when unknown */
};

/* Why such a sandbox must go now (a sentence for the log), or NULL to keep it. */
const char *liveness_orphan_reason(const struct liveness_facts *f);

/* One orphan sweep, at now_ms (a monotonic clock), over the sandboxes
 * labelled atc-fleet=<group>: deletes those liveness_orphan_reason condemns,
 * with their workers judged by liveness_judge, skipping those in_use says
 * this worker uses. m is this process's memory of its sweeps (borrowed; when
 * the listing fails it is left as it was). Returns how many were deleted, or
 * a negative ATC_* code with err. */
int liveness_sweep(struct atc_daytona *d, struct atc_results *r, const char *group,
                   const char *self, struct liveness_memory *m, long long now_ms,
                   reaper_in_use_fn in_use, void *in_use_arg, char *err, size_t errlen);

#endif
