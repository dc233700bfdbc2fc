/* offsets.h: per-partition tracking of jobs that finish out of order, giving
 * the offset below which every job has its final result. Pure logic, no Kafka. */
#ifndef ATC_WORKER_OFFSETS_H
#define ATC_WORKER_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

struct offsets;

struct offsets *offsets_new(void);
void offsets_destroy(struct offsets *o); /* accepts NULL */

/* Starts tracking partition under generation gen (a number that changes on every
 * assignment, so that jobs of an earlier assignment cannot move its offset).
 * Forgets whatever was tracked for it before. Returns 0 or ATC_ENOMEM. */
int offsets_assign(struct offsets *o, const char *topic, int32_t partition, uint64_t gen);

/* Stops tracking partition (revoked). Jobs still running on it are ignored. */
void offsets_revoke(struct offsets *o, const char *topic, int32_t partition);

/* Records that offset of partition started (offsets arrive in increasing order).
 * Returns 0; ATC_ENOTFOUND when the partition is not assigned; ATC_ENOMEM. */
int offsets_begin(struct offsets *o, const char *topic, int32_t partition, int64_t offset,
                  uint64_t *gen_out);

/* Records that the job at offset finished (its result is final in Redis).
 * Returns the offset to store (the next one to consume: every job below it is
 * done) when that advanced, else -1 (nothing new, or a stale generation). */
int64_t offsets_done(struct offsets *o, const char *topic, int32_t partition, int64_t offset,
                     uint64_t gen);

/* Number of jobs begun and not done over all partitions. */
size_t offsets_pending(const struct offsets *o);

#endif
