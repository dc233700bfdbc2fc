/* doctor.c: the checks of `atc doctor` and `atc-worker --check` (see doctor.h). */
#include "atc/doctor.h"

#include <curl/curl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "atc/clock.h"
#include "atc/daytona.h"
#include "atc/error.h"
#include "atc/kafka.h"
#include "atc/results.h"

#define DOCTOR_BODY_MAX (1 << 20)
#define DOCTOR_MARK "atc-doctor-ok"

struct doctor {
    const struct atc_doctor_config *cfg;
    struct atc_doctor_report *report;
    void (*on_check)(void *arg, const struct atc_doctor_check *c);
    void *arg;
    long timeout_ms;
    struct atc_doctor_check *cur;
    long t0;
};

static int stopped(const struct doctor *d)
{
    return d->cfg->stop != NULL && *d->cfg->stop;
}

/* Starts the next check's line. */
static void begin(struct doctor *d, const char *name)
{
    struct atc_doctor_report *r = d->report;
    if (r->n == ATC_DOCTOR_MAX_CHECKS) {
        d->cur = &r->checks[ATC_DOCTOR_MAX_CHECKS - 1]; /* never: the list is fixed */
    } else {
        d->cur = &r->checks[r->n++];
    }
    memset(d->cur, 0, sizeof(*d->cur));
    snprintf(d->cur->name, sizeof(d->cur->name), "%s", name);
    d->t0 = (long)atc_clock_mono_ms();
}

static void detail(struct doctor *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void detail(struct doctor *d, const char *fmt, ...)
{
    size_t len = strlen(d->cur->detail);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->cur->detail + len, sizeof(d->cur->detail) - len, fmt, ap);
    va_end(ap);
}

/* Ends the current check: PASS, or FAIL with the fix sentence. */
static void end(struct doctor *d, enum atc_doctor_state state, const char *fix_fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void end(struct doctor *d, enum atc_doctor_state state, const char *fix_fmt, ...)
{
    d->cur->state = state;
    d->cur->ms = (long)atc_clock_mono_ms() - d->t0;
    if (fix_fmt != NULL) {
        va_list ap;
        va_start(ap, fix_fmt);
        vsnprintf(d->cur->fix, sizeof(d->cur->fix), fix_fmt, ap);
        va_end(ap);
    }
    if (d->on_check != NULL)
        d->on_check(d->arg, d->cur);
}

/* ---- configuration ---- */

static void check_config(struct doctor *d)
{
    const struct atc_doctor_config *c = d->cfg;
    begin(d, "configuration");
    detail(d, "%s", c->config_line ? c->config_line : "");
    if (c->config_error != NULL && c->config_error[0] != '\0') {
        end(d, ATC_DOCTOR_FAIL, "%s", c->config_error);
        return;
    }
    if (!c->skip_daytona && (c->daytona_api_key == NULL || c->daytona_api_key[0] == '\0')) {
        end(d, ATC_DOCTOR_FAIL, "no Daytona API key: set DAYTONA_API_KEY (or DAYTONA_API_KEY_FILE, "
            "or put DAYTONA_API_KEY in a .env file)");
        return;
    }
    end(d, ATC_DOCTOR_PASS, NULL);
}

/* ---- Kafka ---- */

static void kafka_quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk, (void)level, (void)fac, (void)buf; /* failures reach us as errors */
}

static const rd_kafka_metadata_topic_t *find_topic(const struct rd_kafka_metadata *md,
                                                   const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, name) == 0 &&
            md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            return &md->topics[i];
    return NULL;
}

