/* retry.c: backoff, budget and stoppable waits of the worker's retries (retry.h). */
#include "retry.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/random.h>

#include "atc/clock.h"

void retry_init(struct retry *r, int max_retries, uint64_t seed, const atomic_int *stop_a,
                const atomic_int *stop_b)
{
    r->tries = 0;
    r->max_retries = max_retries;
    r->max_exp = 0;
    r->rng = seed;
    r->stop[0] = stop_a;
    r->stop[1] = stop_b;
}

static uint64_t process_salt;
static pthread_once_t salt_once = PTHREAD_ONCE_INIT;

static void salt_init(void)
{
    uint64_t s = 0;
    /* Without getrandom the clock will do: the salt only spreads retries. */
    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != (ssize_t)sizeof(s))
        s = (uint64_t)atc_clock_wall_ms() ^ ((uint64_t)atc_clock_mono_ms() << 20);
    process_salt = s;
}

uint64_t retry_seed(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

    pthread_once(&salt_once, salt_init);
    for (const char *p = key; p != NULL && *p; p++) {
        h ^= (unsigned char)*p;
        h *= 0x100000001b3ull;
    }
    return h ^ process_salt;
}

int retry_stopped(const struct retry *r)
{
    return (r->stop[0] != NULL && *r->stop[0]) || (r->stop[1] != NULL && *r->stop[1]);
}

/* splitmix64: a full-period generator, good enough for jitter. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

long retry_backoff_ms(int tries, double retry_after_s, uint64_t rnd)
{
    long base = RETRY_FIRST_MS;
    for (int i = 1; i < tries && base < RETRY_CAP_MS; i++)
        base *= 2;
    if (base > RETRY_CAP_MS)
        base = RETRY_CAP_MS;
    long ms = base / 2 + (long)(rnd % (uint64_t)(base / 2 + 1));
    if (retry_after_s >= 0) {
        double floor_ms = retry_after_s * 1000.0;
        if (floor_ms > RETRY_AFTER_MAX_MS)
            floor_ms = RETRY_AFTER_MAX_MS;
        if ((double)ms < floor_ms)
            ms = (long)floor_ms;
    }
    return ms;
}

long retry_next(struct retry *r, double retry_after_s)
{
    r->tries++;
    if (r->max_retries != RETRY_FOREVER && r->tries > r->max_retries)
        return -1;
    int exp = r->max_exp > 0 && r->tries > r->max_exp ? r->max_exp : r->tries;
    return retry_backoff_ms(exp, retry_after_s, next_random(&r->rng));
}

int retry_wait(const struct retry *r, long ms)
{
    for (long slept = 0; slept < ms; slept += RETRY_SLICE_MS) {
        if (retry_stopped(r))
            return 1;
        atc_clock_sleep_ms(ms - slept < RETRY_SLICE_MS ? ms - slept : RETRY_SLICE_MS);
    }
    return retry_stopped(r);
}
