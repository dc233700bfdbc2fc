/* breaker.h: a circuit breaker over the sandbox service. It hears one outcome
 * per job's create, after that create's retries. After enough fleet
 * faults in a row it opens: no sandbox is created and the consumer pauses,
 * instead of burning through the queue; after a cool-down one probe is let
 * through, and its success closes it again. The state machine takes times as
 * values (breaker_state_*), the shared wrapper adds a lock (breaker_*). */
#ifndef ATC_WORKER_BREAKER_H
#define ATC_WORKER_BREAKER_H

#include <pthread.h>

enum breaker_mode { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker_state {
    enum breaker_mode mode;
    int failures;            /* fleet faults in a row */
    int threshold;           /* failures that open it */
    long long cooldown_ms;   /* current cool-down; doubles on a failed probe */
    long long min_cooldown_ms, max_cooldown_ms;
    long long open_until_ms; /* when OPEN: the time a probe may go */
    int probing;             /* when HALF_OPEN: a probe is out */
};

void breaker_state_init(struct breaker_state *s, int threshold, long long min_cooldown_ms,
                        long long max_cooldown_ms);
/* May a create go now? 1 yes; 0 no, with *wait_ms how long to wait. */
int breaker_state_allow(struct breaker_state *s, long long now_ms, long long *wait_ms);
/* The outcome of a call that was allowed: ok 1 for success, 0 for a fleet fault. */
void breaker_state_record(struct breaker_state *s, int ok, long long now_ms);
/* A call that was allowed but ends with no outcome (the job was cancelled or
 * abandoned before its create was decided): when it was the probe, the next
 * caller probes instead. */
void breaker_state_release(struct breaker_state *s);
/* 1 while the consumer should stay paused: open and cooling down, or a probe
 * is out. After the cool-down with no probe out it is 0, so that a job comes
 * in to probe. */
int breaker_state_open(const struct breaker_state *s, long long now_ms);
/* 1 when a job's create, after its retries, ended with rc (a client code) in
 * a fault of the fleet the breaker counts: no answer (ATC_ECONN), a 5xx
 * (ATC_ESERVER) or a timeout (ATC_ETIMEDOUT). A 429, or a 4xx caused by the
 * job (an unknown snapshot), shows the service answering: not a failure. */
int breaker_is_fleet_fault(int rc);

struct breaker {
    pthread_mutex_t lock;
    struct breaker_state s;
};

void breaker_init(struct breaker *b, int threshold, long long min_cooldown_ms,
                  long long max_cooldown_ms);
void breaker_destroy(struct breaker *b);
int breaker_allow(struct breaker *b, long long *wait_ms);
void breaker_record(struct breaker *b, int ok);
void breaker_release(struct breaker *b);
int breaker_is_open(struct breaker *b);

#endif
