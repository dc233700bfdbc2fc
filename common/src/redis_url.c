/* redis_url.c: parses redis:// and unix:// addresses for the result store. */
/* Written by hand, not with libcurl's curl_url(), on purpose: curl_url()
 * (libcurl 7.88, Debian 12) reads "unix:///run/redis.sock" as host "run" and
 * path "/redis.sock" (with or without CURLU_NO_AUTHORITY), and refuses "unix://:password@/run/redis.sock" outright (CURLUE 14), both forms
 * CONTRACT section 4 accepts; and its errors are codes where this parser names
 * the bad part. For redis:// alone curl_url() would do, but two parsers for
 * one setting is worse than one. (Checked with curl_url_set(...,
 * CURLU_NON_SUPPORT_SCHEME [| CURLU_NO_AUTHORITY]), 2026-12-06.) */
#include "redis_url.h"

#include "atc/error.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define URL_MAX_LEN 4096

static char *dup_range(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape (*bad = 1)
 * or out of memory (*bad = 0). */
static char *percent_decode(const char *s, size_t n, int *bad)
{
    char *out = malloc(n + 1);
    size_t o = 0;

    *bad = 0;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        int hi = i + 1 < n ? hex_value(s[i + 1]) : -1;
        int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
        /* A NUL would silently shorten the password: refuse it. */
        if (hi < 0 || lo < 0 || hi * 16 + lo == 0) {
            free(out);
            *bad = 1;
            return NULL;
        }
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

/* Reads a decimal number s[0..n) within [lo, hi]; -1 when it is not one. */
static long parse_number(const char *s, size_t n, long lo, long hi)
{
    long v = 0;

    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < lo || v > hi ? -1 : v;
}

static int host_char_ok(char c, int bracketed)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    if (c == '.' || c == '-' || c == '_')
        return 1;
    return bracketed && (c == ':' || c == '%');
}

static int parse_userinfo(const char *s, size_t n, struct atc_redis_url *out, char *err,
                          size_t errlen)
{
    const char *colon = memchr(s, ':', n);
    int bad = 0;

    if (colon == NULL) {
        snprintf(err, errlen, "the user part of the Redis URL has no ':'; write the password "
                              "as redis://:password@host or redis://user:password@host");
        return ATC_EINVAL;
    }
    size_t ulen = (size_t)(colon - s);
    size_t plen = n - ulen - 1;
    if (ulen > 0) {
        out->user = percent_decode(s, ulen, &bad);
        if (out->user == NULL)
            goto fail;
    }
    if (plen > 0) {
        out->password = percent_decode(colon + 1, plen, &bad);
        if (out->password == NULL)
            goto fail;
    }
    if (out->user != NULL && out->password == NULL) {
        snprintf(err, errlen, "the Redis URL names user '%.64s' but no password", out->user);
        return ATC_EINVAL;
    }
    return 0;
fail:
    if (bad) {
        snprintf(err, errlen, "the %s of the Redis URL has a bad %%-escape",
                 out->user == NULL && ulen > 0 ? "user" : "password");
        return ATC_EINVAL;
    }
    snprintf(err, errlen, "out of memory parsing the Redis URL");
    return ATC_ENOMEM;
}

/* unix://[[user]:password@]/path/to.sock[?db=N] */
static int parse_unix(const char *rest, struct atc_redis_url *out, char *err, size_t errlen)
{
    const char *q;
    size_t n;
    int rc;

    if (rest[0] != '/') {
        const char *at = strchr(rest, '@');
        if (at == NULL) {
            snprintf(err, errlen, "the socket path of a unix:// Redis URL must be absolute "
                                  "(unix:///path/to.sock)");
            return ATC_EINVAL;
        }
        rc = parse_userinfo(rest, (size_t)(at - rest), out, err, errlen);
        if (rc != 0)
            return rc;
        rest = at + 1;
    }
    q = strrchr(rest, '?');
    n = q != NULL ? (size_t)(q - rest) : strlen(rest);
    if (q != NULL) {
        long db = strncmp(q, "?db=", 4) == 0 ? parse_number(q + 4, strlen(q + 4), 0, INT_MAX) : -1;
        if (db < 0) {
            snprintf(err, errlen, "the query '%.32s' of the unix:// Redis URL is not ?db=N "
                                  "with N a number from 0",
                     q);
            return ATC_EINVAL;
        }
        out->db = (int)db;
    }
    if (n < 2 || rest[0] != '/') {
        snprintf(err, errlen, "the socket path of a unix:// Redis URL must be absolute "
                              "(unix:///path/to.sock)");
        return ATC_EINVAL;
    }
    if (n >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(err, errlen, "the socket path of the Redis URL is %zu bytes long, more "
                              "than a unix socket allows (%zu)",
                 n, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return ATC_EINVAL;
    }
    out->is_unix = 1;
    out->path = dup_range(rest, n);
    if (out->path == NULL) {
        snprintf(err, errlen, "out of memory parsing the Redis URL");
        return ATC_ENOMEM;
    }
    return 0;
}

static int parse_tcp(const char *rest, struct atc_redis_url *out, char *err, size_t errlen)
{
    const char *at = strrchr(rest, '@');
    const char *p = rest;
    const char *host;
    size_t hlen;
    int bracketed = 0;
    int rc;

    if (at != NULL) {
        rc = parse_userinfo(rest, (size_t)(at - rest), out, err, errlen);
        if (rc != 0)
            return rc;
        p = at + 1;
    }
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (close == NULL) {
            snprintf(err, errlen, "the IPv6 host of the Redis URL has no closing ']'");
            return ATC_EINVAL;
        }
        host = p + 1;
        hlen = (size_t)(close - host);
        p = close + 1;
        bracketed = 1;
    } else {
        host = p;
        hlen = strcspn(p, ":/?#");
        p += hlen;
    }
    if (hlen == 0) {
        snprintf(err, errlen, "the Redis URL has no host (redis://host[:port][/db])");
        return ATC_EINVAL;
    }
    for (size_t i = 0; i < hlen; i++) {
        if (!host_char_ok(host[i], bracketed)) {
            snprintf(err, errlen, "the host '%.*s' of the Redis URL has a character that "
                                  "cannot be in a host name",
                     hlen > 64 ? 64 : (int)hlen, host);
            return ATC_EINVAL;
        }
    }
    out->port = ATC_REDIS_DEFAULT_PORT;
    if (*p == ':') {
        size_t plen = strcspn(p + 1, "/?#");
        long port = parse_number(p + 1, plen, 1, 65535);
        if (port < 0) {
            snprintf(err, errlen, "the port '%.*s' of the Redis URL is not a number from 1 "
                                  "to 65535",
                     plen > 16 ? 16 : (int)plen, p + 1);
            return ATC_EINVAL;
        }
        out->port = (int)port;
        p += 1 + plen;
    }
    if (*p == '/') {
        size_t dlen = strcspn(p + 1, "?#");
        if (dlen > 0) {
            long db = parse_number(p + 1, dlen, 0, INT_MAX);
            if (db < 0) {
                snprintf(err, errlen, "the database '%.*s' of the Redis URL is not a "
                                      "number from 0",
                         dlen > 16 ? 16 : (int)dlen, p + 1);
                return ATC_EINVAL;
            }
            out->db = (int)db;
        }
        p += 1 + dlen;
    }
    if (*p != '\0') {
        snprintf(err, errlen, "the Redis URL has '%.32s' after the host, port and "
                              "database, which is not supported",
                 p);
        return ATC_EINVAL;
    }
    out->host = dup_range(host, hlen);
    if (out->host == NULL) {
        snprintf(err, errlen, "out of memory parsing the Redis URL");
        return ATC_ENOMEM;
    }
    return 0;
}

int atc_redis_url_parse(const char *url, struct atc_redis_url *out, char *err, size_t errlen)
{
    int rc;

    memset(out, 0, sizeof(*out));
    if (url == NULL || *url == '\0') {
        snprintf(err, errlen, "the Redis URL is empty");
        return ATC_EINVAL;
    }
    if (strlen(url) > URL_MAX_LEN) {
        snprintf(err, errlen, "the Redis URL is longer than %d bytes", URL_MAX_LEN);
        return ATC_EINVAL;
    }
    if (strncmp(url, "unix://", 7) == 0) {
        rc = parse_unix(url + 7, out, err, errlen);
    } else if (strncmp(url, "redis://", 8) == 0) {
        rc = parse_tcp(url + 8, out, err, errlen);
    } else if (strncmp(url, "rediss://", 9) == 0) {
        snprintf(err, errlen, "the Redis URL asks for TLS (rediss://), which this build "
                              "does not support");
        rc = ATC_EINVAL;
    } else {
        snprintf(err, errlen, "the Redis URL must start with redis:// or unix://");
        rc = ATC_EINVAL;
    }
    if (rc != 0)
        atc_redis_url_cleanup(out);
    return rc;
}

void atc_redis_url_cleanup(struct atc_redis_url *u)
{
    if (u == NULL)
        return;
    free(u->host);
    free(u->path);
    free(u->user);
    if (u->password != NULL) {
        /* The password should not outlive its use in freed heap memory. */
        memset(u->password, 0, strlen(u->password));
        free(u->password);
    }
    memset(u, 0, sizeof(*u));
}
