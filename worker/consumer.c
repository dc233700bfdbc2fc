/* consumer.c: the consumer loop, rebalance handling, pause/resume and offsets. */
#include "consumer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/clock.h"
#include "atc/error.h"
#include "atc/log.h"
#include "backlog.h"
#include "metrics.h"
#include "offsets.h"

struct consumer {
    rd_kafka_t *rk;
    struct pool *pool;
    struct offsets *offsets;
    /* The tasks out in the pool (queued or running), in no order: a message
     * fetched again after a rebalance while its task is still out is not run a
     * second time. The main thread reads only their topic, partition and
     * offset (set before submission, never changed) and their gen (the main
     * thread's alone). nout == inflight. */
    struct task **out;
    size_t nout, out_cap;
    size_t inflight, max_inflight;  /* max_inflight: threads + the backlog's size now */
    size_t threads;
    struct backlog backlog;
    long long gauge_ms;             /* when atc_jobs_waiting was last set */
    size_t inflight_bytes, max_inflight_bytes; /* the tasks' message bytes */
    uint64_t gen;
    /* The assigned partitions, each with what the flow control did to it. */
    struct part *parts;
    size_t nparts;
    size_t npaused;                 /* parts paused by the worker */
    int in_group;
    int failed;
    int draining;
    int hold;
};

/* One assigned partition. A partition is paused only once it delivered a
 * message in this assignment, or CONSUMER_PAUSE_GRACE_MS after it was
 * assigned: librdkafka 2.0.2 drops a partition's fetch start when a pause or
 * resume of it takes its version barrier between the fetch start's barrier
 * and its enqueue (an op older than the partition's op version is "outdated",
 * rdkafka_partition.c), and that partition then never fetches. Its first
 * messages may come while the others are paused: they run, the bound on
 * messages out is exceeded by at most one fetch of it. */
struct part {
    char *topic;
    int32_t partition;
    long long assigned_ms;
    int delivered;                  /* a message came in this assignment */
    int paused;                     /* paused by the worker */
    int idle;                       /* the statistics saw its fetch state other
                                     * than "active", since idle_since_ms */
    long long idle_since_ms;
    int not_fetching;               /* reported: not fetching for CONSUMER_STALL_MS */
};

#define CONSUMER_PAUSE_GRACE_MS 5000
/* A partition whose fetch is not active this long is reported (a log line and
 * atc_partitions_not_fetching): its jobs wait, and no consumer lag shows them. */
#define CONSUMER_STALL_MS 60000

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (level <= 3)
        ATC_ERROR(NULL, "kafka %s: %s", fac, buf);
    else if (level <= 4)
        ATC_WARN(NULL, "kafka %s: %s", fac, buf);
    else if (level <= 6)
        ATC_INFO(NULL, "kafka %s: %s", fac, buf);
    else
        ATC_DEBUG(NULL, "kafka %s: %s", fac, buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    struct consumer *c = opaque;
    metrics_count("kafka_errors");
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        ATC_ERROR(NULL, "kafka fatal error: %s", fatal);
        c->failed = 1;
        c->in_group = 0;
        return;
    }
    ATC_WARN(NULL, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int task_in_parts(void *arg, const struct task *t)
{
    const rd_kafka_topic_partition_list_t *parts = arg;
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].partition == t->partition && strcmp(parts->elems[i].topic, t->topic) == 0)
            return 1;
    return 0;
}

static int task_any(void *arg, const struct task *t)
{
    return 1;
}

static struct task *out_find(const struct consumer *c, const char *topic, int32_t partition,
                             int64_t offset)
{
    for (size_t i = 0; i < c->nout; i++) {
        const struct task *t = c->out[i];
        if (t->offset == offset && t->partition == partition && strcmp(t->topic, topic) == 0)
            return c->out[i];
    }
    return NULL;
}

static void out_remove(struct consumer *c, const struct task *t)
{
    for (size_t i = 0; i < c->nout; i++) {
        if (c->out[i] == t) {
            c->out[i] = c->out[--c->nout];
            return;
        }
    }
}

