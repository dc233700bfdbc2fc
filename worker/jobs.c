/* jobs.c: the life of one message on a job thread. */
#include "jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/clock.h"
#include "atc/daytona.h"
#include "atc/error.h"
#include "atc/log.h"
#include "atc/results.h"
#include "daytona_client.h"
#include "metrics.h"
#include "poison.h"
#include "report.h"
#include "retry.h"
#include "verdict.h"

/* Redis and Kafka are retried until they answer or a shutdown gives up; the
 * wait stops doubling after this many tries (8 to 16 s). */
#define JOBS_RETRY_MAX_EXP 6

struct job_thread {
    struct jobs_ctx *ctx;
    struct atc_daytona *d;
    struct atc_results *r;
    pthread_mutex_t lock;   /* guards sandbox and job_id */
    char sandbox[128];      /* the sandbox in use, or "" */
    char job_id[ATC_JOB_ID_MAX + 1]; /* the job being run, or "" */
    atomic_int cancel;      /* the running job was cancelled (set by the main thread) */
};

static int defer_delete(void *arg, const char *sandbox_id)
{
    return reaper_defer_delete(arg, sandbox_id);
}

void jobs_ctx_init(struct jobs_ctx *ctx, const struct worker_settings *cfg, struct dlq *dlq,
                   struct reaper *reaper)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->cfg = cfg;
    ctx->dlq = dlq;
    ctx->reaper = reaper;
    ctx->attempt = (struct attempt_params){
        .group = cfg->group,
        .worker_id = cfg->worker_id,
        .default_snapshot = cfg->sandbox_snapshot,
        .max_timeout_s = (unsigned)cfg->max_timeout_s,
        .install_timeout_s = (unsigned)cfg->install_timeout_s,
        .create_timeout_s = (unsigned)cfg->sandbox_create_timeout_s,
        .max_output_bytes = (size_t)cfg->max_output_bytes,
        .test_timeout_s = (unsigned)cfg->test_timeout_s,
        .reruns = (unsigned)cfg->reruns,
        .coverage = cfg->coverage != 0,
        .digest_bytes = (size_t)cfg->digest_bytes,
        .retry_max = (int)cfg->retry_max,
        .allow_open_network = cfg->allow_open_network != 0,
        .snapshot_allow = cfg->snapshot_allow,
        .probe_addr = verdict_probe_addr(cfg->daytona_api_url, ctx->probe_addr,
                                         sizeof(ctx->probe_addr)) == 0
                          ? ctx->probe_addr
                          : NULL,
        .abandon = &ctx->abandon,
        .breaker = &ctx->breaker,
        .defer_delete = defer_delete,
        .defer_delete_arg = reaper,
    };
    ctx->attempt.pip_index_url = cfg->pip_index_url && *cfg->pip_index_url ? cfg->pip_index_url : NULL;
    ctx->envs = (struct envs_params){
        .enabled = cfg->envs && strcmp(cfg->envs, "on") == 0,
        .max = (long)cfg->env_max,
        .base_image = cfg->env_base_image,
        .index_url = ctx->attempt.pip_index_url,
        .build_timeout_s = (long)cfg->env_build_timeout_s,
        .fail_ttl_s = (long)cfg->env_fail_ttl_s,
        .max_job_s = (long)(cfg->max_timeout_s + cfg->sandbox_create_timeout_s),
        .worker_id = cfg->worker_id,
    };
    /* Ten failed creates in a row open it for 10 s, doubling to 5 min. */
    breaker_init(&ctx->breaker, 10, 10000, 300000);
}

void jobs_ctx_cleanup(struct jobs_ctx *ctx)
{
    breaker_destroy(&ctx->breaker);
}

