/* reaper.c: deleting leaked sandboxes of this fleet. */
#include "reaper.h"


#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/clock.h"
#include "atc/error.h"
#include "atc/log.h"
#include "daytona_client.h"
#include "liveness.h"
#include "envs.h"
#include "metrics.h"

long long reaper_max_age_ms(const struct worker_settings *cfg)
{
    long long limits = (cfg->sandbox_create_timeout_s + cfg->install_timeout_s +
                        cfg->max_timeout_s) * 1000LL;
    /* Uploads, reports, deletes and retries take time beyond the three limits:
     * half as much again, at least 30 s and at most 2 min. */
    long long margin = limits / 2;
    if (margin < 30000)
        margin = 30000;
    if (margin > 120000)
        margin = 120000;
    return limits + margin;
}

int reaper_sweep(struct atc_daytona *d, const char *group, long long max_age_ms,
                 long long now_ms, reaper_in_use_fn in_use, void *in_use_arg,
                 char *err, size_t errlen)
{
    struct atc_kv labels[] = {{"atc-fleet", (char *)group}};
    struct atc_sandbox_item *items = NULL;
    size_t n = 0;
    int reaped = 0;

    int rc = atc_daytona_list(d, labels, 1, &items, &n, err, errlen);
    if (rc != 0)
        return rc;
    /* createdAt is on the service's clock: so is its Date (whole seconds,
     * rounded down, so an age is never overstated). */
    long long date_ms = atc_daytona_last(d)->date_ms;
    long long now = date_ms > 0 ? date_ms : now_ms;
    for (size_t i = 0; i < n; i++) {
        if (items[i].created_ms <= 0 || now - items[i].created_ms < max_age_ms)
            continue;
        if (strcmp(items[i].state, "destroyed") == 0 || strcmp(items[i].state, "destroying") == 0)
            continue;
        if (in_use != NULL && in_use(in_use_arg, items[i].id)) {
            ATC_WARN(NULL, "not reaping sandbox %s, %lld s old: a job of this worker is using it",
                     items[i].id, (now - items[i].created_ms) / 1000);
            continue;
        }
        char derr[512];
        if (atc_daytona_delete(d, items[i].id, derr, sizeof(derr)) == 0) {
            ATC_WARN(NULL, "reaped sandbox %s, %lld s old", items[i].id,
                     (now - items[i].created_ms) / 1000);
            metrics_count("sandboxes_reaped");
            if (atc_daytona_last(d)->http_status / 100 == 2)
                metrics_sandbox_not_ours(); /* its maker's count went with the maker */
            reaped++;
        } else {
            ATC_WARN(NULL, "reaping sandbox %s: %s", items[i].id, derr);
        }
    }
    free(items);
    return reaped;
}

/* A sandbox whose delete failed in a job: retried here, from 1 s doubling to
 * a minute, until it is gone. */
struct deferred {
    char id[128];
    char why[48];      /* whose sandbox, for the log: "its job's delete failed" */
    long long next_ms; /* monotonic */
    int tries;
    int leaked;        /* a job could not delete it: counted as reaped once gone */
};

/* Beyond this many, deferred deletes are left to the periodic sweep. */
#define REAPER_MAX_DEFERRED 4096

struct reaper {
    const struct worker_settings *cfg;
    struct atc_daytona *d;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    int quit;
    int joined;                /* reaper_finish has run (main thread only) */
    struct deferred *deferred; /* under lock */
    size_t ndeferred;
    pthread_mutex_t in_use_lock; /* guards in_use and in_use_arg, held while calling it */
    reaper_in_use_fn in_use;
    void *in_use_arg;
    struct atc_results *redis;   /* the orphan sweep's; NULL: no orphan sweep */
    struct liveness_memory orphan_memory; /* liveness_sweep's, from one sweep to the next */
};

/* Adds d to the list, under r->lock. 0 when the list is full. */
static int push_locked(struct reaper *r, const struct deferred *d)
{
    if (r->ndeferred >= REAPER_MAX_DEFERRED)
        return 0;
    r->deferred[r->ndeferred++] = *d;
    return 1;
}

