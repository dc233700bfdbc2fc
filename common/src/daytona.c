/* daytona.c: the Daytona API calls (sandboxes, files, exec) on top of the HTTP
 * layer in daytona_http.c; builds the JSON requests and reads the replies. */
#include "atc/clock.h"
#include "atc/daytona.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "atc/error.h"
#include "atc/output.h"
#include "daytona_http.h"
#include "daytona_json.h"

#define DT_DEFAULT_CONNECT_MS 10000L
#define DT_DEFAULT_REQUEST_MS 60000L
/* Cap on an API JSON reply. */
#define DT_MAX_JSON (16u * 1024 * 1024)
/* Cap on an exec reply: the JSON holding the output, escapes and all. */
#define DT_MAX_EXEC_JSON (64u * 1024 * 1024)
#define DT_MIN_EXEC_JSON (1024u * 1024)
/* The HTTP deadline of an exec is its timeout plus this. */
#define DT_EXEC_MARGIN_S 30
/* Bounds on a listing, against a server that never stops paginating. */
#define DT_LIST_MAX_PAGES 1000
#define DT_LIST_MAX_ITEMS 200000
#define DT_WAIT_FIRST_MS 100.0
#define DT_WAIT_MAX_MS 1000.0
#define DT_WAIT_SLICE_MS 200

struct atc_daytona {
    struct atc_dhttp http;
    char *api_url;      /* without a trailing '/' */
    char *target;       /* or NULL */
    long request_timeout_ms;
    void (*on_call)(void *arg, const char *endpoint, long http_status);
    void *on_call_arg;
};

/* Tells the caller's observer (metrics) about the call just made. */
static void daytona_observe(const struct atc_daytona *d, const char *endpoint)
{
    if (d->on_call)
        d->on_call(d->on_call_arg, endpoint, d->http.last.http_status);
}

struct atc_daytona *atc_daytona_new(const struct atc_daytona_opts *opts, char *err,
                                    size_t errlen)
{
    struct atc_daytona *d = NULL;

    if (opts == NULL || opts->api_url == NULL || opts->api_url[0] == '\0') {
        snprintf(err, errlen, "daytona: no API URL");
        return NULL;
    }
    if (strncmp(opts->api_url, "http://", 7) != 0 && strncmp(opts->api_url, "https://", 8) != 0) {
        snprintf(err, errlen, "daytona: the API URL must start with http:// or https://");
        return NULL;
    }
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        goto nomem;
    long connect_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
                                                   : DT_DEFAULT_CONNECT_MS;
    if (atc_dhttp_init(&d->http, opts->api_key, connect_ms, err, errlen) != 0) {
        free(d);
        return NULL;
    }
    d->api_url = strdup(opts->api_url);
    if (d->api_url == NULL)
        goto nomem;
    size_t n = strlen(d->api_url);
    while (n > 0 && d->api_url[n - 1] == '/')
        d->api_url[--n] = '\0';
    if (opts->target != NULL && opts->target[0] != '\0') {
        d->target = strdup(opts->target);
        if (d->target == NULL)
            goto nomem;
    }
    d->request_timeout_ms = opts->request_timeout_ms > 0 ? opts->request_timeout_ms
                                                         : DT_DEFAULT_REQUEST_MS;
    d->on_call = opts->on_call;
    d->on_call_arg = opts->on_call_arg;
    return d;
nomem:
    snprintf(err, errlen, "daytona: out of memory");
    atc_daytona_destroy(d);
    return NULL;
}

void atc_daytona_destroy(struct atc_daytona *d)
{
    if (d == NULL)
        return;
    atc_dhttp_cleanup(&d->http);
    free(d->api_url);
    free(d->target);
    free(d);
}

void atc_daytona_set_stop(struct atc_daytona *d, int (*stop)(void *arg), void *arg)
{
    d->http.stop = stop;
    d->http.stop_arg = stop != NULL ? arg : NULL;
}

const struct atc_daytona_status *atc_daytona_last(const struct atc_daytona *d)
{
    return &d->http.last;
}

static void reset_last(struct atc_daytona *d)
{
    d->http.last.http_status = 0;
    d->http.last.retry_after_s = -1;
    d->http.last.date_ms = 0;
    d->http.last.code[0] = '\0';
}

/* Copies a JSON string member into out (truncated to fit); "" if absent. */
static void copy_member(char *out, size_t outlen, json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    snprintf(out, outlen, "%s", s != NULL ? s : "");
}

