/* cancels.h: the worker's side of a cancel a producer asked for. A producer
 * may not write results (deploy/redis/acl.sh): it sets atc:cancel:<id> and
 * adds a nudge {id} to the stream atc:cancels. Every worker reads every nudge
 * from its main loop, without blocking, and runs the cancel's final write
 * (atc_results_cancel_finalise): a queued job ends cancelled at once, a
 * running one gets cancel_requested and its own worker stops it (jobs.c
 * watches the marks), a final one is left alone. The script is idempotent, so
 * the first worker wins and the others change nothing. */
#ifndef ATC_WORKER_CANCELS_H
#define ATC_WORKER_CANCELS_H

#include "atc/results.h"

struct cancels {
    char last[48];   /* the id of the last nudge read */
    int failing;     /* the last read failed (logged once until it works again) */
    long ttl_s;      /* the TTL of a cancelled result */
};

/* Starts reading about 60 s back from now_ms (wall clock), so that a cancel
 * sent just before the worker started is seen too. */
void cancels_init(struct cancels *c, long long now_ms, long ttl_s);

/* Reads the nudges that came since the last call (up to a few hundred per
 * call) and finalises each. Returns how many it read; errors are logged. */
size_t cancels_poll(struct cancels *c, struct atc_results *r);

#endif
