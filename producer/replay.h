/* replay.h: `atc replay-dlq`: read the dead-letter topic to its current end,
 * pick records, reset their results in Redis and send the original jobs again. */
#ifndef ATC_REPLAY_H
#define ATC_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "atc/client.h"
#include "atc/job.h"
#include "atc/results.h"

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

/* Why a matching record was not replayed. */
enum replay_skip {
    REPLAY_SKIP_FINAL,       /* its result is passed, failed, timeout or cancelled */
    REPLAY_SKIP_REJECTED,    /* a rejected message, and --reason did not name its reason */
    REPLAY_SKIP_IN_FLIGHT,   /* queued or running now */
    REPLAY_SKIP_CANCEL,      /* a cancel was asked for the job */
    REPLAY_SKIP_NO_ID,       /* no job id could be read */
    REPLAY_SKIP_DUPLICATE,   /* a record of the same job came earlier in this run */
    REPLAY_SKIP_TRUNCATED,   /* the record holds only the start of the message */
    REPLAY_SKIP_COUNT
};

/* The short name of a skip ("final", "rejected", ...), as printed. */
const char *replay_skip_name(enum replay_skip s);

struct replay_summary {
    long read;      /* records read from the topic */
    long invalid;   /* of those, not dead-letter records */
    long matched;   /* passed the filters */
    long replayed;  /* sent again (with dry_run: would be) */
    long skipped[REPLAY_SKIP_COUNT];
    int stopped_at_max;
};

struct replay_opts {
    const char *brokers;
    const char *topic;          /* the dead-letter topic */
    char **xprops;              /* -X name=value, applied last */
    size_t nxprops;
    struct replay_filter filter;
    int dry_run;                /* reset and send nothing */
    int json;                   /* one JSON object a line */
    long max;                   /* stop after this many replays; 0: no limit */
    int timeout_ms;             /* metadata, watermarks, and reading without progress */
};

/* Reads every partition of o->topic from its low to its high watermark as
 * they are when it starts (assigned, no group, no commits) and prints one line
 * per matching record to out. For each record that may be replayed (and
 * unless o->dry_run) resets its result with atc_results_reset_for_replay and
 * sends original, unchanged, to the jobs topic with the job id as key,
 * through c (atc_client_submit_raw: waits for the broker's ack). A record
 * that is not a dead-letter record is reported on stderr and counted.
 * r and c stay the caller's; c may be NULL with dry_run. *sum is filled in
 * either way. Returns 0; ATC_ENOTFOUND when the topic does not exist; or
 * ATC_ECONN/ATC_ETIMEDOUT/ATC_EIO... with err set (broker or Redis out of
 * reach, a send not acknowledged: the replay stops there). */
int replay_run(const struct replay_opts *o, struct atc_results *r, struct atc_client *c,
               FILE *out, struct replay_summary *sum, char *err, size_t errlen);

/* The summary line: "N read, M matched, K replayed, S skipped (...)". */
void replay_summary_print(const struct replay_summary *s, int dry_run, FILE *out);

#endif
