/* breaker.c: the circuit breaker over sandbox creation. */
#include "breaker.h"

#include <time.h>

#include "atc/clock.h"
#include "atc/error.h"
#include "atc/log.h"

void breaker_state_init(struct breaker_state *s, int threshold, long long min_cooldown_ms,
                        long long max_cooldown_ms)
{
    *s = (struct breaker_state){
        .mode = BREAKER_CLOSED,
        .threshold = threshold,
        .cooldown_ms = min_cooldown_ms,
        .min_cooldown_ms = min_cooldown_ms,
        .max_cooldown_ms = max_cooldown_ms,
    };
}

int breaker_state_allow(struct breaker_state *s, long long now_ms, long long *wait_ms)
{
    *wait_ms = 0;
    switch (s->mode) {
    case BREAKER_CLOSED:
        return 1;
    case BREAKER_OPEN:
        if (now_ms < s->open_until_ms) {
            *wait_ms = s->open_until_ms - now_ms;
            return 0;
        }
        s->mode = BREAKER_HALF_OPEN;
        s->probing = 0;
        /* fall through - the first caller after the cool-down is the probe */
    case BREAKER_HALF_OPEN:
        if (s->probing) {
            *wait_ms = 500;
            return 0;
        }
        s->probing = 1;
        return 1;
    }
    return 1;
}

void breaker_state_record(struct breaker_state *s, int ok, long long now_ms)
{
    if (ok) {
        s->mode = BREAKER_CLOSED;
        s->failures = 0;
        s->probing = 0;
        s->cooldown_ms = s->min_cooldown_ms;
        return;
    }
    s->failures++;
    if (s->mode == BREAKER_HALF_OPEN) {
        /* The probe failed: stay away longer. */
        s->cooldown_ms *= 2;
        if (s->cooldown_ms > s->max_cooldown_ms)
            s->cooldown_ms = s->max_cooldown_ms;
        s->mode = BREAKER_OPEN;
        s->probing = 0;
        s->open_until_ms = now_ms + s->cooldown_ms;
    } else if (s->mode == BREAKER_CLOSED && s->failures >= s->threshold) {
        s->mode = BREAKER_OPEN;
        s->open_until_ms = now_ms + s->cooldown_ms;
    }
}

void breaker_state_release(struct breaker_state *s)
{
    if (s->mode == BREAKER_HALF_OPEN)
        s->probing = 0;
}

int breaker_is_fleet_fault(int rc)
{
    /* A 429 is the service answering, and pacing us: not a failure of it. */
    return atc_error_transient(rc) && rc != ATC_ERATELIMIT;
}

int breaker_state_open(const struct breaker_state *s, long long now_ms)
{
    switch (s->mode) {
    case BREAKER_OPEN:
        /* Once the cool-down is over a job must come in to probe: with none
         * waiting in the pool, a consumer held until it closes never would. */
        return now_ms < s->open_until_ms;
    case BREAKER_HALF_OPEN:
        return s->probing;
    case BREAKER_CLOSED:
        break;
    }
    return 0;
}

void breaker_init(struct breaker *b, int threshold, long long min_cooldown_ms,
                  long long max_cooldown_ms)
{
    pthread_mutex_init(&b->lock, NULL);
    breaker_state_init(&b->s, threshold, min_cooldown_ms, max_cooldown_ms);
}

void breaker_destroy(struct breaker *b)
{
    pthread_mutex_destroy(&b->lock);
}

int breaker_allow(struct breaker *b, long long *wait_ms)
{
    pthread_mutex_lock(&b->lock);
    int ok = breaker_state_allow(&b->s, atc_clock_mono_ms(), wait_ms);
    pthread_mutex_unlock(&b->lock);
    return ok;
}

void breaker_record(struct breaker *b, int ok)
{
    pthread_mutex_lock(&b->lock);
    enum breaker_mode before = b->s.mode;
    breaker_state_record(&b->s, ok, atc_clock_mono_ms());
    enum breaker_mode after = b->s.mode;
    long long cooldown = b->s.cooldown_ms;
    pthread_mutex_unlock(&b->lock);
    if (before != BREAKER_OPEN && after == BREAKER_OPEN)
        ATC_WARN(NULL, "circuit breaker open: the sandbox service keeps failing; "
                       "pausing sandbox creation and consumption for %lld ms", cooldown);
    else if (before != BREAKER_CLOSED && after == BREAKER_CLOSED)
        ATC_INFO(NULL, "circuit breaker closed: the sandbox service answers again");
}

void breaker_release(struct breaker *b)
{
    pthread_mutex_lock(&b->lock);
    breaker_state_release(&b->s);
    pthread_mutex_unlock(&b->lock);
}

int breaker_is_open(struct breaker *b)
{
    pthread_mutex_lock(&b->lock);
    int open = breaker_state_open(&b->s, atc_clock_mono_ms());
    pthread_mutex_unlock(&b->lock);
    return open;
}