void *jobs_thread_init(void *vctx, size_t index)
{
    struct jobs_ctx *ctx = vctx;
    char err[512];
    struct job_thread *jt = calloc(1, sizeof(*jt));

    if (!jt)
        return NULL;
    jt->ctx = ctx;
    pthread_mutex_init(&jt->lock, NULL);
    jt->d = daytona_client_new(ctx->cfg, err, sizeof(err));
    if (!jt->d) {
        ATC_ERROR(NULL, "job thread %zu: %s", index, err);
        jobs_thread_fini(ctx, jt);
        return NULL;
    }
    jt->r = atc_results_new(ctx->cfg->redis_url, 5000, err, sizeof(err));
    if (!jt->r) {
        ATC_ERROR(NULL, "job thread %zu: %s", index, err);
        jobs_thread_fini(ctx, jt);
        return NULL;
    }
    return jt;
}

void jobs_thread_fini(void *ctx, void *state)
{
    struct job_thread *jt = state;
    if (!jt)
        return;
    atc_daytona_destroy(jt->d);
    atc_results_destroy(jt->r);
    pthread_mutex_destroy(&jt->lock);
    free(jt);
}

static void on_sandbox(void *arg, const char *id)
{
    struct job_thread *jt = arg;
    pthread_mutex_lock(&jt->lock);
    snprintf(jt->sandbox, sizeof(jt->sandbox), "%s", id ? id : "");
    pthread_mutex_unlock(&jt->lock);
}

/* Deletes sandbox id of job (a cancelled or abandoned one), from outside the
 * job's thread, which is blocked on its own handle: its run then ends at its
 * next step. The reaper thread does it, so the main loop does not wait on the
 * service; where there is no reaper, it is done here. */
static void delete_sandbox_of(struct job_thread *jt, const char *id, const char *job,
                              const char *why)
{
    char err[512] = "";

    if (!id[0])
        return;
    if (reaper_delete_now(jt->ctx->reaper, id, why)) {
        ATC_INFO(job, "deleting sandbox %s (%s)", id, why);
        return;
    }
    struct atc_daytona *d = daytona_client_new(jt->ctx->cfg, err, sizeof(err));
    if (!d || atc_daytona_delete(d, id, err, sizeof(err)) != 0)
        ATC_ERROR(job, "deleting sandbox %s (%s): %s", id, why, err);
    else
        ATC_INFO(job, "deleted sandbox %s (%s)", id, why);
    atc_daytona_destroy(d);
}

void jobs_abandon_sandbox(void *arg, void *state)
{
    struct job_thread *jt = state;
    char id[128], job[ATC_JOB_ID_MAX + 1];

    pthread_mutex_lock(&jt->lock);
    snprintf(id, sizeof(id), "%s", jt->sandbox);
    snprintf(job, sizeof(job), "%s", jt->job_id);
    pthread_mutex_unlock(&jt->lock);
    delete_sandbox_of(jt, id, job, "its job was abandoned at shutdown");
}

struct in_use_scan {
    const char *id;
    int found;
};

static void scan_in_use(void *arg, void *state)
{
    struct in_use_scan *s = arg;
    struct job_thread *jt = state;

    pthread_mutex_lock(&jt->lock);
    if (jt->sandbox[0] && strcmp(jt->sandbox, s->id) == 0)
        s->found = 1;
    pthread_mutex_unlock(&jt->lock);
}

int jobs_sandbox_in_use(void *pool, const char *id)
{
    struct in_use_scan s = {.id = id};

    if (pool == NULL || id == NULL || !*id)
        return 0;
    pool_each_state(pool, scan_in_use, &s);
    return s.found;
}

struct cancel_scan {
    struct job_thread **threads;
    const char **ids;
    size_t n;
};

static void collect_running(void *arg, void *state)
{
    struct cancel_scan *cs = arg;
    struct job_thread *jt = state;

    pthread_mutex_lock(&jt->lock);
    if (jt->job_id[0] && !jt->cancel) {
        char *id = strdup(jt->job_id);
        if (id) {
            cs->threads[cs->n] = jt;
            cs->ids[cs->n++] = id;
        }
    }
    pthread_mutex_unlock(&jt->lock);
}

