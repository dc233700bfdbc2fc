/* junit.c: reads a JUnit XML report (pytest --junitxml) into counts and test
 * cases with expat, and packs the cases as the result's msgpack `tests` field. */
#include "atc/junit.h"

#include "atc/error.h"

#include <expat.h>
#include <msgpack.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pytest nests three levels deep; anything far deeper is not a report. */
#define JUNIT_MAX_DEPTH 64
/* expat takes an int length: feed big reports in pieces. */
#define JUNIT_CHUNK (1u << 20)
/* Longest test time kept, in ms (about 31 years): guards the long conversion. */
#define JUNIT_MAX_TIME_MS 1e12

/* How strongly a child element marks its test case; the strongest wins. */
enum junit_rank {
    RANK_PASSED = 0,
    RANK_SKIPPED = 1,
    RANK_FAILED = 2,
    RANK_ERROR = 3,
};

struct junit_state {
    XML_Parser parser;
    struct atc_junit_report *rep;
    size_t max_tests;
    size_t max_message;
    size_t cap;             /* allocated entries of rep->tests */
    int depth;              /* of the element being parsed, root = 1 */
    int case_depth;         /* depth of the open <testcase>, 0 when none */
    struct atc_test_case cur;
    enum junit_rank rank;
    int capture_depth;      /* depth of the outcome element whose text is the message */
    char *msg;              /* message of the current case, max_message + 1 bytes */
    size_t msg_len;
    int rc;                 /* first error seen by a handler */
    char *err;
    size_t errlen;
};

const char *atc_test_outcome_name(enum atc_test_outcome o)
{
    switch (o) {
    case ATC_TEST_PASSED:
        return "passed";
    case ATC_TEST_FAILED:
        return "failed";
    case ATC_TEST_ERROR:
        return "error";
    case ATC_TEST_SKIPPED:
        return "skipped";
    case ATC_TEST_FLAKY:
        return "flaky";
    case ATC_TEST_TIMEOUT:
        return "timeout";
    }
    return "error";
}

static void junit_fail(struct junit_state *st, int rc, const char *msg)
{
    if (st->rc == 0) {
        st->rc = rc;
        snprintf(st->err, st->errlen, "%s", msg);
    }
    XML_StopParser(st->parser, XML_FALSE);
}

/* A copy of s[0..n). */
static char *junit_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *junit_strdup(const char *s)
{
    return junit_strndup(s, strlen(s));
}

/* A copy of a test's name or classname cut at ATC_JUNIT_NAME_MAX bytes, never
 * inside a UTF-8 sequence: both come from the job's code, which can make them
 * as long as the report (megabytes, times 10000 tests). */
