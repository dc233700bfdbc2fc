/* env_key.c: dependency environment keys and their Dockerfile (see env_key.h). */
#include "atc/env_key.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/job.h"
#include "atc/sha256.h"

#define ENV_KEY_VERSION "atc-env-v1"
#define ENV_PARTS_MAX 64

/* A growing string; on a failed allocation it stays NULL and later appends do nothing. */
struct sbuf {
    char *s;
    size_t len, cap;
    int failed;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            free(b->s);
            b->s = NULL;
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Writes the PEP 503 form of the name s[0..n) at out: lower case, each run of
 * '-', '_', '.' one '-'. Returns the length written. out holds n bytes at least. */
static size_t norm_name(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '-' || c == '_' || c == '.') {
            if (o == 0 || out[o - 1] != '-')
                out[o++] = '-';
        } else {
            out[o++] = (char)tolower(c);
        }
    }
    return o;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Splits s[0..n) at ',' into parts (copies in buf, pointers in parts), each
 * made by fn; sorts them, drops duplicates. Returns the count, or -1. */
static int split_sorted(const char *s, size_t n, int names, char *buf, const char **parts)
{
    int np = 0;
    size_t pos = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ',')
            continue;
        if (np == ENV_PARTS_MAX || i == start)
            return -1;
        char *p = buf + pos;
        size_t len;
        if (names) {
            len = norm_name(s + start, i - start, p);
        } else {
            for (len = 0; len < i - start; len++)
                p[len] = (char)tolower((unsigned char)s[start + len]);
        }
        p[len] = '\0';
        parts[np++] = p;
        pos += len + 1;
        start = i + 1;
    }
    qsort(parts, (size_t)np, sizeof(*parts), by_str);
    int w = 0;
    for (int r = 0; r < np; r++)
        if (w == 0 || strcmp(parts[w - 1], parts[r]) != 0)
            parts[w++] = parts[r];
    return w;
}

/* Appends parts[0..np) joined by ',' to out at *o; -1 when it does not fit. */
static int join(const char **parts, int np, char *out, size_t outlen, size_t *o)
{
    for (int i = 0; i < np; i++) {
        size_t len = strlen(parts[i]);
        if (*o + len + 2 > outlen)
            return -1;
        if (i > 0)
            out[(*o)++] = ',';
        memcpy(out + *o, parts[i], len);
        *o += len;
    }
    return 0;
}

int atc_env_normalize_dep(const char *dep, char *out, size_t outlen)
{
    char buf[ATC_ENV_DEP_MAX * 2];
    const char *parts[ENV_PARTS_MAX];
    size_t len = dep ? strlen(dep) : 0;

    if (!dep || !atc_job_dep_valid(dep, len) || len >= ATC_ENV_DEP_MAX)
        return ATC_EINVAL;
    /* The decoder has checked the shape: name, [extras], clauses. */
    size_t name_end = strcspn(dep, "[=<>!~");
    size_t o = 0;
    if (outlen < name_end + 1)
        return ATC_ETOOBIG;
    o = norm_name(dep, name_end, out);
    size_t i = name_end;
    if (dep[i] == '[') {
        size_t close = i + strcspn(dep + i, "]");
        int np = split_sorted(dep + i + 1, close - i - 1, 1, buf, parts);
        if (np < 0)
            return ATC_EINVAL;
        if (o + 2 > outlen)
            return ATC_ETOOBIG;
        out[o++] = '[';
        if (join(parts, np, out, outlen, &o) != 0 || o + 2 > outlen)
            return ATC_ETOOBIG;
        out[o++] = ']';
        i = close + 1;
    }
    if (dep[i] != '\0') {
        int np = split_sorted(dep + i, len - i, 0, buf, parts);
        if (np < 0)
            return ATC_EINVAL;
        if (join(parts, np, out, outlen, &o) != 0)
            return ATC_ETOOBIG;
    }
    if (o + 1 > outlen)
        return ATC_ETOOBIG;
    out[o] = '\0';
    return 0;
}

void atc_env_key_cleanup(struct atc_env_key *key)
{
    if (!key)
        return;
    for (size_t i = 0; i < key->ndeps; i++)
        free(key->deps[i]);
    free(key->deps);
    free(key->text);
    memset(key, 0, sizeof(*key));
}

/* 1 when s is usable on a line of the canonical text and the Dockerfile:
 * printable ASCII without quotes, backslashes or spaces. */
