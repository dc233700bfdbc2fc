/* test_retry.c: the worker's retry helper (worker/retry.c) and the one
 * definition of a transient error, on a clock the test drives (the link-time
 * fake of atc/clock.h: sleeping only moves it). */
#include "support.h"

#include <stdatomic.h>

#include "atc/error.h"
#include "fakes.h"
#include "retry.h"

static atomic_int *stop_after_flag; /* set this flag ... */
static long stop_after_sleeps;      /* ... after this many sleeps */

static void stop_after(void *arg)
{
    (void)arg;
    if (fake_clock.sleeps == stop_after_sleeps && stop_after_flag != NULL)
        *stop_after_flag = 1;
}

static int reset_clock(void **state)
{
    (void)state;
    fake_clock_reset();
    fake_clock.on_sleep = stop_after;
    stop_after_flag = NULL;
    stop_after_sleeps = 0;
    return 0;
}

/* ---- tests ---- */

static void transient__is_no_answer_a_timeout_a_5xx_or_a_429_and_nothing_else(void **state)
{
    (void)state;
    assert_true(atc_error_transient(ATC_ECONN));
    assert_true(atc_error_transient(ATC_ETIMEDOUT));
    assert_true(atc_error_transient(ATC_ESERVER));
    assert_true(atc_error_transient(ATC_ERATELIMIT));
    assert_false(atc_error_transient(0));
    assert_false(atc_error_transient(ATC_EPROTO));
    assert_false(atc_error_transient(ATC_EAUTH));
    assert_false(atc_error_transient(ATC_ENOTFOUND));
    assert_false(atc_error_transient(ATC_ECONFLICT));
    assert_false(atc_error_transient(ATC_ECANCELED));
    assert_false(atc_error_transient(ATC_EFINAL));
}

static void retry__backoff__grows_is_capped_and_honours_retry_after(void **state)
{
    (void)state;
    long first = retry_backoff_ms(1, -1, 0);
    long later = retry_backoff_ms(5, -1, 0);
    assert_true(first >= RETRY_FIRST_MS / 2 && first <= RETRY_FIRST_MS);
    assert_true(later > first);
    for (uint64_t rnd = 0; rnd < 100000; rnd += 997)
        assert_true(retry_backoff_ms(50, -1, rnd) <= RETRY_CAP_MS);
    assert_true(retry_backoff_ms(1, 7.0, 0) >= 7000);
    /* A Retry-After of an hour is held to five minutes. */
    assert_int_equal(retry_backoff_ms(1, 3600.0, 0), RETRY_AFTER_MAX_MS);
}

static void retry__jitter__stays_between_half_and_all_of_the_base(void **state)
{
    (void)state;
    for (int tries = 1; tries <= 8; tries++) {
        long base = RETRY_FIRST_MS;
        for (int i = 1; i < tries; i++)
            base = base * 2 > RETRY_CAP_MS ? RETRY_CAP_MS : base * 2;
        for (uint64_t rnd = 0; rnd < 5000; rnd += 7) {
            long ms = retry_backoff_ms(tries, -1, rnd * 0x9E3779B97F4A7C15ull);
            assert_true(ms >= base / 2 && ms <= base);
        }
    }
}

static void retry__budget_of_two__allows_two_retries_then_says_stop(void **state)
{
    (void)state;
    struct retry r;
    retry_init(&r, 2, 42, NULL, NULL);
    assert_true(retry_next(&r, -1) > 0);
    assert_true(retry_next(&r, -1) > 0);
    assert_int_equal(retry_next(&r, -1), -1);
    assert_int_equal(r.tries, 3);
}

static void retry__budget_of_zero__allows_no_retry(void **state)
{
    (void)state;
    struct retry r;
    retry_init(&r, 0, 42, NULL, NULL);
    assert_int_equal(retry_next(&r, -1), -1);
}

