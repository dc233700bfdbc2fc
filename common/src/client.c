/* client.c: the producer API: an idempotent Kafka producer that submits jobs and
 * waits for each delivery report, plus reading and waiting for results in Redis. */
#include "atc/clock.h"
#include "atc/client.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "atc/error.h"
#include "atc/kafka.h"
#include "atc/log.h"

#define CLIENT_DEFAULT_REDIS_URL "redis://127.0.0.1:6379/0"
#define CLIENT_DEFAULT_DELIVERY_MS 30000
#define CLIENT_REDIS_TIMEOUT_MS 1000
/* Extra time, past message.timeout.ms, that submit waits for librdkafka's own
 * timeout report before it gives the message up. */
#define CLIENT_DR_MARGIN_MS 5000
#define CLIENT_POLL_MS 100
/* Room for the largest job a worker accepts (4 MiB by default) plus the
 * message's own overhead; the broker's limit still applies. */
#define CLIENT_MESSAGE_MAX_BYTES "5242880"

/* The fate of one message, filled by the delivery report callback. Owned by
 * submit until it gives up waiting (abandoned = 1): then by the callback. */
struct delivery {
    int done;
    int abandoned;
    rd_kafka_resp_err_t err;
};

struct atc_client {
    rd_kafka_t *rk;
    char *topic;
    char *redis_url;
    struct atc_results *results;   /* NULL until first used */
    int wait_ms;                   /* message.timeout.ms + margin */
    int message_timeout_ms;
    char last_error[256];          /* last error librdkafka reported, for context */
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* ---- UUIDv7 (RFC 9562, with a 12-bit counter in rand_a for monotonicity) ---- */

static pthread_mutex_t uuid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t uuid_last_ms;
static uint16_t uuid_counter;

static void fill_random(unsigned char *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < len) {
        /* No getrandom: weak but unique enough for ids; never for secrets. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_sec;
        for (size_t i = got; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (unsigned char)x;
        }
    }
}

void atc_uuid7(char *buf, size_t buflen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    uint64_t ms;
    uint16_t counter;
    size_t o = 0;

    if (buf == NULL || buflen == 0)
        return;
    if (buflen < 37) {
        buf[0] = '\0';
        return;
    }
    fill_random(b, sizeof(b));

    /* Ids from one process sort in the order they were made: within the same
     * millisecond (or when the clock steps back) the counter goes up; when it
     * would overflow, the timestamp moves on by one. */
    pthread_mutex_lock(&uuid_lock);
    ms = atc_clock_wall_ms();
    if (ms <= uuid_last_ms) {
        ms = uuid_last_ms;
        if (uuid_counter >= 0xfff) {
            ms++;
            uuid_counter = (uint16_t)(b[6] & 0x07) << 8 | b[7];
        } else {
            uuid_counter++;
        }
    } else {
        /* Start low enough in the 12-bit space to leave room for increments. */
        uuid_counter = (uint16_t)(b[6] & 0x07) << 8 | b[7];
    }
    uuid_last_ms = ms;
    counter = uuid_counter;
    pthread_mutex_unlock(&uuid_lock);

    b[0] = (unsigned char)(ms >> 40);
    b[1] = (unsigned char)(ms >> 32);
    b[2] = (unsigned char)(ms >> 24);
    b[3] = (unsigned char)(ms >> 16);
    b[4] = (unsigned char)(ms >> 8);
    b[5] = (unsigned char)ms;
    b[6] = (unsigned char)(0x70 | ((counter >> 8) & 0x0f));
    b[7] = (unsigned char)(counter & 0xff);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));

    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[o++] = '-';
        buf[o++] = hex[b[i] >> 4];
        buf[o++] = hex[b[i] & 0x0f];
    }
    buf[o] = '\0';
}

