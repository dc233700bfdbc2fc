/* settings.c: the worker's option table and its checks. */
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atc/error.h"
#include "atc/kafka.h"
#include "atc/log.h"

#define OFF(f) offsetof(struct worker_settings, f)
#define STR ATC_OPT_STRING
#define INT ATC_OPT_INT

const struct atc_opt worker_settings_table[] = {
    {"brokers", "ATC_BROKERS", STR, ATC_DEFAULT_BROKERS, 0, 0, 0, OFF(brokers), "Kafka bootstrap servers"},
    {"jobs-topic", "ATC_JOBS_TOPIC", STR, ATC_DEFAULT_JOBS_TOPIC, 0, 0, 0, OFF(jobs_topic), "jobs topic"},
    {"dlq-topic", "ATC_DLQ_TOPIC", STR, ATC_DEFAULT_DLQ_TOPIC, 0, 0, 0, OFF(dlq_topic), "dead-letter topic"},
    {"group", "ATC_GROUP", STR, ATC_DEFAULT_GROUP, 0, 0, 0, OFF(group), "consumer group"},
    {"redis-url", "ATC_REDIS_URL", STR, "redis://127.0.0.1:6379/0", 0, 0, ATC_SECRET_URL_PASSWORD, OFF(redis_url), "Redis address"},
    {"concurrency", "ATC_CONCURRENCY", INT, "32", 1, 4096, 0, OFF(concurrency), "jobs in flight in one process"},
    {"max-timeout-s", "ATC_MAX_TIMEOUT_S", INT, "900", 1, 86400, 0, OFF(max_timeout_s), "cap on a job's timeout_s"},
    {"install-timeout-s", "ATC_INSTALL_TIMEOUT_S", INT, "300", 1, 86400, 0, OFF(install_timeout_s), "limit on installing a job's dependencies"},
    {"result-ttl-s", "ATC_RESULT_TTL_S", INT, "604800", 1, 315360000, 0, OFF(result_ttl_s), "TTL of a final result"},
    {"max-job-bytes", "ATC_MAX_JOB_BYTES", INT, "4194304", 1024, 1073741824, 0, OFF(max_job_bytes), "largest job message accepted"},
    {"max-output-bytes", "ATC_MAX_OUTPUT_BYTES", INT, "65536", 256, 67108864, 0, OFF(max_output_bytes), "largest output kept in a result"},
    {"test-timeout-s", "ATC_TEST_TIMEOUT_S", INT, "30", 1, 86400, 0, OFF(test_timeout_s), "default per-test limit (capped by the job's timeout_s)"},
    {"reruns", "ATC_RERUNS", INT, "1", 0, 5, 0, OFF(reruns), "default reruns of a failed test"},
    {"coverage", "ATC_COVERAGE", INT, "1", 0, 1, 0, OFF(coverage), "1: measure line coverage of the job's non-test files"},
    {"digest-bytes", "ATC_DIGEST_BYTES", INT, "2048", 128, 65536, 0, OFF(digest_bytes), "largest failure digest in a result"},
    {"shutdown-grace-s", "ATC_SHUTDOWN_GRACE_S", INT, "30", 0, 86400, 0, OFF(shutdown_grace_s), "time in-flight jobs get to finish after SIGTERM"},
    {"http-addr", "ATC_HTTP_ADDR", STR, "0.0.0.0:9090", 0, 0, 0, OFF(http_addr), "/healthz, /readyz, /metrics; empty turns it off"},
    {"worker-id", "ATC_WORKER_ID", STR, NULL, 0, 0, 0, OFF(worker_id), "names this worker (default: the host name)"},
    {"log-level", "ATC_LOG_LEVEL", STR, "info", 0, 0, 0, OFF(log_level), "debug, info, warn, error"},
    {"log-format", "ATC_LOG_FORMAT", STR, "json", 0, 0, 0, OFF(log_format), "json or text"},
    {"sandbox-snapshot", "ATC_SANDBOX_SNAPSHOT", STR, NULL, 0, 0, 0, OFF(sandbox_snapshot), "snapshot for jobs that name none"},
    {"daytona-api-url", "DAYTONA_API_URL", STR, "https://app.daytona.io/api", 0, 0, 0, OFF(daytona_api_url), "Daytona API"},
    {"daytona-api-key", "DAYTONA_API_KEY", STR, NULL, 0, 0, 1, OFF(daytona_api_key), "Daytona API key"},
    {"daytona-api-key-file", "DAYTONA_API_KEY_FILE", STR, NULL, 0, 0, 0, OFF(daytona_api_key_file), "file holding the Daytona API key"},
    {"daytona-target", "DAYTONA_TARGET", STR, NULL, 0, 0, 0, OFF(daytona_target), "Daytona region"},
    {"sandbox-create-timeout-s", "ATC_SANDBOX_CREATE_TIMEOUT_S", INT, "120", 1, 3600, 0, OFF(sandbox_create_timeout_s), "limit on a sandbox reaching started"},
    {"retry-max", "ATC_RETRY_MAX", INT, "5", 0, 100, 0, OFF(retry_max), "retries of a fleet fault (429, 5xx, connection) per call"},
    {"max-attempts", "ATC_MAX_ATTEMPTS", INT, "3", 0, 1000, 0, OFF(max_attempts), "attempts of a job that may die with their worker before it is poison; 0 turns it off"},
    {"snapshot-allow", "ATC_SNAPSHOT_ALLOW", STR, "", 0, 0, 0, OFF(snapshot_allow), "comma-separated snapshots a job may name; empty: any"},
    {"max-cpu", "ATC_MAX_CPU", INT, "4", 1, 1024, 0, OFF(max_cpu), "cap on a job's cpu (vCPUs); a job asking more is rejected"},
    {"max-memory-gib", "ATC_MAX_MEMORY_GIB", INT, "8", 1, 1024, 0, OFF(max_memory_gib), "cap on a job's memory_gib; a job asking more is rejected"},
    {"max-disk-gib", "ATC_MAX_DISK_GIB", INT, "10", 1, 1024, 0, OFF(max_disk_gib), "cap on a job's disk_gib; a job asking more is rejected"},
    {"allow-open-network", "ATC_ALLOW_OPEN_NETWORK", INT, "0", 0, 1, 0, OFF(allow_open_network), "1: honour a job's \"network\": \"open\" (else such a job is rejected)"},
    {"liveness-ttl-s", "ATC_LIVENESS_TTL_S", INT, "15", 5, 600, 0, OFF(liveness_ttl_s), "TTL of this worker's liveness key, renewed every 2 s"},
    {"orphan-sweep-s", "ATC_ORPHAN_SWEEP_S", INT, "10", 0, 3600, 0, OFF(orphan_sweep_s), "period of the orphan sweep (dead workers' sandboxes, finished jobs'); 0 turns it off"},
    {"check", NULL, ATC_OPT_BOOL, "0", 0, 0, 0, OFF(check), "check Kafka, Redis and Daytona once (as atc doctor), print one line each, exit 0 if all pass, else 1"},
    {"reaper-interval-s", "ATC_REAPER_INTERVAL_S", INT, "300", 0, 86400, 0, OFF(reaper_interval_s), "period of the leaked-sandbox reaper; 0 turns it off"},
    {"envs", "ATC_ENVS", STR, "on", 0, 0, 0, OFF(envs), "on: jobs with deps run from a shared snapshot of them; off: pip in each sandbox"},
    {"env-max", "ATC_ENV_MAX", INT, "40", 1, 100000, 0, OFF(env_max), "dependency environments kept at most (least recently used dropped)"},
    {"env-base-image", "ATC_ENV_BASE_IMAGE", STR, "python:3.12.10-slim-bookworm", 0, 0, 0, OFF(env_base_image), "the image an environment's snapshot is built FROM"},
    {"pip-index-url", "ATC_PIP_INDEX_URL", STR, NULL, 0, 0, ATC_SECRET_URL_PASSWORD, OFF(pip_index_url), "pip's --index-url for environment builds and in-sandbox installs"},
    {"env-build-timeout-s", "ATC_ENV_BUILD_TIMEOUT_S", INT, "900", 1, 86400, 0, OFF(env_build_timeout_s), "how long a job waits for its environment's build before installing in its sandbox"},
    {"env-fail-ttl-s", "ATC_ENV_FAIL_TTL_S", INT, "600", 1, 604800, 0, OFF(env_fail_ttl_s), "how long a failed build (pip's output) is remembered"},
};
const size_t worker_settings_count = sizeof(worker_settings_table) / sizeof(worker_settings_table[0]);

