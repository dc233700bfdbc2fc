/* render.h: a result as text for people, or as one JSON object for scripts,
 * and the exit status a result stands for. */
#ifndef ATC_RENDER_H
#define ATC_RENDER_H

#include <stdio.h>
#include <jansson.h>

#include "atc/results.h"

#define RENDER_EXIT_OK 0       /* submitted, passed, or not final yet */
#define RENDER_EXIT_FAILED 1   /* failed */
#define RENDER_EXIT_USAGE 2    /* bad usage, or a broker or Redis out of reach */
#define RENDER_EXIT_ERROR 3    /* error, timeout, rejected, cancelled */
#define RENDER_EXIT_NORESULT 4 /* no result within the wait, or no such job */

/* The result as a new JSON object (caller owns it: json_decref), with the
 * field names of the hash: counts, times and flags as numbers, `tests` and
 * `labels` decoded from msgpack, everything else as strings (invalid UTF-8
 * replaced by U+FFFD). id is added as "id" unless the hash has one. NULL only
 * when out of memory. */
json_t *render_result_json(const struct atc_result *r, const char *id);

/* Writes the result for a person: status, reason, counts, one line per test,
 * error, then the output. */
void render_result_text(const struct atc_result *r, FILE *out);

/* Writes the result as text or as one line of JSON. 0, or -1 when out of memory. */
int render_result(const struct atc_result *r, const char *id, int json, FILE *out);

/* The exit status for a result's status: 0 passed (and anything not final),
 * 1 failed, 3 error/timeout/rejected/cancelled. */
int render_exit_status(const char *status);

#endif