static char *junit_name_dup(const char *s)
{
    size_t n = strlen(s);
    if (n > ATC_JUNIT_NAME_MAX) {
        n = ATC_JUNIT_NAME_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return junit_strndup(s, n);
}

static const char *junit_attr(const XML_Char **attrs, const char *name)
{
    for (size_t i = 0; attrs[i] != NULL && attrs[i + 1] != NULL; i += 2) {
        if (strcmp(attrs[i], name) == 0)
            return attrs[i + 1];
    }
    return NULL;
}

/* "0.001" seconds to 1 ms; anything not a finite, non-negative number is 0. */
static long junit_time_ms(const char *s)
{
    char *end = NULL;
    double t;

    if (s == NULL)
        return 0;
    t = strtod(s, &end);
    if (end == s || !isfinite(t) || t < 0)
        return 0;
    t = t * 1000.0 + 0.5;
    return t > JUNIT_MAX_TIME_MS ? (long)JUNIT_MAX_TIME_MS : (long)t;
}

/* Appends text to the message, stopping at max_message bytes and never
 * splitting a UTF-8 sequence. */
static void junit_msg_append(struct junit_state *st, const char *s, size_t n)
{
    size_t room = st->max_message - st->msg_len;

    if (n > room) {
        n = room;
        /* Back off over continuation bytes to the start of a whole character. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(st->msg + st->msg_len, s, n);
    st->msg_len += n;
    st->msg[st->msg_len] = '\0';
}

static void junit_case_reset(struct junit_state *st)
{
    free(st->cur.name);
    free(st->cur.classname);
    free(st->cur.message);
    memset(&st->cur, 0, sizeof(st->cur));
    st->rank = RANK_PASSED;
    st->capture_depth = 0;
    st->msg_len = 0;
    st->msg[0] = '\0';
}

static void junit_case_start(struct junit_state *st, const XML_Char **attrs)
{
    const char *name = junit_attr(attrs, "name");
    const char *classname = junit_attr(attrs, "classname");

    junit_case_reset(st);
    st->case_depth = st->depth;
    st->cur.name = junit_name_dup(name != NULL ? name : "");
    st->cur.classname = junit_name_dup(classname != NULL ? classname : "");
    st->cur.time_ms = junit_time_ms(junit_attr(attrs, "time"));
    if (st->cur.name == NULL || st->cur.classname == NULL)
        junit_fail(st, ATC_ENOMEM, "out of memory reading the JUnit report");
}

/* A <failure>, <error> or <skipped> inside a test case. */
static void junit_outcome_start(struct junit_state *st, enum junit_rank rank,
                                const XML_Char **attrs)
{
    const char *message = junit_attr(attrs, "message");

    /* Error beats failure beats skipped: a case is counted once, as its worst. */
    if (rank <= st->rank)
        return;
    st->rank = rank;
    st->msg_len = 0;
    st->msg[0] = '\0';
    st->capture_depth = 0;
    if (message != NULL && message[0] != '\0')
        junit_msg_append(st, message, strlen(message));
    else
        st->capture_depth = st->depth;
}

static void junit_case_end(struct junit_state *st)
{
    struct atc_junit_report *rep = st->rep;
    enum atc_test_outcome outcome = ATC_TEST_PASSED;

    switch (st->rank) {
    case RANK_PASSED:
        outcome = ATC_TEST_PASSED;
        rep->passed++;
        break;
    case RANK_SKIPPED:
        outcome = ATC_TEST_SKIPPED;
        rep->skipped++;
        break;
    case RANK_FAILED:
        outcome = ATC_TEST_FAILED;
        rep->failed++;
        break;
    case RANK_ERROR:
        outcome = ATC_TEST_ERROR;
        rep->errors++;
        break;
    }
    rep->total++;
    st->case_depth = 0;
    st->capture_depth = 0;
    if (rep->ntests >= st->max_tests)
        return;
    if (rep->ntests == st->cap) {
        size_t cap = st->cap == 0 ? 16 : st->cap * 2;
        if (cap > st->max_tests)
            cap = st->max_tests;
        struct atc_test_case *t = realloc(rep->tests, cap * sizeof(*t));
        if (t == NULL) {
            junit_fail(st, ATC_ENOMEM, "out of memory reading the JUnit report");
            return;
        }
        rep->tests = t;
        st->cap = cap;
    }
    st->cur.outcome = outcome;
    st->cur.message = junit_strdup(st->msg);
    if (st->cur.message == NULL) {
        junit_fail(st, ATC_ENOMEM, "out of memory reading the JUnit report");
        return;
    }
    rep->tests[rep->ntests++] = st->cur;
    memset(&st->cur, 0, sizeof(st->cur));
}

static void XMLCALL junit_on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct junit_state *st = ud;

    st->depth++;
    if (st->depth > JUNIT_MAX_DEPTH) {
        junit_fail(st, ATC_EBADMSG, "the JUnit report nests elements too deeply");
        return;
    }
    if (st->depth == 1) {
        if (strcmp(name, "testsuites") != 0 && strcmp(name, "testsuite") != 0) {
            char msg[160];
            snprintf(msg, sizeof(msg), "the JUnit report's root element is <%.64s>, not "
                                       "<testsuites> or <testsuite>",
                     name);
            junit_fail(st, ATC_EBADMSG, msg);
        }
        return;
    }
    if (strcmp(name, "testcase") == 0) {
        if (st->case_depth != 0) {
            junit_fail(st, ATC_EBADMSG, "the JUnit report has a <testcase> inside a <testcase>");
            return;
        }
        junit_case_start(st, attrs);
        return;
    }
    /* Only direct children of a test case say how it went. */
    if (st->case_depth == 0 || st->depth != st->case_depth + 1)
        return;
    if (strcmp(name, "error") == 0)
        junit_outcome_start(st, RANK_ERROR, attrs);
    else if (strcmp(name, "failure") == 0)
        junit_outcome_start(st, RANK_FAILED, attrs);
    else if (strcmp(name, "skipped") == 0)
        junit_outcome_start(st, RANK_SKIPPED, attrs);
}

static void XMLCALL junit_on_end(void *ud, const XML_Char *name)
{
    struct junit_state *st = ud;

    if (st->capture_depth == st->depth)
        st->capture_depth = 0;
    if (st->case_depth == st->depth)
        junit_case_end(st);
    st->depth--;
}

static void XMLCALL junit_on_text(void *ud, const XML_Char *s, int len)
{
    struct junit_state *st = ud;

    if (st->capture_depth != 0 && st->depth >= st->capture_depth && len > 0)
        junit_msg_append(st, s, (size_t)len);
}

/* Any entity declaration stops the parse: a report has no use for them, and
 * refusing them outright rules out entity expansion attacks (billion laughs)
 * and external entities alike. */
static void XMLCALL junit_on_entity_decl(void *ud, const XML_Char *entity_name,
                                         int is_parameter_entity, const XML_Char *value,
                                         int value_length, const XML_Char *base,
                                         const XML_Char *system_id, const XML_Char *public_id,
                                         const XML_Char *notation_name)
{
    junit_fail(ud, ATC_EBADMSG, "the JUnit report declares an XML entity, which is refused");
}

int atc_junit_parse(const char *xml, size_t len, size_t max_tests, size_t max_message,
                    struct atc_junit_report *out, char *err, size_t errlen)
{
    struct junit_state st;
    size_t off = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    memset(&st, 0, sizeof(st));
    st.rep = out;
    st.max_tests = max_tests;
    st.max_message = max_message;
    st.err = err;
    st.errlen = errlen;
    if (xml == NULL && len > 0) {
        snprintf(err, errlen, "no JUnit report given");
        rc = ATC_EINVAL;
        goto out;
    }
    st.msg = malloc(max_message + 1);
    st.parser = XML_ParserCreate("UTF-8");
    if (st.msg == NULL || st.parser == NULL) {
        snprintf(err, errlen, "out of memory reading the JUnit report");
        rc = ATC_ENOMEM;
        goto out;
    }
    st.msg[0] = '\0';
    XML_SetUserData(st.parser, &st);
    XML_SetElementHandler(st.parser, junit_on_start, junit_on_end);
    XML_SetCharacterDataHandler(st.parser, junit_on_text);
    XML_SetEntityDeclHandler(st.parser, junit_on_entity_decl);
    XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);
    do {
        size_t n = len - off > JUNIT_CHUNK ? JUNIT_CHUNK : len - off;
        int final = off + n == len;
        if (XML_Parse(st.parser, xml != NULL ? xml + off : "", (int)n, final) !=
            XML_STATUS_OK) {
            if (st.rc != 0) {
                rc = st.rc;
            } else {
                snprintf(err, errlen,
                         "the JUnit report is not well-formed XML: %s at line %lu, column %lu",
                         XML_ErrorString(XML_GetErrorCode(st.parser)),
                         (unsigned long)XML_GetCurrentLineNumber(st.parser),
                         (unsigned long)XML_GetCurrentColumnNumber(st.parser));
                rc = ATC_EBADMSG;
            }
            goto out;
        }
        off += n;
    } while (off < len);
    rc = st.rc;
out:
    if (st.parser != NULL)
        XML_ParserFree(st.parser);
    if (st.msg != NULL)
        junit_case_reset(&st);
    free(st.msg);
    if (rc != 0)
        atc_junit_report_cleanup(out);
    return rc;
}

void atc_junit_report_cleanup(struct atc_junit_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ntests; i++) {
        free(r->tests[i].name);
        free(r->tests[i].classname);
        free(r->tests[i].message);
    }
    free(r->tests);
    memset(r, 0, sizeof(*r));
}