/* The group's lag on the jobs topic: committed offsets against the high watermarks. */
static int kafka_lag(rd_kafka_t *rk, const rd_kafka_metadata_topic_t *t, long timeout_ms,
                     long long *lag, int *committed_parts, char *err, size_t errlen)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(t->partition_cnt);
    rd_kafka_resp_err_t kerr;
    int rc = 0;

    *lag = 0;
    *committed_parts = 0;
    if (list == NULL)
        return ATC_ENOMEM;
    for (int i = 0; i < t->partition_cnt; i++)
        rd_kafka_topic_partition_list_add(list, t->topic, t->partitions[i].id);
    kerr = rd_kafka_committed(rk, list, (int)timeout_ms);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "committed offsets: %s", rd_kafka_err2str(kerr));
        rc = ATC_ECONN;
        goto out;
    }
    for (int i = 0; i < list->cnt; i++) {
        int64_t low = 0, high = 0, off = list->elems[i].offset;
        kerr = rd_kafka_query_watermark_offsets(rk, t->topic, list->elems[i].partition, &low,
                                                &high, (int)timeout_ms);
        if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "offsets of partition %d: %s", (int)list->elems[i].partition,
                     rd_kafka_err2str(kerr));
            rc = ATC_ECONN;
            goto out;
        }
        if (off >= 0)
            (*committed_parts)++;
        long long l = high - (off >= 0 ? off : low);
        *lag += l > 0 ? l : 0;
    }
out:
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}

static void check_kafka(struct doctor *d)
{
    const struct atc_doctor_config *c = d->cfg;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;
    const struct rd_kafka_metadata *md = NULL;
    const struct rd_kafka_group_list *groups = NULL;
    char err[512];
    rd_kafka_resp_err_t kerr;

    begin(d, "kafka.brokers");
    if (conf == NULL) {
        end(d, ATC_DOCTOR_FAIL, "out of memory");
        goto out;
    }
    rd_kafka_conf_set_log_cb(conf, kafka_quiet_log);
    if (rd_kafka_conf_set(conf, "group.id", c->group, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) !=
            RD_KAFKA_CONF_OK ||
        atc_kafka_conf_apply(conf, c->brokers, c->xprops, c->nxprops, err, sizeof(err)) != 0) {
        end(d, ATC_DOCTOR_FAIL, "bad Kafka configuration: %s", err);
        goto out;
    }
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL) {
        end(d, ATC_DOCTOR_FAIL, "cannot make a Kafka client: %s", err);
        goto out;
    }
    conf = NULL;
    kerr = rd_kafka_metadata(rk, 1, NULL, &md, (int)d->timeout_ms);
    if (kerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        md = NULL;
        end(d, ATC_DOCTOR_FAIL, "cannot reach the Kafka brokers at %s (%s): check ATC_BROKERS "
            "and that the brokers are up and reachable from here", c->brokers,
            rd_kafka_err2str(kerr));
        goto out;
    }
    detail(d, "metadata answered via %s; %d broker(s) in the cluster:", c->brokers,
           md->broker_cnt);
    for (int i = 0; i < md->broker_cnt && i < 8; i++)
        detail(d, " %s:%d", md->brokers[i].host, md->brokers[i].port);
    end(d, ATC_DOCTOR_PASS, NULL);
    if (stopped(d))
        goto out;

    begin(d, "kafka.topics");
    const rd_kafka_metadata_topic_t *jobs = find_topic(md, c->jobs_topic);
    const rd_kafka_metadata_topic_t *dlq = find_topic(md, c->dlq_topic);
    if (jobs != NULL)
        detail(d, "%s: %d partitions", c->jobs_topic, jobs->partition_cnt);
    if (dlq != NULL)
        detail(d, "%s%s: %d partitions", jobs ? "; " : "", c->dlq_topic, dlq->partition_cnt);
    if (jobs == NULL || dlq == NULL) {
        const char *missing = jobs == NULL ? c->jobs_topic : c->dlq_topic;
        end(d, ATC_DOCTOR_FAIL, "the %s topic '%s' does not exist on the brokers: create it "
            "(kubectl apply -k deploy/k8s/kafka-topics, or kafka-topics.sh --create --topic %s) "
            "or point %s at the right one", jobs == NULL ? "jobs" : "dead-letter", missing,
            missing, jobs == NULL ? "ATC_JOBS_TOPIC" : "ATC_DLQ_TOPIC");
        goto out;
    }
    end(d, ATC_DOCTOR_PASS, NULL);
    if (stopped(d))
        goto out;

    begin(d, "kafka.group");
    kerr = rd_kafka_list_groups(rk, c->group, &groups, (int)d->timeout_ms);
    if (kerr == RD_KAFKA_RESP_ERR_NO_ERROR && groups != NULL && groups->group_cnt == 1 &&
        groups->groups[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        detail(d, "group %s: %d member(s), state %s", c->group, groups->groups[0].member_cnt,
               groups->groups[0].state[0] ? groups->groups[0].state : "unknown");
    else
        detail(d, "group %s: members not reported (%s)", c->group,
               kerr != RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_err2str(kerr)
               : groups && groups->group_cnt == 1 ? rd_kafka_err2str(groups->groups[0].err)
                                                  : "no such group");
    long long lag = 0;
    int committed = 0;
    if (kafka_lag(rk, jobs, d->timeout_ms, &lag, &committed, err, sizeof(err)) != 0) {
        end(d, ATC_DOCTOR_FAIL, "cannot read the lag of group %s on %s (%s): check that the "
            "brokers allow this client to describe the group", c->group, c->jobs_topic, err);
        goto out;
    }
    detail(d, "; lag %lld on %s (%d of %d partitions committed)", lag, c->jobs_topic, committed,
           jobs->partition_cnt);
    end(d, ATC_DOCTOR_PASS, NULL);
out:
    if (groups != NULL)
        rd_kafka_group_list_destroy(groups);
    if (md != NULL)
        rd_kafka_metadata_destroy(md);
    if (rk != NULL)
        rd_kafka_destroy(rk);
    if (conf != NULL)
        rd_kafka_conf_destroy(conf);
}

/* ---- Redis ---- */

/* The value of "name:" in INFO text, into out; 0 when absent. */
static int info_field(const char *info, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    for (const char *p = info; p != NULL && *p != '\0';) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, outlen, "%.*s", (int)len, v);
            return 1;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return 0;
}

