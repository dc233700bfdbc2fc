/* jobs.c: the life of one message on a job thread. */
#include "jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/daytona.h"
#include "atc/error.h"
#include "atc/log.h"
#include "atc/results.h"
#include "metrics.h"
#include "report.h"
#include "verdict.h"

struct job_thread {
    struct jobs_ctx *ctx;
    struct atc_daytona *d;
    struct atc_results *r;
    pthread_mutex_t lock;
    char sandbox[128];      /* the sandbox in use, or "" */
};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static struct atc_daytona *daytona_from(const struct worker_settings *cfg, char *err, size_t errlen)
{
    struct atc_daytona_opts o = {
        .api_url = cfg->daytona_api_url,
        .api_key = cfg->daytona_api_key,
        .target = *cfg->daytona_target ? cfg->daytona_target : NULL,
    };
    return atc_daytona_new(&o, err, errlen);
}

void jobs_ctx_init(struct jobs_ctx *ctx, const struct worker_settings *cfg, struct dlq *dlq)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->cfg = cfg;
    ctx->dlq = dlq;
    ctx->run = (struct run_params){
        .group = cfg->group,
        .worker_id = cfg->worker_id,
        .default_snapshot = cfg->sandbox_snapshot,
        .max_timeout_s = (unsigned)cfg->max_timeout_s,
        .install_timeout_s = (unsigned)cfg->install_timeout_s,
        .create_timeout_s = (unsigned)cfg->sandbox_create_timeout_s,
        .max_output_bytes = (size_t)cfg->max_output_bytes,
        .retry_max = (int)cfg->retry_max,
        .abandon = &ctx->abandon,
    };
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
    jt->d = daytona_from(ctx->cfg, err, sizeof(err));
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

void jobs_abandon_sandbox(void *vctx, void *state)
{
    struct jobs_ctx *ctx = vctx;
    struct job_thread *jt = state;
    char id[128], err[512];

    pthread_mutex_lock(&jt->lock);
    snprintf(id, sizeof(id), "%s", jt->sandbox);
    pthread_mutex_unlock(&jt->lock);
    if (!id[0])
        return;
    /* The job thread is blocked on its own handle: use a fresh one. */
    struct atc_daytona *d = daytona_from(ctx->cfg, err, sizeof(err));
    if (!d || atc_daytona_delete(d, id, err, sizeof(err)) != 0)
        ATC_ERROR(NULL, "abandoning sandbox %s: %s", id, err);
    else
        ATC_WARN(NULL, "deleted sandbox %s of an abandoned job", id);
    atc_daytona_destroy(d);
}

/* Retries a Redis write until it lands or the shutdown gives the job up: an
 * offset is never stored for a job whose result is not in Redis. */
static int write_final(struct job_thread *jt, const char *id, const char *status,
                       const struct report_fields *rf)
{
    char err[512];
    for (int tries = 1;; tries++) {
        int rc = atc_results_write_final(jt->r, id, status, rf->f, rf->n,
                                         (long)jt->ctx->cfg->result_ttl_s, err, sizeof(err));
        if (rc == 0 || rc == ATC_EFINAL)
            return rc;
        metrics_count("redis_errors");
        if (jt->ctx->abandon)
            return rc;
        long wait = verdict_backoff_ms(tries < 6 ? tries : 6, -1, (unsigned)rand());
        ATC_WARN(id, "writing the result failed (%s); retrying in %ld ms", err, wait);
        sleep_ms(wait);
    }
}

static void send_dlq(struct job_thread *jt, struct task *t, const char *key, const char *reason,
                     const char *error)
{
    char err[512];
    struct dlq_record rec = {
        .reason = reason,
        .error = error,
        .worker = jt->ctx->cfg->worker_id,
        .ts_ms = wall_ms(),
        .topic = t->topic,
        .partition = t->partition,
        .offset = t->offset,
        .original = t->value,
        .original_len = t->len,
    };
    if (dlq_send(jt->ctx->dlq, key, &rec, err, sizeof(err)) != 0)
        ATC_ERROR(key, "dead-letter record not delivered: %s", err);
    else
        metrics_count("dlq_records");
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
                                       t->traceparent, wall_ms());
        if (rc == 0)
            rc = write_final(jt, id, "rejected", &rf);
        report_fields_cleanup(&rf);
        if (rc != 0 && rc != ATC_EFINAL)
            return; /* given up at shutdown: the message will come again */
    }
    send_dlq(jt, t, id ? id : t->key, jerr->reason, jerr->message);
    metrics_job_finished("rejected", jerr->reason);
    t->store = 1;
}

/* Marks the attempt running. Returns the attempt (>= 1), 0 when the result is
 * already final, -1 when given up (shutdown). */
