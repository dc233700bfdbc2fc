/* test_doctor.c: the doctor's report: lines, JSON, the first problem (common/src/doctor.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "atc/doctor.h"

static void doctor_run__configuration_error__fails_first_and_stops_there(void **state)
{
    (void)state;
    struct atc_doctor_report r;
    struct atc_doctor_config c = {
        .config_line = "brokers=x daytona-api-key=***",
        .config_error = "concurrency (ATC_CONCURRENCY): \"many\" is not an integer",
    };
    assert_int_equal(atc_doctor_run(&c, &r, NULL, NULL), 1);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.checks[0].name, "configuration");
    assert_int_equal(r.checks[0].state, ATC_DOCTOR_FAIL);
    assert_string_equal(atc_doctor_problem(&r), c.config_error);
}

static void doctor_run__no_key__names_the_variables_to_set(void **state)
{
    (void)state;
    struct atc_doctor_report r;
    struct atc_doctor_config c = {.config_line = ""};
    assert_int_equal(atc_doctor_run(&c, &r, NULL, NULL), 1);
    assert_non_null(strstr(atc_doctor_problem(&r), "DAYTONA_API_KEY"));
}

static void doctor_format_line__shows_state_name_time_detail_and_fix(void **state)
{
    (void)state;
    struct atc_doctor_check c = {.name = "redis.eviction", .state = ATC_DOCTOR_FAIL, .ms = 12};
    char line[2048];
    snprintf(c.detail, sizeof(c.detail), "%s", "maxmemory-policy allkeys-lru");
    snprintf(c.fix, sizeof(c.fix), "%s", "set maxmemory-policy noeviction");
    atc_doctor_format_line(&c, line, sizeof(line));
    assert_string_equal(line, "FAIL redis.eviction         12 ms  maxmemory-policy allkeys-lru -> "
                              "set maxmemory-policy noeviction");
    c.state = ATC_DOCTOR_PASS;
    atc_doctor_format_line(&c, line, sizeof(line));
    assert_null(strstr(line, "->"));
    assert_int_equal(strncmp(line, "ok   redis.eviction", 19), 0);
}

static void doctor_report_json__holds_every_check_and_the_problem(void **state)
{
    (void)state;
    struct atc_doctor_report r;
    memset(&r, 0, sizeof(r));
    r.n = 2;
    snprintf(r.checks[0].name, sizeof(r.checks[0].name), "%s", "redis");
    r.checks[0].state = ATC_DOCTOR_PASS;
    r.checks[0].ms = 3;
    snprintf(r.checks[1].name, sizeof(r.checks[1].name), "%s", "kafka.topics");
    r.checks[1].state = ATC_DOCTOR_FAIL;
    snprintf(r.checks[1].fix, sizeof(r.checks[1].fix), "%s", "create the topic");
    char *text = atc_doctor_report_json(&r);
    assert_non_null(text);
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_false(json_object_get(j, "ok")));
    assert_string_equal(json_string_value(json_object_get(j, "problem")), "create the topic");
    json_t *checks = json_object_get(j, "checks");
    assert_int_equal(json_array_size(checks), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(checks, 0), "status")), "pass");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(checks, 0), "ms")), 3);
    assert_null(json_object_get(json_array_get(checks, 0), "fix"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(checks, 1), "fix")),
                        "create the topic");
    json_decref(j);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doctor_run__configuration_error__fails_first_and_stops_there),
        cmocka_unit_test(doctor_run__no_key__names_the_variables_to_set),
        cmocka_unit_test(doctor_format_line__shows_state_name_time_detail_and_fix),
        cmocka_unit_test(doctor_report_json__holds_every_check_and_the_problem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
