/* verdict.h: the decisions of a job run, kept apart from the network: the
 * default test command, the status and reason a run earns, and the sandbox
 * name of an attempt. (The backoff of a retried fault is retry.h's.) */
#ifndef ATC_WORKER_VERDICT_H
#define ATC_WORKER_VERDICT_H

#include <stddef.h>
#include "atc/job.h"
#include "atc/junit.h"

#define VERDICT_REPORT_PATH ".atc/report.xml"
#define VERDICT_DEPS_DIR ".atc/deps" /* pip install --target */
#define VERDICT_TIMEOUT_EXIT 124 /* coreutils timeout(1) */

/* The status and reason names documented in docs/results.md. */
struct verdict {
    const char *status;
    const char *reason;
};

/* 1 when a file's base name is test_*.py or *_test.py. */
int verdict_is_test_file(const char *path);

/* Writes the default command for job: pytest over its test files with a JUnit
 * report at VERDICT_REPORT_PATH. Returns 0, ATC_ENOTFOUND when the job has no
 * test file (the reason no_tests), or ATC_ETOOBIG when buf is too small. */
int verdict_default_cmd(const struct atc_job *job, char *buf, size_t buflen);

/* Writes the pip command installing job's deps into VERDICT_DEPS_DIR, with
 * --index-url index_url unless it is NULL or "" (a URL the settings checked:
 * no quote in it). 0 or ATC_ETOOBIG. */
int verdict_install_cmd(const struct atc_job *job, const char *index_url, char *buf,
                        size_t buflen);

/* The verdict of a test command that ran: custom is 1 for a job's own cmd;
 * report is NULL when no JUnit report could be read. */
struct verdict verdict_of_run(int custom, int exit_code, const struct atc_junit_report *report);

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