/* Stores the offset of every finished task; frees them. */
static void collect(struct consumer *c, int wait_ms)
{
    struct task *t = pool_take_done(c->pool, wait_ms);
    while (t) {
        struct task *next = t->next;
        c->inflight--;
        c->inflight_bytes -= t->len;
        out_remove(c, t);
        if (t->run_ms >= 0)
            backlog_done(&c->backlog, t->run_ms);
        if (t->store) {
            int64_t store = offsets_done(c->offsets, t->topic, t->partition, t->offset, t->gen);
            if (store >= 0) {
                rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
                rd_kafka_topic_partition_list_add(l, t->topic, t->partition)->offset = store;
                rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
                if (e)
                    ATC_WARN(NULL, "storing offset %lld of %s[%d]: %s", (long long)store,
                             t->topic, (int)t->partition, rd_kafka_err2str(e));
                rd_kafka_topic_partition_list_destroy(l);
            }
        }
        task_free(t);
        t = next;
    }
}

static void count_one(void *arg, const struct task *t)
{
    (void)arg;
    (void)t;
}

/* Sizes the backlog from the time jobs take, and once a second tells the
 * metrics how many messages wait unstarted (work the lag no longer shows). */
static void size_backlog(struct consumer *c)
{
    long long now = atc_clock_mono_ms();
    c->max_inflight = c->threads + backlog_size(&c->backlog);
    if (now - c->gauge_ms >= 1000) {
        size_t running = pool_each_running(c->pool, count_one, NULL);
        metrics_set_waiting(c->inflight > running ? (long long)(c->inflight - running) : 0);
        c->gauge_ms = now;
    }
}

/* 1 when no more messages may come in: shutdown, a hold (the breaker), or
 * the tasks out in the pool at their count or byte limit. */
static int want_pause(const struct consumer *c)
{
    return c->draining || c->hold || c->inflight >= c->max_inflight ||
           c->inflight_bytes >= c->max_inflight_bytes;
}

static void parts_clear(struct consumer *c)
{
    if (c->nparts > 0)
        metrics_set_not_fetching(0);
    for (size_t i = 0; i < c->nparts; i++)
        free(c->parts[i].topic);
    free(c->parts);
    c->parts = NULL;
    c->nparts = 0;
    c->npaused = 0;
}

static struct part *part_find(struct consumer *c, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < c->nparts; i++)
        if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0)
            return &c->parts[i];
    return NULL;
}

/* Pauses (pause 1) the partitions that may be paused now, or resumes (0) the
 * paused ones: only those whose state changes, in one call each way. */
static void set_paused(struct consumer *c, int pause)
{
    rd_kafka_topic_partition_list_t *to_pause = NULL, *to_resume = NULL;
    long long now = atc_clock_mono_ms();

    for (size_t i = 0; i < c->nparts; i++) {
        struct part *pt = &c->parts[i];
        int want = pause && (pt->delivered || c->draining ||
                             now - pt->assigned_ms >= CONSUMER_PAUSE_GRACE_MS);
        if (want == pt->paused)
            continue;
        rd_kafka_topic_partition_list_t **l = want ? &to_pause : &to_resume;
        if (!*l && !(*l = rd_kafka_topic_partition_list_new((int)c->nparts)))
            continue; /* out of memory: the next turn tries again */
        rd_kafka_topic_partition_list_add(*l, pt->topic, pt->partition);
        pt->paused = want;
        if (want)
            c->npaused++;
        else
            c->npaused--;
    }
    if (to_pause) {
        rd_kafka_pause_partitions(c->rk, to_pause);
        rd_kafka_topic_partition_list_destroy(to_pause);
    }
    if (to_resume) {
        rd_kafka_resume_partitions(c->rk, to_resume);
        rd_kafka_topic_partition_list_destroy(to_resume);
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct consumer *c = opaque;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        c->gen++;
        for (int i = 0; i < parts->cnt; i++)
            offsets_assign(c->offsets, parts->elems[i].topic, parts->elems[i].partition, c->gen);
        ATC_INFO(NULL, "assigned %d partition(s)", parts->cnt);
        rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
        if (e) {
            /* E.g. a cooperative protocol (consumer_check_conf refuses those):
             * the worker would sit in the group consuming nothing. */
            ATC_ERROR(NULL, "taking the assignment (%s protocol): %s",
                      rd_kafka_rebalance_protocol(rk), rd_kafka_err2str(e));
            c->failed = 1;
            return;
        }
        c->in_group = 1;
        /* No pause and no resume here (see struct part): what the worker
         * paused it resumed when the partitions were revoked, and the flow
         * control pauses the new ones when they may be. */
        parts_clear(c);
        c->parts = calloc((size_t)parts->cnt, sizeof(*c->parts));
        long long now = atc_clock_mono_ms();
        for (int i = 0; c->parts && i < parts->cnt; i++) {
            struct part *pt = &c->parts[c->nparts];
            if (!(pt->topic = strdup(parts->elems[i].topic)))
                break;
            pt->partition = parts->elems[i].partition;
            pt->assigned_ms = now;
            c->nparts++;
        }
        if (c->nparts < (size_t)parts->cnt)
            ATC_WARN(NULL, "out of memory tracking the assignment: %zu of %d partition(s) "
                     "under flow control", c->nparts, parts->cnt);
        return;
    }
    /* Out of the group until the next assignment (an eager rebalance revokes
     * everything first; a session that timed out loses it). */
    c->in_group = 0;
    /* Revoked (or lost): the backlog of those partitions is not ours to start;
     * store what is finished, commit, and forget the rest: jobs still running
     * there will be run again by the new owner. */
    size_t dropped = pool_drop_queued(c->pool, task_in_parts, parts);
    if (dropped)
        ATC_INFO(NULL, "dropped %zu queued job(s) of revoked partitions", dropped);
    collect(c, 0);
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && parts->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_commit(rk, NULL, 0);
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET)
            ATC_WARN(NULL, "commit on revoke: %s", rd_kafka_err2str(e));
    }
    for (int i = 0; i < parts->cnt; i++)
        offsets_revoke(c->offsets, parts->elems[i].topic, parts->elems[i].partition);
    /* librdkafka 2.0.2 keeps a pause across assignments: what the worker
     * paused it resumes now, before giving the partitions up, so that the
     * next assignment needs no resume. */
    set_paused(c, 0);
    parts_clear(c);
    ATC_INFO(NULL, "revoked %d partition(s)", parts->cnt);
    metrics_clear_lag();
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, NULL);
    if (e)
        ATC_WARN(NULL, "giving up the assignment: %s", rd_kafka_err2str(e));
}

