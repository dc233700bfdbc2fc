/* test_env_store.c: dependency environments' state against a real
 * redis-server (common/src/env_store.c and common/lua/env_*.lua). */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "atc/env_store.h"
#include "atc/error.h"
#include "atc/results.h"

static struct test_proc redis_proc;
static int redis_port;
static char redis_url[128];
static int redis_n;

static int group_setup(void **state)
{
    if (test_redis_start(&redis_proc, &redis_port) != 0)
        return -1;
    snprintf(redis_url, sizeof(redis_url), "redis://127.0.0.1:%d/", redis_port);
    return 0;
}

static int group_teardown(void **state)
{
    test_proc_stop(&redis_proc);
    return 0;
}

/* A store on a database of its own for each test. */
static struct atc_results *store(void)
{
    char url[160], err[256];
    snprintf(url, sizeof(url), "%s%d", redis_url, redis_n++ % 16);
    struct atc_results *r = atc_results_new(url, 5000, err, sizeof(err));
    assert_non_null(r);
    return r;
}

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

#define A "atc-env-000000000000000a"
#define B "atc-env-000000000000000b"
#define C "atc-env-000000000000000c"

static void env_store__a_claim__is_held_by_one_token_and_renewed_by_it(void **state)
{
    struct atc_results *r = store();
    char err[256];
    int claimed = -1;
    assert_int_equal(atc_env_store_claim(r, A, "w1", 10000, &claimed, err, sizeof(err)), 0);
    assert_int_equal(claimed, 1);
    assert_int_equal(atc_env_store_claim(r, A, "w2", 10000, &claimed, err, sizeof(err)), 0);
    assert_int_equal(claimed, 0);
    assert_int_equal(atc_env_store_claim(r, A, "w1", 10000, &claimed, err, sizeof(err)), 0);
    assert_int_equal(claimed, 1);
    atc_results_destroy(r);
}