/* Parses body as a JSON value of the given type (JSON_OBJECT or JSON_ARRAY, or
 * -1 for either); NULL with err set when it is not. */
static json_t *load_json(const struct atc_dhttp_body *body, int type, const char *what,
                         char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *v = json_loadb(body->data, body->len, JSON_ALLOW_NUL, &jerr);

    if (v == NULL) {
        snprintf(err, errlen, "%s: the response is not JSON (line %d: %.80s)", what,
                 jerr.line, jerr.text);
        return NULL;
    }
    if ((type == -1 && !json_is_object(v) && !json_is_array(v)) ||
        (type != -1 && (int)json_typeof(v) != type)) {
        snprintf(err, errlen, "%s: the response is not a JSON %s", what,
                 type == JSON_ARRAY ? "array" : "object");
        json_decref(v);
        return NULL;
    }
    return v;
}

/* GET /sandbox/{id}/toolbox-proxy-url into url. */
static int fetch_proxy_url(struct atc_daytona *d, const char *id, char *url, size_t urllen,
                           char *err, size_t errlen)
{
    char what[256];
    char *eid = NULL, *full = NULL;
    struct atc_dhttp_body body = {0};
    json_t *root = NULL;
    int rc = ATC_ENOMEM;

    snprintf(what, sizeof(what), "GET /sandbox/%s/toolbox-proxy-url", id);
    eid = atc_dhttp_escape(&d->http, id);
    if (eid != NULL)
        full = atc_dhttp_fmt("%s/sandbox/%s/toolbox-proxy-url", d->api_url, eid);
    if (full == NULL) {
        snprintf(err, errlen, "%s: out of memory", what);
        goto out;
    }
    struct atc_dhttp_req req = {.method = "GET", .url = full, .what = what,
                                .timeout_ms = d->request_timeout_ms, .max_body = DT_MAX_JSON};
    rc = atc_dhttp_do(&d->http, &req, &body, err, errlen);
    daytona_observe(d, "toolbox_proxy_url");
    if (rc != 0)
        goto out;
    rc = ATC_EPROTO;
    root = load_json(&body, JSON_OBJECT, what, err, errlen);
    if (root == NULL)
        goto out;
    const char *u = json_string_value(json_object_get(root, "url"));
    if (u == NULL || u[0] == '\0') {
        snprintf(err, errlen, "%s: the response has no url", what);
        goto out;
    }
    if ((size_t)snprintf(url, urllen, "%s", u) >= urllen) {
        snprintf(err, errlen, "%s: the url is too long", what);
        goto out;
    }
    rc = 0;
out:
    json_decref(root);
    atc_dhttp_body_free(&body);
    free(full);
    free(eid);
    return rc;
}

/* Fills out from a sandbox JSON object reply; asks for the toolbox proxy URL
 * when the object has none. */
static int parse_sandbox(struct atc_daytona *d, const struct atc_dhttp_body *body,
                         struct atc_sandbox *out, const char *what, char *err, size_t errlen)
{
    char proxy[sizeof(out->toolbox_url)];
    char *eid = NULL;
    int rc;

    rc = atc_djson_sandbox(body->data, body->len, out, proxy, sizeof(proxy), what, err, errlen);
    if (rc != 0)
        goto out;
    rc = ATC_EPROTO;
    if (proxy[0] == '\0') {
        rc = fetch_proxy_url(d, out->id, proxy, sizeof(proxy), err, errlen);
        if (rc != 0)
            goto out;
        rc = ATC_EPROTO;
    }
    if (strncmp(proxy, "http://", 7) != 0 && strncmp(proxy, "https://", 8) != 0) {
        snprintf(err, errlen, "%s: toolboxProxyUrl is not an http(s) URL", what);
        goto out;
    }
    /* The API key goes to this URL: a reply must not send it elsewhere. */
    if (!atc_daytona_url_same_site(d->api_url, proxy)) {
        snprintf(err, errlen, "%s: toolboxProxyUrl %.200s is not on the API's scheme and host "
                 "(%.200s) or a subdomain of it: refused, the API key would go there", what,
                 proxy, d->api_url);
        goto out;
    }
    size_t n = strlen(proxy);
    while (n > 0 && proxy[n - 1] == '/')
        proxy[--n] = '\0';
    eid = atc_dhttp_escape(&d->http, out->id);
    if (eid == NULL) {
        rc = ATC_ENOMEM;
        snprintf(err, errlen, "%s: out of memory", what);
        goto out;
    }
    if ((size_t)snprintf(out->toolbox_url, sizeof(out->toolbox_url), "%s/%s", proxy, eid) >=
        sizeof(out->toolbox_url)) {
        snprintf(err, errlen, "%s: the toolbox URL is too long", what);
        goto out;
    }
    rc = 0;
out:
    free(eid);
    return rc;
}

