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

/* Deletes the sandboxes labelled atc-fleet=<group> created more than max_age_ms
 * before now_ms. Returns how many were deleted, or a negative ATC_* code. */
int reaper_sweep(struct atc_daytona *d, const char *group, long long max_age_ms,
                 long long now_ms, char *err, size_t errlen);

struct reaper;

/* Starts the reaper thread (a sweep at once, then every cfg->reaper_interval_s);
 * NULL when the interval is 0 or the thread cannot start. */
struct reaper *reaper_start(const struct worker_settings *cfg);
void reaper_stop(struct reaper *r); /* accepts NULL; joins the thread */

#endif
