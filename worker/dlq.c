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
    msgpack_pack_map(&pk, 9);
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
    if (!sb.data) {
        msgpack_sbuffer_destroy(&sb);
        return ATC_ENOMEM;
    }
    *buf = sb.data;
    *len = sb.size;
    return 0;
}

struct dlq {
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

struct dlq *dlq_new(rd_kafka_conf_t *conf, const char *topic, char *err, size_t errlen)
{
    struct dlq *d = calloc(1, sizeof(*d));
    if (!d) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    if (rd_kafka_conf_set(conf, "enable.idempotence", "true", err, errlen) != RD_KAFKA_CONF_OK) {
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

int dlq_send(struct dlq *d, const char *key, const struct dlq_record *r, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    struct dlq_wait w = {0};
    int rc;

    if ((rc = dlq_encode(r, &buf, &len)) != 0) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    if (rd_kafka_produce(d->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_FREE, buf, len, key,
                         key ? strlen(key) : 0, &w) != 0) {
        snprintf(err, errlen, "dead-letter produce: %s", rd_kafka_err2str(rd_kafka_last_error()));
        free(buf);
        return ATC_ECONN;
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
        snprintf(err, errlen, "dead-letter delivery: %s", rd_kafka_err2str(w.err));
        return w.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT ? ATC_ETIMEDOUT : ATC_ECONN;
    }
    return 0;
}
