/* verdict.c: pure decisions of a job run (see verdict.h). */
#include "verdict.h"

#include <stdio.h>
#include <string.h>

#include "atc/error.h"
#include "atc/sha256.h"

int verdict_is_test_file(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n < 4 || strcmp(base + n - 3, ".py") != 0)
        return 0;
    if (strncmp(base, "test_", 5) == 0)
        return 1;
    return n > 8 && strcmp(base + n - 8, "_test.py") == 0;
}

/* Appends s to buf at *pos; returns -1 when it does not fit. */
static int append(char *buf, size_t buflen, size_t *pos, const char *s)
{
    size_t n = strlen(s);
    if (*pos + n + 1 > buflen)
        return -1;
    memcpy(buf + *pos, s, n + 1);
    *pos += n;
    return 0;
}

/* Paths and requirements are validated by the job decoder: no quote can occur
 * in them, so single quotes make them inert to the shell. */
static int append_quoted(char *buf, size_t buflen, size_t *pos, const char *s)
{
    if (append(buf, buflen, pos, " '") || append(buf, buflen, pos, s) ||
        append(buf, buflen, pos, "'"))
        return -1;
    return 0;
}

void verdict_report_path(const unsigned char nonce[16], char *buf, size_t buflen)
{
    static const char hex[] = "0123456789abcdef";
    char h[33];

    for (size_t i = 0; i < 16; i++) {
        h[2 * i] = hex[nonce[i] >> 4];
        h[2 * i + 1] = hex[nonce[i] & 15];
    }
    h[32] = '\0';
    snprintf(buf, buflen, ".atc/r-%s/report.xml", h);
}

/* python3 -m would put the work directory first on sys.path, where a job's
 * pytest.py would be imported instead of pytest (the job decoder refuses such
 * names too: two locks). -P does the same but needs Python 3.11, and
 * PYTHONSAFEPATH would reach the tests' own subprocesses. */
#define PYTEST_BOOT                                                                     \
    "python3 -c 'import sys; sys.path[:] = [p for p in sys.path if p not in (\"\", \".\")]; " \
    "import pytest; sys.exit(pytest.main())'"

/* The same with the fleet's plugin importable from VERDICT_PLUGIN_DIR, a
 * directory under .atc/ (which no job file may use). */
#define PYTEST_BOOT_PLUGIN                                                              \
    "python3 -c 'import sys; sys.path[:] = [p for p in sys.path if p not in (\"\", \".\")]; " \
    "sys.path.insert(0, \"" VERDICT_PLUGIN_DIR "\"); import pytest; sys.exit(pytest.main())'"

void verdict_side_path(const char *report, char *buf, size_t buflen)
{
    const char *slash = strrchr(report, '/');
    int dir = slash ? (int)(slash - report) : 0;
    snprintf(buf, buflen, "%.*s%s" VERDICT_SIDE_NAME, dir, report, slash ? "/" : "");
}

int verdict_default_cmd(const struct atc_job *job, const char *report, char *buf, size_t buflen)
{
    return verdict_plugin_cmd(job, report, NULL, buf, buflen);
}

int verdict_plugin_cmd(const struct atc_job *job, const char *report,
                       const struct verdict_plugin *plug, char *buf, size_t buflen)
{
    size_t pos = 0;
    int found = 0;
    char opts[VERDICT_REPORT_PATH_MAX + 128];

    if (append(buf, buflen, &pos, plug ? PYTEST_BOOT_PLUGIN : PYTEST_BOOT) ||
        append(buf, buflen, &pos, " -v -p no:cacheprovider --junitxml=") ||
        append(buf, buflen, &pos, report))
        return ATC_ETOOBIG;
    if (plug) {
        char side[VERDICT_REPORT_PATH_MAX];
        verdict_side_path(report, side, sizeof(side));
        snprintf(opts, sizeof(opts),
                 " -p " VERDICT_PLUGIN_MODULE " --atc-side=%s --atc-test-timeout=%u"
                 " --atc-reruns=%u --atc-coverage=%d",
                 side, plug->test_timeout_s, plug->reruns, plug->coverage ? 1 : 0);
        if (append(buf, buflen, &pos, opts))
            return ATC_ETOOBIG;
    }
    if (append(buf, buflen, &pos, " --"))
        return ATC_ETOOBIG;
    for (size_t i = 0; i < job->nfiles; i++) {
        if (!verdict_is_test_file(job->files[i].path))
            continue;
        found = 1;
        if (append_quoted(buf, buflen, &pos, job->files[i].path))
            return ATC_ETOOBIG;
    }
    return found ? 0 : ATC_ENOTFOUND;
}

