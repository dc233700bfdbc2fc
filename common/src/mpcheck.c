/* mpcheck.c: the allocation-free msgpack bounds walk of mpcheck.h. */
#include "atc/mpcheck.h"

#include <stdint.h>
#include <stdio.h>

#include "atc/error.h"

enum mp_kind {
    MP_SCALAR,  /* header, then `extra` fixed bytes */
    MP_PAYLOAD, /* header, length field, `extra` fixed bytes, then n bytes */
    MP_ARRAY,   /* header, length field, then n objects */
    MP_MAP      /* header, length field, then 2n objects */
};

struct mp_head {
    enum mp_kind kind;
    const char *what;  /* for messages */
    size_t lenbytes;   /* size of the big-endian length field, 0 when inline */
    size_t extra;      /* fixed bytes after the length field */
    uint64_t n;        /* inline length or count */
};

/* Fills h from the type byte b; returns -1 for the one undefined byte, 0xc1. */
static int mp_classify(unsigned char b, struct mp_head *h)
{
    static const size_t pow2[] = { 1, 2, 4, 8, 16 };

    h->kind = MP_SCALAR;
    h->what = "scalar";
    h->lenbytes = 0;
    h->extra = 0;
    h->n = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b <= 0x8f) {
        h->kind = MP_MAP;
        h->what = "map";
        h->n = b & 0x0fu;
    } else if (b <= 0x9f) {
        h->kind = MP_ARRAY;
        h->what = "array";
        h->n = b & 0x0fu;
    } else if (b <= 0xbf) {
        h->kind = MP_PAYLOAD;
        h->what = "str";
        h->n = b & 0x1fu;
    } else if (b == 0xc1) {
        return -1;
    } else if (b >= 0xc4 && b <= 0xc6) {
        h->kind = MP_PAYLOAD;
        h->what = "bin";
        h->lenbytes = pow2[b - 0xc4];
    } else if (b >= 0xc7 && b <= 0xc9) {
        h->kind = MP_PAYLOAD;
        h->what = "ext";
        h->lenbytes = pow2[b - 0xc7];
        h->extra = 1; /* the ext type byte */
    } else if (b == 0xca || b == 0xcb) {
        h->extra = b == 0xca ? 4 : 8;
    } else if (b >= 0xcc && b <= 0xcf) {
        h->extra = pow2[b - 0xcc];
    } else if (b >= 0xd0 && b <= 0xd3) {
        h->extra = pow2[b - 0xd0];
    } else if (b >= 0xd4 && b <= 0xd8) {
        h->what = "fixext";
        h->extra = 1 + pow2[b - 0xd4];
    } else if (b >= 0xd9 && b <= 0xdb) {
        h->kind = MP_PAYLOAD;
        h->what = "str";
        h->lenbytes = pow2[b - 0xd9];
    } else if (b == 0xdc || b == 0xdd) {
        h->kind = MP_ARRAY;
        h->what = "array";
        h->lenbytes = b == 0xdc ? 2 : 4;
    } else { /* 0xde, 0xdf */
        h->kind = MP_MAP;
        h->what = "map";
        h->lenbytes = b == 0xde ? 2 : 4;
    }
    return 0;
}

int atc_mp_check(const void *buf, size_t len, size_t max_objects, size_t *used,
                 char *err, size_t errlen)
{
    const unsigned char *p = buf;
    /* left[d]: objects still to read in the container open at depth d;
     * left[0] is the one top-level object. owed: the sum over all levels. */
    uint64_t left[ATC_MP_DEPTH_MAX + 1];
    uint64_t owed = 1;
    size_t top = 0;
    size_t off = 0;
    size_t objects = 0;

    left[0] = 1;
    if (len > 0 && p == NULL) {
        snprintf(err, errlen, "no buffer");
        return ATC_EBADMSG;
    }
    for (;;) {
        struct mp_head h;
        size_t start = off;
        size_t rest;
        uint64_t elems;

        while (top > 0 && left[top] == 0)
            top--;
        if (left[top] == 0)
            break;
        left[top]--;
        owed--;
        objects++;
        if (objects > max_objects) {
            snprintf(err, errlen, "more than %zu objects", max_objects);
            return ATC_EBADMSG;
        }

        if (off >= len) {
            snprintf(err, errlen, "truncated: ends where an object should start (byte %zu)", off);
            return ATC_EBADMSG;
        }
        if (mp_classify(p[off], &h) < 0) {
            snprintf(err, errlen, "type byte 0xc1 at byte %zu is never used", off);
            return ATC_EBADMSG;
        }
        off++;
        rest = len - off;
        if (h.lenbytes > rest) {
            snprintf(err, errlen, "truncated: %s header at byte %zu", h.what, start);
            return ATC_EBADMSG;
        }
        for (size_t i = 0; i < h.lenbytes; i++)
            h.n = (h.n << 8) | p[off + i];
        off += h.lenbytes;
        rest = len - off;

        switch (h.kind) {
        case MP_SCALAR:
            if (h.extra > rest) {
                snprintf(err, errlen, "truncated: %s at byte %zu needs %zu bytes, %zu left",
                         h.what, start, h.extra, rest);
                return ATC_EBADMSG;
            }
            off += h.extra;
            break;
        case MP_PAYLOAD:
            if (h.extra > rest || h.n > rest - h.extra) {
                snprintf(err, errlen, "%s at byte %zu declares %llu bytes, only %zu left",
                         h.what, start, (unsigned long long)h.n, rest);
                return ATC_EBADMSG;
            }
            off += h.extra + (size_t)h.n;
            break;
        case MP_ARRAY:
        case MP_MAP:
            /* h.n < 2^32, so doubling cannot overflow. Each element owed,
             * here or by an enclosing container, needs at least one byte. */
            elems = h.kind == MP_MAP ? 2 * h.n : h.n;
            if (elems > rest || owed > rest - elems) {
                snprintf(err, errlen, "%s at byte %zu declares %llu %s, more than the %zu bytes left could hold",
                         h.what, start, (unsigned long long)h.n,
                         h.kind == MP_MAP ? "entries" : "elements", rest);
                return ATC_EBADMSG;
            }
            if (elems == 0)
                break;
            if (top == ATC_MP_DEPTH_MAX) {
                snprintf(err, errlen, "containers nest deeper than %d at byte %zu",
                         ATC_MP_DEPTH_MAX, start);
                return ATC_EBADMSG;
            }
            left[++top] = elems;
            owed += elems;
            break;
        }
    }
    *used = off;
    return 0;
}
