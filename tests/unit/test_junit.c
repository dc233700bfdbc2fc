/* test_junit.c: the JUnit parser on real pytest reports, hostile XML and the
 * msgpack packing of the tests array. */
#include "support.h"

#include "atc/error.h"
#include "atc/junit.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reports written by pytest 9.2 (python3 -m pytest --junitxml=...) for small
 * test files: all passing, one failing, a fixture error, skip and xfail, a
 * syntax error in collection, and a failure followed by a teardown error. */
static const char report_pass[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite nam"
    "e=\"pytest\" errors=\"0\" failures=\"0\" skipped=\"0\" tests=\"2\" time=\"0.047\" timestam"
    "p=\"2026-11-26T04:42:50.355710+00:00\" hostname=\"vm\"><testcase classname=\"test_pass\" n"
    "ame=\"test_add\" time=\"0.001\" /><testcase classname=\"test_pass\" name=\"test_sub\" time"
    "=\"0.000\" /></testsuite></testsuites>"
    ;

static const char report_fail[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite nam"
    "e=\"pytest\" errors=\"0\" failures=\"1\" skipped=\"0\" tests=\"2\" time=\"0.078\" timestam"
    "p=\"2026-11-26T04:42:51.015421+00:00\" hostname=\"vm\"><testcase classname=\"test_fail\" n"
    "ame=\"test_ok\" time=\"0.001\" /><testcase classname=\"test_fail\" name=\"test_bad\" time="
    "\"0.001\"><failure message=\"AssertionError: math is broken&#10;assert (1 + 1) == 3\">def "
    "test_bad():\n"
    "&gt;       assert 1 + 1 == 3, \"math is broken\"\n"
    "E       AssertionError: math is broken\n"
    "E       assert (1 + 1) == 3\n"
    "\n"
    "test_fail.py:5: AssertionError</failure></testcase></testsuite></testsuites>"
    ;

static const char report_err[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite nam"
    "e=\"pytest\" errors=\"1\" failures=\"0\" skipped=\"0\" tests=\"1\" time=\"0.075\" timestam"
    "p=\"2026-11-26T04:42:51.681806+00:00\" hostname=\"vm\"><testcase classname=\"test_err\" na"
    "me=\"test_uses_broken\" time=\"0.001\"><error message=\"failed on setup with &quot;Runtime"
    "Error: fixture exploded&quot;\">@pytest.fixture\n"
    "    def broken():\n"
    "&gt;       raise RuntimeError(\"fixture exploded\")\n"
    "E       RuntimeError: fixture exploded\n"
    "\n"
    "test_err.py:5: RuntimeError</error></testcase></testsuite></testsuites>"
    ;

static const char report_skip[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite nam"
    "e=\"pytest\" errors=\"0\" failures=\"0\" skipped=\"2\" tests=\"3\" time=\"0.078\" timestam"
    "p=\"2026-11-26T04:42:52.328870+00:00\" hostname=\"vm\"><testcase classname=\"test_skip\" n"
    "ame=\"test_skipped\" time=\"0.001\"><skipped type=\"pytest.skip\" message=\"not today\">/t"
    "mp/results/py/test_skip.py:3: not today</skipped></testcase><testcase classname=\"test_ski"
    "p\" name=\"test_xfail\" time=\"0.001\"><skipped type=\"pytest.xfail\" message=\"known bug"
    "\" /></testcase><testcase classname=\"test_skip\" name=\"test_fine\" time=\"0.000\" /></te"
    "stsuite></testsuites>"
    ;

static const char report_syntax[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite nam"
    "e=\"pytest\" errors=\"1\" failures=\"0\" skipped=\"0\" tests=\"1\" time=\"0.487\" timestam"
    "p=\"2026-11-26T04:42:52.997823+00:00\" hostname=\"vm\"><testcase classname=\"\" name=\"tes"
    "t_syntax\" time=\"0.000\"><error message=\"collection failure\">/root/.pyenv/versions/3.11"
    ".7/lib/python3.11/site-packages/_pytest/python.py:528: in importtestmodule\n"
    "    mod = import_path(\n"
    "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/_pytest/pathlib.py:640: in impor"
    "t_path\n"
    "    importlib.import_module(module_name)\n"
    "/root/.pyenv/versions/3.11.7/lib/python3.11/importlib/__init__.py:126: in import_module\n"
    "    return _bootstrap._gcd_import(name[level:], package, level)\n"
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    "&lt;frozen importlib._bootstrap&gt;:1204: in _gcd_import\n"
    "    ???\n"
    "&lt;frozen importlib._bootstrap&gt;:1176: in _find_and_load\n"
    "    ???\n"
    "&lt;frozen importlib._bootstrap&gt;:1147: in _find_and_load_unlocked\n"
    "    ???\n"
    "&lt;frozen importlib._bootstrap&gt;:690: in _load_unlocked\n"
    "    ???\n"
    "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/_pytest/assertion/rewrite.py:176"
    ": in exec_module\n"
    "    source_hash, co = _rewrite_test(fn, self.config)\n"
    "                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/_pytest/assertion/rewrite.py:339"
    ": in _rewrite_test\n"
    "    tree = ast.parse(source, filename=strfn)\n"
    "           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
    "/root/.pyenv/versions/3.11.7/lib/python3.11/ast.py:50: in parse\n"
    "    return compile(source, filename, mode, flags,\n"
    "E     File \"/tmp/results/py/test_syntax.py\", line 1\n"
    "E       def test_x(:\n"
    "E                  ^\n"
    "E   SyntaxError: invalid syntax</error></testcase></testsuite></testsuites>"
    ;

static const char report_teardown[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite nam"
    "e=\"pytest\" errors=\"1\" failures=\"1\" skipped=\"0\" tests=\"2\" time=\"0.078\" timestam"
    "p=\"2026-11-26T04:42:55.858144+00:00\" hostname=\"vm\"><testcase classname=\"test_teardown"
    "\" name=\"test_fails_then_teardown\" time=\"0.001\"><failure message=\"assert 1 == 2\">res"
    " = 1\n"
    "\n"
    "    def test_fails_then_teardown(res):\n"
    "&gt;       assert res == 2\n"
    "E       assert 1 == 2\n"
    "\n"
    "test_teardown.py:9: AssertionError</failure></testcase><testcase classname=\"test_teardown"
    "\" name=\"test_fails_then_teardown\" time=\"0.000\"><error message=\"failed on teardown wi"
    "th &quot;RuntimeError: teardown broke&quot;\">@pytest.fixture\n"
    "    def res():\n"
    "        yield 1\n"
    "&gt;       raise RuntimeError(\"teardown broke\")\n"
    "E       RuntimeError: teardown broke\n"
    "\n"
    "test_teardown.py:6: RuntimeError</error></testcase></testsuite></testsuites>"
    ;

static char err[512];

static void parse_ok(const char *xml, size_t len, struct atc_junit_report *rep)
{
    int rc = atc_junit_parse(xml, len, 1000, 4096, rep, err, sizeof(err));
    if (rc != 0)
        print_error("parse failed: %s\n", err);
    assert_int_equal(rc, 0);
}

#define PARSE_OK(lit, rep) parse_ok((lit), sizeof(lit) - 1, (rep))

static void junit_parse__huge_name_and_classname__are_capped(void **state)
{
    size_t big = 3 * ATC_JUNIT_NAME_MAX;
    size_t cap = big * 2 + 256;
    char *xml = malloc(cap);
    struct atc_junit_report rep;
    char jerr[256];
    (void)state;
    assert_non_null(xml);
    int n = snprintf(xml, cap, "<testsuite><testcase classname=\"");
    memset(xml + n, 'c', big);
    n += (int)big;
    n += snprintf(xml + n, cap - (size_t)n, "\" name=\"\xc3\xa9");
    memset(xml + n, 'n', big);
    n += (int)big;
    n += snprintf(xml + n, cap - (size_t)n, "\"/></testsuite>");
    assert_int_equal(atc_junit_parse(xml, (size_t)n, 10, 100, &rep, jerr, sizeof(jerr)), 0);
    assert_int_equal(rep.ntests, 1);
    assert_int_equal(strlen(rep.tests[0].classname), ATC_JUNIT_NAME_MAX);
    assert_true(strlen(rep.tests[0].name) <= ATC_JUNIT_NAME_MAX);
    assert_true(strlen(rep.tests[0].name) >= ATC_JUNIT_NAME_MAX - 1);
    assert_int_equal(strncmp(rep.tests[0].name, "\xc3\xa9", 2), 0);
    atc_junit_report_cleanup(&rep);
    free(xml);
}

static void junit_parse__all_passing_report__counts_two_passed(void **state)
{
    struct atc_junit_report rep;

    PARSE_OK(report_pass, &rep);
    assert_int_equal(rep.total, 2);
    assert_int_equal(rep.passed, 2);
    assert_int_equal(rep.failed + rep.errors + rep.skipped, 0);
    assert_int_equal(rep.ntests, 2);
    assert_string_equal(rep.tests[0].name, "test_add");
    assert_string_equal(rep.tests[0].classname, "test_pass");
    assert_int_equal(rep.tests[0].outcome, ATC_TEST_PASSED);
    assert_int_equal(rep.tests[0].time_ms, 1);
    assert_string_equal(rep.tests[0].message, "");
    assert_string_equal(rep.tests[1].name, "test_sub");
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__failing_test__is_failed_with_the_message_attribute(void **state)
{
    struct atc_junit_report rep;

    PARSE_OK(report_fail, &rep);
    assert_int_equal(rep.total, 2);
    assert_int_equal(rep.passed, 1);
    assert_int_equal(rep.failed, 1);
    assert_int_equal(rep.tests[1].outcome, ATC_TEST_FAILED);
    assert_string_equal(rep.tests[1].name, "test_bad");
    assert_string_equal(rep.tests[1].message,
                        "AssertionError: math is broken\nassert (1 + 1) == 3");
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__fixture_error__is_error(void **state)
{
    struct atc_junit_report rep;

    PARSE_OK(report_err, &rep);
    assert_int_equal(rep.total, 1);
    assert_int_equal(rep.errors, 1);
    assert_int_equal(rep.tests[0].outcome, ATC_TEST_ERROR);
    assert_string_equal(rep.tests[0].message,
                        "failed on setup with \"RuntimeError: fixture exploded\"");
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__skip_and_xfail__are_both_skipped(void **state)
{
    struct atc_junit_report rep;

    PARSE_OK(report_skip, &rep);
    assert_int_equal(rep.total, 3);
    assert_int_equal(rep.skipped, 2);
    assert_int_equal(rep.passed, 1);
    assert_string_equal(rep.tests[0].name, "test_skipped");
    assert_int_equal(rep.tests[0].outcome, ATC_TEST_SKIPPED);
    assert_string_equal(rep.tests[0].message, "not today");
    assert_string_equal(rep.tests[1].name, "test_xfail");
    assert_int_equal(rep.tests[1].outcome, ATC_TEST_SKIPPED);
    assert_string_equal(rep.tests[1].message, "known bug");
    assert_int_equal(rep.tests[2].outcome, ATC_TEST_PASSED);
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__collection_error__is_one_error_named_after_the_file(void **state)
{
    struct atc_junit_report rep;

    PARSE_OK(report_syntax, &rep);
    assert_int_equal(rep.total, 1);
    assert_int_equal(rep.errors, 1);
    assert_string_equal(rep.tests[0].name, "test_syntax");
    assert_string_equal(rep.tests[0].classname, "");
    assert_string_equal(rep.tests[0].message, "collection failure");
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__teardown_error__counts_each_testcase_entry_once(void **state)
{
    struct atc_junit_report rep;

    /* pytest writes the teardown error as a second entry of the same name. */
    PARSE_OK(report_teardown, &rep);
    assert_int_equal(rep.total, 2);
    assert_int_equal(rep.failed, 1);
    assert_int_equal(rep.errors, 1);
    assert_string_equal(rep.tests[0].name, rep.tests[1].name);
    assert_int_equal(rep.tests[0].outcome, ATC_TEST_FAILED);
    assert_int_equal(rep.tests[1].outcome, ATC_TEST_ERROR);
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__failure_and_error_in_one_case__error_wins(void **state)
{
    static const char xml[] =
        "<testsuite><testcase name=\"t\" time=\"1.5\"><failure message=\"f\"/>"
        "<error message=\"e\"/><skipped message=\"s\"/></testcase></testsuite>";
    struct atc_junit_report rep;

    PARSE_OK(xml, &rep);
    assert_int_equal(rep.total, 1);
    assert_int_equal(rep.errors, 1);
    assert_int_equal(rep.failed, 0);
    assert_int_equal(rep.tests[0].outcome, ATC_TEST_ERROR);
    assert_string_equal(rep.tests[0].message, "e");
    assert_int_equal(rep.tests[0].time_ms, 1500);
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__bare_testsuite_root__is_accepted(void **state)
{
    static const char xml[] =
        "<?xml version=\"1.0\"?>\n<testsuite name=\"x\" tests=\"2\">\n"
        "  <testcase classname=\"a\" name=\"one\" time=\"0.25\"/>\n"
        "  <testcase classname=\"a\" name=\"two\"><failure>boom &amp; bust</failure></testcase>\n"
        "</testsuite>\n";
    struct atc_junit_report rep;

    PARSE_OK(xml, &rep);
    assert_int_equal(rep.total, 2);
    assert_int_equal(rep.failed, 1);
    assert_int_equal(rep.tests[0].time_ms, 250);
    /* No message attribute: the element's text is the message. */
    assert_string_equal(rep.tests[1].message, "boom & bust");
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__bad_times__become_zero(void **state)
{
    static const char xml[] =
        "<testsuite><testcase name=\"a\" time=\"nan\"/><testcase name=\"b\" time=\"-3\"/>"
        "<testcase name=\"c\" time=\"soon\"/><testcase name=\"d\" time=\"1e300\"/>"
        "<testcase name=\"e\"/></testsuite>";
    struct atc_junit_report rep;

    PARSE_OK(xml, &rep);
    assert_int_equal(rep.ntests, 5);
    assert_int_equal(rep.tests[0].time_ms, 0);
    assert_int_equal(rep.tests[1].time_ms, 0);
    assert_int_equal(rep.tests[2].time_ms, 0);
    assert_true(rep.tests[3].time_ms > 0);
    assert_int_equal(rep.tests[4].time_ms, 0);
    assert_string_equal(rep.tests[4].classname, "");
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__long_message__is_cut_on_a_character_boundary(void **state)
{
    /* "é" is two bytes; a cut at 5 bytes must not keep half of the third. */
    static const char xml[] =
        "<testsuite><testcase name=\"a\"><failure message=\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"/>"
        "</testcase></testsuite>";
    struct atc_junit_report rep;

    assert_int_equal(atc_junit_parse(xml, sizeof(xml) - 1, 10, 5, &rep, err, sizeof(err)), 0);
    assert_string_equal(rep.tests[0].message, "\xc3\xa9\xc3\xa9");
    atc_junit_report_cleanup(&rep);
}

static void junit_parse__malformed_xml__is_rejected(void **state)
{
    static const char *const bad[] = {
        "",
        "<testsuites><testsuite></testsuites>",
        "<testsuites><testcase name=\"a\"></testsuites",
        "not xml at all",
        "<testsuites></testsuites><testsuites/>",
        "<html><body/></html>",
        "<testsuite><testcase name=\"a\"><testcase name=\"b\"/></testcase></testsuite>",
        "<testsuite><testcase name=\"&undefined;\"/></testsuite>",
    };
    struct atc_junit_report rep;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        int rc = atc_junit_parse(bad[i], strlen(bad[i]), 10, 100, &rep, err, sizeof(err));
        if (rc != ATC_EBADMSG)
            print_error("case %zu: rc %d\n", i, rc);
        assert_int_equal(rc, ATC_EBADMSG);
        assert_true(err[0] != '\0');
        assert_null(rep.tests);
        assert_int_equal(rep.total, 0);
    }
}

static void junit_parse__billion_laughs__is_rejected(void **state)
{
    static const char xml[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
        " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
        " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
        " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
        " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
        "]>\n"
        "<testsuite><testcase name=\"&lol9;\"><failure message=\"&lol9;\"/></testcase></testsuite>\n";
    struct atc_junit_report rep;

    assert_int_equal(atc_junit_parse(xml, sizeof(xml) - 1, 10, 100, &rep, err, sizeof(err)),
                     ATC_EBADMSG);
    assert_non_null(strstr(err, "entity"));
}

static void junit_parse__external_entity__is_rejected(void **state)
{
    static const char xml[] =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE t [ <!ENTITY x SYSTEM \"file:///etc/passwd\"> ]>\n"
        "<testsuite><testcase name=\"&x;\"/></testsuite>\n";
    struct atc_junit_report rep;

    assert_int_equal(atc_junit_parse(xml, sizeof(xml) - 1, 10, 100, &rep, err, sizeof(err)),
                     ATC_EBADMSG);
}

static void junit_parse__many_attributes__are_fine(void **state)
{
    size_t cap = 400000, n = 0;
    char *xml = malloc(cap);
    struct atc_junit_report rep;

    assert_non_null(xml);
    n += (size_t)snprintf(xml + n, cap - n, "<testsuite><testcase name=\"big\"");
    for (int i = 0; i < 10000; i++)
        n += (size_t)snprintf(xml + n, cap - n, " a%d=\"%d\"", i, i);
    n += (size_t)snprintf(xml + n, cap - n, "/></testsuite>");
    assert_true(n < cap);
    assert_int_equal(atc_junit_parse(xml, n, 10, 100, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.total, 1);
    assert_string_equal(rep.tests[0].name, "big");
    atc_junit_report_cleanup(&rep);
    free(xml);
}

static void junit_parse__more_cases_than_max_tests__keeps_the_first_and_counts_all(void **state)
{
    size_t cap = 100000, n = 0;
    char *xml = malloc(cap);
    struct atc_junit_report rep;

    assert_non_null(xml);
    n += (size_t)snprintf(xml + n, cap - n, "<testsuites><testsuite>");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(xml + n, cap - n, "<testcase name=\"t%d\">%s</testcase>", i,
                              i % 2 ? "<failure/>" : "");
    n += (size_t)snprintf(xml + n, cap - n, "</testsuite></testsuites>");
    assert_true(n < cap);
    assert_int_equal(atc_junit_parse(xml, n, 37, 100, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.ntests, 37);
    assert_int_equal(rep.total, 1000);
    assert_int_equal(rep.passed, 500);
    assert_int_equal(rep.failed, 500);
    assert_string_equal(rep.tests[36].name, "t36");
    atc_junit_report_cleanup(&rep);

    assert_int_equal(atc_junit_parse(xml, n, 0, 100, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.ntests, 0);
    assert_int_equal(rep.total, 1000);
    atc_junit_report_cleanup(&rep);
    free(xml);
}

static int obj_str_eq(const msgpack_object *o, const char *s)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static const msgpack_object *map_get(const msgpack_object *m, const char *key)
{
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        if (obj_str_eq(&m->via.map.ptr[i].key, key))
            return &m->via.map.ptr[i].val;
    }
    return NULL;
}

static void junit_tests_pack__output__decodes_back_to_the_same_entries(void **state)
{
    struct atc_junit_report rep;
    msgpack_unpacked up;
    char *buf = NULL;
    size_t len = 0, off = 0;

    PARSE_OK(report_skip, &rep);
    assert_int_equal(atc_junit_tests_pack(&rep, &buf, &len), 0);
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, &off), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, len);
    const msgpack_object *arr = &up.data;
    assert_int_equal(arr->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(arr->via.array.size, rep.ntests);
    for (size_t i = 0; i < rep.ntests; i++) {
        const msgpack_object *m = &arr->via.array.ptr[i];
        const struct atc_test_case *t = &rep.tests[i];
        assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
        assert_int_equal(m->via.map.size, 5);
        assert_true(obj_str_eq(map_get(m, "name"), t->name));
        assert_true(obj_str_eq(map_get(m, "classname"), t->classname));
        assert_true(obj_str_eq(map_get(m, "outcome"), atc_test_outcome_name(t->outcome)));
        assert_true(obj_str_eq(map_get(m, "message"), t->message));
        const msgpack_object *ms = map_get(m, "time_ms");
        assert_non_null(ms);
        assert_int_equal(ms->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        assert_int_equal(ms->via.u64, (uint64_t)t->time_ms);
    }
    msgpack_unpacked_destroy(&up);
    free(buf);
    atc_junit_report_cleanup(&rep);
}

static void junit_tests_pack__no_tests__is_an_empty_array(void **state)
{
    struct atc_junit_report rep = {0};
    char *buf = NULL;
    size_t len = 0;

    assert_int_equal(atc_junit_tests_pack(&rep, &buf, &len), 0);
    assert_int_equal(len, 1);
    assert_int_equal((unsigned char)buf[0], 0x90);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(junit_parse__all_passing_report__counts_two_passed),
        cmocka_unit_test(junit_parse__huge_name_and_classname__are_capped),
        cmocka_unit_test(junit_parse__failing_test__is_failed_with_the_message_attribute),
        cmocka_unit_test(junit_parse__fixture_error__is_error),
        cmocka_unit_test(junit_parse__skip_and_xfail__are_both_skipped),
        cmocka_unit_test(junit_parse__collection_error__is_one_error_named_after_the_file),
        cmocka_unit_test(junit_parse__teardown_error__counts_each_testcase_entry_once),
        cmocka_unit_test(junit_parse__failure_and_error_in_one_case__error_wins),
        cmocka_unit_test(junit_parse__bare_testsuite_root__is_accepted),
        cmocka_unit_test(junit_parse__bad_times__become_zero),
        cmocka_unit_test(junit_parse__long_message__is_cut_on_a_character_boundary),
        cmocka_unit_test(junit_parse__malformed_xml__is_rejected),
        cmocka_unit_test(junit_parse__billion_laughs__is_rejected),
        cmocka_unit_test(junit_parse__external_entity__is_rejected),
        cmocka_unit_test(junit_parse__many_attributes__are_fine),
        cmocka_unit_test(junit_parse__more_cases_than_max_tests__keeps_the_first_and_counts_all),
        cmocka_unit_test(junit_tests_pack__output__decodes_back_to_the_same_entries),
        cmocka_unit_test(junit_tests_pack__no_tests__is_an_empty_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
