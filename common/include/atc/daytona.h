/* daytona.h: a client of the Daytona REST API (libcurl + jansson): sandboxes and
 * the in-sandbox toolbox, as described in shared/daytona-api.md. One handle holds
 * one reused connection pool; use a handle from one thread at a time. */
#ifndef ATC_DAYTONA_H
#define ATC_DAYTONA_H

#include <stddef.h>
#include "atc/job.h" /* struct atc_kv, struct atc_job_file */

struct atc_daytona;

struct atc_daytona_opts {
    const char *api_url;        /* e.g. https://app.daytona.io/api (no trailing /) */
    const char *api_key;        /* sent as Authorization: Bearer; never logged */
    const char *target;         /* region, or NULL */
    long connect_timeout_ms;    /* 0: 10 s */
    long request_timeout_ms;    /* deadline of a plain API call; 0: 60 s */
    /* Called after every HTTP exchange with a stable endpoint name ("create",
     * "get", "delete", "list", "upload", "exec", "download",
     * "toolbox_proxy_url") and the status (0: no response); may be NULL. */
    void (*on_call)(void *arg, const char *endpoint, long http_status);
    void *on_call_arg;
};

/* What the last call saw, for retries, metrics and messages. */
struct atc_daytona_status {
    long http_status;           /* 0 when no response arrived */
    double retry_after_s;       /* from Retry-After or Retry-After-<name>; -1 if none */
    long long date_ms;          /* atc_daytona_list only (parsing it costs ~6 k
                                 * instructions): the answer's Date (the service's
                                 * clock), ms since the epoch, whole seconds; 0 if
                                 * absent or unparsable, and after any other call */
    char code[64];              /* error body "code", if any */
};

struct atc_sandbox {
    char id[128];
    char name[160];
    char state[32];
    char toolbox_url[512];      /* toolboxProxyUrl + "/" + id */
    char error_reason[256];
    /* The labels atc-job and atc-fleet of the reply (the fleet's own, which
     * tell whose sandbox it is); "" when absent, not a string, holding a NUL
     * or too long for the field. */
    char job_label[ATC_JOB_ID_MAX + 1];
    char fleet_label[256];
};

struct atc_sandbox_spec {
    const char *name;           /* or NULL */
    const char *snapshot;       /* or NULL: the service's default */
    const struct atc_kv *labels;
    size_t nlabels;
    const struct atc_kv *env;
    size_t nenv;
    int auto_stop_min;          /* <0: leave out */
    int auto_delete_min;        /* <0: leave out */
    int network_block_all;
};

/* Creates a handle. curl_global_init must have run. Returns NULL with err set.
 * The handle copies what opts points at. */
struct atc_daytona *atc_daytona_new(const struct atc_daytona_opts *opts,
                                    char *err, size_t errlen);
void atc_daytona_destroy(struct atc_daytona *d); /* accepts NULL */

/* Sets a stop test for the handle's calls, or removes it (stop NULL). While
 * stop(arg) returns non-zero, a call ends with ATC_ECANCELED: one not yet sent
 * is not sent, a request in flight is aborted within about a second, and
 * atc_daytona_wait_started stops between its polls. stop is called on the
 * handle's thread; arg is borrowed until it is removed. */
void atc_daytona_set_stop(struct atc_daytona *d, int (*stop)(void *arg), void *arg);

/* The status of the handle's last call (valid until the next call). */
const struct atc_daytona_status *atc_daytona_last(const struct atc_daytona *d);

/* All calls return 0 or a negative ATC_* code classifying the failure:
 *   ATC_ECONN (no response: refused, reset, dropped), ATC_ETIMEDOUT (408, or the
 *   HTTP deadline), ATC_ENOTFOUND (404), ATC_EAUTH (401, 403),
 *   ATC_ERATELIMIT (429; see retry_after_s), ATC_ESERVER (5xx),
 *   ATC_ECONFLICT (409), ATC_EPROTO (other 4xx, or a body we cannot read),
 *   ATC_ETOOBIG (a reply beyond its cap), ATC_EINVAL (bad arguments),
 *   ATC_ECANCELED (the stop test of atc_daytona_set_stop said stop), ATC_ENOMEM.
 * err receives a sentence with the status and the server's message. */

/* POST /sandbox. *out receives the sandbox as returned (state may not be
 * started yet). */
