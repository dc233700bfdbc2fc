/* test_breaker.c: the circuit breaker's state machine (worker/breaker.c). */
#include "support.h"

#include "atc/error.h"
#include "breaker.h"

static void breaker__failures_below_threshold__keep_it_closed(void **state)
{
    struct breaker_state s;
    long long wait = 0;
    breaker_state_init(&s, 3, 1000, 8000);
    breaker_state_record(&s, 0, 0);
    breaker_state_record(&s, 0, 0);
    assert_true(breaker_state_allow(&s, 0, &wait));
    assert_false(breaker_state_open(&s, 0));
    /* A success in between starts the count again. */
    breaker_state_record(&s, 1, 0);
    breaker_state_record(&s, 0, 0);
    breaker_state_record(&s, 0, 0);
    assert_false(breaker_state_open(&s, 0));
}

static void breaker__threshold_reached__opens_for_the_cooldown(void **state)
{
    struct breaker_state s;
    long long wait = 0;
    breaker_state_init(&s, 3, 1000, 8000);
    for (int i = 0; i < 3; i++)
        breaker_state_record(&s, 0, 100);
    assert_true(breaker_state_open(&s, 100));
    assert_false(breaker_state_allow(&s, 500, &wait));
    assert_int_equal(wait, 600);
}

static void breaker__after_cooldown__lets_one_probe_through(void **state)
{
    struct breaker_state s;
    long long wait = 0;
    breaker_state_init(&s, 1, 1000, 8000);
    breaker_state_record(&s, 0, 0);
    assert_true(breaker_state_allow(&s, 1000, &wait));
    assert_false(breaker_state_allow(&s, 1001, &wait));
    breaker_state_record(&s, 1, 1200);
    assert_false(breaker_state_open(&s, 1200));
    assert_true(breaker_state_allow(&s, 1201, &wait));
}

static void breaker__cooldown_over_with_no_probe_out__lets_consumption_resume(void **state)
{
    struct breaker_state s;
    long long wait = 0;
    breaker_state_init(&s, 1, 1000, 8000);
    breaker_state_record(&s, 0, 0);
    assert_true(breaker_state_open(&s, 999));
    /* No job is waiting to probe: the consumer must fetch one. */
    assert_false(breaker_state_open(&s, 1000));
    assert_true(breaker_state_allow(&s, 1000, &wait));
    /* A probe is out: hold again until it tells. */
    assert_true(breaker_state_open(&s, 1001));
    breaker_state_record(&s, 0, 1500);
    assert_true(breaker_state_open(&s, 1500));
    assert_false(breaker_state_open(&s, 3500));
}

static void breaker__failed_probe__doubles_the_cooldown_up_to_the_cap(void **state)
{
    struct breaker_state s;
    long long wait = 0;
    breaker_state_init(&s, 1, 1000, 3000);
    breaker_state_record(&s, 0, 0);
    long long now = 1000;
    long long expect[] = {2000, 3000, 3000};
    for (int i = 0; i < 3; i++) {
        assert_true(breaker_state_allow(&s, now, &wait));
        breaker_state_record(&s, 0, now);
        assert_false(breaker_state_allow(&s, now, &wait));
        assert_int_equal(wait, expect[i]);
        now += expect[i];
    }
}

static void breaker__probe_that_ends_without_an_outcome__lets_the_next_caller_probe(void **state)
{
    struct breaker_state s;
    long long wait = 0;
    breaker_state_init(&s, 1, 1000, 8000);
    breaker_state_record(&s, 0, 0);
    assert_true(breaker_state_allow(&s, 1000, &wait));
    assert_false(breaker_state_allow(&s, 1001, &wait));
    breaker_state_release(&s);
    assert_true(breaker_state_allow(&s, 1002, &wait));
    assert_true(breaker_state_open(&s, 1002));
    /* Released while closed: nothing changes. */
    breaker_state_record(&s, 1, 1003);
    breaker_state_release(&s);
    assert_false(breaker_state_open(&s, 1003));
    assert_true(breaker_state_allow(&s, 1004, &wait));
}

static void breaker__only_no_answer_5xx_and_timeouts__are_fleet_faults(void **state)
{
    assert_true(breaker_is_fleet_fault(ATC_ECONN));
    assert_true(breaker_is_fleet_fault(ATC_ESERVER));
    assert_true(breaker_is_fleet_fault(ATC_ETIMEDOUT));
    assert_false(breaker_is_fleet_fault(0));
    assert_false(breaker_is_fleet_fault(ATC_ERATELIMIT));
    assert_false(breaker_is_fleet_fault(ATC_EPROTO));    /* a 400: unknown snapshot */
    assert_false(breaker_is_fleet_fault(ATC_ECONFLICT));
    assert_false(breaker_is_fleet_fault(ATC_ECANCELED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(breaker__failures_below_threshold__keep_it_closed),
        cmocka_unit_test(breaker__threshold_reached__opens_for_the_cooldown),
        cmocka_unit_test(breaker__after_cooldown__lets_one_probe_through),
        cmocka_unit_test(breaker__cooldown_over_with_no_probe_out__lets_consumption_resume),
        cmocka_unit_test(breaker__failed_probe__doubles_the_cooldown_up_to_the_cap),
        cmocka_unit_test(breaker__probe_that_ends_without_an_outcome__lets_the_next_caller_probe),
        cmocka_unit_test(breaker__only_no_answer_5xx_and_timeouts__are_fleet_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
