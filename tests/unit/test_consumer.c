/* test_consumer.c: the consumer's decisions (worker/consumer.c) with
 * librdkafka and the job-thread pool faked at link time (tests/unit/fakes):
 * offsets stored only below the oldest unfinished job whatever order jobs
 * finish in, a job still running across a rebalance kept (not run twice) and
 * its offset stored under the new assignment, and pausing at the backlog's end. */
#include "support.h"

#include <librdkafka/rdkafka.h>
#include <string.h>

#include "consumer.h"
#include "fakes.h"

#define TOPIC "atc-jobs"

static struct consumer *c;
static char dummy_pool;

static struct consumer *make(size_t threads, size_t backlog_max)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    struct consumer *made = consumer_new(conf, "fleet", TOPIC, (struct pool *)&dummy_pool, threads,
                                         backlog_max, 1 << 20, err, sizeof(err));
    assert_non_null(made);
    return made;
}

static int setup(void **state)
{
    (void)state;
    fake_clock_reset();
    fake_kafka_reset();
    fake_pool_reset();
    c = make(4, 16);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    consumer_close(c);
    fake_pool_reset();
    fake_kafka_reset();
    return 0;
}

/* Delivers offsets first..last of partition 0, one poll each. */
static void deliver(int64_t first, int64_t last)
{
    for (int64_t o = first; o <= last; o++) {
        fake_kafka_deliver(TOPIC, 0, o, "{}");
        consumer_turn(c, 0, 0, 0);
    }
}

static void finish(int64_t offset, int store)
{
    assert_int_equal(fake_pool_finish(0, offset, store), 0);
    consumer_turn(c, 0, 0, 0);
}

static void consumer__jobs_finishing_out_of_order__store_only_below_the_oldest_unfinished(void **state)
{
    (void)state;
    const int32_t p0[] = {0};
    fake_kafka_assign(TOPIC, p0, 1);
    deliver(10, 12);
    assert_int_equal(fake_pool.submitted, 3);
    finish(12, 1);
    assert_int_equal(fake_kafka.stored[0], -1); /* 10 and 11 still run */
    finish(10, 1);
    assert_int_equal(fake_kafka.stored[0], 11); /* the next to consume */
    finish(11, 1);
    assert_int_equal(fake_kafka.stored[0], 13);
    assert_int_equal(consumer_inflight(c), 0);
}

static void consumer__job_without_a_final_result__holds_the_offset_back(void **state)
{
    (void)state;
    const int32_t p0[] = {0};
    fake_kafka_assign(TOPIC, p0, 1);
    deliver(5, 6);
    finish(6, 1);
    finish(5, 0); /* given up at shutdown: no result in Redis */
    assert_int_equal(fake_kafka.stored[0], -1);
}

static void consumer__rebalance_while_a_job_runs__keeps_it_and_stores_its_offset(void **state)
{
    (void)state;
    const int32_t p0[] = {0};
    fake_kafka_assign(TOPIC, p0, 1);
    deliver(5, 5);
    assert_true(consumer_in_group(c));
    fake_kafka_revoke();
    assert_false(consumer_in_group(c));
    fake_kafka_assign(TOPIC, p0, 1);
    /* Fetched again from the committed offset while its job still runs. */
    deliver(5, 6);
    assert_int_equal(fake_pool.submitted, 2); /* 5 once, and 6 */
    finish(5, 1);
    assert_int_equal(fake_kafka.stored[0], 6);
    finish(6, 1);
    assert_int_equal(fake_kafka.stored[0], 7);
}

static void consumer__job_of_a_partition_revoked_for_good__stores_nothing(void **state)
{
    (void)state;
    const int32_t p0[] = {0};
    fake_kafka_assign(TOPIC, p0, 1);
    deliver(5, 5);
    fake_kafka_revoke();
    finish(5, 1);
    assert_int_equal(fake_kafka.stored[0], -1); /* the partition's new owner runs it */
}

static void consumer__backlog_full__pauses_until_a_job_finishes(void **state)
{
    (void)state;
    const int32_t p0[] = {0};
    consumer_close(c);
    c = make(1, 1); /* one thread and one waiting: two out at most */
    fake_kafka_assign(TOPIC, p0, 1);
    deliver(1, 2);
    assert_false(fake_kafka.paused);
    consumer_turn(c, 0, 0, 0);
    assert_true(fake_kafka.paused);
    finish(1, 1);
    consumer_turn(c, 0, 0, 0);
    assert_false(fake_kafka.paused);
}

static void consumer__draining__pauses_and_starts_nothing(void **state)
{
    (void)state;
    const int32_t p0[] = {0};
    fake_kafka_assign(TOPIC, p0, 1);
    fake_kafka_deliver(TOPIC, 0, 1, "{}");
    consumer_turn(c, 0, 0, 1);
    assert_true(fake_kafka.paused);
    assert_int_equal(fake_pool.submitted, 0);
}

