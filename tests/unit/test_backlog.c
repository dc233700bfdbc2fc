/* test_backlog.c: the backlog's size from the time jobs take (worker/backlog.c). */
#include "support.h"

#include "backlog.h"

static void backlog__before_any_job__is_the_maximum(void **state)
{
    (void)state;
    struct backlog b;
    backlog_init(&b, 32, 32, 256);
    assert_int_equal(backlog_size(&b), 256);
}

static void backlog__fast_jobs__grow_it_to_the_maximum(void **state)
{
    (void)state;
    struct backlog b;
    backlog_init(&b, 32, 32, 256);
    backlog_done(&b, 50); /* 32 threads x 2 s / 50 ms = 1280 */
    assert_int_equal(backlog_size(&b), 256);
}

static void backlog__one_second_jobs__hold_two_seconds_of_work(void **state)
{
    (void)state;
    struct backlog b;
    backlog_init(&b, 32, 32, 256);
    backlog_done(&b, 1000);
    assert_int_equal(backlog_size(&b), 64);
}

static void backlog__slow_jobs__keep_it_at_the_minimum(void **state)
{
    (void)state;
    struct backlog b;
    backlog_init(&b, 32, 32, 256);
    backlog_done(&b, 30000); /* pytest runs of 30 s: 2 would cover 2 s */
    assert_int_equal(backlog_size(&b), 32);
}

static void backlog__jobs_slow_down__and_the_size_follows(void **state)
{
    (void)state;
    struct backlog b;
    backlog_init(&b, 8, 8, 256);
    backlog_done(&b, 10);
    assert_int_equal(backlog_size(&b), 256);
    for (int i = 0; i < 200; i++)
        backlog_done(&b, 20000);
    assert_int_equal(backlog_size(&b), 8);
}

static void backlog__instant_jobs__count_as_one_ms(void **state)
{
    (void)state;
    struct backlog b;
    backlog_init(&b, 4, 4, 100);
    backlog_done(&b, 0);
    backlog_done(&b, -5);
    assert_int_equal(backlog_size(&b), 100);
}

static void backlog__max_below_min__is_raised_to_min(void **state)
{
    (void)state;
    struct backlog b;
    backlog_init(&b, 512, 512, 256);
    backlog_done(&b, 1);
    assert_int_equal(backlog_size(&b), 512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backlog__before_any_job__is_the_maximum),
        cmocka_unit_test(backlog__fast_jobs__grow_it_to_the_maximum),
        cmocka_unit_test(backlog__one_second_jobs__hold_two_seconds_of_work),
        cmocka_unit_test(backlog__slow_jobs__keep_it_at_the_minimum),
        cmocka_unit_test(backlog__jobs_slow_down__and_the_size_follows),
        cmocka_unit_test(backlog__instant_jobs__count_as_one_ms),
        cmocka_unit_test(backlog__max_below_min__is_raised_to_min),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
