/* verdict.h: the decisions of a job run, kept apart from the network: the
 * default test command, the status and reason a run earns, and the sandbox
 * name of an attempt. (The backoff of a retried fault is retry.h's.) */
#ifndef ATC_WORKER_VERDICT_H
#define ATC_WORKER_VERDICT_H

#include <stddef.h>
#include "atc/job.h"
#include "atc/junit.h"

/* The fleet's JUnit report: a fresh directory under .atc/ (a prefix no job
 * file may use) named by a 128-bit nonce per try, so that the job's code can
 * neither place nor predict it before it runs. verdict_report_path writes it. */
#define VERDICT_REPORT_PATH_MAX 64
#define VERDICT_DEPS_DIR ".atc/deps" /* pip install --target */
#define VERDICT_TIMEOUT_EXIT 124 /* coreutils timeout(1) */
#define VERDICT_KILLED_EXIT 137  /* 128 + SIGKILL: the OOM killer's signal */

/* The status and reason names documented in docs/results.md. */
struct verdict {
    const char *status;
    const char *reason;
};

/* 1 when a file's base name is test_*.py or *_test.py. */
int verdict_is_test_file(const char *path);

/* Writes ".atc/r-<32 hex digits>/report.xml" from the 16 bytes nonce into buf
 * (VERDICT_REPORT_PATH_MAX bytes). */
void verdict_report_path(const unsigned char nonce[16], char *buf, size_t buflen);

/* Writes the default command for job: pytest over its test files with a JUnit
 * report at report (from verdict_report_path). pytest is imported with the
 * work directory off sys.path, so no file of the job can stand in for it.
 * Returns 0, ATC_ENOTFOUND when the job has no test file (the reason
 * no_tests), or ATC_ETOOBIG when buf is too small. */
int verdict_default_cmd(const struct atc_job *job, const char *report, char *buf, size_t buflen);

/* The fleet's pytest plugin (fleet_plugin.py): where the worker writes it,
 * the module name -p loads, and its side report's name beside the JUnit
 * report. */
#define VERDICT_PLUGIN_DIR ".atc/py"
#define VERDICT_PLUGIN_MODULE "atc_fleet_plugin"
#define VERDICT_PLUGIN_PATH VERDICT_PLUGIN_DIR "/" VERDICT_PLUGIN_MODULE ".py"
#define VERDICT_SIDE_NAME "fleet.json"

struct verdict_plugin {
    unsigned test_timeout_s;  /* per-test limit, 0 for none */
    unsigned reruns;          /* reruns of a failed test */
    int coverage;             /* 1: measure line coverage */
};

/* The side report's path for report: the same directory, VERDICT_SIDE_NAME. */
void verdict_side_path(const char *report, char *buf, size_t buflen);

/* verdict_default_cmd with the fleet's plugin loaded (plug NULL: without). */
int verdict_plugin_cmd(const struct atc_job *job, const char *report,
                       const struct verdict_plugin *plug, char *buf, size_t buflen);

/* The reason of a run whose only failures are flaky tests: "flaky" where the
 * verdict is failed/tests_failed and every JUnit failure or error is one of
 * the flaky count; else reason unchanged. Never changes a status. */
const char *verdict_refine_reason(const char *status, const char *reason,
                                  const struct atc_junit_report *report, long flaky);

/* A job's per-test limit: its test_timeout_s, else worker_default, capped by
 * job_limit (its whole run's limit). */
unsigned verdict_test_timeout(const struct atc_job *job, unsigned worker_default, unsigned job_limit);

/* Writes the pip command installing job's deps into VERDICT_DEPS_DIR, with
 * --index-url index_url unless it is NULL or "" (a URL the settings checked:
 * no quote in it). 0 or ATC_ETOOBIG. */
int verdict_install_cmd(const struct atc_job *job, const char *index_url, char *buf,
                        size_t buflen);

/* The verdict of a test command that ran: custom is 1 for a job's own cmd;
 * report is NULL when no JUnit report could be read. `passed` needs exit
 * status 0 and, for the default command, the fleet's report with at least
 * one test and none failed or in error; a report that contradicts an exit
 * status 0 gives `failed` (verdict_contradiction). why receives a sentence
 * for the result's error when the verdict needs one, else "". */
struct verdict verdict_of_run(int custom, int exit_code, const struct atc_junit_report *report,
                              char *why, size_t whylen);

/* The first line the runner prints: "<output bytes> <0|1: the report exists>
 * <largest resident set bytes|-> <CPU ms|->[ <side report bytes>]". */
struct verdict_header {
    unsigned long long total;
    int has_report;
    long long peak_rss;         /* -1: unknown */
    long long cpu_ms;           /* -1: unknown */
    long long side_len;         /* bytes of the plugin's side report that follow; 0 none */
};

/* Parses line[0..len) (without its newline) into h. Returns 0, or -1 when
 * it is not such a line (h then says: report assumed, usage unknown). */
int verdict_parse_header(const char *line, size_t len, struct verdict_header *h);

/* What the runner prints, alone, when the sandbox still reaches the probe
 * address after its network was blocked (the job's code has not run). */
#define VERDICT_NETWORK_OPEN_MARK "ATC-NETWORK-NOT-BLOCKED"

/* The "host:port" of an http(s) URL for the network probe (port 443 or 80
 * when none), into buf. 0, or -1 when url has no usable host. */
int verdict_probe_addr(const char *url, char *buf, size_t buflen);

/* 1 when a job may name snapshot: allow is a comma-separated list of names
 * (spaces around a name ignored); NULL or "" allows any. */
int verdict_snapshot_allowed(const char *allow, const char *snapshot);

/* The sandbox name of a job's attempt and try, one form for every id:
 * "atc-<clean>-<hash>-<attempt>-<try>", where clean is the id's first 24
 * characters lower-cased with anything but [a-z0-9] made '-', and hash the
 * first 16 hex digits of SHA-256(id). Same inputs, same name, so a create
 * retried after a lost reply finds its sandbox; different ids, different
 * names (short of a SHA-256 collision), whatever characters they hold.
 * buf should hold VERDICT_SANDBOX_NAME_MAX bytes. */
#define VERDICT_SANDBOX_NAME_MAX 80
void verdict_sandbox_name(const char *id, int attempt, int try_no, char *buf, size_t buflen);

#endif
