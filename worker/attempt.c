/* attempt.c: one attempt of a job in a sandbox, through the Daytona client:
 * the flow (create, upload, install, block the network, test, report,
 * delete), its retries and what its steps' answers mean. What is written
 * into the sandbox and the command line that runs a command there are the
 * runner's (runner.c). */
#include "attempt.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/clock.h"
#include "atc/error.h"
#include "atc/log.h"
#include "digest.h"
#include "metrics.h"
#include "retry.h"
#include "runner.h"
#include "verdict.h"

/* 1 when the job must stop at the next step: abandoned or cancelled. */
static int stop_asked(const struct attempt_params *p)
{
    return *p->abandon || (p->cancel && *p->cancel);
}

/* The Daytona client's stop test while a job runs (atc_daytona_set_stop). */
static int client_stop(void *arg)
{
    return stop_asked(arg);
}

/* Starts the retries of one call (or of the job's sandboxes) with the
 * budget max_retries; abandoning or cancelling the job ends them and their waits. */
static void retry_start(struct retry *rt, const struct attempt_params *p, const char *job_id,
                        int max_retries)
{
    retry_init(rt, max_retries, retry_seed(job_id), p->abandon, p->cancel);
}

/* 1 for the faults after which a new sandbox may succeed: the transient ones
 * and a sandbox gone (ATC_ENOTFOUND) or in the wrong state (ATC_ECONFLICT). */
static int new_sandbox_may_cure(int rc)
{
    return atc_error_transient(rc) || rc == ATC_ENOTFOUND || rc == ATC_ECONFLICT;
}

/* After a call that failed with rc: when the error is transient and rt's
 * budget is not spent, waits the backoff (honouring Retry-After) and returns
 * 1; else 0. */
static int retry_pause(struct atc_daytona *d, struct retry *rt, const char *job_id, int rc,
                       const char *what, const char *err)
{
    if (!atc_error_transient(rc) || retry_stopped(rt))
        return 0;
    long wait = retry_next(rt, atc_daytona_last(d)->retry_after_s);
    if (wait < 0)
        return 0;
    ATC_WARN(job_id, "%s failed (%s); retry %d in %ld ms", what, err, rt->tries, wait);
    metrics_count("retries");
    /* A Retry-After may ask for minutes: a job given up meanwhile stops now. */
    return !retry_wait(rt, wait);
}

static void set_fleet_error(struct attempt_outcome *o, int rc, const char *what, const char *err)
{
    o->status = "error";
    o->reason = rc == ATC_ERATELIMIT ? "rate_limited" : "sandbox_failed";
    o->fleet_fault = 1;
    snprintf(o->error, sizeof(o->error), "%s: %s", what, err);
}

struct try_ctx {
    struct atc_daytona *d;
    const struct attempt_params *p;
    const struct atc_job *job;
    struct attempt_outcome *o;
    struct atc_sandbox sb;
    int created;
    double retry_after_s;
    char report[VERDICT_REPORT_PATH_MAX]; /* this try's report (verdict_report_path) */
    long created_at;                      /* mono_ms when the sandbox was made */
};

/* 1 when an exec's ATC_ETIMEDOUT is the service's 408 (the command ran out of
 * time), not our HTTP deadline or a connect timeout (a fault of the fleet). */
static int exec_timed_out(const struct try_ctx *t)
{
    return atc_daytona_last(t->d)->http_status == 408;
}

/* Runs cmd through the runner (runner_exec) with limit_s and this job's
 * output cap; the other fields of run as given. */
static int exec_runner(struct try_ctx *t, struct runner_run run, struct runner_reply *reply,
                       char *err, size_t errlen)
{
    run.max_output = t->p->max_output_bytes;
    return runner_exec(t->d, &t->sb, &run, reply, err, errlen);
}

/* A delete asked to wait longer than this is handed over at once. */
#define DELETE_WAIT_MAX_MS 5000
#define DELETE_RETRIES 2 /* three tries in all */

/* Deletes the sandbox id_or_name (the API takes either; gone already is
 * fine): three tries here, then it is handed to the reaper thread, so that the
 * job's result does not wait on the service. */