static void check_redis(struct doctor *d)
{
    const struct atc_doctor_config *c = d->cfg;
    struct atc_results *r = NULL;
    char *info = NULL, *save = NULL;
    char err[512], version[64], policy[64], aof[16];

    begin(d, "redis");
    r = atc_results_new(c->redis_url, (int)d->timeout_ms, err, sizeof(err));
    if (r == NULL) {
        if (strstr(err, "AUTH") != NULL || strstr(err, "WRONGPASS") != NULL)
            end(d, ATC_DOCTOR_FAIL, "Redis refused the password (%s): put the right one in "
                "ATC_REDIS_URL (redis://[user]:password@host:port/db)", err);
        else
            end(d, ATC_DOCTOR_FAIL, "cannot reach Redis (%s): check ATC_REDIS_URL and that Redis "
                "is up", err);
        goto out;
    }
    const char *info_argv[] = {"INFO"};
    int rc = atc_results_command_text(r, 1, info_argv, &info, err, sizeof(err));
    if (rc == ATC_EAUTH) {
        end(d, ATC_DOCTOR_FAIL, "Redis wants a password (%s): put it in ATC_REDIS_URL "
            "(redis://:password@host:port/db)", err);
        goto out;
    }
    if (rc != 0) {
        end(d, ATC_DOCTOR_FAIL, "Redis does not answer INFO (%s): check ATC_REDIS_URL", err);
        goto out;
    }
    if (!info_field(info, "redis_version", version, sizeof(version)))
        snprintf(version, sizeof(version), "unknown");
    detail(d, "Redis %s answers%s", version, strchr(c->redis_url, '@') ? ", password accepted" : "");
    /* BLMOVE (waiters) and the scripts need Redis 6.2. */
    char *dot = NULL;
    long major = strtol(version, &dot, 10), minor = 0;
    if (dot != NULL && *dot == '.')
        minor = strtol(dot + 1, NULL, 10);
    if (major < 6 || (major == 6 && minor < 2)) {
        end(d, ATC_DOCTOR_FAIL, "Redis %s is too old: atc-fleet needs 6.2 or newer (BLMOVE)",
            version);
        goto out;
    }
    end(d, ATC_DOCTOR_PASS, NULL);

    begin(d, "redis.eviction");
    if (!info_field(info, "maxmemory_policy", policy, sizeof(policy))) {
        const char *argv[] = {"CONFIG", "GET", "maxmemory-policy"};
        char *cg = NULL;
        if (atc_results_command_text(r, 3, argv, &cg, err, sizeof(err)) == 0 &&
            strchr(cg, '\n') != NULL)
            snprintf(policy, sizeof(policy), "%s", strchr(cg, '\n') + 1);
        else
            snprintf(policy, sizeof(policy), "unknown");
        free(cg);
    }
    detail(d, "maxmemory-policy %s", policy);
    if (strcmp(policy, "noeviction") != 0) {
        end(d, ATC_DOCTOR_FAIL, "Redis may evict keys (maxmemory-policy %s), and an evicted result "
            "is a lost result: set maxmemory-policy noeviction (CONFIG SET maxmemory-policy "
            "noeviction, and in redis.conf)", policy);
        goto out;
    }
    end(d, ATC_DOCTOR_PASS, NULL);

    begin(d, "redis.persistence");
    if (!info_field(info, "aof_enabled", aof, sizeof(aof)))
        snprintf(aof, sizeof(aof), "?");
    const char *save_argv[] = {"CONFIG", "GET", "save"};
    const char *points = NULL;
    if (atc_results_command_text(r, 3, save_argv, &save, err, sizeof(err)) == 0 &&
        strchr(save, '\n') != NULL)
        points = strchr(save, '\n') + 1;
    detail(d, "appendonly %s, RDB save points %s%s%s", strcmp(aof, "1") == 0 ? "yes" : "no",
           points == NULL ? "unknown (CONFIG GET refused)" : points[0] ? "\"" : "none",
           points && points[0] ? points : "", points && points[0] ? "\"" : "");
    if (strcmp(aof, "1") != 0 && points != NULL && points[0] == '\0') {
        end(d, ATC_DOCTOR_FAIL, "Redis keeps nothing on disk (appendonly no, no save points), so "
            "a restart loses every result: set appendonly yes (or save points) in redis.conf");
        goto out;
    }
    end(d, ATC_DOCTOR_PASS, NULL);
out:
    free(save);
    free(info);
    atc_results_destroy(r);
}

