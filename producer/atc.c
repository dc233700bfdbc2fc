/* atc.c: the `atc` command line: submit jobs, get results, wait for them, cancel
 * them, watch jobs finish and count them, replay dead letters. */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "atc/client.h"
#include "atc/clock.h"
#include "atc/dotenv.h"
#include "atc/error.h"
#include "atc/job.h"
#include "atc/kafka.h"
#include "atc/log.h"
#include "atc/results.h"
#include "doctor.h"
#include "env.h"
#include "render.h"
#include "replay.h"
#include "watch.h"

#define ATC_CLI_MAX_XPROPS 128

/* What every command accepts: -X name=value, --json, --help. */
struct cli_common {
    char *xprops[ATC_CLI_MAX_XPROPS];
    size_t nx;
    int json;
};

static const char main_usage[] =
    "usage: atc [-X name=value]... <command> [options]\n"
    "\n"
    "commands:\n"
    "  submit   send a job to the fleet; prints its id once the broker has it\n"
    "  get      print a job's result\n"
    "  wait     wait for a job's final result and print it\n"
    "  cancel   cancel a job: a queued job never runs, a running one is stopped\n"
    "  race     run candidate implementations as one group; stop once N passed\n"
    "  watch    print one line per job as it finishes\n"
    "  stats    jobs by status over a window, and the workers' lag\n"
    "  replay-dlq  send dead-lettered jobs again (fleet errors), resetting their results\n"
    "  doctor   check the configuration, Kafka, Redis and Daytona, one line each\n"
    "  env      the fleet's dependency environments: env ls | env build DEP... | env rm NAME\n"
    "\n"
    "  atc submit [--code FILE] [--tests FILE] [--file PATH=FILE]... [--dep REQ]...\n"
    "             [--cmd CMD] [--timeout S] [--test-timeout S] [--reruns N] [--group G]\n"
    "             [--env K=V]... [--label K=V]... [--id ID]\n"
    "             [--snapshot NAME] [--cache] [--cpu N] [--memory GIB] [--disk GIB]\n"
    "             [--wait [--wait-timeout S]] [--json]\n"
    "  atc get ID [--json]\n"
    "  atc wait ID [--timeout S] [--json]\n"
    "  atc cancel ID\n"
    "  atc race --candidate PATH=FILE... [--need N] [--wait-timeout S] [job options]\n"
    "  atc watch [--label K=V]... [--count N] [--json]\n"
    "  atc stats [--window S] [--json]\n"
    "  atc replay-dlq [--dry-run] [--reason R]... [--id ID]... [--since TS|DURATION]\n"
    "                 [--max N] [--json]\n"
    "  atc doctor [--json] [--no-sandbox] [--timeout S]\n"
    "\n"
    "global options:\n"
    "  -X name=value   set a librdkafka property (repeatable)\n"
    "  --help          this help; 'atc <command> --help' for a command's\n"
    "\n"
    "environment:\n"
    "  ATC_BROKERS      bootstrap servers (default " ATC_DEFAULT_BROKERS ")\n"
    "  ATC_KAFKA_<NAME> any librdkafka property (ATC_KAFKA_SECURITY_PROTOCOL=SASL_SSL)\n"
    "  ATC_JOBS_TOPIC   jobs topic (default " ATC_DEFAULT_JOBS_TOPIC ")\n"
    "  ATC_REDIS_URL    results store (default redis://127.0.0.1:6379/0)\n"
    "  ATC_GROUP        the workers' consumer group, for stats (default " ATC_DEFAULT_GROUP ")\n"
    "  ATC_DLQ_TOPIC    dead-letter topic, for replay-dlq (default " ATC_DEFAULT_DLQ_TOPIC ")\n"
    "  TRACEPARENT      W3C trace context sent with a submitted job\n"
    "  ATC_LOG_LEVEL    diagnostics on stderr: debug, info, warn (default), error\n"
    "  .env.local, .env DAYTONA_* and ATC_* read from these files in the working\n"
    "                   directory; the environment wins (docs/configuration.md)\n"
    "\n"
    "exit status: 0 submitted or passed (or not final yet, for get), or cancelled;\n"
    "  1 failed; 3 error, timeout, rejected, cancelled (cancel: already final);\n"
    "  4 no result within the wait, or no such job;\n"
    "  2 bad usage, or a broker or Redis that cannot be reached.\n";

static const char submit_usage[] =
    "usage: atc submit [options]\n"
    "  --code FILE        upload FILE under its base name\n"
    "  --tests FILE       upload FILE under its base name\n"
    "  --file PATH=FILE   upload FILE as PATH (relative; repeatable)\n"
    "  --dep REQ          a pip requirement, e.g. 'requests>=2,<3' (repeatable)\n"
    "  --cmd CMD          the test command (default: pytest over the test files)\n"
    "  --timeout S        wall-clock limit of the test run in seconds\n"
    "  --test-timeout S   limit of each test in seconds (default: the worker's)\n"
    "  --reruns N         run a failed test again up to N times (0..5; default: the worker's)\n"
    "  --group G          the race group the job belongs to (copied into the result)\n"
    "  --env K=V          environment variable for the run (repeatable)\n"
    "  --label K=V        label copied into the result (repeatable)\n"
    "  --id ID            the job id (default: a fresh UUIDv7)\n"
    "  --snapshot NAME    the sandbox snapshot (default: the worker's)\n"
    "  --cache            reuse the final result of an identical earlier job\n"
    "  --cpu N            vCPUs for its sandbox (the fleet caps it; default: Daytona's)\n"
    "  --memory GIB       memory for its sandbox in GiB (capped likewise)\n"
    "  --disk GIB         disk for its sandbox in GiB (capped likewise)\n"
    "  --wait             then wait for the result and print it\n"
    "  --wait-timeout S   give up waiting after S seconds (default: no limit)\n"
    "  --json             print the result as one JSON object\n"
    "  -X name=value      librdkafka property\n"
    "Prints the job id once the broker has acknowledged the message.\n";

static const char get_usage[] =
    "usage: atc get ID [--json]\n"
    "Prints the job's result, final or not. Exit status 0 for passed or a result\n"
    "not final yet (queued, running), 1 failed, 3 error/timeout/rejected, 4 no such job.\n";

static const char wait_usage[] =
    "usage: atc wait ID [--timeout S] [--json]\n"
    "Waits until the job's result is final (default: no limit) and prints it.\n"
    "Exit status 0 passed, 1 failed, 3 error/timeout/rejected, 4 no final result\n"
    "within the wait (the current result is printed, where there is one).\n";