/* The host of an http(s) URL into host (lower-cased, without port); -1 when
 * the URL has none, holds userinfo ('@') or a host too long. */
static int url_host(const char *url, char *host, size_t hostlen)
{
    const char *p = strstr(url, "://");
    if (p == NULL)
        return -1;
    p += 3;
    size_t n = strcspn(p, "/?#");
    if (memchr(p, '@', n) != NULL)
        return -1;
    size_t h = n;
    if (p[0] == '[') {
        const char *close = memchr(p, ']', n);
        if (close == NULL)
            return -1;
        h = (size_t)(close - p) + 1;
    } else {
        const char *colon = memchr(p, ':', n);
        if (colon != NULL)
            h = (size_t)(colon - p);
    }
    if (h == 0 || h >= hostlen)
        return -1;
    for (size_t i = 0; i < h; i++)
        host[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
    host[h] = '\0';
    return 0;
}

int atc_daytona_url_same_site(const char *api_url, const char *url)
{
    char api_host[256], host[256];
    int https = strncmp(api_url, "https://", 8) == 0;

    if (strncmp(url, https ? "https://" : "http://", https ? 8 : 7) != 0)
        return 0;
    if (url_host(api_url, api_host, sizeof(api_host)) != 0 ||
        url_host(url, host, sizeof(host)) != 0)
        return 0;
    size_t a = strlen(api_host), h = strlen(host);
    if (h == a)
        return strcmp(host, api_host) == 0;
    /* A subdomain: proxy.app.daytona.io of app.daytona.io. */
    return h > a + 1 && host[h - a - 1] == '.' && strcmp(host + h - a, api_host) == 0 &&
           api_host[0] != '[';
}

int atc_daytona_create(struct atc_daytona *d, const struct atc_sandbox_spec *spec,
                       struct atc_sandbox *out, char *err, size_t errlen)
{
    const char *what = "POST /sandbox";
    char *payload = NULL, *url = NULL;
    struct atc_dhttp_body body = {0};
    int rc = ATC_ENOMEM;

    reset_last(d);
    memset(out, 0, sizeof(*out));
    rc = atc_djson_create_body(spec, d->target, &payload);
    if (rc == ATC_ENOMEM)
        goto nomem;
    if (rc != 0) {
        snprintf(err, errlen, "%s: could not build the request (a NULL or non-UTF-8 "
                              "label, env entry, name or snapshot?)", what);
        goto out;
    }
    url = atc_dhttp_fmt("%s/sandbox", d->api_url);
    if (payload == NULL || url == NULL)
        goto nomem;
    struct atc_dhttp_req req = {.method = "POST", .url = url, .what = what, .json = payload,
                                .timeout_ms = d->request_timeout_ms, .max_body = DT_MAX_JSON};
    rc = atc_dhttp_do(&d->http, &req, &body, err, errlen);
    daytona_observe(d, "create");
    if (rc != 0)
        goto out;
    rc = parse_sandbox(d, &body, out, what, err, errlen);
    goto out;
nomem:
    rc = ATC_ENOMEM;
    snprintf(err, errlen, "%s: out of memory", what);
out:
    atc_dhttp_body_free(&body);
    free(url);
    free(payload);
    return rc;
}

int atc_daytona_get(struct atc_daytona *d, const char *id, struct atc_sandbox *out,
                    char *err, size_t errlen)
{
    char what[256];
    char *eid = NULL, *url = NULL;
    struct atc_dhttp_body body = {0};
    int rc = ATC_ENOMEM;

    reset_last(d);
    memset(out, 0, sizeof(*out));
    if (!atc_djson_id_ok(id)) {
        snprintf(err, errlen, "GET /sandbox: invalid sandbox id");
        return ATC_EINVAL;
    }
    snprintf(what, sizeof(what), "GET /sandbox/%s", id);
    eid = atc_dhttp_escape(&d->http, id);
    if (eid != NULL)
        url = atc_dhttp_fmt("%s/sandbox/%s", d->api_url, eid);
    if (url == NULL) {
        snprintf(err, errlen, "%s: out of memory", what);
        goto out;
    }
    struct atc_dhttp_req req = {.method = "GET", .url = url, .what = what,
                                .timeout_ms = d->request_timeout_ms, .max_body = DT_MAX_JSON};
    rc = atc_dhttp_do(&d->http, &req, &body, err, errlen);
    daytona_observe(d, "get");
    if (rc != 0)
        goto out;
    rc = parse_sandbox(d, &body, out, what, err, errlen);
out:
    atc_dhttp_body_free(&body);
    free(url);
    free(eid);
    return rc;
}

int atc_daytona_wait_started(struct atc_daytona *d, struct atc_sandbox *sb, long timeout_ms,
                             char *err, size_t errlen)
{
    struct atc_sandbox cur;
    char last_err[256] = "";
    long long deadline = atc_clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    double delay = DT_WAIT_FIRST_MS;

    reset_last(d);
    if (strcmp(sb->state, "started") == 0)
        return 0;
    for (;;) {
        int rc = atc_daytona_get(d, sb->id, &cur, err, errlen);
        if (rc == 0) {
            *sb = cur;
            last_err[0] = '\0';
            if (strcmp(cur.state, "started") == 0)
                return 0;
            if (strcmp(cur.state, "error") == 0 || strcmp(cur.state, "build_failed") == 0 ||
                strcmp(cur.state, "destroyed") == 0 || strcmp(cur.state, "destroying") == 0) {
                snprintf(err, errlen, "sandbox %s failed to start: state %s%s%s", cur.id,
                         cur.state, cur.error_reason[0] ? ": " : "", cur.error_reason);
                return ATC_ESERVER;
            }
        } else if (!atc_error_transient(rc)) { /* a transient one is ridden out */
            return rc;
        } else {
            snprintf(last_err, sizeof(last_err), "%s", err);
        }
        long long left = deadline - atc_clock_mono_ms();
        if (left <= 0) {
            snprintf(err, errlen, "sandbox %s not started within %ld ms (state %s%s%s)",
                     sb->id, timeout_ms, sb->state[0] ? sb->state : "unknown",
                     last_err[0] ? "; last poll: " : "", last_err);
            return ATC_ETIMEDOUT;
        }
        double wait = delay;
        double ra = d->http.last.retry_after_s;
        if (rc == ATC_ERATELIMIT && ra * 1000.0 > wait)
            wait = ra * 1000.0;
        if (wait > (double)left)
            wait = (double)left;
        /* In slices, so that a caller's stop is seen within a fifth of a second. */
        for (long long slept = 0; slept < (long long)wait; slept += DT_WAIT_SLICE_MS) {
            if (d->http.stop != NULL && d->http.stop(d->http.stop_arg)) {
                snprintf(err, errlen, "sandbox %s: waiting for it to start: the caller stopped",
                         sb->id);
                return ATC_ECANCELED;
            }
            long long part = (long long)wait - slept;
            atc_clock_sleep_ms(part < DT_WAIT_SLICE_MS ? part : DT_WAIT_SLICE_MS);
        }
        delay *= 1.1;
        if (delay > DT_WAIT_MAX_MS)
            delay = DT_WAIT_MAX_MS;
    }
}

/* method on /sandbox/{id}{action} (action "" or "/name") with an optional JSON
 * body, its reply discarded; endpoint names the call for the observer. */
static int sandbox_call(struct atc_daytona *d, const char *method, const char *id,
                        const char *action, const char *json, const char *endpoint, char *err,
                        size_t errlen)
{
    char what[256];
    char *eid = NULL, *url = NULL;
    struct atc_dhttp_body body = {0};
    int rc = ATC_ENOMEM;

    reset_last(d);
    if (!atc_djson_id_ok(id)) {
        snprintf(err, errlen, "%s /sandbox%s: invalid sandbox id", method, action);
        return ATC_EINVAL;
    }
    snprintf(what, sizeof(what), "%s /sandbox/%s%s", method, id, action);
    eid = atc_dhttp_escape(&d->http, id);
    if (eid != NULL)
        url = atc_dhttp_fmt("%s/sandbox/%s%s", d->api_url, eid, action);
    if (url == NULL) {
        snprintf(err, errlen, "%s: out of memory", what);
        goto out;
    }
    struct atc_dhttp_req req = {.method = method, .url = url, .what = what, .json = json,
                                .timeout_ms = d->request_timeout_ms, .max_body = DT_MAX_JSON};
    rc = atc_dhttp_do(&d->http, &req, &body, err, errlen);
    daytona_observe(d, endpoint);
out:
    atc_dhttp_body_free(&body);
    free(url);
    free(eid);
    return rc;
}

int atc_daytona_block_network(struct atc_daytona *d, const char *id, char *err, size_t errlen)
{
    return sandbox_call(d, "POST", id, "/network-settings", "{\"networkBlockAll\":true}",
                        "network", err, errlen);
}

int atc_daytona_delete(struct atc_daytona *d, const char *id, char *err, size_t errlen)
{
    int rc = sandbox_call(d, "DELETE", id, "", NULL, "delete", err, errlen);
    /* Already gone is what we wanted. */
    return rc == ATC_ENOTFOUND ? 0 : rc;
}

/* Appends the items of one listing page to *items. */
static int list_page(json_t *arr, struct atc_sandbox_item **items, size_t *n, size_t *cap,
                     const char *what, char *err, size_t errlen)
{
    size_t i;
    json_t *it;

    json_array_foreach(arr, i, it) {
        const char *id = json_string_value(json_object_get(it, "id"));
        if (!atc_djson_id_ok(id))
            continue;
        if (*n >= DT_LIST_MAX_ITEMS) {
            snprintf(err, errlen, "%s: more than %d sandboxes", what, DT_LIST_MAX_ITEMS);
            return ATC_EPROTO;
        }
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            struct atc_sandbox_item *p = realloc(*items, nc * sizeof(*p));
            if (p == NULL) {
                snprintf(err, errlen, "%s: out of memory", what);
                return ATC_ENOMEM;
            }
            *items = p;
            *cap = nc;
        }
        struct atc_sandbox_item *s = &(*items)[(*n)++];
        memset(s, 0, sizeof(*s));
        snprintf(s->id, sizeof(s->id), "%s", id);
        copy_member(s->state, sizeof(s->state), it, "state");
        copy_member(s->name, sizeof(s->name), it, "name");
        json_t *labels = json_object_get(it, "labels");
        if (json_is_object(labels)) {
            copy_member(s->job_label, sizeof(s->job_label), labels, "atc-job");
            copy_member(s->worker_label, sizeof(s->worker_label), labels, "atc-worker");
        }
        if (atc_dhttp_iso8601_ms(json_string_value(json_object_get(it, "createdAt")),
                                 &s->created_ms) != 0)
            s->created_ms = 0;
    }
    return 0;
}

