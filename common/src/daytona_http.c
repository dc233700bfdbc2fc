/* daytona_http.c: one HTTP exchange with Daytona on a reused curl handle, with
 * a capped body, status classification and the error sentence. */
#include "daytona_http.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "atc/error.h"

/* What an error response may keep of its body: enough for any message. */
#define DHTTP_ERR_BODY_KEEP (64 * 1024)
/* The longest server message copied into an error sentence. */
#define DHTTP_MSG_MAX 300
/* Retry-After values beyond a day are taken as a day. */
#define DHTTP_RETRY_AFTER_MAX 86400.0

struct dhttp_sink {
    char *data;
    size_t len;
    size_t cap;
    size_t max_ok;      /* a 2xx body beyond this is an error */
    long status;        /* of the response being read (the last status line) */
    int overflow;
    int nomem;
    double retry_after; /* largest seen in this response; -1 if none */
    int want_date;      /* read Date (curl_getdate is costly: only when asked) */
    long long date_ms;  /* its Date, ms since the epoch; 0 if none */
};

char *atc_dhttp_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    s = malloc((size_t)n + 1);
    if (s == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *atc_dhttp_escape(struct atc_dhttp *h, const char *s)
{
    char *c = curl_easy_escape(h->curl, s, 0);
    char *copy = NULL;

    /* Copied so that every string the API layer holds is freed with free(). */
    if (c != NULL)
        copy = strdup(c);
    curl_free(c);
    return copy;
}

void atc_dhttp_body_free(struct atc_dhttp_body *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

/* 1 when none of the variables curl takes a proxy from is set. The
 * environment does not change while the worker runs, so curl's own look-up on
 * every request (five getenv and a URL parse) can then be skipped by saying
 * "no proxy" outright; when one is set, curl keeps deciding per request. */
static int no_proxy_in_env(void)
{
    static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                       "all_proxy", "ALL_PROXY"};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (v != NULL && v[0] != '\0')
            return 0;
    }
    return 1;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata);
static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata);
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow);

/* The options every request shares, set once: the handle is never reset
 * (curl_easy_reset and setting them again cost ~5 k instructions a request).
 * What varies is set on each request by atc_dhttp_do, all of it every time. */
static int set_constant_options(struct atc_dhttp *h)
{
    CURL *c = h->curl;
    int bad = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_XFERINFODATA, h) != CURLE_OK;
    bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdrs) != CURLE_OK;
    if (h->no_proxy)
        bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
    return bad ? -1 : 0;
}

int atc_dhttp_init(struct atc_dhttp *h, const char *api_key, long connect_timeout_ms,
                   char *err, size_t errlen)
{
    char *auth = NULL;
    struct curl_slist *l;
    int rc = ATC_ENOMEM;

    memset(h, 0, sizeof(*h));
    h->connect_timeout_ms = connect_timeout_ms;
    h->no_proxy = no_proxy_in_env();
    h->last.retry_after_s = -1;
    if (api_key == NULL || api_key[0] == '\0' || strpbrk(api_key, "\r\n") != NULL) {
        snprintf(err, errlen, "daytona: the API key is empty or holds a line break");
        rc = ATC_EINVAL;
        goto out;
    }
    h->secret = strdup(api_key);
    auth = atc_dhttp_fmt("Authorization: Bearer %s", api_key);
    h->curl = curl_easy_init();
    if (h->secret == NULL || auth == NULL || h->curl == NULL)
        goto nomem;
    /* User-Agent rides in the list rather than CURLOPT_USERAGENT, which curl
     * formats twice per request, byte by byte. */
    const char *common[] = {auth, "X-Daytona-Source: atc-fleet", "User-Agent: atc-fleet", "Expect:"};
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        l = curl_slist_append(h->hdrs, common[i]);
        if (l == NULL)
            goto nomem;
        h->hdrs = l;
        l = curl_slist_append(h->hdrs_json, common[i]);
        if (l == NULL)
            goto nomem;
        h->hdrs_json = l;
    }
    l = curl_slist_append(h->hdrs_json, "Content-Type: application/json");
    if (l == NULL)
        goto nomem;
    h->hdrs_json = l;
    if (set_constant_options(h) != 0)
        goto nomem;
    rc = 0;
    goto out;