/* One assigned partition's fetch state from the statistics: reported once
 * when not "active" for CONSUMER_STALL_MS (librdkafka 2.0.2 can drop a fetch
 * start, see struct part; a broker down long shows here too). */
static void part_fetch_state(struct part *pt, const char *state, long long now)
{
    if (strcmp(state, "active") == 0) {
        if (pt->not_fetching)
            ATC_INFO(NULL, "%s[%d] fetching again", pt->topic, (int)pt->partition);
        pt->idle = 0;
        pt->not_fetching = 0;
        return;
    }
    if (!pt->idle) {
        pt->idle = 1;
        pt->idle_since_ms = now;
    }
    if (!pt->not_fetching && now - pt->idle_since_ms >= CONSUMER_STALL_MS) {
        pt->not_fetching = 1;
        ATC_WARN(NULL, "%s[%d] assigned here but not fetching for %lld s (fetch state %s): its "
                 "jobs wait; a restart of this worker hands it to another (docs/operations.md, "
                 "AtcPartitionNotFetching)", pt->topic, (int)pt->partition,
                 (now - pt->idle_since_ms) / 1000, state);
    }
}

void consumer_stats(struct consumer *c, const char *json, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    json_t *topics = root ? json_object_get(root, "topics") : NULL;
    const char *tname;
    json_t *tobj;
    long long now = atc_clock_mono_ms();

    if (!json_is_object(topics))
        goto out;
    json_object_foreach(topics, tname, tobj) {
        json_t *parts = json_object_get(tobj, "partitions");
        const char *pname;
        json_t *pobj;
        if (!json_is_object(parts))
            continue;
        json_object_foreach(parts, pname, pobj) {
            json_t *lag = json_object_get(pobj, "consumer_lag");
            json_t *desired = json_object_get(pobj, "desired");
            const char *state = json_string_value(json_object_get(pobj, "fetch_state"));
            char *end = NULL;
            long pid = strtol(pname, &end, 10);
            /* -1 is librdkafka's internal UA partition; only assigned ones count. */
            if (*end || pid < 0 || pid > INT32_MAX || !json_is_true(desired))
                continue;
            struct part *pt = part_find(c, tname, (int32_t)pid);
            if (pt && state)
                part_fetch_state(pt, state, now);
            if (json_is_integer(lag) && json_integer_value(lag) >= 0) /* -1: not known yet */
                metrics_set_lag(tname, (int32_t)pid, json_integer_value(lag));
        }
    }
out:
    json_decref(root);
    metrics_set_not_fetching((long long)consumer_partitions_not_fetching(c));
}