int verdict_install_cmd(const struct atc_job *job, const char *index_url, char *buf,
                        size_t buflen)
{
    size_t pos = 0;

    if (append(buf, buflen, &pos,
               "python3 -m pip install --no-input --disable-pip-version-check --no-color"
               " --retries 1 --timeout 20 --target " VERDICT_DEPS_DIR))
        return ATC_ETOOBIG;
    if (index_url && *index_url &&
        (append(buf, buflen, &pos, " --index-url") || append_quoted(buf, buflen, &pos, index_url)))
        return ATC_ETOOBIG;
    for (size_t i = 0; i < job->ndeps; i++)
        if (append_quoted(buf, buflen, &pos, job->deps[i]))
            return ATC_ETOOBIG;
    return 0;
}

/* The verdict of an exit status 0, checked against the report. */
static struct verdict verdict_of_zero(int custom, const struct atc_junit_report *report,
                                      char *why, size_t whylen)
{
    if (report && (report->failed > 0 || report->errors > 0)) {
        snprintf(why, whylen,
                 "the test command's exit status 0 contradicts the fleet's JUnit report "
                 "(%ld failed, %ld errors): something in the run rewrote its exit status",
                 report->failed, report->errors);
        return (struct verdict){"failed", "verdict_contradiction"};
    }
    if (custom)
        return (struct verdict){"passed", "tests_passed"};
    if (!report) {
        snprintf(why, whylen,
                 "the test command exited 0 but pytest wrote no JUnit report: the run "
                 "ended before pytest finished (os._exit in a test?)");
        return (struct verdict){"failed", "no_report"};
    }
    if (report->total <= 0) {
        snprintf(why, whylen, "the test command exited 0 but its JUnit report lists no test");
        return (struct verdict){"failed", "no_tests"};
    }
    return (struct verdict){"passed", "tests_passed"};
}

struct verdict verdict_of_run(int custom, int exit_code, const struct atc_junit_report *report,
                              char *why, size_t whylen)
{
    if (whylen > 0)
        why[0] = '\0';
    if (exit_code == VERDICT_TIMEOUT_EXIT)
        return (struct verdict){"timeout", "test_timeout"};
    if (exit_code == 0)
        return verdict_of_zero(custom, report, why, whylen);
    if (exit_code == VERDICT_KILLED_EXIT) {
        /* Nothing in the sandbox sends SIGKILL but the memory limit (the
         * timeout's -k comes after 124 is decided). */
        snprintf(why, whylen,
                 "the test command was killed with SIGKILL (exit status 137): it ran out of "
                 "the sandbox's memory");
        return (struct verdict){"failed", "oom"};
    }
    if (custom) {
        if (report && (report->failed > 0 || report->errors > 0))
            return (struct verdict){"failed", "tests_failed"};
        return (struct verdict){"failed", "command_failed"};
    }
    /* pytest's exit codes: 1 tests failed, 2 interrupted (collection errors),
     * 3 internal error, 4 usage error, 5 no tests collected. */
    switch (exit_code) {
    case 1:
        return (struct verdict){"failed", "tests_failed"};
    case 2:
        return (struct verdict){"failed", "collection_error"};
    case 5:
        return (struct verdict){"failed", "no_tests"};
    case 3:
    case 4:
        return (struct verdict){"failed", "pytest_error"};
    default:
        return (struct verdict){"failed", "crashed"};
    }
}

const char *verdict_refine_reason(const char *status, const char *reason,
                                  const struct atc_junit_report *report, long flaky)
{
    if (report && flaky > 0 && status && strcmp(status, "failed") == 0 && reason &&
        strcmp(reason, "tests_failed") == 0 && flaky == report->failed + report->errors)
        return "flaky";
    return reason;
}

