/* test_report.c: result fields from a run's outcome (worker/report.c), dead
 * letter records (worker/dlq.c) and output capping (common/src/output.c). */
#include "support.h"

#include <limits.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "atc/output.h"
#include "dlq.h"
#include "report.h"

static const struct atc_field *find(const struct report_fields *rf, const char *name)
{
    for (size_t i = 0; i < rf->n; i++)
        if (strcmp(rf->f[i].name, name) == 0)
            return &rf->f[i];
    return NULL;
}

static void report__add_int__writes_zero_negatives_and_the_extremes(void **state)
{
    (void)state;
    const long long values[] = {0, 7, -1, 10, 1234567890123LL, LLONG_MAX, LLONG_MIN};
    struct report_fields rf = {0};
    char want[32];

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "n%zu", i);
        assert_int_equal(report_add_int(&rf, name, values[i]), 0);
        snprintf(want, sizeof(want), "%lld", values[i]);
        const struct atc_field *f = find(&rf, name);
        assert_non_null(f);
        assert_int_equal(f->len, strlen(want));
        assert_memory_equal(f->value, want, f->len);
    }
    report_fields_cleanup(&rf);
}

static void report__final_fields__carry_counts_phases_and_labels(void **state)
{
    struct atc_kv labels[] = {{"tool", "slugify"}};
    struct atc_job job = {.id = "j1", .labels = labels, .nlabels = 1, .submitted_ms = 1000};
    struct attempt_outcome o;
    memset(&o, 0, sizeof(o));
    o.status = "failed";
    o.reason = "tests_failed";
    o.has_exit_code = 1;
    o.exit_code = 1;
    o.output = strdup("boom");
    o.output_len = 4;
    o.has_report = 1;
    o.report.total = 2;
    o.report.passed = 1;
    o.report.failed = 1;
    snprintf(o.sandbox_id, sizeof(o.sandbox_id), "sb-1");
    o.create_ms = 10;
    o.upload_ms = 2;
    o.install_ms = -1;
    o.test_ms = 30;
    o.delete_ms = 4;
    struct report_meta m = {.job = &job, .worker_id = "w1", .traceparent = "00-abc-def-01",
                            .attempt = 2, .started_ms = 2000, .finished_ms = 2500};
    struct report_fields rf = {0};
    assert_int_equal(report_build_final(&rf, &m, &o), 0);
    assert_string_equal(find(&rf, "reason")->value, "tests_failed");
    assert_string_equal(find(&rf, "exit_code")->value, "1");
    assert_string_equal(find(&rf, "tests_total")->value, "2");
    assert_string_equal(find(&rf, "tests_failed")->value, "1");
    assert_string_equal(find(&rf, "duration_ms")->value, "500");
    assert_string_equal(find(&rf, "attempt")->value, "2");
    assert_string_equal(find(&rf, "sandbox")->value, "sb-1");
    assert_string_equal(find(&rf, "traceparent")->value, "00-abc-def-01");
    assert_string_equal(find(&rf, "output_truncated")->value, "0");
    assert_null(find(&rf, "install_ms"));
    assert_null(find(&rf, "error"));
    assert_non_null(find(&rf, "tests"));

    const struct atc_field *lab = find(&rf, "labels");
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, lab->value, lab->len, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(up.data.via.map.size, 1);
    assert_memory_equal(up.data.via.map.ptr[0].val.via.str.ptr, "slugify", 7);
    msgpack_unpacked_destroy(&up);
    report_fields_cleanup(&rf);
    attempt_outcome_cleanup(&o);
}

static void report__rejected_fields__name_reason_and_error(void **state)
{
    struct report_fields rf = {0};
    assert_int_equal(report_build_rejected(&rf, "bad_message", "id: missing", "w1", NULL, 42), 0);
    assert_string_equal(find(&rf, "reason")->value, "bad_message");
    assert_string_equal(find(&rf, "error")->value, "id: missing");
    assert_string_equal(find(&rf, "finished_ms")->value, "42");
    assert_null(find(&rf, "traceparent"));
    report_fields_cleanup(&rf);
}

static void dlq__record__decodes_with_the_original_bytes(void **state)
{
    const char original[] = {'\x81', '\xa1', 'v', '\x00', 'x'};
    struct dlq_record r = {.reason = "bad_message", .error = "v: must be 1", .worker = "w1",
                           .ts_ms = 123, .topic = "atc.jobs", .partition = 3, .offset = 77,
                           .original = original, .original_len = sizeof(original)};
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(dlq_encode(&r, &buf, &len), 0);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
    int seen = 0;
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &up.data.via.map.ptr[i];
        if (kv->key.via.str.size == 8 && memcmp(kv->key.via.str.ptr, "original", 8) == 0) {
            assert_int_equal(kv->val.type, MSGPACK_OBJECT_BIN);
            assert_int_equal(kv->val.via.bin.size, sizeof(original));
            assert_memory_equal(kv->val.via.bin.ptr, original, sizeof(original));
            seen++;
        } else if (kv->key.via.str.size == 6 && memcmp(kv->key.via.str.ptr, "offset", 6) == 0) {
            assert_int_equal(kv->val.via.u64, 77);
            seen++;
        } else if (kv->key.via.str.size == 1 && kv->key.via.str.ptr[0] == 'v') {
            assert_int_equal(kv->val.via.u64, 1);
            seen++;
        }
    }
    assert_int_equal(seen, 3);
    assert_int_equal(up.data.via.map.size, 9);
    msgpack_unpacked_destroy(&up);
    free(buf);
}

static void output_cap__long_output__keeps_head_and_tail(void **state)
{
    char buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = i < 500 ? 'h' : 't';
    int cut = 0;
    size_t n = atc_output_cap(buf, sizeof(buf), 200, &cut);
    assert_int_equal(n, 200);
    assert_int_equal(cut, 1);
    assert_int_equal(buf[0], 'h');
    assert_int_equal(buf[199], 't');
    assert_non_null(memmem(buf, n, "truncated", 9));
}

static void output_cap__short_output__is_untouched(void **state)
{
    char buf[] = "all of it";
    int cut = 1;
    assert_int_equal(atc_output_cap(buf, 9, 200, &cut), 9);
    assert_int_equal(cut, 0);
    assert_memory_equal(buf, "all of it", 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(report__add_int__writes_zero_negatives_and_the_extremes),
        cmocka_unit_test(report__final_fields__carry_counts_phases_and_labels),
        cmocka_unit_test(report__rejected_fields__name_reason_and_error),
        cmocka_unit_test(dlq__record__decodes_with_the_original_bytes),
        cmocka_unit_test(output_cap__long_output__keeps_head_and_tail),
        cmocka_unit_test(output_cap__short_output__is_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