static void delete_sandbox(struct try_ctx *t, const char *id_or_name)
{
    char err[512];
    struct retry rt;
    int rc;

    /* A job given up still deletes what it made (nobody else may know of it),
     * but once, without waiting: the client's stop test is off meanwhile. */
    atc_daytona_set_stop(t->d, NULL, NULL);
    retry_start(&rt, t->p, t->job->id, DELETE_RETRIES);
    for (;;) {
        rc = atc_daytona_delete(t->d, id_or_name, err, sizeof(err));
        if (rc == 0 || rc == ATC_EAUTH || rc == ATC_EINVAL || retry_stopped(&rt))
            break;
        long wait = retry_next(&rt, atc_daytona_last(t->d)->retry_after_s);
        if (wait < 0 || wait > DELETE_WAIT_MAX_MS || retry_wait(&rt, wait))
            break;
    }
    atc_daytona_set_stop(t->d, client_stop, (void *)t->p);
    if (rc != 0) {
        if (t->p->defer_delete && t->p->defer_delete(t->p->defer_delete_arg, id_or_name))
            ATC_WARN(t->job->id, "could not delete sandbox %s (%s); the reaper thread retries",
                     id_or_name, err);
        else
            ATC_ERROR(t->job->id, "could not delete sandbox %s (the reaper's sweep will): %s",
                      id_or_name, err);
    }
}

static void do_delete(struct try_ctx *t)
{
    long t0 = atc_clock_mono_ms();

    delete_sandbox(t, t->sb.id);
    long took = atc_clock_mono_ms() - t0;
    t->o->sandbox_ms += atc_clock_mono_ms() - t->created_at;
    t->o->delete_ms = t->o->delete_ms < 0 ? took : t->o->delete_ms + took;
    t->created = 0;
    if (t->p->on_sandbox)
        t->p->on_sandbox(t->p->on_sandbox_arg, NULL);
}

/* After a create that failed for good: the service may still have made the
 * sandbox. rc is the last try's code, unanswered 1 when some try got no answer
 * (dropped, timed out). A reply that named a sandbox but was unusable left its
 * id in t->sb; an unanswered create may have made one under name. Either is
 * deleted (or handed to the reaper). */
static void forget_failed_create(struct try_ctx *t, const char *name, int unanswered, int rc)
{
    if (t->sb.id[0] != '\0') {
        ATC_WARN(t->job->id, "deleting sandbox %s, made by a create whose reply was unusable",
                 t->sb.id);
        delete_sandbox(t, t->sb.id);
    } else if (unanswered && rc != ATC_ECONFLICT) {
        /* (After a 409 for a sandbox that is not ours, the name is not ours.)
         * Also after a stop: the create in flight may have been carried out. */
        ATC_INFO(t->job->id, "deleting sandbox %s, in case the unanswered create made it", name);
        delete_sandbox(t, name);
    }
    memset(&t->sb, 0, sizeof(t->sb));
}

/* 1 when sb carries the labels this worker gives its job's sandbox. */
static int sandbox_is_ours(const struct atc_sandbox *sb, const char *job_id, const char *group)
{
    return strcmp(sb->job_label, job_id) == 0 && group != NULL &&
           strcmp(sb->fleet_label, group) == 0;
}

/* ---- dependency environments (worker/envs.c) ---- */

/* 1 when the job runs from its environment's snapshot (and the service has
 * not refused it since: o->env_lost). */
static int env_ready(const struct attempt_params *p, const struct attempt_outcome *o)
{
    return p->env && !o->env_lost &&
           (p->env->status == ENVS_HIT || p->env->status == ENVS_BUILT ||
            p->env->status == ENVS_WAITED);
}

/* The result fields of the environment, and a failed one's verdict: returns 1
 * when the job is over (pip cannot install its set), else 0. */
static int env_outcome(const struct attempt_params *p, const struct atc_job *job,
                       struct attempt_outcome *o)
{
    if (!p->env || p->env->status == ENVS_NONE)
        return 0;
    o->env_name = p->env->name[0] ? p->env->name : NULL;
    o->env_status = envs_status_name(p->env->status);
    o->env_build_ms = p->env->build_ms;
    if (p->env->status != ENVS_FAILED)
        return 0;
    const char *msg = p->env->error ? p->env->error : "";
    o->status = "error";
    o->reason = "deps_failed";
    o->install_output = strdup(msg);
    o->install_output_len = o->install_output ? strlen(msg) : 0;
    snprintf(o->error, sizeof(o->error),
             "pip could not install the dependencies (environment %s, %zu requirements); "
             "see install_output", p->env->name, job->ndeps);
    return 1;
}

/* Reads the environment's pip freeze into the outcome: known already, or
 * asked of the sandbox (the installed set only, where pip ran in it). */
