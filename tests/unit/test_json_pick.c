/* test_json_pick.c: the tree-less JSON member picker (common/src/json_pick.c),
 * checked against jansson, whose verdicts it must reproduce. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../common/src/json_pick.h"

/* Documents jansson accepts or refuses; the picker must agree on each. */
static const char *const docs[] = {
    "{}",
    " {\"id\":\"sb-1\"} \n",
    "{\"id\":\"sb-1\",\"id\":\"sb-2\"}",
    "{\"id\":\"\\u0073b-\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\"}",
    "{\"\\u0069d\":\"escaped key\"}",
    "{\"id\":\"a\\u0000b\"}",
    "{\"a\\u0000\":1}",
    "{\"id\":1}",
    "{\"id\":null}",
    "{\"exitCode\":-2147483648,\"result\":\"x\"}",
    "{\"exitCode\":9223372036854775807}",
    "{\"exitCode\":9223372036854775808}",
    "{\"exitCode\":-9223372036854775808}",
    "{\"exitCode\":-9223372036854775809}",
    "{\"exitCode\":1.5}",
    "{\"exitCode\":1e3}",
    "{\"exitCode\":01}",
    "{\"exitCode\":-}",
    "{\"exitCode\":1.}",
    "{\"exitCode\":1e}",
    "{\"a\":[1,2,{\"b\":[true,false,null]}],\"id\":\"x\"}",
    "{\"a\":[1,2,]}",
    "{\"a\":1,}",
    "{\"a\" 1}",
    "{\"a\":tru}",
    "{\"a\":truex}",
    "{\"a\":\"\x01\"}",
    "{\"a\":\"\xc3\xa9\"}",
    "{\"a\":\"\xc3\"}",
    "{\"a\":\"\xc0\xaf\"}",
    "{\"a\":\"\xed\xa0\x80\"}",
    "{\"a\":\"\xf4\x90\x80\x80\"}",
    "{\"a\":\"\\ud800\"}",
    "{\"a\":\"\\udc00\"}",
    "{\"a\":\"\\ud800\\u0041\"}",
    "{\"a\":\"\\x\"}",
    "{\"a\":\"\\u12g4\"}",
    "{\"a\":\"unterminated}",
    "{\"a\":1} x",
    "{\"a\":1}{}",
    "[1,2]",
    "\"str\"",
    "",
    "   ",
    "{",
    "{\"a\":{\"b\":{\"c\":{}}}}",
};

static void picker__agrees_with_jansson__on_every_document(void **state)
{
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        const char *doc = docs[i];
        size_t len = strlen(doc);
        json_t *root = json_loadb(doc, len, JSON_ALLOW_NUL, NULL);
        struct atc_jpick f[] = {{.key = "id"}, {.key = "exitCode"}, {.key = "result"}};
        char err[200] = "";
        int rc = atc_jpick_object(doc, len, f, 3, err, sizeof(err));
        int want = root == NULL ? -1 : json_is_object(root) ? 0 : -2;
        /* jansson refuses a top-level scalar outright; the picker calls it
         * "not an object": both are a refusal. */
        if (rc != want && !(want == -1 && rc == -2 && (doc[0] == '"' || doc[0] == '1')))
            fail_msg("document %zu (%s): picker %d, jansson %d (%s)", i, doc, rc, want, err);
        if (rc == -1 && want == -1)
            assert_true(err[0] != '\0');
        for (size_t k = 0; rc == 0 && k < 3; k++) {
            json_t *v = json_object_get(root, f[k].key);
            if (v == NULL) {
                assert_int_equal(f[k].type, ATC_JPICK_NONE);
            } else if (json_is_string(v)) {
                size_t n = 0;
                char *s = atc_jpick_dup(&f[k], &n);
                char small[4];
                assert_non_null(s);
                assert_int_equal(f[k].type, ATC_JPICK_STRING);
                assert_int_equal(n, json_string_length(v));
                assert_memory_equal(s, json_string_value(v), n);
                assert_int_equal(atc_jpick_copy(&f[k], small, sizeof(small)),
                                 strlen(json_string_value(v)));
                assert_int_equal(strncmp(small, json_string_value(v), sizeof(small) - 1), 0);
                free(s);
            } else if (json_is_integer(v)) {
                assert_int_equal(f[k].type, ATC_JPICK_INT);
                assert_true(f[k].num == json_integer_value(v));
            } else if (json_is_null(v)) {
                assert_int_equal(f[k].type, ATC_JPICK_NULL);
            } else {
                assert_int_equal(f[k].type, ATC_JPICK_OTHER);
            }
        }
        json_decref(root);
    }
}

static void picker__nesting_deeper_than_jansson_allows__is_refused(void **state)
{
    size_t depth = 5000;
    char *doc = malloc(2 * depth + 16);
    char err[200];
    struct atc_jpick f[] = {{.key = "a"}};

    assert_non_null(doc);
    size_t n = 0;
    doc[n++] = '{';
    memcpy(doc + n, "\"a\":", 4);
    n += 4;
    for (size_t i = 0; i < depth; i++)
        doc[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        doc[n++] = ']';
    doc[n++] = '}';
    assert_int_equal(atc_jpick_object(doc, n, f, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "depth"));
    free(doc);
}

static void copy__value_longer_than_the_buffer__is_truncated_and_says_how_long(void **state)
{
    const char *doc = "{\"url\":\"http://example.com/abc\"}";
    struct atc_jpick f[] = {{.key = "url"}};
    char buf[8];

    assert_int_equal(atc_jpick_object(doc, strlen(doc), f, 1, NULL, 0), 0);
    assert_int_equal(atc_jpick_copy(&f[0], buf, sizeof(buf)), strlen("http://example.com/abc"));
    assert_string_equal(buf, "http://");
}

static void copy__member_that_is_not_a_string__reads_as_empty(void **state)
{
    const char *doc = "{\"url\":[\"x\"]}";
    struct atc_jpick f[] = {{.key = "url"}, {.key = "absent"}};
    char buf[8] = "junk";
    size_t n = 9;

    assert_int_equal(atc_jpick_object(doc, strlen(doc), f, 2, NULL, 0), 0);
    assert_int_equal(f[0].type, ATC_JPICK_OTHER);
    assert_int_equal(atc_jpick_copy(&f[0], buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    char *s = atc_jpick_dup(&f[1], &n);
    assert_non_null(s);
    assert_int_equal(n, 0);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(picker__agrees_with_jansson__on_every_document),
        cmocka_unit_test(picker__nesting_deeper_than_jansson_allows__is_refused),
        cmocka_unit_test(copy__value_longer_than_the_buffer__is_truncated_and_says_how_long),
        cmocka_unit_test(copy__member_that_is_not_a_string__reads_as_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