int atc_daytona_create(struct atc_daytona *d, const struct atc_sandbox_spec *spec,
                       struct atc_sandbox *out, char *err, size_t errlen);

/* Polls GET /sandbox/{id} (100 ms growing to 1 s) until state is started;
 * fails with ATC_ESERVER on error/build_failed (or destroying/destroyed),
 * ATC_ETIMEDOUT after timeout_ms. A poll failing with ECONN, ETIMEDOUT, ESERVER
 * or ERATELIMIT is repeated (no sooner than Retry-After) until the deadline;
 * any other failure ends the wait. *sb is updated from the last good poll. */
int atc_daytona_wait_started(struct atc_daytona *d, struct atc_sandbox *sb,
                             long timeout_ms, char *err, size_t errlen);

/* GET /sandbox/{id}. */
int atc_daytona_get(struct atc_daytona *d, const char *id, struct atc_sandbox *out,
                    char *err, size_t errlen);

/* 1 when url keeps api_url's scheme (no https to http) and its host is
 * api_url's host or a subdomain of it (Daytona Cloud's toolbox proxy
 * proxy.app.daytona.io for the API app.daytona.io), with no userinfo; else 0.
 * A sandbox's toolboxProxyUrl must pass it: the API key is sent there. */
int atc_daytona_url_same_site(const char *api_url, const char *url);

/* POST /sandbox/{id}/network-settings {"networkBlockAll": true}: no egress
 * for the sandbox's commands from now on. A tier without the feature answers
 * 4xx (ATC_EAUTH or ATC_EPROTO); the caller must then not run untrusted code. */
int atc_daytona_block_network(struct atc_daytona *d, const char *id, char *err, size_t errlen);

/* DELETE /sandbox/{id}. A 404 counts as success (already gone). */
int atc_daytona_delete(struct atc_daytona *d, const char *id, char *err, size_t errlen);

/* One sandbox of a listing. */
struct atc_sandbox_item {
    char id[128];
    char state[32];
    long long created_ms;       /* createdAt, ms since the epoch; 0 if unknown */
    char name[128];             /* "" when absent or too long */
    char job_label[129];        /* labels atc-job and atc-worker; "" when absent */
    char worker_label[256];
};

/* GET /sandbox?labels=<json>, following nextCursor. *items is malloc'd (caller
 * frees), *nitems its count. */
int atc_daytona_list(struct atc_daytona *d, const struct atc_kv *labels, size_t nlabels,
                     struct atc_sandbox_item **items, size_t *nitems,
                     char *err, size_t errlen);

/* POST {toolbox}/files/bulk-upload, all files in one request. Paths are
 * relative to the sandbox work dir. */
int atc_daytona_upload(struct atc_daytona *d, const struct atc_sandbox *sb,
                       const struct atc_job_file *files, size_t nfiles,
                       char *err, size_t errlen);

/* POST {toolbox}/process/execute with {command, cwd, envs, timeout}. On success
 * *exit_code is the command's exit status and *output (malloc'd, NUL-terminated,
 * caller frees) the merged stdout and stderr, of which at most max_output bytes
 * are kept (head and tail, the middle cut; *truncated set to 1 then). A reply
 * larger than max_output needs (6 * max_output + 64 KiB: every byte escaped;
 * at least 1 MiB) is not read: ATC_ETOOBIG. A 408 returns ATC_ETIMEDOUT. The HTTP deadline is timeout_s plus a margin
 * (30 s); timeout_s 0 sends no timeout and sets no HTTP deadline. */
int atc_daytona_exec(struct atc_daytona *d, const struct atc_sandbox *sb,
                     const char *command, const char *cwd,
                     const struct atc_kv *env, size_t nenv, unsigned timeout_s,
                     size_t max_output, int *exit_code, char **output,
                     size_t *output_len, int *truncated, char *err, size_t errlen);

/* GET {toolbox}/files/download?path=. *data is malloc'd (caller frees) with a NUL
 * after the *len bytes; at most max_bytes are accepted (ATC_ETOOBIG beyond). */
int atc_daytona_download(struct atc_daytona *d, const struct atc_sandbox *sb,
                         const char *path, size_t max_bytes, char **data, size_t *len,
                         char *err, size_t errlen);

#endif