nomem:
    snprintf(err, errlen, "daytona: out of memory setting up the HTTP client");
out:
    if (auth != NULL) {
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    if (rc != 0)
        atc_dhttp_cleanup(h);
    return rc;
}

void atc_dhttp_cleanup(struct atc_dhttp *h)
{
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    h->curl = NULL;
    /* The slists hold the key too; wipe it before the memory goes back. */
    for (struct curl_slist *l = h->hdrs; l != NULL; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    for (struct curl_slist *l = h->hdrs_json; l != NULL; l = l->next)
        explicit_bzero(l->data, strlen(l->data));
    curl_slist_free_all(h->hdrs);
    curl_slist_free_all(h->hdrs_json);
    h->hdrs = NULL;
    h->hdrs_json = NULL;
    if (h->secret != NULL) {
        explicit_bzero(h->secret, strlen(h->secret));
        free(h->secret);
    }
    h->secret = NULL;
}

int atc_dhttp_status_code(long status)
{
    if (status >= 200 && status <= 299)
        return 0;
    switch (status) {
    case 401:
    case 403:
        return ATC_EAUTH;
    case 404:
        return ATC_ENOTFOUND;
    case 408:
        return ATC_ETIMEDOUT;
    case 409:
        return ATC_ECONFLICT;
    case 429:
        return ATC_ERATELIMIT;
    default:
        break;
    }
    if (status >= 500 && status <= 599)
        return ATC_ESERVER;
    return ATC_EPROTO;
}

int atc_dhttp_curl_code(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return ATC_ETIMEDOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
        return ATC_ECONN;
    case CURLE_OUT_OF_MEMORY:
        return ATC_ENOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return ATC_EINVAL;
    default:
        return ATC_EPROTO;
    }
}

/* Parses "123" or "1.5" (nothing else) into *v. Returns 0 or -1. */
static int parse_seconds(const char *s, double *v)
{
    double x = 0;
    double scale = 0.1;
    int digits = 0;

    while (*s >= '0' && *s <= '9') {
        if (x < 1e9)
            x = x * 10 + (*s - '0');
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            x += (*s - '0') * scale;
            scale /= 10;
            s++;
            digits++;
        }
    }
    if (digits == 0 || *s != '\0')
        return -1;
    *v = x;
    return 0;
}

/* When line is the header name (or, with suffixed, name-<something>),
 * copies its value, trimmed, into val[vallen] and returns 1; 0 for another
 * header or an empty value or one that does not fit. */
static int header_value(const char *line, size_t len, const char *name, int suffixed,
                        char *val, size_t vallen)
{
    size_t nlen = strlen(name);
    const char *colon = memchr(line, ':', len);

    if (colon == NULL)
        return 0;
    size_t klen = (size_t)(colon - line);
    while (klen > 0 && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
        klen--;
    if (klen < nlen || strncasecmp(line, name, nlen) != 0)
        return 0;
    if (klen != nlen && (!suffixed || klen == nlen + 1 || line[nlen] != '-'))
        return 0;
    const char *v = colon + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
                       end[-1] == '\t'))
        end--;
    size_t n = (size_t)(end - v);
    if (n == 0 || n >= vallen)
        return 0;
    memcpy(val, v, n);
    val[n] = '\0';
    return 1;
}

int atc_dhttp_date(const char *line, size_t len, long long *ms)
{
    char val[128];

    if (!header_value(line, len, "date", 0, val, sizeof(val)))
        return 0;
    /* curl_getdate reads the three forms RFC 9110 allows (and more); a
     * digit first is no HTTP date, whatever curl would make of it. */
    if (val[0] >= '0' && val[0] <= '9')
        return 0;
    time_t t = curl_getdate(val, NULL);
    if (t == (time_t)-1 || t <= 0)
        return 0;
    *ms = (long long)t * 1000;
    return 1;
}

