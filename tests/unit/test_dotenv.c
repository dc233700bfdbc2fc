/* test_dotenv.c: .env parsing and loading as the Daytona SDK does it (common/src/dotenv.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atc/dotenv.h"

static const char *value_of(struct atc_dotenv_var *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return v[i].value;
    return NULL;
}

static void dotenv_parse__follows_the_dotenv_packages_rules(void **state)
{
    (void)state;
    const char text[] = "# a comment\n"
                        "export ATC_JOBS_TOPIC=jobs.from.file   # trailing comment\n"
                        "ATC_GROUP: colon-group\n"
                        "DAYTONA_API_KEY='single # not a comment'\n"
                        "DAYTONA_TARGET=\"line1\\nline2\"\n"
                        "ATC_MULTI=\"a\nb\"\n"
                        "ATC_EMPTY=\n"
                        "not an assignment\n"
                        "ATC_GROUP=later-wins\r\n";
    struct atc_dotenv_var *v = NULL;
    size_t n = 0;
    assert_int_equal(atc_dotenv_parse(text, sizeof(text) - 1, &v, &n), 0);
    assert_string_equal(value_of(v, n, "ATC_JOBS_TOPIC"), "jobs.from.file");
    assert_string_equal(value_of(v, n, "DAYTONA_API_KEY"), "single # not a comment");
    assert_string_equal(value_of(v, n, "DAYTONA_TARGET"), "line1\nline2");
    assert_string_equal(value_of(v, n, "ATC_MULTI"), "a\nb");
    assert_string_equal(value_of(v, n, "ATC_EMPTY"), "");
    assert_string_equal(value_of(v, n, "ATC_GROUP"), "later-wins");
    assert_null(value_of(v, n, "not"));
    assert_int_equal(n, 6);
    atc_dotenv_vars_free(v, n);
}

static void dotenv_parse__unclosed_quote__is_taken_as_an_unquoted_value(void **state)
{
    (void)state;
    const char text[] = "ATC_X=\"open\nATC_Y=2\n";
    struct atc_dotenv_var *v = NULL;
    size_t n = 0;
    assert_int_equal(atc_dotenv_parse(text, sizeof(text) - 1, &v, &n), 0);
    assert_string_equal(value_of(v, n, "ATC_X"), "\"open");
    assert_string_equal(value_of(v, n, "ATC_Y"), "2");
    atc_dotenv_vars_free(v, n);
}

static void dotenv_name_taken__only_fleet_and_daytona_names_but_not_the_endpoint(void **state)
{
    (void)state;
    assert_true(atc_dotenv_name_taken("ATC_BROKERS"));
    assert_true(atc_dotenv_name_taken("DAYTONA_API_KEY"));
    assert_false(atc_dotenv_name_taken("DAYTONA_API_URL"));
    assert_false(atc_dotenv_name_taken("DAYTONA_SERVER_URL"));
    assert_false(atc_dotenv_name_taken("PATH"));
    assert_true(atc_dotenv_is_secret("DAYTONA_API_KEY", "k"));
    assert_false(atc_dotenv_is_secret("DAYTONA_API_KEY_FILE", "/run/key"));
    assert_true(atc_dotenv_is_secret("ATC_REDIS_URL", "redis://:pw@host:6379/0"));
    assert_false(atc_dotenv_is_secret("ATC_REDIS_URL", "redis://host:6379/0"));
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void dotenv_load__environment_wins_then_env_local_then_env(void **state)
{
    (void)state;
    char dir[] = "/tmp/atc-dotenv.XXXXXX";
    struct atc_dotenv_report r;
    char err[256];
    assert_non_null(mkdtemp(dir));
    write_file(dir, ".env", "ATC_T_A=env\nATC_T_B=env\nATC_T_C=env\nOTHER_T=x\n", 0600);
    write_file(dir, ".env.local", "ATC_T_A=local\n", 0600);
    setenv("ATC_T_B", "process", 1);
    unsetenv("ATC_T_A");
    unsetenv("ATC_T_C");
    assert_int_equal(atc_dotenv_load(dir, &r, err, sizeof(err)), 0);
    assert_string_equal(getenv("ATC_T_A"), "local");
    assert_string_equal(getenv("ATC_T_B"), "process");
    assert_string_equal(getenv("ATC_T_C"), "env");
    assert_null(getenv("OTHER_T"));
    assert_int_equal(r.nfiles, 2);
    assert_string_equal(r.files[0], ".env.local");
    assert_int_equal(r.nset, 2);
    assert_int_equal(r.nwarnings, 0);
    char path[512];
    snprintf(path, sizeof(path), "%s/.env", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/.env.local", dir);
    unlink(path);
    rmdir(dir);
}

static void dotenv_load__world_readable_key_and_file_endpoint__warn(void **state)
{
    (void)state;
    char dir[] = "/tmp/atc-dotenv.XXXXXX";
    struct atc_dotenv_report r;
    char err[256];
    assert_non_null(mkdtemp(dir));
    write_file(dir, ".env", "DAYTONA_API_KEY=from-file\nDAYTONA_API_URL=http://elsewhere/api\n", 0644);
    unsetenv("DAYTONA_API_KEY");
    unsetenv("DAYTONA_API_URL");
    assert_int_equal(atc_dotenv_load(dir, &r, err, sizeof(err)), 0);
    assert_string_equal(getenv("DAYTONA_API_KEY"), "from-file");
    assert_null(getenv("DAYTONA_API_URL"));
    assert_int_equal(r.nwarnings, 2);
    assert_non_null(strstr(r.warnings[0], "chmod 600"));
    assert_non_null(strstr(r.warnings[1], "DAYTONA_API_URL set in"));
    unsetenv("DAYTONA_API_KEY");
    char path[512];
    snprintf(path, sizeof(path), "%s/.env", dir);
    unlink(path);
    rmdir(dir);
}

static void dotenv_load__no_files__is_no_error(void **state)
{
    (void)state;
    struct atc_dotenv_report r;
    char err[256];
    assert_int_equal(atc_dotenv_load("/nonexistent-atc-dir", &r, err, sizeof(err)), 0);
    assert_int_equal(r.nfiles, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dotenv_parse__follows_the_dotenv_packages_rules),
        cmocka_unit_test(dotenv_parse__unclosed_quote__is_taken_as_an_unquoted_value),
        cmocka_unit_test(dotenv_name_taken__only_fleet_and_daytona_names_but_not_the_endpoint),
        cmocka_unit_test(dotenv_load__environment_wins_then_env_local_then_env),
        cmocka_unit_test(dotenv_load__world_readable_key_and_file_endpoint__warn),
        cmocka_unit_test(dotenv_load__no_files__is_no_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