static void env_freeze(struct try_ctx *t)
{
    const struct attempt_params *p = t->p;
    char err[512];
    struct runner_reply reply;

    if (!p->env || p->env->status == ENVS_NONE || p->env->status == ENVS_FAILED ||
        t->o->env_freeze)
        return;
    if (env_ready(p, t->o) && p->env->freeze) {
        t->o->env_freeze = strdup(p->env->freeze);
        return;
    }
    const char *cmd = env_ready(p, t->o) ? "python3 -m pip freeze --all 2>/dev/null"
                                   : "python3 -m pip freeze --all --path " VERDICT_DEPS_DIR
                                     " 2>/dev/null";
    if (exec_runner(t, (struct runner_run){.cmd = cmd, .limit_s = 60}, &reply, err,
                    sizeof(err)) != 0 || reply.exit_code != 0) {
        ATC_WARN(t->job->id, "cannot read the environment's pip freeze: %s",
                 reply.exit_code > 0 ? "pip freeze failed" : err);
        runner_reply_cleanup(&reply);
        return;
    }
    t->o->env_freeze = reply.output;
    reply.output = NULL;
    runner_reply_cleanup(&reply);
    t->o->env_freeze_new = env_ready(p, t->o);
}

static int do_create(struct try_ctx *t, int attempt, int try_no)
{
    struct attempt_outcome *o = t->o;
    const struct attempt_params *p = t->p;
    char name[VERDICT_SANDBOX_NAME_MAX];
    char err[512];
    struct retry rt;
    int rc;

    verdict_sandbox_name(t->job->id, attempt, try_no, name, sizeof(name));
    struct atc_kv labels[] = {
        {"atc-fleet", (char *)p->group},
        {"atc-job", t->job->id},
        {"atc-worker", (char *)p->worker_id},
    };
    const char *snap = t->job->snapshot ? t->job->snapshot : p->default_snapshot;
    if (env_ready(p, t->o))
        snap = p->env->name; /* its packages are in it: no pip */
    /* A backstop for a sandbox whose worker died: stop after the longest a job
     * may take, then delete. */
    int auto_stop = (int)((p->max_timeout_s + p->install_timeout_s + p->create_timeout_s) / 60) + 5;
    struct atc_sandbox_spec spec = {
        .name = name,
        .snapshot = snap && *snap ? snap : NULL,
        .labels = labels,
        .nlabels = sizeof(labels) / sizeof(labels[0]),
        .auto_stop_min = auto_stop,
        .auto_delete_min = 0,
        /* No egress from the start, unless pip needs it first (the install
         * then blocks it, do_block_network) or the job may have it open. */
        .network_block_all = !t->job->network_open &&
                             (t->job->ndeps == 0 || env_ready(p, t->o)),
    };
    long t0 = atc_clock_mono_ms();
    retry_start(&rt, p, t->job->id, p->retry_max);
    /* The service keeps failing: wait for the breaker, spending no retry. Once
     * let through, the create and its retries go on without it, and their
     * outcome is told to it once. */
    for (;;) {
        long long hold_ms = 0;
        if (stop_asked(p))
            return ATC_ECANCELED;
        if (!p->breaker || breaker_allow(p->breaker, &hold_ms))
            break;
        retry_wait(&rt, hold_ms < 1000 ? (long)hold_ms : 1000);
    }
    int unanswered = 0;
    rc = 0;
    for (;;) {
        if (stop_asked(p)) {
            if (p->breaker)
                breaker_release(p->breaker);
            forget_failed_create(t, name, unanswered, rc);
            return ATC_ECANCELED;
        }
        rc = atc_daytona_create(t->d, &spec, &t->sb, err, sizeof(err));
        if (rc == ATC_ECONFLICT) {
            /* Our own name: an earlier create reached the service but its reply
             * was lost. Adopted only when its labels say it is this job's. */
            rc = atc_daytona_get(t->d, name, &t->sb, err, sizeof(err));
            if (rc == 0 && !sandbox_is_ours(&t->sb, t->job->id, p->group)) {
                snprintf(err, sizeof(err),
                         "the name %s is taken by sandbox %s, which is not this job's "
                         "(labels atc-job=\"%.64s\", atc-fleet=\"%.64s\")",
                         name, t->sb.id, t->sb.job_label, t->sb.fleet_label);
                memset(&t->sb, 0, sizeof(t->sb));
                rc = ATC_ECONFLICT;
            }
        }
        if (rc == 0)
            break;
        /* (A create aborted by a stop may have reached the service too.) */
        if (rc == ATC_ECONN || rc == ATC_ETIMEDOUT || rc == ATC_ECANCELED)
            unanswered = 1;
        if (!retry_pause(t->d, &rt, t->job->id, rc, "creating the sandbox", err)) {
            long status = atc_daytona_last(t->d)->http_status;
            if (p->breaker && rc == ATC_ECANCELED)
                breaker_release(p->breaker); /* no outcome: the job stopped */
            else if (p->breaker)
                breaker_record(p->breaker, !breaker_is_fleet_fault(rc));
            if (rc == ATC_EPROTO && status >= 400 && status < 500) {
                /* The service answered and refused the sandbox as asked: an
                 * unknown snapshot, say. No retry can cure it. */
                o->status = "error";
                o->reason = "sandbox_rejected";
                /* The fleet's own default snapshot refused is the fleet's fault. */
                o->fleet_fault = t->job->snapshot == NULL;
                snprintf(o->error, sizeof(o->error),
                         "the sandbox service refused to create the sandbox%s%s%s: %s",
                         t->job->snapshot ? " (snapshot \"" : "",
                         t->job->snapshot ? t->job->snapshot : "",
                         t->job->snapshot ? "\")" : "", err);
            } else {
                set_fleet_error(o, rc, "creating the sandbox", err);
            }
            forget_failed_create(t, name, unanswered, rc);
            o->create_ms = atc_clock_mono_ms() - t0;
            return rc;
        }
    }
    if (p->breaker)
        breaker_record(p->breaker, 1);
    t->created = 1;
    t->created_at = atc_clock_mono_ms();
    snprintf(o->sandbox_id, sizeof(o->sandbox_id), "%s", t->sb.id);
    if (p->on_sandbox)
        p->on_sandbox(p->on_sandbox_arg, t->sb.id);
    rc = atc_daytona_wait_started(t->d, &t->sb, (long)p->create_timeout_s * 1000, err, sizeof(err));
    o->create_ms = atc_clock_mono_ms() - t0;
    if (rc != 0) {
        set_fleet_error(o, rc, "starting the sandbox", err);
        return rc;
    }
    ATC_DEBUG(t->job->id, "sandbox %s started in %ld ms", t->sb.id, o->create_ms);
    return 0;
}

