/* daytona_http.h: the HTTP layer of the Daytona client (private to libatc): one
 * request on a reused curl handle, a capped body, status classification, the
 * error sentence, and the small parsers the API layer needs. */
#ifndef ATC_DAYTONA_HTTP_H
#define ATC_DAYTONA_HTTP_H

#include <stddef.h>
#include <curl/curl.h>

#include "atc/daytona.h"

/* A connection: the curl handle and the headers built once. Embedded in
 * struct atc_daytona; owns everything it points at. */
struct atc_dhttp {
    CURL *curl;
    struct curl_slist *hdrs;        /* Authorization, X-Daytona-Source, User-Agent, Expect: */
    struct curl_slist *hdrs_json;   /* the same plus Content-Type: application/json */
    char *secret;                   /* the API key, only to redact it from messages */
    long connect_timeout_ms;
    int no_proxy;                   /* 1: no proxy variable was set at init; skip curl's lookup */
    struct atc_daytona_status last;
    int (*stop)(void *arg);         /* non-zero: abort (ATC_ECANCELED); or NULL */
    void *stop_arg;
};

/* One request. Every pointer is borrowed for the call. */
struct atc_dhttp_req {
    const char *method;             /* "GET", "POST" or "DELETE" */
    const char *url;
    const char *what;               /* "POST /sandbox": the start of messages */
    const char *json;               /* JSON body (POST), or NULL */
    const char *body;               /* another body (POST) of body_len bytes, or NULL */
    size_t body_len;
    const char *content_type;       /* the body's "Content-Type: ..." header line */
    long timeout_ms;                /* whole-request deadline; 0: none */
    size_t max_body;                /* a 2xx body beyond this fails with ATC_ETOOBIG */
    int gzip;                       /* 1: ask for a gzip'd answer (one that may be large) */
    int want_date;                  /* 1: read the answer's Date into last.date_ms */
};

/* A response body: malloc'd, NUL-terminated after len bytes; owned by the
 * caller, released with atc_dhttp_body_free. */
struct atc_dhttp_body {
    char *data;
    size_t len;
};

/* Sets up h (curl handle, headers). api_key is copied. Returns 0 or ATC_*. */
int atc_dhttp_init(struct atc_dhttp *h, const char *api_key, long connect_timeout_ms,
                   char *err, size_t errlen);
void atc_dhttp_cleanup(struct atc_dhttp *h);

/* Performs req. Returns 0 on a 2xx status with *body filled (may be empty),
 * otherwise the ATC_* code for the failure with err set (and *body empty).
 * h->last describes the exchange either way. 404 is returned as ATC_ENOTFOUND;
 * callers that accept it check the code. */
int atc_dhttp_do(struct atc_dhttp *h, const struct atc_dhttp_req *req,
                 struct atc_dhttp_body *body, char *err, size_t errlen);

void atc_dhttp_body_free(struct atc_dhttp_body *b);

/* A malloc'd string from a printf format, or NULL when out of memory. */
char *atc_dhttp_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* curl_easy_escape of s into a malloc'd string (free with free()), or NULL. */
char *atc_dhttp_escape(struct atc_dhttp *h, const char *s);

/* The pure parts, testable without a server. */

/* The ATC_* code of an HTTP status (0 for 2xx). */
int atc_dhttp_status_code(long status);

/* The ATC_* code of a curl result (for one that is not CURLE_OK). */
int atc_dhttp_curl_code(CURLcode rc);

/* Reads a header line (not NUL-terminated, CRLF allowed) and, when it is
 * Retry-After or Retry-After-<name>, stores its value in seconds in *secs
 * (delta-seconds, or an HTTP date relative to now; clamped to 0..86400) and
 * returns 1. Returns 0 for other headers and for values that do not parse. */
int atc_dhttp_retry_after(const char *line, size_t len, double *secs);

/* Reads a header line like atc_dhttp_retry_after and, when it is Date with
 * an HTTP date (RFC 9110: "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete
 * forms), stores it in ms since the epoch in *ms and returns 1. Returns 0 for
 * other headers and for values that do not parse. */
int atc_dhttp_date(const char *line, size_t len, long long *ms);

/* Parses an ISO-8601 UTC or offset time ("2026-06-20T10:00:00.000Z") into ms
 * since the epoch. Returns 0 or -1. */
int atc_dhttp_iso8601_ms(const char *s, long long *ms);

/* Writes "<what>: HTTP <status>: <message>" into err, the message taken from a
 * JSON error body (message, error, errors[0] or code; body "code" also goes to
 * code[codelen]) or from the raw body, made printable and shortened. secret,
 * when non-empty, is replaced by "***" wherever it appears, and so is a start
 * of it (4 bytes or more) that the shortening left at the end. */
void atc_dhttp_http_error(const char *what, long status, const char *body, size_t len,
                          const char *secret, char *code, size_t codelen,
                          char *err, size_t errlen);

#endif
