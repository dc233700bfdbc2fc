/* fake_worker.c: the dead-letter sender and the reaper's hand-overs, as the
 * job threads see them (see fakes.h). */
#include "fakes.h"

#include <stdio.h>
#include <string.h>

#include "atc/error.h"
#include "dlq.h"
#include "reaper.h"

struct fake_worker fake_worker;

void fake_worker_reset(void)
{
    memset(&fake_worker, 0, sizeof(fake_worker));
    fake_worker.reaper_takes = 1;
}

int dlq_send(struct dlq *d, const char *key, const struct dlq_record *r, char *err,
             size_t errlen)
{
    (void)d;
    (void)key;
    int rc = fake_scripted(fake_worker.dlq_rc, fake_worker.ndlq_rc, fake_worker.dlq_sends++);
    if (rc != 0) {
        snprintf(err, errlen, "fake failure (%s)", atc_strerror(rc));
        return rc;
    }
    snprintf(fake_worker.dlq_reason, sizeof(fake_worker.dlq_reason), "%s", r->reason);
    fake_worker.dlq_order = ++fake_results.order;
    return 0;
}

int reaper_defer_delete(struct reaper *r, const char *sandbox_id)
{
    (void)r;
    if (fake_worker.ndeferred < 8)
        snprintf(fake_worker.deferred[fake_worker.ndeferred++], sizeof(fake_worker.deferred[0]),
                 "%s", sandbox_id);
    return fake_worker.reaper_takes;
}

int reaper_delete_now(struct reaper *r, const char *sandbox_id, const char *why)
{
    (void)r;
    (void)why;
    if (fake_worker.ndeleted_now < 8)
        snprintf(fake_worker.deleted_now[fake_worker.ndeleted_now++],
                 sizeof(fake_worker.deleted_now[0]), "%s", sandbox_id);
    return fake_worker.reaper_takes;
}
