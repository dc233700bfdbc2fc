/* watch.h: `atc watch` (follow the atc:results stream, one line per finished
 * job) and `atc stats` (jobs by status over a window, the consumer group's lag). */
#ifndef ATC_WATCH_H
#define ATC_WATCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "atc/job.h"
#include "atc/results.h"

/* Follows atc:results from its newest entry on, reading each finished job's
 * result and printing one line (text, or one JSON object with json) for each
 * whose labels hold every pair of labels[0..nlabels). Stops when *stop is set
 * (checked at least once a second) or after max_lines lines (0: no limit).
 * Returns 0, or an error code with err set (Redis lost). r stays the caller's. */
int watch_follow(struct atc_results *r, const struct atc_kv *labels, size_t nlabels, int json,
                 long max_lines, volatile sig_atomic_t *stop, FILE *out, char *err,
                 size_t errlen);

/* The consumer group's position on one partition of the jobs topic. */
struct watch_partition {
    int32_t partition;
    int64_t committed; /* -1: the group committed nothing here */
    int64_t low, high; /* watermarks */
    int64_t lag;       /* high - committed, or high - low when nothing committed */
};

/* Asks the broker for group's committed offsets and the watermarks of every
 * partition of topic. Kafka configuration as for the producer (brokers,
 * ATC_KAFKA_*, then xprops). On success *parts is malloc'd (caller frees) with
 * *nparts entries. Returns 0, or an error code with err set. */
int watch_lag(const char *brokers, const char *topic, const char *group, char **xprops,
              size_t nxprops, int timeout_ms, struct watch_partition **parts, size_t *nparts,
              char *err, size_t errlen);

/* Prints jobs finished within the last window_s seconds by status (from the
 * stream: entry ids are ms timestamps) and the lag (parts may be NULL, with
 * lag_err saying why). Returns 0, or an error code with err set. */
int watch_stats(struct atc_results *r, double window_s, const char *group, const char *topic,
                const struct watch_partition *parts, size_t nparts, const char *lag_err,
                int json, FILE *out, char *err, size_t errlen);

#endif