void jobs_watch_cancels(struct jobs_ctx *ctx, struct pool *pool, size_t nthreads,
                        struct atc_results *r)
{
    struct cancel_scan cs = {0};
    int *flags = NULL;
    char err[512];

    cs.threads = calloc(nthreads + 1, sizeof(*cs.threads));
    cs.ids = calloc(nthreads + 1, sizeof(*cs.ids));
    flags = calloc(nthreads + 1, sizeof(*flags));
    if (!cs.threads || !cs.ids || !flags)
        goto out;
    pool_each_state(pool, collect_running, &cs);
    if (cs.n == 0 || atc_results_cancel_check(r, cs.ids, cs.n, flags, err, sizeof(err)) != 0)
        goto out;
    for (size_t i = 0; i < cs.n; i++) {
        if (!flags[i])
            continue;
        struct job_thread *jt = cs.threads[i];
        char sandbox[128] = "";
        pthread_mutex_lock(&jt->lock);
        /* Still the same job? It may have finished since the scan. Its
         * sandbox is read under the same lock: never the next job's. */
        int same = strcmp(jt->job_id, cs.ids[i]) == 0;
        if (same) {
            jt->cancel = 1;
            snprintf(sandbox, sizeof(sandbox), "%s", jt->sandbox);
        }
        pthread_mutex_unlock(&jt->lock);
        if (same) {
            ATC_INFO(cs.ids[i], "cancel requested: stopping the run");
            delete_sandbox_of(jt, sandbox, cs.ids[i], "its job was cancelled");
        }
    }
out:
    for (size_t i = 0; i < cs.n; i++)
        free((char *)cs.ids[i]);
    free(cs.threads);
    free(cs.ids);
    free(flags);
}

/* Retries a Redis write until it lands or the shutdown gives the job up: an
 * offset is never stored for a job whose result is not in Redis. */
static int write_final(struct job_thread *jt, const char *id, const char *status,
                       const struct report_fields *rf)
{
    char err[512];
    struct retry rt;

    retry_init(&rt, RETRY_FOREVER, retry_seed(id), &jt->ctx->abandon, NULL);
    rt.max_exp = JOBS_RETRY_MAX_EXP;
    for (;;) {
        int rc = atc_results_write_final(jt->r, id, status, rf->f, rf->n,
                                         (long)jt->ctx->cfg->result_ttl_s, err, sizeof(err));
        if (rc == 0 || rc == ATC_EFINAL)
            return rc;
        metrics_count("redis_errors");
        if (retry_stopped(&rt))
            return rc;
        long wait = retry_next(&rt, -1);
        ATC_WARN(id, "writing the result failed (%s); retrying in %ld ms", err, wait);
        retry_wait(&rt, wait); /* a stop ends the wait; the next try is the last */
    }
}

/* Sends the dead-letter record of t, retrying until the broker has it: a
 * record is part of the job's outcome, so a message is not done without it.
 * Only an error no retry cures (the topic missing or not writable) is logged
 * and passed over, so that the fleet goes on. 0, or -1 when a shutdown gave it
 * up (then the offset must not be stored: the message comes again and is
 * dead-lettered then). */
static int send_dlq(struct job_thread *jt, struct task *t, const char *key, const char *reason,
                    const char *error)
{
    char err[512];
    struct dlq_record rec = {
        .reason = reason,
        .error = error,
        .worker = jt->ctx->cfg->worker_id,
        .ts_ms = atc_clock_wall_ms(),
        .topic = t->topic,
        .partition = t->partition,
        .offset = t->offset,
        .original = t->value,
        .original_len = t->len,
    };
    struct retry rt;

    retry_init(&rt, RETRY_FOREVER, retry_seed(key), &jt->ctx->abandon, &jt->ctx->stopping);
    rt.max_exp = JOBS_RETRY_MAX_EXP;
    for (;;) {
        int rc = dlq_send(jt->ctx->dlq, key, &rec, err, sizeof(err));
        if (rc == 0) {
            metrics_count("dlq_records");
            return 0;
        }
        metrics_count("kafka_errors");
        if (rc == ATC_EINVAL) {
            ATC_ERROR(key, "dead-letter record lost: %s (check the topic %s)", err,
                      jt->ctx->cfg->dlq_topic);
            metrics_count("dlq_records_lost");
            return 0;
        }
        if (retry_stopped(&rt)) {
            ATC_ERROR(key, "dead-letter record not delivered (%s); given up at shutdown, the "
                      "message will come again", err);
            return -1;
        }
        long wait = retry_next(&rt, -1);
        ATC_WARN(key, "dead-letter record not delivered (%s); retrying in %ld ms", err, wait);
        retry_wait(&rt, wait);
    }
}

