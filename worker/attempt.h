/* attempt.h: one attempt of a job in a Daytona sandbox: create, upload, install,
 * test, fetch the report, and always delete; the outcome as values. The files
 * it uploads beside the job's and the runner it executes are runner.h's. */
#ifndef ATC_WORKER_ATTEMPT_H
#define ATC_WORKER_ATTEMPT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "atc/daytona.h"
#include "atc/job.h"
#include "atc/junit.h"
#include "breaker.h"
#include "envs.h"
#include "side.h"

/* What the run needs from the worker's configuration. */
struct attempt_params {
    const char *group;
    const char *worker_id;
    const char *default_snapshot;   /* NULL or "": the service's default */
    unsigned max_timeout_s;
    unsigned install_timeout_s;
    unsigned create_timeout_s;
    size_t max_output_bytes;
    unsigned test_timeout_s;        /* ATC_TEST_TIMEOUT_S: a job's default per-test limit */
    unsigned reruns;                /* ATC_RERUNS: a job's default reruns */
    int coverage;                   /* ATC_COVERAGE */
    size_t digest_bytes;            /* ATC_DIGEST_BYTES */
    int allow_open_network;         /* ATC_ALLOW_OPEN_NETWORK: honour "network": "open" */
    const char *snapshot_allow;     /* ATC_SNAPSHOT_ALLOW: comma-separated; NULL or "": any */
    const char *probe_addr;         /* "host:port" a blocked sandbox must not reach (the
                                     * Daytona API's); NULL or "": no check */
    int retry_max;                  /* retries of a fleet fault, per call, and new
                                     * sandboxes after one, per job */
    /* Flags other threads set while the job runs; only read here. */
    const atomic_int *abandon;      /* set: give the job up at the next step */
    const atomic_int *cancel;       /* set: the job was cancelled; may be NULL */
    struct breaker *breaker;        /* gate on sandbox creation; may be NULL */
    /* Told the sandbox id once one exists, and NULL once it is deleted, so that
     * a shutdown can delete the sandbox of a job it abandons. May be NULL. */
    void (*on_sandbox)(void *arg, const char *sandbox_id);
    void *on_sandbox_arg;
    /* Takes over a sandbox the run could not delete, to retry later; returns 1
     * when it did. May be NULL: the reaper's sweep then finds it by age. */
    int (*defer_delete)(void *arg, const char *sandbox_id);
    void *defer_delete_arg;
    /* The job's dependency environment (envs_prepare), or NULL: hit, built
     * and waited create the sandbox from it and skip pip; failed ends the job
     * as deps_failed without a sandbox; fallback installs as before. */
    const struct envs_job *env;
    const char *pip_index_url;      /* the in-sandbox pip's --index-url, or NULL */
};

struct attempt_outcome {
    const char *status;             /* final status (cancelled when cancelled), or
                                     * NULL when abandoned */
    const char *reason;
    int fleet_fault;                /* 1: the fleet failed, not the code */
    char error[512];                /* a sentence for a person, or "" */
    int has_exit_code;
    int exit_code;
    char *output;                   /* malloc'd, or NULL */
    size_t output_len;
    int output_truncated;
    char *install_output;           /* malloc'd where the install failed, or NULL */
    size_t install_output_len;
    int has_report;
    struct atc_junit_report report;
    char sandbox_id[128];
    const char *network;            /* the policy applied to the tests: "blocked",
                                     * "blocked_after_install", "open"; NULL before */
    int tries;                      /* sandboxes used, from 1 */
    long long peak_rss;             /* the test run's largest resident set, bytes; -1 unknown */
    long long cpu_ms;               /* its CPU time, user + system; -1 unknown */
    long sandbox_ms;                /* sandbox time over all tries, creation to deletion */
    /* The fleet plugin's additions (default test command only). */
    int plugin;                     /* 1: the plugin was loaded */
    unsigned test_timeout_s;        /* the per-test limit it applied */
    unsigned reruns;                /* the reruns it allowed */
    int has_side;                   /* side is set */
    struct side_report side;
    long tests_flaky, tests_timeout;
    char *digest;                   /* malloc'd, or NULL */
    size_t digest_len;
    long create_ms, upload_ms, install_ms, test_ms, delete_ms; /* -1: phase not reached */
    /* The dependency environment (p->env), for the result. */
    const char *env_name;           /* NULL: the job has none */
    const char *env_status;         /* envs_status_name */
    long env_build_ms;              /* -1: neither built nor waited */
    char *env_freeze;               /* pip freeze of the environment (malloc'd) or NULL */
    int env_freeze_new;             /* 1: read in this run (not yet in Redis) */
    int env_lost;                   /* 1: the service refused the environment's
                                     * snapshot (dropped meanwhile): pip ran instead */
};

/* Runs job as attempt number attempt. A call failing with a fleet fault is
 * retried in place (create, upload, report) up to p->retry_max times; a fault
 * that leaves the sandbox unusable is retried with a new sandbox, up to
 * p->retry_max times. The sandbox of every try is deleted before
 * this returns. The outcome owns its buffers: release with attempt_outcome_cleanup. */
void attempt_run(struct atc_daytona *d, const struct attempt_params *p, const struct atc_job *job,
             int attempt, struct attempt_outcome *out);

void attempt_outcome_cleanup(struct attempt_outcome *o);

#endif
