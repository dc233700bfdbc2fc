/* test_metrics.c: /metrics label values (worker/metrics.c). */
#include "support.h"

#include <stdlib.h>
#include <string.h>
#include "metrics.h"

static void metrics__label_escape__escapes_and_never_cuts_an_escape(void **state)
{
    char out[16];
    (void)state;
    metrics_label_escape("a\"b\\c\nd", out, sizeof(out));
    assert_string_equal(out, "a\\\"b\\\\c\\nd");
    metrics_label_escape("abcd\"", out, 6); /* room for "abcd" and the NUL only */
    assert_string_equal(out, "abcd");
}

static void metrics__render__shows_an_odd_reason_escaped_on_one_line(void **state)
{
    char *text = NULL;
    size_t len = 0;
    (void)state;
    metrics_init();
    metrics_job_finished("failed", "x\"}\nfake_metric 1");
    assert_int_equal(metrics_render(&text, &len), 0);
    assert_non_null(strstr(text, "reason=\"x\\\"}\\nfake_metric 1\"}"));
    assert_null(strstr(text, "\nfake_metric 1"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(metrics__label_escape__escapes_and_never_cuts_an_escape),
        cmocka_unit_test(metrics__render__shows_an_odd_reason_escaped_on_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
