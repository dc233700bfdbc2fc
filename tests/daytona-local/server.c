/* server.c: daytona-local's HTTP front: request bodies, auth, latency,
 * injected faults, routing, and the reply helpers. */
#include "server.h"
#include "api.h"
#include "snapshots.h"
#include "faults.h"
#include "interp.h"
#include "sandbox.h"
#include "toolbox.h"
#include "util.h"

#include "atc/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_requests, g_unauthorized;

const char *dl_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Internal Server Error" : "Bad Request";
    }
}

enum MHD_Result dl_reply(struct dl_req *r, int status, struct MHD_Response *resp)
{
    if (!resp)
        return MHD_NO;
    if (r->fault.kind == DL_FAULT_DROP_AFTER) {
        /* The request was carried out; its answer is lost on the way. */
        MHD_destroy_response(resp);
        dl_faults_count_injected();
        r->status = -3;
        return MHD_NO;
    }
    r->status = status;
    if (strncmp(r->url, "/api", 4) == 0)
        MHD_add_response_header(resp, "X-Daytona-Api-Version", "daytona-local");
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

enum MHD_Result dl_reply_json(struct dl_req *r, int status, json_t *j)
{
    char *text = NULL;
    if (j)
        text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text) {
        static const char oom[] = "{\"statusCode\":500,\"message\":\"An unexpected error occurred.\"}";
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            sizeof(oom) - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, "Content-Type", "application/json");
        return dl_reply(r, 500, resp);
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text,
                                                                MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    return dl_reply(r, status, resp);
}

enum MHD_Result dl_reply_empty(struct dl_req *r, int status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"",
                                                                MHD_RESPMEM_PERSISTENT);
    return dl_reply(r, status, resp);
}

enum MHD_Result dl_reply_api_error(struct dl_req *r, int status, const char *message)
{
    char ts[40];
    dl_iso_time(atc_clock_wall_ms(), ts, sizeof(ts));
    return dl_reply_json(r, status,
                         json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "path", r->url, "timestamp", ts,
                                   "statusCode", status, "error", dl_reason(status), "message",
                                   message, "source", "DAYTONA_API"));
}

enum MHD_Result dl_reply_daemon_error(struct dl_req *r, int status, const char *code,
                                      const char *message)
{
    char ts[40];
    const char *path = r->url;
    /* The daemon sees the path without the proxy's /toolbox/<id> prefix. */
    if (strncmp(path, "/toolbox/", 9) == 0) {
        const char *slash = strchr(path + 9, '/');
        path = slash ? slash : "/";
    }
    dl_iso_time(atc_clock_wall_ms(), ts, sizeof(ts));
    return dl_reply_json(r, status,
                         json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "statusCode", status,
                                   "message", message, "code", code, "timestamp", ts, "path", path,
                                   "method", r->method, "source", "DAYTONA_DAEMON"));
}

enum MHD_Result dl_reply_rate_limited(struct dl_req *r, const char *throttler, long limit,
                                      long retry_after_s)
{
    char ts[40], name[96], val[32];
    dl_iso_time(atc_clock_wall_ms(), ts, sizeof(ts));
    json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "path", r->url, "timestamp", ts,
                          "statusCode", 429, "error", "Too Many Requests", "message",
                          "Rate limit exceeded", "source", "DAYTONA_API");
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text,
                                                                MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    snprintf(val, sizeof(val), "%ld", retry_after_s);
    MHD_add_response_header(resp, "Retry-After", val);
    snprintf(name, sizeof(name), "Retry-After-%s", throttler);
    MHD_add_response_header(resp, name, val);
    snprintf(name, sizeof(name), "X-RateLimit-Reset-%s", throttler);
    MHD_add_response_header(resp, name, val);
    snprintf(name, sizeof(name), "X-RateLimit-Limit-%s", throttler);
    snprintf(val, sizeof(val), "%ld", limit);
    MHD_add_response_header(resp, name, val);
    snprintf(name, sizeof(name), "X-RateLimit-Remaining-%s", throttler);
    MHD_add_response_header(resp, name, "0");
    return dl_reply(r, 429, resp);
}

