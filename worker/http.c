/* http.c: /healthz, /readyz and /metrics on libmicrohttpd. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atc/clock.h"

#include "metrics.h"

/* The main loop turns at least every few hundred ms; much longer means stuck. */
#define HEARTBEAT_STALE_MS 30000

struct http_server {
    struct MHD_Daemon *daemon;
    struct http_state *state;
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct http_server *s = cls;
    struct http_state *st = s->state;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, "text/plain", "method not allowed\n", 19, MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/healthz") == 0) {
        int ok = atc_clock_mono_ms() - st->heartbeat_ms < HEARTBEAT_STALE_MS;
        return ok ? reply(c, 200, "text/plain", "ok\n", 3, MHD_RESPMEM_PERSISTENT)
                  : reply(c, 503, "text/plain", "main loop stalled\n", 18, MHD_RESPMEM_PERSISTENT);
    }
    if (strcmp(url, "/readyz") == 0) {
        if (st->stopping)
            return reply(c, 503, "text/plain", "stopping\n", 9, MHD_RESPMEM_PERSISTENT);
        if (!st->redis_ok)
            return reply(c, 503, "text/plain", "redis unreachable\n", 18, MHD_RESPMEM_PERSISTENT);
        if (!st->in_group)
            return reply(c, 503, "text/plain", "not in the consumer group\n", 26,
                         MHD_RESPMEM_PERSISTENT);
        return reply(c, 200, "text/plain", "ready\n", 6, MHD_RESPMEM_PERSISTENT);
    }
    if (strcmp(url, "/metrics") == 0) {
        char *body = NULL;
        size_t len = 0;
        if (metrics_render(&body, &len) != 0)
            return reply(c, 500, "text/plain", "out of memory\n", 14, MHD_RESPMEM_PERSISTENT);
        return reply(c, 200, "text/plain; version=0.0.4", body, len, MHD_RESPMEM_MUST_FREE);
    }
    return reply(c, 404, "text/plain", "not found\n", 10, MHD_RESPMEM_PERSISTENT);
}

struct http_server *http_start(const char *addr, struct http_state *state, char *err,
                               size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    char host[64];
    const char *colon = strrchr(addr, ':');
    char *end = NULL;

    if (!colon || (size_t)(colon - addr) >= sizeof(host)) {
        snprintf(err, errlen, "http-addr: \"%s\" is not host:port", addr);
        return NULL;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || end == colon + 1) {
        snprintf(err, errlen, "http-addr: bad port in \"%s\"", addr);
        return NULL;
    }
    if (inet_pton(AF_INET, *host ? host : "0.0.0.0", &sa.sin_addr) != 1) {
        snprintf(err, errlen, "http-addr: \"%s\" is not an IPv4 address", host);
        return NULL;
    }
    sa.sin_port = htons((uint16_t)port);
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->state = state;
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
                                 NULL, on_request, s, MHD_OPTION_SOCK_ADDR, &sa,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "http-addr: cannot listen on %s", addr);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : (int)port;
    return s;
}

int http_port(const struct http_server *s)
{
    return s->port;
}

void http_stop(struct http_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    free(s);
}
