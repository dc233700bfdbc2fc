/* jobs.h: what a job thread does with one consumed message: decode it, reject
 * it, skip it as a duplicate, or run it and write its one final result. */
#ifndef ATC_WORKER_JOBS_H
#define ATC_WORKER_JOBS_H

#include <stdatomic.h>
#include <stddef.h>
#include "atc/daytona.h"
#include "atc/results.h"
#include "breaker.h"
#include "dlq.h"
#include "pool.h"
#include "reaper.h"
#include "attempt.h"
#include "settings.h"

/* Shared by every job thread; lives as long as the pool. */
struct jobs_ctx {
    const struct worker_settings *cfg;
    struct dlq *dlq;
    struct reaper *reaper;          /* takes over failed deletes; may be NULL */
    struct attempt_params attempt;
    char probe_addr[300];           /* the Daytona API's host:port (attempt.probe_addr) */
    struct envs_params envs;        /* dependency environments (envs.h) */
    struct breaker breaker;         /* over sandbox creation, shared by all threads */
    /* Set by the main thread, read by the job threads. */
    atomic_int abandon;             /* shutdown's grace is over */
    atomic_int stopping;            /* shutdown began: stop retrying Redis forever */
};

/* Fills ctx->attempt from cfg; release with jobs_ctx_cleanup. reaper (may be NULL)
 * must outlive the job threads. */
void jobs_ctx_init(struct jobs_ctx *ctx, const struct worker_settings *cfg, struct dlq *dlq,
                   struct reaper *reaper);
void jobs_ctx_cleanup(struct jobs_ctx *ctx);

/* The pool callbacks (see pool.h); ctx is a struct jobs_ctx. */
void *jobs_thread_init(void *ctx, size_t index);
void jobs_thread_fini(void *ctx, void *thread_state);
void jobs_run_task(void *ctx, void *thread_state, struct task *t);

/* Deletes the sandbox a thread is using right now, if any: a shutdown's way to
 * end a job it gives up on (a pool_each_state callback; arg unused). */
void jobs_abandon_sandbox(void *arg, void *thread_state);

/* Whether a job thread of pool (a struct pool) is using sandbox id right now:
 * 1 or 0. A reaper_in_use_fn, for reaper_set_in_use; pool must outlive the
 * calls. */
int jobs_sandbox_in_use(void *pool, const char *id);

/* Asks Redis, in one round trip, whether any running job was cancelled; stops
 * those (their threads write the final `cancelled`). Called from the main
 * loop with its own connection r. */
void jobs_watch_cancels(struct jobs_ctx *ctx, struct pool *pool, size_t nthreads,
                        struct atc_results *r);

#endif
