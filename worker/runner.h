/* runner.h: the in-sandbox runner, everything the worker writes into a
 * sandbox beside the job's files and how it runs a command there:
 *   .atc/run.sh     runs $ATC_CMD under a time limit, with the job's
 *                   environment (.atc/env, envfile.c) for the command only,
 *                   the network block checked first, the output capped
 *   .atc/cap.py     caps the output to a head and a tail, prints the header
 *                   line (verdict_parse_header) and the plugin's side report
 *   .atc/meter.py   the run's peak memory and CPU time
 *   .atc/probe.py   the network probe
 *   the fleet's pytest plugin (worker/fleet_plugin.py, VERDICT_PLUGIN_PATH),
 *                   for the default command only
 * and the command line that runs run.sh, and the reading of its reply. The
 * commands it runs come from elsewhere (pytest's and pip's: verdict.c); when
 * to run what, and what the outcome means, is attempt.c's. */
#ifndef ATC_WORKER_RUNNER_H
#define ATC_WORKER_RUNNER_H

#include <stddef.h>
#include "atc/daytona.h"
#include "atc/job.h"
#include "verdict.h"

/* The largest side report that rides in the exec's reply (else none). */
#define RUNNER_SIDE_MAX 262144

/* The files of one try's upload: the job's, then the runner's. */
struct runner_upload {
    struct atc_job_file *files;     /* malloc'd; the entries point at the job's
                                     * bytes, the runner's static ones and envfile */
    size_t nfiles;
    char *envfile;                  /* .atc/env, malloc'd */
    size_t envfile_len;
};

/* Fills u for job, whose try writes its JUnit report at report
 * (verdict_report_path): the job's files, run.sh, cap.py, .atc/env, meter.py,
 * probe.py and, when the job has no cmd of its own, the plugin. u borrows
 * from job until runner_upload_cleanup. 0, or ATC_ENOMEM with err. */
int runner_upload_init(struct runner_upload *u, const struct atc_job *job, const char *report,
                       char *err, size_t errlen);
void runner_upload_cleanup(struct runner_upload *u); /* accepts a zeroed u */

/* One command run through .atc/run.sh. */
struct runner_run {
    const char *cmd;                /* the shell command (ATC_CMD) */
    const char *report;             /* the fleet's JUnit report path, or NULL */
    const char *probe;              /* "host:port" that must not answer, or NULL/"" */
    const char *side;               /* the plugin's side report path, or NULL */
    unsigned limit_s;               /* run.sh's time limit (the service's is 20 s more) */
    size_t max_output;              /* the output kept, ATC_MAX_OUTPUT_BYTES */
};

/* What run.sh answered. */
struct runner_reply {
    int exit_code;                  /* the command's; 124 when the limit fired */
    char *output;                   /* malloc'd, NUL-terminated, at most max_output bytes */
    size_t output_len;
    int truncated;                  /* 1: the command printed more */
    struct verdict_header h;        /* the header line (report, usage) */
    char *side;                     /* the side report (malloc'd), or NULL */
    size_t side_len;
};

/* Runs run->cmd in sb through `sh .atc/run.sh` (uploaded with
 * runner_upload_init). On success (0) *reply is set and owns its buffers
 * (runner_reply_cleanup); otherwise the Daytona client's code, with err, and
 * *reply holds nothing to free. */
int runner_exec(struct atc_daytona *d, const struct atc_sandbox *sb, const struct runner_run *run,
                struct runner_reply *reply, char *err, size_t errlen);
void runner_reply_cleanup(struct runner_reply *reply);

#endif
