/* jobs.h: what a job thread does with one consumed message: decode it, reject
 * it, skip it as a duplicate, or run it and write its one final result. */
#ifndef ATC_WORKER_JOBS_H
#define ATC_WORKER_JOBS_H

#include <signal.h>
#include <stddef.h>
#include "dlq.h"
#include "pool.h"
#include "run.h"
#include "settings.h"

/* Shared by every job thread; lives as long as the pool. */
struct jobs_ctx {
    const struct worker_settings *cfg;
    struct dlq *dlq;
    struct run_params run;
    volatile sig_atomic_t abandon;  /* shutdown's grace is over */
    volatile sig_atomic_t stopping; /* shutdown began: stop retrying Redis forever */
};

/* Fills ctx->run from cfg. */
void jobs_ctx_init(struct jobs_ctx *ctx, const struct worker_settings *cfg, struct dlq *dlq);

/* The pool callbacks (see pool.h); ctx is a struct jobs_ctx. */
void *jobs_thread_init(void *ctx, size_t index);
void jobs_thread_fini(void *ctx, void *thread_state);
void jobs_run_task(void *ctx, void *thread_state, struct task *t);

/* Deletes the sandbox a thread is using right now, if any: a shutdown's way to
 * end a job it gives up on. */
void jobs_abandon_sandbox(void *ctx, void *thread_state);

#endif
