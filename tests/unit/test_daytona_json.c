/* test_daytona_json.c: the Daytona API's JSON both ways
 * (common/src/daytona_json.c): request bodies as the service reads them, and
 * what is taken from a sandbox or exec reply, hostile ones included. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "daytona_json.h"

static char err[256];

static int sandbox(const char *doc, struct atc_sandbox *sb, char *proxy, size_t proxylen)
{
    return atc_djson_sandbox(doc, strlen(doc), sb, proxy, proxylen, "GET /sandbox/x", err,
                             sizeof(err));
}

static void create_body__spec__is_compact_json_in_the_order_written(void **state)
{
    (void)state;
    struct atc_kv labels[] = {{"atc-job", "j1"}, {"atc-fleet", "f"}};
    struct atc_kv env[] = {{"A", "1\n\"q\""}};
    struct atc_sandbox_spec spec = {.name = "n1", .snapshot = "snap", .labels = labels,
                                    .nlabels = 2, .env = env, .nenv = 1, .auto_stop_min = 5,
                                    .auto_delete_min = -1, .network_block_all = 1};
    char *body = NULL;
    assert_int_equal(atc_djson_create_body(&spec, "eu", &body), 0);
    assert_string_equal(body, "{\"name\":\"n1\",\"snapshot\":\"snap\",\"target\":\"eu\","
                              "\"labels\":{\"atc-job\":\"j1\",\"atc-fleet\":\"f\"},"
                              "\"env\":{\"A\":\"1\\n\\\"q\\\"\"},\"autoStopInterval\":5,"
                              "\"networkBlockAll\":true}");
    free(body);
}

static void create_body__repeated_label__keeps_the_last(void **state)
{
    (void)state;
    struct atc_kv labels[] = {{"k", "first"}, {"k", "last"}};
    struct atc_sandbox_spec spec = {.labels = labels, .nlabels = 2, .auto_stop_min = -1,
                                    .auto_delete_min = -1};
    char *body = NULL;
    assert_int_equal(atc_djson_create_body(&spec, NULL, &body), 0);
    assert_string_equal(body, "{\"labels\":{\"k\":\"last\"},\"env\":{}}");
    free(body);
}

static void create_body__non_utf8_or_null_string__is_refused(void **state)
{
    (void)state;
    struct atc_kv bad[] = {{"k", "\xff\xfe"}};
    struct atc_kv null_value[] = {{"k", NULL}};
    struct atc_sandbox_spec spec = {.labels = bad, .nlabels = 1, .auto_stop_min = -1,
                                    .auto_delete_min = -1};
    char *body = (char *)"untouched";
    assert_int_equal(atc_djson_create_body(&spec, NULL, &body), ATC_EINVAL);
    assert_null(body);
    spec.labels = null_value;
    assert_int_equal(atc_djson_create_body(&spec, NULL, &body), ATC_EINVAL);
    spec.labels = NULL;
    spec.nlabels = 0;
    spec.name = "\xc0\xaf"; /* an overlong '/' */
    assert_int_equal(atc_djson_create_body(&spec, NULL, &body), ATC_EINVAL);
}

static void exec_body__optional_members__appear_only_when_set(void **state)
{
    (void)state;
    struct atc_kv env[] = {{"ATC_CMD", "pytest -q"}};
    char *body = NULL;
    assert_int_equal(atc_djson_exec_body("sh run.sh", NULL, NULL, 0, 0, &body), 0);
    assert_string_equal(body, "{\"command\":\"sh run.sh\"}");
    free(body);
    assert_int_equal(atc_djson_exec_body("sh run.sh", "/w", env, 1, 80, &body), 0);
    assert_string_equal(body, "{\"command\":\"sh run.sh\",\"cwd\":\"/w\","
                              "\"envs\":{\"ATC_CMD\":\"pytest -q\"},\"timeout\":80}");
    free(body);
}

static void labels_query__is_sorted_by_key(void **state)
{
    (void)state;
    struct atc_kv labels[] = {{"b", "2"}, {"a", "1"}};
    char *q = NULL;
    assert_int_equal(atc_djson_labels_query(labels, 2, &q), 0);
    assert_string_equal(q, "{\"a\":\"1\",\"b\":\"2\"}");
    free(q);
}

static void sandbox_reply__full__gives_every_field_and_the_labels(void **state)
{
    (void)state;
    struct atc_sandbox sb;
    char proxy[128];
    assert_int_equal(sandbox("{\"id\":\"sb-1\",\"name\":\"n\",\"state\":\"started\","
                             "\"errorReason\":null,\"toolboxProxyUrl\":\"http://p/t\","
                             "\"labels\":{\"atc-job\":\"j1\",\"atc-fleet\":\"f\",\"x\":1}}",
                             &sb, proxy, sizeof(proxy)),
                     0);
    assert_string_equal(sb.id, "sb-1");
    assert_string_equal(sb.name, "n");
    assert_string_equal(sb.state, "started");
    assert_string_equal(sb.error_reason, "");
    assert_string_equal(proxy, "http://p/t");
    assert_string_equal(sb.job_label, "j1");
    assert_string_equal(sb.fleet_label, "f");
}

static void sandbox_reply__without_proxy_url__leaves_it_empty(void **state)
{
    (void)state;
    struct atc_sandbox sb;
    char proxy[128] = "junk";
    assert_int_equal(sandbox("{\"id\":\"sb-1\"}", &sb, proxy, sizeof(proxy)), 0);
    assert_string_equal(proxy, "");
}

