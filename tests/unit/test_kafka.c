/* test_kafka.c: librdkafka configuration from brokers, ATC_KAFKA_* and -X. */
#include "support.h"

#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/kafka.h"

static const char *conf_value(rd_kafka_conf_t *conf, const char *name, char *buf, size_t len)
{
    size_t n = len;
    if (rd_kafka_conf_get(conf, name, buf, &n) != RD_KAFKA_CONF_OK)
        return NULL;
    return buf;
}

static void clear_env(void)
{
    unsetenv("ATC_KAFKA_CLIENT_ID");
    unsetenv("ATC_KAFKA_SOCKET_TIMEOUT_MS");
    unsetenv("ATC_KAFKA_NO_SUCH_THING");
    unsetenv("ATC_TEST_ENV_OR");
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

static void conf_apply__brokers__set_bootstrap_servers(void **state)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256] = "", buf[256];

    (void)state;
    assert_int_equal(atc_kafka_conf_apply(conf, "10.0.0.1:9092,10.0.0.2:9092", NULL, 0, err,
                                          sizeof(err)),
                     0);
    assert_string_equal(conf_value(conf, "bootstrap.servers", buf, sizeof(buf)),
                        "10.0.0.1:9092,10.0.0.2:9092");
    rd_kafka_conf_destroy(conf);
}

static void conf_apply__env_variable__sets_lowercased_dotted_property(void **state)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256] = "", buf[256];

    (void)state;
    setenv("ATC_KAFKA_CLIENT_ID", "from-env", 1);
    setenv("ATC_KAFKA_SOCKET_TIMEOUT_MS", "12345", 1);
    assert_int_equal(atc_kafka_conf_apply(conf, NULL, NULL, 0, err, sizeof(err)), 0);
    assert_string_equal(conf_value(conf, "client.id", buf, sizeof(buf)), "from-env");
    assert_string_equal(conf_value(conf, "socket.timeout.ms", buf, sizeof(buf)), "12345");
    rd_kafka_conf_destroy(conf);
}

static void conf_apply__x_option__overrides_the_environment(void **state)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256] = "", buf[256];
    char *x[] = {"client.id=from-x", "linger.ms=7"};

    (void)state;
    setenv("ATC_KAFKA_CLIENT_ID", "from-env", 1);
    assert_int_equal(atc_kafka_conf_apply(conf, "h:1", x, 2, err, sizeof(err)), 0);
    assert_string_equal(conf_value(conf, "client.id", buf, sizeof(buf)), "from-x");
    assert_string_equal(conf_value(conf, "linger.ms", buf, sizeof(buf)), "7");
    rd_kafka_conf_destroy(conf);
}

static void conf_apply__x_value_with_equals_sign__keeps_the_rest(void **state)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256] = "", buf[256];
    char *x[] = {"client.id=a=b"};

    (void)state;
    assert_int_equal(atc_kafka_conf_apply(conf, NULL, x, 1, err, sizeof(err)), 0);
    assert_string_equal(conf_value(conf, "client.id", buf, sizeof(buf)), "a=b");
    rd_kafka_conf_destroy(conf);
}

static void conf_apply__unknown_x_property__is_named_in_the_error(void **state)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256] = "";
    char *x[] = {"no.such.property=1"};

    (void)state;
    assert_int_equal(atc_kafka_conf_apply(conf, NULL, x, 1, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "no.such.property"));
    rd_kafka_conf_destroy(conf);
}

static void conf_apply__bad_value__is_named_in_the_error(void **state)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256] = "";
    char *x[] = {"linger.ms=not-a-number"};

    (void)state;
    assert_int_equal(atc_kafka_conf_apply(conf, NULL, x, 1, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "linger.ms"));
    rd_kafka_conf_destroy(conf);
}

static void conf_apply__unknown_env_property__is_named_in_the_error(void **state)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256] = "";

    (void)state;
    setenv("ATC_KAFKA_NO_SUCH_THING", "1", 1);
    assert_int_equal(atc_kafka_conf_apply(conf, NULL, NULL, 0, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "no.such.thing"));
    rd_kafka_conf_destroy(conf);
}

static void conf_apply__x_without_equals__is_rejected(void **state)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256] = "";
    char *x[] = {"client.id"};

    (void)state;
    assert_int_equal(atc_kafka_conf_apply(conf, NULL, x, 1, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "client.id"));
    rd_kafka_conf_destroy(conf);
}

static void env_or__unset_or_empty__gives_the_default(void **state)
{
    (void)state;
    assert_string_equal(atc_env_or("ATC_TEST_ENV_OR", "def"), "def");
    setenv("ATC_TEST_ENV_OR", "", 1);
    assert_string_equal(atc_env_or("ATC_TEST_ENV_OR", "def"), "def");
    setenv("ATC_TEST_ENV_OR", "set", 1);
    assert_string_equal(atc_env_or("ATC_TEST_ENV_OR", "def"), "set");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(conf_apply__brokers__set_bootstrap_servers, setup, teardown),
        cmocka_unit_test_setup_teardown(conf_apply__env_variable__sets_lowercased_dotted_property,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(conf_apply__x_option__overrides_the_environment, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(conf_apply__x_value_with_equals_sign__keeps_the_rest,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(conf_apply__unknown_x_property__is_named_in_the_error,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(conf_apply__bad_value__is_named_in_the_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(conf_apply__unknown_env_property__is_named_in_the_error,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(conf_apply__x_without_equals__is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(env_or__unset_or_empty__gives_the_default, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
