/* envs.c: dependency environments built once per fleet (see envs.h). */
#include "envs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/clock.h"
#include "atc/daytona_snapshot.h"
#include "atc/env_store.h"
#include "atc/error.h"
#include "atc/log.h"
#include "metrics.h"

/* A builder renews its claim at every poll; a dead one's lapses after this. */
#define ENVS_CLAIM_TTL_MS 15000L
/* How often a waiter reads the state, and a builder the snapshot. */
#define ENVS_WAIT_POLL_MS 250L
#define ENVS_BUILD_POLL_MS 500L
#define ENVS_SLICE_MS 200L
/* A lease outlives the job's longest run by this much. */
#define ENVS_LEASE_MARGIN_MS 120000LL

/* Sleeps ms in slices; 1 when stop said stop. */
static int pause_ms(long ms, int (*stop)(void *), void *arg)
{
    for (long slept = 0; slept < ms; slept += ENVS_SLICE_MS) {
        if (stop && stop(arg))
            return 1;
        atc_clock_sleep_ms(ms - slept < ENVS_SLICE_MS ? ms - slept : ENVS_SLICE_MS);
    }
    return stop && stop(arg);
}

void envs_job_cleanup(struct envs_job *ej)
{
    if (!ej)
        return;
    free(ej->freeze);
    free(ej->error);
    ej->freeze = ej->error = NULL;
}

static int fallback(struct envs_job *ej, const char *job_id, const char *why)
{
    ej->status = ENVS_FALLBACK;
    snprintf(ej->why, sizeof(ej->why), "%s", why);
    ATC_WARN(job_id, "environment %s: %s; installing in the sandbox instead",
             ej->name[0] ? ej->name : "(none)", why);
    metrics_count("env_fallbacks");
    return 0;
}

static void lease(const struct envs_params *p, struct atc_results *r, const struct atc_job *job,
                  struct envs_job *ej)
{
    char err[256];
    long long until = atc_clock_wall_ms() + p->max_job_s * 1000LL + ENVS_LEASE_MARGIN_MS;
    if (atc_env_store_use(r, ej->name, job->id, until, err, sizeof(err)) == 0)
        ej->leased = 1;
    else
        ATC_WARN(job->id, "environment %s: cannot lease it: %s", ej->name, err);
}