static int do_upload(struct try_ctx *t)
{
    const struct atc_job *job = t->job;
    struct runner_upload up;
    char err[512];
    int rc;

    rc = runner_upload_init(&up, job, t->report, err, sizeof(err));
    if (rc != 0) {
        set_fleet_error(t->o, rc, "uploading", err);
        return rc;
    }
    long t0 = atc_clock_mono_ms();
    struct retry rt;
    retry_start(&rt, t->p, job->id, t->p->retry_max);
    /* An upload overwrites what it wrote before: safe to repeat in place. */
    for (;;) {
        rc = atc_daytona_upload(t->d, &t->sb, up.files, up.nfiles, err, sizeof(err));
        if (rc == 0 || !retry_pause(t->d, &rt, job->id, rc, "uploading the files", err))
            break;
    }
    t->o->upload_ms = atc_clock_mono_ms() - t0;
    if (rc != 0) {
        set_fleet_error(t->o, rc, "uploading the files", err);
        t->o->reason = rc == ATC_ERATELIMIT ? "rate_limited" : "upload_failed";
    }
    runner_upload_cleanup(&up);
    return rc;
}

/* Installs the dependencies. Returns 0 to go on, 1 when the job is over (its
 * outcome set), or a client error code (a fleet fault). */
static int do_install(struct try_ctx *t)
{
    struct attempt_outcome *o = t->o;
    char cmd[16384];
    char err[512];
    struct runner_reply reply;

    if (verdict_install_cmd(t->job, t->p->pip_index_url, cmd, sizeof(cmd)) != 0) {
        o->status = "error";
        o->reason = "deps_failed";
        snprintf(o->error, sizeof(o->error), "the dependency list is too long to install");
        return 1;
    }
    long t0 = atc_clock_mono_ms();
    int rc = exec_runner(t, (struct runner_run){.cmd = cmd, .limit_s = t->p->install_timeout_s},
                         &reply, err, sizeof(err));
    o->install_ms = atc_clock_mono_ms() - t0;
    if (rc == ATC_ETIMEDOUT && exec_timed_out(t)) {
        o->status = "timeout";
        o->reason = "install_timeout";
        snprintf(o->error, sizeof(o->error), "installing the dependencies took longer than %u s",
                 t->p->install_timeout_s);
        return 1;
    }
    if (rc != 0) {
        set_fleet_error(o, rc, "installing the dependencies", err);
        return rc;
    }
    int exit_code = reply.exit_code;
    if (exit_code != 0) {
        o->install_output = reply.output; /* pip's reasons, for the result */
        o->install_output_len = reply.output_len;
        reply.output = NULL;
    }
    runner_reply_cleanup(&reply);
    if (exit_code == 0)
        return 0;
    if (exit_code == VERDICT_TIMEOUT_EXIT) {
        o->status = "timeout";
        o->reason = "install_timeout";
        snprintf(o->error, sizeof(o->error), "installing the dependencies took longer than %u s",
                 t->p->install_timeout_s);
    } else {
        o->status = "error";
        o->reason = "deps_failed";
        snprintf(o->error, sizeof(o->error),
                 "pip could not install the dependencies (exit code %d); see install_output",
                 exit_code);
    }
    return 1;
}

