/* test_reaper.c: the reaper's sweep against daytona-local: a sandbox's age is
 * judged on the service's clock (its Date header), and a sandbox one of this
 * worker's jobs is using is never deleted. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "atc/clock.h"
#include "atc/daytona.h"
#include "atc/error.h"
#include "reaper.h"

#define HOUR_MS (3600LL * 1000)

/* daytona-local makes every sandbox's createdAt an hour before it was made. */
#define CREATED_AGO "3600000"

static struct test_daytona g;
static char err[1024];

/* A sandbox labelled atc-fleet=group; its id goes to id[idlen]. */
static void make_sandbox(const char *group, char *id, size_t idlen)
{
    struct atc_kv labels[] = {{"atc-fleet", (char *)group}};
    struct atc_sandbox_spec spec = {.labels = labels, .nlabels = 1, .auto_stop_min = -1,
                                    .auto_delete_min = -1};
    struct atc_sandbox sb;
    int rc = atc_daytona_create(g.d, &spec, &sb, err, sizeof(err));
    if (rc != 0)
        fail_msg("create: %s", err);
    snprintf(id, idlen, "%s", sb.id);
}

/* 1 when sandbox id is still live, 0 when it is gone or being destroyed. */
static int is_live(const char *id)
{
    struct atc_sandbox sb;
    int rc = atc_daytona_get(g.d, id, &sb, err, sizeof(err));
    if (rc == ATC_ENOTFOUND)
        return 0;
    if (rc != 0)
        fail_msg("get %s: %s", id, err);
    return strcmp(sb.state, "destroyed") != 0 && strcmp(sb.state, "destroying") != 0;
}

static int same_id(void *arg, const char *id)
{
    return strcmp(arg, id) == 0;
}

static int setup(void **state)
{
    static const char *const args[] = {"--created-ago-ms", CREATED_AGO, NULL};
    return test_daytona_up(&g, args);
}

static int teardown(void **state)
{
    test_daytona_down(&g);
    return 0;
}

static void list__daytona_local_answer__carries_its_date(void **state)
{
    struct atc_kv labels[] = {{"atc-fleet", "date-check"}};
    struct atc_sandbox_item *items = NULL;
    size_t n = 0;
    long long before = atc_clock_wall_ms();

    int rc = atc_daytona_list(g.d, labels, 1, &items, &n, err, sizeof(err));
    free(items);
    if (rc != 0)
        fail_msg("list: %s", err);
    /* Same machine, same clock: the Date (whole seconds) is within a second. */
    long long date = atc_daytona_last(g.d)->date_ms;
    assert_true(date > 0);
    assert_true(date >= before - 1000 && date <= atc_clock_wall_ms());
    /* Only a list reads it (curl_getdate costs ~6 k instructions an answer). */
    assert_int_equal(atc_daytona_delete(g.d, "no-such-sandbox", err, sizeof(err)), 0);
    assert_int_equal(atc_daytona_last(g.d)->date_ms, 0);
}

static void sweep__young_by_service_date__old_by_skewed_local_clock__is_kept(void **state)
{
    char id[128];
    make_sandbox("skew-ahead", id, sizeof(id));
    /* An hour old on the service's clock, younger than the two-hour limit; a
     * local clock ten hours ahead would make it eleven hours old. */
    int rc = reaper_sweep(g.d, "skew-ahead", 2 * HOUR_MS, atc_clock_wall_ms() + 10 * HOUR_MS, NULL, NULL,
                          err, sizeof(err));
    if (rc < 0)
        fail_msg("sweep: %s", err);
    assert_int_equal(rc, 0);
    assert_int_equal(is_live(id), 1);
}

static void sweep__old_by_service_date__is_reaped_though_local_clock_is_behind(void **state)
{
    char id[128];
    make_sandbox("skew-behind", id, sizeof(id));
    /* An hour old on the service's clock, beyond the half-hour limit; a local
     * clock ten hours behind would make it not yet created. */
    int rc = reaper_sweep(g.d, "skew-behind", HOUR_MS / 2, atc_clock_wall_ms() - 10 * HOUR_MS, NULL,
                          NULL, err, sizeof(err));
    if (rc < 0)
        fail_msg("sweep: %s", err);
    assert_int_equal(rc, 1);
    assert_int_equal(is_live(id), 0);
}

static void sweep__sandbox_a_job_is_using__is_kept_and_others_reaped(void **state)
{
    char used[128], leaked[128];
    make_sandbox("in-use", used, sizeof(used));
    make_sandbox("in-use", leaked, sizeof(leaked));
    /* Both are an hour old, beyond the half-hour limit. */
    int rc = reaper_sweep(g.d, "in-use", HOUR_MS / 2, atc_clock_wall_ms(), same_id, used, err,
                          sizeof(err));
    if (rc < 0)
        fail_msg("sweep: %s", err);
    assert_int_equal(rc, 1);
    assert_int_equal(is_live(used), 1);
    assert_int_equal(is_live(leaked), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(list__daytona_local_answer__carries_its_date),
        cmocka_unit_test(sweep__young_by_service_date__old_by_skewed_local_clock__is_kept),
        cmocka_unit_test(sweep__old_by_service_date__is_reaped_though_local_clock_is_behind),
        cmocka_unit_test(sweep__sandbox_a_job_is_using__is_kept_and_others_reaped),
    };
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return failed;
}
