/* toolbox.h: daytona-local's toolbox, the routes under /toolbox/<id>/ that
 * the daemon inside a real sandbox serves (files and processes). */
#ifndef DL_TOOLBOX_H
#define DL_TOOLBOX_H

#include "server.h"

/* Answers r, whose url starts with "/toolbox/" (auth and faults already checked). */
enum MHD_Result dl_toolbox_handle(struct dl_req *r);

/* Counters for /_local/stats. */
void dl_toolbox_stats(json_t *obj);

#endif