int atc_dhttp_retry_after(const char *line, size_t len, double *secs)
{
    char val[128];

    /* Retry-After, or Retry-After-<throttler> with a non-empty name. */
    if (!header_value(line, len, "retry-after", 1, val, sizeof(val)))
        return 0;
    double x;
    if (val[0] >= '0' && val[0] <= '9') {
        if (parse_seconds(val, &x) != 0)
            return 0;
    } else {
        time_t t = curl_getdate(val, NULL);
        if (t == (time_t)-1)
            return 0;
        x = difftime(t, time(NULL));
    }
    if (x < 0)
        x = 0;
    if (x > DHTTP_RETRY_AFTER_MAX)
        x = DHTTP_RETRY_AFTER_MAX;
    *secs = x;
    return 1;
}

/* Reads exactly n digits at *s into *v, advancing *s. Returns 0 or -1. */
static int read_digits(const char **s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return -1;
        x = x * 10 + (c - '0');
    }
    *s += n;
    *v = x;
    return 0;
}

int atc_dhttp_iso8601_ms(const char *s, long long *ms)
{
    struct tm tm;
    int year, mon, day, hour, min, sec;
    long long frac_ms = 0;
    long long offset_s = 0;

    if (s == NULL)
        return -1;
    if (read_digits(&s, 4, &year) != 0 || *s++ != '-' || read_digits(&s, 2, &mon) != 0 ||
        *s++ != '-' || read_digits(&s, 2, &day) != 0)
        return -1;
    if (*s != 'T' && *s != 't' && *s != ' ')
        return -1;
    s++;
    if (read_digits(&s, 2, &hour) != 0 || *s++ != ':' || read_digits(&s, 2, &min) != 0 ||
        *s++ != ':' || read_digits(&s, 2, &sec) != 0)
        return -1;
    if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
        return -1;
    if (*s == '.' || *s == ',') {
        s++;
        int scale = 100, digits = 0;
        while (*s >= '0' && *s <= '9') {
            frac_ms += (*s - '0') * scale;
            scale /= 10;
            s++;
            digits++;
        }
        if (digits == 0)
            return -1;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1;
        int oh, om = 0;
        s++;
        if (read_digits(&s, 2, &oh) != 0)
            return -1;
        if (*s == ':')
            s++;
        if (*s != '\0' && read_digits(&s, 2, &om) != 0)
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        offset_s = sign * (oh * 3600LL + om * 60LL);
    }
    if (*s != '\0')
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 && !(year == 1969 && mon == 12 && day == 31))
        return -1;
    *ms = ((long long)t - offset_s) * 1000 + frac_ms;
    return 0;
}

/* Copies at most DHTTP_MSG_MAX bytes of s[0..n) into out, printable ASCII only. */
static void copy_printable(char *out, size_t outlen, const char *s, size_t n)
{
    size_t o = 0;

    if (outlen == 0)
        return;
    for (size_t i = 0; i < n && o + 1 < outlen && i < DHTTP_MSG_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : (c == '\n' || c == '\t') ? ' ' : '?';
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

/* Replaces every occurrence of secret in s (NUL-terminated) by "***". */
static void redact(char *s, const char *secret)
{
    size_t sl = secret != NULL ? strlen(secret) : 0;
    char *p;

    /* A very short key would match ordinary words; it cannot be told apart. */
    if (sl < 4)
        return;
    for (p = strstr(s, secret); p != NULL; p = strstr(p + 3, secret)) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + sl, strlen(p + sl) + 1);
    }
    /* A message cut short may end in the key's first bytes. */
    size_t n = strlen(s);
    for (size_t k = sl - 1 < n ? sl - 1 : n; k >= 4; k--) {
        if (memcmp(s + n - k, secret, k) == 0) {
            memcpy(s + n - k, "***", 4);
            break;
        }
    }
}

