/* test_breaker.c: the circuit breaker's state machine (worker/breaker.c). */
#include "support.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(breaker__failures_below_threshold__keep_it_closed),
        cmocka_unit_test(breaker__threshold_reached__opens_for_the_cooldown),
        cmocka_unit_test(breaker__after_cooldown__lets_one_probe_through),
        cmocka_unit_test(breaker__failed_probe__doubles_the_cooldown_up_to_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
