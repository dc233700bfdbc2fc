/* watch.c: `atc watch` and `atc stats`: the atc:results stream followed or
 * counted, finished results read for their labels, and the workers' lag. */
#include "watch.h"

#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/clock.h"
#include "atc/error.h"
#include "atc/kafka.h"
#include "render.h"

#define WATCH_BATCH 256
/* A stop flag is noticed within one block. */
#define WATCH_BLOCK_S 1.0
#define STATS_PAGE 1000
#define STATS_STATUSES_MAX 16

/* 1 when the result's labels hold every wanted pair. */
static int labels_match(json_t *labels, const struct atc_kv *want, size_t nwant)
{
    for (size_t i = 0; i < nwant; i++) {
        const char *v = json_string_value(json_object_get(labels, want[i].key));
        if (v == NULL || strcmp(v, want[i].value) != 0)
            return 0;
    }
    return 1;
}

/* The fields a watch line shows, copied from the whole result. */
static json_t *watch_line_json(json_t *full, const char *id, const char *status)
{
    static const char *const keep[] = {
        "reason", "duration_ms", "exit_code", "tests_total", "tests_passed", "tests_failed",
        "labels", "cached", "cached_from", "worker", "finished_ms", "error", NULL,
    };
    json_t *o = json_object();

    if (o == NULL)
        return NULL;
    if (json_object_set_new(o, "id", json_string(id)) != 0 ||
        json_object_set_new(o, "status", json_string(status)) != 0) {
        json_decref(o);
        return NULL;
    }
    for (size_t i = 0; full != NULL && keep[i] != NULL; i++) {
        json_t *v = json_object_get(full, keep[i]);
        if (v != NULL && json_object_set(o, keep[i], v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

/* Prints one finished job, where it passes the filter. 1 printed, 0 not,
 * negative on error. */
static int watch_one(struct atc_results *r, const struct atc_stream_entry *e,
                     const struct atc_kv *labels, size_t nlabels, int json, FILE *out,
                     char *err, size_t errlen)
{
    struct atc_result *res = NULL;
    json_t *full = NULL;
    json_t *line = NULL;
    int rc;

    if (e->id[0] == '\0')
        return 0;
    rc = atc_results_get(r, e->id, &res, err, errlen);
    if (rc == ATC_ENOTFOUND || rc == ATC_EINVAL) {
        /* Expired or removed since: only the stream entry is left. */
        rc = 0;
    } else if (rc != 0) {
        goto out;
    }
    if (res != NULL) {
        full = render_result_json(res, e->id);
        if (full == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = ATC_ENOMEM;
            goto out;
        }
    }
    if (nlabels > 0 && !labels_match(json_object_get(full, "labels"), labels, nlabels)) {
        rc = 0;
        goto out;
    }
    line = watch_line_json(full, e->id, e->status);
    if (line == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    if (json) {
        json_dumpf(line, out, JSON_COMPACT | JSON_SORT_KEYS);
        fputc('\n', out);
    } else {
        json_t *d = json_object_get(line, "duration_ms");
        const char *reason = json_string_value(json_object_get(line, "reason"));
        fprintf(out, "%s %s %s", e->id, e->status, reason != NULL ? reason : "-");
        if (json_is_integer(d))
            fprintf(out, " %" JSON_INTEGER_FORMAT "ms", json_integer_value(d));
        else
            fputs(" -", out);
        if (json_integer_value(json_object_get(line, "cached")) == 1)
            fprintf(out, " cached_from=%s",
                    json_string_value(json_object_get(line, "cached_from")) != NULL
                        ? json_string_value(json_object_get(line, "cached_from"))
                        : "?");
        fputc('\n', out);
    }
    fflush(out);
    rc = 1;
out:
    json_decref(line);
    json_decref(full);
    atc_result_free(res);
    return rc;
}

int watch_follow(struct atc_results *r, const struct atc_kv *labels, size_t nlabels, int json,
                 long max_lines, volatile sig_atomic_t *stop, FILE *out, char *err,
                 size_t errlen)
{
    struct atc_stream_entry *batch = NULL;
    char after[sizeof(batch->sid)];
    long printed = 0;
    int rc;

    batch = calloc(WATCH_BATCH, sizeof(*batch));
    if (batch == NULL) {
        snprintf(err, errlen, "out of memory");
        return ATC_ENOMEM;
    }
    /* A concrete id, not "$": entries added between two reads are not lost. */
    rc = atc_results_stream_last(r, after, sizeof(after), err, errlen);
    while (rc == 0 && (stop == NULL || !*stop)) {
        size_t n = 0;
        rc = atc_results_stream_read(r, after, WATCH_BLOCK_S, batch, WATCH_BATCH, &n, err,
                                     errlen);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            snprintf(after, sizeof(after), "%s", batch[i].sid);
            int shown = watch_one(r, &batch[i], labels, nlabels, json, out, err, errlen);
            if (shown < 0)
                rc = shown;
            else if (shown > 0 && max_lines > 0 && ++printed >= max_lines)
                goto out;
        }
    }
out:
    free(batch);
    return rc;
}

/* ---- stats ---- */

int watch_lag(const char *brokers, const char *topic, const char *group, char **xprops,
              size_t nxprops, int timeout_ms, struct watch_partition **parts, size_t *nparts,
              char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *list = NULL;
    struct watch_partition *p = NULL;
    char errstr[512];
    rd_kafka_resp_err_t kerr;
    int rc = 0;

    *parts = NULL;
    *nparts = 0;
    if (conf == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    if (rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka: %s", errstr);
        rc = ATC_EINVAL;
        goto out;
    }
    rc = atc_kafka_conf_apply(conf, brokers, xprops, nxprops, err, errlen);
    if (rc != 0)
        goto out;
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        snprintf(err, errlen, "cannot create a kafka client: %s", errstr);
        rc = ATC_EINVAL;
        goto out;
    }
    conf = NULL; /* owned by rk */
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rkt == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    kerr = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "cannot read the metadata of topic '%s': %s", topic,
                 rd_kafka_err2str(kerr));
        rc = ATC_ECONN;
        goto out;
    }
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "topic '%s': %s", topic,
                 md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err) : "not found");
        rc = ATC_ENOTFOUND;
        goto out;
    }
    int np = md->topics[0].partition_cnt;
    list = rd_kafka_topic_partition_list_new(np > 0 ? np : 1);
    p = calloc(np > 0 ? (size_t)np : 1, sizeof(*p));
    if (list == NULL || p == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    for (int i = 0; i < np; i++)
        rd_kafka_topic_partition_list_add(list, topic, md->topics[0].partitions[i].id);
    kerr = rd_kafka_committed(rk, list, timeout_ms);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "cannot read the committed offsets of group '%s': %s", group,
                 rd_kafka_err2str(kerr));
        rc = ATC_ECONN;
        goto out;
    }
    for (int i = 0; i < list->cnt; i++) {
        struct watch_partition *w = &p[i];
        w->partition = list->elems[i].partition;
        w->committed = list->elems[i].offset >= 0 ? list->elems[i].offset : -1;
        kerr = rd_kafka_query_watermark_offsets(rk, topic, w->partition, &w->low, &w->high,
                                                timeout_ms);
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "cannot read the offsets of %s [%d]: %s", topic,
                     (int)w->partition, rd_kafka_err2str(kerr));
            rc = ATC_ECONN;
            goto out;
        }
        w->lag = w->high - (w->committed >= 0 ? w->committed : w->low);
        if (w->lag < 0)
            w->lag = 0;
    }
    *parts = p;
    *nparts = (size_t)list->cnt;
    p = NULL;