/* The first string of a JSON value that is a string or an array of strings. */
static const char *json_text(json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_array(v) && json_array_size(v) > 0 && json_is_string(json_array_get(v, 0)))
        return json_string_value(json_array_get(v, 0));
    return NULL;
}

void atc_dhttp_http_error(const char *what, long status, const char *body, size_t len,
                          const char *secret, char *code, size_t codelen,
                          char *err, size_t errlen)
{
    char msg[DHTTP_MSG_MAX + 1] = "";
    json_t *root = NULL;

    if (code != NULL && codelen > 0)
        code[0] = '\0';
    if (body != NULL && len > 0)
        root = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
    if (json_is_object(root)) {
        const char *m = json_text(json_object_get(root, "message"));
        if (m == NULL)
            m = json_text(json_object_get(root, "error"));
        if (m == NULL)
            m = json_text(json_object_get(root, "errors"));
        const char *c = json_string_value(json_object_get(root, "code"));
        if (m == NULL)
            m = c;
        if (m != NULL)
            copy_printable(msg, sizeof(msg), m, strlen(m));
        if (c != NULL && code != NULL)
            copy_printable(code, codelen, c, strlen(c));
    } else if (body != NULL && len > 0) {
        copy_printable(msg, sizeof(msg), body, len);
    }
    if (msg[0] == '\0')
        snprintf(msg, sizeof(msg), "%s", atc_strerror(atc_dhttp_status_code(status)));
    snprintf(err, errlen, "%s: HTTP %ld: %s", what, status, msg);
    if (errlen > 0)
        redact(err, secret);
    json_decref(root);
}

static size_t on_header(char *line, size_t size, size_t nitems, void *userdata)
{
    struct dhttp_sink *s = userdata;
    size_t n = size * nitems;
    double secs;

    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue, say): start over. */
        const char *sp = memchr(line, ' ', n);
        long st = 0;
        if (sp != NULL) {
            const char *p = sp + 1;
            for (int i = 0; i < 3 && p < line + n && *p >= '0' && *p <= '9'; i++, p++)
                st = st * 10 + (*p - '0');
        }
        s->status = st;
        s->retry_after = -1;
        s->date_ms = 0;
        s->len = 0;
        return n;
    }
    if (atc_dhttp_retry_after(line, n, &secs) && secs > s->retry_after)
        s->retry_after = secs;
    if (s->want_date)
        (void)atc_dhttp_date(line, n, &s->date_ms);
    return n;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct dhttp_sink *s = userdata;
    size_t n = size * nmemb;
    int ok = s->status >= 200 && s->status <= 299;

    if (!ok) {
        /* An error body only needs its start; drain the rest to keep the connection. */
        if (s->len >= DHTTP_ERR_BODY_KEEP)
            return n;
        if (n > DHTTP_ERR_BODY_KEEP - s->len)
            n = DHTTP_ERR_BODY_KEEP - s->len;
    } else if (n > s->max_ok - s->len) {
        s->overflow = 1;
        return 0;
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *p = realloc(s->data, cap);
        if (p == NULL) {
            s->nomem = 1;
            return 0;
        }
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->len, ptr, n);
    s->len += n;
    s->data[s->len] = '\0';
    return size * nmemb;
}