static int junit_pack_str(msgpack_packer *pk, const char *key, const char *value)
{
    size_t klen = strlen(key);
    size_t vlen = value != NULL ? strlen(value) : 0;

    return msgpack_pack_str(pk, klen) != 0 || msgpack_pack_str_body(pk, key, klen) != 0 ||
           msgpack_pack_str(pk, vlen) != 0 ||
           (vlen > 0 && msgpack_pack_str_body(pk, value, vlen) != 0);
}

int atc_junit_tests_pack(const struct atc_junit_report *r, char **buf, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int bad;

    *buf = NULL;
    *len = 0;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    bad = msgpack_pack_array(&pk, r->ntests) != 0;
    for (size_t i = 0; i < r->ntests && !bad; i++) {
        const struct atc_test_case *t = &r->tests[i];
        bad = msgpack_pack_map(&pk, 5) != 0 || junit_pack_str(&pk, "name", t->name) ||
              junit_pack_str(&pk, "classname", t->classname) ||
              junit_pack_str(&pk, "outcome", atc_test_outcome_name(t->outcome)) ||
              msgpack_pack_str(&pk, 7) != 0 || msgpack_pack_str_body(&pk, "time_ms", 7) != 0 ||
              msgpack_pack_long(&pk, t->time_ms) != 0 ||
              junit_pack_str(&pk, "message", t->message);
    }
    if (bad) {
        msgpack_sbuffer_destroy(&sb);
        return ATC_ENOMEM;
    }
    *len = sb.size;
    *buf = msgpack_sbuffer_release(&sb);
    return 0;
}