int atc_daytona_list(struct atc_daytona *d, const struct atc_kv *labels, size_t nlabels,
                     struct atc_sandbox_item **items, size_t *nitems, char *err,
                     size_t errlen)
{
    const char *what = "GET /sandbox";
    json_t *root = NULL;
    char *ljs = NULL, *elabels = NULL, *url = NULL, *cursor = NULL, *ecursor = NULL;
    struct atc_dhttp_body body = {0};
    struct atc_sandbox_item *acc = NULL;
    size_t n = 0, cap = 0;
    int rc = ATC_ENOMEM;

    reset_last(d);
    *items = NULL;
    *nitems = 0;
    rc = atc_djson_labels_query(labels, nlabels, &ljs);
    if (rc == ATC_EINVAL) {
        snprintf(err, errlen, "%s: could not encode the labels", what);
        goto out;
    }
    rc = ATC_ENOMEM;
    if (ljs != NULL)
        elabels = atc_dhttp_escape(&d->http, ljs);
    if (elabels == NULL)
        goto nomem;
    for (int page = 0;; page++) {
        if (page >= DT_LIST_MAX_PAGES) {
            rc = ATC_EPROTO;
            snprintf(err, errlen, "%s: more than %d pages", what, DT_LIST_MAX_PAGES);
            goto out;
        }
        free(url);
        url = cursor != NULL
                  ? atc_dhttp_fmt("%s/sandbox?labels=%s&limit=200&cursor=%s", d->api_url,
                                  elabels, ecursor)
                  : atc_dhttp_fmt("%s/sandbox?labels=%s&limit=200", d->api_url, elabels);
        if (url == NULL)
            goto nomem;
        struct atc_dhttp_req req = {.method = "GET", .url = url, .what = what,
                                    .timeout_ms = d->request_timeout_ms,
                                    .max_body = DT_MAX_JSON, .gzip = 1, .want_date = 1};
        atc_dhttp_body_free(&body);
        rc = atc_dhttp_do(&d->http, &req, &body, err, errlen);
        daytona_observe(d, "list");
        if (rc != 0)
            goto out;
        json_decref(root);
        rc = ATC_EPROTO;
        root = load_json(&body, -1, what, err, errlen);
        if (root == NULL)
            goto out;
        /* Older APIs answered with a plain array. */
        json_t *arr = json_is_array(root) ? root : json_object_get(root, "items");
        if (!json_is_array(arr)) {
            snprintf(err, errlen, "%s: the response has no items array", what);
            goto out;
        }
        rc = list_page(arr, &acc, &n, &cap, what, err, errlen);
        if (rc != 0)
            goto out;
        const char *next = json_is_object(root)
                               ? json_string_value(json_object_get(root, "nextCursor"))
                               : NULL;
        if (next == NULL || next[0] == '\0')
            break;
        if (cursor != NULL && strcmp(cursor, next) == 0) {
            rc = ATC_EPROTO;
            snprintf(err, errlen, "%s: nextCursor repeats itself", what);
            goto out;
        }
        free(cursor);
        free(ecursor);
        ecursor = NULL;
        cursor = strdup(next);
        if (cursor != NULL)
            ecursor = atc_dhttp_escape(&d->http, cursor);
        if (ecursor == NULL)
            goto nomem;
    }
    *items = acc;
    *nitems = n;
    acc = NULL;
    rc = 0;
    goto out;
nomem:
    rc = ATC_ENOMEM;
    snprintf(err, errlen, "%s: out of memory", what);
out:
    free(acc);
    json_decref(root);
    atc_dhttp_body_free(&body);
    free(ecursor);
    free(cursor);
    free(url);
    free(elabels);
    free(ljs);
    return rc;
}

