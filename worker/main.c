/* main.c: atc-worker: configuration, start-up, the main loop and the shutdown
 * order (stop taking work, finish or abandon jobs, store offsets, close).
 *
 * A job's way through the worker, file by file (docs/worker.md has the steps):
 *
 *   Kafka    consumer.c  the main thread polls the jobs topic; pauses the
 *                        partitions when the backlog (backlog.c) is full
 *   message  task.h      each message copied out of librdkafka, queued to the
 *                        job threads (pool.c)
 *            jobs.c      on a job thread: decode it (atc/job.h), answer from
 *                        the cache, mark it running, reject it (dlq.c)...
 *   attempt  attempt.c   ...or run it in a Daytona sandbox: create, upload,
 *                        install, test, delete (daytona_client.c, verdict.c;
 *                        retries in retry.c, breaker.c)
 *            runner.c    what goes into the sandbox beside the job's files
 *                        (.atc/run.sh and its helpers, .atc/env from
 *                        envfile.c, the pytest plugin) and the line that runs it
 *   report   report.c    the attempt's outcome as the result's fields
 *   result   jobs.c      the one final write to Redis (atc/results.h)
 *   offset   offsets.c   the offset below which every job is final, stored
 *                        by consumer.c when the task comes back
 *
 * Beside the flow: reaper.c and liveness.c (sandboxes left behind), cancels.c
 * (the producers' cancel nudges, finalised here), http.c and metrics.c
 * (/healthz, /readyz, /metrics), settings.c (the configuration table). */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atc/clock.h"
#include "atc/doctor.h"
#include "atc/error.h"
#include "atc/kafka.h"
#include "atc/log.h"
#include "atc/results.h"
#include "liveness.h"
#include "cancels.h"
#include "atc/sha256.h"
#include "consumer.h"
#include "dlq.h"
#include "http.h"
#include "jobs.h"
#include "metrics.h"
#include "pool.h"
#include "reaper.h"
#include "settings.h"

static volatile sig_atomic_t stop_signals;

/* After the grace period and the abandon, how long job threads get to notice
 * and return before the worker closes the consumer without them. */
#define ABANDON_WAIT_MS 30000

static void log_still_running(void *arg, const struct task *t)
{
    ATC_WARN(NULL, "still running after the abandon: the job from %s[%d]@%lld; its offset is not "
             "stored", t->topic, (int)t->partition, (long long)t->offset);
}

static void on_signal(int sig)
{
    if (stop_signals++ > 0)
        _exit(128 + sig); /* a second signal: exit at once */
}