void dl_toolbox_url(struct dl_req *r, char *out, size_t outlen)
{
    const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Host");
    int ok = host && *host && strlen(host) < 256;
    for (const char *p = host; ok && *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-' || *p == ':' || *p == '[' || *p == ']' || *p == '_'))
            ok = 0;
    if (ok)
        snprintf(out, outlen, "http://%s/toolbox", host);
    else
        snprintf(out, outlen, "http://%s:%d/toolbox", g_dl_cfg.host, g_dl_cfg.port);
}

json_t *dl_req_json(struct dl_req *r)
{
    if (r->body_len == 0)
        return json_object();
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int authorized(struct dl_req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    if (!*tok)
        return 0;
    if (!g_dl_cfg.api_key[0])
        return 1;
    size_t a = strlen(tok), b = strlen(g_dl_cfg.api_key);
    unsigned diff = a != b;
    for (size_t i = 0; i < a && i < b; i++)
        diff |= (unsigned)(tok[i] ^ g_dl_cfg.api_key[i]);
    return diff == 0;
}

json_t *dl_server_stats(void)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    dl_sandbox_stats(o);
    dl_faults_stats(o);
    dl_toolbox_stats(o);
    dl_snapshot_stats(o);
    pthread_mutex_lock(&g_lock);
    json_object_set_new(o, "requests", json_integer(g_requests));
    json_object_set_new(o, "unauthorized", json_integer(g_unauthorized));
    pthread_mutex_unlock(&g_lock);
    json_object_set_new(o, "python", json_string(dl_interp_python()));
    json_object_set_new(o, "python_version", json_string(dl_interp_version()));
    json_object_set_new(o, "sandbox_bin", json_string(dl_interp_bindir()));
    return o;
}

static enum MHD_Result handle_local(struct dl_req *r)
{
    char err[256];
    if (strcmp(r->url, "/_local/stats") == 0 && strcmp(r->method, "GET") == 0)
        return dl_reply_json(r, 200, dl_server_stats());
    if (strcmp(r->url, "/_local/faults") == 0) {
        if (strcmp(r->method, "GET") == 0)
            return dl_reply_json(r, 200, json_pack("{s:o}", "next", dl_faults_pending()));
        if (strcmp(r->method, "DELETE") == 0) {
            dl_faults_clear();
            return dl_reply_json(r, 200, json_pack("{s:[]}", "next"));
        }
        if (strcmp(r->method, "POST") == 0) {
            json_t *body = dl_req_json(r);
            int n = body ? dl_faults_enqueue(body, err, sizeof(err)) : -1;
            if (!body)
                snprintf(err, sizeof(err), "body must be a JSON object");
            json_decref(body);
            if (n < 0)
                return dl_reply_api_error(r, 400, err);
            return dl_reply_json(r, 200, json_pack("{s:i}", "queued", n));
        }
    }
    return dl_reply_api_error(r, 404, "Not Found");
}

/* Applies an injected fault; returns what the handler must return. */
static enum MHD_Result apply_fault(struct dl_req *r)
{
    const struct dl_fault *f = &r->fault;
    dl_faults_count_injected();
    if (f->kind == DL_FAULT_DROP) {
        r->status = -1;
        return MHD_NO;
    }
    if (f->kind == DL_FAULT_HANG) {
        dl_sleep_ms(f->hang_ms > 0 ? f->hang_ms : g_dl_cfg.hang_ms);
        r->status = -2;
        return MHD_NO;
    }
    int is_api = strncmp(r->url, "/api", 4) == 0;
    if (f->status == 429) {
        const char *throttler = "authenticated";
        if (is_api && strcmp(r->method, "POST") == 0 && strcmp(r->url, "/api/sandbox") == 0)
            throttler = "sandbox-create";
        else if (is_api && strcmp(r->method, "GET") != 0)
            throttler = "sandbox-lifecycle";
        return dl_reply_rate_limited(r, throttler, 300, f->retry_after);
    }
    if (is_api)
        return dl_reply_api_error(r, f->status,
                                  f->status == 500 ? "An unexpected error occurred."
                                                   : "injected fault");
    const char *code = f->status >= 500 ? "INTERNAL_SERVER_ERROR"
                     : f->status == 404 ? "NOT_FOUND"
                     : f->status == 408 ? "REQUEST_TIMEOUT"
                     : f->status == 409 ? "CONFLICT"
                     : f->status == 401 ? "UNAUTHORIZED"
                     : f->status == 403 ? "FORBIDDEN" : "BAD_REQUEST";
    return dl_reply_daemon_error(r, f->status, code, "injected fault");
}

static enum MHD_Result dispatch(struct dl_req *r)
{
    int is_api = strcmp(r->url, "/api") == 0 || strncmp(r->url, "/api/", 5) == 0;
    int is_toolbox = strncmp(r->url, "/toolbox/", 9) == 0;

    if (strncmp(r->url, "/_local/", 8) == 0)
        return handle_local(r);
    if (strncmp(r->url, "/api/socket.io", 14) == 0)
        return dl_reply_api_error(r, 404, "Not Found");
    if (!is_api && !is_toolbox)
        return dl_reply_api_error(r, 404, "Not Found");
    if (!authorized(r)) {
        pthread_mutex_lock(&g_lock);
        g_unauthorized++;
        pthread_mutex_unlock(&g_lock);
        if (is_api)
            return dl_reply_api_error(r, 401, "Unauthorized");
        return dl_reply_daemon_error(r, 401, "UNAUTHORIZED", "Unauthorized");
    }
    if (g_dl_cfg.latency_ms > 0)
        dl_sleep_ms(g_dl_cfg.latency_ms);
    if (r->fault.kind != DL_FAULT_NONE && r->fault.kind != DL_FAULT_DROP_AFTER)
        return apply_fault(r);
    if (r->body_too_large) {
        if (is_api)
            return dl_reply_api_error(r, 413, "request body too large");
        return dl_reply_daemon_error(r, 413, "BAD_REQUEST", "request body too large");
    }
    if (is_api)
        return dl_api_handle(r);
    return dl_toolbox_handle(r);
}

enum MHD_Result dl_handle(void *cls, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version, const char *upload_data,
                          size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    struct dl_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->conn = conn;
        r->url = url;
        r->method = method;
        r->start_ms = atc_clock_mono_ms();
        if ((strncmp(url, "/api", 4) == 0 || strncmp(url, "/toolbox/", 9) == 0) &&
            strncmp(url, "/api/socket.io", 14) != 0)
            dl_faults_pick(method, url, &r->fault);
        *con_cls = r;
        pthread_mutex_lock(&g_lock);
        g_requests++;
        pthread_mutex_unlock(&g_lock);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->body_too_large || r->body_len + n > g_dl_cfg.max_body_bytes) {
            r->body_too_large = 1;
            return MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 4096;
            while (cap < r->body_len + n + 1)
                cap *= 2;
            char *p = realloc(r->body, cap);
            if (!p) {
                r->body_too_large = 1;
                return MHD_YES;
            }
            r->body = p;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    if (!r->body) {
        r->body = strdup("");
        if (!r->body)
            return MHD_NO;
    }
    return dispatch(r);
}

void dl_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                  enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    struct dl_req *r = *con_cls;
    if (!r)
        return;
    if (g_dl_cfg.verbose) {
        const char *what = r->status == -1 ? " (fault: dropped)"
                         : r->status == -2 ? " (fault: hung, dropped)"
                         : r->status == -3 ? " (fault: done, then dropped)"
                                           : "";
        fprintf(stderr, "daytona-local: %s %s %d %lldms%s%s\n", r->method, r->url,
                r->status > 0 ? r->status : 0, (long long)(atc_clock_mono_ms() - r->start_ms), what,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (not completed)");
    }
    free(r->body);
    free(r);
    *con_cls = NULL;
}
