/* daytona_json.h: the Daytona API's JSON, both ways, with jansson and no I/O
 * (private to libatc): the request bodies of a create and an exec, and the
 * parts of a sandbox and an exec reply the client uses. Bytes in, values out,
 * so a unit test or a fuzzer needs no server. */
#ifndef ATC_DAYTONA_JSON_H
#define ATC_DAYTONA_JSON_H

#include <stddef.h>

#include "atc/daytona.h"

/* The body of POST /sandbox for spec (target may be NULL), compact. Of label
 * or env pairs with the same key the last wins. *out is malloc'd (caller
 * frees). 0; ATC_EINVAL when a string is NULL or not UTF-8; ATC_ENOMEM. */
int atc_djson_create_body(const struct atc_sandbox_spec *spec, const char *target, char **out);

/* The labels filter of GET /sandbox?labels=: the pairs as a compact JSON
 * object, keys sorted. *out malloc'd. 0; ATC_EINVAL (a NULL or non-UTF-8
 * string); ATC_ENOMEM. */
int atc_djson_labels_query(const struct atc_kv *labels, size_t n, char **out);

/* The body of POST {toolbox}/process/execute: command, and cwd (when set and
 * not empty), envs (when nenv > 0), timeout (when > 0). Same returns. */
int atc_djson_exec_body(const char *command, const char *cwd, const struct atc_kv *env,
                        size_t nenv, unsigned timeout_s, char **out);

/* 1 when id (a sandbox id the server gave, or a caller passes) is usable in a
 * URL path as it is: printable ASCII, no space, shorter than atc_sandbox.id. */
int atc_djson_id_ok(const char *id);

/* Reads a sandbox object reply doc[0..len) into out (id, name, state,
 * errorReason, up to a NUL and truncated to fit; the labels atc-job and
 * atc-fleet, "" unless a string with no NUL that fits) and its toolboxProxyUrl
 * into proxy[proxylen] ("" when absent). The id must be a string that fits and
 * passes atc_djson_id_ok. 0, or ATC_EPROTO with a sentence in err
 * (starting with what) when doc is not JSON, not an object, has no usable id
 * or a toolboxProxyUrl that does not fit. */
int atc_djson_sandbox(const char *doc, size_t len, struct atc_sandbox *out, char *proxy,
                      size_t proxylen, const char *what, char *err, size_t errlen);

/* Reads an exec reply doc[0..len): *exit_code from exitCode (or "code", the
 * name daemons up to about v0.100 used), an integer in int range; *output the
 * result string (malloc'd, NUL-terminated after *output_len bytes, NUL bytes
 * kept; "" when result is absent or null). 0; ATC_EPROTO with err; ATC_ENOMEM. */
int atc_djson_exec_reply(const char *doc, size_t len, int *exit_code, char **output,
                         size_t *output_len, const char *what, char *err, size_t errlen);

#endif