static int defer(struct reaper *r, const char *sandbox_id, long long delay_ms, const char *why,
                 int leaked)
{
    struct deferred d = {.next_ms = atc_clock_mono_ms() + delay_ms, .leaked = leaked};

    if (!r || !sandbox_id || !*sandbox_id || strlen(sandbox_id) >= sizeof(d.id))
        return 0;
    snprintf(d.id, sizeof(d.id), "%s", sandbox_id);
    snprintf(d.why, sizeof(d.why), "%s", why);
    pthread_mutex_lock(&r->lock);
    int ok = !r->quit && push_locked(r, &d);
    if (ok)
        pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return ok;
}

int reaper_defer_delete(struct reaper *r, const char *sandbox_id)
{
    int ok = defer(r, sandbox_id, 1000, "its job's delete failed", 1);
    if (ok)
        metrics_count("sandbox_deletes_deferred");
    return ok;
}

int reaper_delete_now(struct reaper *r, const char *sandbox_id, const char *why)
{
    return defer(r, sandbox_id, 0, why, 0);
}

/* Tries the deferred deletes that are due (all of them when final). Calls
 * the service without the lock held. */
static void retry_deferred(struct reaper *r, int final)
{
    for (;;) {
        struct deferred d;
        long long now = atc_clock_mono_ms();
        size_t i;

        pthread_mutex_lock(&r->lock);
        for (i = 0; i < r->ndeferred; i++)
            if (final || r->deferred[i].next_ms <= now)
                break;
        if (i == r->ndeferred) {
            pthread_mutex_unlock(&r->lock);
            return;
        }
        /* Taken off the list while the call runs; put back if it fails. */
        d = r->deferred[i];
        d.tries++;
        r->deferred[i] = r->deferred[--r->ndeferred];
        pthread_mutex_unlock(&r->lock);

        char err[512];
        if (atc_daytona_delete(r->d, d.id, err, sizeof(err)) == 0) {
            ATC_INFO(NULL, "deleted sandbox %s (%s) on try %d", d.id, d.why, d.tries);
            if (d.leaked)
                metrics_count("sandboxes_reaped");
            continue;
        }
        if (final) {
            ATC_WARN(NULL, "sandbox %s is still live (%s): the reaper of any worker deletes "
                     "it once it is %lld s old", d.id, err, reaper_max_age_ms(r->cfg) / 1000);
            continue;
        }
        long long wait = 1000LL << (d.tries < 6 ? d.tries : 6);
        double ra = atc_daytona_last(r->d)->retry_after_s;
        if (ra * 1000.0 > (double)wait)
            wait = ra > 300.0 ? 300000 : (long long)(ra * 1000.0);
        ATC_WARN(NULL, "deleting sandbox %s failed again (%s); next try in %lld s", d.id, err,
                 wait / 1000);
        d.next_ms = atc_clock_mono_ms() + wait;
        pthread_mutex_lock(&r->lock);
        (void)push_locked(r, &d); /* full: left to the periodic sweep */
        pthread_mutex_unlock(&r->lock);
    }
}

void reaper_set_in_use(struct reaper *r, reaper_in_use_fn in_use, void *arg)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->in_use_lock);
    r->in_use = in_use;
    r->in_use_arg = in_use != NULL ? arg : NULL;
    pthread_mutex_unlock(&r->in_use_lock);
}

/* reaper_sweep's in_use test: the one set now, if any. Its own lock, not
 * r->lock, which job threads take to hand over deletes. */
static int in_use_now(void *arg, const char *id)
{
    struct reaper *r = arg;

    pthread_mutex_lock(&r->in_use_lock);
    int used = r->in_use != NULL && r->in_use(r->in_use_arg, id);
    pthread_mutex_unlock(&r->in_use_lock);
    return used;
}

