/* retry.h: the worker's one way to retry a failed call: the wait before the
 * next try (exponential, capped, jittered from a seeded generator, a server's
 * Retry-After as a floor), the budget of tries, and a wait that the job's stop
 * flags end early. The arithmetic is pure (retry_next); only retry_wait sleeps. */
#ifndef ATC_WORKER_RETRY_H
#define ATC_WORKER_RETRY_H

#include <stdatomic.h>
#include <stdint.h>

#define RETRY_FOREVER (-1)   /* max_retries: retry until a stop flag is set */
#define RETRY_FIRST_MS 500   /* the base wait of the first retry */
#define RETRY_CAP_MS 30000   /* the base wait never grows beyond this */
#define RETRY_AFTER_MAX_MS 300000 /* a Retry-After is honoured up to 5 min */
#define RETRY_SLICE_MS 200   /* a stop flag ends a wait within this */

/* One call's retries; a value the caller embeds (no resources to release). */
struct retry {
    int tries;                  /* failed tries so far */
    int max_retries;            /* retries allowed after the first try, or RETRY_FOREVER */
    int max_exp;                /* the wait stops doubling after this many tries (0: at the cap) */
    uint64_t rng;               /* the jitter's generator state (splitmix64) */
    const atomic_int *stop[2];  /* a flag set ends a wait and the retries; entries may be NULL */
};

/* Starts r with no failed try. seed picks the jitter sequence (retry_seed
 * gives one per key); stop_a and stop_b (may be NULL) are read, never written. */
void retry_init(struct retry *r, int max_retries, uint64_t seed, const atomic_int *stop_a,
                const atomic_int *stop_b);

/* A seed for retries about key (a job id; may be NULL): differs between keys
 * and between processes, so jobs failing together do not retry together. */
uint64_t retry_seed(const char *key);

/* 1 when a stop flag of r is set. */
int retry_stopped(const struct retry *r);

/* Counts a failed try and returns the milliseconds to wait before the next:
 * base 500 ms doubling per try (up to max_exp tries when max_exp > 0), capped
 * at 30 s, jitter in [50%, 100%] of it; retry_after_s >= 0 (a server's
 * Retry-After) is a floor, itself capped at 5 min. -1 when the budget is spent. */
long retry_next(struct retry *r, double retry_after_s);

/* Waits ms in slices of RETRY_SLICE_MS, ending early when a stop flag of r is
 * set. Returns 1 when a stop flag is set (before or after the wait), else 0. */
int retry_wait(const struct retry *r, long ms);

/* The pure backoff of retry_next: the wait before retry number tries (from 1),
 * with rnd a random value. */
long retry_backoff_ms(int tries, double retry_after_s, uint64_t rnd);

#endif
