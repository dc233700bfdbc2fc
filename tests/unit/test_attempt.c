/* test_attempt.c: one attempt of a job (worker/attempt.c, worker/runner.c)
 * against a fake sandbox service and a fake clock (tests/unit/fakes): which
 * calls are retried, when the run gives up, what it deletes and what it hands
 * to the reaper, how a cancel or an abandon ends it, and what the sandbox
 * receives (files and command lines, pinned). */
#include "support.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "envfile.h"
#include "fakes.h"
#include "attempt.h"
#include "verdict.h"

static atomic_int abandon, cancel;
static char deferred[8][160];
static int ndeferred;
static struct atc_job_file files[] = {{"test_a.py", (unsigned char *)"def test_a(): pass\n", 19}};
static struct atc_job job = {.v = 1, .id = "job-1", .files = files, .nfiles = 1};
static struct attempt_params params;
static struct attempt_outcome out;
static struct atc_daytona *d;

static int defer_delete(void *arg, const char *id)
{
    (void)arg;
    if (ndeferred < 8)
        snprintf(deferred[ndeferred++], sizeof(deferred[0]), "%s", id);
    return 1;
}

static int setup(void **state)
{
    (void)state;
    fake_clock_reset();
    fake_daytona_reset();
    abandon = cancel = 0;
    ndeferred = 0;
    params = (struct attempt_params){
        .group = "fleet",
        .worker_id = "w-1",
        .max_timeout_s = 60,
        .install_timeout_s = 60,
        .create_timeout_s = 60,
        .max_output_bytes = 4096,
        .retry_max = 2,
        .abandon = &abandon,
        .cancel = &cancel,
        .defer_delete = defer_delete,
    };
    memset(&out, 0, sizeof(out));
    d = atc_daytona_new(NULL, NULL, 0);
    return d == NULL;
}

static int teardown(void **state)
{
    (void)state;
    attempt_outcome_cleanup(&out);
    atc_daytona_destroy(d);
    return 0;
}

static void set_cancel(void *arg)
{
    (void)arg;
    cancel = 1;
}

static void abandon_on_exec(void *arg, enum fake_dt_call call, int n)
{
    (void)arg;
    (void)n;
    if (call == FAKE_DT_EXEC)
        abandon = 1;
}

static void attempt__healthy_service__runs_the_tests_and_deletes_the_sandbox(void **state)
{
    (void)state;
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "passed");
    assert_string_equal(out.reason, "tests_passed");
    assert_int_equal(out.tries, 1);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 1);
    assert_int_equal(fake_dt.ndeleted, 1);
    assert_string_equal(fake_dt.deleted[0], "sb-1");
    assert_false(fake_dt.stop_set); /* the stop test is removed at the end */
}

static void attempt__create_failing_with_5xx__is_retried_then_given_up(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ESERVER};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    attempt_run(d, &params, &job, 1, &out);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 3); /* one try and retry_max retries */
    assert_string_equal(out.status, "error");
    assert_string_equal(out.reason, "sandbox_failed");
    assert_true(out.fleet_fault);
    assert_int_equal(fake_dt.calls[FAKE_DT_EXEC], 0);
    /* The service answered each create: nothing of ours can exist. */
    assert_int_equal(fake_dt.ndeleted, 0);
    assert_true(fake_clock.now_ms >= 250 + 500); /* two backoffs were waited */
}

static void attempt__create_refused_with_4xx__is_not_retried(void **state)
{
    (void)state;
    const int rcs[] = {ATC_EPROTO};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    fake_dt.http_status = 400;
    attempt_run(d, &params, &job, 1, &out);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 1);
    assert_string_equal(out.reason, "sandbox_rejected");
    assert_int_equal(fake_clock.sleeps, 0);
}

static void attempt__create_unanswered_then_answered__runs_once(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ECONN, 0};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 2);
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "passed");
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 2);
    /* The retry asks for the same name, so a create that did land is found. */
    assert_string_equal(fake_dt.created[0], fake_dt.created[1]);
    assert_int_equal(fake_dt.calls[FAKE_DT_EXEC], 1);
    assert_int_equal(fake_dt.ndeleted, 1);
}

