/* replay.c: `atc replay-dlq`: the dead-letter topic read to its current end,
 * its records (replay_record.c) filtered, results reset and the original jobs
 * sent again. */
#include "replay.h"

#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/clock.h"
#include "atc/error.h"
#include "atc/kafka.h"

#define REPLAY_POLL_MS 200
#define REPLAY_GROUP "atc-replay-dlq"

static const char *const skip_names[REPLAY_SKIP_COUNT] = {
    [REPLAY_SKIP_FINAL] = "final",         [REPLAY_SKIP_REJECTED] = "rejected",
    [REPLAY_SKIP_IN_FLIGHT] = "in-flight", [REPLAY_SKIP_CANCEL] = "cancelled",
    [REPLAY_SKIP_NO_ID] = "no-id",         [REPLAY_SKIP_DUPLICATE] = "duplicate",
    [REPLAY_SKIP_TRUNCATED] = "truncated",
};

const char *replay_skip_name(enum replay_skip s)
{
    return s >= 0 && s < REPLAY_SKIP_COUNT ? skip_names[s] : "?";
}

/* ---- the ids seen in one run: a set of strings, open addressing ---- */

struct idset {
    char **slots;
    size_t cap, n;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static void idset_free(struct idset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof(*s));
}

/* Adds id. 1 when it was new, 0 when it was there, -1 out of memory. */
static int idset_add(struct idset *s, const char *id)
{
    if (2 * (s->n + 1) > s->cap) {
        size_t ncap = s->cap == 0 ? 64 : s->cap * 2;
        struct idset grown = {calloc(ncap, sizeof(char *)), ncap, 0};
        if (grown.slots == NULL)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slots[i] == NULL)
                continue;
            size_t j = fnv1a(s->slots[i]) & (ncap - 1);
            while (grown.slots[j] != NULL)
                j = (j + 1) & (ncap - 1);
            grown.slots[j] = s->slots[i];
            grown.n++;
        }
        free(s->slots);
        *s = grown;
    }
    size_t j = fnv1a(id) & (s->cap - 1);
    while (s->slots[j] != NULL) {
        if (strcmp(s->slots[j], id) == 0)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slots[j] = strdup(id);
    if (s->slots[j] == NULL)
        return -1;
    s->n++;
    return 1;
}

/* ---- output ---- */

/* Bytes a terminal would act on become '?'. */
static void text_clean(char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    }
}

/* A JSON string; bytes that are not valid UTF-8 turn the string to ASCII
 * with '?' for every byte above 0x7f. */
static json_t *json_str(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL)
        return j;
    char *copy = strdup(s);
    if (copy == NULL)
        return NULL;
    for (char *p = copy; *p != '\0'; p++) {
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    }
    j = json_string(copy);
    free(copy);
    return j;
}

static void format_when(uint64_t ts_ms, char *buf, size_t buflen)
{
    time_t t = (time_t)(ts_ms / 1000u);
    struct tm tm;
    char day[32];

    if (ts_ms == 0 || gmtime_r(&t, &tm) == NULL ||
        strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        snprintf(buf, buflen, "-");
        return;
    }
    snprintf(buf, buflen, "%s.%03uZ", day, (unsigned)(ts_ms % 1000u));
}

/* What became of one matching record. */
struct replay_line {
    const char *id;            /* "" when none */
    const char *action;        /* replayed, would-replay, skipped, failed */
    int skip;                  /* with skipped: an enum replay_skip */
    const char *status;        /* the status found in Redis; "" when unknown or none */
    int32_t dlq_partition;
    int64_t dlq_offset;
};

