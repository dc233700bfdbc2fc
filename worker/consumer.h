/* consumer.h: the worker's Kafka consumer-group member: rebalances, flow
 * control by pausing partitions, and storing offsets only below finished jobs. */
#ifndef ATC_WORKER_CONSUMER_H
#define ATC_WORKER_CONSUMER_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include "pool.h"

struct consumer;

/* Checks the settings of conf that the consumer cannot work with: a
 * cooperative partition.assignment.strategy (the worker uses the eager
 * protocol). Returns 0, or ATC_EINVAL with err saying why; conf is not touched. */
int consumer_check_conf(const rd_kafka_conf_t *conf, char *err, size_t errlen);

/* Creates the consumer on conf (consumed) and subscribes to topic. The pool
 * (of threads job threads) receives tasks. Beyond the running ones a backlog
 * waits in its queue, sized from the time jobs take (backlog.h): threads at
 * least, backlog_max at most. Once that many are out, or their messages hold
 * max_inflight_bytes, the partitions are paused. NULL with err set. */
struct consumer *consumer_new(rd_kafka_conf_t *conf, const char *group, const char *topic,
                              struct pool *pool, size_t threads, size_t backlog_max,
                              size_t max_inflight_bytes, char *err, size_t errlen);

/* One turn of the main loop: polls Kafka for up to wait_ms, hands a message to
 * the pool, collects finished tasks and stores their offsets, pauses or resumes.
 * hold keeps the partitions paused (a message fetched before the pause is still
 * run); draining (shutdown) pauses them and starts no new job at all. */
void consumer_turn(struct consumer *c, int wait_ms, int hold, int draining);

size_t consumer_inflight(const struct consumer *c);
/* 1 while this member holds an assignment from the group (even an empty set):
 * 0 before the first one, from a revocation (a rebalance, or the assignment
 * lost when the session timed out) until the next one, and after a fatal error. */
int consumer_in_group(const struct consumer *c);
/* 1 after a fatal error: the caller should stop. */
int consumer_failed(const struct consumer *c);

/* Stores what is done, commits, leaves the group and destroys the handle.
 * Tasks still out are forgotten (their offsets are not stored). Accepts NULL. */
void consumer_close(struct consumer *c);

/* Reads librdkafka's statistics JSON (the stats callback; tests feed it): the
 * consumer lag per partition for /metrics, and which assigned partitions have
 * not been fetching for a minute (logged once each, atc_partitions_not_fetching). */
void consumer_stats(struct consumer *c, const char *json, size_t len);

/* How many assigned partitions are reported not fetching now. */
size_t consumer_partitions_not_fetching(const struct consumer *c);

#endif