unsigned verdict_test_timeout(const struct atc_job *job, unsigned worker_default, unsigned job_limit)
{
    unsigned t = job->has_test_timeout ? job->test_timeout_s : worker_default;
    return t > job_limit ? job_limit : t;
}

/* Reads a decimal number or "-" (-1) at *p, before end, then skips one
 * space; -1 on anything else. */
static int header_field(const char **p, const char *end, int last, long long *v)
{
    const char *s = *p;
    if (s < end && *s == '-') {
        *v = -1;
        s++;
    } else {
        long long n = 0;
        const char *start = s;
        while (s < end && *s >= '0' && *s <= '9' && n < (1LL << 58))
            n = n * 10 + (*s++ - '0');
        if (s == start)
            return -1;
        *v = n;
    }
    if (last)
        return s == end ? 0 : -1;
    if (s >= end || *s != ' ')
        return -1;
    *p = s + 1;
    return 0;
}

int verdict_parse_header(const char *line, size_t len, struct verdict_header *h)
{
    const char *p = line, *end = line + len;
    long long total, report, rss, cpu, side = 0;

    h->total = 0;
    h->has_report = 1;
    h->peak_rss = h->cpu_ms = -1;
    h->side_len = 0;
    if (header_field(&p, end, 0, &total) != 0 || total < 0 ||
        header_field(&p, end, 0, &report) != 0 || (report != 0 && report != 1) ||
        header_field(&p, end, 0, &rss) != 0)
        return -1;
    /* The side report's length is a fifth field, present when it was asked for. */
    const char *sp = memchr(p, ' ', (size_t)(end - p));
    if (sp != NULL) {
        if (header_field(&p, end, 0, &cpu) != 0 || header_field(&p, end, 1, &side) != 0 ||
            side < 0)
            return -1;
    } else if (header_field(&p, end, 1, &cpu) != 0) {
        return -1;
    }
    h->side_len = side;
    h->total = (unsigned long long)total;
    h->has_report = (int)report;
    h->peak_rss = rss;
    h->cpu_ms = cpu;
    return 0;
}

int verdict_probe_addr(const char *url, char *buf, size_t buflen)
{
    int https = strncmp(url, "https://", 8) == 0;
    if (!https && strncmp(url, "http://", 7) != 0)
        return -1;
    const char *p = url + (https ? 8 : 7);
    size_t n = strcspn(p, "/?#");
    if (n == 0 || memchr(p, '@', n) != NULL)
        return -1;
    const char *close = p[0] == '[' ? memchr(p, ']', n) : NULL;
    const char *colon = memchr(close ? close : p, ':', n - (size_t)((close ? close : p) - p));
    if (p[0] == '[' && close == NULL)
        return -1;
    int w = colon ? snprintf(buf, buflen, "%.*s", (int)n, p)
                  : snprintf(buf, buflen, "%.*s:%d", (int)n, p, https ? 443 : 80);
    return w > 0 && (size_t)w < buflen ? 0 : -1;
}

int verdict_snapshot_allowed(const char *allow, const char *snapshot)
{
    size_t n = strlen(snapshot);

    if (allow == NULL || allow[0] == '\0')
        return 1;
    for (const char *p = allow; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p + strcspn(p, ",");
        const char *last = end;
        while (last > p && last[-1] == ' ')
            last--;
        if ((size_t)(last - p) == n && n > 0 && strncmp(p, snapshot, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}

void verdict_sandbox_name(const char *id, int attempt, int try_no, char *buf, size_t buflen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    char clean[25];
    char digest[17];
    size_t n = 0;

    /* Daytona names are safest as lower-case letters, digits and dashes. The
     * cleaned prefix is only for people reading a listing: the hash of the
     * whole id is what tells two ids apart, so no id can take another's name. */
    for (const char *p = id; *p && n < sizeof(clean) - 1; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        clean[n++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '-';
    }
    clean[n] = '\0';
    if (atc_sha256(id, strlen(id), md) != 0)
        memset(md, 0, sizeof(md)); /* never seen; the name then still parses */
    for (size_t i = 0; i < 8; i++) {
        digest[2 * i] = hex[md[i] >> 4];
        digest[2 * i + 1] = hex[md[i] & 15];
    }
    digest[16] = '\0';
    snprintf(buf, buflen, "atc-%s-%s-%d-%d", clean, digest, attempt, try_no);
}