/* The multipart body of a bulk upload, built by hand, not with curl_mime:
 * measured with curl_mime (2026-12-06, bench_overhead.sh at concurrency 32,
 * callgrind) an upload cost 315 k instructions against 106 k, +209 k a job
 * (of the worker's ~550 k): 72 k in curl_mime_init drawing a random boundary
 * from libcrypto, the rest in curl's part reader and its header formatting.
 * See docs/daytona-client.md. */
struct mp_buf {
    char *p;
    size_t len;
};

/* Appends n bytes (when out->p is NULL, only counts them). */
static void mp_put(struct mp_buf *out, const void *s, size_t n)
{
    if (out->p != NULL && n > 0)
        memcpy(out->p + out->len, s, n);
    out->len += n;
}

static void mp_puts(struct mp_buf *out, const char *s)
{
    mp_put(out, s, strlen(s));
}

/* Appends a form field or file name the way curl does (HTML5): '"', CR and
 * LF percent-escaped. */
static void mp_put_name(struct mp_buf *out, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '"')
            mp_put(out, "%22", 3);
        else if (*s == '\r')
            mp_put(out, "%0D", 3);
        else if (*s == '\n')
            mp_put(out, "%0A", 3);
        else
            mp_put(out, s, 1);
    }
}

/* Writes (or, with out->p NULL, measures) the whole body. */
static void mp_body(struct mp_buf *out, const char *boundary, const struct atc_job_file *files,
                    size_t nfiles)
{
    char index[24];

    for (size_t i = 0; i < nfiles; i++) {
        /* i in decimal, without printf (called twice per file and upload). */
        char *d = index + sizeof(index) - 1;
        size_t v = i;
        *d = '\0';
        do {
            *--d = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0);
        memmove(index, d, (size_t)(index + sizeof(index) - d));
        /* The daemon needs each path field before its file part. */
        mp_puts(out, "--");
        mp_puts(out, boundary);
        mp_puts(out, "\r\nContent-Disposition: form-data; name=\"files[");
        mp_puts(out, index);
        mp_puts(out, "].path\"\r\n\r\n");
        mp_puts(out, files[i].path);
        mp_puts(out, "\r\n--");
        mp_puts(out, boundary);
        mp_puts(out, "\r\nContent-Disposition: form-data; name=\"files[");
        mp_puts(out, index);
        mp_puts(out, "].file\"; filename=\"");
        mp_put_name(out, files[i].path);
        mp_puts(out, "\"\r\nContent-Type: application/octet-stream\r\n\r\n");
        mp_put(out, files[i].data, files[i].len);
        mp_puts(out, "\r\n");
    }
    mp_puts(out, "--");
    mp_puts(out, boundary);
    mp_puts(out, "--\r\n");
}

