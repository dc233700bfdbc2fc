/* faults.h: injected faults (one-shot queue and random rate) and the
 * sliding-window sandbox-create limit of daytona-local. Thread-safe. */
#ifndef DL_FAULTS_H
#define DL_FAULTS_H

#include <stddef.h>
#include <jansson.h>

enum dl_fault_kind {
    DL_FAULT_NONE = 0,
    DL_FAULT_STATUS,    /* answer with an HTTP error status */
    DL_FAULT_DROP,      /* close the connection without a response */
    DL_FAULT_HANG,      /* hold the request for hang_ms, then drop it */
    DL_FAULT_DROP_AFTER, /* do what the request asks, then close without the response */
};

struct dl_fault {
    enum dl_fault_kind kind;
    int status;         /* for DL_FAULT_STATUS */
    long retry_after;   /* seconds, for 429 */
    long hang_ms;       /* for DL_FAULT_HANG; 0 = the server's --hang-ms */
};

/* Sets the random fault rate (0..1) and the kinds to draw from, a comma list
 * of 429, 500, 502, 503, drop, hang. Returns 0, or -1 with a sentence in err. */
int dl_faults_configure(double rate, const char *kinds, unsigned seed, char *err, size_t errlen);

/* Queues one-shot faults from {"next":[{path_prefix?, method?, status?|kind?,
 * retry_after?, hang_ms?}, ...]}. Returns how many were queued, or -1 with err. */
int dl_faults_enqueue(const json_t *root, char *err, size_t errlen);

/* Drops every queued fault. */
void dl_faults_clear(void);

/* The queued faults, as a new JSON array. */
json_t *dl_faults_pending(void);

/* Decides the fault for a request: the first queued fault that matches
 * (taken off the queue), else a random one at the configured rate. Returns 1
 * and fills *out when there is a fault, else 0. */
int dl_faults_pick(const char *method, const char *url, struct dl_fault *out);

/* The sliding-window create limit: returns 1 when a create may go ahead (and
 * counts it), else 0 with the seconds until one may in *retry_after. */
int dl_faults_create_allowed(long per_min, long *retry_after);

/* Counts of faults injected and creates refused, for /_local/stats. */
void dl_faults_stats(json_t *obj);

/* Counts a fault as injected (server.c calls it when it applies one). */
void dl_faults_count_injected(void);

/* Frees the queue at exit. */
void dl_faults_cleanup(void);

#endif
