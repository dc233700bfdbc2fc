/* util.c: small helpers of daytona-local (buffers, UUIDs, time, UTF-8). */
#include "util.h"
#include "server.h"

#include "atc/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int dl_buf_append(struct dl_buf *b, const void *data, size_t n)
{
    if (n > SIZE_MAX - b->len - 1)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int dl_buf_printf(struct dl_buf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof(small))
        return dl_buf_append(b, small, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = dl_buf_append(b, big, (size_t)n);
    free(big);
    return rc;
}

void dl_buf_free(struct dl_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void dl_uuid4(char out[37])
{
    unsigned char r[16];
    size_t got = 0;
    while (got < sizeof(r)) {
        ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            /* No entropy source: fall back to the clock, still unique enough
             * for a local test server. */
            static _Atomic uint64_t counter;
            uint64_t t = (uint64_t)(atc_clock_mono_ms() ^ atc_clock_wall_ms()) ^ (counter++ << 40);
            for (size_t i = got; i < sizeof(r); i++) {
                t ^= t << 13; /* xorshift64 */
                t ^= t >> 7;
                t ^= t << 17;
                r[i] = (unsigned char)t;
            }
            break;
        }
        got += (size_t)n;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11],
             r[12], r[13], r[14], r[15]);
}

void dl_iso_time(int64_t wall_ms, char *out, size_t outlen)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    char base[32];
    gmtime_r(&secs, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s.%03dZ", base, (int)(wall_ms % 1000));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

char *dl_utf8_repair(const char *s, size_t len, size_t *outlen)
{
    struct dl_buf b = {0};
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    if (dl_buf_append(&b, "", 0) != 0)
        return NULL;
    while (i < len) {
        size_t run = i;
        size_t k;
        while (run < len && (k = utf8_seq_len(u + run, len - run)) > 0)
            run += k;
        if (run > i && dl_buf_append(&b, s + i, run - i) != 0)
            goto fail;
        i = run;
        if (i < len) {
            if (dl_buf_append(&b, "\xef\xbf\xbd", 3) != 0)
                goto fail;
            i++;
        }
    }
    *outlen = b.len;
    return b.p;
fail:
    dl_buf_free(&b);
    return NULL;
}

void dl_sleep_ms(long ms)
{
    int64_t end = atc_clock_mono_ms() + ms;
    while (!g_dl_stopping) {
        int64_t left = end - atc_clock_mono_ms();
        if (left <= 0)
            break;
        if (left > 100)
            left = 100;
        atc_clock_sleep_ms(left);
    }
}

int dl_parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    if (!s || !*s)
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int dl_env_name_ok(const char *name)
{
    if (!name || !*name)
        return 0;
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
        return 0;
    for (const char *p = name + 1; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

int dl_run_capture(const char *path, char *const argv[], char *const envp[], const char *cwd,
                   int with_stdout, char *buf, size_t buflen)
{
    static char *const no_env[] = {NULL};
    posix_spawn_file_actions_t fa;
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    int status = 0;
    int rc = -1;
    size_t got = 0;

    buf[0] = '\0';
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    if (posix_spawn_file_actions_init(&fa) != 0)
        goto out;
    if (posix_spawn_file_actions_adddup2(&fa, fds[1], 2) == 0 &&
        (!with_stdout || posix_spawn_file_actions_adddup2(&fa, fds[1], 1) == 0) &&
        (!cwd || posix_spawn_file_actions_addchdir_np(&fa, cwd) == 0) &&
        posix_spawn(&pid, path, &fa, NULL, argv, envp ? envp : no_env) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    fds[1] = -1;
    if (pid < 0)
        goto out;
    for (;;) {
        ssize_t r = read(fds[0], buf + got, buflen - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == buflen - 1)
            break;
    }
    buf[got] = '\0';
    while (got > 0 && buf[got - 1] == '\n')
        buf[--got] = '\0';
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
out:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return rc;
}

int dl_split_id_action(const char *rest, char *id, size_t idlen, const char **action)
{
    size_t n = strcspn(rest, "/");
    if (n == 0 || n >= idlen)
        return -1;
    memcpy(id, rest, n);
    id[n] = '\0';
    *action = rest[n] ? rest + n + 1 : "";
    return 0;
}
