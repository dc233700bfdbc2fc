/* daytona_client.c: the worker's Daytona client and its call accounting. */
#include "daytona_client.h"

#include "metrics.h"

/* Every HTTP call to the sandbox service, by endpoint and status. */
static void count_call(void *arg, const char *endpoint, long status)
{
    (void)arg;
    metrics_sandbox_call(endpoint, status);
}

struct atc_daytona *daytona_client_new(const struct worker_settings *cfg, char *err,
                                       size_t errlen)
{
    struct atc_daytona_opts o = {
        .api_url = cfg->daytona_api_url,
        .api_key = cfg->daytona_api_key,
        .target = *cfg->daytona_target ? cfg->daytona_target : NULL,
        .on_call = count_call,
    };
    return atc_daytona_new(&o, err, errlen);
}
