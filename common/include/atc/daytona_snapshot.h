/* daytona_snapshot.h: the snapshot calls of the Daytona client (/snapshots, see
 * shared/daytona-snapshots.md §1), on a handle of atc/daytona.h. Same error
 * codes and err sentences as the sandbox calls; use a handle from one thread
 * at a time. */
#ifndef ATC_DAYTONA_SNAPSHOT_H
#define ATC_DAYTONA_SNAPSHOT_H

#include <stddef.h>
#include "atc/daytona.h"

struct atc_snapshot {
    char id[128];
    char name[256];
    char state[32];             /* pending, building, pulling, active, inactive,
                                 * error, build_failed, removing */
    char error_reason[8192];    /* a build's output, cut to fit; "" if none */
    long long last_used_ms;     /* lastUsedAt, ms since the epoch; 0 if unknown */
    long long created_ms;
};

/* POST /snapshots {name, buildInfo: {dockerfileContent}}. *out receives the
 * snapshot as returned (pending, usually). A 409 (the name exists) is
 * ATC_ECONFLICT; a quota or validation refusal ATC_EPROTO (the server's
 * sentence in err); 403 ATC_EAUTH. */
int atc_daytona_snapshot_create(struct atc_daytona *d, const char *name, const char *dockerfile,
                                struct atc_snapshot *out, char *err, size_t errlen);

/* GET /snapshots/{id or name}; ATC_ENOTFOUND when there is none. */
int atc_daytona_snapshot_get(struct atc_daytona *d, const char *id_or_name,
                             struct atc_snapshot *out, char *err, size_t errlen);

/* DELETE /snapshots/{id} (an id: the API refuses names). A 404 counts as success. */
int atc_daytona_snapshot_delete(struct atc_daytona *d, const char *id, char *err, size_t errlen);

/* POST /snapshots/{id}/activate (an inactive one becomes usable again). */
int atc_daytona_snapshot_activate(struct atc_daytona *d, const char *id, char *err,
                                  size_t errlen);

/* GET /snapshots?name=<filter>, every page (at most 50 of 200). *items is
 * malloc'd (caller frees), *nitems its count. name may be NULL. */
int atc_daytona_snapshot_list(struct atc_daytona *d, const char *name,
                              struct atc_snapshot **items, size_t *nitems, char *err,
                              size_t errlen);

#endif
