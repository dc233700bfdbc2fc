/* test_daytona_snapshot.c: the Daytona client's snapshot calls
 * (common/src/daytona_snapshot.c) against daytona-local's /api/snapshots. No
 * package index is needed: the builds here install from nowhere (--no-index)
 * and so fail, which is what shows errorReason. */
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/daytona.h"
#include "atc/daytona_snapshot.h"
#include "atc/error.h"

static struct test_daytona g;
static char err[1024];

static int setup(void **state)
{
    /* Builds stay "building" 1 s: the quota test's two count when the third comes. */
    static const char *const args[] = {"--snapshot-quota", "2", "--snapshot-build-delay-ms",
                                       "1000", NULL};
    return test_daytona_up(&g, args);
}

static int teardown(void **state)
{
    test_daytona_down(&g);
    return 0;
}

/* Polls name until its state leaves pending/building (at most 60 s). */
static void wait_built(const char *name, struct atc_snapshot *s)
{
    for (int i = 0; i < 600; i++) {
        int rc = atc_daytona_snapshot_get(g.d, name, s, err, sizeof(err));
        assert_int_equal_msg(rc, 0, err);
        if (strcmp(s->state, "pending") != 0 && strcmp(s->state, "building") != 0)
            return;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("snapshot %s still %s after 60 s", name, s->state);
}

static const char NOWHERE[] = "FROM python:3.12.10-slim-bookworm\n"
                              "RUN python -m pip install --no-index 'atc-not-anywhere==1.0'\n";

static void snapshot__a_build_pip_cannot_do__ends_build_failed_with_pip_s_output(void **state)
{
    struct atc_snapshot s;
    int rc = atc_daytona_snapshot_create(g.d, "atc-env-00000000000000f1", NOWHERE, &s, err,
                                         sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_true(strcmp(s.state, "pending") == 0 || strcmp(s.state, "building") == 0);
    assert_true(s.id[0] != '\0');
    wait_built("atc-env-00000000000000f1", &s);
    assert_string_equal(s.state, "build_failed");
    assert_non_null(strstr(s.error_reason, "atc-not-anywhere"));
    /* The same name again: 409. */
    struct atc_snapshot again;
    rc = atc_daytona_snapshot_create(g.d, "atc-env-00000000000000f1", NOWHERE, &again, err,
                                     sizeof(err));
    assert_int_equal(rc, ATC_ECONFLICT);
    /* Listed, then deleted by id, then gone (a second delete is fine). */
    struct atc_snapshot *v = NULL;
    size_t n = 0;
    rc = atc_daytona_snapshot_list(g.d, "atc-env-", &v, &n, err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].id, s.id);
    free(v);
    assert_int_equal(atc_daytona_snapshot_delete(g.d, s.id, err, sizeof(err)), 0);
    assert_int_equal(atc_daytona_snapshot_get(g.d, "atc-env-00000000000000f1", &again, err,
                                              sizeof(err)), ATC_ENOTFOUND);
    assert_int_equal(atc_daytona_snapshot_delete(g.d, s.id, err, sizeof(err)), 0);
}

static void snapshot__a_dockerfile_outside_the_subset__is_refused_with_the_reason(void **state)
{
    struct atc_snapshot s;
    int rc = atc_daytona_snapshot_create(g.d, "atc-env-00000000000000f2",
                                         "FROM python:3.12\nCOPY . /app\n", &s, err, sizeof(err));
    assert_int_equal(rc, ATC_EPROTO);
    assert_int_equal(atc_daytona_last(g.d)->http_status, 400);
    assert_non_null(strstr(err, "COPY"));
}

static void snapshot__beyond_the_quota__is_a_400_that_names_it(void **state)
{
    struct atc_snapshot a, b, c;
    int rc = atc_daytona_snapshot_create(g.d, "atc-env-00000000000000f3", NOWHERE, &a, err,
                                         sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    rc = atc_daytona_snapshot_create(g.d, "atc-env-00000000000000f4", NOWHERE, &b, err,
                                     sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    /* Both count while pending or building. */
    rc = atc_daytona_snapshot_create(g.d, "atc-env-00000000000000f5", NOWHERE, &c, err,
                                     sizeof(err));
    assert_int_equal(rc, ATC_EPROTO);
    assert_non_null(strstr(err, "Snapshot quota exceeded. Maximum allowed: 2"));
    wait_built("atc-env-00000000000000f3", &a);
    wait_built("atc-env-00000000000000f4", &b);
    /* Failed builds do not count: room again. */
    rc = atc_daytona_snapshot_create(g.d, "atc-env-00000000000000f5", NOWHERE, &c, err,
                                     sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    assert_int_equal(atc_daytona_snapshot_delete(g.d, c.id, err, sizeof(err)), 0);
    assert_int_equal(atc_daytona_snapshot_delete(g.d, a.id, err, sizeof(err)), 0);
    assert_int_equal(atc_daytona_snapshot_delete(g.d, b.id, err, sizeof(err)), 0);
}

static void snapshot__bad_names__are_refused_before_sending(void **state)
{
    struct atc_snapshot s;
    assert_int_equal(atc_daytona_snapshot_get(g.d, "a/b", &s, err, sizeof(err)), ATC_EINVAL);
    assert_int_equal(atc_daytona_snapshot_create(g.d, "", NOWHERE, &s, err, sizeof(err)),
                     ATC_EINVAL);
    assert_int_equal(atc_daytona_snapshot_delete(g.d, "x y", err, sizeof(err)), ATC_EINVAL);
}

static void snapshot__with_resources_and_no_pip_line__becomes_active(void **state)
{
    /* What the fleet sends for a job with resources and no deps. */
    static const struct atc_snapshot_resources res = {2, 3, 5};
    struct atc_snapshot s;
    int rc = atc_daytona_snapshot_create_res(g.d, "atc-env-00000000000000f6",
                                             "FROM python:3.12.10-slim-bookworm\n", &res, &s,
                                             err, sizeof(err));
    assert_int_equal_msg(rc, 0, err);
    wait_built("atc-env-00000000000000f6", &s);
    assert_string_equal(s.state, "active");
    assert_int_equal(atc_daytona_snapshot_delete(g.d, s.id, err, sizeof(err)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(snapshot__a_build_pip_cannot_do__ends_build_failed_with_pip_s_output),
        cmocka_unit_test(snapshot__a_dockerfile_outside_the_subset__is_refused_with_the_reason),
        cmocka_unit_test(snapshot__beyond_the_quota__is_a_400_that_names_it),
        cmocka_unit_test(snapshot__bad_names__are_refused_before_sending),
        cmocka_unit_test(snapshot__with_resources_and_no_pip_line__becomes_active),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
