/* report.h: turning a run's outcome into the result hash of CONTRACT section 4. */
#ifndef ATC_WORKER_REPORT_H
#define ATC_WORKER_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include "atc/job.h"
#include "atc/results.h"
#include "attempt.h"

/* A growing list of fields whose values the list owns. */
struct report_fields {
    struct atc_field *f;
    size_t n, cap;
};

void report_fields_cleanup(struct report_fields *rf);
/* Adds name = value[0..len). 0 or ATC_ENOMEM. */
int report_add(struct report_fields *rf, const char *name, const void *value, size_t len);
int report_add_str(struct report_fields *rf, const char *name, const char *value);
int report_add_int(struct report_fields *rf, const char *name, long long value);

/* Everything a final result carries besides the outcome. */
struct report_meta {
    const struct atc_job *job;
    const char *worker_id;
    const char *traceparent;  /* or NULL */
    int attempt;
    uint64_t started_ms, finished_ms;
};

/* Fills rf with the final result's fields (status excluded: it is passed to the
 * writer apart). 0 or ATC_ENOMEM. */
int report_build_final(struct report_fields *rf, const struct report_meta *m,
                       const struct attempt_outcome *o);

/* Fields of a rejected message: reason, error, worker, timestamps, traceparent. */
int report_build_rejected(struct report_fields *rf, const char *reason, const char *error,
                          const char *worker_id, const char *traceparent, uint64_t now_ms);

/* Encodes labels as a msgpack map; *buf malloc'd. 0 or ATC_ENOMEM. */
int report_pack_labels(const struct atc_kv *labels, size_t n, char **buf, size_t *len);

/* Encodes the side report's lint lists as a msgpack map
 * {tests_without_assert: [...], tests_not_importing_tool: [...]}; *buf malloc'd.
 * 0 or ATC_ENOMEM. */
int report_pack_lint(const struct side_report *side, char **buf, size_t *len);

#endif