static void attempt__create_unanswered_for_good__deletes_by_name_in_case_it_landed(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ECONN};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    attempt_run(d, &params, &job, 1, &out);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 3);
    assert_string_equal(out.reason, "sandbox_failed");
    assert_int_equal(fake_dt.ndeleted, 1);
    assert_string_equal(fake_dt.deleted[0], fake_dt.created[0]);
}

static void attempt__delete_failing__is_handed_to_the_reaper(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ESERVER};
    fake_daytona_script(FAKE_DT_DELETE, rcs, 1);
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "passed"); /* the verdict does not wait on it */
    assert_int_equal(fake_dt.calls[FAKE_DT_DELETE], 3);
    assert_int_equal(ndeferred, 1);
    assert_string_equal(deferred[0], "sb-1");
}

static void attempt__delete_told_to_wait_a_minute__is_handed_over_at_once(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ERATELIMIT};
    fake_daytona_script(FAKE_DT_DELETE, rcs, 1);
    fake_dt.retry_after_s = 60;
    fake_dt.http_status = 429;
    attempt_run(d, &params, &job, 1, &out);
    assert_int_equal(fake_dt.calls[FAKE_DT_DELETE], 1);
    assert_int_equal(ndeferred, 1);
    assert_true(fake_clock.now_ms < 1000);
}

static void attempt__cancel_during_a_retry_wait__ends_the_wait_and_the_job(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ERATELIMIT};
    fake_daytona_script(FAKE_DT_CREATE, rcs, 1);
    fake_dt.retry_after_s = 120; /* a wait of two minutes... */
    fake_dt.http_status = 429;
    fake_clock.on_sleep = set_cancel; /* ...cancelled as it starts */
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "cancelled");
    assert_string_equal(out.reason, "cancelled");
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 1);
    assert_true(fake_clock.now_ms <= 200); /* ended within one slice */
}

static void attempt__abandoned_while_testing__has_no_status_and_deletes_its_sandbox(void **state)
{
    (void)state;
    fake_dt.on_call = abandon_on_exec;
    attempt_run(d, &params, &job, 1, &out);
    assert_null(out.status);
    assert_int_equal(fake_dt.ndeleted, 1);
    assert_string_equal(fake_dt.deleted[0], "sb-1");
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 1); /* no new sandbox after an abandon */
}

static void attempt__exec_unanswered__is_retried_on_a_new_sandbox(void **state)
{
    (void)state;
    const int rcs[] = {ATC_ECONN, 0};
    fake_daytona_script(FAKE_DT_EXEC, rcs, 2);
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "passed");
    assert_int_equal(out.tries, 2);
    assert_int_equal(fake_dt.calls[FAKE_DT_CREATE], 2);
    assert_int_equal(fake_dt.ndeleted, 2);
    assert_string_not_equal(fake_dt.created[0], fake_dt.created[1]); /* try 1 and try 2 */
}

static void attempt__tests_exiting_1__are_failed(void **state)
{
    (void)state;
    fake_dt.exit_code = 1;
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "failed");
    assert_string_equal(out.reason, "tests_failed");
    assert_false(out.fleet_fault);
    assert_int_equal(out.exit_code, 1);
}

/* ---- what the sandbox receives (worker/runner.c), pinned ---- */

/* The runner's own scripts, as uploaded: size and fake_fnv1a of their bytes.
 * Pinned on 2026-12-07 (the split of attempt.c, which must not change them);
 * a change to a script changes these on purpose. */
struct pinned {
    const char *path;
    size_t len;
    uint64_t fnv;
};
static const struct pinned runner_scripts[] = {
    {".atc/run.sh", 807, 0x11531794c9aa8c46ULL},
    {".atc/cap.py", 1080, 0x2ee0f5d48616fa19ULL},
    {".atc/meter.py", 392, 0xf2e1296a17f28438ULL},
    {".atc/probe.py", 310, 0x0e9effe67b65b6f0ULL},
};