/* ---- librdkafka callbacks (all served on the caller's thread by poll) ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct delivery *d = m->_private;

    (void)rk;
    (void)opaque;
    if (d == NULL)
        return;
    if (d->abandoned) {
        free(d);
        return;
    }
    d->done = 1;
    d->err = m->err;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct atc_client *c = opaque;

    (void)rk;
    snprintf(c->last_error, sizeof(c->last_error), "%s", reason);
    ATC_DEBUG(NULL, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* The client reports what matters through its return values; librdkafka's
     * own lines are detail, kept for debugging. */
    if (level <= 2)
        ATC_WARN(NULL, "kafka %s: %s", fac, buf);
    else
        ATC_DEBUG(NULL, "kafka %s: %s", fac, buf);
}

/* ---- lifetime ---- */

static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                    char *err, size_t errlen)
{
    char errstr[256];
    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property '%s': %s", name, errstr);
        return ATC_EINVAL;
    }
    return 0;
}

struct atc_client *atc_client_new(const struct atc_client_opts *opts,
                                  char *err, size_t errlen)
{
    struct atc_client_opts none = {0};
    struct atc_client *c = NULL;
    struct atc_client *result = NULL;
    rd_kafka_conf_t *conf = NULL;
    char errstr[512];
    char num[32];
    char value[32];
    size_t vlen = sizeof(value);
    const char *brokers;
    int delivery_ms;

    if (opts == NULL)
        opts = &none;
    brokers = opts->brokers != NULL ? opts->brokers
                                    : atc_env_or("ATC_BROKERS", ATC_DEFAULT_BROKERS);
    delivery_ms = opts->delivery_timeout_ms > 0 ? opts->delivery_timeout_ms
                                                : CLIENT_DEFAULT_DELIVERY_MS;

    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c->topic = dup_str(opts->topic != NULL ? opts->topic
                                           : atc_env_or("ATC_JOBS_TOPIC", ATC_DEFAULT_JOBS_TOPIC));
    c->redis_url = dup_str(opts->redis_url != NULL
                               ? opts->redis_url
                               : atc_env_or("ATC_REDIS_URL", CLIENT_DEFAULT_REDIS_URL));
    if (c->topic == NULL || c->redis_url == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }

    conf = rd_kafka_conf_new();
    snprintf(num, sizeof(num), "%d", delivery_ms);
    /* Our defaults first, so that ATC_KAFKA_* and -X can override any of them. */
    if (conf_set(conf, "enable.idempotence", "true", err, errlen) != 0 ||
        conf_set(conf, "acks", "all", err, errlen) != 0 ||
        conf_set(conf, "message.timeout.ms", num, err, errlen) != 0 ||
        conf_set(conf, "message.max.bytes", CLIENT_MESSAGE_MAX_BYTES, err, errlen) != 0 ||
        conf_set(conf, "log.queue", "true", err, errlen) != 0)
        goto out;
    if (atc_kafka_conf_apply(conf, brokers, opts->kafka_props, opts->nkafka_props, err,
                             errlen) != 0)
        goto out;
    if (rd_kafka_conf_get(conf, "message.timeout.ms", value, &vlen) == RD_KAFKA_CONF_OK) {
        long v = strtol(value, NULL, 10);
        if (v > 0 && v < INT32_MAX - CLIENT_DR_MARGIN_MS)
            delivery_ms = (int)v;
    }
    c->message_timeout_ms = delivery_ms;
    c->wait_ms = delivery_ms + CLIENT_DR_MARGIN_MS;
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_opaque(conf, c);

    c->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (c->rk == NULL) {
        snprintf(err, errlen, "cannot create the kafka producer: %s", errstr);
        goto out;
    }
    conf = NULL; /* owned by rk */
    /* Logs go to the main queue, served by our own rd_kafka_poll calls. */
    rd_kafka_set_log_queue(c->rk, NULL);
    result = c;
    c = NULL;

out:
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    atc_client_destroy(c);
    return result;
}

