/* test_pool.c: the job-thread pool (worker/pool.c): tasks run and come back,
 * a backlog can be taken back unstarted, and waits do not follow the wall clock. */
#include "support.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"

/* The wall clock as the code under test sees it is an hour ahead of the real
 * one: a wait computed from it but measured by the kernel on the real wall
 * clock would last an hour, as after the clock stepping back by an hour. Other
 * clocks are the real ones. */
static volatile int wall_clock_skewed;

int clock_gettime(clockid_t clk, struct timespec *ts)
{
    int rc = (int)syscall(SYS_clock_gettime, clk, ts);
    if (rc == 0 && clk == CLOCK_REALTIME && wall_clock_skewed)
        ts->tv_sec += 3600;
    return rc;
}

/* A run function that blocks until released, so a test controls what runs. */
struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int open;
    int started;
};

static struct gate gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void gate_reset(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.open = 0;
    gate.started = 0;
    pthread_mutex_unlock(&gate.lock);
}

static void gate_open(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.open = 1;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
}

static void gate_wait_started(int n)
{
    pthread_mutex_lock(&gate.lock);
    while (gate.started < n)
        pthread_cond_wait(&gate.cond, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
}

static void *init_state(void *ctx, size_t index)
{
    size_t *s = malloc(sizeof(*s));
    if (s)
        *s = index;
    return s;
}

static void fini_state(void *ctx, void *state)
{
    free(state);
}

static void run_gated(void *ctx, void *state, struct task *t)
{
    pthread_mutex_lock(&gate.lock);
    gate.started++;
    pthread_cond_broadcast(&gate.cond);
    while (!gate.open)
        pthread_cond_wait(&gate.cond, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
    t->store = 1;
}

static int in_partition(void *arg, const struct task *t)
{
    return t->partition == *(const int32_t *)arg;
}

static struct task *make_task(int32_t partition, int64_t offset)
{
    struct task *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->topic = strdup("t");
    assert_non_null(t->topic);
    t->partition = partition;
    t->offset = offset;
    return t;
}

/* Takes finished tasks until n have come back; frees them; returns how many had store set. */
static int take_n(struct pool *p, int n)
{
    int got = 0, stored = 0;
    while (got < n) {
        struct task *t = pool_take_done(p, 1000);
        while (t) {
            struct task *next = t->next;
            got++;
            stored += t->store;
            task_free(t);
            t = next;
        }
    }
    return stored;
}

static void pool__submitted_tasks__come_back_done(void **state)
{
    gate_reset();
    gate_open();
    struct pool *p = pool_new(2, init_state, run_gated, fini_state, NULL);
    assert_non_null(p);
    for (int i = 0; i < 5; i++)
        pool_submit(p, make_task(0, i));
    assert_int_equal(take_n(p, 5), 5);
    pool_destroy(p);
}

static void pool__queued_tasks_of_a_revoked_partition__come_back_unstored(void **state)
{
    gate_reset();
    struct pool *p = pool_new(1, init_state, run_gated, fini_state, NULL);
    assert_non_null(p);
    pool_submit(p, make_task(0, 1));
    gate_wait_started(1); /* the one thread holds partition 0's task */
    pool_submit(p, make_task(1, 2));
    pool_submit(p, make_task(0, 3));
    pool_submit(p, make_task(1, 4));
    int32_t revoked = 1;
    assert_int_equal(pool_drop_queued(p, in_partition, &revoked), 2);
    /* They come back at once, unstarted and not to be stored. */
    struct task *back = pool_take_done(p, 0);
    int n = 0;
    for (struct task *t = back; t; t = t->next, n++) {
        assert_int_equal(t->partition, 1);
        assert_int_equal(t->store, 0);
    }
    assert_int_equal(n, 2);
    while (back) {
        struct task *next = back->next;
        task_free(back);
        back = next;
    }
    /* The running task and partition 0's queued one still run. */
    gate_open();
    assert_int_equal(take_n(p, 2), 2);
    pool_destroy(p);
}

static void note_running(void *arg, const struct task *t)
{
    int64_t *offset = arg;
    *offset = t->offset;
}

static void pool__running_tasks__are_listed_until_they_finish(void **state)
{
    gate_reset();
    struct pool *p = pool_new(2, init_state, run_gated, fini_state, NULL);
    assert_non_null(p);
    int64_t seen = -1;
    assert_int_equal(pool_each_running(p, note_running, &seen), 0);
    pool_submit(p, make_task(0, 42));
    gate_wait_started(1);
    assert_int_equal(pool_each_running(p, note_running, &seen), 1);
    assert_int_equal(seen, 42);
    gate_open();
    assert_int_equal(take_n(p, 1), 1);
    assert_int_equal(pool_each_running(p, note_running, &seen), 0);
    pool_destroy(p);
}

static void pool__wait_for_a_finished_task__ignores_the_wall_clock(void **state)
{
    gate_reset();
    struct pool *p = pool_new(1, init_state, run_gated, fini_state, NULL);
    assert_non_null(p);
    /* Nothing finishes: the wait ends at its own limit, not an hour later. */
    wall_clock_skewed = 1;
    struct task *t = pool_take_done(p, 50);
    wall_clock_skewed = 0;
    assert_null(t);
    pool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pool__submitted_tasks__come_back_done),
        cmocka_unit_test(pool__queued_tasks_of_a_revoked_partition__come_back_unstored),
        cmocka_unit_test(pool__running_tasks__are_listed_until_they_finish),
        cmocka_unit_test(pool__wait_for_a_finished_task__ignores_the_wall_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