static void reject(struct job_thread *jt, struct task *t, const struct atc_job_error *jerr)
{
    struct report_fields rf = {0};
    /* The message key is the job id by contract: it names the job when the
     * value is too large or too broken to read one from. */
    const char *id = jerr->id[0] ? jerr->id
                     : t->key && atc_job_id_valid(t->key, strlen(t->key)) ? t->key
                                                                           : NULL;

    ATC_WARN(id, "rejected message at %s[%d]@%lld: %s: %s", t->topic, (int)t->partition,
             (long long)t->offset, jerr->reason, jerr->message);
    if (id) {
        int rc = report_build_rejected(&rf, jerr->reason, jerr->message, jt->ctx->cfg->worker_id,
                                       t->traceparent, atc_clock_wall_ms());
        if (rc == 0)
            rc = write_final(jt, id, "rejected", &rf);
        report_fields_cleanup(&rf);
        if (rc != 0 && rc != ATC_EFINAL)
            return; /* given up at shutdown: the message will come again */
    }
    if (send_dlq(jt, t, id ? id : t->key, jerr->reason, jerr->message) != 0)
        return;
    metrics_job_finished("rejected", jerr->reason);
    t->store = 1;
}

/* Marks the attempt running and reads, in the same round trip, whether a
 * cancel came in while the job was queued (*cancel). Returns the attempt
 * (>= 1), 0 when the result is already final, -1 when given up (shutdown). */
static int start_attempt(struct job_thread *jt, const struct atc_job *job, uint64_t started,
                         int *cancel)
{
    struct report_fields rf = {0};
    char err[512];
    int attempt = 0;
    struct retry rt;

    if (report_add_str(&rf, "worker", jt->ctx->cfg->worker_id) != 0 ||
        report_add_int(&rf, "started_ms", (long long)started) != 0 ||
        (job->submitted_ms && report_add_int(&rf, "submitted_ms", (long long)job->submitted_ms) != 0)) {
        report_fields_cleanup(&rf);
        return -1;
    }
    retry_init(&rt, RETRY_FOREVER, retry_seed(job->id), &jt->ctx->abandon, &jt->ctx->stopping);
    rt.max_exp = JOBS_RETRY_MAX_EXP;
    for (;;) {
        int rc = atc_results_mark_running_cancel(jt->r, job->id, rf.f, rf.n, &attempt, cancel,
                                                 err, sizeof(err));
        if (rc == 0 || rc == ATC_EFINAL) {
            report_fields_cleanup(&rf);
            return rc == 0 ? attempt : 0;
        }
        metrics_count("redis_errors");
        if (retry_stopped(&rt)) {
            report_fields_cleanup(&rf);
            return -1;
        }
        long wait = retry_next(&rt, -1);
        ATC_WARN(job->id, "marking the job running failed (%s); retrying in %ld ms", err, wait);
        retry_wait(&rt, wait);
    }
}

static void set_current(struct job_thread *jt, const char *id)
{
    pthread_mutex_lock(&jt->lock);
    snprintf(jt->job_id, sizeof(jt->job_id), "%s", id ? id : "");
    jt->cancel = 0;
    pthread_mutex_unlock(&jt->lock);
}

/* Fields of a cached result: the verdict of the original, this job's own
 * identity and times. */
