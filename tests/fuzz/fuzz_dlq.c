/* fuzz_dlq.c: libFuzzer target for the dead-letter record decoder of `atc replay-dlq`
 * (producer/replay.c) and the job id read from a record. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/job.h"
#include "replay_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct replay_record r;
    char err[256] = "";
    char id[ATC_JOB_ID_MAX + 1];

    if (replay_record_decode(data, size, &r, err, sizeof(err)) != 0) {
        /* A refusal always says why. */
        if (err[0] == '\0')
            abort();
        return 0;
    }
    /* The reason is safe to print; original lies within the record. */
    size_t n = strlen(r.reason);
    if (n == 0 || n >= sizeof(r.reason) || strspn(r.reason, "abcdefghijklmnopqrstuvwxyz"
                                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                            "0123456789_.-") != n)
        abort();
    if (r.original == NULL || r.original_len > size ||
        (r.original_len > 0 && ((const uint8_t *)r.original < data ||
                                (const uint8_t *)r.original + r.original_len > data + size)))
        abort();
    /* The key is the input's tail, as hostile as the rest. */
    size_t klen = size < 16 ? size : 16;
    if (replay_record_job_id(&r, data + size - klen, klen, id) == 0) {
        if (!atc_job_id_valid(id, strlen(id)))
            abort();
    } else if (id[0] != '\0') {
        abort();
    }
    return 0;
}