/* ---- Daytona ---- */

struct http_answer {
    long status;
    char *body;
    size_t len;
    char ratelimit[512];        /* "name=value, ..." of X-RateLimit-* and Retry-After* */
    long retry_after_s;         /* a plain Retry-After, else -1 */
};

static size_t http_body(char *p, size_t size, size_t n, void *arg)
{
    struct http_answer *a = arg;
    size_t len = size * n;
    if (a->len + len > DOCTOR_BODY_MAX)
        return 0;
    char *nb = realloc(a->body, a->len + len + 1);
    if (nb == NULL)
        return 0;
    memcpy(nb + a->len, p, len);
    a->body = nb;
    a->len += len;
    a->body[a->len] = '\0';
    return len;
}

static size_t http_header(char *p, size_t size, size_t n, void *arg)
{
    struct http_answer *a = arg;
    size_t len = size * n;
    if ((len > 12 && strncasecmp(p, "x-ratelimit-", 12) == 0) ||
        (len > 11 && strncasecmp(p, "retry-after", 11) == 0)) {
        size_t used = strlen(a->ratelimit);
        size_t l = len;
        while (l > 0 && (p[l - 1] == '\r' || p[l - 1] == '\n'))
            l--;
        snprintf(a->ratelimit + used, sizeof(a->ratelimit) - used, "%s%.*s", used ? ", " : "",
                 (int)l, p);
        if (l > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
            char num[16];
            snprintf(num, sizeof(num), "%.*s", (int)(l - 12 < 15 ? l - 12 : 15), p + 12);
            a->retry_after_s = strtol(num, NULL, 10);
        }
    }
    return len;
}

static int http_stop(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t e)
{
    (void)a, (void)b, (void)c, (void)e;
    const volatile sig_atomic_t *stop = arg;
    return stop != NULL && *stop;
}

/* GET api_url + path with the key; the answer in *a (caller frees a->body).
 * 0 when an HTTP answer came, else ATC_ECONN with err set. */