static const char cancel_usage[] =
    "usage: atc cancel ID\n"
    "Cancels a job: sets its cancel mark and nudges the workers, then waits up to\n"
    "5 s for the final status cancelled. A queued job ends cancelled and never\n"
    "runs; a running one is stopped by its worker, which deletes its sandbox.\n"
    "Prints 'ID cancelled', or 'ID cancel requested' when it is not final yet\n"
    "(running: its worker stops it; queued with no worker up: it ends cancelled,\n"
    "never run, once a worker takes it). Exit status 0 cancelled or cancel\n"
    "requested, 3 the result was (or became) final otherwise (nothing changed),\n"
    "4 no such job (marked cancelled all the same, should it still arrive),\n"
    "2 Redis out of reach.\n";

static const char watch_usage[] =
    "usage: atc watch [--label K=V]... [--count N] [--json]\n"
    "Follows the atc:results stream from now on and prints one line per finished\n"
    "job: id, status, reason, duration (with --json, one object a line). --label\n"
    "shows only jobs with that label (repeatable: all must match); --count N\n"
    "stops after N lines. Runs until interrupted.\n";

static const char stats_usage[] =
    "usage: atc stats [--window S] [--json]\n"
    "Counts jobs finished within the last S seconds (default 3600) by status, and\n"
    "asks the broker for the lag of the workers' consumer group (ATC_GROUP,\n"
    "default " ATC_DEFAULT_GROUP ") on the jobs topic.\n";

static const char replay_usage[] =
    "usage: atc replay-dlq [--dry-run] [--reason R]... [--id ID]... [--since TS|DURATION]\n"
    "                      [--max N] [--json]\n"
    "Reads the dead-letter topic (ATC_DLQ_TOPIC, default " ATC_DEFAULT_DLQ_TOPIC ") from its\n"
    "beginning to its end as it is now and prints one line per matching record:\n"
    "id, reason, time, action, error (--json: one object a line). Unless --dry-run,\n"
    "each job whose result is `error` is reset to queued in Redis and its original\n"
    "message sent again, unchanged, to the jobs topic (once the broker acknowledges\n"
    "it). Never reset: passed, failed, timeout, cancelled. Rejected messages are\n"
    "skipped unless --reason names their reason (bad_message, too_large).\n"
    "  --dry-run          change nothing; say what would be replayed\n"
    "  --reason R         only records with this reason (repeatable)\n"
    "  --id ID            only records of this job (repeatable)\n"
    "  --since TS|DUR     only records written since a time (2026-11-26T07:00:00Z,\n"
    "                     or ms since the epoch) or a duration ago (90m, 1h30m, 7d)\n"
    "  --max N            stop after N jobs replayed\n"
    "  --json             one JSON object a line\n"
    "A summary goes to stderr. Exit status 0 done (whatever was skipped); 2 bad\n"
    "usage, or a broker or Redis out of reach, or a send not acknowledged.\n";

/* Prints "atc: <message>" and a hint on stderr; returns the usage exit status. */
static int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("atc: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'atc%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
    return RENDER_EXIT_USAGE;
}

/* Matches argv[*i] against "--name VALUE" or "--name=VALUE". Returns 1 with
 * *val set (and *i moved past the value), 0 when it is another argument, or
 * -1 when the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *i += 1;
    *val = argv[*i];
    return 1;
}

/* opt_value over a NULL-terminated list of names; *which is the index of the
 * one that matched. */
static int opt_any(int argc, char **argv, int *i, const char *const *names, const char **val,
                   int *which)
{
    for (int k = 0; names[k] != NULL; k++) {
        int m = opt_value(argc, argv, i, names[k], val);
        if (m != 0) {
            *which = k;
            return m;
        }
    }
    return 0;
}

/* Handles -X, --json and --help. Returns 1 when argv[*i] was one of them, 0 when
 * not, 2 for --help, or -1 (with the message printed) on bad usage. */
static int common_opt(struct cli_common *cc, const char *cmd, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *val = NULL;

    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        return 2;
    if (strcmp(a, "--json") == 0) {
        cc->json = 1;
        return 1;
    }
    if (strncmp(a, "-X", 2) == 0) {
        if (a[2] != '\0')
            val = a + 2;
        else if (*i + 1 < argc)
            val = argv[++*i];
        else {
            usage_error(cmd, "-X wants name=value");
            return -1;
        }
        if (strchr(val, '=') == NULL || val[0] == '=') {
            usage_error(cmd, "-X wants name=value, not '%s'", val);
            return -1;
        }
        if (cc->nx == ATC_CLI_MAX_XPROPS) {
            usage_error(cmd, "too many -X options");
            return -1;
        }
        cc->xprops[cc->nx++] = (char *)val;
        return 1;
    }
    return 0;
}

