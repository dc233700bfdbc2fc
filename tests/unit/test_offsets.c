/* test_offsets.c: the out-of-order offset tracker (worker/offsets.c). */
#include "support.h"

#include "atc/error.h"
#include "offsets.h"

static void offsets__in_order_completion__stores_each_next_offset(void **state)
{
    struct offsets *o = offsets_new();
    uint64_t gen = 0;
    assert_int_equal(offsets_assign(o, "t", 0, 1), 0);
    assert_int_equal(offsets_begin(o, "t", 0, 10, &gen), 0);
    assert_int_equal(offsets_begin(o, "t", 0, 11, &gen), 0);
    assert_int_equal(gen, 1);
    assert_int_equal(offsets_done(o, "t", 0, 10, gen), 11);
    assert_int_equal(offsets_done(o, "t", 0, 11, gen), 12);
    assert_int_equal(offsets_pending(o), 0);
    offsets_destroy(o);
}

static void offsets__out_of_order_completion__waits_for_the_lowest(void **state)
{
    struct offsets *o = offsets_new();
    uint64_t gen = 0;
    offsets_assign(o, "t", 3, 7);
    for (int64_t off = 100; off < 105; off++)
        assert_int_equal(offsets_begin(o, "t", 3, off, &gen), 0);
    assert_int_equal(offsets_done(o, "t", 3, 103, gen), -1);
    assert_int_equal(offsets_done(o, "t", 3, 101, gen), -1);
    assert_int_equal(offsets_done(o, "t", 3, 104, gen), -1);
    assert_int_equal(offsets_pending(o), 5);
    assert_int_equal(offsets_done(o, "t", 3, 100, gen), 102);
    assert_int_equal(offsets_pending(o), 3);
    assert_int_equal(offsets_done(o, "t", 3, 102, gen), 105);
    assert_int_equal(offsets_pending(o), 0);
    offsets_destroy(o);
}

static void offsets__job_of_a_revoked_assignment__stores_nothing(void **state)
{
    struct offsets *o = offsets_new();
    uint64_t old_gen = 0, gen = 0;
    offsets_assign(o, "t", 0, 1);
    offsets_begin(o, "t", 0, 5, &old_gen);
    offsets_revoke(o, "t", 0);
    assert_int_equal(offsets_done(o, "t", 0, 5, old_gen), -1);
    /* Assigned again: the old job's completion must not move the new assignment. */
    offsets_assign(o, "t", 0, 2);
    offsets_begin(o, "t", 0, 5, &gen);
    assert_int_equal(offsets_done(o, "t", 0, 5, old_gen), -1);
    assert_int_equal(offsets_done(o, "t", 0, 5, gen), 6);
    offsets_destroy(o);
}

static void offsets__unassigned_partition__is_refused(void **state)
{
    struct offsets *o = offsets_new();
    uint64_t gen = 0;
    assert_int_equal(offsets_begin(o, "t", 9, 1, &gen), ATC_ENOTFOUND);
    offsets_destroy(o);
}

static void offsets__many_jobs_on_many_partitions__all_complete(void **state)
{
    struct offsets *o = offsets_new();
    uint64_t gen[4];
    for (int p = 0; p < 4; p++)
        offsets_assign(o, "t", p, (uint64_t)p + 1);
    for (int64_t off = 0; off < 1000; off++)
        for (int p = 0; p < 4; p++)
            assert_int_equal(offsets_begin(o, "t", p, off, &gen[p]), 0);
    /* Finish even offsets first, then odd ones in reverse. */
    for (int p = 0; p < 4; p++) {
        int64_t best = -1;
        for (int64_t off = 0; off < 1000; off += 2) {
            int64_t s = offsets_done(o, "t", p, off, gen[p]);
            if (s > best)
                best = s;
        }
        assert_int_equal(best, 1);
        for (int64_t off = 999; off > 0; off -= 2) {
            int64_t s = offsets_done(o, "t", p, off, gen[p]);
            if (s > best)
                best = s;
        }
        assert_int_equal(best, 1000);
    }
    assert_int_equal(offsets_pending(o), 0);
    offsets_destroy(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(offsets__in_order_completion__stores_each_next_offset),
        cmocka_unit_test(offsets__out_of_order_completion__waits_for_the_lowest),
        cmocka_unit_test(offsets__job_of_a_revoked_assignment__stores_nothing),
        cmocka_unit_test(offsets__unassigned_partition__is_refused),
        cmocka_unit_test(offsets__many_jobs_on_many_partitions__all_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