static void retry__forever_with_max_exp__keeps_going_and_stops_doubling(void **state)
{
    (void)state;
    struct retry r;
    retry_init(&r, RETRY_FOREVER, 7, NULL, NULL);
    r.max_exp = 3; /* base 2 s from the third try on */
    for (int i = 0; i < 1000; i++) {
        long ms = retry_next(&r, -1);
        assert_true(ms > 0);
        if (i >= 2)
            assert_true(ms >= 1000 && ms <= 2000);
    }
}

static void retry__same_seed__gives_the_same_waits_and_another_seed_others(void **state)
{
    (void)state;
    struct retry a, b, c;
    int differ = 0;
    retry_init(&a, RETRY_FOREVER, 1234, NULL, NULL);
    retry_init(&b, RETRY_FOREVER, 1234, NULL, NULL);
    retry_init(&c, RETRY_FOREVER, 99, NULL, NULL);
    a.max_exp = b.max_exp = c.max_exp = 6;
    for (int i = 0; i < 20; i++) {
        long wa = retry_next(&a, -1), wb = retry_next(&b, -1), wc = retry_next(&c, -1);
        assert_int_equal(wa, wb);
        differ += wa != wc;
    }
    assert_true(differ > 10);
}

static void retry__seeds_of_two_job_ids__differ(void **state)
{
    (void)state;
    assert_true(retry_seed("job-a") != retry_seed("job-b"));
    assert_int_equal(retry_seed("job-a"), retry_seed("job-a"));
    (void)retry_seed(NULL); /* allowed */
}

static void retry__a_server_retry_after__is_a_floor_on_the_wait(void **state)
{
    (void)state;
    struct retry r;
    retry_init(&r, 5, 3, NULL, NULL);
    assert_true(retry_next(&r, 12.5) >= 12500);
}

static void retry__wait_without_a_stop__sleeps_the_whole_time(void **state)
{
    (void)state;
    struct retry r;
    atomic_int flag = 0;
    retry_init(&r, 1, 1, &flag, NULL);
    assert_int_equal(retry_wait(&r, 1050), 0);
    assert_int_equal(fake_clock.now_ms, 1050);
    assert_int_equal(fake_clock.sleeps, 6); /* five slices of 200 ms and 50 ms */
}

static void retry__stop_flag_set_mid_wait__ends_it_within_a_slice(void **state)
{
    (void)state;
    struct retry r;
    atomic_int abandon = 0, cancel = 0;
    retry_init(&r, 1, 1, &abandon, &cancel);
    stop_after_flag = &cancel;
    stop_after_sleeps = 3;
    assert_int_equal(retry_wait(&r, 300000), 1);
    assert_int_equal(fake_clock.now_ms, 3 * RETRY_SLICE_MS);
    assert_true(retry_stopped(&r));
}

static void retry__stop_flag_already_set__returns_without_sleeping(void **state)
{
    (void)state;
    struct retry r;
    atomic_int abandon = 1;
    retry_init(&r, 1, 1, &abandon, NULL);
    assert_int_equal(retry_wait(&r, 5000), 1);
    assert_int_equal(fake_clock.sleeps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transient__is_no_answer_a_timeout_a_5xx_or_a_429_and_nothing_else),
        cmocka_unit_test(retry__backoff__grows_is_capped_and_honours_retry_after),
        cmocka_unit_test(retry__jitter__stays_between_half_and_all_of_the_base),
        cmocka_unit_test(retry__budget_of_two__allows_two_retries_then_says_stop),
        cmocka_unit_test(retry__budget_of_zero__allows_no_retry),
        cmocka_unit_test(retry__forever_with_max_exp__keeps_going_and_stops_doubling),
        cmocka_unit_test(retry__same_seed__gives_the_same_waits_and_another_seed_others),
        cmocka_unit_test(retry__seeds_of_two_job_ids__differ),
        cmocka_unit_test(retry__a_server_retry_after__is_a_floor_on_the_wait),
        cmocka_unit_test_setup(retry__wait_without_a_stop__sleeps_the_whole_time, reset_clock),
        cmocka_unit_test_setup(retry__stop_flag_set_mid_wait__ends_it_within_a_slice, reset_clock),
        cmocka_unit_test_setup(retry__stop_flag_already_set__returns_without_sleeping, reset_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
