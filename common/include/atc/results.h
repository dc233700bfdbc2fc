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

/* Writes status=queued (with submitted_ms) only where the key does not exist.
 * Returns 0 (written or already there) or ATC_ECONN/ATC_EIO. */
int atc_results_mark_queued(struct atc_results *r, const char *id,
                            uint64_t submitted_ms, char *err, size_t errlen);

/* Starts an attempt: unless the result is final, sets status=running and the
 * given fields (attempt, worker, started_ms, ...), and increments nothing else.
 * Returns 0, ATC_EFINAL when the result is already final (skip the job), or an
 * I/O error. *attempt_out receives the attempt number (1 for the first). */
int atc_results_mark_running(struct atc_results *r, const char *id,
                             const struct atc_field *fields, size_t nfields,
                             int *attempt_out, char *err, size_t errlen);

/* The final write, atomic (one Lua script): unless the hash already holds a final
 * status, sets status and fields, sets the TTL, XADDs {id, status} to
 * atc:results (MAXLEN ~ 100000) and pushes status onto atc:done:<id> with the
 * same TTL. Returns 0 when written, ATC_EFINAL when a final result was already
 * there (nothing changed), or ATC_ECONN/ATC_EIO. */
int atc_results_write_final(struct atc_results *r, const char *id,
                            const char *status, const struct atc_field *fields,
                            size_t nfields, long ttl_s, char *err, size_t errlen);

/* Reads the hash. Returns 0 with *out set (free with atc_result_free),
 * ATC_ENOTFOUND when the key does not exist, or an I/O error. */
int atc_results_get(struct atc_results *r, const char *id, struct atc_result **out,
                    char *err, size_t errlen);

/* Blocks until the result is final or timeout_s passes (0: wait forever), with
 * BLMOVE on atc:done:<id>, not polling. Returns 0 with *out set to the final
 * result, ATC_ETIMEDOUT (no final result within the wait; *out is the current
 * result or NULL), or an I/O error. */
int atc_results_wait(struct atc_results *r, const char *id, double timeout_s,
                     struct atc_result **out, char *err, size_t errlen);

#endif
