/* settings.h: the worker's configuration, one table of CONTRACT section 5. */
#ifndef ATC_WORKER_SETTINGS_H
#define ATC_WORKER_SETTINGS_H

#include <stddef.h>
#include "atc/config.h"
#include "atc/dotenv.h"

struct worker_settings {
    char *brokers;
    char *jobs_topic;
    char *dlq_topic;
    char *group;
    char *redis_url;
    long long concurrency;
    long long max_timeout_s;
    long long install_timeout_s;
    long long result_ttl_s;
    long long max_job_bytes;
    long long max_output_bytes;
    long long test_timeout_s;
    long long reruns;
    long long coverage;
    long long digest_bytes;
    long long allow_open_network;
    long long max_cpu, max_memory_gib, max_disk_gib; /* caps on a job's resources */
    char *snapshot_allow;
    long long max_attempts;
    long long liveness_ttl_s;
    long long orphan_sweep_s;
    long long shutdown_grace_s;
    char *http_addr;
    char *worker_id;
    char *log_level;
    char *log_format;
    char *sandbox_snapshot;
    char *daytona_api_url;
    char *daytona_api_key;
    char *daytona_api_key_file;
    char *daytona_target;
    long long sandbox_create_timeout_s;
    long long retry_max;
    long long reaper_interval_s;
    /* Dependency environments (worker/envs.c). */
    char *envs;
    long long env_max;
    char *env_base_image;
    char *pip_index_url;
    long long env_build_timeout_s;
    long long env_fail_ttl_s;
    int check;                       /* --check: run atc/doctor.h once and exit */
    struct atc_dotenv_report dotenv; /* what .env.local/.env gave, logged at start */
};

extern const struct atc_opt worker_settings_table[];
extern const size_t worker_settings_count;

/* Reads .env.local and .env (atc/dotenv.h) into the environment, then loads
 * defaults, environment and argv; fills worker_id from the host name and
 * the API key from its file when needed; checks the result. xprops receives the
 * -X name=value pairs (it must hold argc entries). Returns 0, 1 when --help was
 * printed, or ATC_EINVAL with err naming the option. */
int worker_settings_load(struct worker_settings *s, int argc, char **argv,
                         char **xprops, size_t *nxprops, char *err, size_t errlen);

void worker_settings_cleanup(struct worker_settings *s);

#endif