/* After the install, before the tests: blocks the sandbox's network. A
 * service that refuses (a tier without network-settings) fails the job
 * closed: the tests never run with the network open. Returns 0 to go on, 1
 * when the job is over (its outcome set), or a client error code. */
static int do_block_network(struct try_ctx *t)
{
    char err[512];
    struct retry rt;
    int rc;

    retry_start(&rt, t->p, t->job->id, t->p->retry_max);
    for (;;) {
        rc = atc_daytona_block_network(t->d, t->sb.id, err, sizeof(err));
        if (rc == 0 || !retry_pause(t->d, &rt, t->job->id, rc, "blocking the network", err))
            break;
    }
    if (rc == 0) {
        t->o->network = "blocked_after_install";
        return 0;
    }
    long status = atc_daytona_last(t->d)->http_status;
    if (status >= 400 && status < 500) {
        t->o->status = "error";
        t->o->reason = "network_refused";
        t->o->fleet_fault = 1;
        snprintf(t->o->error, sizeof(t->o->error),
                 "the sandbox service refused to block the sandbox's network after the "
                 "install (%s); the tests were not run with the network open", err);
        return 1;
    }
    set_fleet_error(t->o, rc, "blocking the sandbox's network", err);
    return rc;
}

static void read_report(struct try_ctx *t)
{
    char *xml = NULL;
    size_t len = 0;
    char err[512];
    struct retry rt;
    int rc;

    retry_start(&rt, t->p, t->job->id, t->p->retry_max);
    for (;;) {
        rc = atc_daytona_download(t->d, &t->sb, t->report, 16u << 20, &xml, &len, err,
                                  sizeof(err));
        if (rc == 0 || !retry_pause(t->d, &rt, t->job->id, rc, "reading the report", err))
            break;
    }
    if (rc != 0) {
        if (rc != ATC_ENOTFOUND)
            ATC_WARN(t->job->id, "cannot read the JUnit report: %s", err);
        return;
    }
    if (atc_junit_parse(xml, len, 10000, 2048, &t->o->report, err, sizeof(err)) == 0)
        t->o->has_report = 1;
    else
        ATC_WARN(t->job->id, "the JUnit report is unreadable: %s", err);
    free(xml);
}

/* Parses the plugin's side report (json, from the runner's reply) and
 * renames the JUnit cases it calls flaky or timeout. A missing or unreadable
 * side report costs only the detail. */
static void take_side(struct try_ctx *t, const char *json, size_t len)
{
    char err[512];

    if (!json) {
        ATC_WARN(t->job->id, "no side report from the fleet plugin");
        return;
    }
    if (side_report_parse(json, len, 10000, &t->o->side, err, sizeof(err)) != 0) {
        ATC_WARN(t->job->id, "the side report is unreadable: %s", err);
        return;
    }
    t->o->has_side = 1;
    side_report_apply(&t->o->side, &t->o->report, &t->o->tests_flaky, &t->o->tests_timeout);
    if (!t->o->side.has_coverage)
        ATC_INFO(t->job->id, "no coverage measured: %s",
                 t->o->side.coverage_why ? t->o->side.coverage_why : "not asked for");
}

