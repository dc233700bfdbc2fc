/* client.h: the producer side of libatc, a small stable C API: connect, submit
 * a job (returning once the broker has acknowledged it), get a result, wait
 * for one, and cancel a job. Documented in docs/producer-api.md; an example is
 * producer/examples/submit_and_wait.c. The `atc` command is built on it; the
 * agent's Python module (producer/python) speaks the same protocol. */
#ifndef ATC_CLIENT_H
#define ATC_CLIENT_H

#include <stddef.h>
#include "atc/job.h"
#include "atc/results.h"

struct atc_client;

struct atc_client_opts {
    const char *brokers;        /* NULL: ATC_BROKERS, else 127.0.0.1:9092 */
    const char *topic;          /* NULL: ATC_JOBS_TOPIC, else atc.jobs */
    const char *redis_url;      /* NULL: ATC_REDIS_URL, else redis://127.0.0.1:6379/0 */
    char **kafka_props;         /* "name=value" pairs applied after ATC_KAFKA_*; may be NULL */
    size_t nkafka_props;
    int delivery_timeout_ms;    /* 0: 30000 */
};

/* Creates a client: an idempotent producer (acks=all), and a Redis connection
 * made lazily on first use. Returns NULL with err set. */
struct atc_client *atc_client_new(const struct atc_client_opts *opts,
                                  char *err, size_t errlen);
void atc_client_destroy(struct atc_client *c); /* accepts NULL; flushes */

/* Generates a fresh UUIDv7 as text into buf (at least 37 bytes). */
void atc_uuid7(char *buf, size_t buflen);

/* Submits job. When job->id is NULL a UUIDv7 is used. submitted_ms is set when 0.
 * Writes status=queued to Redis where it can (best effort; a Redis that cannot be
 * reached does not fail the submit). Returns 0 once the broker acknowledged the
 * message, with the id in id_out; or ATC_EINVAL (the job breaks a rule),
 * ATC_ECONN / ATC_ETIMEDOUT (not delivered). */
int atc_client_submit(struct atc_client *c, const struct atc_job *job,
                      const char *traceparent, char *id_out, size_t idlen,
                      char *err, size_t errlen);

/* Like atc_client_submit, with the message value already encoded (sent as is). */
int atc_client_submit_raw(struct atc_client *c, const char *key, const void *value,
                          size_t len, char *err, size_t errlen);

/* Reads a result: 0 with *out set, ATC_ENOTFOUND, or ATC_ECONN. */
int atc_client_get(struct atc_client *c, const char *id, struct atc_result **out,
                   char *err, size_t errlen);

/* Waits until the result is final (timeout_s 0: forever). 0 with *out set;
 * ATC_ETIMEDOUT with *out the current result or NULL; ATC_ECONN. */
int atc_client_wait(struct atc_client *c, const char *id, double timeout_s,
                    struct atc_result **out, char *err, size_t errlen);

/* How long atc_client_cancel waits for the final cancelled result. */
#define ATC_CLIENT_CANCEL_WAIT_S 5.0

/* Cancels job id (atc_results_cancel with the default TTL): sets the cancel
 * mark and the nudge the workers read, then waits up to
 * ATC_CLIENT_CANCEL_WAIT_S for the final result. *outcome is one of
 * ATC_CANCEL_ALREADY_FINAL (nothing to cancel, or it finished first),
 * ATC_CANCEL_DONE (now final, cancelled: a queued job never ran, a running
 * one was stopped and its sandbox deleted), ATC_CANCEL_REQUESTED (asked, not
 * final within the wait: a running job's worker stops it; a queued one ends
 * cancelled without running once a worker reads the nudge or consumes it -
 * wait for it with atc_client_wait), ATC_CANCEL_UNKNOWN (no result and no
 * queued mark: marked cancelled so it never runs). Returns 0, ATC_EINVAL (not
 * a job id) or ATC_ECONN/ATC_EIO/ATC_EAUTH. */
int atc_client_cancel(struct atc_client *c, const char *id, int *outcome,
                      char *err, size_t errlen);

/* atc_client_cancel waiting up to wait_s (0: not at all; then a job not
 * final is ATC_CANCEL_REQUESTED) for the final result. */
int atc_client_cancel_wait(struct atc_client *c, const char *id, double wait_s, int *outcome,
                           char *err, size_t errlen);

#endif