static int build_cached(struct report_fields *rf, const struct atc_result *orig,
                        const char *orig_id, const struct report_meta *m)
{
    static const char *const copied[] = {
        "reason", "exit_code", "tests_total", "tests_passed", "tests_failed", "tests_errors",
        "tests_skipped", "tests", "output", "output_truncated", "install_output", "error",
    };
    char *labels = NULL;
    size_t llen = 0;
    int rc = 0;

    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]) && rc == 0; i++) {
        const struct atc_field *f = atc_result_field(orig, copied[i]);
        if (f)
            rc = report_add(rf, f->name, f->value, f->len);
    }
    if (rc == 0)
        rc = report_add_int(rf, "cached", 1);
    if (rc == 0)
        rc = report_add_str(rf, "cached_from", orig_id);
    if (rc == 0)
        rc = report_add_str(rf, "worker", m->worker_id);
    if (rc == 0 && m->job->submitted_ms)
        rc = report_add_int(rf, "submitted_ms", (long long)m->job->submitted_ms);
    if (rc == 0)
        rc = report_add_int(rf, "started_ms", (long long)m->started_ms);
    if (rc == 0)
        rc = report_add_int(rf, "finished_ms", (long long)m->finished_ms);
    if (rc == 0)
        rc = report_add_int(rf, "duration_ms", (long long)(m->finished_ms - m->started_ms));
    if (rc == 0)
        rc = report_pack_labels(m->job->labels, m->job->nlabels, &labels, &llen);
    if (rc == 0)
        rc = report_add(rf, "labels", labels, llen);
    if (rc == 0 && m->traceparent)
        rc = report_add_str(rf, "traceparent", m->traceparent);
    free(labels);
    return rc;
}

/* Answers a job from the cache where an identical job has a final verdict.
 * Returns 1 when answered (t->store set), else 0. */
static int answer_from_cache(struct job_thread *jt, struct task *t, const struct atc_job *job,
                             const char *key, uint64_t started)
{
    char orig_id[ATC_JOB_ID_MAX + 1];
    char err[512];
    struct atc_result *orig = NULL;
    struct report_fields rf = {0};
    int answered = 0;

    if (atc_results_cache_lookup(jt->r, key, orig_id, sizeof(orig_id), err, sizeof(err)) != 0 ||
        strcmp(orig_id, job->id) == 0)
        return 0;
    if (atc_results_get(jt->r, orig_id, &orig, err, sizeof(err)) != 0)
        return 0;
    const char *status = atc_result_str(orig, "status");
    /* Only verdicts on the code are reused; a fleet error must be run again. */
    if (strcmp(status, "passed") == 0 || strcmp(status, "failed") == 0) {
        struct report_meta meta = {
            .job = job,
            .worker_id = jt->ctx->cfg->worker_id,
            .traceparent = t->traceparent,
            .started_ms = started,
            .finished_ms = atc_clock_wall_ms(),
        };
        if (build_cached(&rf, orig, orig_id, &meta) == 0) {
            int rc = write_final(jt, job->id, status, &rf);
            if (rc == 0 || rc == ATC_EFINAL) {
                ATC_INFO(job->id, "answered from the cache: %s, as job %s", status, orig_id);
                metrics_job_finished(status, atc_result_str(orig, "reason"));
                metrics_count("cache_hits");
                t->store = 1;
            }
            answered = 1; /* written, or given up at shutdown: either way not run */
        }
    }
    report_fields_cleanup(&rf);
    atc_result_free(orig);
    return answered;
}

/* Where attempt comes after ATC_MAX_ATTEMPTS attempts that died with their
 * worker: writes the final error/poison (its dead-letter record first) and
 * returns 1 without running it; else 0. A Redis error lets it run: the
 * check is a guard, not a gate. */