/* Runs the tests. Returns 0 (outcome set) or a client error code. */
static int do_test(struct try_ctx *t)
{
    struct attempt_outcome *o = t->o;
    const struct atc_job *job = t->job;
    char defcmd[16384];
    char err[512];
    const char *cmd = job->cmd;
    unsigned limit = job->has_timeout && job->timeout_s > 0 ? job->timeout_s : ATC_JOB_DEFAULT_TIMEOUT_S;
    if (limit > t->p->max_timeout_s)
        limit = t->p->max_timeout_s;

    if (!cmd) {
        struct verdict_plugin plug = {
            .test_timeout_s = verdict_test_timeout(job, t->p->test_timeout_s, limit),
            .reruns = job->has_reruns ? job->reruns : t->p->reruns,
            .coverage = t->p->coverage,
        };
        o->plugin = 1;
        o->test_timeout_s = plug.test_timeout_s;
        o->reruns = plug.reruns;
        int rc = verdict_plugin_cmd(job, t->report, &plug, defcmd, sizeof(defcmd));
        if (rc == ATC_ENOTFOUND) {
            o->status = "failed";
            o->reason = "no_tests";
            snprintf(o->error, sizeof(o->error),
                     "the job has no test file (test_*.py or *_test.py) and no cmd");
            return 0;
        }
        if (rc != 0) {
            o->status = "rejected";
            o->reason = "bad_message";
            snprintf(o->error, sizeof(o->error), "the test command is too long");
            return 0;
        }
        cmd = defcmd;
    }
    long t0 = atc_clock_mono_ms();
    char side[VERDICT_REPORT_PATH_MAX];
    struct runner_reply reply;
    verdict_side_path(t->report, side, sizeof(side));
    struct runner_run run = {
        .cmd = cmd,
        .report = t->report,
        .probe = job->network_open ? NULL : t->p->probe_addr,
        .side = o->plugin ? side : NULL,
        .limit_s = limit,
    };
    int rc = exec_runner(t, run, &reply, err, sizeof(err));
    o->test_ms = atc_clock_mono_ms() - t0;
    if (rc == 0) {
        o->output = reply.output;
        o->output_len = reply.output_len;
        o->output_truncated = reply.truncated;
        reply.output = NULL;
    }
    int exit_code = reply.exit_code;
    const struct verdict_header h = reply.h;
    if (rc == ATC_ETIMEDOUT && exec_timed_out(t)) {
        o->status = "timeout";
        o->reason = "test_timeout";
        snprintf(o->error, sizeof(o->error), "the tests ran longer than %u s", limit);
        return 0;
    }
    if (rc == ATC_ETOOBIG) {
        /* The runner caps what it prints: only a run that went around it
         * (writing to the runner's own output) sends more. */
        o->status = "failed";
        o->reason = "output_too_large";
        snprintf(o->error, sizeof(o->error),
                 "the sandbox's reply was larger than the output cap allows (%s): the run "
                 "wrote around the worker's capper", err);
        return 0;
    }
    if (rc != 0) {
        set_fleet_error(o, rc, "running the tests", err);
        return rc;
    }
    if (exit_code == 125 && strncmp(o->output ? o->output : "", VERDICT_NETWORK_OPEN_MARK,
                                    sizeof(VERDICT_NETWORK_OPEN_MARK) - 1) == 0) {
        /* The job's code has not run: the runner stopped before it. */
        o->status = "error";
        o->reason = "network_not_blocked";
        o->fleet_fault = 1;
        o->network = NULL;
        snprintf(o->error, sizeof(o->error),
                 "the sandbox still reached %s 10 s after its network was blocked; the tests "
                 "were not run", t->p->probe_addr);
        runner_reply_cleanup(&reply);
        return 1;
    }
    o->has_exit_code = 1;
    o->exit_code = exit_code;
    o->peak_rss = h.peak_rss;
    o->cpu_ms = h.cpu_ms;
    if (h.has_report)
        read_report(t);
    /* The verdict is the exit status and the JUnit report's; the side report
     * only renames tests already failed, and so at most refines the reason. */
    struct verdict v = verdict_of_run(job->cmd != NULL, exit_code, o->has_report ? &o->report : NULL,
                                      o->error, sizeof(o->error));
    if (o->plugin && o->has_report)
        take_side(t, reply.side, reply.side_len);
    runner_reply_cleanup(&reply);
    o->status = v.status;
    o->reason = verdict_refine_reason(v.status, v.reason, o->has_report ? &o->report : NULL,
                                      o->tests_flaky);
    if (exit_code == VERDICT_TIMEOUT_EXIT)
        snprintf(o->error, sizeof(o->error), "the tests ran longer than %u s", limit);
    return 0;
}

