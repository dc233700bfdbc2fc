/* atc-load.c: the benchmarks' load generator: submits N small jobs through libatc
 * from T threads, as fast as the broker acknowledges them or paced at R jobs/s. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/client.h"
#include "atc/error.h"
#include "atc/job.h"

struct load_opts {
    long count;
    long threads;
    double rate;       /* jobs/s over all threads; 0: as fast as possible */
    const char *prefix;
    const char *cmd;
    const char *file_body;
};

struct load_thread {
    const struct load_opts *o;
    long first, n;     /* this thread submits ids first .. first+n-1 */
    long index;        /* its number, to stagger paced submits */
    long done, failed;
    char err[512];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
    double left = t - now_s();
    if (left <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)left, .tv_nsec = (long)((left - (double)(time_t)left) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void *load_run(void *arg)
{
    struct load_thread *lt = arg;
    const struct load_opts *o = lt->o;
    char *props[] = {"linger.ms=0"};
    struct atc_client_opts copts = {.kafka_props = props, .nkafka_props = 1};
    struct atc_client *c = atc_client_new(&copts, lt->err, sizeof(lt->err));
    char id[ATC_JOB_ID_MAX + 1];
    char id_out[ATC_JOB_ID_MAX + 1];
    char err[512];

    if (!c) {
        lt->failed = lt->n;
        return NULL;
    }
    struct atc_job_file file = {.path = "tool.py", .data = (unsigned char *)o->file_body,
                                .len = strlen(o->file_body)};
    double per = o->rate > 0 ? 1.0 / o->rate : 0;
    double t0 = now_s();
    for (long i = 0; i < lt->n; i++) {
        if (per > 0)
            sleep_until(t0 + per * (double)(i * o->threads + lt->index));
        snprintf(id, sizeof(id), "%s-%07ld", o->prefix, lt->first + i);
        struct atc_job job = {.v = ATC_JOB_VERSION, .id = id, .files = &file, .nfiles = 1,
                              .cmd = (char *)o->cmd};
        int rc = atc_client_submit(c, &job, NULL, id_out, sizeof(id_out), err, sizeof(err));
        if (rc != 0) {
            lt->failed++;
            snprintf(lt->err, sizeof(lt->err), "%s", err);
        } else {
            lt->done++;
        }
    }
    atc_client_destroy(c);
    return NULL;
}

static int parse_long(const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0)
        return -1;
    *out = v;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: atc-load --count N [--threads T] [--rate JOBS_PER_S] [--prefix P]\n"
                    "                [--cmd CMD] [--body TEXT]\n"
                    "Submits N jobs (id P-0000000..., one file tool.py, the given cmd) to\n"
                    "ATC_BROKERS / ATC_JOBS_TOPIC, result 'queued' to ATC_REDIS_URL.\n");
}

int main(int argc, char **argv)
{
    struct load_opts o = {.count = 100, .threads = 4, .rate = 0, .prefix = "bench",
                          .cmd = "true", .file_body = "x = 1\n"};
    struct load_thread *lts = NULL;
    pthread_t *tids = NULL;
    long done = 0, failed = 0;
    int rc = 2;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            usage();
            return 0;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--count") == 0) {
            if (parse_long(v, &o.count) != 0)
                goto bad;
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_long(v, &o.threads) != 0 || o.threads < 1 || o.threads > 256)
                goto bad;
        } else if (strcmp(a, "--rate") == 0) {
            char *end = NULL;
            o.rate = strtod(v, &end);
            if (end == v || *end != '\0' || o.rate < 0)
                goto bad;
        } else if (strcmp(a, "--prefix") == 0) {
            o.prefix = v;
        } else if (strcmp(a, "--cmd") == 0) {
            o.cmd = v;
        } else if (strcmp(a, "--body") == 0) {
            o.file_body = v;
        } else {
            goto bad;
        }
    }
    if (o.threads > o.count && o.count > 0)
        o.threads = o.count;
    lts = calloc((size_t)o.threads, sizeof(*lts));
    tids = calloc((size_t)o.threads, sizeof(*tids));
    if (!lts || !tids) {
        fprintf(stderr, "atc-load: out of memory\n");
        rc = 1;
        goto out;
    }
    double t0 = now_s();
    long next = 0;
    for (long t = 0; t < o.threads; t++) {
        long n = o.count / o.threads + (t < o.count % o.threads ? 1 : 0);
        lts[t] = (struct load_thread){.o = &o, .first = next, .n = n, .index = t};
        next += n;
        if (pthread_create(&tids[t], NULL, load_run, &lts[t]) != 0) {
            fprintf(stderr, "atc-load: cannot start a thread\n");
            rc = 1;
            for (long j = 0; j < t; j++)
                pthread_join(tids[j], NULL);
            goto out;
        }
    }
    for (long t = 0; t < o.threads; t++) {
        pthread_join(tids[t], NULL);
        done += lts[t].done;
        failed += lts[t].failed;
        if (lts[t].failed)
            fprintf(stderr, "atc-load: thread %ld: %s\n", t, lts[t].err);
    }
    double took = now_s() - t0;
    printf("submitted %ld failed %ld in %.3f s (%.1f jobs/s)\n", done, failed, took,
           took > 0 ? (double)done / took : 0.0);
    rc = failed ? 1 : 0;
out:
    free(lts);
    free(tids);
    return rc;
bad:
    fprintf(stderr, "atc-load: bad value for an option\n");
    usage();
    return 2;
}
