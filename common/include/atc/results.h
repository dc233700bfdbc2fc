/* results.h: the result layout in Redis of CONTRACT section 4 (hiredis):
 * queued and running marks, the atomic final write with its notifications,
 * reading a result and blocking until one is final. */
#ifndef ATC_RESULTS_H
#define ATC_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#define ATC_RESULT_KEY_PREFIX "atc:result:"
#define ATC_DONE_KEY_PREFIX "atc:done:"
#define ATC_RESULTS_STREAM "atc:results"
#define ATC_WORKER_KEY_PREFIX "atc:worker:" /* atc:worker:<group>:<worker id>: liveness */
#define ATC_CANCEL_KEY_PREFIX "atc:cancel:"
#define ATC_QUEUED_KEY_PREFIX "atc:queued:" /* the producer's queued mark */
#define ATC_CANCELS_STREAM "atc:cancels"    /* the producers' cancel nudges */
#define ATC_RESULT_DEFAULT_TTL_S 604800

/* One field of a result hash. value may hold any bytes (msgpack blobs). */
struct atc_field {
    char *name;
    char *value;
    size_t len;
};

/* A result read back from Redis: every field of the hash, owned. */
struct atc_result {
    struct atc_field *fields;
    size_t nfields;
};

/* Looks a field up by name; NULL when absent. The pointer stays owned by r. */
const struct atc_field *atc_result_field(const struct atc_result *r, const char *name);
/* The field's value as a NUL-terminated string ("" when absent). */
const char *atc_result_str(const struct atc_result *r, const char *name);
void atc_result_free(struct atc_result *r); /* accepts NULL */

/* 1 for passed, failed, error, timeout, rejected (and cancelled). */
int atc_status_is_final(const char *status);

struct atc_results;

/* Connects to url: redis://[:password@]host[:port][/db] or unix:///path.
 * timeout_ms bounds connect and each command. Returns NULL with err set.
 * The handle reconnects by itself on the next call after a lost connection. */
struct atc_results *atc_results_new(const char *url, int timeout_ms,
                                    char *err, size_t errlen);
void atc_results_destroy(struct atc_results *r); /* accepts NULL */

/* Checks the connection (PING). 0 or ATC_ECONN. */
int atc_results_ping(struct atc_results *r, char *err, size_t errlen);

/* Runs one command whose reply is text (INFO, CONFIG GET ...), for
 * diagnostics (atc doctor); argv holds 1 to 8 NUL-terminated words. *out is
 * malloc'd (caller frees): the string, or an array's strings joined by
 * newlines. Returns 0, ATC_EIO (or ATC_EAUTH) for an error reply with its
 * text in err, or ATC_ECONN. */
int atc_results_command_text(struct atc_results *r, int argc, const char **argv, char **out,
                             char *err, size_t errlen);

/* The producer's queued mark: the hash atc:queued:<id> {submitted_ms} with
 * the default result TTL (HSET and EXPIRE in MULTI/EXEC; no script, and no
 * write to the result hash, which a producer's Redis user may not touch).
 * Readers show a job with only this mark as status queued (atc_results_get);
 * a worker's running, final or cancel write copies submitted_ms and group
 * into the result hash where absent and deletes the mark.
 * Returns 0 or ATC_ECONN/ATC_EIO (ATC_EAUTH where the user may not). */
int atc_results_mark_queued(struct atc_results *r, const char *id,
                            uint64_t submitted_ms, char *err, size_t errlen);
/* The same with the job's group (NULL: none) in the mark too. */
int atc_results_mark_queued_group(struct atc_results *r, const char *id, uint64_t submitted_ms,
                                  const char *group, char *err, size_t errlen);

/* Starts an attempt: unless the result is final, copies submitted_ms and group
 * from the queued mark where the hash has none and deletes the mark, sets
 * status=running and the given fields (attempt, worker, started_ms, ...), and
 * increments nothing else.
 * Returns 0, ATC_EFINAL when the result is already final (skip the job), or an
 * I/O error. *attempt_out receives the attempt number (1 for the first). */