/* Deletes the snapshot called name (the API deletes by id only). */
static int delete_snapshot(struct atc_daytona *d, const char *name, char *err, size_t errlen)
{
    struct atc_snapshot s;
    int rc = atc_daytona_snapshot_get(d, name, &s, err, errlen);
    if (rc == ATC_ENOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    return atc_daytona_snapshot_delete(d, s.id, err, errlen);
}

int envs_remove(struct atc_daytona *d, struct atc_results *r, const char *name, char *err,
                size_t errlen)
{
    if (!atc_env_name_valid(name)) {
        snprintf(err, errlen, "\"%.64s\" is not an environment name (atc-env-<16 hex>)", name);
        return ATC_EINVAL;
    }
    int rc = atc_env_store_forget(r, name, err, errlen);
    if (rc == 0)
        rc = delete_snapshot(d, name, err, errlen);
    return rc;
}

/* Drops environments beyond max (Redis picks; we delete the snapshots). */
static void collect(struct atc_daytona *d, struct atc_results *r, long max, const char *job_id)
{
    char **names = NULL;
    size_t n = 0;
    char err[512];

    if (atc_env_store_gc(r, max, &names, &n, err, sizeof(err)) != 0) {
        ATC_WARN(job_id, "environment GC: %s", err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (delete_snapshot(d, names[i], err, sizeof(err)) == 0) {
            if (max == ATC_ENV_GC_ONE)
                ATC_INFO(job_id, "environment %s dropped (least recently used, for the "
                         "snapshot quota)", names[i]);
            else
                ATC_INFO(job_id, "environment %s dropped (least recently used beyond %ld)",
                         names[i], max);
            metrics_count("env_dropped");
        } else {
            ATC_WARN(job_id, "environment %s: deleting its snapshot: %s (the reaper retries)",
                     names[i], err);
        }
    }
    atc_env_names_free(names, n);
}

/* 1 when a create was refused for the snapshot quota. */
static int quota_refusal(struct atc_daytona *d, int rc, const char *err)
{
    return rc == ATC_EPROTO && atc_daytona_last(d)->http_status == 400 && strstr(err, "quota");
}

/* The builder's side, with the claim held: the snapshot made (or found) and
 * polled until it ends or the deadline. Returns 0 with ej set, 1 when the
 * claim was lost (go back to waiting), or ATC_ECANCELED. */
static int build(const struct envs_params *p, struct atc_daytona *d, struct atc_results *r,
                 const struct atc_job *job, const struct atc_env_key *key, const char *token,
                 long long deadline, int (*stop)(void *), void *stop_arg, struct envs_job *ej)
{
    char res[64];
    atc_job_resources_text(job, res, sizeof(res));
    const struct atc_env_base base = {.image = p->base_image, .index_url = p->index_url,
                                      .resources = res};
    const struct atc_snapshot_resources sres = {job->cpu, job->memory_gib, job->disk_gib};
    struct atc_snapshot s;
    char err[1024];
    char *dockerfile = NULL;
    long long t0 = atc_clock_mono_ms();
    int rc, created = 0, retried = 0;

    dockerfile = atc_env_dockerfile(key, &base, err, sizeof(err));
    if (!dockerfile)
        return fallback(ej, job->id, err);
    rc = atc_daytona_snapshot_get(d, ej->name, &s, err, sizeof(err));
    for (;;) {
        if (rc == 0 && (strcmp(s.state, "error") == 0 || strcmp(s.state, "build_failed") == 0) &&
            !retried) {
            /* A leftover of an earlier failure that Redis has forgotten: once more. */
            retried = 1;
            atc_daytona_snapshot_delete(d, s.id, err, sizeof(err));
            rc = ATC_ENOTFOUND;
        }
        if (rc == 0 && strcmp(s.state, "inactive") == 0) {
            rc = atc_daytona_snapshot_activate(d, s.id, err, sizeof(err));
            if (rc == 0)
                snprintf(s.state, sizeof(s.state), "pending");
        }
        if (rc != ATC_ENOTFOUND)
            break;
        ATC_INFO(job->id, "environment %s: building it (%zu requirements%s%s)", ej->name,
                 key->ndeps, *res ? ", " : "", res);
        rc = atc_daytona_snapshot_create_res(d, ej->name, dockerfile, &sres, &s, err,
                                             sizeof(err));
        if (rc == 0) {
            created = 1;
            metrics_count("env_builds");
            break;
        }
        if (rc == ATC_ECONFLICT) {
            rc = atc_daytona_snapshot_get(d, ej->name, &s, err, sizeof(err));
            break;
        }
        if (quota_refusal(d, rc, err) && !retried) {
            retried = 1;
            /* The quota may be below ATC_ENV_MAX: make room for one. */
            collect(d, r, ATC_ENV_GC_ONE, job->id);
            rc = ATC_ENOTFOUND;
            continue;
        }
        break;
    }
    free(dockerfile);
    if (rc != 0) {
        char why[300];
        snprintf(why, sizeof(why), "the snapshot cannot be made: %.250s", err);
        return fallback(ej, job->id, why);
    }
    (void)created;
    /* Poll to the end, renewing the claim. */
    for (;;) {
        if (strcmp(s.state, "active") == 0) {
            ej->build_ms = (long)(atc_clock_mono_ms() - t0);
            if (atc_env_store_finish(r, ej->name, token, "active", s.id, NULL, ej->build_ms,
                                     p->fail_ttl_s, err, sizeof(err)) != 0)
                ATC_WARN(job->id, "environment %s: recording it: %s", ej->name, err);
            ej->status = ENVS_BUILT;
            ATC_INFO(job->id, "environment %s: active after %ld ms", ej->name, ej->build_ms);
            lease(p, r, job, ej);
            return 0;
        }
        if (strcmp(s.state, "build_failed") == 0) {
            const char *why = s.error_reason[0] ? s.error_reason : "the build failed";
            ej->build_ms = (long)(atc_clock_mono_ms() - t0);
            ej->status = ENVS_FAILED;
            ej->error = strdup(why);
            if (atc_env_store_finish(r, ej->name, token, "failed", s.id, why, ej->build_ms,
                                     p->fail_ttl_s, err, sizeof(err)) != 0)
                ATC_WARN(job->id, "environment %s: recording its failure: %s", ej->name, err);
            if (atc_daytona_snapshot_delete(d, s.id, err, sizeof(err)) != 0)
                ATC_WARN(job->id, "environment %s: deleting the failed snapshot: %s (the "
                         "reaper retries)", ej->name, err);
            metrics_count("env_builds_failed");
            ATC_INFO(job->id, "environment %s: pip cannot install it", ej->name);
            return 0;
        }
        if (strcmp(s.state, "error") == 0) {
            char why[300];
            snprintf(why, sizeof(why), "the snapshot went to error: %.250s", s.error_reason);
            atc_daytona_snapshot_delete(d, s.id, err, sizeof(err));
            return fallback(ej, job->id, why);
        }
        if (atc_clock_mono_ms() > deadline) {
            char why[200];
            snprintf(why, sizeof(why), "its build did not finish within %ld s (state %s)",
                     p->build_timeout_s, s.state);
            return fallback(ej, job->id, why);
        }
        if (pause_ms(ENVS_BUILD_POLL_MS, stop, stop_arg))
            return ATC_ECANCELED;
        int claimed = 0;
        if (atc_env_store_claim(r, ej->name, token, ENVS_CLAIM_TTL_MS, &claimed, err,
                                sizeof(err)) == 0 && claimed != 1) {
            ATC_WARN(job->id, "environment %s: lost the build claim; waiting instead", ej->name);
            return 1;
        }
        struct atc_snapshot cur;
        rc = atc_daytona_snapshot_get(d, ej->name, &cur, err, sizeof(err));
        if (rc == 0)
            s = cur;
        else if (rc == ATC_ENOTFOUND)
            return fallback(ej, job->id, "its snapshot disappeared while it was built");
        /* Other failures: ride them out until the deadline. */
    }
}

/* Why job cannot share an environment (it names its own snapshot, or its env
 * sets PIP_* variables, which pip in its sandbox would obey), or NULL. */
static const char *own_install(const struct atc_job *job)
{
    if (job->snapshot)
        return "the job names its own snapshot";
    for (size_t i = 0; i < job->nenv; i++)
        if (strncmp(job->env[i].key, "PIP_", 4) == 0)
            return "the job's env sets PIP_* variables for its pip";
    return NULL;
}

int envs_prepare(const struct envs_params *p, struct atc_daytona *d, struct atc_results *r,
                 const struct atc_job *job, int (*stop)(void *), void *stop_arg,
                 struct envs_job *ej)
{
    char res[64];
    atc_job_resources_text(job, res, sizeof(res));
    const struct atc_env_base base = {.image = p->base_image, .index_url = p->index_url,
                                      .resources = res};
    struct atc_env_key key;
    char err[1024], token[256];
    int rc, waited = 0;

    memset(ej, 0, sizeof(*ej));
    ej->build_ms = -1;
    /* Resources come only with a snapshot: a job that asks for them gets an
     * environment even without deps (its Dockerfile then has no pip line). */
    if (job->ndeps == 0 && !*res)
        return 0;
    if (atc_env_key_compute((const char *const *)job->deps, job->ndeps, &base, &key, err,
                            sizeof(err)) != 0)
        return fallback(ej, job->id, err);
    snprintf(ej->name, sizeof(ej->name), "%s", key.name);
    const char *own = own_install(job);
    if (own) {
        /* Its own image, or its own say in how pip installs: no shared build
         * would be what its pip would do. */
        atc_env_key_cleanup(&key);
        ej->name[0] = '\0';
        ej->status = ENVS_FALLBACK;
        snprintf(ej->why, sizeof(ej->why), "%s", own);
        return 0;
    }
    if (!p->enabled) {
        atc_env_key_cleanup(&key);
        ej->status = ENVS_FALLBACK;
        snprintf(ej->why, sizeof(ej->why), "ATC_ENVS=off");
        metrics_count("env_fallbacks");
        return 0;
    }
    snprintf(token, sizeof(token), "%s/%s/%u", p->worker_id, job->id, (unsigned)rand());
    long long t0 = atc_clock_mono_ms();
    long long deadline = t0 + p->build_timeout_s * 1000LL;
    for (;;) {
        struct atc_env_state st;
        rc = atc_env_store_get(r, ej->name, &st, err, sizeof(err));
        if (rc != 0) {
            rc = fallback(ej, job->id, err);
            break;
        }
        if (strcmp(st.state, "active") == 0) {
            ej->status = waited ? ENVS_WAITED : ENVS_HIT;
            ej->build_ms = waited ? (long)(atc_clock_mono_ms() - t0) : -1;
            ej->freeze = st.freeze;
            st.freeze = NULL;
            atc_env_state_cleanup(&st);
            metrics_count(waited ? "env_waits" : "env_hits");
            lease(p, r, job, ej);
            rc = 0;
            break;
        }
        if (strcmp(st.state, "failed") == 0) {
            ej->status = ENVS_FAILED;
            ej->error = st.error ? st.error : strdup("the environment's build failed");
            st.error = NULL;
            atc_env_state_cleanup(&st);
            metrics_count("env_failed_known");
            rc = 0;
            break;
        }
        atc_env_state_cleanup(&st);
        int claimed = 0;
        rc = atc_env_store_claim(r, ej->name, token, ENVS_CLAIM_TTL_MS, &claimed, err,
                                 sizeof(err));
        if (rc != 0) {
            rc = fallback(ej, job->id, err);
            break;
        }
        if (claimed == 2)
            continue; /* the build ended since the read: read again */
        if (claimed == 1) {
            rc = build(p, d, r, job, &key, token, deadline, stop, stop_arg, ej);
            if (rc != 1)
                break;
        }
        waited = 1;
        if (atc_clock_mono_ms() > deadline) {
            char why[200];
            snprintf(why, sizeof(why), "another worker's build did not finish within %ld s",
                     p->build_timeout_s);
            rc = fallback(ej, job->id, why);
            break;
        }
        if (pause_ms(ENVS_WAIT_POLL_MS, stop, stop_arg)) {
            rc = ATC_ECANCELED;
            break;
        }
    }
    atc_env_key_cleanup(&key);
    return rc;
}

void envs_store_freeze(struct atc_results *r, const struct envs_job *ej, const char *freeze)
{
    char err[256];
    if (ej->status == ENVS_HIT || ej->status == ENVS_BUILT || ej->status == ENVS_WAITED) {
        if (atc_env_store_set_freeze(r, ej->name, freeze, err, sizeof(err)) != 0)
            ATC_WARN(NULL, "environment %s: storing its pip freeze: %s", ej->name, err);
    }
}

void envs_finish(const struct envs_params *p, struct atc_daytona *d, struct atc_results *r,
                 const struct atc_job *job, struct envs_job *ej)
{
    char err[256];
    if (ej->leased && atc_env_store_use(r, ej->name, job->id, 0, err, sizeof(err)) != 0)
        ATC_WARN(job->id, "environment %s: ending its lease: %s", ej->name, err);
    ej->leased = 0;
    if (ej->lost && ej->name[0]) {
        ATC_WARN(job->id, "environment %s: its snapshot is gone; forgetting it", ej->name);
        if (atc_env_store_forget(r, ej->name, err, sizeof(err)) != 0)
            ATC_WARN(job->id, "environment %s: forgetting it: %s", ej->name, err);
        return;
    }
    if (p->enabled && (ej->status == ENVS_HIT || ej->status == ENVS_BUILT ||
                       ej->status == ENVS_WAITED))
        collect(d, r, p->max, job->id);
}

int envs_reap(struct atc_daytona *d, char *err, size_t errlen)
{
    struct atc_snapshot *v = NULL;
    size_t n = 0;
    int deleted = 0;
    int rc = atc_daytona_snapshot_list(d, ATC_ENV_NAME_PREFIX, &v, &n, err, errlen);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (!atc_env_name_valid(v[i].name) ||
            (strcmp(v[i].state, "error") != 0 && strcmp(v[i].state, "build_failed") != 0))
            continue;
        if (atc_daytona_snapshot_delete(d, v[i].id, err, errlen) == 0)
            deleted++;
    }
    free(v);
    return deleted;
}
