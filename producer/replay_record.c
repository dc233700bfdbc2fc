/* replay_record.c: dead-letter records read back for `atc replay-dlq`: the
 * record decoded, its job id, the --since time and the filters. No I/O. */
#include "replay_record.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atc/error.h"
#include "atc/mpcheck.h"

/* A dead-letter record has nine to eleven fields; this bounds what msgpack-c
 * allocates for one that carries more, whatever it declares. */
#define REPLAY_RECORD_OBJECTS_MAX 4096

/* ---- the record ---- */

static const char *const replay_rejection_reasons[] = {"bad_message", "too_large"};

int replay_reason_is_rejection(const char *reason)
{
    for (size_t i = 0; i < sizeof(replay_rejection_reasons) / sizeof(replay_rejection_reasons[0]);
         i++) {
        if (strcmp(reason, replay_rejection_reasons[i]) == 0)
            return 1;
    }
    return 0;
}

static int reason_valid(const char *s, size_t n)
{
    if (n == 0 || n >= REPLAY_REASON_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* Copies a str object into dst, cut to fit. 0, or -1 when it is not a str. */
static int copy_str(const msgpack_object *o, char *dst, size_t dstlen)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return -1;
    size_t n = o->via.str.size < dstlen - 1 ? o->via.str.size : dstlen - 1;
    if (n > 0)
        memcpy(dst, o->via.str.ptr, n);
    dst[n] = '\0';
    return 0;
}

static int get_int(const msgpack_object *o, int64_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
        *v = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return 0;
    }
    return -1;
}

enum { F_V, F_REASON, F_ERROR, F_WORKER, F_TS, F_TOPIC, F_PARTITION, F_OFFSET, F_ORIGINAL,
       F_TRUNCATED, F_COUNT };
static const char *const record_keys[F_COUNT] = {
    "v", "reason", "error", "worker", "ts_ms", "topic", "partition", "offset", "original",
    "original_truncated",
};