static void usage(void)
{
    printf("usage: atc-worker [--option value]... [-X kafka.property=value]...\n\n"
           "Runs jobs from Kafka in Daytona sandboxes and writes their results to Redis.\n"
           "Every option also reads its environment variable; options win.\n"
           "Any librdkafka property: ATC_KAFKA_<NAME> (ATC_KAFKA_SECURITY_PROTOCOL sets\n"
           "security.protocol) or -X name=value.\n\n");
    atc_config_usage(worker_settings_table, worker_settings_count, stdout);
}

int worker_settings_load(struct worker_settings *s, int argc, char **argv,
                         char **xprops, size_t *nxprops, char *err, size_t errlen)
{
    char **rest = NULL;
    int nrest = 0;
    int rc;

    memset(s, 0, sizeof(*s));
    *nxprops = 0;
    rest = calloc((size_t)argc + 1, sizeof(*rest));
    if (!rest)
        return ATC_ENOMEM;
    if ((rc = atc_dotenv_load(NULL, &s->dotenv, err, errlen)) != 0)
        goto out;
    rc = atc_config_load(worker_settings_table, worker_settings_count, s, argc, argv, rest,
                         &nrest, err, errlen);
    if (rc != 0)
        goto out;
    for (int i = 0; i < nrest; i++) {
        if (strcmp(rest[i], "--help") == 0 || strcmp(rest[i], "-h") == 0) {
            usage();
            rc = 1;
            goto out;
        }
        if (strcmp(rest[i], "-X") == 0 && i + 1 < nrest) {
            xprops[(*nxprops)++] = rest[++i];
            continue;
        }
        snprintf(err, errlen, "unknown argument \"%s\" (see --help)", rest[i]);
        rc = ATC_EINVAL;
        goto out;
    }
    if (!*s->worker_id) {
        char host[256];
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "worker");
        host[sizeof(host) - 1] = '\0';
        free(s->worker_id);
        s->worker_id = strdup(host);
        if (!s->worker_id) {
            rc = ATC_ENOMEM;
            goto out;
        }
    }
    if (!*s->daytona_api_key && *s->daytona_api_key_file) {
        char *key = NULL;
        if ((rc = atc_config_read_secret_file(s->daytona_api_key_file, &key, err, errlen)) != 0)
            goto out;
        free(s->daytona_api_key);
        s->daytona_api_key = key;
    }
    if (!*s->daytona_api_key) {
        snprintf(err, errlen, "daytona-api-key: required (set DAYTONA_API_KEY or DAYTONA_API_KEY_FILE)");
        rc = ATC_EINVAL;
        goto out;
    }
    if (atc_log_level_parse(s->log_level) < 0) {
        snprintf(err, errlen, "log-level: \"%s\" is not one of debug, info, warn, error", s->log_level);
        rc = ATC_EINVAL;
        goto out;
    }
    if (strcmp(s->envs, "on") != 0 && strcmp(s->envs, "off") != 0) {
        snprintf(err, errlen, "envs: \"%s\" is not on or off", s->envs);
        rc = ATC_EINVAL;
        goto out;
    }
    if (strpbrk(s->pip_index_url, "'\"\\ \t\n")) {
        snprintf(err, errlen, "pip-index-url: no quotes, backslashes or spaces");
        rc = ATC_EINVAL;
        goto out;
    }
    if (strcmp(s->log_format, "json") != 0 && strcmp(s->log_format, "text") != 0) {
        snprintf(err, errlen, "log-format: \"%s\" is not json or text", s->log_format);
        rc = ATC_EINVAL;
        goto out;
    }
out:
    free(rest);
    return rc;
}

void worker_settings_cleanup(struct worker_settings *s)
{
    atc_config_cleanup(worker_settings_table, worker_settings_count, s);
}
