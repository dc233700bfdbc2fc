/* doctor.c: `atc doctor`: the configuration, Kafka, Redis and Daytona checked
 * in order, one line each (atc/doctor.h); exit 0 when all pass, else 1. */
#include "doctor.h"

#include <curl/curl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atc/config.h"
#include "atc/doctor.h"
#include "atc/error.h"
#include "atc/kafka.h"

static volatile sig_atomic_t doctor_stop;

static void on_signal(int sig)
{
    (void)sig;
    doctor_stop = 1;
}

/* What `atc doctor` reads: the worker's names, so that it checks what a
 * worker started here would use. */
struct doctor_settings {
    char *brokers, *jobs_topic, *dlq_topic, *group, *redis_url;
    char *daytona_api_url, *daytona_api_key, *daytona_api_key_file, *daytona_target;
    char *sandbox_snapshot, *worker_id;
};

#define OFF(f) offsetof(struct doctor_settings, f)
static const struct atc_opt doctor_table[] = {
    {"brokers", "ATC_BROKERS", ATC_OPT_STRING, ATC_DEFAULT_BROKERS, 0, 0, 0, OFF(brokers), ""},
    {"jobs-topic", "ATC_JOBS_TOPIC", ATC_OPT_STRING, ATC_DEFAULT_JOBS_TOPIC, 0, 0, 0, OFF(jobs_topic), ""},
    {"dlq-topic", "ATC_DLQ_TOPIC", ATC_OPT_STRING, ATC_DEFAULT_DLQ_TOPIC, 0, 0, 0, OFF(dlq_topic), ""},
    {"group", "ATC_GROUP", ATC_OPT_STRING, ATC_DEFAULT_GROUP, 0, 0, 0, OFF(group), ""},
    {"redis-url", "ATC_REDIS_URL", ATC_OPT_STRING, "redis://127.0.0.1:6379/0", 0, 0, ATC_SECRET_URL_PASSWORD, OFF(redis_url), ""},
    {"daytona-api-url", "DAYTONA_API_URL", ATC_OPT_STRING, "https://app.daytona.io/api", 0, 0, 0, OFF(daytona_api_url), ""},
    {"daytona-api-key", "DAYTONA_API_KEY", ATC_OPT_STRING, NULL, 0, 0, 1, OFF(daytona_api_key), ""},
    {"daytona-api-key-file", "DAYTONA_API_KEY_FILE", ATC_OPT_STRING, NULL, 0, 0, 0, OFF(daytona_api_key_file), ""},
    {"daytona-target", "DAYTONA_TARGET", ATC_OPT_STRING, NULL, 0, 0, 0, OFF(daytona_target), ""},
    {"sandbox-snapshot", "ATC_SANDBOX_SNAPSHOT", ATC_OPT_STRING, NULL, 0, 0, 0, OFF(sandbox_snapshot), ""},
    {"worker-id", "ATC_WORKER_ID", ATC_OPT_STRING, NULL, 0, 0, 0, OFF(worker_id), ""},
};
#define DOCTOR_NOPTS (sizeof(doctor_table) / sizeof(doctor_table[0]))

static const char doctor_usage[] =
    "usage: atc doctor [--json] [--no-sandbox] [--timeout S]\n"
    "Checks, in order, one line each with its time: the configuration (secrets as ***),\n"
    "Kafka (brokers, the jobs and dead-letter topics, the consumer group's members and\n"
    "lag), Redis (version, auth, maxmemory-policy noeviction, persistence) and Daytona\n"
    "(the key, a sandbox created with networkBlockAll, a command run in it, egress\n"
    "blocked, the snapshot quota, the sandbox deleted: always, also when interrupted).\n"
    "Reads what atc-worker reads: ATC_BROKERS, ATC_KAFKA_*, ATC_JOBS_TOPIC,\n"
    "ATC_DLQ_TOPIC, ATC_GROUP, ATC_REDIS_URL, DAYTONA_API_URL, DAYTONA_API_KEY (or\n"
    "DAYTONA_API_KEY_FILE), DAYTONA_TARGET, ATC_SANDBOX_SNAPSHOT, and .env files.\n"
    "  --json         one JSON object {ok, checks, problem} instead of lines\n"
    "  --no-sandbox   leave the Daytona checks out\n"
    "  --timeout S    limit of each network step (default 10)\n"
    "Exit status 0 when every check passes; 1 when one fails (the last line says\n"
    "what is wrong and how to fix it); 2 bad usage.\n";

