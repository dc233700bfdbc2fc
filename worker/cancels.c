/* cancels.c: the cancel nudges (cancels.h). */
#include "cancels.h"

#include "atc/error.h"
#include "atc/log.h"

#include <stdio.h>

/* Nudges read per XREAD, and XREADs per poll: a burst larger than that is
 * read on the next polls. */
#define CANCELS_BATCH 128
#define CANCELS_ROUNDS 4
/* How far back a worker starts: a cancel sent this long before it started is
 * still acted on. */
#define CANCELS_LOOKBACK_MS 60000

void cancels_init(struct cancels *c, long long now_ms, long ttl_s)
{
    long long from = now_ms > CANCELS_LOOKBACK_MS ? now_ms - CANCELS_LOOKBACK_MS : 0;

    snprintf(c->last, sizeof(c->last), "%lld-0", from);
    c->failing = 0;
    c->ttl_s = ttl_s;
}

size_t cancels_poll(struct cancels *c, struct atc_results *r)
{
    struct atc_stream_entry e[CANCELS_BATCH];
    char err[512];
    size_t total = 0, n = CANCELS_BATCH;

    for (int round = 0; round < CANCELS_ROUNDS && n == CANCELS_BATCH; round++) {
        if (atc_results_cancel_nudges(r, c->last, e, CANCELS_BATCH, &n, err, sizeof(err)) != 0) {
            if (!c->failing)
                ATC_WARN(NULL, "reading the cancel nudges: %s", err);
            c->failing = 1;
            return total;
        }
        if (c->failing)
            ATC_INFO(NULL, "reading the cancel nudges again");
        c->failing = 0;
        for (size_t i = 0; i < n; i++) {
            int outcome = ATC_CANCEL_NOT_ASKED;
            int rc = e[i].id[0] == '\0' ? 0 /* not a nudge of ours */
                                         : atc_results_cancel_finalise(r, e[i].id, c->ttl_s,
                                                                       &outcome, err,
                                                                       sizeof(err));
            if (rc == ATC_ECONN) {
                /* Redis is gone: this nudge again on a later poll. */
                ATC_WARN(e[i].id, "the cancel's final write failed: %s", err);
                c->failing = 1;
                return total + i;
            }
            if (rc != 0)
                /* The mark stays: a worker consuming the job still ends it
                 * cancelled, and a running one is still stopped. */
                ATC_WARN(e[i].id, "the cancel's final write failed: %s", err);
            else if (outcome == ATC_CANCEL_DONE || outcome == ATC_CANCEL_UNKNOWN)
                ATC_INFO(e[i].id, "cancelled before it ran");
            snprintf(c->last, sizeof(c->last), "%s", e[i].sid);
        }
        total += n;
    }
    return total;
}
