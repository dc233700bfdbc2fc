/* replay.h: `atc replay-dlq`: read the dead-letter topic to its current end,
 * pick records, reset their results in Redis and send the original jobs again. */
#ifndef ATC_REPLAY_H
#define ATC_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "atc/client.h"
#include "atc/results.h"
#include "replay_record.h"

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