int atc_results_mark_running(struct atc_results *r, const char *id,
                             const struct atc_field *fields, size_t nfields,
                             int *attempt_out, char *err, size_t errlen);

/* atc_results_mark_running, and in the same round trip (pipelined right after
 * it) whether a cancel was asked for id, as atc_results_cancel_check reads
 * it: *cancel_out is 1 when atc:cancel:<id> holds a string, else 0 (also when the call fails). Same returns. */
int atc_results_mark_running_cancel(struct atc_results *r, const char *id,
                                    const struct atc_field *fields, size_t nfields,
                                    int *attempt_out, int *cancel_out, char *err,
                                    size_t errlen);

/* The final write, atomic (one Lua script): unless the hash already holds a final
 * status, takes submitted_ms and group from the queued mark where neither the
 * hash nor fields have them (and deletes the mark), sets status and fields,
 * sets the TTL, XADDs {id, status} to
 * atc:results (MAXLEN ~ 100000) and pushes status onto atc:done:<id> with the
 * same TTL. Returns 0 when written, ATC_EFINAL when a final result was already
 * there (nothing changed), or ATC_ECONN/ATC_EIO. */
int atc_results_write_final(struct atc_results *r, const char *id,
                            const char *status, const struct atc_field *fields,
                            size_t nfields, long ttl_s, char *err, size_t errlen);

/* Reads a job's state, in one round trip: the hash atc:result:<id>; where
 * there is none, the queued mark atc:queued:<id> as {status queued,
 * submitted_ms, group}; and, for a result not final, cancel_requested=1
 * where the cancel mark atc:cancel:<id> exists (whoever set it). Returns 0
 * with *out set (free with atc_result_free), ATC_ENOTFOUND when neither the
 * hash nor the queued mark exists, or an I/O error. */
int atc_results_get(struct atc_results *r, const char *id, struct atc_result **out,
                    char *err, size_t errlen);

/* Blocks until the result is final or timeout_s passes (0: wait forever), with
 * BLMOVE on atc:done:<id>, not polling. Returns 0 with *out set to the final
 * result, ATC_ETIMEDOUT (no final result within the wait; *out is the current
 * result or NULL), or an I/O error. */
int atc_results_wait(struct atc_results *r, const char *id, double timeout_s,
                     struct atc_result **out, char *err, size_t errlen);

/* The result cache: the id stored under atc:cache:<key> (a job's content key,
 * atc_job_cache_key), into id_out. 0, ATC_ENOTFOUND, or an I/O error. */
int atc_results_cache_lookup(struct atc_results *r, const char *key, char *id_out, size_t idlen,
                             char *err, size_t errlen);

/* Remembers id under atc:cache:<key> for ttl_s seconds. 0 or an I/O error. */
int atc_results_cache_store(struct atc_results *r, const char *key, const char *id, long ttl_s,
                            char *err, size_t errlen);

/* For each of ids[0..n), sets flags[i] to 1 where a cancel was asked
 * (atc:cancel:<id> exists), in one round trip. 0 or an I/O error. */
int atc_results_cancel_check(struct atc_results *r, const char *const *ids, size_t n, int *flags,
                             char *err, size_t errlen);

/* What atc_results_cancel (and atc_results_cancel_finalise) did (*outcome). */
#define ATC_CANCEL_ALREADY_FINAL 0 /* the result was (or became) final, not cancelled:
                                      nothing changed */
#define ATC_CANCEL_DONE 1          /* now final, status cancelled */
#define ATC_CANCEL_REQUESTED 2     /* asked, not final yet: a running job is
                                      stopped by its worker; a queued one ends
                                      cancelled (never run) once a worker reads
                                      the nudge or consumes the job */
#define ATC_CANCEL_UNKNOWN 3       /* no result and no queued mark: the cancel
                                      mark is set, so that it never runs should
                                      the message still come */