size_t consumer_partitions_not_fetching(const struct consumer *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->nparts; i++)
        n += c->parts[i].not_fetching != 0;
    return n;
}

/* librdkafka's statistics (statistics.interval.ms): consumer lag and fetch
 * state per partition. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    (void)rk;
    consumer_stats(opaque, json, len);
    return 0; /* librdkafka frees json */
}

int consumer_check_conf(const rd_kafka_conf_t *conf, char *err, size_t errlen)
{
    size_t size = 0;
    char *value = NULL;
    int rc = 0;

    if (rd_kafka_conf_get(conf, "partition.assignment.strategy", NULL, &size) != RD_KAFKA_CONF_OK)
        goto out; /* not set: librdkafka's default, range,roundrobin */
    value = malloc(size + 1);
    if (!value) {
        snprintf(err, errlen, "out of memory");
        rc = ATC_ENOMEM;
        goto out;
    }
    if (rd_kafka_conf_get(conf, "partition.assignment.strategy", value, &size) != RD_KAFKA_CONF_OK)
        goto out;
    value[size] = '\0';
    /* The rebalance callback takes and gives up whole assignments
     * (rd_kafka_assign): the eager protocol. Under the cooperative one
     * librdkafka refuses those calls and the worker would consume nothing. */
    if (strcasestr(value, "cooperative")) {
        snprintf(err, errlen,
                 "partition.assignment.strategy \"%s\" is not supported: the worker needs an "
                 "eager strategy (range, roundrobin; the default is range,roundrobin)",
                 value);
        rc = ATC_EINVAL;
    }
out:
    free(value);
    return rc;
}

struct consumer *consumer_new(rd_kafka_conf_t *conf, const char *group, const char *topic,
                              struct pool *pool, size_t threads, size_t backlog_max,
                              size_t max_inflight_bytes, char *err, size_t errlen)
{
    struct consumer *c = calloc(1, sizeof(*c));
    rd_kafka_topic_partition_list_t *sub = NULL;

    if (!c || !(c->offsets = offsets_new())) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    c->pool = pool;
    c->threads = threads;
    backlog_init(&c->backlog, threads, threads, backlog_max);
    c->max_inflight = threads + backlog_size(&c->backlog);
    c->max_inflight_bytes = max_inflight_bytes;
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    rd_kafka_conf_set_stats_cb(conf, on_stats);
    const char *props[][2] = {
        {"group.id", group},
        {"enable.auto.offset.store", "false"},
        {"enable.auto.commit", "true"},
        {"auto.offset.reset", "earliest"},
        {"enable.partition.eof", "false"},
        {"log.queue", "true"},
        {"statistics.interval.ms", "15000"},
    };
    for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++) {
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, errlen) != RD_KAFKA_CONF_OK)
            goto fail;
    }
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, errlen);
    if (!c->rk)
        goto fail;
    conf = NULL;
    /* librdkafka's own log lines come out of our poll, on our thread. */
    rd_kafka_set_log_queue(c->rk, NULL);
    rd_kafka_poll_set_consumer(c->rk);
    sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        snprintf(err, errlen, "subscribe to %s: %s", topic, rd_kafka_err2str(e));
        goto fail;
    }
    return c;
fail:
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (c) {
        if (c->rk)
            rd_kafka_destroy(c->rk);
        offsets_destroy(c->offsets);
        free(c);
    }
    return NULL;
}

/* Leaves the offset behind: the message will be consumed again after a restart. */
static void log_oom(const char *topic, const rd_kafka_message_t *m)
{
    ATC_ERROR(NULL, "out of memory taking %s[%d]@%lld", topic, (int)m->partition,
              (long long)m->offset);
}