/* curl's progress callback (at least once a second, idle or not): a non-zero
 * return aborts the transfer. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const struct atc_dhttp *h = arg;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return h->stop != NULL && h->stop(h->stop_arg) ? 1 : 0;
}

#define SETOPT(opt, val)                                   \
    do {                                                   \
        if (curl_easy_setopt(c, (opt), (val)) != CURLE_OK) \
            goto setopt_failed;                            \
    } while (0)

int atc_dhttp_do(struct atc_dhttp *h, const struct atc_dhttp_req *req,
                 struct atc_dhttp_body *body, char *err, size_t errlen)
{
    CURL *c = h->curl;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct dhttp_sink sink = {.max_ok = req->max_body, .retry_after = -1,
                              .want_date = req->want_date};
    /* The body's Content-Type goes in front of the shared headers for this
     * request only: a list node on the stack, no allocation. */
    struct curl_slist ct = {.data = (char *)req->content_type, .next = h->hdrs};
    int rc;

    body->data = NULL;
    body->len = 0;
    h->last.http_status = 0;
    h->last.retry_after_s = -1;
    h->last.date_ms = 0;
    h->last.code[0] = '\0';

    if (h->stop != NULL && h->stop(h->stop_arg)) {
        snprintf(err, errlen, "%s: not sent: the caller stopped", req->what);
        return ATC_ECANCELED;
    }
    /* Everything that varies from request to request is set here, every
     * time: the handle keeps the last request's options (it is not reset). */
    SETOPT(CURLOPT_URL, req->url);
    SETOPT(CURLOPT_TIMEOUT_MS, req->timeout_ms);
    /* gzip only, and only where an answer may be large: curl formats every
     * header byte by byte (~100 instructions each), and "" would list every
     * encoding it knows (deflate, gzip, br, zstd). NULL: none asked. */
    SETOPT(CURLOPT_ACCEPT_ENCODING, req->gzip ? "gzip" : NULL);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_HTTPHEADER, req->json != NULL                                   ? h->hdrs_json
                               : req->body != NULL && req->content_type != NULL ? &ct
                                                                                : h->hdrs);
    SETOPT(CURLOPT_HEADERDATA, &sink);
    SETOPT(CURLOPT_WRITEDATA, &sink);
    if (strcmp(req->method, "POST") == 0) {
        const char *b = req->body != NULL ? req->body : req->json != NULL ? req->json : "";
        size_t blen = req->body != NULL ? req->body_len : strlen(b);
        SETOPT(CURLOPT_POSTFIELDS, b);
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        SETOPT(CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        /* GET, or DELETE: a GET without a body, named otherwise. */
        SETOPT(CURLOPT_HTTPGET, 1L);
        SETOPT(CURLOPT_CUSTOMREQUEST, strcmp(req->method, "GET") == 0 ? NULL : req->method);
    }
    SETOPT(CURLOPT_NOPROGRESS, h->stop != NULL ? 0L : 1L);

    CURLcode cr = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    h->last.http_status = status;
    h->last.retry_after_s = sink.retry_after;
    h->last.date_ms = sink.date_ms;
    if (cr != CURLE_OK) {
        if (sink.overflow) {
            rc = ATC_ETOOBIG;
            snprintf(err, errlen, "%s: the response is larger than %zu bytes", req->what,
                     req->max_body);
        } else if (cr == CURLE_ABORTED_BY_CALLBACK) {
            rc = ATC_ECANCELED;
            snprintf(err, errlen, "%s: aborted: the caller stopped", req->what);
        } else if (sink.nomem) {
            rc = ATC_ENOMEM;
            snprintf(err, errlen, "%s: out of memory reading the response", req->what);
        } else {
            rc = atc_dhttp_curl_code(cr);
            snprintf(err, errlen, "%s: %s: %s", req->what, atc_strerror(rc),
                     errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cr));
            redact(err, h->secret);
        }
        goto out;
    }
    rc = atc_dhttp_status_code(status);
    if (rc != 0) {
        atc_dhttp_http_error(req->what, status, sink.data, sink.len, h->secret,
                             h->last.code, sizeof(h->last.code), err, errlen);
        goto out;
    }
    if (sink.data == NULL) {
        sink.data = calloc(1, 1);
        if (sink.data == NULL) {
            rc = ATC_ENOMEM;
            snprintf(err, errlen, "%s: out of memory", req->what);
            goto out;
        }
    }
    body->data = sink.data;
    body->len = sink.len;
    sink.data = NULL;
    goto out;
setopt_failed:
    rc = ATC_ENOMEM;
    snprintf(err, errlen, "%s: could not set up the request", req->what);
out:
    free(sink.data);
    /* The handle must not keep pointers into this frame or the caller's
     * request (the next request sets them all again). */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->hdrs);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    return rc;
}