static void print_line(FILE *out, int json, const struct replay_record *r,
                       const struct replay_line *l)
{
    char when[48];

    format_when(r->ts_ms, when, sizeof(when));
    if (!json) {
        char error[sizeof(r->error)];
        char action[48];
        snprintf(error, sizeof(error), "%s", r->error[0] != '\0' ? r->error : "-");
        text_clean(error);
        if (strcmp(l->action, "skipped") == 0)
            snprintf(action, sizeof(action), "skip:%s", replay_skip_name(l->skip));
        else
            snprintf(action, sizeof(action), "%s", l->action);
        fprintf(out, "%s %s %s %s %s\n", l->id[0] != '\0' ? l->id : "-", r->reason, when, action,
                error);
        fflush(out);
        return;
    }
    json_t *o = json_object();
    if (o == NULL)
        return;
    json_object_set_new(o, "id", l->id[0] != '\0' ? json_string(l->id) : json_null());
    json_object_set_new(o, "reason", json_string(r->reason));
    json_object_set_new(o, "error", json_str(r->error));
    json_object_set_new(o, "worker", json_str(r->worker));
    json_object_set_new(o, "ts_ms", json_integer((json_int_t)r->ts_ms));
    json_object_set_new(o, "when", json_string(when));
    json_object_set_new(o, "topic", json_str(r->topic));
    json_object_set_new(o, "partition", json_integer((json_int_t)r->partition));
    json_object_set_new(o, "offset", json_integer((json_int_t)r->offset));
    json_object_set_new(o, "dlq_partition", json_integer(l->dlq_partition));
    json_object_set_new(o, "dlq_offset", json_integer((json_int_t)l->dlq_offset));
    json_object_set_new(o, "action", json_string(l->action));
    if (strcmp(l->action, "skipped") == 0)
        json_object_set_new(o, "skip", json_string(replay_skip_name(l->skip)));
    json_object_set_new(o, "status", l->status[0] != '\0' ? json_str(l->status) : json_null());
    json_dumpf(o, out, JSON_COMPACT | JSON_SORT_KEYS);
    fputc('\n', out);
    fflush(out);
    json_decref(o);
}

void replay_summary_print(const struct replay_summary *s, int dry_run, FILE *out)
{
    long skipped = 0;
    int first = 1;

    for (int i = 0; i < REPLAY_SKIP_COUNT; i++)
        skipped += s->skipped[i];
    fprintf(out, "atc: replay-dlq: %ld read, %ld invalid, %ld matched, %ld %s, %ld skipped", s->read,
            s->invalid, s->matched, s->replayed, dry_run ? "would be replayed" : "replayed",
            skipped);
    for (int i = 0; i < REPLAY_SKIP_COUNT; i++) {
        if (s->skipped[i] == 0)
            continue;
        fprintf(out, "%s%ld %s", first ? " (" : ", ", s->skipped[i], replay_skip_name(i));
        first = 0;
    }
    if (!first)
        fputc(')', out);
    if (s->stopped_at_max)
        fputs("; stopped at --max", out);
    fputc('\n', out);
}

/* ---- the run ---- */

struct replay_ctx {
    const struct replay_opts *o;
    struct atc_results *r;
    struct atc_client *c;
    FILE *out;
    struct replay_summary *sum;
    struct idset seen;
};

/* Handles one message of the topic. 0 to go on, 1 to stop (--max), or an
 * error with err set. */
