/* dlq.c: the dead-letter topic: records encoded with msgpack-c, produced with an
 * idempotent producer, each send waiting for its own delivery report. */
#include "dlq.h"

#include <msgpack.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s ? s : "");
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s ? s : "", n);
}

int dlq_encode(const struct dlq_record *r, char **buf, size_t *len)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int cut = r->original_full_len > r->original_len;
    msgpack_pack_map(&pk, cut ? 11 : 9);
    pack_str(&pk, "v");
    msgpack_pack_uint32(&pk, 1);
    pack_str(&pk, "reason");
    pack_str(&pk, r->reason);
    pack_str(&pk, "error");
    pack_str(&pk, r->error);
    pack_str(&pk, "worker");
    pack_str(&pk, r->worker);
    pack_str(&pk, "ts_ms");
    msgpack_pack_uint64(&pk, r->ts_ms);
    pack_str(&pk, "topic");
    pack_str(&pk, r->topic);
    pack_str(&pk, "partition");
    msgpack_pack_int32(&pk, r->partition);
    pack_str(&pk, "offset");
    msgpack_pack_int64(&pk, r->offset);
    pack_str(&pk, "original");
    msgpack_pack_bin(&pk, r->original_len);
    msgpack_pack_bin_body(&pk, r->original, r->original_len);
    if (cut) {
        pack_str(&pk, "original_len");
        msgpack_pack_uint64(&pk, r->original_full_len);
        pack_str(&pk, "original_truncated");
        msgpack_pack_true(&pk);
    }
    if (!sb.data) {
        msgpack_sbuffer_destroy(&sb);
        return ATC_ENOMEM;
    }
    *buf = sb.data;
    *len = sb.size;
    return 0;
}

/* Room for the record's other fields around the original. */
#define DLQ_RECORD_OVERHEAD (64 * 1024)
/* What is left of an original the broker refuses even at the job size cap. */
#define DLQ_ORIGINAL_FALLBACK (64 * 1024)

struct dlq {
    size_t max_original;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

/* One send's wait state, passed as the message opaque. */
struct dlq_wait {
    int done;
    rd_kafka_resp_err_t err;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct dlq *d = opaque;
    struct dlq_wait *w = m->_private;

    pthread_mutex_lock(&d->lock);
    w->err = m->err;
    w->done = 1;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

struct dlq *dlq_new(rd_kafka_conf_t *conf, const char *topic, size_t max_original, char *err,
                    size_t errlen)
{
    char val[32];
    size_t vlen = sizeof(val);

    struct dlq *d = calloc(1, sizeof(*d));
    if (!d) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    d->max_original = max_original;
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    /* librdkafka's default cap (1,000,000 bytes) is below the largest job. */
    unsigned long long max_msg = (unsigned long long)max_original + DLQ_RECORD_OVERHEAD;
    if (max_msg < 1000000)
        max_msg = 1000000;
    if (max_msg > 1000000000)
        max_msg = 1000000000;
    snprintf(val, sizeof(val), "%llu", max_msg);
    int ok = rd_kafka_conf_set(conf, "message.max.bytes", val, err, errlen) == RD_KAFKA_CONF_OK;
    /* A send waits for its report; 5 min (the default) is too long to hold a
     * job thread that a shutdown may want back. Retries are the caller's. */
    /* (A topic property: set by hand only in the default topic conf.) */
    rd_kafka_topic_conf_t *tc = rd_kafka_conf_get_default_topic_conf(conf);
    int user_set = tc != NULL &&
                   rd_kafka_topic_conf_get(tc, "message.timeout.ms", val, &vlen) ==
                       RD_KAFKA_CONF_OK &&
                   strcmp(val, "300000") != 0;
    if (ok && !user_set)
        ok = rd_kafka_conf_set(conf, "message.timeout.ms", "30000", err, errlen) ==
             RD_KAFKA_CONF_OK;
    if (!ok || rd_kafka_conf_set(conf, "enable.idempotence", "true", err, errlen) !=
                   RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        dlq_destroy(d);
        return NULL;
    }
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
    if (!d->rk) {
        rd_kafka_conf_destroy(conf);
        dlq_destroy(d);
        return NULL;
    }
    d->rkt = rd_kafka_topic_new(d->rk, topic, NULL);
    if (!d->rkt) {
        snprintf(err, errlen, "dead-letter topic %s: %s", topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        dlq_destroy(d);
        return NULL;
    }
    return d;
}

void dlq_destroy(struct dlq *d)
{
    if (!d)
        return;
    if (d->rk)
        rd_kafka_flush(d->rk, 5000);
    if (d->rkt)
        rd_kafka_topic_destroy(d->rkt);
    if (d->rk)
        rd_kafka_destroy(d->rk);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* Errors no retry cures: the topic is missing or not ours to write, or the
 * record is refused as it is. ATC_EINVAL for those; timeouts and the rest
 * (a broker away, a queue full) may pass. */
static int dlq_code(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
        return ATC_ETIMEDOUT;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        return ATC_EINVAL;
    default:
        return ATC_ECONN;
    }
}

/* One produce and the wait for its report. */
static int dlq_send_once(struct dlq *d, const char *key, const struct dlq_record *r,
                         rd_kafka_resp_err_t *kerr, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    struct dlq_wait w = {0};
    int rc;

    *kerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    if ((rc = dlq_encode(r, &buf, &len)) != 0) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    if (rd_kafka_produce(d->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_FREE, buf, len, key,
                         key ? strlen(key) : 0, &w) != 0) {
        *kerr = rd_kafka_last_error();
        snprintf(err, errlen, "dead-letter produce: %s", rd_kafka_err2str(*kerr));
        free(buf);
        return dlq_code(*kerr);
    }
    /* Several threads may wait at once: whoever polls serves every delivery
     * report, and each waiter looks only at its own flag. message.timeout.ms
     * bounds the wait, and the report must arrive before w leaves the stack. */
    for (;;) {
        pthread_mutex_lock(&d->lock);
        int done = w.done;
        pthread_mutex_unlock(&d->lock);
        if (done)
            break;
        rd_kafka_poll(d->rk, 50);
    }
    if (w.err) {
        *kerr = w.err;
        snprintf(err, errlen, "dead-letter delivery: %s", rd_kafka_err2str(w.err));
        return dlq_code(w.err);
    }
    return 0;
}

int dlq_send(struct dlq *d, const char *key, const struct dlq_record *r, char *err, size_t errlen)
{
    struct dlq_record cut = *r;
    rd_kafka_resp_err_t kerr;

    if (cut.original_full_len < cut.original_len)
        cut.original_full_len = cut.original_len;
    if (cut.original_len > d->max_original)
        cut.original_len = d->max_original;
    int rc = dlq_send_once(d, key, &cut, &kerr, err, errlen);
    if ((kerr == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
         kerr == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE) &&
        cut.original_len > DLQ_ORIGINAL_FALLBACK) {
        cut.original_len = DLQ_ORIGINAL_FALLBACK;
        rc = dlq_send_once(d, key, &cut, &kerr, err, errlen);
    }
    return rc;
}
