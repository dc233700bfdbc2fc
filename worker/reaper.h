/* reaper.h: finds this fleet's sandboxes that outlived any job (a worker was
 * killed, a delete failed) and deletes them, at start and periodically, on a
 * thread of its own. */
#ifndef ATC_WORKER_REAPER_H
#define ATC_WORKER_REAPER_H

#include <stddef.h>
#include "atc/daytona.h"
#include "settings.h"

/* A sandbox older than this (ms) belongs to no running job: the longest a job
 * may hold one (create, install and test limits) plus a margin. */
long long reaper_max_age_ms(const struct worker_settings *cfg);

/* Whether sandbox id is in use by one of this worker's jobs right now (1) or
 * not (0). Called from the reaper thread. */
typedef int (*reaper_in_use_fn)(void *arg, const char *id);

/* Deletes the sandboxes labelled atc-fleet=<group> created more than max_age_ms
 * before now, skipping those in_use (may be NULL) says are in use. now is the
 * Date of the list answer, the service's own clock that set createdAt, so a
 * skewed local clock cannot make a live sandbox look old; now_ms (the local
 * clock) only when the answer has no Date. Returns how many were deleted, or
 * a negative ATC_* code. */
int reaper_sweep(struct atc_daytona *d, const char *group, long long max_age_ms,
                 long long now_ms, reaper_in_use_fn in_use, void *in_use_arg,
                 char *err, size_t errlen);

struct reaper;

/* Starts the reaper thread: a sweep at once, then every
 * cfg->reaper_interval_s (none when 0), and the deferred deletes whenever they
 * are due. NULL when the thread cannot start. */
struct reaper *reaper_start(const struct worker_settings *cfg);

/* Hands over a sandbox whose delete failed in its job: the reaper thread
 * retries it from 1 s, backing off to a minute (or the service's Retry-After),
 * until it is gone, and once more when it stops. Thread-safe. Returns 1 when
 * taken, 0 when r is NULL, stopping or holding too many already (the periodic
 * sweep then finds the sandbox by its age). */
int reaper_defer_delete(struct reaper *r, const char *sandbox_id);

/* Hands over a sandbox to delete at once, from the reaper thread: how the
 * main thread stops a cancelled or abandoned job's run without waiting on the
 * service itself. why names the job's state for the log. Retried like a
 * deferred delete. Returns as reaper_defer_delete. */
int reaper_delete_now(struct reaper *r, const char *sandbox_id, const char *why);

/* Sets (or, with in_use NULL, removes) the test the sweeps ask before
 * deleting a sandbox, e.g. jobs_sandbox_in_use over the job pool. Thread-safe;
 * once it returns after a removal, in_use is no longer called, so arg may go. */
void reaper_set_in_use(struct reaper *r, reaper_in_use_fn in_use, void *arg);

/* Stops the thread after one last try of each deferred delete, and joins it;
 * r stays valid (later hand-overs are refused), for job threads that may still
 * run. Accepts NULL. */
void reaper_finish(struct reaper *r);

/* reaper_finish, then frees r: once no job thread runs. Accepts NULL. */
void reaper_stop(struct reaper *r);

#endif