/* Clears what a failed try left in the outcome before the next try. */
static void reset_try(struct attempt_outcome *o)
{
    free(o->output);
    free(o->install_output);
    free(o->env_freeze);
    atc_junit_report_cleanup(&o->report);
    side_report_cleanup(&o->side);
    free(o->digest);
    o->digest = NULL;
    o->digest_len = 0;
    o->has_side = o->plugin = 0;
    o->tests_flaky = o->tests_timeout = 0;
    o->output = o->install_output = o->env_freeze = NULL;
    o->env_freeze_new = 0;
    o->output_len = o->install_output_len = 0;
    o->has_report = o->has_exit_code = o->fleet_fault = o->output_truncated = 0;
    o->status = o->reason = o->network = NULL;
    o->peak_rss = o->cpu_ms = -1;
    o->error[0] = '\0';
}

static void run_tries(struct atc_daytona *d, const struct attempt_params *p, const struct atc_job *job,
                      int attempt, struct attempt_outcome *out)
{
    struct retry rt;

    memset(out, 0, sizeof(*out));
    out->create_ms = out->upload_ms = out->install_ms = out->test_ms = out->delete_ms = -1;
    out->peak_rss = out->cpu_ms = -1;
    out->env_build_ms = -1;
    if (env_outcome(p, job, out))
        return;
    retry_start(&rt, p, job->id, p->retry_max);
    for (int try_no = 1;; try_no++) {
        struct try_ctx t = {.d = d, .p = p, .job = job, .o = out};
        unsigned char nonce[16];
        int rc;

        /* A fresh, unpredictable report path per try (getrandom: the kernel's
         * pool, never rand()). */
        if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce)) {
            reset_try(out);
            out->status = "error";
            out->reason = "sandbox_failed";
            out->fleet_fault = 1;
            snprintf(out->error, sizeof(out->error), "getrandom failed: %s", strerror(errno));
            return;
        }
        verdict_report_path(nonce, t.report, sizeof(t.report));

        reset_try(out);
        out->tries = try_no;
        rc = do_create(&t, attempt, try_no);
        if (rc != 0 && env_ready(p, out) && out->reason && strcmp(out->reason, "sandbox_rejected") == 0 &&
            !stop_asked(p)) {
            /* The environment's snapshot is gone (dropped by GC or by hand
             * since it was read): pip in a sandbox of the default image. */
            ATC_WARN(job->id, "environment %s refused by the service (%s); installing in the "
                     "sandbox instead", p->env->name, out->error);
            out->env_lost = 1;
            out->env_status = envs_status_name(ENVS_FALLBACK);
            out->env_build_ms = -1;
            metrics_count("env_fallbacks");
            try_no--;
            continue;
        }
        if (rc == 0 && !stop_asked(p))
            rc = do_upload(&t);
        if (rc == 0 && !stop_asked(p) && job->ndeps > 0 && !env_ready(p, out))
            rc = do_install(&t);
        if (rc == 0 && !stop_asked(p) && job->ndeps > 0 && !env_ready(p, out) &&
            !job->network_open)
            rc = do_block_network(&t);
        if (rc == 0 && !stop_asked(p) && !out->network)
            out->network = job->network_open ? "open" : "blocked";
        if (rc == 0 && !stop_asked(p))
            rc = do_test(&t);
        if (rc == 0 && !stop_asked(p))
            env_freeze(&t);
        int had_sandbox = t.created;
        if (t.created)
            do_delete(&t);
        if (*p->abandon) {
            reset_try(out);
            return;
        }
        if (p->cancel && *p->cancel) {
            /* Whatever the run saw after its sandbox went away is not a verdict. */
            reset_try(out);
            out->status = "cancelled";
            out->reason = "cancelled";
            snprintf(out->error, sizeof(out->error), "cancelled while it ran");
            return;
        }
        if (rc == 1 || rc == 0 || !out->fleet_fault)
            return;
        /* A fleet fault after the sandbox existed: a new sandbox may cure it.
         * (A create that failed has had its own retries already.) */
        if (!had_sandbox || !new_sandbox_may_cure(rc) || rc == ATC_ECANCELED)
            return;
        long wait = retry_next(&rt, atc_daytona_last(d)->retry_after_s);
        if (wait < 0)
            return;
        ATC_WARN(job->id, "try %d failed (%s); retrying with a new sandbox in %ld ms", try_no,
                 out->error, wait);
        metrics_count("retries");
        retry_wait(&rt, wait); /* a stop: the next try sees it and ends the job */
    }
}

