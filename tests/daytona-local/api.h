/* api.h: daytona-local's control plane, the routes under /api. */
#ifndef DL_API_H
#define DL_API_H

#include "server.h"

/* Answers r, whose url starts with "/api" (auth and faults already checked). */
enum MHD_Result dl_api_handle(struct dl_req *r);

#endif
