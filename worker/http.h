/* http.h: the worker's HTTP endpoints for Kubernetes and Prometheus:
 * /healthz, /readyz and /metrics (libmicrohttpd, its own thread). */
#ifndef ATC_WORKER_HTTP_H
#define ATC_WORKER_HTTP_H

#include <stddef.h>

/* What the endpoints read; the worker updates it, the server only reads. */
struct http_state {
    volatile long long heartbeat_ms; /* monotonic ms of the main loop's last turn */
    volatile int in_group;           /* 1 once the consumer group assigned us */
    volatile int redis_ok;           /* 1 while Redis answers */
    volatile int stopping;           /* 1 once shutdown began */
};

struct http_server;

/* Listens on addr ("host:port"; port 0 picks one). NULL with err set. */
struct http_server *http_start(const char *addr, struct http_state *state, char *err,
                               size_t errlen);
/* The port listened on. */
int http_port(const struct http_server *s);
void http_stop(struct http_server *s); /* accepts NULL */

/* Monotonic clock in ms, as heartbeat_ms uses it. */
long long http_now_ms(void);

#endif