void atc_client_destroy(struct atc_client *c)
{
    if (c == NULL)
        return;
    if (c->rk != NULL) {
        /* Messages still in flight belong to submits that gave up on them; drop
         * them and serve their reports so their records are freed. */
        rd_kafka_purge(c->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(c->rk, 1000);
        rd_kafka_poll(c->rk, 0);
        rd_kafka_destroy(c->rk);
    }
    atc_results_destroy(c->results);
    free(c->redis_url);
    free(c->topic);
    free(c);
}

/* ---- producing ---- */

static int map_delivery_error(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        return ATC_ETIMEDOUT;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        return ATC_ETOOBIG;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return ATC_EINVAL;
    default:
        return ATC_ECONN;
    }
}

/* Produces one message and waits for its delivery report. */
static int produce(struct atc_client *c, const char *key, const void *value, size_t len,
                   const char *traceparent, char *err, size_t errlen)
{
    rd_kafka_vu_t vus[6];
    size_t n = 0;
    struct delivery *d = NULL;
    rd_kafka_error_t *kerr = NULL;
    int64_t deadline = atc_clock_mono_ms() + c->wait_ms;
    int rc = 0;

    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[n++].u.cstr = c->topic;
    vus[n].vtype = RD_KAFKA_VTYPE_KEY;
    vus[n].u.mem.ptr = (void *)key;
    vus[n++].u.mem.size = strlen(key);
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n].u.mem.ptr = (void *)value;
    vus[n++].u.mem.size = len;
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vus[n++].u.ptr = d;
    if (traceparent != NULL && *traceparent != '\0') {
        vus[n].vtype = RD_KAFKA_VTYPE_HEADER;
        vus[n].u.header.name = "traceparent";
        vus[n].u.header.val = traceparent;
        vus[n++].u.header.size = (ssize_t)strlen(traceparent);
    }

    for (;;) {
        kerr = rd_kafka_produceva(c->rk, vus, n);
        if (kerr == NULL)
            break;
        if (rd_kafka_error_code(kerr) != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
            atc_clock_mono_ms() >= deadline) {
            rd_kafka_resp_err_t code = rd_kafka_error_code(kerr);
            snprintf(err, errlen, "cannot queue the message for topic '%s': %s", c->topic,
                     rd_kafka_error_string(kerr));
            rc = code == RD_KAFKA_RESP_ERR__QUEUE_FULL ? ATC_ETIMEDOUT : map_delivery_error(code);
            goto out;
        }
        rd_kafka_error_destroy(kerr);
        kerr = NULL;
        rd_kafka_poll(c->rk, CLIENT_POLL_MS);
    }

    while (!d->done) {
        int64_t left = deadline - atc_clock_mono_ms();
        if (left <= 0)
            break;
        rd_kafka_flush(c->rk, (int)(left < CLIENT_POLL_MS ? left : CLIENT_POLL_MS));
        rd_kafka_poll(c->rk, 0);
    }
    if (!d->done) {
        /* librdkafka did not even time it out: leave the record to the report. */
        d->abandoned = 1;
        d = NULL;
        snprintf(err, errlen, "message not delivered within %d ms%s%s", c->message_timeout_ms,
                 c->last_error[0] ? ": " : "", c->last_error);
        rc = ATC_ETIMEDOUT;
        goto out;
    }
    if (d->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (c->last_error[0] != '\0')
            snprintf(err, errlen, "message not delivered to topic '%s': %s (last broker error: %s)",
                     c->topic, rd_kafka_err2str(d->err), c->last_error);
        else
            snprintf(err, errlen, "message not delivered to topic '%s': %s", c->topic,
                     rd_kafka_err2str(d->err));
        rc = map_delivery_error(d->err);
        goto out;
    }

out:
    if (kerr != NULL)
        rd_kafka_error_destroy(kerr);
    free(d);
    return rc;
}