static void *reaper_main(void *arg)
{
    struct reaper *r = arg;
    long long max_age = reaper_max_age_ms(r->cfg);
    long long interval_ms = r->cfg->reaper_interval_s * 1000LL;
    long long next_sweep = atc_clock_mono_ms();
    long long orphan_ms = r->redis ? r->cfg->orphan_sweep_s * 1000LL : 0;
    long long next_orphan = atc_clock_mono_ms();

    for (;;) {
        if (orphan_ms > 0 && atc_clock_mono_ms() >= next_orphan) {
            char err[512];
            if (liveness_sweep(r->d, r->redis, r->cfg->group, r->cfg->worker_id,
                               &r->orphan_memory, atc_clock_mono_ms(), in_use_now, r, err,
                               sizeof(err)) < 0)
                ATC_WARN(NULL, "orphan sweep: %s", err);
            next_orphan = atc_clock_mono_ms() + orphan_ms;
        }
        if (interval_ms > 0 && atc_clock_mono_ms() >= next_sweep) {
            char err[512];
            int rc = reaper_sweep(r->d, r->cfg->group, max_age, atc_clock_wall_ms(), in_use_now, r,
                              err, sizeof(err));
            if (rc < 0)
                ATC_WARN(NULL, "reaper: listing sandboxes failed: %s", err);
            /* Environments' snapshots left in error or build_failed (envs.c). */
            rc = envs_reap(r->d, err, sizeof(err));
            if (rc > 0)
                ATC_INFO(NULL, "reaper: deleted %d failed environment snapshot(s)", rc);
            else if (rc < 0 && rc != ATC_ENOTFOUND)
                ATC_DEBUG(NULL, "reaper: listing snapshots failed: %s", err);
            next_sweep = atc_clock_mono_ms() + interval_ms;
        }
        retry_deferred(r, 0);

        pthread_mutex_lock(&r->lock);
        while (!r->quit) {
            /* Wake for the next sweep, the next deferred delete, or a new one. */
            long long wake = interval_ms > 0 ? next_sweep : atc_clock_mono_ms() + 3600000;
            if (orphan_ms > 0 && next_orphan < wake)
                wake = next_orphan;
            for (size_t i = 0; i < r->ndeferred; i++)
                if (r->deferred[i].next_ms < wake)
                    wake = r->deferred[i].next_ms;
            if (wake <= atc_clock_mono_ms())
                break;
            struct timespec until = {.tv_sec = (time_t)(wake / 1000),
                                     .tv_nsec = (long)(wake % 1000) * 1000000};
            pthread_cond_timedwait(&r->cond, &r->lock, &until);
        }
        int quit = r->quit;
        pthread_mutex_unlock(&r->lock);
        if (quit)
            break;
    }
    retry_deferred(r, 1);
    return NULL;
}

struct reaper *reaper_start(const struct worker_settings *cfg)
{
    char err[512];
    struct reaper *r;
    pthread_condattr_t ca;

    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->deferred = calloc(REAPER_MAX_DEFERRED, sizeof(*r->deferred));
    r->d = r->deferred ? daytona_client_new(cfg, err, sizeof(err)) : NULL;
    if (r->d && cfg->orphan_sweep_s > 0) {
        r->redis = atc_results_new(cfg->redis_url, 5000, err, sizeof(err));
        if (!r->redis)
            ATC_WARN(NULL, "reaper: no orphan sweep: %s", err);
    }
    if (!r->d) {
        ATC_ERROR(NULL, "reaper: %s", r->deferred ? err : "out of memory");
        free(r->deferred);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->in_use_lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
        ATC_ERROR(NULL, "reaper: cannot start its thread");
        atc_results_destroy(r->redis);
        atc_daytona_destroy(r->d);
        pthread_cond_destroy(&r->cond);
        pthread_mutex_destroy(&r->in_use_lock);
        pthread_mutex_destroy(&r->lock);
        free(r->deferred);
        free(r);
        return NULL;
    }
    if (r->redis)
        ATC_INFO(NULL, "reaper: orphan sweep every %lld s (liveness keys live %lld s)",
                 cfg->orphan_sweep_s, cfg->liveness_ttl_s);
    if (cfg->reaper_interval_s > 0)
        ATC_INFO(NULL, "reaper: every %lld s, sandboxes older than %lld s", cfg->reaper_interval_s,
                 reaper_max_age_ms(cfg) / 1000);
    else
        ATC_INFO(NULL, "reaper: no periodic sweep (ATC_REAPER_INTERVAL_S=0); failed deletes "
                 "are still retried");
    return r;
}

void reaper_finish(struct reaper *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    int joined = r->joined;
    r->quit = 1;
    r->joined = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    if (!joined)
        pthread_join(r->thread, NULL);
}

void reaper_stop(struct reaper *r)
{
    if (!r)
        return;
    reaper_finish(r);
    liveness_memory_cleanup(&r->orphan_memory);
    atc_results_destroy(r->redis);
    atc_daytona_destroy(r->d);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->in_use_lock);
    pthread_mutex_destroy(&r->lock);
    free(r->deferred);
    free(r);
}
