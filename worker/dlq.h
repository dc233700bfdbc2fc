/* dlq.h: dead-letter records (CONTRACT section 2): encoding, and a producer
 * that returns only once the broker has the record. */
#ifndef ATC_WORKER_DLQ_H
#define ATC_WORKER_DLQ_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

struct dlq_record {
    const char *reason;    /* a documented reason code */
    const char *error;     /* a sentence for a person */
    const char *worker;
    uint64_t ts_ms;
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *original;  /* the message value exactly as received */
    size_t original_len;
    size_t original_full_len; /* > original_len: original is the first
                               * original_len bytes of a message this long */
};

/* Encodes r as the msgpack map {v, reason, error, worker, ts_ms, topic,
 * partition, offset, original}, plus original_len (the message's length) and
 * original_truncated (true) when original is only the message's start. *buf is malloc'd (caller frees). 0 or ATC_ENOMEM. */
int dlq_encode(const struct dlq_record *r, char **buf, size_t *len);

struct dlq;

/* A producer of dead-letter records to topic, sharing conf's settings (conf is
 * consumed). A record carries up to max_original bytes of the original message
 * (the largest job accepted), so message.max.bytes is raised to fit it, and
 * message.timeout.ms is 30 s unless conf sets it. Returns NULL with err set. */
struct dlq *dlq_new(rd_kafka_conf_t *conf, const char *topic, size_t max_original, char *err,
                    size_t errlen);
void dlq_destroy(struct dlq *d); /* accepts NULL; flushes */

/* Produces r with key (may be NULL) and waits for the broker's acknowledgement
 * (bounded by the producer's message.timeout.ms). An original longer than
 * max_original is cut to it; one the producer or the broker still finds too
 * large is sent again cut to 64 KiB (both marked original_truncated).
 * Thread-safe. 0; ATC_ETIMEDOUT or ATC_ECONN (may pass: retry); ATC_EINVAL
 * when no retry cures it (the topic is missing or not writable, the record
 * refused as it is); err set. */
int dlq_send(struct dlq *d, const char *key, const struct dlq_record *r, char *err,
             size_t errlen);

#endif