static int stop_poison(struct job_thread *jt, struct task *t, const struct atc_job *job,
                       int attempt, uint64_t started)
{
    char status[32], err[512];
    long seen = 0, abandoned = 0;
    long max = (long)jt->ctx->cfg->max_attempts;

    if (!poison_is_poison(attempt, 0, max) ||
        atc_results_job_state(jt->r, job->id, status, sizeof(status), &seen, &abandoned, err,
                              sizeof(err)) != 0 ||
        !poison_is_poison(attempt, abandoned, max))
        return 0;
    struct attempt_outcome out = {.status = "error", .reason = "poison", .fleet_fault = 1,
                              .create_ms = -1, .upload_ms = -1, .install_ms = -1,
                              .test_ms = -1, .delete_ms = -1, .peak_rss = -1, .cpu_ms = -1};
    snprintf(out.error, sizeof(out.error),
             "%ld attempts of this job ended with their worker (killed or crashed) before a "
             "result; it is not run again (ATC_MAX_ATTEMPTS=%ld)",
             poison_dying_attempts(attempt, abandoned), max);
    struct report_meta meta = {.job = job, .worker_id = jt->ctx->cfg->worker_id,
                               .traceparent = t->traceparent, .attempt = attempt,
                               .started_ms = started, .finished_ms = atc_clock_wall_ms()};
    struct report_fields rf = {0};
    ATC_ERROR(job->id, "poison: %s", out.error);
    if (report_build_final(&rf, &meta, &out) == 0 &&
        send_dlq(jt, t, job->id, out.reason, out.error) == 0) {
        int rc = write_final(jt, job->id, out.status, &rf);
        if (rc == 0 || rc == ATC_EFINAL) {
            metrics_job_finished(out.status, out.reason);
            t->store = 1;
        }
    }
    report_fields_cleanup(&rf);
    return 1;
}

static void run_task(struct jobs_ctx *ctx, struct job_thread *jt, struct task *t);

/* The stop test of a job's environment wait: abandoned or cancelled. */
static int job_stop(void *arg)
{
    struct job_thread *jt = arg;
    return jt->ctx->abandon || jt->cancel;
}

void jobs_run_task(void *vctx, void *state, struct task *t)
{
    metrics_inflight_add(1);
    run_task(vctx, state, t);
    metrics_inflight_add(-1);
}