static char *dup_bytes(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* Starts tracking m's offset under its partition's assignment. A message of
 * an unassigned partition is ignored. Out of memory stops the worker: the
 * message could not be left pending, and a later offset of its partition
 * would be stored past it. */
static int begin(struct consumer *c, const char *topic, const rd_kafka_message_t *m,
                 uint64_t *gen)
{
    int rc = offsets_begin(c->offsets, topic, m->partition, m->offset, gen);
    if (rc == ATC_ENOTFOUND)
        ATC_WARN(NULL, "message from unassigned %s[%d]@%lld ignored", topic, (int)m->partition,
                 (long long)m->offset);
    else if (rc != 0) {
        ATC_ERROR(NULL, "out of memory tracking %s[%d]@%lld: stopping", topic, (int)m->partition,
                  (long long)m->offset);
        c->failed = 1;
    }
    return rc;
}

/* m's task is still out from an earlier assignment of its partition (an eager
 * rebalance gave the partition back, and it was fetched again from the
 * committed offset): the task moves to the current assignment instead of
 * running a second time, so its offset is stored when it finishes. */
static void keep_running(struct consumer *c, struct task *t, rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    uint64_t gen = 0;

    if (t->gen == c->gen) {
        /* Fetched twice in one assignment: already tracked under it. */
        ATC_WARN(NULL, "%s[%d]@%lld fetched again while its job is out: ignored", topic,
                 (int)m->partition, (long long)m->offset);
        return;
    }
    if (begin(c, topic, m, &gen) != 0)
        return;
    t->gen = gen;
    ATC_INFO(NULL, "%s[%d]@%lld is still running from before the rebalance: kept, not started again",
             topic, (int)m->partition, (long long)m->offset);
}

static void dispatch(struct consumer *c, rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    uint64_t gen = 0;

    struct task *running = out_find(c, topic, m->partition, m->offset);
    if (running) {
        keep_running(c, running, m);
        return;
    }
    if (begin(c, topic, m, &gen) != 0)
        return;
    /* Begun first: a message not taken stays pending, so no later offset of
     * its partition is stored past it. */
    if (c->nout == c->out_cap) {
        size_t cap = c->out_cap ? 2 * c->out_cap : 64;
        struct task **n = realloc(c->out, cap * sizeof(*n));
        if (!n) {
            log_oom(topic, m);
            return;
        }
        c->out = n;
        c->out_cap = cap;
    }
    struct task *t = calloc(1, sizeof(*t));
    if (!t)
        goto oom;
    t->run_ms = -1;
    t->topic = strdup(topic);
    t->partition = m->partition;
    t->offset = m->offset;
    t->gen = gen;
    t->len = m->len;
    t->value = dup_bytes(m->payload, m->len);
    if (m->key)
        t->key = dup_bytes(m->key, m->key_len);
    rd_kafka_headers_t *hdrs = NULL;
    const void *hv = NULL;
    size_t hl = 0;
    if (rd_kafka_message_headers(m, &hdrs) == 0 &&
        rd_kafka_header_get_last(hdrs, "traceparent", &hv, &hl) == 0 && hv && hl < 256)
        t->traceparent = dup_bytes(hv, hl);
    if (!t->topic || !t->value || (m->key && !t->key))
        goto oom;
    c->inflight++;
    c->inflight_bytes += t->len;
    c->out[c->nout++] = t;
    pool_submit(c->pool, t);
    return;
oom:
    log_oom(topic, m);
    task_free(t);
}

void consumer_turn(struct consumer *c, int wait_ms, int hold, int draining)
{
    if (draining && !c->draining) {
        /* Shutdown: jobs not started yet stay for the partitions' next owner. */
        size_t dropped = pool_drop_queued(c->pool, task_any, NULL);
        if (dropped)
            ATC_INFO(NULL, "stopping: %zu queued job(s) left for another worker", dropped);
    }
    c->draining = draining;
    c->hold = hold;
    size_backlog(c);
    int pause = want_pause(c);
    if (pause || c->npaused > 0)
        set_paused(c, pause);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, c->inflight ? 0 : wait_ms);
    if (m) {
        struct part *pt = m->err ? NULL : part_find(c, rd_kafka_topic_name(m->rkt), m->partition);
        if (pt)
            pt->delivered = 1; /* its fetch runs: it may be paused from now on */
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                ATC_WARN(NULL, "consume: %s", rd_kafka_message_errstr(m));
        } else if (draining) {
            /* Fetched before the pause took effect: not ours to start now. No
             * later offset will be stored, so the next owner gets it. */
        } else {
            dispatch(c, m);
        }
        rd_kafka_message_destroy(m);
    }
    collect(c, c->inflight && !m ? wait_ms : 0);
}

size_t consumer_inflight(const struct consumer *c)
{
    return c->inflight;
}

int consumer_in_group(const struct consumer *c)
{
    return c->in_group;
}

int consumer_failed(const struct consumer *c)
{
    return c->failed;
}

void consumer_close(struct consumer *c)
{
    if (!c)
        return;
    collect(c, 0);
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    offsets_destroy(c->offsets);
    parts_clear(c);
    free(c->out);
    free(c);
}
