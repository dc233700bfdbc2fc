/* daytona_client.h: the worker's Daytona client: built from the worker's
 * settings, every call it makes counted in the metrics (endpoint and status).
 * The job threads and the reaper each build their own with it. */
#ifndef ATC_WORKER_DAYTONA_CLIENT_H
#define ATC_WORKER_DAYTONA_CLIENT_H

#include <stddef.h>

#include "atc/daytona.h"
#include "settings.h"

/* A client for cfg's API URL, key and target (cfg must outlive it), or NULL
 * with err set. The caller owns it: atc_daytona_destroy. One per thread. */
struct atc_daytona *daytona_client_new(const struct worker_settings *cfg, char *err,
                                       size_t errlen);

#endif
