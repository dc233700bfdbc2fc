/* snapshots.h: daytona-local's snapshots (/api/snapshots): built from a
 * Dockerfile's pip lines into a directory of their own, once; a sandbox
 * created from one sees its packages read-only. Thread-safe. */
#ifndef DL_SNAPSHOTS_H
#define DL_SNAPSHOTS_H

#include <stddef.h>
#include <jansson.h>

#include "server.h"

struct dl_snapshot;

/* Answers r, whose url starts with "/api/snapshots". */
enum MHD_Result dl_snapshot_handle(struct dl_req *r);

/* For POST /api/sandbox with {"snapshot": ref}: when ref names one of our
 * snapshots (by name or id) and it is active, *out is a new reference
 * (release with dl_snapshot_release) and 0 is returned; 1 when ref names none
 * of ours (a name daytona-local accepts as its default image, as before);
 * -400 with err when it is ours but not active. */
int dl_snapshot_acquire(const char *ref, struct dl_snapshot **out, char *err, size_t errlen);
void dl_snapshot_release(struct dl_snapshot *s); /* accepts NULL */

/* The snapshot's package directory (read-only to sandboxes). */
const char *dl_snapshot_site(const struct dl_snapshot *s);

/* Makes the snapshot's packages importable in sandbox directory dir (its
 * HOME), for uid (-1: the server's): a .pth file in the user site-packages of
 * the interpreter that built them. Returns 0 or -1 with err. */
int dl_snapshot_attach(const struct dl_snapshot *s, const char *dir, long uid, char *err,
                       size_t errlen);

/* Adds snapshots (count) and snapshot_builds (builds completed) to obj. */
void dl_snapshot_stats(json_t *obj);

/* Kills running builds and waits for their threads (at most a few seconds). */
void dl_snapshot_shutdown(void);

#endif
