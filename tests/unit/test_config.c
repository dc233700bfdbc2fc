/* test_config.c: the option table (common/src/config.c) and the worker's
 * settings built on it (worker/settings.c). */
#include "support.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atc/config.h"
#include "atc/error.h"
#include "settings.h"

struct demo {
    char *name;
    long long count;
    int flag;
    char *key;
    char *url;
};

static const struct atc_opt demo_table[] = {
    {"name", "DEMO_NAME", ATC_OPT_STRING, "anon", 0, 0, 0, offsetof(struct demo, name), "a name"},
    {"count", "DEMO_COUNT", ATC_OPT_INT, "3", 1, 10, 0, offsetof(struct demo, count), "a count"},
    {"flag", "DEMO_FLAG", ATC_OPT_BOOL, "false", 0, 0, 0, offsetof(struct demo, flag), "a flag"},
    {"key", "DEMO_KEY", ATC_OPT_STRING, NULL, 0, 0, 1, offsetof(struct demo, key), "a secret"},
    {"url", "DEMO_URL", ATC_OPT_STRING, "redis://h:1/0", 0, 0, ATC_SECRET_URL_PASSWORD,
     offsetof(struct demo, url), "a url"},
};
#define NDEMO (sizeof(demo_table) / sizeof(demo_table[0]))

static int load(struct demo *d, int argc, char **argv, char *err, size_t errlen)
{
    char *rest[16];
    int nrest = 0;
    memset(d, 0, sizeof(*d));
    return atc_config_load(demo_table, NDEMO, d, argc, argv, rest, &nrest, err, errlen);
}

static int clear_env(void **state)
{
    unsetenv("DEMO_NAME");
    unsetenv("DEMO_COUNT");
    unsetenv("DEMO_FLAG");
    unsetenv("DEMO_KEY");
    unsetenv("DEMO_URL");
    return 0;
}

static void config__defaults__apply_when_nothing_is_set(void **state)
{
    struct demo d;
    char err[256];
    char *argv[] = {"prog", NULL};
    assert_int_equal(load(&d, 1, argv, err, sizeof(err)), 0);
    assert_string_equal(d.name, "anon");
    assert_int_equal(d.count, 3);
    assert_int_equal(d.flag, 0);
    assert_string_equal(d.key, "");
    atc_config_cleanup(demo_table, NDEMO, &d);
}

static void config__environment_then_options__options_win(void **state)
{
    struct demo d;
    char err[256];
    setenv("DEMO_NAME", "from-env", 1);
    setenv("DEMO_COUNT", "5", 1);
    char *argv[] = {"prog", "--name=from-opt", "--flag", NULL};
    assert_int_equal(load(&d, 3, argv, err, sizeof(err)), 0);
    assert_string_equal(d.name, "from-opt");
    assert_int_equal(d.count, 5);
    assert_int_equal(d.flag, 1);
    atc_config_cleanup(demo_table, NDEMO, &d);
}

static void config__value_out_of_bounds__names_the_option(void **state)
{
    struct demo d;
    char err[256];
    char *argv[] = {"prog", "--count", "11", NULL};
    assert_int_equal(load(&d, 3, argv, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "count"));
    assert_non_null(strstr(err, "1..10"));
    atc_config_cleanup(demo_table, NDEMO, &d);
}

static void config__bad_environment_value__names_the_variable(void **state)
{
    struct demo d;
    char err[256];
    setenv("DEMO_COUNT", "seven", 1);
    char *argv[] = {"prog", NULL};
    assert_int_equal(load(&d, 1, argv, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "DEMO_COUNT"));
    atc_config_cleanup(demo_table, NDEMO, &d);
}

static void config__option_without_value__is_refused(void **state)
{
    struct demo d;
    char err[256];
    char *argv[] = {"prog", "--name", NULL};
    assert_int_equal(load(&d, 2, argv, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "--name"));
    atc_config_cleanup(demo_table, NDEMO, &d);
}

static void config__unknown_arguments__are_left_for_the_caller(void **state)
{
    struct demo d;
    char err[256];
    char *rest[8];
    int nrest = 0;
    char *argv[] = {"prog", "-X", "a=b", "--other", NULL};
    memset(&d, 0, sizeof(d));
    assert_int_equal(atc_config_load(demo_table, NDEMO, &d, 4, argv, rest, &nrest, err, sizeof(err)), 0);
    assert_int_equal(nrest, 3);
    assert_string_equal(rest[0], "-X");
    assert_string_equal(rest[2], "--other");
    atc_config_cleanup(demo_table, NDEMO, &d);
}

static void config__describe__hides_secrets_and_url_passwords(void **state)
{
    struct demo d;
    char err[256], buf[512];
    setenv("DEMO_KEY", "hunter2", 1);
    setenv("DEMO_URL", "redis://:s3cret@redis.internal:6379/0", 1);
    char *argv[] = {"prog", NULL};
    assert_int_equal(load(&d, 1, argv, err, sizeof(err)), 0);
    atc_config_describe(demo_table, NDEMO, &d, buf, sizeof(buf));
    assert_null(strstr(buf, "hunter2"));
    assert_null(strstr(buf, "s3cret"));
    assert_non_null(strstr(buf, "key=***"));
    assert_non_null(strstr(buf, "url=redis://***@redis.internal:6379/0"));
    assert_non_null(strstr(buf, "count=3"));
    atc_config_cleanup(demo_table, NDEMO, &d);
}