/* The result's digest of a finished run: its failed, erroring, timed-out and
 * flaky tests (details from the side report where it has them, else the
 * JUnit message), or pip's reason for a failed install. A digest that cannot
 * be built is left out. */
static void make_digest(const struct attempt_params *p, const struct atc_job *job,
                        struct attempt_outcome *o)
{
    struct digest_test *dt = NULL;
    const char **files = NULL;
    char *names = NULL;
    size_t n = 0, hint = 0;
    enum { NAME_MAX_LEN = 320 };

    if (!o->status || strcmp(o->status, "cancelled") == 0)
        return;
    int install_failed = o->install_output != NULL;
    if (!o->has_report && !install_failed)
        return;
    dt = calloc(o->report.ntests ? o->report.ntests : 1, sizeof(*dt));
    files = calloc(job->nfiles ? job->nfiles : 1, sizeof(*files));
    names = calloc(o->report.ntests ? o->report.ntests : 1, NAME_MAX_LEN);
    if (!dt || !files || !names)
        goto out;
    for (size_t i = 0; i < job->nfiles; i++)
        files[i] = job->files[i].path;
    for (size_t i = 0; o->has_report && i < o->report.ntests; i++) {
        const struct atc_test_case *c = &o->report.tests[i];
        if (c->outcome == ATC_TEST_PASSED || c->outcome == ATC_TEST_SKIPPED)
            continue;
        const struct side_test *st =
            o->has_side ? side_report_find_from(&o->side, c->classname ? c->classname : "",
                                                c->name ? c->name : "", &hint)
                        : NULL;
        snprintf(names + n * NAME_MAX_LEN, NAME_MAX_LEN, "%s%s%s", c->classname ? c->classname : "",
                 c->classname && c->classname[0] ? "::" : "", c->name ? c->name : "?");
        dt[n].name = names + n * NAME_MAX_LEN;
        dt[n].outcome = atc_test_outcome_name(c->outcome);
        dt[n].what = st && st->exception ? st->exception : c->message;
        dt[n].frames = st ? st->frames : NULL;
        dt[n].nframes = st ? st->nframes : 0;
        n++;
    }
    if (digest_build(dt, n, files, job->nfiles, o->install_output, o->install_output_len,
                     p->digest_bytes ? p->digest_bytes : 2048, &o->digest, &o->digest_len) != 0)
        ATC_WARN(job->id, "no digest: out of memory");
out:
    free(names);
    free(dt);
    free(files);
}

/* The outcome of a job this worker will not run as asked: rejected, with
 * reason; the caller writes the error. */
static void refuse_job(struct attempt_outcome *out, const char *reason)
{
    memset(out, 0, sizeof(*out));
    out->create_ms = out->upload_ms = out->install_ms = out->test_ms = out->delete_ms = -1;
    out->peak_rss = out->cpu_ms = -1;
    out->status = "rejected";
    out->reason = reason;
}

void attempt_run(struct atc_daytona *d, const struct attempt_params *p, const struct atc_job *job,
             int attempt, struct attempt_outcome *out)
{
    if (job->snapshot && !verdict_snapshot_allowed(p->snapshot_allow, job->snapshot)) {
        refuse_job(out, "snapshot_not_allowed");
        snprintf(out->error, sizeof(out->error),
                 "the job names the snapshot \"%.200s\", which is not on this fleet's list "
                 "(ATC_SNAPSHOT_ALLOW); send it without \"snapshot\" for the default",
                 job->snapshot);
        return;
    }
    if (job->network_open && !p->allow_open_network) {
        refuse_job(out, "network_not_allowed");
        snprintf(out->error, sizeof(out->error),
                 "the job asks for \"network\": \"open\", which this fleet does not allow "
                 "(its operator can, with ATC_ALLOW_OPEN_NETWORK=1); send it without "
                 "\"network\" to run it with no network");
        return;
    }
    /* Whatever the job waits on (a request, a sandbox starting), it stops
     * within about a second of being abandoned or cancelled. */
    atc_daytona_set_stop(d, client_stop, (void *)p);
    run_tries(d, p, job, attempt, out);
    atc_daytona_set_stop(d, NULL, NULL);
    make_digest(p, job, out);
}

void attempt_outcome_cleanup(struct attempt_outcome *o)
{
    if (!o)
        return;
    free(o->output);
    free(o->install_output);
    free(o->env_freeze);
    atc_junit_report_cleanup(&o->report);
    side_report_cleanup(&o->side);
    free(o->digest);
    o->output = o->install_output = o->digest = o->env_freeze = NULL;
}