static rd_kafka_conf_t *kafka_conf(const struct worker_settings *cfg, char **xprops, size_t nx,
                                   char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (atc_kafka_conf_apply(conf, cfg->brokers, xprops, nx, err, errlen) != 0 ||
        rd_kafka_conf_set(conf, "client.id", cfg->worker_id, err, errlen) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

static void print_check(void *arg, const struct atc_doctor_check *c)
{
    char line[2048];
    (void)arg;
    atc_doctor_format_line(c, line, sizeof(line));
    printf("%s\n", line);
}

/* --check: the checks of atc doctor with this worker's configuration. */
static int worker_check(const struct worker_settings *cfg, char **xprops, size_t nx,
                        const char *desc, volatile sig_atomic_t *stop)
{
    struct atc_doctor_report *report = malloc(sizeof(*report));
    struct atc_doctor_config dc = {
        .brokers = cfg->brokers,
        .xprops = xprops,
        .nxprops = nx,
        .jobs_topic = cfg->jobs_topic,
        .dlq_topic = cfg->dlq_topic,
        .group = cfg->group,
        .redis_url = cfg->redis_url,
        .daytona_api_url = cfg->daytona_api_url,
        .daytona_api_key = cfg->daytona_api_key,
        .daytona_target = cfg->daytona_target,
        .snapshot = cfg->sandbox_snapshot,
        .worker_id = cfg->worker_id,
        .config_line = desc,
        .timeout_ms = 10000,
        .stop = stop,
    };
    if (report == NULL)
        return 1;
    int status = atc_doctor_run(&dc, report, print_check, NULL);
    const char *problem = atc_doctor_problem(report);
    if (status != 0)
        printf("problem: %s\n", problem ? problem : "interrupted before every check had run");
    else
        printf("all checks passed\n");
    free(report);
    return status;
}

int main(int argc, char **argv)
{
    struct worker_settings cfg;
    char **xprops = NULL;
    size_t nx = 0;
    char err[1024];
    char desc[4096];
    struct dlq *dlq = NULL;
    struct pool *pool = NULL;
    struct consumer *cons = NULL;
    struct http_server *http = NULL;
    struct reaper *reaper = NULL;
    struct atc_results *redis = NULL;
    struct jobs_ctx ctx;
    int ctx_ready = 0;
    struct http_state hs = {0};
    int rc;
    int status = 1;
    size_t stuck = 0; /* job threads that did not return after the abandon */

    setvbuf(stdout, NULL, _IOLBF, 0);
    xprops = calloc((size_t)argc + 1, sizeof(*xprops));
    if (!xprops)
        return 1;
    rc = worker_settings_load(&cfg, argc, argv, xprops, &nx, err, sizeof(err));
    if (rc == 1) {
        worker_settings_cleanup(&cfg);
        free(xprops);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "atc-worker: %s\n", err);
        worker_settings_cleanup(&cfg);
        free(xprops);
        return 2;
    }
    /* Read: the secrets leave the environment (and /proc/<pid>/environ). */
    atc_config_scrub_secrets(worker_settings_table, worker_settings_count);
    /* Kafka properties the worker cannot run with are configuration errors too. */
    rd_kafka_conf_t *probe = kafka_conf(&cfg, xprops, nx, err, sizeof(err));
    if (!probe || consumer_check_conf(probe, err, sizeof(err)) != 0) {
        fprintf(stderr, "atc-worker: %s\n", err);
        if (probe)
            rd_kafka_conf_destroy(probe);
        worker_settings_cleanup(&cfg);
        free(xprops);
        return 2;
    }
    rd_kafka_conf_destroy(probe);
    atc_log_init((enum atc_log_level)atc_log_level_parse(cfg.log_level),
                 (enum atc_log_format)atc_log_format_parse(cfg.log_format), cfg.worker_id);
    atc_config_describe(worker_settings_table, worker_settings_count, &cfg, desc, sizeof(desc));
    ATC_INFO(NULL, "starting atc-worker: %s", desc);
    if (cfg.dotenv.nfiles > 0)
        ATC_INFO(NULL, "read %s%s%s: %zu variable(s) set", cfg.dotenv.files[0],
                 cfg.dotenv.nfiles > 1 ? " and " : "", cfg.dotenv.nfiles > 1 ? cfg.dotenv.files[1] : "",
                 cfg.dotenv.nset);
    for (size_t w = 0; w < cfg.dotenv.nwarnings; w++)
        ATC_WARN(NULL, "%s", cfg.dotenv.warnings[w]);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Before any thread exists. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* Sandbox names are digests: load libcrypto's provider now, not in a job. */
    if (atc_sha256_prepare() != 0)
        ATC_WARN(NULL, "libcrypto could not fetch SHA-256 up front; each digest will try again");
    if (cfg.check) {
        /* An init container or a Helm-style test: the checks once, then exit. */
        status = worker_check(&cfg, xprops, nx, desc, &stop_signals);
        curl_global_cleanup();
        worker_settings_cleanup(&cfg);
        free(xprops);
        return status;
    }
    metrics_init();
    hs.heartbeat_ms = atc_clock_mono_ms();

    if (*cfg.http_addr) {
        http = http_start(cfg.http_addr, &hs, err, sizeof(err));
        if (!http) {
            ATC_ERROR(NULL, "%s", err);
            goto out;
        }
        ATC_INFO(NULL, "http endpoints on port %d", http_port(http));
    }
    /* No job is taken before Redis answers: its result could not be written.
     * Meanwhile /healthz is fine and /readyz says why the worker is not ready. */
    for (int waited = 0; !(redis = atc_results_new(cfg.redis_url, 2000, err, sizeof(err)));
         waited++) {
        if (stop_signals)
            goto out;
        if (waited == 0)
            ATC_WARN(NULL, "waiting for redis: %s", err);
        hs.heartbeat_ms = atc_clock_mono_ms();
        sleep(1);
    }
    hs.redis_ok = 1;
    /* Alive before any job starts: other workers' orphan sweeps go by it. */
    if (liveness_beat(redis, &cfg, err, sizeof(err)) != 0)
        ATC_WARN(NULL, "liveness key: %s", err);
    /* The producers' cancels, from about a minute before now (cancels.h). */
    struct cancels nudges;
    cancels_init(&nudges, (long long)atc_clock_wall_ms(), (long)cfg.result_ttl_s);

    rd_kafka_conf_t *dconf = kafka_conf(&cfg, xprops, nx, err, sizeof(err));
    if (!dconf ||
        !(dlq = dlq_new(dconf, cfg.dlq_topic, (size_t)cfg.max_job_bytes, err, sizeof(err)))) {
        ATC_ERROR(NULL, "dead-letter producer: %s", err);
        goto out;
    }
    /* Before the job threads: they hand it the sandboxes they fail to delete. */
    reaper = reaper_start(&cfg);
    jobs_ctx_init(&ctx, &cfg, dlq, reaper);
    ctx_ready = 1;
    pool = pool_new((size_t)cfg.concurrency, jobs_thread_init, jobs_run_task, jobs_thread_fini, &ctx);
    if (!pool) {
        ATC_ERROR(NULL, "cannot start %lld job threads", cfg.concurrency);
        goto out;
    }
    /* A sandbox a job of ours is using is never reaped, however old it looks. */
    reaper_set_in_use(reaper, jobs_sandbox_in_use, pool);
    rd_kafka_conf_t *cconf = kafka_conf(&cfg, xprops, nx, err, sizeof(err));
    /* A backlog waits in the pool's queue beyond the running jobs, so a thread
     * that frees up starts its next job at once. Once it is full the
     * partitions are paused, and each resume costs a refetch of 0.5 s and more
     * (librdkafka 2.0.2), which the backlog must outlast at the rate jobs end:
     * with as many again as there are threads, 32 threads on jobs of 50 ms ran
     * 90 jobs/s instead of 400 (docs/benchmarks.md). So it holds 2 s of the
     * threads' work at the mean job time (backlog.h; 256 until a job ran),
     * from the thread count up to 256 (or the thread count, when larger), and
     * at most 64 MiB of messages (or four of the largest jobs allowed). Slow
     * jobs keep it at the thread count: a held message is work the autoscaler
     * no longer sees in the lag. Held messages are never started early: a
     * rebalance or shutdown hands them back. */
    size_t backlog_max = cfg.concurrency > 256 ? (size_t)cfg.concurrency : 256;
    size_t backlog_bytes = (size_t)64 << 20;
    if ((size_t)cfg.max_job_bytes * 4 > backlog_bytes)
        backlog_bytes = (size_t)cfg.max_job_bytes * 4;
    if (!cconf || !(cons = consumer_new(cconf, cfg.group, cfg.jobs_topic, pool,
                                        (size_t)cfg.concurrency, backlog_max, backlog_bytes, err,
                                        sizeof(err)))) {
        ATC_ERROR(NULL, "consumer: %s", err);
        goto out;
    }
    /* Both Kafka configurations are built: their secrets leave the environment. */
    atc_kafka_scrub_env();
    ATC_INFO(NULL, "consuming %s as a member of %s, %lld jobs at a time", cfg.jobs_topic,
             cfg.group, cfg.concurrency);

    long long last_ping = atc_clock_mono_ms(), last_cancel_scan = last_ping;
    while (!stop_signals && !consumer_failed(cons)) {
        int open = breaker_is_open(&ctx.breaker);
        consumer_turn(cons, 50, open, 0);
        long long now = atc_clock_mono_ms();
        hs.heartbeat_ms = now;
        hs.in_group = consumer_in_group(cons);
        metrics_set_state(cfg.concurrency, hs.in_group && hs.redis_ok, open);
        if (now - last_ping >= 2000) {
            /* The liveness key's renewal is the check that Redis answers. */
            int ok = liveness_beat(redis, &cfg, err, sizeof(err)) == 0;
            if (ok != hs.redis_ok)
                ATC_LOGJ(ok ? ATC_LOG_INFO : ATC_LOG_WARN, NULL, "redis %s%s%s",
                         ok ? "reachable again" : "unreachable", ok ? "" : ": ", ok ? "" : err);
            hs.redis_ok = ok;
            last_ping = now;
        }
        if (now - last_cancel_scan >= 1000 && hs.redis_ok) {
            /* Cancels asked since the last turn: queued jobs end cancelled,
             * running ones get cancel_requested; then this worker's running
             * jobs with a cancel mark are stopped. */
            cancels_poll(&nudges, redis);
            if (consumer_inflight(cons) > 0)
                jobs_watch_cancels(&ctx, pool, (size_t)cfg.concurrency, redis);
            last_cancel_scan = now;
        }
    }

    /* Shutdown: take no more work, give running jobs the grace period. */
    hs.stopping = 1;
    metrics_set_state(cfg.concurrency, 0, breaker_is_open(&ctx.breaker));
    ctx.stopping = 1;
    ATC_INFO(NULL, "stopping: %zu job(s) in flight, %lld s of grace", consumer_inflight(cons),
             cfg.shutdown_grace_s);
    long long deadline = atc_clock_mono_ms() + cfg.shutdown_grace_s * 1000;
    while (consumer_inflight(cons) > 0 && atc_clock_mono_ms() < deadline) {
        consumer_turn(cons, 50, 1, 1);
        hs.heartbeat_ms = atc_clock_mono_ms();
    }
    if (consumer_inflight(cons) > 0) {
        ATC_WARN(NULL, "grace period over: abandoning %zu job(s)", consumer_inflight(cons));
        ctx.abandon = 1;
        pool_each_state(pool, jobs_abandon_sandbox, NULL);
        /* A thread may be blocked in a call that does not look at the abandon
         * (a long HTTP request, a sleep): wait for it only so long. */
        long long limit = atc_clock_mono_ms() + ABANDON_WAIT_MS;
        while (consumer_inflight(cons) > 0 && atc_clock_mono_ms() < limit) {
            consumer_turn(cons, 50, 1, 1);
            hs.heartbeat_ms = atc_clock_mono_ms();
        }
        if (consumer_inflight(cons) > 0) {
            ATC_ERROR(NULL, "%zu job(s) still running %d s after the abandon: closing the consumer "
                      "without them; another worker will run them", consumer_inflight(cons),
                      ABANDON_WAIT_MS / 1000);
            /* 0 when they all came back meanwhile: then all is as usual. */
            stuck = pool_each_running(pool, log_still_running, NULL);
        }
    }
    status = consumer_failed(cons) ? 1 : 0;
out:
    consumer_close(cons);
    if (stuck) {
        /* The pool cannot be destroyed under a thread that is still running
         * a task (joining it could wait minutes, and its state, the Daytona
         * client, Redis connection, reaper and dead-letter producer it uses
         * would be freed under it): exit without them. Their offsets were not
         * stored. The reaper tries its pending deletes once more (what is
         * left, the periodic sweep of any worker finds). */
        reaper_finish(reaper);
        ATC_WARN(NULL, "stopped with %zu job thread(s) still busy, not waiting for them", stuck);
        fflush(NULL);
        _exit(status);
    }
    reaper_set_in_use(reaper, NULL, NULL); /* before the pool's states go */
    pool_destroy(pool);
    reaper_stop(reaper); /* after the job threads, which may hand it sandboxes */
    if (ctx_ready)
        jobs_ctx_cleanup(&ctx);
    dlq_destroy(dlq);
    atc_results_destroy(redis);
    http_stop(http);
    curl_global_cleanup();
    ATC_INFO(NULL, "stopped");
    worker_settings_cleanup(&cfg);
    free(xprops);
    return status;
}
