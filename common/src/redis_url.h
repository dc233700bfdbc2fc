/* redis_url.h: parses the Redis address of CONTRACT section 4 (private to libatc). */
#ifndef ATC_REDIS_URL_H
#define ATC_REDIS_URL_H

#include <stddef.h>

#define ATC_REDIS_DEFAULT_PORT 6379

/* A parsed Redis address. Every string is owned by the struct; release them
 * with atc_redis_url_cleanup. */
struct atc_redis_url {
    int is_unix;       /* 1: path is set; 0: host and port are set */
    char *host;        /* "127.0.0.1", "redis.local", "::1" (no brackets) */
    int port;          /* 1..65535, default 6379 */
    char *path;        /* absolute path of a unix socket */
    char *user;        /* NULL unless the URL names one (Redis 6 ACL) */
    char *password;    /* NULL when the URL has none */
    int db;            /* 0 unless the URL names one */
};

/* Parses url:
 *   redis://[[user]:password@]host[:port][/db]   (host may be [ipv6])
 *   unix://[[user]:password@]/path/to.sock[?db=N]
 * User and password are percent-decoded. Returns 0 and fills *out, or
 * ATC_EINVAL (ATC_ENOMEM) with a sentence naming the bad part in err; *out is
 * left empty on failure. */
int atc_redis_url_parse(const char *url, struct atc_redis_url *out, char *err, size_t errlen);

/* Frees the strings of u and zeroes it. Accepts NULL. */
void atc_redis_url_cleanup(struct atc_redis_url *u);

#endif