/* librdkafka 2.0.2 drops a partition's fetch start when a pause or resume of
 * that partition takes its version barrier in the instant between the fetch
 * start's barrier and its enqueue (rdkafka_partition.c: an op older than the
 * partition's op version is "outdated"): the partition then never fetches.
 * So an assignment sends neither a pause nor a resume. */
static void consumer__assignment__sends_no_pause_and_no_resume(void **state)
{
    (void)state;
    const int32_t p01[] = {0, 1};
    fake_kafka_assign(TOPIC, p01, 2);
    consumer_turn(c, 0, 0, 0);
    assert_int_equal(fake_kafka.pause_calls, 0);
    assert_int_equal(fake_kafka.resume_calls, 0);
}

/* A full backlog pauses the partitions that delivered; one that has not yet
 * (its fetch may be starting) only after a grace period. */
static void consumer__backlog_full__pauses_a_partition_without_messages_only_after_its_grace(
    void **state)
{
    (void)state;
    const int32_t p01[] = {0, 1};
    consumer_close(c);
    c = make(1, 1); /* two out at most */
    fake_kafka_assign(TOPIC, p01, 2);
    deliver(1, 2);
    consumer_turn(c, 0, 0, 0);
    assert_true(fake_kafka.part_paused[0]);
    assert_false(fake_kafka.part_paused[1]);
    fake_clock.now_ms += 10000;
    consumer_turn(c, 0, 0, 0);
    assert_true(fake_kafka.part_paused[1]);
    finish(1, 1);
    consumer_turn(c, 0, 0, 0);
    assert_false(fake_kafka.part_paused[0]);
    assert_false(fake_kafka.part_paused[1]);
}

/* What the worker paused it resumes before giving the partition up, so the
 * next assignment of it (here or, in librdkafka, wherever the pause is kept)
 * needs no resume. */
static void consumer__revoke_while_paused__resumes_before_the_next_assignment(void **state)
{
    (void)state;
    const int32_t p0[] = {0};
    consumer_close(c);
    c = make(1, 1);
    fake_kafka_assign(TOPIC, p0, 1);
    deliver(1, 2);
    consumer_turn(c, 0, 0, 0);
    assert_true(fake_kafka.part_paused[0]);
    fake_kafka_revoke();
    assert_false(fake_kafka.part_paused[0]);
    int resumes = fake_kafka.resume_calls;
    fake_kafka_assign(TOPIC, p0, 1);
    assert_int_equal(fake_kafka.resume_calls, resumes);
    assert_false(fake_kafka.paused);
}

/* librdkafka's statistics for partitions 0 and 1 of TOPIC, with fetch states. */
static void stats(const char *state0, const char *state1)
{
    char json[512];
    snprintf(json, sizeof(json),
             "{\"topics\": {\"" TOPIC "\": {\"partitions\": {"
             "\"0\": {\"desired\": true, \"fetch_state\": \"%s\", \"consumer_lag\": 0},"
             "\"1\": {\"desired\": true, \"fetch_state\": \"%s\", \"consumer_lag\": -1},"
             "\"-1\": {\"desired\": false, \"fetch_state\": \"none\"}}}}}",
             state0, state1);
    consumer_stats(c, json, strlen(json));
}

/* A partition whose fetch never started (a dropped fetch start) shows no
 * consumer lag: the statistics' fetch state reports it after a minute. */
static void consumer__partition_not_fetching_for_a_minute__is_reported_until_it_fetches(
    void **state)
{
    (void)state;
    const int32_t p01[] = {0, 1};
    fake_kafka_assign(TOPIC, p01, 2);
    stats("active", "none");
    assert_int_equal(consumer_partitions_not_fetching(c), 0);
    fake_clock.now_ms += 30000;
    stats("active", "offset-query");
    assert_int_equal(consumer_partitions_not_fetching(c), 0);
    fake_clock.now_ms += 31000;
    stats("active", "none");
    assert_int_equal(consumer_partitions_not_fetching(c), 1);
    stats("active", "active");
    assert_int_equal(consumer_partitions_not_fetching(c), 0);
    /* A revoke forgets it. */
    fake_clock.now_ms += 61000;
    stats("none", "active");
    fake_clock.now_ms += 61000;
    stats("none", "active");
    assert_int_equal(consumer_partitions_not_fetching(c), 1);
    fake_kafka_revoke();
    assert_int_equal(consumer_partitions_not_fetching(c), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(consumer__jobs_finishing_out_of_order__store_only_below_the_oldest_unfinished),
        T(consumer__job_without_a_final_result__holds_the_offset_back),
        T(consumer__rebalance_while_a_job_runs__keeps_it_and_stores_its_offset),
        T(consumer__job_of_a_partition_revoked_for_good__stores_nothing),
        T(consumer__backlog_full__pauses_until_a_job_finishes),
        T(consumer__draining__pauses_and_starts_nothing),
        T(consumer__assignment__sends_no_pause_and_no_resume),
        T(consumer__backlog_full__pauses_a_partition_without_messages_only_after_its_grace),
        T(consumer__revoke_while_paused__resumes_before_the_next_assignment),
        T(consumer__partition_not_fetching_for_a_minute__is_reported_until_it_fetches),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
