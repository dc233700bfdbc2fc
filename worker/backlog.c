/* backlog.c: the backlog's size from the time jobs take (see backlog.h). */
#include "backlog.h"

/* Each job's weight in the mean: about the last 20 jobs count. */
#define BACKLOG_ALPHA 0.05

void backlog_init(struct backlog *b, size_t threads, size_t min, size_t max)
{
    b->threads = threads;
    b->min = min;
    b->max = max > min ? max : min;
    b->mean_ms = 0;
}

void backlog_done(struct backlog *b, long run_ms)
{
    /* A job of 0 ms counts as 1: the mean stays above zero. */
    double ms = run_ms > 1 ? (double)run_ms : 1.0;
    b->mean_ms = b->mean_ms > 0 ? b->mean_ms + BACKLOG_ALPHA * (ms - b->mean_ms) : ms;
}

size_t backlog_size(const struct backlog *b)
{
    if (b->mean_ms <= 0)
        return b->max;
    double want = (double)b->threads * BACKLOG_COVER_MS / b->mean_ms;
    if (want <= (double)b->min)
        return b->min;
    if (want >= (double)b->max)
        return b->max;
    return (size_t)want;
}