static int http_get(struct doctor *d, const char *path, struct http_answer *a, char *err,
                    size_t errlen)
{
    char url[2048], auth[1024];
    struct curl_slist *h = NULL;
    CURL *curl = curl_easy_init();
    int rc = ATC_ECONN;

    memset(a, 0, sizeof(*a));
    a->retry_after_s = -1;
    if (curl == NULL) {
        snprintf(err, errlen, "out of memory");
        return ATC_ENOMEM;
    }
    snprintf(url, sizeof(url), "%s%s", d->cfg->daytona_api_url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", d->cfg->daytona_api_key);
    h = curl_slist_append(h, auth);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, d->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, d->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, http_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, http_stop);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, (void *)d->cfg->stop);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
    rc = 0;
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(curl);
    return rc;
}

static int daytona_stop(void *arg)
{
    const volatile sig_atomic_t *stop = arg;
    return stop != NULL && *stop;
}

/* host and port of the API URL, the egress probe's target: reachable from
 * here, so from a sandbox with network. */
static void api_host_port(const char *url, char *host, size_t hostlen, int *port)
{
    const char *p = strstr(url, "://");
    int https = strncmp(url, "https", 5) == 0;
    p = p ? p + 3 : url;
    size_t n = strcspn(p, ":/");
    snprintf(host, hostlen, "%.*s", (int)n, p);
    *port = https ? 443 : 80;
    if (p[n] == ':')
        *port = (int)strtol(p + n + 1, NULL, 10);
}

/* Snapshot quota of the sandbox's organization, where the API reports it. */
static void daytona_quota(struct doctor *d, const char *sandbox_id)
{
    struct http_answer a;
    char path[512], err[256];
    json_t *j = NULL;

    begin(d, "daytona.quota");
    snprintf(path, sizeof(path), "/sandbox/%s", sandbox_id);
    if (http_get(d, path, &a, err, sizeof(err)) != 0 || a.status != 200) {
        detail(d, "snapshot quota not reported (the sandbox could not be read back)");
        goto done;
    }
    j = json_loadb(a.body, a.len, 0, NULL);
    free(a.body);
    const char *org = json_string_value(json_object_get(j, "organizationId"));
    if (org == NULL || strlen(org) > 128) {
        detail(d, "snapshot quota not reported (no organizationId)");
        goto done;
    }
    snprintf(path, sizeof(path), "/organizations/%s/usage", org);
    json_decref(j);
    j = NULL;
    if (http_get(d, path, &a, err, sizeof(err)) != 0 || a.status != 200) {
        if (a.status)
            detail(d, "snapshot quota not reported by this service (GET /organizations/{id}/usage: "
                   "HTTP %ld)", a.status);
        else
            detail(d, "snapshot quota not reported (GET /organizations/{id}/usage: %s)", err);
        free(a.body);
        goto done;
    }
    j = json_loadb(a.body, a.len, 0, NULL);
    free(a.body);
    json_t *used = json_object_get(j, "currentSnapshotUsage");
    json_t *quota = json_object_get(j, "totalSnapshotQuota");
    if (!json_is_number(used) || !json_is_number(quota)) {
        detail(d, "snapshot quota not reported (no currentSnapshotUsage/totalSnapshotQuota)");
        goto done;
    }
    detail(d, "snapshots %.0f of %.0f in use", json_number_value(used), json_number_value(quota));
    if (json_number_value(quota) > 0 && json_number_value(used) >= json_number_value(quota)) {
        json_decref(j);
        end(d, ATC_DOCTOR_FAIL, "the snapshot quota is used up (%.0f of %.0f): delete unused "
            "snapshots or ask Daytona for more", json_number_value(used),
            json_number_value(quota));
        return;
    }
done:
    json_decref(j);
    end(d, ATC_DOCTOR_PASS, NULL);
}