static int replay_one(struct replay_ctx *x, const rd_kafka_message_t *m, char *err,
                      size_t errlen)
{
    const struct replay_opts *o = x->o;
    struct replay_record rec;
    struct replay_line line = {.action = "skipped", .status = ""};
    char id[ATC_JOB_ID_MAX + 1];
    char status[32] = "";
    char why[256];
    int rc;

    x->sum->read++;
    if (replay_record_decode(m->payload, m->len, &rec, why, sizeof(why)) != 0) {
        x->sum->invalid++;
        fprintf(stderr, "atc: replay-dlq: %s [%d] offset %" PRId64 ": not a dead-letter record (%s); "
                        "skipped\n", o->topic, (int)m->partition, m->offset, why);
        return 0;
    }
    (void)replay_record_job_id(&rec, m->key, m->key_len, id);
    if (!replay_filter_match(&o->filter, &rec, id))
        return 0;
    x->sum->matched++;
    line.id = id;
    line.dlq_partition = m->partition;
    line.dlq_offset = m->offset;
    if (id[0] == '\0') {
        line.skip = REPLAY_SKIP_NO_ID;
        goto done;
    }
    /* Only the start of a message too large to keep: nothing to send. */
    if (rec.original_truncated) {
        line.skip = REPLAY_SKIP_TRUNCATED;
        goto done;
    }
    rc = idset_add(&x->seen, id);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        return ATC_ENOMEM;
    }
    if (rc == 0) {
        line.skip = REPLAY_SKIP_DUPLICATE;
        goto done;
    }
    /* A rejected message is rejected again unless its cause is gone: only
     * where --reason names its reason (then the record matched through it). */
    int allow_rejected = o->filter.nreasons > 0;
    if (replay_reason_is_rejection(rec.reason) && !allow_rejected) {
        line.skip = REPLAY_SKIP_REJECTED;
        goto done;
    }
    int outcome = ATC_REPLAY_KEPT;
    unsigned flags = (allow_rejected ? ATC_REPLAY_ALLOW_REJECTED : 0u) |
                     (o->dry_run ? ATC_REPLAY_CHECK_ONLY : 0u);
    rc = atc_results_reset_for_replay(x->r, id, flags, 0, &outcome, status, sizeof(status), err,
                                      errlen);
    if (rc != 0)
        return rc;
    line.status = status;
    switch (outcome) {
    case ATC_REPLAY_RESET:
    case ATC_REPLAY_NEW:
    case ATC_REPLAY_AGAIN:
        break;
    case ATC_REPLAY_IN_FLIGHT:
        line.skip = REPLAY_SKIP_IN_FLIGHT;
        goto done;
    case ATC_REPLAY_CANCELLED:
        line.skip = REPLAY_SKIP_CANCEL;
        goto done;
    default:
        line.skip = strcmp(status, "rejected") == 0 ? REPLAY_SKIP_REJECTED : REPLAY_SKIP_FINAL;
        goto done;
    }
    if (o->dry_run) {
        line.action = "would-replay";
    } else {
        rc = atc_client_submit_raw(x->c, id, rec.original, rec.original_len, err, errlen);
        if (rc != 0) {
            line.action = "failed";
            print_line(x->out, o->json, &rec, &line);
            return rc;
        }
        line.action = "replayed";
    }
    x->sum->replayed++;
    print_line(x->out, o->json, &rec, &line);
    if (o->max > 0 && x->sum->replayed >= o->max) {
        x->sum->stopped_at_max = 1;
        return 1;
    }
    return 0;
done:
    x->sum->skipped[line.skip]++;
    print_line(x->out, o->json, &rec, &line);
    return 0;
}

/* One partition to read: [next, end). */
struct replay_part {
    int32_t partition;
    int64_t end;
    int done;
};