static void env_store__a_lapsed_claim__goes_to_the_next_claimant(void **state)
{
    struct atc_results *r = store();
    char err[256];
    int claimed = -1;
    assert_int_equal(atc_env_store_claim(r, A, "dead", 50, &claimed, err, sizeof(err)), 0);
    assert_int_equal(claimed, 1);
    struct timespec ts = {0, 150 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(atc_env_store_claim(r, A, "next", 10000, &claimed, err, sizeof(err)), 0);
    assert_int_equal(claimed, 1);
    atc_results_destroy(r);
}

static void env_store__finish_active__is_read_back_and_releases_the_claim(void **state)
{
    struct atc_results *r = store();
    struct atc_env_state st;
    char err[256];
    int claimed = 0;
    assert_int_equal(atc_env_store_get(r, A, &st, err, sizeof(err)), 0);
    assert_string_equal(st.state, "");
    atc_env_state_cleanup(&st);
    assert_int_equal(atc_env_store_claim(r, A, "w1", 10000, &claimed, err, sizeof(err)), 0);
    assert_int_equal(atc_env_store_finish(r, A, "w1", "active", "snap-1", NULL, 1234, 60, err,
                                          sizeof(err)), 0);
    assert_int_equal(atc_env_store_set_freeze(r, A, "x==1\n", err, sizeof(err)), 0);
    assert_int_equal(atc_env_store_set_freeze(r, A, "second\n", err, sizeof(err)), 0);
    assert_int_equal(atc_env_store_get(r, A, &st, err, sizeof(err)), 0);
    assert_string_equal(st.state, "active");
    assert_string_equal(st.snapshot_id, "snap-1");
    assert_int_equal(st.build_ms, 1234);
    assert_string_equal(st.freeze, "x==1\n"); /* the first one stays */
    assert_null(st.error);
    atc_env_state_cleanup(&st);
    /* Released with the state set: no second build is claimed. */
    assert_int_equal(atc_env_store_claim(r, A, "w2", 10000, &claimed, err, sizeof(err)), 0);
    assert_int_equal(claimed, 2);
    atc_results_destroy(r);
}

static void env_store__finish_failed__keeps_pip_output_and_stays_out_of_the_lru(void **state)
{
    struct atc_results *r = store();
    struct atc_env_state st;
    char **names = NULL;
    long long *used = NULL;
    size_t n = 9;
    char err[256];
    assert_int_equal(atc_env_store_finish(r, B, "w1", "failed", "snap-2",
                                          "ERROR: No matching distribution", 10, 60, err,
                                          sizeof(err)), 0);
    assert_int_equal(atc_env_store_get(r, B, &st, err, sizeof(err)), 0);
    assert_string_equal(st.state, "failed");
    assert_string_equal(st.error, "ERROR: No matching distribution");
    atc_env_state_cleanup(&st);
    assert_int_equal(atc_env_store_list(r, &names, &used, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    atc_env_names_free(names, n);
    free(used);
    atc_results_destroy(r);
}

static void env_store__gc__drops_the_least_recently_used_without_a_lease(void **state)
{
    struct atc_results *r = store();
    char **names = NULL;
    size_t n = 0;
    char err[256];
    const char *envs[] = {A, B, C};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(atc_env_store_finish(r, envs[i], "w", "active", "s", NULL, 1, 60, err,
                                              sizeof(err)), 0);
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* A is the oldest but a job runs on it: B goes instead. */
    assert_int_equal(atc_env_store_use(r, A, "job-1", now_ms() + 60000, err, sizeof(err)), 0);
    assert_int_equal(atc_env_store_gc(r, 2, &names, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], B);
    atc_env_names_free(names, n);
    struct atc_env_state st;
    assert_int_equal(atc_env_store_get(r, B, &st, err, sizeof(err)), 0);
    assert_string_equal(st.state, ""); /* forgotten: no job starts on it */
    atc_env_state_cleanup(&st);
    /* The lease ends: A may go now. */
    assert_int_equal(atc_env_store_use(r, A, "job-1", 0, err, sizeof(err)), 0);
    assert_int_equal(atc_env_store_gc(r, 1, &names, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    atc_env_names_free(names, n);
    assert_int_equal(atc_env_store_gc(r, 1, &names, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    atc_env_names_free(names, n);
    atc_results_destroy(r);
}

static void env_store__gc_one__drops_one_however_few_there_are(void **state)
{
    struct atc_results *r = store();
    char **names = NULL;
    size_t n = 0;
    char err[256];
    const char *envs[] = {A, B};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(atc_env_store_finish(r, envs[i], "w", "active", "s", NULL, 1, 60, err,
                                              sizeof(err)), 0);
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* Two environments, far below any max: a quota refusal still needs room. */
    assert_int_equal(atc_env_store_gc(r, ATC_ENV_GC_ONE, &names, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    assert_string_equal(names[0], A);
    atc_env_names_free(names, n);
    /* The last one has a lease: nothing to drop. */
    assert_int_equal(atc_env_store_use(r, B, "job-1", now_ms() + 60000, err, sizeof(err)), 0);
    assert_int_equal(atc_env_store_gc(r, ATC_ENV_GC_ONE, &names, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    atc_env_names_free(names, n);
    assert_int_equal(atc_env_store_use(r, B, "job-1", 0, err, sizeof(err)), 0);
    assert_int_equal(atc_env_store_gc(r, ATC_ENV_GC_ONE, &names, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 1);
    atc_env_names_free(names, n);
    atc_results_destroy(r);
}

static void env_store__a_name_that_is_not_an_environment_s__is_refused(void **state)
{
    struct atc_results *r = store();
    struct atc_env_state st;
    char err[256] = "";
    assert_int_equal(atc_env_store_get(r, "atc:result:x", &st, err, sizeof(err)), ATC_EINVAL);
    assert_non_null(strstr(err, "not an environment name"));
    assert_int_equal(atc_env_store_forget(r, "x", err, sizeof(err)), ATC_EINVAL);
    atc_results_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(env_store__a_claim__is_held_by_one_token_and_renewed_by_it),
        cmocka_unit_test(env_store__a_lapsed_claim__goes_to_the_next_claimant),
        cmocka_unit_test(env_store__finish_active__is_read_back_and_releases_the_claim),
        cmocka_unit_test(env_store__finish_failed__keeps_pip_output_and_stays_out_of_the_lru),
        cmocka_unit_test(env_store__gc__drops_the_least_recently_used_without_a_lease),
        cmocka_unit_test(env_store__gc_one__drops_one_however_few_there_are),
        cmocka_unit_test(env_store__a_name_that_is_not_an_environment_s__is_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
