/* daytona_priv.h: what the Daytona client's other files (daytona_snapshot.c)
 * need of a handle: its HTTP layer, API URL, request deadline, and the call
 * observer. Private to libatc. */
#ifndef ATC_DAYTONA_PRIV_H
#define ATC_DAYTONA_PRIV_H

#include "atc/daytona.h"
#include "daytona_http.h"

struct atc_dhttp *atc_daytona_http_(struct atc_daytona *d);
const char *atc_daytona_api_url_(const struct atc_daytona *d);
long atc_daytona_request_timeout_ms_(const struct atc_daytona *d);
/* Clears last (status, Retry-After, code) before a call. */
void atc_daytona_reset_last_(struct atc_daytona *d);
/* Tells the handle's on_call observer about the call just made. */
void atc_daytona_observe_(const struct atc_daytona *d, const char *endpoint);

#endif