int replay_record_decode(const void *buf, size_t len, struct replay_record *out, char *err,
                         size_t errlen)
{
    const unsigned char *b = buf;
    const msgpack_object *vals[F_COUNT] = {NULL};
    msgpack_unpacked up;
    char why[160];
    size_t used = 0, off = 0;
    int rc = ATC_EBADMSG;

    msgpack_unpacked_init(&up);
    memset(out, 0, sizeof(*out));
    out->partition = -1;
    out->offset = -1;
    if (buf == NULL || len == 0) {
        snprintf(err, errlen, "empty");
        goto out;
    }
    if (!((b[0] >= 0x80 && b[0] <= 0x8f) || b[0] == 0xde || b[0] == 0xdf)) {
        snprintf(err, errlen, "not a msgpack map");
        goto out;
    }
    if (atc_mp_check(buf, len, REPLAY_RECORD_OBJECTS_MAX, &used, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "not valid msgpack: %s", why);
        goto out;
    }
    if (used != len) {
        snprintf(err, errlen, "%zu bytes of trailing data after the map", len - used);
        goto out;
    }
    if (msgpack_unpack_next(&up, buf, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len ||
        up.data.type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "not a single msgpack map");
        goto out;
    }
    const msgpack_object_map *m = &up.data.via.map;
    for (size_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            continue;
        for (int j = 0; j < F_COUNT; j++) {
            if (k->via.str.size == strlen(record_keys[j]) &&
                memcmp(k->via.str.ptr, record_keys[j], k->via.str.size) == 0) {
                if (vals[j] != NULL) {
                    snprintf(err, errlen, "key %s appears twice", record_keys[j]);
                    goto out;
                }
                vals[j] = &m->ptr[i].val;
            }
        }
    }
    if (vals[F_V] == NULL || vals[F_V]->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        vals[F_V]->via.u64 != 1) {
        snprintf(err, errlen, "v: missing, or not 1");
        goto out;
    }
    if (vals[F_REASON] == NULL || vals[F_REASON]->type != MSGPACK_OBJECT_STR ||
        !reason_valid(vals[F_REASON]->via.str.ptr, vals[F_REASON]->via.str.size)) {
        snprintf(err, errlen, "reason: missing, or not 1 to %d bytes of [A-Za-z0-9_.-]",
                 REPLAY_REASON_MAX - 1);
        goto out;
    }
    (void)copy_str(vals[F_REASON], out->reason, sizeof(out->reason));
    if ((vals[F_ERROR] != NULL && copy_str(vals[F_ERROR], out->error, sizeof(out->error)) != 0) ||
        (vals[F_WORKER] != NULL &&
         copy_str(vals[F_WORKER], out->worker, sizeof(out->worker)) != 0) ||
        (vals[F_TOPIC] != NULL && copy_str(vals[F_TOPIC], out->topic, sizeof(out->topic)) != 0)) {
        snprintf(err, errlen, "error, worker and topic must be strings");
        goto out;
    }
    if (vals[F_TS] != NULL) {
        if (vals[F_TS]->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
            snprintf(err, errlen, "ts_ms: not an unsigned integer");
            goto out;
        }
        out->ts_ms = vals[F_TS]->via.u64;
    }
    if ((vals[F_PARTITION] != NULL && get_int(vals[F_PARTITION], &out->partition) != 0) ||
        (vals[F_OFFSET] != NULL && get_int(vals[F_OFFSET], &out->offset) != 0)) {
        snprintf(err, errlen, "partition and offset must be integers");
        goto out;
    }
    if (vals[F_TRUNCATED] != NULL) {
        if (vals[F_TRUNCATED]->type != MSGPACK_OBJECT_BOOLEAN) {
            snprintf(err, errlen, "original_truncated: not a bool");
            goto out;
        }
        out->original_truncated = vals[F_TRUNCATED]->via.boolean;
    }
    const msgpack_object *o = vals[F_ORIGINAL];
    if (o == NULL || o->type != MSGPACK_OBJECT_BIN) {
        snprintf(err, errlen, "original: missing, or not bin");
        goto out;
    }
    /* msgpack-c points bin objects into the bytes unpacked; make sure. */
    if (o->via.bin.size > 0 &&
        (o->via.bin.ptr < (const char *)buf || o->via.bin.size > len ||
         o->via.bin.ptr > (const char *)buf + (len - o->via.bin.size))) {
        snprintf(err, errlen, "original: not within the record");
        goto out;
    }
    out->original = o->via.bin.size > 0 ? (const void *)o->via.bin.ptr : (const void *)"";
    out->original_len = o->via.bin.size;
    rc = 0;
out:
    msgpack_unpacked_destroy(&up);
    return rc;
}

int replay_record_job_id(const struct replay_record *r, const void *key, size_t keylen,
                         char id[ATC_JOB_ID_MAX + 1])
{
    struct atc_job *job = NULL;
    struct atc_job_error jerr;

    id[0] = '\0';
    if (atc_job_decode(r->original, r->original_len, SIZE_MAX, &job, &jerr) == 0) {
        snprintf(id, ATC_JOB_ID_MAX + 1, "%s", job->id);
        atc_job_free(job);
        return 0;
    }
    if (jerr.id[0] != '\0') {
        snprintf(id, ATC_JOB_ID_MAX + 1, "%s", jerr.id);
        return 0;
    }
    if (key != NULL && keylen > 0 && keylen <= ATC_JOB_ID_MAX && atc_job_id_valid(key, keylen)) {
        memcpy(id, key, keylen);
        id[keylen] = '\0';
        return 0;
    }
    return ATC_ENOTFOUND;
}

/* ---- --since ---- */

