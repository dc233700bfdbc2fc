/* http.h: the worker's HTTP endpoints for Kubernetes and Prometheus:
 * /healthz, /readyz and /metrics (libmicrohttpd, its own thread). */
#ifndef ATC_WORKER_HTTP_H
#define ATC_WORKER_HTTP_H

#include <stdatomic.h>
#include <stddef.h>

/* What the endpoints read; the main thread updates it, the server's threads
 * only read: each field on its own, so plain atomics suffice. */
struct http_state {
    atomic_llong heartbeat_ms;       /* monotonic ms of the main loop's last turn */
    atomic_int in_group;             /* 1 once the consumer group assigned us */
    atomic_int redis_ok;             /* 1 while Redis answers */
    atomic_int stopping;             /* 1 once shutdown began */
};

struct http_server;

/* Listens on addr ("host:port"; port 0 picks one). NULL with err set. */
struct http_server *http_start(const char *addr, struct http_state *state, char *err,
                               size_t errlen);
/* The port listened on. */
int http_port(const struct http_server *s);
void http_stop(struct http_server *s); /* accepts NULL */

#endif
