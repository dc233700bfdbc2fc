/* breaker.h: a circuit breaker over the sandbox service. After enough fleet
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
/* 1 while the consumer should stay paused. */
int breaker_state_open(const struct breaker_state *s, long long now_ms);

struct breaker {
    pthread_mutex_t lock;
    struct breaker_state s;
};

void breaker_init(struct breaker *b, int threshold, long long min_cooldown_ms,
                  long long max_cooldown_ms);
void breaker_destroy(struct breaker *b);
int breaker_allow(struct breaker *b, long long *wait_ms);
void breaker_record(struct breaker *b, int ok);
int breaker_is_open(struct breaker *b);

#endif
