/* metrics.h: the worker's Prometheus metrics (every name prefixed atc_), kept
 * in memory and rendered in the text exposition format. Thread-safe. */
#ifndef ATC_WORKER_METRICS_H
#define ATC_WORKER_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metrics_phase {
    METRICS_PHASE_CREATE,
    METRICS_PHASE_UPLOAD,
    METRICS_PHASE_INSTALL,
    METRICS_PHASE_TEST,
    METRICS_PHASE_DELETE,
    METRICS_PHASE_JOB, /* the whole job */
    METRICS_PHASES
};

void metrics_init(void);

/* A job ended with status and reason (both copied on first sight). */
void metrics_job_finished(const char *status, const char *reason);
/* A duration observed for a phase, in milliseconds. */
void metrics_observe_ms(enum metrics_phase phase, long ms);
void metrics_inflight_add(int delta);
/* Messages fetched and held for the job threads, not started yet. */
void metrics_set_waiting(long long n);
void metrics_count(const char *counter); /* "retries", "redis_errors", "dlq_records",
                                          * "duplicates_skipped", "sandboxes_reaped",
                                          * "kafka_errors", "messages_received" */
/* A partition's consumer lag, from librdkafka's statistics. */
void metrics_set_lag(const char *topic, int32_t partition, int64_t lag);
void metrics_clear_lag(void);
/* atc_partitions_not_fetching: assigned partitions not fetching for a minute. */
void metrics_set_not_fetching(long long n);
/* A call to the sandbox service: endpoint label and HTTP status (0: none).
 * A create answered 2xx adds one to atc_sandboxes_live, a delete answered 2xx
 * takes one off (a 404 does not: whoever deleted it counted that). Summed
 * over the fleet, that is what lives. */
void metrics_sandbox_call(const char *endpoint, long status);

/* The reaper's sweep deleted (2xx) a sandbox some other, likely dead, worker
 * made: that delete took one off atc_sandboxes_live that this worker never
 * added, and this puts it back. */
void metrics_sandbox_not_ours(void);

/* The worker's state, set by the main loop: its ATC_CONCURRENCY, whether it is
 * ready (in its group, Redis answering, not stopping) and whether the circuit
 * breaker in front of the sandbox service is open. */
void metrics_set_state(long long concurrency, int ready, int breaker_open);

/* Renders everything; *out is malloc'd (caller frees). 0 or -1. */
int metrics_render(char **out, size_t *len);

/* Escapes a label value for the Prometheus text format (backslash, double
 * quote, newline) into out[0..outlen), cut before an escape that does not fit. */
void metrics_label_escape(const char *in, char *out, size_t outlen);

#endif