static const struct fake_dt_file *uploaded(const char *path)
{
    for (int i = 0; i < fake_dt.nuploaded; i++)
        if (strcmp(fake_dt.uploaded[i].path, path) == 0)
            return &fake_dt.uploaded[i];
    fail_msg("%s was not uploaded", path);
    return NULL;
}

static void assert_scripts_pinned(void)
{
    size_t n = sizeof(runner_scripts) / sizeof(runner_scripts[0]);
    int differ = 0;
    for (size_t i = 0; i < n; i++) {
        const struct fake_dt_file *f = uploaded(runner_scripts[i].path);
        if (f->len != runner_scripts[i].len || f->fnv != runner_scripts[i].fnv) {
            print_error("%s: %zu bytes, fnv 0x%016llxULL (pinned: %zu, 0x%016llxULL)\n",
                        f->path, f->len, (unsigned long long)f->fnv, runner_scripts[i].len,
                        (unsigned long long)runner_scripts[i].fnv);
            differ = 1;
        }
    }
    assert_false(differ);
}

/* The .atc/env uploaded is envfile_for_job's for this try's report. */
static void assert_envfile_for(const struct atc_job *j, const char *report)
{
    char *env = NULL;
    size_t len = 0;
    char e[256];
    assert_int_equal(envfile_for_job(j, report, &env, &len, e, sizeof(e)), 0);
    const struct fake_dt_file *f = uploaded(ENVFILE_PATH);
    assert_int_equal(f->len, len);
    assert_true(f->fnv == fake_fnv1a(env, len));
    free(env);
}

/* The uploaded paths, in order, are the job's then want[0..n). */
static void assert_upload_list(const struct atc_job *j, const char *const *want, int n)
{
    assert_int_equal(fake_dt.nuploaded, (int)j->nfiles + n);
    for (size_t i = 0; i < j->nfiles; i++)
        assert_string_equal(fake_dt.uploaded[i].path, j->files[i].path);
    for (int i = 0; i < n; i++)
        assert_string_equal(fake_dt.uploaded[j->nfiles + i].path, want[i]);
}

/* The runner's line of exec x with the report path it names (into report). */
static void assert_runner_line(const struct fake_dt_exec *x, const char *head_tail_fmt,
                               const char *probe, int with_side, char *report, size_t reportlen)
{
    char want[640], side[VERDICT_REPORT_PATH_MAX];
    /* The report path is random per try: taken from the line, then checked. */
    const char *r = x->command + strlen("sh .atc/run.sh 60 ") + strlen(head_tail_fmt);
    const char *sp = strchr(r, ' ');
    assert_non_null(sp);
    snprintf(report, reportlen, "%.*s", (int)(sp - r), r);
    assert_int_equal(strncmp(report, ".atc/r-", 7), 0);
    verdict_side_path(report, side, sizeof(side));
    snprintf(want, sizeof(want), "sh .atc/run.sh 60 %s%s %s %s", head_tail_fmt, report, probe,
             with_side ? side : "-");
    assert_string_equal(x->command, want);
    assert_int_equal(x->nenv, 1);
}