int replay_run(const struct replay_opts *o, struct atc_results *r, struct atc_client *c,
               FILE *out, struct replay_summary *sum, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *list = NULL;
    struct replay_part *parts = NULL;
    struct replay_ctx x = {.o = o, .r = r, .c = c, .out = out, .sum = sum};
    char errstr[512], last_err[256] = "";
    rd_kafka_resp_err_t kerr;
    int nparts = 0, left = 0;
    int rc = 0;

    memset(sum, 0, sizeof(*sum));
    if (conf == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    /* A group id only because librdkafka's consumer wants one: partitions are
     * assigned, never subscribed, and nothing is committed. */
    if (rd_kafka_conf_set(conf, "group.id", REPLAY_GROUP, errstr, sizeof(errstr)) != 0 ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) != 0 ||
        rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, sizeof(errstr)) != 0 ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) != 0 ||
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof(errstr)) != 0) {
        snprintf(err, errlen, "kafka: %s", errstr);
        rc = ATC_EINVAL;
        goto out;
    }
    rc = atc_kafka_conf_apply(conf, o->brokers, o->xprops, o->nxprops, err, errlen);
    if (rc != 0)
        goto out;
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        snprintf(err, errlen, "cannot create a kafka consumer: %s", errstr);
        rc = ATC_EINVAL;
        goto out;
    }
    conf = NULL; /* owned by rk */
    rd_kafka_poll_set_consumer(rk);
    rkt = rd_kafka_topic_new(rk, o->topic, NULL);
    if (rkt == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    kerr = rd_kafka_metadata(rk, 0, rkt, &md, o->timeout_ms);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "cannot read the metadata of topic '%s': %s", o->topic,
                 rd_kafka_err2str(kerr));
        rc = ATC_ECONN;
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "topic '%s': %s", o->topic,
                 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not found");
        rc = md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                 ? ATC_ENOTFOUND
                 : ATC_ECONN;
        goto out;
    }
    nparts = md->topics[0].partition_cnt;
    parts = calloc(nparts > 0 ? (size_t)nparts : 1, sizeof(*parts));
    list = rd_kafka_topic_partition_list_new(nparts > 0 ? nparts : 1);
    if (parts == NULL || list == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    /* The end of each partition now: records added while we replay (a
     * replayed job that fails again) are left for the next run. */
    for (int i = 0; i < nparts; i++) {
        int64_t low = 0, high = 0;
        parts[i].partition = md->topics[0].partitions[i].id;
        kerr = rd_kafka_query_watermark_offsets(rk, o->topic, parts[i].partition, &low, &high,
                                                o->timeout_ms);
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "cannot read the offsets of %s [%d]: %s", o->topic,
                     (int)parts[i].partition, rd_kafka_err2str(kerr));
            rc = ATC_ECONN;
            goto out;
        }
        parts[i].end = high;
        if (high <= low) {
            parts[i].done = 1;
            continue;
        }
        rd_kafka_topic_partition_list_add(list, o->topic, parts[i].partition)->offset = low;
        left++;
    }
    if (left == 0)
        goto out;
    kerr = rd_kafka_assign(rk, list);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "cannot assign the partitions of %s: %s", o->topic,
                 rd_kafka_err2str(kerr));
        rc = ATC_ECONN;
        goto out;
    }
    int64_t last_progress = atc_clock_mono_ms();
    while (left > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, REPLAY_POLL_MS);
        if (m == NULL) {
            if (atc_clock_mono_ms() - last_progress > o->timeout_ms) {
                snprintf(err, errlen, "reading %s made no progress for %d ms (%d partitions "
                                      "not read to their end)%s%s",
                         o->topic, o->timeout_ms, left, last_err[0] ? ": " : "", last_err);
                rc = ATC_ETIMEDOUT;
                goto out;
            }
            continue;
        }
        struct replay_part *p = NULL;
        for (int i = 0; i < nparts; i++) {
            if (parts[i].partition == m->partition)
                p = &parts[i];
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (p != NULL && !p->done) {
                p->done = 1;
                left--;
            }
        } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* Often passing (a broker reconnecting): the progress timeout
             * decides, and names the last one. */
            snprintf(last_err, sizeof(last_err), "%s", rd_kafka_message_errstr(m));
        } else if (p != NULL && !p->done) {
            last_progress = atc_clock_mono_ms();
            if (m->offset < p->end)
                rc = replay_one(&x, m, err, errlen);
            if (m->offset + 1 >= p->end) {
                p->done = 1;
                left--;
            }
            last_progress = atc_clock_mono_ms();
        }
        rd_kafka_message_destroy(m);
        if (rc < 0)
            goto out;
        if (rc == 1) {
            rc = 0;
            break;
        }
    }
out:
    idset_free(&x.seen);
    if (rk != NULL && list != NULL)
        rd_kafka_assign(rk, NULL);
    if (list != NULL)
        rd_kafka_topic_partition_list_destroy(list);
    free(parts);
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    if (rkt != NULL)
        rd_kafka_topic_destroy(rkt);
    if (rk != NULL) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    return rc;
}
