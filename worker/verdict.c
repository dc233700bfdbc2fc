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

int verdict_default_cmd(const struct atc_job *job, char *buf, size_t buflen)
{
    size_t pos = 0;
    int found = 0;

    if (append(buf, buflen, &pos,
               "python3 -m pytest -v -p no:cacheprovider --junitxml=" VERDICT_REPORT_PATH " --"))
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

struct verdict verdict_of_run(int custom, int exit_code, const struct atc_junit_report *report)
{
    if (exit_code == VERDICT_TIMEOUT_EXIT)
        return (struct verdict){"timeout", "test_timeout"};
    if (exit_code == 0)
        return (struct verdict){"passed", "tests_passed"};
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