/* 1 when the boundary occurs in a path or a file's data. */
static int mp_boundary_used(const char *boundary, const struct atc_job_file *files,
                            size_t nfiles)
{
    size_t blen = strlen(boundary);

    for (size_t i = 0; i < nfiles; i++) {
        if (strstr(files[i].path, boundary) != NULL ||
            (files[i].len >= blen && memmem(files[i].data, files[i].len, boundary, blen) != NULL))
            return 1;
    }
    return 0;
}

/* A boundary that occurs in none of the files: a 64-bit mix of the clock and
 * a counter, in hex, drawn again in the unlikely case that it does occur.
 * Returns 0, or -1 when every draw occurred. */
static int mp_boundary(char *out, size_t outlen, const struct atc_job_file *files,
                       size_t nfiles)
{
    static _Atomic unsigned long long counter;
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    for (int draw = 0; draw < 64; draw++) {
        /* splitmix64 */
        unsigned long long z = (unsigned long long)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^
                               (unsigned long long)ts.tv_sec ^ (counter++ << 32);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        snprintf(out, outlen, "atc-%016llx", z);
        if (!mp_boundary_used(out, files, nfiles))
            return 0;
    }
    return -1;
}

int atc_daytona_upload(struct atc_daytona *d, const struct atc_sandbox *sb,
                       const struct atc_job_file *files, size_t nfiles, char *err,
                       size_t errlen)
{
    char what[256];
    char boundary[64];
    char ctype[128];
    char *url = NULL;
    struct mp_buf mp = {0};
    struct atc_dhttp_body body = {0};
    int rc = ATC_ENOMEM;

    reset_last(d);
    snprintf(what, sizeof(what), "POST /toolbox/%s/files/bulk-upload", sb->id);
    if (nfiles == 0)
        return 0;
    for (size_t i = 0; i < nfiles; i++) {
        if (files[i].path == NULL || files[i].path[0] == '\0' ||
            (files[i].data == NULL && files[i].len > 0)) {
            rc = ATC_EINVAL;
            snprintf(err, errlen, "%s: file %zu has no path or no data", what, i);
            goto out;
        }
    }
    if (mp_boundary(boundary, sizeof(boundary), files, nfiles) != 0) {
        rc = ATC_EINVAL;
        snprintf(err, errlen, "%s: no multipart boundary fits the files", what);
        goto out;
    }
    snprintf(ctype, sizeof(ctype), "Content-Type: multipart/form-data; boundary=%s", boundary);
    mp_body(&mp, boundary, files, nfiles);
    size_t total = mp.len;
    url = atc_dhttp_fmt("%s/files/bulk-upload", sb->toolbox_url);
    mp.p = malloc(total + 1);
    if (url == NULL || mp.p == NULL)
        goto nomem;
    mp.len = 0;
    mp_body(&mp, boundary, files, nfiles);
    struct atc_dhttp_req req = {.method = "POST", .url = url, .what = what, .body = mp.p,
                                .body_len = mp.len, .content_type = ctype,
                                .timeout_ms = d->request_timeout_ms, .max_body = DT_MAX_JSON};
    rc = atc_dhttp_do(&d->http, &req, &body, err, errlen);
    daytona_observe(d, "upload");
    if (rc != 0)
        goto out;
    if (d->http.last.http_status != 200) {
        rc = ATC_EPROTO;
        snprintf(err, errlen, "%s: HTTP %ld where 200 was expected", what,
                 d->http.last.http_status);
    }
    goto out;
nomem:
    rc = ATC_ENOMEM;
    snprintf(err, errlen, "%s: out of memory", what);
out:
    atc_dhttp_body_free(&body);
    free(mp.p);
    free(url);
    return rc;
}