#define ATC_CANCEL_NOT_ASKED 4     /* (finalise only) no cancel mark: nothing done */

/* Cancels a job as a producer may (no script, no write to the result): reads
 * the status and the queued mark; a final result is left as it is
 * (ATC_CANCEL_ALREADY_FINAL). Otherwise, in MULTI/EXEC, SET atc:cancel:<id> 1
 * EX ttl (workers watch it for their running jobs, and a worker consuming the
 * job ends it cancelled) and XADD atc:cancels MAXLEN ~ 10000 * id <id> (the
 * nudge: every worker reads the stream and runs atc_results_cancel_finalise).
 * With no result and no queued mark: ATC_CANCEL_UNKNOWN at once. Else, with
 * wait_s > 0, waits up to wait_s for the final result (atc_results_wait):
 * cancelled gives ATC_CANCEL_DONE, another final status (the job finished
 * first) ATC_CANCEL_ALREADY_FINAL, none ATC_CANCEL_REQUESTED; wait_s 0 gives
 * ATC_CANCEL_REQUESTED at once. ttl_s <= 0 means the default TTL. Returns 0
 * with *outcome set (outcome may be NULL), or ATC_EINVAL (bad id),
 * ATC_ECONN/ATC_EIO/ATC_EAUTH/ATC_EPROTO (then the cancel may not be asked). */
int atc_results_cancel(struct atc_results *r, const char *id, long ttl_s, double wait_s,
                       int *outcome, char *err, size_t errlen);

/* A worker's side of a cancel (common/lua/cancel_final.lua, atomic): with no
 * cancel mark, ATC_CANCEL_NOT_ASKED; a final result is left as it is
 * (ATC_CANCEL_ALREADY_FINAL); a running job gets cancel_requested=1
 * (ATC_CANCEL_REQUESTED; the worker running it stops it); a queued job, or
 * one with no result (ATC_CANCEL_UNKNOWN), gets its final result {status
 * cancelled, reason cancelled, error, finished_ms} with submitted_ms and group
 * from the queued mark, the TTL and the notifications of
 * atc_results_write_final (ATC_CANCEL_DONE). Idempotent. ttl_s <= 0: the
 * default. 0 with *outcome set, or an error. */
int atc_results_cancel_finalise(struct atc_results *r, const char *id, long ttl_s,
                                int *outcome, char *err, size_t errlen);

/* What atc_results_reset_for_replay found (*outcome). */
#define ATC_REPLAY_KEPT 0        /* a final status that is never reset: nothing changed */
#define ATC_REPLAY_RESET 1       /* error (or rejected, where allowed): now queued */
#define ATC_REPLAY_NEW 2         /* no result (expired): now queued */
#define ATC_REPLAY_AGAIN 3       /* queued by an earlier replay whose message may not
                                    have been sent: nothing changed, send it again */
#define ATC_REPLAY_IN_FLIGHT 4   /* running, or queued by a submit: nothing changed */
#define ATC_REPLAY_CANCELLED 5   /* a cancel was asked (atc:cancel:<id>): nothing changed */

/* Flags of atc_results_reset_for_replay. */
#define ATC_REPLAY_ALLOW_REJECTED 1 /* a rejected result may be reset too */
#define ATC_REPLAY_CHECK_ONLY 2     /* decide the outcome, change nothing (--dry-run) */

/* Makes a final result run again when its job is sent again (atc replay-dlq),
 * atomically (one Lua script). Only an `error` result (and `rejected` with
 * ATC_REPLAY_ALLOW_REJECTED) is reset: every field but attempt, submitted_ms,
 * labels, traceparent and replayed is removed, status is set to queued,
 * replayed incremented, replayed_ms set to now, the TTL set to ttl_s (<= 0:
 * the default), and atc:done:<id> deleted, so that a waiter blocks until the
 * new final result and the worker, finding the status not final, runs the job
 * (attempt + 1). A missing hash becomes {status queued, replayed 1,
 * replayed_ms} the same way. passed, failed, timeout and cancelled are never
 * reset; the atc:results stream keeps the entry of the earlier final write.
 * With ATC_REPLAY_CHECK_ONLY nothing is written. Returns 0 with *outcome set
 * (ATC_REPLAY_*) and the status found copied to status (may be NULL; "" when
 * there was no result), or ATC_EINVAL (bad id), ATC_ECONN/ATC_EIO/ATC_EPROTO. */
