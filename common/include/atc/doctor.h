/* doctor.h: the operators' checks of a fleet's surroundings, shared by `atc
 * doctor` and `atc-worker --check`: the configuration, Kafka (brokers, the
 * jobs and dead-letter topics, the consumer group), Redis (version, auth,
 * eviction policy, persistence) and Daytona (the key, a sandbox created, used
 * and deleted, rate-limit headers, egress blocked, snapshot quota). Each check
 * gives one line with its time; a failed one a sentence saying what is wrong
 * and how to fix it (docs/operations.md, "atc doctor"). */
#ifndef ATC_DOCTOR_H
#define ATC_DOCTOR_H

#include <signal.h>
#include <stddef.h>

struct atc_doctor_config {
    const char *brokers;
    char **xprops;              /* -X name=value pairs, after ATC_KAFKA_* */
    size_t nxprops;
    const char *jobs_topic, *dlq_topic, *group;
    const char *redis_url;
    const char *daytona_api_url, *daytona_api_key, *daytona_target;
    const char *snapshot;       /* or NULL/"": the service's default */
    const char *worker_id;      /* the atc-worker label of the test sandbox */
    const char *config_line;    /* the effective configuration, secrets as *** */
    const char *config_error;   /* a configuration problem found by the caller, or NULL */
    int skip_daytona;           /* 1: leave the sandbox checks out (reported as skipped) */
    long timeout_ms;            /* per network step; 0: 10 s */
    /* Set by the caller's signal handler: the checks stop, a sandbox made so
     * far is still deleted. */
    volatile sig_atomic_t *stop;
};

enum atc_doctor_state { ATC_DOCTOR_PASS, ATC_DOCTOR_FAIL, ATC_DOCTOR_SKIP };

struct atc_doctor_check {
    char name[32];              /* "configuration", "kafka", "redis", "daytona.create", ... */
    enum atc_doctor_state state;
    long ms;
    char detail[1024];          /* what was seen */
    char fix[512];              /* FAIL: one sentence, what is wrong and how to fix it */
};

#define ATC_DOCTOR_MAX_CHECKS 16

struct atc_doctor_report {
    struct atc_doctor_check checks[ATC_DOCTOR_MAX_CHECKS];
    size_t n;
    int interrupted;            /* the stop flag cut the checks short */
};

/* Runs every check in order and fills *report. A failed check does not stop
 * the others, except that the sandbox steps after a failed create are left out.
 * on_check, when not NULL, is called after each check (to print as it goes).
 * curl_global_init must have run. Returns 0 when all passed, 1 otherwise. */
int atc_doctor_run(const struct atc_doctor_config *cfg, struct atc_doctor_report *report,
                   void (*on_check)(void *arg, const struct atc_doctor_check *c), void *arg);

/* One check as a line of text: "ok   name   12 ms  detail" (and, for a failure,
 * the fix on the same line after "->"). */
void atc_doctor_format_line(const struct atc_doctor_check *c, char *buf, size_t buflen);

/* The whole report as one JSON object {ok, checks:[{name, status, ms, detail,
 * fix}], problem}; malloc'd, NULL when out of memory. */
char *atc_doctor_report_json(const struct atc_doctor_report *report);

/* The first failure's fix sentence, or NULL when all passed. */
const char *atc_doctor_problem(const struct atc_doctor_report *report);

#endif