/* Opens the Redis connection on first use. 0 or ATC_ECONN (with err). */
static int ensure_results(struct atc_client *c, char *err, size_t errlen)
{
    if (c->results != NULL)
        return 0;
    c->results = atc_results_new(c->redis_url, CLIENT_REDIS_TIMEOUT_MS, err, errlen);
    return c->results != NULL ? 0 : ATC_ECONN;
}

int atc_client_submit(struct atc_client *c, const struct atc_job *job,
                      const char *traceparent, char *id_out, size_t idlen,
                      char *err, size_t errlen)
{
    struct atc_job copy;
    char idbuf[40];
    char *buf = NULL;
    size_t len = 0;
    char rerr[256];
    int rc;

    if (c == NULL || job == NULL) {
        snprintf(err, errlen, "no client or no job");
        return ATC_EINVAL;
    }
    copy = *job;
    if (copy.v == 0)
        copy.v = ATC_JOB_VERSION;
    if (copy.id == NULL) {
        atc_uuid7(idbuf, sizeof(idbuf));
        copy.id = idbuf;
    }
    if (copy.submitted_ms == 0)
        copy.submitted_ms = atc_clock_wall_ms();
    if (id_out != NULL && idlen <= strlen(copy.id)) {
        snprintf(err, errlen, "id buffer too small for the job id");
        return ATC_EINVAL;
    }

    rc = atc_job_encode(&copy, &buf, &len, err, errlen);
    if (rc != 0)
        goto out;
    rc = produce(c, copy.id, buf, len, traceparent, err, errlen);
    if (rc != 0)
        goto out;
    if (id_out != NULL)
        snprintf(id_out, idlen, "%s", copy.id);

    /* The message is on the broker: the job is submitted whatever Redis says. */
    if (ensure_results(c, rerr, sizeof(rerr)) != 0 ||
        atc_results_mark_queued_group(c->results, copy.id, copy.submitted_ms, copy.group, rerr,
                                      sizeof(rerr)) != 0)
        ATC_DEBUG(copy.id, "queued mark not written: %s", rerr);

out:
    free(buf);
    return rc;
}

int atc_client_submit_raw(struct atc_client *c, const char *key, const void *value,
                          size_t len, char *err, size_t errlen)
{
    if (c == NULL || key == NULL || (value == NULL && len > 0)) {
        snprintf(err, errlen, "no client, key or value");
        return ATC_EINVAL;
    }
    return produce(c, key, value, len, NULL, err, errlen);
}

int atc_client_get(struct atc_client *c, const char *id, struct atc_result **out,
                   char *err, size_t errlen)
{
    int rc;

    *out = NULL;
    rc = ensure_results(c, err, errlen);
    if (rc != 0)
        return rc;
    return atc_results_get(c->results, id, out, err, errlen);
}

int atc_client_wait(struct atc_client *c, const char *id, double timeout_s,
                    struct atc_result **out, char *err, size_t errlen)
{
    int rc;

    *out = NULL;
    rc = ensure_results(c, err, errlen);
    if (rc != 0)
        return rc;
    return atc_results_wait(c->results, id, timeout_s, out, err, errlen);
}

int atc_client_cancel(struct atc_client *c, const char *id, int *outcome,
                      char *err, size_t errlen)
{
    return atc_client_cancel_wait(c, id, ATC_CLIENT_CANCEL_WAIT_S, outcome, err, errlen);
}

int atc_client_cancel_wait(struct atc_client *c, const char *id, double wait_s, int *outcome,
                           char *err, size_t errlen)
{
    int rc;

    if (outcome != NULL)
        *outcome = ATC_CANCEL_ALREADY_FINAL;
    if (c == NULL || id == NULL) {
        snprintf(err, errlen, "no client or no job id");
        return ATC_EINVAL;
    }
    rc = ensure_results(c, err, errlen);
    if (rc != 0)
        return rc;
    return atc_results_cancel(c->results, id, 0, wait_s, outcome, err, errlen);
}