int atc_daytona_exec(struct atc_daytona *d, const struct atc_sandbox *sb,
                     const char *command, const char *cwd, const struct atc_kv *env,
                     size_t nenv, unsigned timeout_s, size_t max_output, int *exit_code,
                     char **output, size_t *output_len, int *truncated, char *err,
                     size_t errlen)
{
    char what[256];
    char *payload = NULL, *url = NULL, *out_buf = NULL;
    struct atc_dhttp_body body = {0};
    int rc = ATC_ENOMEM;

    reset_last(d);
    *exit_code = -1;
    *output = NULL;
    *output_len = 0;
    *truncated = 0;
    snprintf(what, sizeof(what), "POST /toolbox/%s/process/execute", sb->id);
    if (command == NULL || command[0] == '\0') {
        snprintf(err, errlen, "%s: empty command", what);
        return ATC_EINVAL;
    }
    rc = atc_djson_exec_body(command, cwd, env, nenv, timeout_s, &payload);
    if (rc == ATC_ENOMEM)
        goto nomem;
    if (rc != 0) {
        snprintf(err, errlen, "%s: could not build the request (a NULL or non-UTF-8 "
                              "command, cwd or env entry?)", what);
        goto out;
    }
    url = atc_dhttp_fmt("%s/process/execute", sb->toolbox_url);
    if (payload == NULL || url == NULL)
        goto nomem;
    /* The whole JSON is needed to read the output out of it; an escaped byte
     * takes up to 6, so allow for that when the caller keeps a lot. */
    size_t max_body = DT_MAX_EXEC_JSON;
    if (max_output < (SIZE_MAX - 65536) / 6)
        max_body = max_output * 6 + 65536;
    /* No more than that: a reply is held whole, twice over while parsed, so a
     * sandbox that bypasses its runner's capper cannot push the worker past
     * its memory. A floor keeps small callers' head and tail meaningful. */
    if (max_body < DT_MIN_EXEC_JSON)
        max_body = DT_MIN_EXEC_JSON;
    struct atc_dhttp_req req = {
        .method = "POST", .url = url, .what = what, .json = payload,
        .timeout_ms = timeout_s > 0 ? ((long)timeout_s + DT_EXEC_MARGIN_S) * 1000L : 0,
        .max_body = max_body, .gzip = 1};
    rc = atc_dhttp_do(&d->http, &req, &body, err, errlen);
    daytona_observe(d, "exec");
    if (rc != 0)
        goto out;
    size_t len = 0;
    rc = atc_djson_exec_reply(body.data, body.len, exit_code, &out_buf, &len, what, err, errlen);
    if (rc != 0)
        goto out;
    len = atc_output_cap(out_buf, len, max_output, truncated);
    out_buf[len] = '\0';
    *output = out_buf;
    *output_len = len;
    out_buf = NULL;
    rc = 0;
    goto out;
nomem:
    rc = ATC_ENOMEM;
    snprintf(err, errlen, "%s: out of memory", what);
out:
    free(out_buf);
    atc_dhttp_body_free(&body);
    free(url);
    free(payload);
    return rc;
}

