/* metrics.c: counters, gauges and histograms behind /metrics. */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SERIES 256

static const double bucket_s[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900};
#define NBUCKETS (sizeof(bucket_s) / sizeof(bucket_s[0]))
static const char *const phase_names[METRICS_PHASES] = {"create", "upload", "install", "test",
                                                        "delete", "job"};

struct series {
    char a[48], b[48];      /* label values */
    long long n;
};

struct hist {
    long long buckets[NBUCKETS];
    long long count;
    double sum_s;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct series jobs[MAX_SERIES];
static size_t njobs;
static struct series counters[32];
static size_t ncounters;
static struct series calls[MAX_SERIES];
static size_t ncalls;
static struct series lags[MAX_SERIES]; /* a = topic, b = partition, n = lag */
static size_t nlags;
static struct hist hists[METRICS_PHASES];
static long long inflight;
static long long waiting;
static long long not_fetching;
static long long concurrency;
static int ready, breaker_open;
static long long sandboxes_live;

/* Counters shown from the start, at zero, so that rate() and alerts see them. */
static const char *const known_counters[] = {
    "messages_received", "retries", "redis_errors", "dlq_records", "dlq_records_lost",
    "duplicates_skipped",
    "sandboxes_reaped", "sandbox_deletes_deferred", "kafka_errors", "cache_hits",
    "sandboxes_orphaned",
    "env_hits", "env_waits", "env_builds", "env_builds_failed", "env_failed_known",
    "env_fallbacks", "env_dropped",
};

void metrics_init(void)
{
    pthread_mutex_lock(&lock);
    njobs = ncounters = ncalls = nlags = 0;
    memset(hists, 0, sizeof(hists));
    inflight = 0;
    waiting = 0;
    not_fetching = 0;
    concurrency = 0;
    ready = breaker_open = 0;
    sandboxes_live = 0;
    for (size_t i = 0; i < sizeof(known_counters) / sizeof(known_counters[0]); i++) {
        snprintf(counters[i].a, sizeof(counters[i].a), "%s", known_counters[i]);
        counters[i].b[0] = '\0';
        counters[i].n = 0;
        ncounters++;
    }
    pthread_mutex_unlock(&lock);
}

/* Finds or adds the series (a, b) in arr; NULL when full. Lock held. */
void metrics_label_escape(const char *in, char *out, size_t outlen)
{
    size_t o = 0;

    if (outlen == 0)
        return;
    for (; *in; in++) {
        const char *rep = *in == '\\' ? "\\\\" : *in == '"' ? "\\\"" : *in == '\n' ? "\\n" : NULL;
        size_t k = rep ? 2 : 1;
        if (o + k + 1 > outlen)
            break; /* cut before an escape, never inside one */
        if (rep) {
            out[o++] = rep[0];
            out[o++] = rep[1];
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

/* The series of label values (a, b), stored escaped for the exposition format
 * (a value from a message or a reply cannot break a line of /metrics). */
static struct series *series_at(struct series *arr, size_t *n, size_t cap, const char *raw_a,
                                const char *raw_b)
{
    char a[sizeof(arr->a)], b[sizeof(arr->b)];
    metrics_label_escape(raw_a, a, sizeof(a));
    metrics_label_escape(raw_b, b, sizeof(b));
    for (size_t i = 0; i < *n; i++)
        if (strcmp(arr[i].a, a) == 0 && strcmp(arr[i].b, b) == 0)
            return &arr[i];
    if (*n == cap)
        return NULL;
    struct series *s = &arr[(*n)++];
    snprintf(s->a, sizeof(s->a), "%s", a);
    snprintf(s->b, sizeof(s->b), "%s", b);
    s->n = 0;
    return s;
}

void metrics_job_finished(const char *status, const char *reason)
{
    pthread_mutex_lock(&lock);
    struct series *s = series_at(jobs, &njobs, MAX_SERIES, status, reason ? reason : "");
    if (s)
        s->n++;
    pthread_mutex_unlock(&lock);
}

void metrics_observe_ms(enum metrics_phase phase, long ms)
{
    if (ms < 0 || phase >= METRICS_PHASES)
        return;
    double s = (double)ms / 1000.0;
    pthread_mutex_lock(&lock);
    struct hist *h = &hists[phase];
    for (size_t i = 0; i < NBUCKETS; i++)
        if (s <= bucket_s[i])
            h->buckets[i]++;
    h->count++;
    h->sum_s += s;
    pthread_mutex_unlock(&lock);
}

void metrics_inflight_add(int delta)
{
    pthread_mutex_lock(&lock);
    inflight += delta;
    pthread_mutex_unlock(&lock);
}

void metrics_set_not_fetching(long long n)
{
    pthread_mutex_lock(&lock);
    not_fetching = n;
    pthread_mutex_unlock(&lock);
}

void metrics_set_waiting(long long n)
{
    pthread_mutex_lock(&lock);
    waiting = n;
    pthread_mutex_unlock(&lock);
}

void metrics_count(const char *counter)
{
    pthread_mutex_lock(&lock);
    struct series *s = series_at(counters, &ncounters, sizeof(counters) / sizeof(counters[0]),
                                 counter, "");
    if (s)
        s->n++;
    pthread_mutex_unlock(&lock);
}

void metrics_set_lag(const char *topic, int32_t partition, int64_t lag)
{
    char p[16];
    snprintf(p, sizeof(p), "%d", (int)partition);
    pthread_mutex_lock(&lock);
    struct series *s = series_at(lags, &nlags, MAX_SERIES, topic, p);
    if (s)
        s->n = lag;
    pthread_mutex_unlock(&lock);
}

void metrics_clear_lag(void)
{
    pthread_mutex_lock(&lock);
    nlags = 0;
    pthread_mutex_unlock(&lock);
}

void metrics_sandbox_call(const char *endpoint, long status)
{
    char code[16];
    snprintf(code, sizeof(code), "%ld", status);
    pthread_mutex_lock(&lock);
    struct series *s = series_at(calls, &ncalls, MAX_SERIES, endpoint, code);
    if (s)
        s->n++;
    if (strcmp(endpoint, "create") == 0 && status >= 200 && status < 300)
        sandboxes_live++;
    else if (strcmp(endpoint, "delete") == 0 && status >= 200 && status < 300)
        sandboxes_live--; /* a 404: someone else deleted it, and counted that */
    pthread_mutex_unlock(&lock);
}

void metrics_sandbox_not_ours(void)
{
    pthread_mutex_lock(&lock);
    sandboxes_live++;
    pthread_mutex_unlock(&lock);
}

void metrics_set_state(long long conc, int is_ready, int is_open)
{
    pthread_mutex_lock(&lock);
    concurrency = conc;
    ready = is_ready;
    breaker_open = is_open;
    pthread_mutex_unlock(&lock);
}

struct buf {
    char *p;
    size_t len, cap;
    int failed;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 8192;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

int metrics_render(char **out, size_t *len)
{
    struct buf b = {0};

    pthread_mutex_lock(&lock);
    put(&b, "# HELP atc_jobs_total Jobs that reached a final status, by status and reason.\n"
            "# TYPE atc_jobs_total counter\n");
    for (size_t i = 0; i < njobs; i++)
        put(&b, "atc_jobs_total{status=\"%s\",reason=\"%s\"} %lld\n", jobs[i].a, jobs[i].b,
            jobs[i].n);
    put(&b, "# HELP atc_jobs_in_flight Jobs being run by this process.\n"
            "# TYPE atc_jobs_in_flight gauge\natc_jobs_in_flight %lld\n", inflight);
    put(&b, "# HELP atc_jobs_waiting Messages fetched and held for the job threads, not started "
            "(not in atc_consumer_lag).\n"
            "# TYPE atc_jobs_waiting gauge\natc_jobs_waiting %lld\n", waiting);
    put(&b, "# HELP atc_partitions_not_fetching Partitions assigned to this process whose fetch "
            "has not been active for a minute (their jobs wait; no consumer lag shows them).\n"
            "# TYPE atc_partitions_not_fetching gauge\natc_partitions_not_fetching %lld\n",
        not_fetching);
    put(&b, "# HELP atc_concurrency Jobs this process may run at once (ATC_CONCURRENCY).\n"
            "# TYPE atc_concurrency gauge\natc_concurrency %lld\n", concurrency);
    put(&b, "# HELP atc_ready 1 while the worker is ready: in its consumer group, Redis "
            "answering, not stopping (as /readyz).\n"
            "# TYPE atc_ready gauge\natc_ready %d\n", ready);
    put(&b, "# HELP atc_breaker_open 1 while the circuit breaker holds back sandbox creates.\n"
            "# TYPE atc_breaker_open gauge\natc_breaker_open %d\n", breaker_open);
    put(&b, "# HELP atc_sandboxes_live Sandboxes created minus sandboxes deleted by this "
            "process; summed over the fleet, the sandboxes alive.\n"
            "# TYPE atc_sandboxes_live gauge\natc_sandboxes_live %lld\n", sandboxes_live);
    put(&b, "# HELP atc_phase_duration_seconds Time per phase of a job, and of the whole job.\n"
            "# TYPE atc_phase_duration_seconds histogram\n");
    for (int ph = 0; ph < METRICS_PHASES; ph++) {
        for (size_t i = 0; i < NBUCKETS; i++)
            put(&b, "atc_phase_duration_seconds_bucket{phase=\"%s\",le=\"%g\"} %lld\n",
                phase_names[ph], bucket_s[i], hists[ph].buckets[i]);
        put(&b, "atc_phase_duration_seconds_bucket{phase=\"%s\",le=\"+Inf\"} %lld\n",
            phase_names[ph], hists[ph].count);
        put(&b, "atc_phase_duration_seconds_sum{phase=\"%s\"} %.3f\n", phase_names[ph],
            hists[ph].sum_s);
        put(&b, "atc_phase_duration_seconds_count{phase=\"%s\"} %lld\n", phase_names[ph],
            hists[ph].count);
    }
    put(&b, "# HELP atc_sandbox_api_calls_total Calls to the sandbox service by endpoint and HTTP status (0: no response).\n"
            "# TYPE atc_sandbox_api_calls_total counter\n");
    for (size_t i = 0; i < ncalls; i++)
        put(&b, "atc_sandbox_api_calls_total{endpoint=\"%s\",code=\"%s\"} %lld\n", calls[i].a,
            calls[i].b, calls[i].n);
    put(&b, "# HELP atc_consumer_lag Messages behind the end of each assigned partition.\n"
            "# TYPE atc_consumer_lag gauge\n");
    for (size_t i = 0; i < nlags; i++)
        put(&b, "atc_consumer_lag{topic=\"%s\",partition=\"%s\"} %lld\n", lags[i].a, lags[i].b,
            lags[i].n);
    for (size_t i = 0; i < ncounters; i++)
        put(&b, "# TYPE atc_%s_total counter\natc_%s_total %lld\n", counters[i].a,
            counters[i].a, counters[i].n);
    pthread_mutex_unlock(&lock);
    if (b.failed) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