static int start_attempt(struct job_thread *jt, const struct atc_job *job, uint64_t started)
{
    struct report_fields rf = {0};
    char err[512];
    int attempt = 0;

    if (report_add_str(&rf, "worker", jt->ctx->cfg->worker_id) != 0 ||
        report_add_int(&rf, "started_ms", (long long)started) != 0 ||
        (job->submitted_ms && report_add_int(&rf, "submitted_ms", (long long)job->submitted_ms) != 0)) {
        report_fields_cleanup(&rf);
        return -1;
    }
    for (int tries = 1;; tries++) {
        int rc = atc_results_mark_running(jt->r, job->id, rf.f, rf.n, &attempt, err, sizeof(err));
        if (rc == 0 || rc == ATC_EFINAL) {
            report_fields_cleanup(&rf);
            return rc == 0 ? attempt : 0;
        }
        metrics_count("redis_errors");
        if (jt->ctx->abandon || jt->ctx->stopping) {
            report_fields_cleanup(&rf);
            return -1;
        }
        long wait = verdict_backoff_ms(tries < 6 ? tries : 6, -1, (unsigned)rand());
        ATC_WARN(job->id, "marking the job running failed (%s); retrying in %ld ms", err, wait);
        sleep_ms(wait);
    }
}

void jobs_run_task(void *vctx, void *state, struct task *t)
{
    struct jobs_ctx *ctx = vctx;
    struct job_thread *jt = state;
    struct atc_job *job = NULL;
    struct atc_job_error jerr;
    struct run_outcome out;
    struct report_fields rf = {0};

    t->store = 0;
    if (ctx->abandon)
        return;
    metrics_count("messages_received");
    if (atc_job_decode(t->value, t->len, (size_t)ctx->cfg->max_job_bytes, &job, &jerr) != 0) {
        reject(jt, t, &jerr);
        return;
    }
    uint64_t started = wall_ms();
    int attempt = start_attempt(jt, job, started);
    if (attempt < 0)
        goto out;
    if (attempt == 0) {
        ATC_INFO(job->id, "skipped: the result is already final (a redelivered job)");
        metrics_count("duplicates_skipped");
        t->store = 1;
        goto out;
    }
    ATC_INFO(job->id, "started attempt %d from %s[%d]@%lld (%zu files, %zu deps)", attempt,
             t->topic, (int)t->partition, (long long)t->offset, job->nfiles, job->ndeps);

    struct run_params params = ctx->run;
    params.on_sandbox = on_sandbox;
    params.on_sandbox_arg = jt;
    run_job(jt->d, &params, job, attempt, &out);
    if (!out.status) {
        ATC_WARN(job->id, "abandoned at shutdown; another worker will run it");
        run_outcome_cleanup(&out);
        goto out;
    }
    struct report_meta meta = {
        .job = job,
        .worker_id = ctx->cfg->worker_id,
        .traceparent = t->traceparent,
        .attempt = attempt,
        .started_ms = started,
        .finished_ms = wall_ms(),
    };
    if (report_build_final(&rf, &meta, &out) != 0) {
        ATC_ERROR(job->id, "out of memory building the result");
        run_outcome_cleanup(&out);
        goto out;
    }
    int rc = write_final(jt, job->id, out.status, &rf);
    if (rc == 0 || rc == ATC_EFINAL) {
        if (rc == ATC_EFINAL)
            ATC_INFO(job->id, "another attempt wrote the final result first");
        ATC_INFO(job->id, "finished: %s (%s) in %llu ms%s%s", out.status, out.reason,
                 (unsigned long long)(meta.finished_ms - started), out.error[0] ? ": " : "",
                 out.error);
        if (out.fleet_fault && rc == 0)
            send_dlq(jt, t, job->id, out.reason, out.error);
        metrics_job_finished(out.status, out.reason);
        metrics_observe_ms(METRICS_PHASE_CREATE, out.create_ms);
        metrics_observe_ms(METRICS_PHASE_UPLOAD, out.upload_ms);
        metrics_observe_ms(METRICS_PHASE_INSTALL, out.install_ms);
        metrics_observe_ms(METRICS_PHASE_TEST, out.test_ms);
        metrics_observe_ms(METRICS_PHASE_DELETE, out.delete_ms);
        metrics_observe_ms(METRICS_PHASE_JOB, (long)(meta.finished_ms - started));
        if (out.tries > 1)
            for (int i = 1; i < out.tries; i++)
                metrics_count("retries");
        t->store = 1;
    }
    run_outcome_cleanup(&out);
out:
    report_fields_cleanup(&rf);
    atc_job_free(job);
}