static void check_daytona(struct doctor *d)
{
    const struct atc_doctor_config *c = d->cfg;
    struct atc_daytona *dt = NULL;
    struct atc_sandbox sb;
    struct http_answer a = {0};
    char err[1024], name[160], job[96], path[512];
    char *out = NULL;
    size_t out_len = 0;
    int exit_code = 0, trunc = 0, made = 0, attempted = 0;

    if (c->skip_daytona) {
        begin(d, "daytona");
        detail(d, "skipped");
        end(d, ATC_DOCTOR_SKIP, NULL);
        return;
    }
    begin(d, "daytona.key");
    /* The fleet's own sandboxes, so the answer is small; the label JSON
     * percent-encoded. */
    char labels_q[256];
    size_t q = 0;
    snprintf(err, sizeof(err), "{\"atc-fleet\":\"%s\"}", c->group);
    for (const unsigned char *p = (const unsigned char *)err; *p && q + 4 < sizeof(labels_q); p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            labels_q[q++] = (char)*p;
        else
            q += (size_t)snprintf(labels_q + q, sizeof(labels_q) - q, "%%%02X", *p);
    }
    labels_q[q] = '\0';
    snprintf(path, sizeof(path), "/sandbox?limit=1&labels=%s", labels_q);
    char seen[512] = "";
    for (int attempt = 0;; attempt++) {
        free(a.body);
        a.body = NULL;
        if (http_get(d, path, &a, err, sizeof(err)) != 0) {
            end(d, ATC_DOCTOR_FAIL, "cannot reach Daytona at %s (%s): check DAYTONA_API_URL and "
                "the network path to it", c->daytona_api_url, err);
            goto out;
        }
        if (a.ratelimit[0])
            snprintf(seen, sizeof(seen), "%s", a.ratelimit);
        /* Rate-limited: the key got past authentication; once more after
         * Retry-After (up to 5 s). */
        if (a.status != 429 || attempt == 1 || stopped(d))
            break;
        long wait_s = a.retry_after_s >= 0 && a.retry_after_s <= 5 ? a.retry_after_s : 5;
        detail(d, "HTTP 429 (retried after %ld s); ", wait_s);
        for (long i = 0; i < wait_s * 10 && !stopped(d); i++)
            atc_clock_sleep_ms(100);
    }
    if (a.status == 401 || a.status == 403) {
        end(d, ATC_DOCTOR_FAIL, "Daytona refused the API key (HTTP %ld): set DAYTONA_API_KEY (or "
            "DAYTONA_API_KEY_FILE) to a valid key for %s", a.status, c->daytona_api_url);
        goto out;
    }
    if (a.status == 429) {
        end(d, ATC_DOCTOR_FAIL, "Daytona rate-limits this organization now (HTTP 429, %s): wait "
            "and run again, or lower the fleet's concurrency", seen[0] ? seen : "no headers");
        goto out;
    }
    if (a.status != 200) {
        end(d, ATC_DOCTOR_FAIL, "Daytona answered HTTP %ld to listing sandboxes: check "
            "DAYTONA_API_URL (it should end in /api) and the service's status", a.status);
        goto out;
    }
    detail(d, "key accepted by %s; rate-limit headers: %s", c->daytona_api_url,
           seen[0] ? seen : "none sent");
    end(d, ATC_DOCTOR_PASS, NULL);
    if (stopped(d))
        goto out;

    struct atc_daytona_opts o = {
        .api_url = c->daytona_api_url,
        .api_key = c->daytona_api_key,
        .target = c->daytona_target && c->daytona_target[0] ? c->daytona_target : NULL,
        .connect_timeout_ms = d->timeout_ms,
        .request_timeout_ms = d->timeout_ms * 6,
    };
    begin(d, "daytona.create");
    dt = atc_daytona_new(&o, err, sizeof(err));
    if (dt == NULL) {
        end(d, ATC_DOCTOR_FAIL, "cannot make a Daytona client: %s", err);
        goto out;
    }
    atc_daytona_set_stop(dt, daytona_stop, (void *)c->stop);
    /* A name of its own, so that a create whose answer never came can still be
     * deleted by name; labels, so that the reapers also find it. */
    char who[64];
    snprintf(who, sizeof(who), "%s", c->worker_id && c->worker_id[0] ? c->worker_id : "atc");
    for (char *p = who; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '.'))
            *p = '-';
    snprintf(job, sizeof(job), "atc-doctor-%ld-%lld", (long)getpid(),
             (long long)(atc_clock_wall_ms() / 1000));
    snprintf(name, sizeof(name), "%s-%s", job, who);
    struct atc_kv labels[] = {
        {"atc-fleet", (char *)c->group},
        {"atc-job", job},
        {"atc-worker", who},
        {"atc-doctor", "1"},
    };
    struct atc_sandbox_spec spec = {
        .name = name,
        .snapshot = c->snapshot && c->snapshot[0] ? c->snapshot : NULL,
        .labels = labels,
        .nlabels = sizeof(labels) / sizeof(labels[0]),
        .auto_stop_min = 5, /* the service's own backstop: stopped, then deleted */
        .auto_delete_min = 0,
        .network_block_all = 1,
    };
    attempted = 1;
    int rc = atc_daytona_create(dt, &spec, &sb, err, sizeof(err));
    if (rc == 0)
        made = 1;
    if (rc == 0 && strcmp(sb.state, "started") != 0)
        rc = atc_daytona_wait_started(dt, &sb, d->timeout_ms * 12, err, sizeof(err));
    if (rc != 0) {
        if (rc == ATC_ECANCELED)
            end(d, ATC_DOCTOR_FAIL, "interrupted");
        else if (rc == ATC_ERATELIMIT)
            end(d, ATC_DOCTOR_FAIL, "Daytona rate-limits sandbox creates (%s): wait and run again, "
                "or lower the fleet's concurrency", err);
        else
            end(d, ATC_DOCTOR_FAIL, "Daytona could not create a sandbox (%s): check the snapshot "
                "(ATC_SANDBOX_SNAPSHOT), DAYTONA_TARGET and the organization's quota", err);
        goto out;
    }
    detail(d, "sandbox %s (%s) %s, labels atc-fleet=%s atc-job=%s, networkBlockAll", sb.id, name,
           sb.state, c->group, job);
    end(d, ATC_DOCTOR_PASS, NULL);
    if (stopped(d))
        goto out;

    begin(d, "daytona.exec");
    rc = atc_daytona_exec(dt, &sb, "echo " DOCTOR_MARK, NULL, NULL, 0, 60, 4096, &exit_code, &out,
                          &out_len, &trunc, err, sizeof(err));
    if (rc != 0 || exit_code != 0 || out == NULL || strstr(out, DOCTOR_MARK) == NULL) {
        end(d, ATC_DOCTOR_FAIL, "a command in the sandbox did not run (%s): check the "
            "toolbox (the sandbox's toolboxProxyUrl must be reachable from here)",
            rc != 0 ? err : "wrong output or exit status");
        goto out;
    }
    detail(d, "`echo " DOCTOR_MARK "` exited 0");
    end(d, ATC_DOCTOR_PASS, NULL);
    free(out);
    out = NULL;
    if (stopped(d))
        goto out;

    begin(d, "daytona.egress");
    char host[256], cmd[768];
    int port = 0;
    api_host_port(c->daytona_api_url, host, sizeof(host), &port);
    /* The API's own address: reachable from here, so from any sandbox with a
     * network. bash's /dev/tcp, else python3: whichever the image has. */
    snprintf(cmd, sizeof(cmd),
             "if command -v bash >/dev/null; then timeout 5 bash -c 'exec 3<>/dev/tcp/%s/%d' "
             ">/dev/null 2>&1; else timeout 5 python3 -c 'import socket; "
             "socket.create_connection((\"%s\", %d), 4)' >/dev/null 2>&1; fi "
             "&& echo EGRESS_OPEN || echo EGRESS_BLOCKED",
             host, port, host, port);
    rc = atc_daytona_exec(dt, &sb, cmd, NULL, NULL, 0, 30, 4096, &exit_code, &out, &out_len,
                          &trunc, err, sizeof(err));
    if (rc != 0 || out == NULL ||
        (strstr(out, "EGRESS_OPEN") == NULL && strstr(out, "EGRESS_BLOCKED") == NULL)) {
        end(d, ATC_DOCTOR_FAIL, "the egress probe did not run in the sandbox (%s)",
            rc != 0 ? err : "no answer from the probe");
        goto out;
    }
    if (strstr(out, "EGRESS_OPEN") != NULL) {
        end(d, ATC_DOCTOR_FAIL, "a sandbox created with networkBlockAll could connect to %s:%d: "
            "the sandbox service does not block egress, so tests can reach the network; use a "
            "Daytona that honours networkBlockAll (daytona-local: see its confinement line)",
            host, port);
        goto out;
    }
    detail(d, "blocked: no connection to %s:%d from inside the sandbox", host, port);
    end(d, ATC_DOCTOR_PASS, NULL);
    if (stopped(d))
        goto out;

    daytona_quota(d, sb.id);
