/* side.c: the plugin's side report (see side.h). */
#include "side.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"

#define SIDE_LINT_MAX 100
#define SIDE_FRAMES_MAX 32

static char *dup_str(json_t *v)
{
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    return s ? strdup(s) : NULL;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void side_report_cleanup(struct side_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ntests; i++) {
        struct side_test *t = &r->tests[i];
        free(t->classname);
        free(t->name);
        free(t->outcome);
        free(t->exception);
        for (size_t k = 0; k < t->nframes; k++) {
            free((char *)t->frames[k].file);
            free((char *)t->frames[k].func);
            free((char *)t->frames[k].code);
        }
        free(t->frames);
    }
    free(r->tests);
    free(r->coverage_why);
    free_names(r->no_assert, r->nno_assert);
    free_names(r->no_import, r->nno_import);
    memset(r, 0, sizeof(*r));
    r->rerun_ms = -1;
}

static int parse_names(json_t *arr, char ***out, size_t *n)
{
    size_t cnt = json_is_array(arr) ? json_array_size(arr) : 0;
    if (cnt > SIDE_LINT_MAX)
        cnt = SIDE_LINT_MAX;
    *out = calloc(cnt ? cnt : 1, sizeof(**out));
    if (!*out)
        return ATC_ENOMEM;
    for (size_t i = 0; i < cnt; i++) {
        char *s = dup_str(json_array_get(arr, i));
        if (s)
            (*out)[(*n)++] = s;
    }
    return 0;
}

static int parse_test(json_t *o, struct side_test *t)
{
    t->classname = dup_str(json_object_get(o, "classname"));
    t->name = dup_str(json_object_get(o, "name"));
    t->outcome = dup_str(json_object_get(o, "outcome"));
    t->exception = dup_str(json_object_get(o, "exception"));
    json_t *runs = json_object_get(o, "runs");
    t->runs = json_is_integer(runs) ? (long)json_integer_value(runs) : 1;
    if (!t->classname || !t->name)
        return -1;
    json_t *fr = json_object_get(o, "frames");
    size_t n = json_is_array(fr) ? json_array_size(fr) : 0;
    if (n > SIDE_FRAMES_MAX)
        n = SIDE_FRAMES_MAX;
    t->frames = calloc(n ? n : 1, sizeof(*t->frames));
    if (!t->frames)
        return ATC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(fr, i);
        if (!json_is_array(f) || json_array_size(f) < 4 || !json_is_integer(json_array_get(f, 1)))
            continue;
        struct digest_frame *d = &t->frames[t->nframes];
        d->file = dup_str(json_array_get(f, 0));
        d->line = (long)json_integer_value(json_array_get(f, 1));
        d->func = dup_str(json_array_get(f, 2));
        d->code = dup_str(json_array_get(f, 3));
        t->nframes++;
        if (!d->file || !d->func || !d->code)
            return -1;
    }
    return 0;
}

int side_report_parse(const char *json, size_t len, size_t max_tests, struct side_report *out,
                      char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = NULL;
    int rc = ATC_EBADMSG;

    memset(out, 0, sizeof(*out));
    out->rerun_ms = -1;
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "the side report is not a JSON object: %s", root ? "" : jerr.text);
        goto out;
    }
    json_t *tests = json_object_get(root, "tests");
    size_t n = json_is_array(tests) ? json_array_size(tests) : 0;
    if (n > max_tests)
        n = max_tests;
    out->tests = calloc(n ? n : 1, sizeof(*out->tests));
    if (!out->tests) {
        rc = ATC_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(tests, i);
        if (!json_is_object(o)) {
            snprintf(err, errlen, "tests[%zu]: not an object", i);
            goto out;
        }
        out->ntests++;
        int prc = parse_test(o, &out->tests[i]);
        if (prc != 0) {
            rc = prc == ATC_ENOMEM ? ATC_ENOMEM : ATC_EBADMSG;
            snprintf(err, errlen, "tests[%zu]: a field is missing or not a string", i);
            goto out;
        }
    }
    json_t *cov = json_object_get(root, "coverage");
    if (json_is_object(cov)) {
        json_t *pct = json_object_get(cov, "pct");
        if (json_is_number(pct) && json_number_value(pct) >= 0 && json_number_value(pct) <= 100) {
            out->has_coverage = 1;
            out->coverage_pct = json_number_value(pct);
        } else {
            out->coverage_why = dup_str(json_object_get(cov, "unavailable"));
        }
    }
    json_t *lint = json_object_get(root, "lint");
    if ((rc = parse_names(json_object_get(lint, "tests_without_assert"), &out->no_assert,
                          &out->nno_assert)) != 0 ||
        (rc = parse_names(json_object_get(lint, "tests_not_importing_tool"), &out->no_import,
                          &out->nno_import)) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    json_t *rm = json_object_get(root, "rerun_ms");
    if (json_is_integer(rm))
        out->rerun_ms = (long)json_integer_value(rm);
    rc = 0;
out:
    if (rc != 0)
        side_report_cleanup(out);
    json_decref(root);
    return rc;
}

const struct side_test *side_report_find_from(const struct side_report *r, const char *classname,
                                              const char *name, size_t *hint)
{
    size_t n = r ? r->ntests : 0;
    size_t start = hint && *hint < n ? *hint : 0;
    /* Both reports list the tests in the order they ran: starting where the
     * last one was found makes a walk over every case linear. */
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (strcmp(r->tests[i].name, name) == 0 && strcmp(r->tests[i].classname, classname) == 0) {
            if (hint)
                *hint = i + 1;
            return &r->tests[i];
        }
    }
    return NULL;
}

const struct side_test *side_report_find(const struct side_report *r, const char *classname,
                                         const char *name)
{
    return side_report_find_from(r, classname, name, NULL);
}

void side_report_apply(const struct side_report *r, struct atc_junit_report *rep, long *flaky,
                       long *timeouts)
{
    size_t hint = 0;
    *flaky = *timeouts = 0;
    for (size_t i = 0; i < rep->ntests; i++) {
        struct atc_test_case *c = &rep->tests[i];
        if (c->outcome != ATC_TEST_FAILED && c->outcome != ATC_TEST_ERROR)
            continue;
        const struct side_test *t = side_report_find_from(r, c->classname ? c->classname : "",
                                                          c->name ? c->name : "", &hint);
        if (!t || !t->outcome)
            continue;
        if (strcmp(t->outcome, "flaky") == 0) {
            c->outcome = ATC_TEST_FLAKY;
            (*flaky)++;
        } else if (strcmp(t->outcome, "timeout") == 0) {
            c->outcome = ATC_TEST_TIMEOUT;
            (*timeouts)++;
        }
    }
}