int atc_daytona_download(struct atc_daytona *d, const struct atc_sandbox *sb,
                         const char *path, size_t max_bytes, char **data, size_t *len,
                         char *err, size_t errlen)
{
    char what[256];
    char *epath = NULL, *url = NULL;
    struct atc_dhttp_body body = {0};
    int rc = ATC_ENOMEM;

    reset_last(d);
    *data = NULL;
    *len = 0;
    snprintf(what, sizeof(what), "GET /toolbox/%s/files/download", sb->id);
    if (path == NULL || path[0] == '\0') {
        snprintf(err, errlen, "%s: empty path", what);
        return ATC_EINVAL;
    }
    epath = atc_dhttp_escape(&d->http, path);
    if (epath != NULL)
        url = atc_dhttp_fmt("%s/files/download?path=%s", sb->toolbox_url, epath);
    if (url == NULL) {
        snprintf(err, errlen, "%s: out of memory", what);
        goto out;
    }
    struct atc_dhttp_req req = {.method = "GET", .url = url, .what = what,
                                .timeout_ms = d->request_timeout_ms, .max_body = max_bytes,
                                .gzip = 1};
    rc = atc_dhttp_do(&d->http, &req, &body, err, errlen);
    daytona_observe(d, "download");
    if (rc != 0)
        goto out;
    *data = body.data;
    *len = body.len;
    body.data = NULL;
out:
    atc_dhttp_body_free(&body);
    free(url);
    free(epath);
    return rc;
}

/* For the client's other files (daytona_priv.h). */
struct atc_dhttp *atc_daytona_http_(struct atc_daytona *d)
{
    return &d->http;
}

const char *atc_daytona_api_url_(const struct atc_daytona *d)
{
    return d->api_url;
}

long atc_daytona_request_timeout_ms_(const struct atc_daytona *d)
{
    return d->request_timeout_ms;
}

void atc_daytona_reset_last_(struct atc_daytona *d)
{
    reset_last(d);
}

void atc_daytona_observe_(const struct atc_daytona *d, const char *endpoint)
{
    daytona_observe(d, endpoint);
}
