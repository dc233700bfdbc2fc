/* digest.c: the failure digest (see digest.h). */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"

/* Longest single line kept from a message or a source line. */
#define DIGEST_LINE_MAX 240

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

static void buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

/* The first line of s, at most DIGEST_LINE_MAX bytes, cut back to a UTF-8
 * character boundary. */
static size_t first_line(const char *s)
{
    size_t n = 0;
    while (s[n] && s[n] != '\n' && s[n] != '\r' && n < DIGEST_LINE_MAX)
        n++;
    if (s[n] && s[n] != '\n' && s[n] != '\r')
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    return n;
}

static int is_job_file(const char *file, const char *const *files, size_t nfiles)
{
    for (size_t i = 0; i < nfiles; i++)
        if (strcmp(file, files[i]) == 0)
            return 1;
    return 0;
}

/* The innermost frame of t inside the job's files, or NULL. */
static const struct digest_frame *inner_frame(const struct digest_test *t, const char *const *files,
                                              size_t nfiles)
{
    for (size_t i = t->nframes; i > 0; i--)
        if (t->frames[i - 1].file && is_job_file(t->frames[i - 1].file, files, nfiles))
            return &t->frames[i - 1];
    return NULL;
}

/* 1 when a and b are the same failure: outcome, first line of what and the
 * innermost own frame. */
static int same_failure(const struct digest_test *a, const struct digest_test *b,
                        const char *const *files, size_t nfiles)
{
    const char *wa = a->what ? a->what : "", *wb = b->what ? b->what : "";
    size_t la = first_line(wa), lb = first_line(wb);
    if (strcmp(a->outcome, b->outcome) != 0 || la != lb || memcmp(wa, wb, la) != 0)
        return 0;
    const struct digest_frame *fa = inner_frame(a, files, nfiles), *fb = inner_frame(b, files, nfiles);
    if (!fa || !fb)
        return fa == fb;
    return fa->line == fb->line && strcmp(fa->file, fb->file) == 0;
}

/* Appends the entry of tests[i] and of its later duplicates (marked in done). */
static void put_entry(struct buf *b, const struct digest_test *tests, size_t n, size_t i,
                      char *done, const char *const *files, size_t nfiles)
{
    const struct digest_test *t = &tests[i];
    char num[48];

    buf_str(b, t->outcome);
    buf_str(b, " ");
    buf_str(b, t->name);
    size_t more = 0;
    for (size_t j = i + 1; j < n; j++) {
        if (done[j] || !same_failure(t, &tests[j], files, nfiles))
            continue;
        done[j] = 1;
        if (more < 3) {
            buf_str(b, more ? ", " : " (same failure: ");
            buf_str(b, tests[j].name);
        }
        more++;
    }
    if (more > 3) {
        snprintf(num, sizeof(num), " and %zu more", more - 3);
        buf_str(b, num);
    }
    if (more)
        buf_str(b, ")");
    buf_str(b, "\n");
    if (t->what && t->what[0]) {
        buf_str(b, "  ");
        buf_put(b, t->what, first_line(t->what));
        buf_str(b, "\n");
    }
    for (size_t k = 0; k < t->nframes; k++) {
        const struct digest_frame *f = &t->frames[k];
        if (!f->file || !is_job_file(f->file, files, nfiles))
            continue;
        snprintf(num, sizeof(num), ":%ld in ", f->line);
        buf_str(b, "  ");
        buf_put(b, f->file, first_line(f->file));
        buf_str(b, num);
        buf_put(b, f->func ? f->func : "?", f->func ? first_line(f->func) : 1);
        if (f->code && f->code[0]) {
            buf_str(b, ": ");
            buf_put(b, f->code, first_line(f->code));
        }
        buf_str(b, "\n");
    }
}

/* The install output's first "ERROR:" line (pip's reason), else its last
 * non-empty line. Returns its start and sets *len; NULL when empty. */
static const char *install_reason(const char *s, size_t n, size_t *len)
{
    const char *last = NULL;
    size_t last_len = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != '\n')
            j++;
        size_t k = j;
        while (k > i && (s[k - 1] == '\r' || s[k - 1] == ' '))
            k--;
        if (k > i) {
            if (k - i >= 6 && memcmp(s + i, "ERROR:", 6) == 0) {
                *len = k - i;
                return s + i;
            }
            last = s + i;
            last_len = k - i;
        }
        i = j + 1;
    }
    *len = last_len;
    return last;
}

int digest_build(const struct digest_test *tests, size_t n, const char *const *job_files,
                 size_t nfiles, const char *install_output, size_t install_len, size_t max,
                 char **out, size_t *out_len)
{
    struct buf b = {0}, e = {0};
    char *done = NULL;
    char tail[64];
    int rc = 0;

    *out = NULL;
    *out_len = 0;
    if (install_output && install_len > 0) {
        size_t len = 0;
        const char *why = install_reason(install_output, install_len, &len);
        if (why) {
            buf_str(&e, "install failed: ");
            /* One line, cut back to a character boundary. */
            if (len > DIGEST_LINE_MAX) {
                len = DIGEST_LINE_MAX;
                while (len > 0 && ((unsigned char)why[len] & 0xC0) == 0x80)
                    len--;
            }
            /* pip's output is the sandbox's bytes: no control character
             * (a NUL, an escape sequence) reaches the digest. */
            for (size_t i = 0; i < len; i++) {
                char ch = (unsigned char)why[i] < 0x20 || why[i] == 0x7f ? '?' : why[i];
                buf_put(&e, &ch, 1);
            }
            buf_str(&e, "\n");
            if (!e.oom && e.len <= max)
                buf_put(&b, e.p, e.len);
            e.len = 0;
        }
    }
    done = calloc(n ? n : 1, 1);
    if (!done) {
        rc = ATC_ENOMEM;
        goto out;
    }
    size_t left = 0;
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        done[i] = 1;
        e.len = 0;
        char *mark = malloc(n ? n : 1);
        if (!mark) {
            rc = ATC_ENOMEM;
            goto out;
        }
        memcpy(mark, done, n);
        put_entry(&e, tests, n, i, mark, job_files, nfiles);
        /* Room is kept for the closing line whenever an entry is dropped. */
        if (!e.oom && b.len + e.len + sizeof(tail) <= max) {
            buf_put(&b, e.p, e.len);
            memcpy(done, mark, n);
        } else {
            left++;
        }
        free(mark);
    }
    if (left) {
        snprintf(tail, sizeof(tail), "... %zu more failure%s not shown\n", left,
                 left == 1 ? "" : "s");
        if (b.len + strlen(tail) <= max)
            buf_str(&b, tail);
    }
    if (b.oom || e.oom) {
        rc = ATC_ENOMEM;
        goto out;
    }
    if (b.len > 0) {
        *out = b.p;
        *out_len = b.len;
        b.p = NULL;
    }
out:
    free(b.p);
    free(e.p);
    free(done);
    return rc;
}