static void print_line(void *arg, const struct atc_doctor_check *c)
{
    char line[2048];
    (void)arg;
    atc_doctor_format_line(c, line, sizeof(line));
    printf("%s\n", line);
    fflush(stdout);
}

int doctor_cmd(int argc, char **argv, char **xprops, size_t nx, int json)
{
    struct doctor_settings s;
    struct atc_doctor_config cfg;
    struct atc_doctor_report *report = NULL;
    char err[512], desc[2048], cfg_err[512];
    char *fake_argv[1] = {"atc"};
    char *rest[1];
    int nrest = 0;
    int status = 2;
    int skip_daytona = 0;
    long timeout_s = 10;

    memset(&s, 0, sizeof(s));
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(doctor_usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--no-sandbox") == 0) {
            skip_daytona = 1;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            char *end = NULL;
            timeout_s = strtol(argv[++i], &end, 10);
            if (*end != '\0' || timeout_s < 1 || timeout_s > 600) {
                fprintf(stderr, "atc doctor: --timeout: \"%s\" is not 1..600 seconds\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "atc doctor: unknown argument '%s' (see atc doctor --help)\n", argv[i]);
            return 2;
        }
    }
    cfg_err[0] = '\0';
    if (atc_config_load(doctor_table, DOCTOR_NOPTS, &s, 1, fake_argv, rest, &nrest, err,
                        sizeof(err)) != 0)
        snprintf(cfg_err, sizeof(cfg_err), "%s", err);
    if (cfg_err[0] == '\0' && (s.daytona_api_key == NULL || s.daytona_api_key[0] == '\0') &&
        s.daytona_api_key_file != NULL && s.daytona_api_key_file[0] != '\0') {
        char *key = NULL;
        if (atc_config_read_secret_file(s.daytona_api_key_file, &key, err, sizeof(err)) != 0) {
            snprintf(cfg_err, sizeof(cfg_err), "%s: fix DAYTONA_API_KEY_FILE", err);
        } else {
            free(s.daytona_api_key);
            s.daytona_api_key = key;
        }
    }
    if (s.worker_id == NULL || s.worker_id[0] == '\0') {
        char host[256];
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "atc");
        host[sizeof(host) - 1] = '\0';
        free(s.worker_id);
        s.worker_id = strdup(host);
    }
    atc_config_describe(doctor_table, DOCTOR_NOPTS, &s, desc, sizeof(desc));

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cfg = (struct atc_doctor_config){
        .brokers = s.brokers,
        .xprops = xprops,
        .nxprops = nx,
        .jobs_topic = s.jobs_topic,
        .dlq_topic = s.dlq_topic,
        .group = s.group,
        .redis_url = s.redis_url,
        .daytona_api_url = s.daytona_api_url,
        .daytona_api_key = s.daytona_api_key,
        .daytona_target = s.daytona_target,
        .snapshot = s.sandbox_snapshot,
        .worker_id = s.worker_id,
        .config_line = desc,
        .config_error = cfg_err[0] ? cfg_err : NULL,
        .skip_daytona = skip_daytona,
        .timeout_ms = timeout_s * 1000,
        .stop = &doctor_stop,
    };
    report = malloc(sizeof(*report));
    if (report == NULL) {
        fprintf(stderr, "atc doctor: out of memory\n");
        goto out;
    }
    status = atc_doctor_run(&cfg, report, json ? NULL : print_line, NULL);
    if (json) {
        char *text = atc_doctor_report_json(report);
        if (text == NULL) {
            fprintf(stderr, "atc doctor: out of memory\n");
            status = 1;
        } else {
            printf("%s\n", text);
            free(text);
        }
    } else if (status != 0) {
        const char *problem = atc_doctor_problem(report);
        printf("problem: %s\n", problem ? problem : "interrupted before every check had run");
    } else {
        printf("all checks passed\n");
    }
    curl_global_cleanup();
out:
    free(report);
    atc_config_cleanup(doctor_table, DOCTOR_NOPTS, &s);
    return status;
}
