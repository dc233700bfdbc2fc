/* reaper.c: deleting leaked sandboxes of this fleet. */
#include "reaper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/error.h"
#include "atc/log.h"
#include "jobs.h"
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
                 long long now_ms, char *err, size_t errlen)
{
    struct atc_kv labels[] = {{"atc-fleet", (char *)group}};
    struct atc_sandbox_item *items = NULL;
    size_t n = 0;
    int reaped = 0;

    int rc = atc_daytona_list(d, labels, 1, &items, &n, err, errlen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (items[i].created_ms <= 0 || now_ms - items[i].created_ms < max_age_ms)
            continue;
        if (strcmp(items[i].state, "destroyed") == 0 || strcmp(items[i].state, "destroying") == 0)
            continue;
        char derr[512];
        if (atc_daytona_delete(d, items[i].id, derr, sizeof(derr)) == 0) {
            ATC_WARN(NULL, "reaped sandbox %s, %lld s old", items[i].id,
                     (now_ms - items[i].created_ms) / 1000);
            metrics_count("sandboxes_reaped");
            reaped++;
        } else {
            ATC_WARN(NULL, "reaping sandbox %s: %s", items[i].id, derr);
        }
    }
    free(items);
    return reaped;
}

struct reaper {
    const struct worker_settings *cfg;
    struct atc_daytona *d;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int quit;
};

static long long wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *reaper_main(void *arg)
{
    struct reaper *r = arg;
    long long max_age = reaper_max_age_ms(r->cfg);

    for (;;) {
        char err[512];
        int rc = reaper_sweep(r->d, r->cfg->group, max_age, wall_ms(), err, sizeof(err));
        if (rc < 0)
            ATC_WARN(NULL, "reaper: listing sandboxes failed: %s", err);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)r->cfg->reaper_interval_s;
        pthread_mutex_lock(&r->lock);
        while (!r->quit) {
            if (pthread_cond_timedwait(&r->cond, &r->lock, &until) != 0)
                break;
        }
        int quit = r->quit;
        pthread_mutex_unlock(&r->lock);
        if (quit)
            break;
    }
    return NULL;
}

struct reaper *reaper_start(const struct worker_settings *cfg)
{
    char err[512];
    struct reaper *r;

    if (cfg->reaper_interval_s <= 0)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->cfg = cfg;
    r->d = jobs_daytona_new(cfg, err, sizeof(err));
    if (!r->d) {
        ATC_ERROR(NULL, "reaper: %s", err);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    if (pthread_create(&r->thread, NULL, reaper_main, r) != 0) {
        atc_daytona_destroy(r->d);
        free(r);
        return NULL;
    }
    ATC_INFO(NULL, "reaper: every %lld s, sandboxes older than %lld s", cfg->reaper_interval_s,
             reaper_max_age_ms(cfg) / 1000);
    return r;
}

void reaper_stop(struct reaper *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->quit = 1;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    atc_daytona_destroy(r->d);
    pthread_cond_destroy(&r->cond);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