/* Reads exactly n digits at s. -1 when one is not a digit. */
static int fixed_digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* RFC 3339, or a date alone. -1 when s is not one. */
static int parse_time(const char *s, uint64_t *ms_out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off_min = 0;
    const char *p = s;

    if (fixed_digits(p, 4, &y) != 0 || p[4] != '-' || fixed_digits(p + 5, 2, &mo) != 0 ||
        p[7] != '-' || fixed_digits(p + 8, 2, &d) != 0)
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    p += 10;
    if (*p != '\0') {
        if (*p != 'T' && *p != 't' && *p != ' ')
            return -1;
        p++;
        if (fixed_digits(p, 2, &h) != 0 || p[2] != ':' || fixed_digits(p + 3, 2, &mi) != 0 ||
            p[5] != ':' || fixed_digits(p + 6, 2, &sec) != 0)
            return -1;
        if (h > 23 || mi > 59 || sec > 59)
            return -1;
        p += 8;
        if (*p == '.') {
            int scale = 100, digits = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
                ms += (*p - '0') * scale;
                scale /= 10;
            }
            if (digits == 0)
                return -1;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (fixed_digits(p + 1, 2, &oh) != 0 || p[3] != ':' ||
                fixed_digits(p + 4, 2, &om) != 0 || oh > 23 || om > 59)
                return -1;
            off_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
            p += 6;
        } else {
            return -1; /* a time with no zone is ambiguous */
        }
        if (*p != '\0')
            return -1;
    }
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off_min * 60;
    if (t < 0)
        return -1;
    *ms_out = (uint64_t)t * 1000u + (uint64_t)ms;
    return 0;
}

/* "90m", "1h30m": -1 when s is not one, or overflows. */
static int parse_duration(const char *s, uint64_t *ms_out)
{
    uint64_t total = 0;
    const char *p = s;

    if (*p == '\0')
        return -1;
    while (*p != '\0') {
        uint64_t n = 0, unit;
        const char *start = p;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (n > (UINT64_MAX - 9) / 10)
                return -1;
            n = n * 10 + (uint64_t)(*p - '0');
        }
        if (p == start)
            return -1;
        switch (*p) {
        case 's': unit = 1000u; break;
        case 'm': unit = 60000u; break;
        case 'h': unit = 3600000u; break;
        case 'd': unit = 86400000u; break;
        default: return -1;
        }
        p++;
        if (n > UINT64_MAX / unit || total > UINT64_MAX - n * unit)
            return -1;
        total += n * unit;
    }
    *ms_out = total;
    return 0;
}

int replay_parse_since(const char *s, uint64_t now_ms, uint64_t *since_ms, char *err,
                       size_t errlen)
{
    size_t n = strlen(s), digits = strspn(s, "0123456789");
    uint64_t v = 0;

    if (n > 0 && digits == n) {
        /* At least 12 digits: a forgotten unit is not taken for a time in 1970. */
        if (n >= 12 && n <= 19) {
            char *end = NULL;
            errno = 0;
            unsigned long long ull = strtoull(s, &end, 10);
            if (errno == 0 && end != NULL && *end == '\0') {
                *since_ms = (uint64_t)ull;
                return 0;
            }
        }
    } else if (digits == 4 && s[4] == '-') {
        if (parse_time(s, &v) == 0) {
            *since_ms = v;
            return 0;
        }
    } else if (parse_duration(s, &v) == 0) {
        *since_ms = v < now_ms ? now_ms - v : 0;
        return 0;
    }
    snprintf(err, errlen,
             "--since wants a duration (90m, 1h30m, 7d), a time (2026-11-26T07:00:00Z) or "
             "ms since the epoch, not '%s'", s);
    return ATC_EINVAL;
}

/* ---- filters ---- */

static int in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0)
            return 1;
    }
    return 0;
}

int replay_filter_match(const struct replay_filter *f, const struct replay_record *r,
                        const char *id)
{
    if (f->nreasons > 0 && !in_list(f->reasons, f->nreasons, r->reason))
        return 0;
    if (f->nids > 0 && (id[0] == '\0' || !in_list(f->ids, f->nids, id)))
        return 0;
    if (f->since_ms > 0 && r->ts_ms < f->since_ms)
        return 0;
    return 1;
}