static void run_task(struct jobs_ctx *ctx, struct job_thread *jt, struct task *t)
{
    struct atc_job *job = NULL;
    struct atc_job_error jerr;
    struct attempt_outcome out;
    struct report_fields rf = {0};
    char cache_key[65] = "";
    char err[512];

    t->store = 0;
    if (ctx->abandon)
        return;
    metrics_count("messages_received");
    if (atc_job_decode(t->value, t->len, (size_t)ctx->cfg->max_job_bytes, &job, &jerr) != 0) {
        reject(jt, t, &jerr);
        return;
    }
    if (atc_job_check_caps(job, (unsigned)ctx->cfg->max_cpu, (unsigned)ctx->cfg->max_memory_gib,
                           (unsigned)ctx->cfg->max_disk_gib, jerr.message,
                           sizeof(jerr.message)) != 0) {
        /* More than this fleet gives one sandbox: rejected like a bad message. */
        jerr.reason = "bad_message";
        snprintf(jerr.id, sizeof(jerr.id), "%s", job->id);
        reject(jt, t, &jerr);
        goto out;
    }
    uint64_t started = atc_clock_wall_ms();
    if (job->cache &&
        atc_job_cache_key(job, ctx->cfg->sandbox_snapshot, (unsigned)ctx->cfg->max_timeout_s,
                          cache_key) == 0 &&
        answer_from_cache(jt, t, job, cache_key, started))
        goto out;
    int asked = 0;
    int attempt = start_attempt(jt, job, started, &asked);
    if (attempt < 0)
        goto out;
    if (attempt == 0) {
        ATC_INFO(job->id, "skipped: the result is already final (a redelivered or cancelled job)");
        metrics_count("duplicates_skipped");
        t->store = 1;
        goto out;
    }
    if (stop_poison(jt, t, job, attempt, started))
        goto out;
    set_current(jt, job->id);
    ATC_INFO(job->id, "started attempt %d from %s[%d]@%lld (%zu files, %zu deps)", attempt,
             t->topic, (int)t->partition, (long long)t->offset, job->nfiles, job->ndeps);
    /* A cancel that came in while the job was queued here stops it before it starts. */
    if (asked)
        jt->cancel = 1;

    struct attempt_params params = ctx->attempt;
    params.on_sandbox = on_sandbox;
    params.on_sandbox_arg = jt;
    params.cancel = &jt->cancel;
    /* A job with deps: its environment first (built or waited for without a
     * sandbox). A stop meanwhile is seen again by attempt_run. */
    struct envs_job env;
    envs_prepare(&ctx->envs, jt->d, jt->r, job, job_stop, jt, &env);
    params.env = &env;
    attempt_run(jt->d, &params, job, attempt, &out);
    if (out.env_freeze && out.env_freeze_new)
        envs_store_freeze(jt->r, &env, out.env_freeze);
    env.lost = out.env_lost;
    envs_finish(&ctx->envs, jt->d, jt->r, job, &env);
    envs_job_cleanup(&env);
    if (!out.status) {
        ATC_WARN(job->id, "abandoned at shutdown; another worker will run it");
        /* Not a death: the poison count leaves it out. */
        if (atc_results_count_abandoned(jt->r, job->id, err, sizeof(err)) != 0)
            ATC_WARN(job->id, "could not count the abandoned attempt: %s", err);
        attempt_outcome_cleanup(&out);
        goto out;
    }
    struct report_meta meta = {
        .job = job,
        .worker_id = ctx->cfg->worker_id,
        .traceparent = t->traceparent,
        .attempt = attempt,
        .started_ms = started,
        .finished_ms = atc_clock_wall_ms(),
    };
    if (report_build_final(&rf, &meta, &out) != 0) {
        ATC_ERROR(job->id, "out of memory building the result");
        attempt_outcome_cleanup(&out);
        goto out;
    }
    /* A fleet fault's dead-letter record goes first: once the final result
     * is written, a redelivered message is skipped and could not send it. */
    if (out.fleet_fault && send_dlq(jt, t, job->id, out.reason, out.error) != 0) {
        attempt_outcome_cleanup(&out);
        goto out;
    }
    int rc = write_final(jt, job->id, out.status, &rf);
    if (rc == 0 || rc == ATC_EFINAL) {
        if (rc == ATC_EFINAL)
            ATC_INFO(job->id, "another attempt wrote the final result first");
        ATC_INFO(job->id, "finished: %s (%s) in %llu ms%s%s", out.status, out.reason,
                 (unsigned long long)(meta.finished_ms - started), out.error[0] ? ": " : "",
                 out.error);
        if (rc == 0 && cache_key[0] &&
            (strcmp(out.status, "passed") == 0 || strcmp(out.status, "failed") == 0) &&
            atc_results_cache_store(jt->r, cache_key, job->id, (long)ctx->cfg->result_ttl_s, err,
                                    sizeof(err)) != 0)
            ATC_WARN(job->id, "could not remember the result in the cache: %s", err);
        metrics_job_finished(out.status, out.reason);
        metrics_observe_ms(METRICS_PHASE_CREATE, out.create_ms);
        metrics_observe_ms(METRICS_PHASE_UPLOAD, out.upload_ms);
        metrics_observe_ms(METRICS_PHASE_INSTALL, out.install_ms);
        metrics_observe_ms(METRICS_PHASE_TEST, out.test_ms);
        metrics_observe_ms(METRICS_PHASE_DELETE, out.delete_ms);
        metrics_observe_ms(METRICS_PHASE_JOB, (long)(meta.finished_ms - started));
        t->store = 1;
    }
    attempt_outcome_cleanup(&out);
out:
    set_current(jt, NULL);
    report_fields_cleanup(&rf);
    atc_job_free(job);
}