static void sandbox_reply__unusable_id__is_a_protocol_error(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"name\":\"n\"}", "{\"id\":7}", "{\"id\":\"\"}", "{\"id\":\"a b\"}",
        "{\"id\":\"../x\\n\"}", "{\"id\":\"caf\\u00e9\"}",
    };
    struct atc_sandbox sb;
    char proxy[64];
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        assert_int_equal(sandbox(docs[i], &sb, proxy, sizeof(proxy)), ATC_EPROTO);
        assert_string_equal(sb.id, "");
        assert_non_null(strstr(err, "no usable id"));
    }
}

static void sandbox_reply__not_json_or_not_an_object__says_which(void **state)
{
    (void)state;
    struct atc_sandbox sb;
    char proxy[64];
    assert_int_equal(sandbox("{\"id\":", &sb, proxy, sizeof(proxy)), ATC_EPROTO);
    assert_non_null(strstr(err, "not JSON"));
    assert_int_equal(sandbox("[{\"id\":\"x\"}]", &sb, proxy, sizeof(proxy)), ATC_EPROTO);
    assert_non_null(strstr(err, "not a JSON object"));
}

static void sandbox_reply__odd_labels__read_as_empty(void **state)
{
    (void)state;
    struct atc_sandbox sb;
    char proxy[64];
    /* A label holding a NUL could pass for another job's: not taken. */
    assert_int_equal(sandbox("{\"id\":\"s\",\"labels\":{\"atc-job\":\"j1\\u0000x\","
                             "\"atc-fleet\":5}}",
                             &sb, proxy, sizeof(proxy)),
                     0);
    assert_string_equal(sb.job_label, "");
    assert_string_equal(sb.fleet_label, "");
    assert_int_equal(sandbox("{\"id\":\"s\",\"labels\":[\"atc-job\"]}", &sb, proxy,
                             sizeof(proxy)),
                     0);
    assert_string_equal(sb.job_label, "");
}

static void sandbox_reply__long_name__is_truncated_and_long_proxy_refused(void **state)
{
    (void)state;
    struct atc_sandbox sb;
    char proxy[16];
    char doc[1024];
    char name[400];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(doc, sizeof(doc), "{\"id\":\"s\",\"name\":\"%s\"}", name);
    assert_int_equal(sandbox(doc, &sb, proxy, sizeof(proxy)), 0);
    assert_int_equal(strlen(sb.name), sizeof(sb.name) - 1);
    assert_int_equal(sandbox("{\"id\":\"s\",\"toolboxProxyUrl\":\"http://far.too.long/\"}", &sb,
                             proxy, sizeof(proxy)),
                     ATC_EPROTO);
    assert_non_null(strstr(err, "too long"));
}

static int exec_reply(const char *doc, int *code, char **out, size_t *len)
{
    return atc_djson_exec_reply(doc, strlen(doc), code, out, len, "exec", err, sizeof(err));
}

static void exec_reply__output_with_nul_bytes__is_kept_whole(void **state)
{
    (void)state;
    int code = -1;
    char *out = NULL;
    size_t len = 0;
    assert_int_equal(exec_reply("{\"exitCode\":3,\"result\":\"a\\u0000b\"}", &code, &out, &len),
                     0);
    assert_int_equal(code, 3);
    assert_int_equal(len, 3);
    assert_memory_equal(out, "a\0b", 4);
    free(out);
}

static void exec_reply__old_daemon_code_and_null_result__are_read(void **state)
{
    (void)state;
    int code = -1;
    char *out = NULL;
    size_t len = 9;
    assert_int_equal(exec_reply("{\"code\":0,\"result\":null}", &code, &out, &len), 0);
    assert_int_equal(code, 0);
    assert_int_equal(len, 0);
    assert_string_equal(out, "");
    free(out);
}

static void exec_reply__bad_exit_code_or_result__is_a_protocol_error(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"result\":\"x\"}", "{\"exitCode\":\"0\"}", "{\"exitCode\":1.5}",
        "{\"exitCode\":4294967296}", "{\"exitCode\":0,\"result\":[1]}", "[]", "nope",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        int code = -7;
        char *out = NULL;
        size_t len = 0;
        assert_int_equal(exec_reply(docs[i], &code, &out, &len), ATC_EPROTO);
        assert_null(out);
        assert_int_equal(code, -7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_body__spec__is_compact_json_in_the_order_written),
        cmocka_unit_test(create_body__repeated_label__keeps_the_last),
        cmocka_unit_test(create_body__non_utf8_or_null_string__is_refused),
        cmocka_unit_test(exec_body__optional_members__appear_only_when_set),
        cmocka_unit_test(labels_query__is_sorted_by_key),
        cmocka_unit_test(sandbox_reply__full__gives_every_field_and_the_labels),
        cmocka_unit_test(sandbox_reply__without_proxy_url__leaves_it_empty),
        cmocka_unit_test(sandbox_reply__unusable_id__is_a_protocol_error),
        cmocka_unit_test(sandbox_reply__not_json_or_not_an_object__says_which),
        cmocka_unit_test(sandbox_reply__odd_labels__read_as_empty),
        cmocka_unit_test(sandbox_reply__long_name__is_truncated_and_long_proxy_refused),
        cmocka_unit_test(exec_reply__output_with_nul_bytes__is_kept_whole),
        cmocka_unit_test(exec_reply__old_daemon_code_and_null_result__are_read),
        cmocka_unit_test(exec_reply__bad_exit_code_or_result__is_a_protocol_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
