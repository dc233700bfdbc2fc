/* backlog.h: how many fetched messages wait beyond the running jobs. Enough
 * for the job threads to outlast a refetch, no more: a held message is work
 * the autoscaler no longer sees in the consumer lag. */
#ifndef ATC_WORKER_BACKLOG_H
#define ATC_WORKER_BACKLOG_H

#include <stddef.h>

/* Seconds of work the backlog holds for the threads: a resume after a pause
 * costs a refetch of 0.5 s and more on librdkafka 2.0.2. */
#define BACKLOG_COVER_MS 2000.0

struct backlog {
    size_t threads;         /* job threads */
    size_t min, max;        /* the size's bounds (min <= max) */
    double mean_ms;         /* a job's time on its thread, smoothed; 0 until one ran */
};

/* min: the least; max: the most (raised to min when below), and the size
 * until a job has run. */
void backlog_init(struct backlog *b, size_t threads, size_t min, size_t max);

/* A job ran run_ms on its thread. */
void backlog_done(struct backlog *b, long run_ms);

/* threads x BACKLOG_COVER_MS / the mean job time, within [min, max]: the jobs
 * the threads get through in that time. Measured per job, not by the rate
 * jobs end, so a backlog too small to keep the threads busy does not keep
 * itself small. Before any job ran: max, so that a fresh assignment is not
 * paused at once (librdkafka can leave a partition paused for good when a
 * pause follows an assignment closely; its issue 5591). */
size_t backlog_size(const struct backlog *b);

#endif