static void config__secrets__leave_the_environment_and_hide_a_password_with_at(void **state)
{
    struct demo d;
    char err[256], buf[512];
    /* Strings of our own, as a start-up environment's would be (the test
     * cannot wipe what setenv allocated). */
    static char key_entry[] = "DEMO_KEY=hunter2";
    static char url_entry[] = "DEMO_URL=redis://:p@ss@word@redis.internal:6379/0";
    putenv(key_entry);
    putenv(url_entry);
    char *argv[] = {"prog", NULL};
    assert_int_equal(load(&d, 1, argv, err, sizeof(err)), 0);
    atc_config_scrub_secrets(demo_table, NDEMO);
    assert_null(getenv("DEMO_KEY"));
    assert_null(getenv("DEMO_URL"));
    atc_config_describe(demo_table, NDEMO, &d, buf, sizeof(buf));
    assert_null(strstr(buf, "p@ss"));
    assert_null(strstr(buf, "@word"));
    assert_non_null(strstr(buf, "url=redis://***@redis.internal:6379/0"));
    assert_null(strstr(url_entry, "word")); /* wiped in place */
    atc_config_cleanup(demo_table, NDEMO, &d);
    /* A URL without a password is no secret: it stays. */
    setenv("DEMO_URL", "redis://redis.internal:6379/0", 1);
    assert_int_equal(load(&d, 1, argv, err, sizeof(err)), 0);
    atc_config_scrub_secrets(demo_table, NDEMO);
    assert_non_null(getenv("DEMO_URL"));
    atc_config_cleanup(demo_table, NDEMO, &d);
}

static void config__secret_file__is_read_and_trimmed(void **state)
{
    char path[] = "/tmp/atc-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc123\n", 7), 7);
    close(fd);
    char *key = NULL, err[256];
    assert_int_equal(atc_config_read_secret_file(path, &key, err, sizeof(err)), 0);
    assert_string_equal(key, "abc123");
    free(key);
    unlink(path);
    assert_int_equal(atc_config_read_secret_file(path, &key, err, sizeof(err)), ATC_EIO);
    assert_non_null(strstr(err, path));
}

static int clear_worker_env(void **state)
{
    unsetenv("DAYTONA_API_KEY");
    unsetenv("DAYTONA_API_KEY_FILE");
    unsetenv("ATC_CONCURRENCY");
    unsetenv("ATC_LOG_LEVEL");
    return 0;
}

static void worker_settings__without_api_key__is_refused(void **state)
{
    struct worker_settings s;
    char *x[4];
    size_t nx = 0;
    char err[256];
    char *argv[] = {"atc-worker", NULL};
    assert_int_equal(worker_settings_load(&s, 1, argv, x, &nx, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "DAYTONA_API_KEY"));
    worker_settings_cleanup(&s);
}

static void worker_settings__key_file_and_x_props__are_taken(void **state)
{
    struct worker_settings s;
    char *x[8];
    size_t nx = 0;
    char err[256];
    char path[] = "/tmp/atc-key-XXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, "k-from-file\n", 12), 12);
    close(fd);
    setenv("DAYTONA_API_KEY_FILE", path, 1);
    setenv("ATC_CONCURRENCY", "8", 1);
    char *argv[] = {"atc-worker", "--concurrency", "64", "-X", "session.timeout.ms=6000", NULL};
    assert_int_equal(worker_settings_load(&s, 5, argv, x, &nx, err, sizeof(err)), 0);
    assert_string_equal(s.daytona_api_key, "k-from-file");
    assert_int_equal(s.concurrency, 64);
    assert_int_equal(nx, 1);
    assert_string_equal(x[0], "session.timeout.ms=6000");
    assert_true(strlen(s.worker_id) > 0);
    worker_settings_cleanup(&s);
    unlink(path);
}

static void worker_settings__bad_log_level__is_refused(void **state)
{
    struct worker_settings s;
    char *x[4];
    size_t nx = 0;
    char err[256];
    setenv("DAYTONA_API_KEY", "k", 1);
    setenv("ATC_LOG_LEVEL", "loud", 1);
    char *argv[] = {"atc-worker", NULL};
    assert_int_equal(worker_settings_load(&s, 1, argv, x, &nx, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "log-level"));
    worker_settings_cleanup(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(config__secrets__leave_the_environment_and_hide_a_password_with_at, clear_env),
        cmocka_unit_test_setup(config__defaults__apply_when_nothing_is_set, clear_env),
        cmocka_unit_test_setup(config__environment_then_options__options_win, clear_env),
        cmocka_unit_test_setup(config__value_out_of_bounds__names_the_option, clear_env),
        cmocka_unit_test_setup(config__bad_environment_value__names_the_variable, clear_env),
        cmocka_unit_test_setup(config__option_without_value__is_refused, clear_env),
        cmocka_unit_test_setup(config__unknown_arguments__are_left_for_the_caller, clear_env),
        cmocka_unit_test_setup(config__describe__hides_secrets_and_url_passwords, clear_env),
        cmocka_unit_test(config__secret_file__is_read_and_trimmed),
        cmocka_unit_test_setup(worker_settings__without_api_key__is_refused, clear_worker_env),
        cmocka_unit_test_setup(worker_settings__key_file_and_x_props__are_taken, clear_worker_env),
        cmocka_unit_test_setup(worker_settings__bad_log_level__is_refused, clear_worker_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