static void attempt__default_command__sends_the_pinned_runner_files_and_line(void **state)
{
    char report[VERDICT_REPORT_PATH_MAX], cmd[16384], path[512];
    static const char *const want[] = {".atc/run.sh", ".atc/cap.py", ENVFILE_PATH,
                                       ".atc/meter.py", ".atc/probe.py", VERDICT_PLUGIN_PATH};
    (void)state;
    attempt_run(d, &params, &job, 1, &out);
    assert_string_equal(out.status, "passed");
    assert_upload_list(&job, want, 6);
    assert_scripts_pinned();
    assert_int_equal(fake_dt.nexecs, 1);
    /* 4096 bytes of output: head and tail around the cut mark. */
    assert_runner_line(&fake_dt.execs[0], "2034 2034 ", "-", 1, report, sizeof(report));
    assert_int_equal(fake_dt.execs[0].timeout_s, 80);
    assert_int_equal(fake_dt.execs[0].max_output, 4096 + 128 + 262144);
    struct verdict_plugin plug = {.test_timeout_s = verdict_test_timeout(&job, 0, 60)};
    assert_int_equal(verdict_plugin_cmd(&job, report, &plug, cmd, sizeof(cmd)), 0);
    assert_string_equal(fake_dt.execs[0].atc_cmd, cmd);
    assert_envfile_for(&job, report);
    /* The plugin goes up whole, as worker/fleet_plugin.py holds it. */
    snprintf(path, sizeof(path), "%s/worker/fleet_plugin.py", ATC_SOURCE_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static unsigned char plugin[1 << 20];
    size_t n = fread(plugin, 1, sizeof(plugin), f);
    fclose(f);
    const struct fake_dt_file *up = uploaded(VERDICT_PLUGIN_PATH);
    assert_int_equal(up->len, n);
    assert_true(up->fnv == fake_fnv1a(plugin, n));
}

static void attempt__own_command_with_deps__installs_then_tests_without_the_plugin(void **state)
{
    char report[VERDICT_REPORT_PATH_MAX], cmd[16384];
    char *deps[] = {"requests==2.31.0"};
    struct atc_job j = job;
    static const char *const want[] = {".atc/run.sh", ".atc/cap.py", ENVFILE_PATH,
                                       ".atc/meter.py", ".atc/probe.py"};
    (void)state;
    j.cmd = "python3 -m pytest -q";
    j.deps = deps;
    j.ndeps = 1;
    params.probe_addr = "127.0.0.1:9";
    attempt_run(d, &params, &j, 1, &out);
    assert_string_equal(out.status, "passed");
    assert_upload_list(&j, want, 5);
    assert_scripts_pinned();
    assert_int_equal(fake_dt.nexecs, 2);
    assert_int_equal(fake_dt.calls[FAKE_DT_NETWORK], 1);
    /* The install: no report, no probe (the network is open for pip). */
    assert_string_equal(fake_dt.execs[0].command, "sh .atc/run.sh 60 2034 2034 - - -");
    assert_int_equal(verdict_install_cmd(&j, NULL, cmd, sizeof(cmd)), 0);
    assert_string_equal(fake_dt.execs[0].atc_cmd, cmd);
    assert_int_equal(fake_dt.execs[0].timeout_s, 80);
    assert_int_equal(fake_dt.execs[0].max_output, 4096 + 128);
    /* The tests: the report, the probe, no side report. */
    assert_runner_line(&fake_dt.execs[1], "2034 2034 ", "127.0.0.1:9", 0, report, sizeof(report));
    assert_string_equal(fake_dt.execs[1].atc_cmd, j.cmd);
    assert_int_equal(fake_dt.execs[1].max_output, 4096 + 128);
    assert_envfile_for(&j, report);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(attempt__healthy_service__runs_the_tests_and_deletes_the_sandbox),
        T(attempt__create_failing_with_5xx__is_retried_then_given_up),
        T(attempt__create_refused_with_4xx__is_not_retried),
        T(attempt__create_unanswered_then_answered__runs_once),
        T(attempt__create_unanswered_for_good__deletes_by_name_in_case_it_landed),
        T(attempt__delete_failing__is_handed_to_the_reaper),
        T(attempt__delete_told_to_wait_a_minute__is_handed_over_at_once),
        T(attempt__cancel_during_a_retry_wait__ends_the_wait_and_the_job),
        T(attempt__abandoned_while_testing__has_no_status_and_deletes_its_sandbox),
        T(attempt__exec_unanswered__is_retried_on_a_new_sandbox),
        T(attempt__tests_exiting_1__are_failed),
        T(attempt__default_command__sends_the_pinned_runner_files_and_line),
        T(attempt__own_command_with_deps__installs_then_tests_without_the_plugin),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
