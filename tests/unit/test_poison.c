/* test_poison.c: the poison decision (worker/poison.c). */
#include "support.h"

#include "poison.h"

static void poison__first_attempts__are_never_poison(void **state)
{
    (void)state;
    assert_false(poison_is_poison(1, 0, 3));
    assert_false(poison_is_poison(3, 0, 3));
    assert_int_equal(poison_dying_attempts(1, 0), 0);
}

static void poison__after_max_dying_attempts__is_poison(void **state)
{
    (void)state;
    assert_int_equal(poison_dying_attempts(4, 0), 3);
    assert_true(poison_is_poison(4, 0, 3));
    assert_true(poison_is_poison(9, 0, 3));
}

static void poison__abandoned_attempts__do_not_count(void **state)
{
    (void)state;
    assert_false(poison_is_poison(4, 1, 3));
    assert_true(poison_is_poison(5, 1, 3));
    assert_int_equal(poison_dying_attempts(2, 5), 0);
}

static void poison__max_zero__turns_the_check_off(void **state)
{
    (void)state;
    assert_false(poison_is_poison(100, 0, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(poison__first_attempts__are_never_poison),
        cmocka_unit_test(poison__after_max_dying_attempts__is_poison),
        cmocka_unit_test(poison__abandoned_attempts__do_not_count),
        cmocka_unit_test(poison__max_zero__turns_the_check_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