int atc_results_reset_for_replay(struct atc_results *r, const char *id, unsigned flags,
                                 long ttl_s, int *outcome, char *status, size_t statuslen,
                                 char *err, size_t errlen);

/* One entry of the atc:results stream: {id, status} with its stream id. */
struct atc_stream_entry {
    char sid[48];     /* the entry's stream id, "<ms>-<seq>" */
    char id[256];     /* the job id ("" when the entry had none that fits) */
    char status[32];  /* the final status */
};

/* The id of the stream's newest entry into sid ("0-0" when the stream is empty
 * or absent): read it before a check, then read the stream after it, and no
 * entry added in between is missed. 0, or ATC_ECONN/ATC_EIO. */
int atc_results_stream_last(struct atc_results *r, char *sid, size_t sidlen,
                            char *err, size_t errlen);

/* XREAD COUNT max [BLOCK] STREAMS atc:results after: up to max entries newer
 * than the stream id after, blocking up to block_s seconds (0: do not block)
 * when there are none. Fills out[0..*n). 0 (with *n 0 when the block passed),
 * or ATC_ECONN/ATC_EIO/ATC_EPROTO. */
int atc_results_stream_read(struct atc_results *r, const char *after, double block_s,
                            struct atc_stream_entry *out, size_t max, size_t *n,
                            char *err, size_t errlen);

/* XRANGE atc:results start end COUNT max ("-", "+", "<ms>", "(<sid>" for
 * exclusive): fills out[0..*n) in stream order. 0 or an error as above. */
int atc_results_stream_range(struct atc_results *r, const char *start, const char *end,
                             struct atc_stream_entry *out, size_t max, size_t *n,
                             char *err, size_t errlen);

/* The cancel nudges: XREAD COUNT max STREAMS atc:cancels after (not
 * blocking): fills out[0..*n) (id is the job id, status ""). A worker starts
 * about a minute back ("<now ms - 60000>-0"), so a cancel sent just before it
 * started is not missed. 0 or an error as above. */
int atc_results_cancel_nudges(struct atc_results *r, const char *after,
                              struct atc_stream_entry *out, size_t max, size_t *n,
                              char *err, size_t errlen);

/* HINCRBY atc:result:<id> abandoned 1: an attempt given up on purpose (a
 * shutdown, a lost partition), so that it does not count as one that died
 * with its worker. 0 or an error. */
int atc_results_count_abandoned(struct atc_results *r, const char *id, char *err, size_t errlen);

/* HMGET atc:result:<id> status attempt abandoned: status ("" when absent) into
 * status[0..statuslen), attempt and abandoned (0 when absent). 0 or an error. */
int atc_results_job_state(struct atc_results *r, const char *id, char *status, size_t statuslen,
                          long *attempt, long *abandoned, char *err, size_t errlen);

/* SET atc:worker:<group>:<worker> <now ms> EX ttl_s: the worker's liveness
 * key, renewed by its heartbeat. 0 or an error. */
int atc_results_worker_beat(struct atc_results *r, const char *group, const char *worker,
                            long ttl_s, char *err, size_t errlen);

/* For each of workers[0..n), alive[i] = 1 when its liveness key exists, in
 * one round trip (MGET). 0 or an error (alive then unset). */
int atc_results_workers_alive(struct atc_results *r, const char *group,
                              const char *const *workers, size_t n, int *alive, char *err,
                              size_t errlen);

#endif
