/* liveness.c: liveness keys and the orphan sweep (see liveness.h). */
#include "liveness.h"

#include "atc/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/error.h"
#include "atc/log.h"
#include "metrics.h"

int liveness_beat(struct atc_results *r, const struct worker_settings *cfg, char *err,
                  size_t errlen)
{
    return atc_results_worker_beat(r, cfg->group, cfg->worker_id, (long)cfg->liveness_ttl_s, err,
                                   errlen);
}

long liveness_sandbox_attempt(const char *name)
{
    const char *last = strrchr(name, '-');
    if (strncmp(name, "atc-", 4) != 0 || last == NULL || last == name)
        return 0;
    const char *prev = last - 1;
    while (prev > name && *prev != '-')
        prev--;
    if (*prev != '-' || prev + 1 == last)
        return 0;
    long attempt = 0;
    for (const char *p = prev + 1; p < last; p++) {
        if (*p < '0' || *p > '9' || attempt > 100000000L)
            return 0;
        attempt = attempt * 10 + (*p - '0');
    }
    return attempt;
}

/* The entry of worker in misses[0..n), or NULL. */
static const struct liveness_miss *find_miss(const struct liveness_miss *misses, size_t n,
                                             const char *worker)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(misses[i].worker, worker) == 0)
            return &misses[i];
    return NULL;
}

static void free_misses(struct liveness_miss *misses, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(misses[i].worker);
    free(misses);
}

void liveness_memory_cleanup(struct liveness_memory *m)
{
    if (m == NULL)
        return;
    free_misses(m->misses, m->nmisses);
    m->misses = NULL;
    m->nmisses = 0;
}

int liveness_judge(struct liveness_memory *m, long long now_ms, const char *const *workers,
                   const int *alive, size_t n, int read, int *dead)
{
    struct liveness_miss *next = NULL;
    size_t nnext = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++)
        dead[i] = 0;
    if (!read)
        goto out;
    next = calloc(n + 1, sizeof(*next));
    if (next == NULL) {
        rc = ATC_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (alive[i] || workers[i][0] == '\0')
            continue;
        const struct liveness_miss *was = find_miss(m->misses, m->nmisses, workers[i]);
        long long since = was != NULL ? was->since_ms : now_ms;
        dead[i] = now_ms - since >= LIVENESS_MISS_SPAN_MS;
        if (find_miss(next, nnext, workers[i]) != NULL)
            continue;
        next[nnext].worker = strdup(workers[i]);
        if (next[nnext].worker == NULL) {
            rc = ATC_ENOMEM;
            goto out;
        }
        next[nnext++].since_ms = since;
    }
out:
    if (rc != 0) {
        for (size_t i = 0; i < n; i++)
            dead[i] = 0;
        free_misses(next, nnext);
        next = NULL;
        nnext = 0;
    }
    liveness_memory_cleanup(m);
    m->misses = next;
    m->nmisses = nnext;
    return rc;
}

const char *liveness_orphan_reason(const struct liveness_facts *f)
{
    if (f->job_status[0] != '\0' && atc_status_is_final(f->job_status))
        return "its job already has a final result";
    /* A newer attempt alone is no reason while the sandbox's worker lives: in a
     * rebalance both may run the job for a while, and the older run, its
     * sandbox deleted under it, would write a wrong verdict first. */
    if (f->sandbox_attempt > 0 && f->job_attempt > f->sandbox_attempt && f->worker_known &&
        !f->worker_alive)
        return "its job has a newer attempt and its worker is gone";
    if (f->own && f->before_start)
        return "left by an earlier run of this worker";
    if (!f->own && f->worker_known && !f->worker_alive)
        return "its worker is gone (no liveness key on two sweeps)";
    return NULL;
}

/* 1 when the sandbox is gone or going, or a job of this worker uses it. */
static int skip_item(const struct atc_sandbox_item *it, reaper_in_use_fn in_use, void *arg)
{
    if (strcmp(it->state, "destroyed") == 0 || strcmp(it->state, "destroying") == 0)
        return 1;
    return in_use != NULL && in_use(arg, it->id);
}

int liveness_sweep(struct atc_daytona *d, struct atc_results *r, const char *group,
                   const char *self, struct liveness_memory *m, long long now_ms,
                   reaper_in_use_fn in_use, void *in_use_arg, char *err, size_t errlen)
{
    struct atc_kv labels[] = {{"atc-fleet", (char *)group}};
    struct atc_sandbox_item *items = NULL;
    const char **workers = NULL;
    int *alive = NULL;
    int *dead = NULL;
    size_t n = 0;
    int deleted = 0;

    int rc = atc_daytona_list(d, labels, 1, &items, &n, err, errlen);
    if (rc != 0)
        return rc;
    if (m->start_ms == 0) {
        long long date = atc_daytona_last(d)->date_ms;
        m->start_ms = date > 0 ? date : atc_clock_wall_ms();
    }
    workers = calloc(n + 1, sizeof(*workers));
    alive = calloc(n + 1, sizeof(*alive));
    dead = calloc(n + 1, sizeof(*dead));
    if (!workers || !alive || !dead) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    /* One liveness read for every labelled sandbox (MGET; a worker repeated
     * is harmless). Unreadable: every worker counts as alive. */
    for (size_t i = 0; i < n; i++) {
        workers[i] = items[i].worker_label;
        alive[i] = 1;
    }
    int known = 1;
    char rerr[512];
    if (n > 0 && atc_results_workers_alive(r, group, workers, n, alive, rerr, sizeof(rerr)) != 0) {
        ATC_WARN(NULL, "orphan sweep: reading liveness keys: %s", rerr);
        known = 0;
        for (size_t i = 0; i < n; i++)
            alive[i] = 1;
    }
    /* A key missing once is no death: Redis may just have lost its data. */
    if (liveness_judge(m, now_ms, workers, alive, n, known, dead) != 0)
        ATC_WARN(NULL, "orphan sweep: out of memory judging liveness; no worker judged dead");
    for (size_t i = 0; i < n; i++) {
        const struct atc_sandbox_item *it = &items[i];
        if (skip_item(it, in_use, in_use_arg))
            continue;
        char status[32] = "";
        long attempt = 0, abandoned = 0;
        if (it->job_label[0] != '\0' &&
            atc_results_job_state(r, it->job_label, status, sizeof(status), &attempt, &abandoned,
                                  rerr, sizeof(rerr)) != 0) {
            status[0] = '\0';
            attempt = 0;
        }
        struct liveness_facts f = {
            .own = strcmp(it->worker_label, self) == 0,
            .before_start = it->created_ms > 0 && it->created_ms < m->start_ms,
            .worker_known = known && it->worker_label[0] != '\0',
            .worker_alive = !dead[i],
            .job_status = status,
            .job_attempt = attempt,
            .sandbox_attempt = liveness_sandbox_attempt(it->name),
        };
        const char *why = liveness_orphan_reason(&f);
        if (why == NULL)
            continue;
        char derr[512];
        if (atc_daytona_delete(d, it->id, derr, sizeof(derr)) == 0) {
            ATC_WARN(it->job_label[0] ? it->job_label : NULL,
                     "reaped sandbox %s of worker %s: %s", it->id,
                     it->worker_label[0] ? it->worker_label : "(none)", why);
            metrics_count("sandboxes_reaped");
            metrics_count("sandboxes_orphaned");
            deleted++;
        } else {
            ATC_WARN(NULL, "orphan sweep: deleting sandbox %s: %s", it->id, derr);
        }
    }
    rc = deleted;
out:
    free(dead);
    free(alive);
    free(workers);
    free(items);
    return rc;
}