out:
    free(out);
    free(a.body);
    if (attempted) {
        /* Always, also when interrupted: by id, or by name when the create's
         * answer never came. */
        atc_daytona_set_stop(dt, NULL, NULL);
        begin(d, "daytona.delete");
        const char *which = made ? sb.id : name;
        rc = atc_daytona_delete(dt, which, err, sizeof(err));
        if (rc != 0) {
            end(d, ATC_DOCTOR_FAIL, "the test sandbox %s could not be deleted (%s): the workers' "
                "reaper deletes it (label atc-fleet=%s), or delete it in the Daytona dashboard",
                which, err, c->group);
        } else {
            detail(d, "sandbox %s deleted", which);
            end(d, ATC_DOCTOR_PASS, NULL);
        }
    }
    atc_daytona_destroy(dt);
}

int atc_doctor_run(const struct atc_doctor_config *cfg, struct atc_doctor_report *report,
                   void (*on_check)(void *arg, const struct atc_doctor_check *c), void *arg)
{
    struct doctor d = {.cfg = cfg, .report = report, .on_check = on_check, .arg = arg};

    memset(report, 0, sizeof(*report));
    d.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000;
    check_config(&d);
    if (report->checks[0].state == ATC_DOCTOR_PASS) {
        if (!stopped(&d))
            check_kafka(&d);
        if (!stopped(&d))
            check_redis(&d);
        if (!stopped(&d))
            check_daytona(&d);
    }
    report->interrupted = stopped(&d);
    return atc_doctor_problem(report) != NULL || report->interrupted ? 1 : 0;
}