static int plain(const char *s)
{
    for (; *s; s++)
        if (*s <= 0x20 || *s >= 0x7f || *s == '\'' || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

int atc_env_key_compute(const char *const *deps, size_t ndeps, const struct atc_env_base *base,
                        struct atc_env_key *key, char *err, size_t errlen)
{
    struct sbuf t = {0};
    unsigned char md[32];
    int rc = ATC_EINVAL;

    memset(key, 0, sizeof(*key));
    if (ndeps == 0 || ndeps > ATC_JOB_DEPS_MAX) {
        snprintf(err, errlen, "an environment needs 1 to %d requirements (got %zu)",
                 ATC_JOB_DEPS_MAX, ndeps);
        goto out;
    }
    if (!base || !base->image || !*base->image || !plain(base->image)) {
        snprintf(err, errlen, "an environment needs a base image without spaces or quotes");
        goto out;
    }
    if (base->index_url && *base->index_url && !plain(base->index_url)) {
        snprintf(err, errlen, "the pip index URL must hold no spaces, quotes or backslashes");
        goto out;
    }
    rc = ATC_ENOMEM;
    key->deps = calloc(ndeps, sizeof(*key->deps));
    if (!key->deps)
        goto out;
    for (size_t i = 0; i < ndeps; i++) {
        char norm[ATC_ENV_DEP_MAX];
        int r = atc_env_normalize_dep(deps[i], norm, sizeof(norm));
        if (r != 0) {
            snprintf(err, errlen, "requirement \"%.300s\" is not one pip can be given",
                     deps[i] ? deps[i] : "");
            rc = ATC_EINVAL;
            goto out;
        }
        if (!(key->deps[key->ndeps] = strdup(norm)))
            goto out;
        key->ndeps++;
    }
    qsort(key->deps, key->ndeps, sizeof(*key->deps), by_str);
    size_t w = 0;
    for (size_t r = 0; r < key->ndeps; r++) {
        if (w > 0 && strcmp(key->deps[w - 1], key->deps[r]) == 0)
            free(key->deps[r]);
        else
            key->deps[w++] = key->deps[r];
    }
    key->ndeps = w;
    /* One line per part, each tagged, so no two inputs give one text. */
    sb_puts(&t, ENV_KEY_VERSION "\nbase ");
    sb_puts(&t, base->image);
    sb_puts(&t, "\nresources ");
    sb_puts(&t, base->resources && *base->resources ? base->resources : "default");
    sb_puts(&t, "\nindex ");
    sb_puts(&t, base->index_url && *base->index_url ? base->index_url : "default");
    for (size_t i = 0; i < key->ndeps; i++) {
        sb_puts(&t, "\ndep ");
        sb_puts(&t, key->deps[i]);
    }
    sb_puts(&t, "\n");
    if (t.failed)
        goto out;
    if (atc_sha256(t.s, t.len, md) != 0) {
        snprintf(err, errlen, "SHA-256 is not available");
        rc = ATC_EIO;
        goto out;
    }
    for (unsigned i = 0; i < sizeof(md); i++) {
        static const char hex[] = "0123456789abcdef";
        key->hex[2 * i] = hex[md[i] >> 4];
        key->hex[2 * i + 1] = hex[md[i] & 15];
    }
    key->hex[64] = '\0';
    snprintf(key->name, sizeof(key->name), ATC_ENV_NAME_PREFIX "%.16s", key->hex);
    key->text = t.s;
    t.s = NULL;
    rc = 0;
out:
    if (rc == ATC_ENOMEM)
        snprintf(err, errlen, "out of memory computing an environment key");
    if (rc != 0)
        atc_env_key_cleanup(key);
    free(t.s);
    return rc;
}

int atc_env_name_valid(const char *name)
{
    size_t n = sizeof(ATC_ENV_NAME_PREFIX) - 1;
    if (!name || strncmp(name, ATC_ENV_NAME_PREFIX, n) != 0 || strlen(name) != n + 16)
        return 0;
    for (size_t i = n; name[i]; i++)
        if (!isdigit((unsigned char)name[i]) && !(name[i] >= 'a' && name[i] <= 'f'))
            return 0;
    return 1;
}

char *atc_env_dockerfile(const struct atc_env_key *key, const struct atc_env_base *base,
                         char *err, size_t errlen)
{
    struct sbuf b = {0};

    if (!key || key->ndeps == 0 || !base || !base->image || !plain(base->image) ||
        (base->index_url && *base->index_url && !plain(base->index_url))) {
        snprintf(err, errlen, "no requirements, or a base image or index URL that cannot be "
                 "written into a Dockerfile");
        return NULL;
    }
    sb_puts(&b, "FROM ");
    sb_puts(&b, base->image);
    sb_puts(&b, "\nRUN python -m pip install --no-cache-dir");
    if (base->index_url && *base->index_url) {
        sb_puts(&b, " --index-url '");
        sb_puts(&b, base->index_url);
        sb_puts(&b, "'");
    }
    for (size_t i = 0; i < key->ndeps; i++) {
        sb_puts(&b, " '");
        sb_puts(&b, key->deps[i]);
        sb_puts(&b, "'");
    }
    sb_puts(&b, "\n");
    if (b.failed)
        snprintf(err, errlen, "out of memory writing a Dockerfile");
    return b.s;
}