static int parse_seconds(const char *s, double *out)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Reads a whole file of at most max bytes. 0, or -1 with err set. */
static int read_file(const char *path, size_t max, unsigned char **out, size_t *len,
                     char *err, size_t errlen)
{
    int fd = -1;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0;
    int rc = -1;

    *out = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t got;
        if (n == cap) {
            size_t ncap = cap == 0 ? 4096 : cap * 2;
            unsigned char *nb;
            if (cap > max) {
                snprintf(err, errlen, "'%s' is larger than the %zu-byte job limit", path, max);
                goto out;
            }
            nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                snprintf(err, errlen, "out of memory reading '%s'", path);
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    if (n > max) {
        snprintf(err, errlen, "'%s' is larger than the %zu-byte job limit", path, max);
        goto out;
    }
    *out = buf;
    *len = n;
    buf = NULL;
    rc = 0;

out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Grows *arr (of elements of size sz) to hold one more. 0 or -1. */
static int grow(void **arr, size_t n, size_t sz)
{
    void *p = realloc(*arr, (n + 1) * sz);
    if (p == NULL)
        return -1;
    *arr = p;
    return 0;
}

static int add_file(struct atc_job *job, const char *path, size_t plen, const char *file,
                    char *err, size_t errlen)
{
    struct atc_job_file *f;

    if (grow((void **)&job->files, job->nfiles, sizeof(*job->files)) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    f = &job->files[job->nfiles];
    memset(f, 0, sizeof(*f));
    if (read_file(file, ATC_JOB_DEFAULT_MAX_BYTES, &f->data, &f->len, err, errlen) != 0)
        return -1;
    f->path = dup_n(path, plen);
    if (f->path == NULL) {
        free(f->data);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    job->nfiles++;
    return 0;
}

/* Adds "K=V" to a key-value list. 0, or -1 with err set. */
static int add_kv(struct atc_kv **arr, size_t *n, const char *opt, const char *kv,
                  char *err, size_t errlen)
{
    const char *eq = strchr(kv, '=');
    struct atc_kv *e;

    if (eq == NULL || eq == kv) {
        snprintf(err, errlen, "%s wants K=V, not '%s'", opt, kv);
        return -1;
    }
    if (grow((void **)arr, *n, sizeof(**arr)) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    e = &(*arr)[*n];
    e->key = dup_n(kv, (size_t)(eq - kv));
    e->value = dup_n(eq + 1, strlen(eq + 1));
    if (e->key == NULL || e->value == NULL) {
        free(e->key);
        free(e->value);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    (*n)++;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static struct atc_client *open_client(struct cli_common *cc)
{
    struct atc_client_opts opts = {0};
    struct atc_client *c;
    char err[512];

    opts.kafka_props = cc->xprops;
    opts.nkafka_props = cc->nx;
    c = atc_client_new(&opts, err, sizeof(err));
    if (c == NULL)
        fprintf(stderr, "atc: %s\n", err);
    return c;
}

/* Prints the outcome of a wait and returns the exit status. */
static int finish_wait(int rc, struct atc_result *res, const char *id, double timeout_s,
                       int json, const char *err)
{
    if (rc == 0) {
        if (render_result(res, id, json, stdout) != 0) {
            fprintf(stderr, "atc: out of memory\n");
            return RENDER_EXIT_ERROR;
        }
        return render_exit_status(atc_result_str(res, "status"));
    }
    if (rc == ATC_ETIMEDOUT || rc == ATC_ENOTFOUND) {
        if (res != NULL && render_result(res, id, json, stdout) != 0)
            fprintf(stderr, "atc: out of memory\n");
        if (res != NULL)
            fprintf(stderr, "atc: no final result for %s within %g s (status: %s)\n", id,
                    timeout_s, atc_result_str(res, "status"));
        else
            fprintf(stderr, "atc: no result for %s within %g s\n", id, timeout_s);
        return RENDER_EXIT_NORESULT;
    }
    fprintf(stderr, "atc: cannot reach Redis: %s\n", err);
    return RENDER_EXIT_USAGE;
}

/* The options that build a job, shared by submit and race: --code, --tests,
 * --file, --dep, --cmd, --id, --snapshot, --group, --timeout, --test-timeout,
 * --reruns, --env, --label. Returns 1 when argv[*i] was one (consumed), 0 when
 * not, -1 on bad usage (*status set, the message printed). */
static int job_opt(struct atc_job *job, const char *cmd, int argc, char **argv, int *i,
                   int *status)
{
    static const char *const file_opts[] = {"--code", "--tests", NULL};
    static const char *const str_opts[] = {"--cmd", "--id", "--snapshot", "--group", NULL};
    static const char *const kv_opts[] = {"--env", "--label", NULL};
    static const char *const res_opts[] = {"--cpu", "--memory", "--disk", NULL};
    const char *val = NULL;
    int which = 0;
    char err[512];
    int m;

    if ((m = opt_any(argc, argv, i, file_opts, &val, &which)) != 0) {
        if (m < 0) {
            *status = usage_error(cmd, "%s wants a file", file_opts[which]);
            return -1;
        }
        if (add_file(job, base_name(val), strlen(base_name(val)), val, err, sizeof(err)) != 0) {
            *status = usage_error(cmd, "%s", err);
            return -1;
        }
    } else if ((m = opt_value(argc, argv, i, "--file", &val)) != 0) {
        const char *eq = m > 0 ? strchr(val, '=') : NULL;
        if (eq == NULL || eq == val || eq[1] == '\0') {
            *status = usage_error(cmd, "--file wants PATH=FILE");
            return -1;
        }
        if (add_file(job, val, (size_t)(eq - val), eq + 1, err, sizeof(err)) != 0) {
            *status = usage_error(cmd, "%s", err);
            return -1;
        }
    } else if ((m = opt_value(argc, argv, i, "--dep", &val)) != 0) {
        char *d;
        if (m < 0) {
            *status = usage_error(cmd, "--dep wants a requirement");
            return -1;
        }
        d = dup_n(val, strlen(val));
        if (d == NULL || grow((void **)&job->deps, job->ndeps, sizeof(*job->deps)) != 0) {
            free(d);
            fprintf(stderr, "atc: out of memory\n");
            return -1;
        }
        job->deps[job->ndeps++] = d;
    } else if ((m = opt_any(argc, argv, i, str_opts, &val, &which)) != 0) {
        char **slot = which == 0   ? &job->cmd
                      : which == 1 ? &job->id
                      : which == 2 ? &job->snapshot
                                   : &job->group;
        if (m < 0) {
            *status = usage_error(cmd, "%s wants a value", str_opts[which]);
            return -1;
        }
        free(*slot);
        *slot = dup_n(val, strlen(val));
        if (*slot == NULL) {
            fprintf(stderr, "atc: out of memory\n");
            return -1;
        }
    } else if ((m = opt_value(argc, argv, i, "--timeout", &val)) != 0) {
        if (m < 0 || parse_u32(val, &job->timeout_s) != 0) {
            *status = usage_error(cmd, "--timeout wants whole seconds");
            return -1;
        }
        job->has_timeout = 1;
    } else if ((m = opt_value(argc, argv, i, "--test-timeout", &val)) != 0) {
        if (m < 0 || parse_u32(val, &job->test_timeout_s) != 0) {
            *status = usage_error(cmd, "--test-timeout wants whole seconds");
            return -1;
        }
        job->has_test_timeout = 1;
    } else if ((m = opt_value(argc, argv, i, "--reruns", &val)) != 0) {
        if (m < 0 || parse_u32(val, &job->reruns) != 0) {
            *status = usage_error(cmd, "--reruns wants a count");
            return -1;
        }
        job->has_reruns = 1;
    } else if ((m = opt_any(argc, argv, i, res_opts, &val, &which)) != 0) {
        uint32_t *dst = which == 0 ? &job->cpu : which == 1 ? &job->memory_gib : &job->disk_gib;
        if (m < 0 || parse_u32(val, dst) != 0 || *dst == 0) {
            *status = usage_error(cmd, "--cpu, --memory and --disk want a whole number of at "
                                  "least 1");
            return -1;
        }
    } else if ((m = opt_any(argc, argv, i, kv_opts, &val, &which)) != 0) {
        if (m < 0) {
            *status = usage_error(cmd, "%s wants K=V", kv_opts[which]);
            return -1;
        }
        if ((which == 0 ? add_kv(&job->env, &job->nenv, "--env", val, err, sizeof(err))
                        : add_kv(&job->labels, &job->nlabels, "--label", val, err,
                                 sizeof(err))) != 0) {
            *status = usage_error(cmd, "%s", err);
            return -1;
        }
    } else {
        return 0;
    }
    return 1;
}

static int cmd_submit(int argc, char **argv, struct cli_common *cc)
{
    struct atc_job *job = NULL;
    struct atc_client *c = NULL;
    struct atc_result *res = NULL;
    int wait = 0, has_wait_timeout = 0;
    double wait_timeout = 0;
    char err[512];
    char id[ATC_JOB_ID_MAX + 1];
    const char *traceparent = getenv("TRACEPARENT");
    int status = RENDER_EXIT_USAGE;
    int rc;

    job = calloc(1, sizeof(*job));
    if (job == NULL) {
        fprintf(stderr, "atc: out of memory\n");
        goto out;
    }
    job->v = ATC_JOB_VERSION;
    for (int i = 0; i < argc; i++) {
        const char *val = NULL;
        int m = common_opt(cc, "submit", argc, argv, &i);
        if (m == 2) {
            fputs(submit_usage, stdout);
            status = 0;
            goto out;
        }
        if (m < 0)
            goto out;
        if (m == 1)
            continue;
        if ((m = job_opt(job, "submit", argc, argv, &i, &status)) != 0) {
            if (m < 0)
                goto out;
        } else if ((m = opt_value(argc, argv, &i, "--wait-timeout", &val)) != 0) {
            if (m < 0 || parse_seconds(val, &wait_timeout) != 0) {
                status = usage_error("submit", "--wait-timeout wants seconds");
                goto out;
            }
            has_wait_timeout = 1;
        } else if (strcmp(argv[i], "--wait") == 0) {
            wait = 1;
        } else if (strcmp(argv[i], "--cache") == 0) {
            job->cache = 1;
        } else {
            status = usage_error("submit", "unknown option '%s'", argv[i]);
            goto out;
        }
    }
    if (has_wait_timeout && !wait) {
        status = usage_error("submit", "--wait-timeout needs --wait");
        goto out;
    }
    if (job->nfiles == 0) {
        status = usage_error("submit", "a job needs at least one file (--code, --tests or --file)");
        goto out;
    }
    if (job->id != NULL && strlen(job->id) > ATC_JOB_ID_MAX) {
        status = usage_error("submit", "--id is longer than %d bytes", ATC_JOB_ID_MAX);
        goto out;
    }
    if (job->id == NULL) {
        /* Fill the id here so that a job that fails to validate is reported
         * for what it is, not for a missing id. */
        char fresh[40];
        atc_uuid7(fresh, sizeof(fresh));
        job->id = dup_n(fresh, strlen(fresh));
        if (job->id == NULL) {
            fprintf(stderr, "atc: out of memory\n");
            goto out;
        }
    }
    if (atc_job_validate(job, err, sizeof(err)) != 0) {
        status = usage_error("submit", "%s", err);
        goto out;
    }

    c = open_client(cc);
    if (c == NULL)
        goto out;
    rc = atc_client_submit(c, job, traceparent, id, sizeof(id), err, sizeof(err));
    if (rc != 0) {
        if (rc == ATC_EINVAL || rc == ATC_ETOOBIG)
            status = usage_error("submit", "%s", err);
        else
            fprintf(stderr, "atc: cannot submit: %s\n", err);
        goto out;
    }
    printf("%s\n", id);
    fflush(stdout);
    status = 0;
    if (wait) {
        rc = atc_client_wait(c, id, wait_timeout, &res, err, sizeof(err));
        status = finish_wait(rc, res, id, wait_timeout, cc->json, err);
    }

out:
    atc_result_free(res);
    atc_client_destroy(c);
    atc_job_free(job);
    return status;
}

#define RACE_MAX 64
#define RACE_POLL_MS 250
/* How long a race waits for its cancelled candidates to be final. */
#define RACE_CANCEL_WAIT_MS 5000

static const char race_usage[] =
    "usage: atc race --candidate PATH=FILE... [--need N] [--wait-timeout S] [--group G]\n"
    "                [--tests FILE] [--file PATH=FILE]... [other job options of submit]\n"
    "                [--json]\n"
    "Submits one job per candidate, each with the shared files plus its FILE as PATH,\n"
    "all in one group (default: a fresh race-<uuid>); waits until N of them passed\n"
    "(default 1), then cancels the rest: a queued one never runs, a running one is\n"
    "stopped by its worker. Prints a line per candidate: ID STATUS REASON FILE, the\n"
    "winners first (--json: one object). Exit status 0 when N passed, 1 when they\n"
    "cannot (every candidate final), 4 when --wait-timeout ran out (the rest are\n"
    "cancelled then too), 2 on bad usage or an unreachable broker or Redis.\n";

struct race_cand {
    const char *path;     /* within the job, from --candidate (points into argv) */
    size_t plen;
    const char *file;     /* on this machine */
    char id[ATC_JOB_ID_MAX + 1];
    char status[16];      /* "" while not final */
    char reason[48];
    int winner;           /* 1-based rank among the winners, 0 when none */
};

/* Submits each candidate: base's files plus the candidate's, under a fresh id.
 * Returns 0, or the exit status. */
static int race_submit(struct atc_client *c, struct atc_job *base, struct race_cand *cand,
                       size_t n, const char *traceparent)
{
    char err[512];

    for (size_t k = 0; k < n; k++) {
        char fresh[40];
        size_t keep = base->nfiles;
        atc_uuid7(fresh, sizeof(fresh));
        free(base->id);
        base->id = dup_n(fresh, strlen(fresh));
        if (base->id == NULL ||
            add_file(base, cand[k].path, cand[k].plen, cand[k].file, err, sizeof(err)) != 0) {
            return usage_error("race", "%s", base->id ? err : "out of memory");
        }
        int rc = atc_job_validate(base, err, sizeof(err));
        if (rc == 0)
            rc = atc_client_submit(c, base, traceparent, cand[k].id, sizeof(cand[k].id), err,
                                   sizeof(err));
        free(base->files[keep].path);
        free(base->files[keep].data);
        base->nfiles = keep;
        if (rc == ATC_EINVAL || rc == ATC_ETOOBIG)
            return usage_error("race", "candidate %s: %s", cand[k].file, err);
        if (rc != 0) {
            fprintf(stderr, "atc: cannot submit candidate %s: %s\n", cand[k].file, err);
            return RENDER_EXIT_USAGE;
        }
    }
    return 0;
}

/* Reads each candidate not final yet; returns how many passed, or -1 when Redis fails. */
static int race_poll(struct atc_client *c, struct race_cand *cand, size_t n, int *winners,
                     size_t *pending)
{
    char err[512];
    *pending = 0;
    for (size_t k = 0; k < n; k++) {
        struct atc_result *res = NULL;
        if (cand[k].status[0] != '\0')
            continue;
        int rc = atc_client_get(c, cand[k].id, &res, err, sizeof(err));
        if (rc != 0 && rc != ATC_ENOTFOUND) {
            fprintf(stderr, "atc: cannot reach Redis: %s\n", err);
            return -1;
        }
        const char *st = res ? atc_result_str(res, "status") : "";
        if (atc_status_is_final(st)) {
            snprintf(cand[k].status, sizeof(cand[k].status), "%s", st);
            snprintf(cand[k].reason, sizeof(cand[k].reason), "%s", atc_result_str(res, "reason"));
            if (strcmp(st, "passed") == 0)
                cand[k].winner = ++*winners;
        } else {
            (*pending)++;
        }
        atc_result_free(res);
    }
    return 0;
}

static void race_print(const struct race_cand *cand, size_t n, const char *group, int won,
                       int json)
{
    if (json) {
        json_t *o = json_object(), *arr = json_array(), *win = json_array();
        for (size_t r = 1; r <= n; r++)
            for (size_t k = 0; k < n; k++)
                if (cand[k].winner == (int)r)
                    json_array_append_new(win, json_string(cand[k].id));
        for (size_t k = 0; k < n; k++)
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", cand[k].id,
                                                 "file", cand[k].file, "status", cand[k].status,
                                                 "reason", cand[k].reason));
        json_object_set_new(o, "group", json_string(group));
        json_object_set_new(o, "won", json_boolean(won));
        json_object_set_new(o, "winners", win);
        json_object_set_new(o, "candidates", arr);
        json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(o);
        return;
    }
    printf("group %s: %s\n", group, won ? "won" : "not won");
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = 0; k < n; k++)
            if ((cand[k].winner != 0) == (pass == 0))
                printf("%s %s %s %s\n", cand[k].id, cand[k].status[0] ? cand[k].status : "-",
                       cand[k].reason[0] ? cand[k].reason : "-", cand[k].file);
}

static int cmd_race(int argc, char **argv, struct cli_common *cc)
{
    struct atc_job *base = NULL;
    struct atc_client *c = NULL;
    struct race_cand *cand = NULL;
    size_t ncand = 0;
    uint32_t need = 1;
    double wait_timeout = 0;
    char err[512];
    char group[48];
    int status = RENDER_EXIT_USAGE;

    base = calloc(1, sizeof(*base));
    cand = calloc(RACE_MAX, sizeof(*cand));
    if (base == NULL || cand == NULL) {
        fprintf(stderr, "atc: out of memory\n");
        goto out;
    }
    base->v = ATC_JOB_VERSION;
    for (int i = 0; i < argc; i++) {
        const char *val = NULL;
        int m = common_opt(cc, "race", argc, argv, &i);
        if (m == 2) {
            fputs(race_usage, stdout);
            status = 0;
            goto out;
        }
        if (m < 0)
            goto out;
        if (m == 1)
            continue;
        if ((m = opt_value(argc, argv, &i, "--candidate", &val)) != 0) {
            const char *eq = m > 0 ? strchr(val, '=') : NULL;
            if (eq == NULL || eq == val || eq[1] == '\0') {
                status = usage_error("race", "--candidate wants PATH=FILE");
                goto out;
            }
            if (ncand == RACE_MAX) {
                status = usage_error("race", "at most %d candidates", RACE_MAX);
                goto out;
            }
            cand[ncand].path = val;
            cand[ncand].plen = (size_t)(eq - val);
            cand[ncand].file = eq + 1;
            ncand++;
        } else if ((m = opt_value(argc, argv, &i, "--need", &val)) != 0) {
            if (m < 0 || parse_u32(val, &need) != 0 || need == 0) {
                status = usage_error("race", "--need wants a count of at least 1");
                goto out;
            }
        } else if ((m = opt_value(argc, argv, &i, "--wait-timeout", &val)) != 0) {
            if (m < 0 || parse_seconds(val, &wait_timeout) != 0) {
                status = usage_error("race", "--wait-timeout wants seconds");
                goto out;
            }
        } else if (strcmp(argv[i], "--id") == 0) {
            status = usage_error("race", "each candidate gets its own id; --id does not apply");
            goto out;
        } else if ((m = job_opt(base, "race", argc, argv, &i, &status)) != 0) {
            if (m < 0)
                goto out;
        } else {
            status = usage_error("race", "unknown option '%s'", argv[i]);
            goto out;
        }
    }
    if (ncand == 0) {
        status = usage_error("race", "a race needs at least one --candidate PATH=FILE");
        goto out;
    }
    if (need > ncand) {
        status = usage_error("race", "--need %u is more than the %zu candidates", need, ncand);
        goto out;
    }
    if (base->group == NULL) {
        char fresh[40];
        atc_uuid7(fresh, sizeof(fresh));
        snprintf(group, sizeof(group), "race-%s", fresh);
        base->group = dup_n(group, strlen(group));
        if (base->group == NULL) {
            fprintf(stderr, "atc: out of memory\n");
            goto out;
        }
    }
    c = open_client(cc);
    if (c == NULL)
        goto out;
    status = race_submit(c, base, cand, ncand, getenv("TRACEPARENT"));
    if (status != 0)
        goto out;

    int winners = 0;
    size_t pending = ncand;
    double waited = 0;
    for (;;) {
        if (race_poll(c, cand, ncand, &winners, &pending) != 0) {
            status = RENDER_EXIT_USAGE;
            goto out;
        }
        if ((uint32_t)winners >= need || pending == 0)
            break;
        if (wait_timeout > 0 && waited >= wait_timeout)
            break;
        struct timespec ts = {0, RACE_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
        waited += RACE_POLL_MS / 1000.0;
    }
    int timed_out = pending > 0 && wait_timeout > 0 && waited >= wait_timeout;
    /* The rest: cancelled (not waiting for each), then read until they are
     * final or RACE_CANCEL_WAIT_MS passed: a worker makes a queued one final
     * within about a second, the worker running one stops it. */
    for (size_t k = 0; k < ncand; k++) {
        int outcome = 0;
        if (cand[k].status[0] == '\0' &&
            atc_client_cancel_wait(c, cand[k].id, 0, &outcome, err, sizeof(err)) != 0)
            fprintf(stderr, "atc: cannot cancel %s: %s\n", cand[k].id, err);
    }
    int late = winners;
    for (int waited_ms = 0;; waited_ms += RACE_POLL_MS) {
        if (race_poll(c, cand, ncand, &late, &pending) != 0 || pending == 0 ||
            waited_ms >= RACE_CANCEL_WAIT_MS)
            break;
        struct timespec ts = {0, RACE_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (size_t k = 0; k < ncand; k++) /* a pass after the race ended wins nothing */
        if (cand[k].winner > winners)
            cand[k].winner = 0;
    for (size_t k = 0; k < ncand; k++)
        if (cand[k].status[0] == '\0')
            snprintf(cand[k].status, sizeof(cand[k].status), "%s", "cancelling");
    int won = (uint32_t)winners >= need;
    race_print(cand, ncand, base->group, won, cc->json);
    status = won ? RENDER_EXIT_OK : timed_out ? RENDER_EXIT_NORESULT : RENDER_EXIT_FAILED;
out:
    atc_client_destroy(c);
    atc_job_free(base);
    free(cand);
    return status;
}

/* get and wait: ID [--timeout S] [--json]. */
static int cmd_result(const char *cmd, int argc, char **argv, struct cli_common *cc)
{
    const char *usage = strcmp(cmd, "get") == 0 ? get_usage : wait_usage;
    int is_wait = strcmp(cmd, "wait") == 0;
    const char *id = NULL;
    double timeout_s = 0;
    struct atc_client *c = NULL;
    struct atc_result *res = NULL;
    char err[512];
    int status = RENDER_EXIT_USAGE;
    int rc;

    for (int i = 0; i < argc; i++) {
        const char *val = NULL;
        int m = common_opt(cc, cmd, argc, argv, &i);
        if (m == 2) {
            fputs(usage, stdout);
            status = 0;
            goto out;
        }
        if (m < 0)
            goto out;
        if (m == 1)
            continue;
        if (is_wait && (m = opt_value(argc, argv, &i, "--timeout", &val)) != 0) {
            if (m < 0 || parse_seconds(val, &timeout_s) != 0) {
                status = usage_error(cmd, "--timeout wants seconds");
                goto out;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            status = usage_error(cmd, "unknown option '%s'", argv[i]);
            goto out;
        } else if (id == NULL) {
            id = argv[i];
        } else {
            status = usage_error(cmd, "one job id only ('%s' is extra)", argv[i]);
            goto out;
        }
    }
    if (id == NULL) {
        status = usage_error(cmd, "%s needs a job id", cmd);
        goto out;
    }
    if (!atc_job_id_valid(id, strlen(id))) {
        status = usage_error(cmd, "'%s' is not a job id (1 to 128 of [A-Za-z0-9._:-])", id);
        goto out;
    }

    c = open_client(cc);
    if (c == NULL)
        goto out;
    if (is_wait) {
        rc = atc_client_wait(c, id, timeout_s, &res, err, sizeof(err));
        status = finish_wait(rc, res, id, timeout_s, cc->json, err);
        goto out;
    }
    rc = atc_client_get(c, id, &res, err, sizeof(err));
    if (rc == ATC_ENOTFOUND) {
        fprintf(stderr, "atc: no such job: %s\n", id);
        status = RENDER_EXIT_NORESULT;
    } else if (rc != 0) {
        fprintf(stderr, "atc: cannot reach Redis: %s\n", err);
        status = RENDER_EXIT_USAGE;
    } else if (render_result(res, id, cc->json, stdout) != 0) {
        fprintf(stderr, "atc: out of memory\n");
        status = RENDER_EXIT_ERROR;
    } else {
        status = render_exit_status(atc_result_str(res, "status"));
    }

out:
    atc_result_free(res);
    atc_client_destroy(c);
    return status;
}

/* Parses "ID" plus the common options; *id_out points into argv. Returns -1
 * to go on, else the exit status. */
static int parse_id_only(const char *cmd, const char *usage, int argc, char **argv,
                         struct cli_common *cc, const char **id_out)
{
    const char *id = NULL;

    for (int i = 0; i < argc; i++) {
        int m = common_opt(cc, cmd, argc, argv, &i);
        if (m == 2) {
            fputs(usage, stdout);
            return 0;
        }
        if (m < 0)
            return RENDER_EXIT_USAGE;
        if (m == 1)
            continue;
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage_error(cmd, "unknown option '%s'", argv[i]);
        if (id != NULL)
            return usage_error(cmd, "one job id only ('%s' is extra)", argv[i]);
        id = argv[i];
    }
    if (id == NULL)
        return usage_error(cmd, "%s needs a job id", cmd);
    if (!atc_job_id_valid(id, strlen(id)))
        return usage_error(cmd, "'%s' is not a job id (1 to 128 of [A-Za-z0-9._:-])", id);
    *id_out = id;
    return -1;
}

static int cmd_cancel(int argc, char **argv, struct cli_common *cc)
{
    const char *id = NULL;
    struct atc_client *c = NULL;
    char err[512];
    int outcome = 0;
    int status = parse_id_only("cancel", cancel_usage, argc, argv, cc, &id);
    int rc;

    if (status >= 0)
        return status;
    status = RENDER_EXIT_USAGE;
    c = open_client(cc);
    if (c == NULL)
        goto out;
    rc = atc_client_cancel(c, id, &outcome, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "atc: cannot reach Redis: %s\n", err);
        goto out;
    }
    switch (outcome) {
    case ATC_CANCEL_DONE:
        printf("%s cancelled\n", id);
        status = RENDER_EXIT_OK;
        break;
    case ATC_CANCEL_REQUESTED: {
        struct atc_result *res = NULL;
        int running = atc_client_get(c, id, &res, err, sizeof(err)) == 0 &&
                      strcmp(atc_result_str(res, "status"), "running") == 0;
        atc_result_free(res);
        if (running)
            printf("%s cancel requested (running: its worker stops it)\n", id);
        else
            printf("%s cancel requested (queued: it ends cancelled, never run, once a worker "
                   "takes it)\n", id);
        status = RENDER_EXIT_OK;
        break;
    }
    case ATC_CANCEL_UNKNOWN:
        fprintf(stderr, "atc: no such job: %s (marked cancelled, should it still arrive)\n", id);
        status = RENDER_EXIT_NORESULT;
        break;
    default: {
        struct atc_result *res = NULL;
        const char *st = "final";
        if (atc_client_get(c, id, &res, err, sizeof(err)) == 0)
            st = atc_result_str(res, "status");
        fprintf(stderr, "atc: %s is already %s; nothing to cancel\n", id, st);
        atc_result_free(res);
        status = RENDER_EXIT_ERROR;
        break;
    }
    }
out:
    atc_client_destroy(c);
    return status;
}

static volatile sig_atomic_t watch_stop;

static void on_stop_signal(int sig)
{
    (void)sig;
    watch_stop = 1;
}

static struct atc_results *open_results(void)
{
    char err[512];
    struct atc_results *r =
        atc_results_new(atc_env_or("ATC_REDIS_URL", "redis://127.0.0.1:6379/0"), 5000, err,
                        sizeof(err));
    if (r == NULL)
        fprintf(stderr, "atc: cannot reach Redis: %s\n", err);
    return r;
}

static int cmd_watch(int argc, char **argv, struct cli_common *cc)
{
    struct atc_kv *labels = NULL;
    size_t nlabels = 0;
    long count = 0;
    struct atc_results *r = NULL;
    struct sigaction sa;
    char err[512];
    int status = RENDER_EXIT_USAGE;

    for (int i = 0; i < argc; i++) {
        const char *val = NULL;
        int m = common_opt(cc, "watch", argc, argv, &i);
        if (m == 2) {
            fputs(watch_usage, stdout);
            status = 0;
            goto out;
        }
        if (m < 0)
            goto out;
        if (m == 1)
            continue;
        if ((m = opt_value(argc, argv, &i, "--label", &val)) != 0) {
            if (m < 0 || add_kv(&labels, &nlabels, "--label", val, err, sizeof(err)) != 0) {
                status = usage_error("watch", "%s", m < 0 ? "--label wants K=V" : err);
                goto out;
            }
        } else if ((m = opt_value(argc, argv, &i, "--count", &val)) != 0) {
            uint32_t v = 0;
            if (m < 0 || parse_u32(val, &v) != 0 || v == 0) {
                status = usage_error("watch", "--count wants a whole number above 0");
                goto out;
            }
            count = (long)v;
        } else {
            status = usage_error("watch", "unknown argument '%s'", argv[i]);
            goto out;
        }
    }
    r = open_results();
    if (r == NULL)
        goto out;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (watch_follow(r, labels, nlabels, cc->json, count, &watch_stop, stdout, err,
                     sizeof(err)) != 0) {
        fprintf(stderr, "atc: watch: %s\n", err);
        goto out;
    }
    status = 0;
out:
    for (size_t i = 0; i < nlabels; i++) {
        free(labels[i].key);
        free(labels[i].value);
    }
    free(labels);
    atc_results_destroy(r);
    return status;
}

static int cmd_stats(int argc, char **argv, struct cli_common *cc)
{
    double window_s = 3600;
    struct atc_results *r = NULL;
    struct watch_partition *parts = NULL;
    size_t nparts = 0;
    const char *group = atc_env_or("ATC_GROUP", ATC_DEFAULT_GROUP);
    const char *topic = atc_env_or("ATC_JOBS_TOPIC", ATC_DEFAULT_JOBS_TOPIC);
    char err[512], lag_err[512];
    int status = RENDER_EXIT_USAGE;

    for (int i = 0; i < argc; i++) {
        const char *val = NULL;
        int m = common_opt(cc, "stats", argc, argv, &i);
        if (m == 2) {
            fputs(stats_usage, stdout);
            status = 0;
            goto out;
        }
        if (m < 0)
            goto out;
        if (m == 1)
            continue;
        if ((m = opt_value(argc, argv, &i, "--window", &val)) != 0) {
            if (m < 0 || parse_seconds(val, &window_s) != 0 || window_s <= 0) {
                status = usage_error("stats", "--window wants seconds above 0");
                goto out;
            }
        } else {
            status = usage_error("stats", "unknown argument '%s'", argv[i]);
            goto out;
        }
    }
    r = open_results();
    if (r == NULL)
        goto out;
    lag_err[0] = '\0';
    if (watch_lag(atc_env_or("ATC_BROKERS", ATC_DEFAULT_BROKERS), topic, group, cc->xprops,
                  cc->nx, 5000, &parts, &nparts, lag_err, sizeof(lag_err)) != 0)
        parts = NULL;
    if (watch_stats(r, window_s, group, topic, parts, nparts, lag_err, cc->json, stdout, err,
                    sizeof(err)) != 0) {
        fprintf(stderr, "atc: stats: %s\n", err);
        goto out;
    }
    status = 0;
out:
    free(parts);
    atc_results_destroy(r);
    return status;
}

/* Grows a NULL-free list of pointers into argv by one. 0 or -1. */
static int add_arg(const char ***list, size_t *n, const char *val)
{
    if (grow((void **)list, *n, sizeof(**list)) != 0)
        return -1;
    (*list)[(*n)++] = val;
    return 0;
}

static int cmd_replay_dlq(int argc, char **argv, struct cli_common *cc)
{
    const char **reasons = NULL, **ids = NULL;
    size_t nreasons = 0, nids = 0;
    struct atc_results *r = NULL;
    struct atc_client *c = NULL;
    struct replay_opts o;
    struct replay_summary sum;
    char err[512];
    int status = RENDER_EXIT_USAGE;
    int ran = 0;

    memset(&o, 0, sizeof(o));
    for (int i = 0; i < argc; i++) {
        const char *val = NULL;
        int m = common_opt(cc, "replay-dlq", argc, argv, &i);
        if (m == 2) {
            fputs(replay_usage, stdout);
            status = 0;
            goto out;
        }
        if (m < 0)
            goto out;
        if (m == 1)
            continue;
        if ((m = opt_value(argc, argv, &i, "--reason", &val)) != 0) {
            if (m < 0 || val[0] == '\0') {
                status = usage_error("replay-dlq", "--reason wants a reason (e.g. sandbox_failed)");
                goto out;
            }
            if (add_arg(&reasons, &nreasons, val) != 0) {
                fprintf(stderr, "atc: out of memory\n");
                goto out;
            }
        } else if ((m = opt_value(argc, argv, &i, "--id", &val)) != 0) {
            if (m < 0 || !atc_job_id_valid(val, strlen(val))) {
                status = usage_error("replay-dlq", "--id wants a job id (1 to 128 of "
                                                   "[A-Za-z0-9._:-])");
                goto out;
            }
            if (add_arg(&ids, &nids, val) != 0) {
                fprintf(stderr, "atc: out of memory\n");
                goto out;
            }
        } else if ((m = opt_value(argc, argv, &i, "--since", &val)) != 0) {
            uint64_t now_ms = (uint64_t)atc_clock_wall_ms();
            if (m < 0) {
                status = usage_error("replay-dlq", "--since wants a time or a duration");
                goto out;
            }
            if (replay_parse_since(val, now_ms, &o.filter.since_ms, err, sizeof(err)) != 0) {
                status = usage_error("replay-dlq", "%s", err);
                goto out;
            }
        } else if ((m = opt_value(argc, argv, &i, "--max", &val)) != 0) {
            uint32_t v = 0;
            if (m < 0 || parse_u32(val, &v) != 0 || v == 0) {
                status = usage_error("replay-dlq", "--max wants a whole number above 0");
                goto out;
            }
            o.max = (long)v;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            o.dry_run = 1;
        } else {
            status = usage_error("replay-dlq", "unknown argument '%s'", argv[i]);
            goto out;
        }
    }
    o.brokers = atc_env_or("ATC_BROKERS", ATC_DEFAULT_BROKERS);
    o.topic = atc_env_or("ATC_DLQ_TOPIC", ATC_DEFAULT_DLQ_TOPIC);
    o.xprops = cc->xprops;
    o.nxprops = cc->nx;
    o.filter.reasons = reasons;
    o.filter.nreasons = nreasons;
    o.filter.ids = ids;
    o.filter.nids = nids;
    o.json = cc->json;
    o.timeout_ms = 15000;
    r = open_results();
    if (r == NULL)
        goto out;
    if (!o.dry_run) {
        c = open_client(cc);
        if (c == NULL)
            goto out;
    }
    ran = 1;
    int rc = replay_run(&o, r, c, stdout, &sum, err, sizeof(err));
    if (rc == ATC_ENOTFOUND) {
        fprintf(stderr, "atc: replay-dlq: %s: no dead letters to replay\n", err);
        status = 0;
    } else if (rc != 0) {
        fprintf(stderr, "atc: replay-dlq: %s\n", err);
    } else {
        status = 0;
    }
out:
    if (ran)
        replay_summary_print(&sum, o.dry_run, stderr);
    atc_client_destroy(c);
    atc_results_destroy(r);
    free(reasons);
    free(ids);
    return status;
}

int main(int argc, char **argv)
{
    struct cli_common cc;
    int level = atc_log_level_parse(atc_env_or("ATC_LOG_LEVEL", "warn"));
    int i;

    memset(&cc, 0, sizeof(cc));
    /* .env.local and .env, before anything reads the environment. */
    struct atc_dotenv_report dotenv;
    char derr[512];
    if (atc_dotenv_load(NULL, &dotenv, derr, sizeof(derr)) != 0) {
        fprintf(stderr, "atc: %s\n", derr);
        return RENDER_EXIT_USAGE;
    }
    for (size_t w = 0; w < dotenv.nwarnings; w++)
        fprintf(stderr, "atc: warning: %s\n", dotenv.warnings[w]);
    /* A Redis or broker connection that drops must give an error, not kill us. */
    signal(SIGPIPE, SIG_IGN);
    level = atc_log_level_parse(atc_env_or("ATC_LOG_LEVEL", "warn")); /* .env may set it */
    atc_log_init(level < 0 ? ATC_LOG_WARN : (enum atc_log_level)level, ATC_LOG_TEXT, "atc");

    /* Global options come before the command. */
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        int m = common_opt(&cc, NULL, argc, argv, &i);
        if (m == 2) {
            fputs(main_usage, stdout);
            return 0;
        }
        if (m < 0)
            return RENDER_EXIT_USAGE;
        if (m == 0)
            return usage_error(NULL, "unknown option '%s'", argv[i]);
    }
    if (i >= argc)
        return usage_error(NULL, "no command given (submit, get, wait, cancel, race, watch, stats, replay-dlq, doctor)");
    if (strcmp(argv[i], "submit") == 0)
        return cmd_submit(argc - i - 1, argv + i + 1, &cc);
    if (strcmp(argv[i], "get") == 0 || strcmp(argv[i], "wait") == 0)
        return cmd_result(argv[i], argc - i - 1, argv + i + 1, &cc);
    if (strcmp(argv[i], "cancel") == 0)
        return cmd_cancel(argc - i - 1, argv + i + 1, &cc);
    if (strcmp(argv[i], "race") == 0)
        return cmd_race(argc - i - 1, argv + i + 1, &cc);
    if (strcmp(argv[i], "watch") == 0)
        return cmd_watch(argc - i - 1, argv + i + 1, &cc);
    if (strcmp(argv[i], "stats") == 0)
        return cmd_stats(argc - i - 1, argv + i + 1, &cc);
    if (strcmp(argv[i], "replay-dlq") == 0)
        return cmd_replay_dlq(argc - i - 1, argv + i + 1, &cc);
    if (strcmp(argv[i], "doctor") == 0)
        return doctor_cmd(argc - i - 1, argv + i + 1, cc.xprops, cc.nx, cc.json);
    if (strcmp(argv[i], "env") == 0)
        return env_cmd(argc - i - 1, argv + i + 1, cc.json);
    if (strcmp(argv[i], "help") == 0) {
        fputs(main_usage, stdout);
        return 0;
    }
    return usage_error(NULL, "unknown command '%s'", argv[i]);
}
