/* server.h: daytona-local's configuration, the per-request state and the
 * HTTP response helpers shared by the API and toolbox handlers. */
#ifndef DL_SERVER_H
#define DL_SERVER_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "faults.h"

struct dl_config {
    char host[256];             /* as given in --listen */
    int port;                   /* the real port, once listening */
    char root[PATH_MAX];        /* sandboxes live in root/<id> */
    int root_owned;             /* root was made by us: remove it at exit */
    char api_key[256];          /* empty: any non-empty Bearer token passes */
    int verbose;
    int create_starting;        /* answer create with state "starting" */
    long start_delay_ms;        /* ... and become "started" after this */
    long latency_ms;            /* added to every API and toolbox call */
    long latency_create_ms;     /* added to POST /api/sandbox */
    long latency_exec_ms;       /* added to process/execute and code-run */
    long created_ago_ms;        /* createdAt is set this far before now (reaper tests) */
    long create_rate_per_min;   /* 0: no create limit */
    long hang_ms;               /* how long a "hang" fault holds a request */
    size_t max_output_bytes;    /* output kept per command */
    size_t max_body_bytes;      /* largest request body accepted */
    int confine;                /* 1 (default): confine commands; 0: --no-confine */
    int no_network;             /* --no-network: no sandbox reaches the network */
    int refuse_network_settings; /* --refuse-network-settings: that call answers 403 */
    long max_procs;             /* RLIMIT_NPROC per sandbox (confined) */
    long long sandbox_memory_gib; /* a sandbox's memory unless it asks (buildInfo); 0: none */
    const char *exec_canned;    /* --exec-canned: every execute answers exit 0 and this
                                 * without running anything; NULL: run commands */
    long snapshot_build_delay_ms;   /* a snapshot build waits this long in "building" */
    long snapshot_quota;            /* snapshots pending/building/active at most; 0: no limit */
    int strict_snapshots;           /* a create naming no snapshot of ours is a 400, as
                                     * the real API (default: the default image) */
};

extern struct dl_config g_dl_cfg;
extern volatile sig_atomic_t g_dl_stopping;

/* One HTTP request, owned by the connection (freed when it completes). */
struct dl_req {
    struct MHD_Connection *conn;
    const char *method;         /* borrowed from MHD */
    const char *url;            /* borrowed from MHD, path only */
    char *body;                 /* owned; NUL-terminated */
    size_t body_len;
    size_t body_cap;
    int body_too_large;
    struct dl_fault fault;      /* decided when the request arrived */
    int status;                 /* what was answered, for the log */
    int64_t start_ms;
};

/* Every reply goes through these. Each returns what the access handler must
 * return. dl_reply_json steals j (and answers 500 when j is NULL). */
enum MHD_Result dl_reply(struct dl_req *r, int status, struct MHD_Response *resp);
enum MHD_Result dl_reply_json(struct dl_req *r, int status, json_t *j);
enum MHD_Result dl_reply_empty(struct dl_req *r, int status);
/* The NestJS error shape of /api: {path,timestamp,statusCode,error,message}. */
enum MHD_Result dl_reply_api_error(struct dl_req *r, int status, const char *message);
/* The daemon error shape of /toolbox: {statusCode,message,code,timestamp,path,method,source}. */
enum MHD_Result dl_reply_daemon_error(struct dl_req *r, int status, const char *code,
                                      const char *message);
/* A 429 carrying Retry-After, Retry-After-<throttler> and X-RateLimit-*-<throttler>. */
enum MHD_Result dl_reply_rate_limited(struct dl_req *r, const char *throttler, long limit,
                                      long retry_after_s);

/* The HTTP reason phrase of status. */
const char *dl_reason(int status);

/* Writes "http://<host>/toolbox" for this request into out: the Host header
 * when it looks sane, else the listen address. */
void dl_toolbox_url(struct dl_req *r, char *out, size_t outlen);

/* Parses the request body as a JSON object; an empty body gives {}. Returns
 * a new reference or NULL (bad JSON or not an object). */
json_t *dl_req_json(struct dl_req *r);

/* The MHD access handler and completion callback (server.c). */
enum MHD_Result dl_handle(void *cls, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version, const char *upload_data,
                          size_t *upload_data_size, void **con_cls);
void dl_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                  enum MHD_RequestTerminationCode toe);

/* Counter of requests served, for /_local/stats. */
json_t *dl_server_stats(void);

#endif