static const char *state_word(enum atc_doctor_state s)
{
    return s == ATC_DOCTOR_PASS ? "ok" : s == ATC_DOCTOR_FAIL ? "FAIL" : "skip";
}

void atc_doctor_format_line(const struct atc_doctor_check *c, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%-4s %-18s %6ld ms  %s%s%s", state_word(c->state), c->name, c->ms,
             c->detail, c->state == ATC_DOCTOR_FAIL ? (c->detail[0] ? " -> " : "-> ") : "",
             c->state == ATC_DOCTOR_FAIL ? c->fix : "");
}

const char *atc_doctor_problem(const struct atc_doctor_report *report)
{
    for (size_t i = 0; i < report->n; i++)
        if (report->checks[i].state == ATC_DOCTOR_FAIL)
            return report->checks[i].fix;
    return NULL;
}

char *atc_doctor_report_json(const struct atc_doctor_report *report)
{
    json_t *root = json_object(), *arr = json_array();
    char *text = NULL;

    if (root == NULL || arr == NULL)
        goto out;
    for (size_t i = 0; i < report->n; i++) {
        const struct atc_doctor_check *c = &report->checks[i];
        json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "name", c->name, "status",
                              c->state == ATC_DOCTOR_PASS ? "pass"
                              : c->state == ATC_DOCTOR_FAIL ? "fail"
                                                            : "skip",
                              "ms", (json_int_t)c->ms, "detail", c->detail);
        if (o != NULL && c->state == ATC_DOCTOR_FAIL)
            json_object_set_new(o, "fix", json_string(c->fix));
        if (o == NULL || json_array_append_new(arr, o) != 0)
            goto out;
    }
    const char *problem = atc_doctor_problem(report);
    json_object_set_new(root, "ok", json_boolean(problem == NULL && !report->interrupted));
    json_object_set(root, "checks", arr);
    json_object_set_new(root, "problem", problem ? json_string(problem)
                                         : report->interrupted ? json_string("interrupted")
                                                               : json_null());
    text = json_dumps(root, JSON_COMPACT);
out:
    json_decref(arr);
    json_decref(root);
    return text;
}
