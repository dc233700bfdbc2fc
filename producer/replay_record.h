/* replay_record.h: dead-letter records (CONTRACT section 2) read back for
 * `atc replay-dlq`: decoding, the job id, --since, and the filters. */
#ifndef ATC_REPLAY_RECORD_H
#define ATC_REPLAY_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "atc/job.h"

#define REPLAY_REASON_MAX 64

/* A dead-letter record (CONTRACT section 2) read back. The strings are copies
 * (cut to their buffer, NUL-terminated); original points into the bytes given
 * to replay_record_decode and lives as long as they do. */
struct replay_record {
    char reason[REPLAY_REASON_MAX]; /* [A-Za-z0-9_.-], never empty */
    char error[512];
    char worker[256];
    uint64_t ts_ms;      /* 0 when absent */
    char topic[256];
    int64_t partition;   /* -1 when absent */
    int64_t offset;      /* -1 when absent */
    const void *original;
    size_t original_len;
    int original_truncated; /* original is only the start of the message */
};

/* Decodes buf[0..len) as a dead-letter record: a msgpack map with v 1, a
 * non-empty reason and original (bin); error, worker, topic (str), ts_ms,
 * partition, offset (int) and original_truncated (bool) where present must
 * have those types; unknown keys are ignored. Nothing is allocated beyond what the bytes could hold.
 * Returns 0, or ATC_EBADMSG with a sentence in err. */
int replay_record_decode(const void *buf, size_t len, struct replay_record *out, char *err,
                         size_t errlen);

/* The job id of a record into id (ATC_JOB_ID_MAX + 1 bytes): the id inside
 * original where it can be read (even from a job that breaks other rules),
 * else the message key (key[0..keylen), may be NULL) where it is a valid id.
 * Returns 0, or ATC_ENOTFOUND (id set to ""). */
int replay_record_job_id(const struct replay_record *r, const void *key, size_t keylen,
                         char id[ATC_JOB_ID_MAX + 1]);

/* 1 when reason is one a rejected message gets (bad_message, too_large):
 * such records are replayed only where --reason names them. */
int replay_reason_is_rejection(const char *reason);

/* Reads --since: a duration back from now_ms (digits and a unit s, m, h or d,
 * repeated: "90m", "1h30m", "7d"), a time in RFC 3339 ("2026-11-26T07:00:00Z",
 * with optional fraction and a Z or +HH:MM/-HH:MM offset; "2026-11-26" is its
 * midnight UTC), or bare digits: ms since the epoch, as in ts_ms. Sets
 * *since_ms. Returns 0, or ATC_EINVAL with a sentence in err. */
int replay_parse_since(const char *s, uint64_t now_ms, uint64_t *since_ms, char *err,
                       size_t errlen);

/* Which records to look at. Empty lists match everything; since_ms 0 too. */
struct replay_filter {
    const char *const *reasons;
    size_t nreasons;
    const char *const *ids;
    size_t nids;
    uint64_t since_ms;
};

/* 1 when the record (with job id id, "" when none) passes every filter. */
int replay_filter_match(const struct replay_filter *f, const struct replay_record *r,
                        const char *id);

#endif