out:
    free(p);
    if (list != NULL)
        rd_kafka_topic_partition_list_destroy(list);
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    if (rkt != NULL)
        rd_kafka_topic_destroy(rkt);
    if (rk != NULL)
        rd_kafka_destroy(rk);
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
    return rc;
}

struct stats_count {
    char status[32];
    long n;
};

static void stats_add(struct stats_count *c, size_t *nc, const char *status)
{
    const char *s = status[0] != '\0' ? status : "unknown";
    size_t i;

    for (i = 0; i < *nc; i++) {
        if (strcmp(c[i].status, s) == 0) {
            c[i].n++;
            return;
        }
    }
    if (*nc == STATS_STATUSES_MAX)
        s = "other";
    for (i = 0; i < *nc; i++) {
        if (strcmp(c[i].status, s) == 0) {
            c[i].n++;
            return;
        }
    }
    if (*nc < STATS_STATUSES_MAX) {
        snprintf(c[*nc].status, sizeof(c[*nc].status), "%s", s);
        c[(*nc)++].n = 1;
    }
}

int watch_stats(struct atc_results *r, double window_s, const char *group, const char *topic,
                const struct watch_partition *parts, size_t nparts, const char *lag_err,
                int json, FILE *out, char *err, size_t errlen)
{
    static const char *const order[] = {"passed", "failed", "error", "timeout", "rejected",
                                        "cancelled"};
    struct stats_count counts[STATS_STATUSES_MAX + 1];
    struct atc_stream_entry *page = NULL;
    size_t ncounts = 0;
    long total = 0;
    int64_t lag = 0;
    char start[64];
    json_t *o = NULL;
    int rc = 0;

    memset(counts, 0, sizeof(counts));
    /* The known statuses always show, at 0 where there were none. */
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        snprintf(counts[ncounts++].status, sizeof(counts[0].status), "%s", order[i]);
    page = calloc(STATS_PAGE, sizeof(*page));
    if (page == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    uint64_t now_ms = (uint64_t)atc_clock_wall_ms();
    uint64_t win_ms = (uint64_t)(window_s * 1000.0);
    snprintf(start, sizeof(start), "%" PRIu64, win_ms < now_ms ? now_ms - win_ms : 0);
    for (;;) {
        size_t n = 0;
        rc = atc_results_stream_range(r, start, "+", page, STATS_PAGE, &n, err, errlen);
        if (rc != 0)
            goto out;
        for (size_t i = 0; i < n; i++)
            stats_add(counts, &ncounts, page[i].status);
        total += (long)n;
        if (n < STATS_PAGE)
            break;
        snprintf(start, sizeof(start), "(%s", page[n - 1].sid);
    }
    for (size_t i = 0; i < nparts; i++)
        lag += parts[i].lag;

    if (!json) {
        fprintf(out, "jobs finished in the last %g s: %ld\n", window_s, total);
        for (size_t i = 0; i < ncounts; i++)
            fprintf(out, "  %-10s %ld\n", counts[i].status, counts[i].n);
        if (parts != NULL) {
            fprintf(out, "lag of group %s on %s: %" PRId64 " messages\n", group, topic, lag);
            for (size_t i = 0; i < nparts; i++)
                fprintf(out, "  partition %d: committed %" PRId64 ", end %" PRId64
                             ", lag %" PRId64 "\n",
                        (int)parts[i].partition, parts[i].committed, parts[i].high,
                        parts[i].lag);
        } else {
            fprintf(out, "lag of group %s on %s: unknown (%s)\n", group, topic,
                    lag_err != NULL ? lag_err : "not asked");
        }
        goto out;
    }
    o = json_object();
    json_t *by = json_object();
    json_t *lagj = json_object();
    json_t *pl = json_array();
    if (o == NULL || by == NULL || lagj == NULL || pl == NULL) {
        json_decref(by);
        json_decref(lagj);
        json_decref(pl);
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    json_object_set_new(o, "window_s", json_real(window_s));
    json_object_set_new(o, "total", json_integer(total));
    for (size_t i = 0; i < ncounts; i++)
        json_object_set_new(by, counts[i].status, json_integer(counts[i].n));
    json_object_set_new(o, "by_status", by);
    json_object_set_new(lagj, "group", json_string(group));
    json_object_set_new(lagj, "topic", json_string(topic));
    if (parts != NULL) {
        json_object_set_new(lagj, "messages", json_integer(lag));
        for (size_t i = 0; i < nparts; i++)
            json_array_append_new(pl, json_pack("{s:i, s:I, s:I, s:I}", "partition",
                                                (int)parts[i].partition, "committed",
                                                (json_int_t)parts[i].committed, "end",
                                                (json_int_t)parts[i].high, "lag",
                                                (json_int_t)parts[i].lag));
        json_object_set_new(lagj, "partitions", pl);
    } else {
        json_decref(pl);
        json_object_set_new(lagj, "messages", json_null());
        json_object_set_new(lagj, "error", json_string(lag_err != NULL ? lag_err : "not asked"));
    }
    json_object_set_new(o, "lag", lagj);
    json_dumpf(o, out, JSON_COMPACT | JSON_SORT_KEYS);
    fputc('\n', out);
out:
    json_decref(o);
    free(page);
    return rc;
}
