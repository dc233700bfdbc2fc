/* json_pick.c: a validating JSON scanner that keeps only chosen top-level
 * members of an object (see json_pick.h). */
#include "json_pick.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson's JSON_PARSER_MAX_DEPTH. */
#define JP_MAX_DEPTH 2048
/* Escaped keys up to this long are unescaped on the stack. */
#define JP_KEY_STACK 256

struct jp {
    const unsigned char *s;
    size_t len;
    size_t pos;
    char *err;
    size_t errlen;
};

static int jp_fail(struct jp *j, const char *what)
{
    int line = 1;

    for (size_t i = 0; i < j->pos && i < j->len; i++)
        if (j->s[i] == '\n')
            line++;
    if (j->errlen > 0)
        snprintf(j->err, j->errlen, "line %d: %s", line, what);
    return -1;
}

static void jp_ws(struct jp *j)
{
    while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
                               j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
        j->pos++;
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* The length of the valid UTF-8 sequence at s[0..n) (no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp;
    size_t k;

    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0) {
        k = 2;
        cp = c & 0x1F;
    } else if (c < 0xF0) {
        k = 3;
        cp = c & 0x0F;
    } else if (c < 0xF5) {
        k = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k;
}

/* Four hex digits at s into *v. Returns 0 or -1. */
static int hex4(const unsigned char *s, unsigned *v)
{
    unsigned x = 0;

    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        x = x << 4 | d;
    }
    *v = x;
    return 0;
}

/* Scans the string whose opening quote is at j->pos; leaves j->pos past the
 * closing quote, the raw text in [*start, *start + *n), *plain 1 when it has
 * no escape. */
static int jp_string(struct jp *j, size_t *start, size_t *n, int *plain)
{
    j->pos++;
    *start = j->pos;
    *plain = 1;
    while (j->pos < j->len) {
        unsigned char c = j->s[j->pos];
        if (c == '"') {
            *n = j->pos - *start;
            j->pos++;
            return 0;
        }
        if (c < 0x20)
            return jp_fail(j, "control character in a string");
        if (c != '\\') {
            size_t k = utf8_seq(j->s + j->pos, j->len - j->pos);
            if (k == 0)
                return jp_fail(j, "invalid UTF-8 in a string");
            j->pos += k;
            continue;
        }
        *plain = 0;
        if (j->pos + 1 >= j->len)
            break;
        c = j->s[j->pos + 1];
        if (c != 'u') {
            if (c == '\0' || strchr("\"\\/bfnrt", c) == NULL)
                return jp_fail(j, "invalid escape in a string");
            j->pos += 2;
            continue;
        }
        unsigned v, w;
        if (j->len - j->pos < 6 || hex4(j->s + j->pos + 2, &v) != 0)
            return jp_fail(j, "invalid \\u escape in a string");
        j->pos += 6;
        if (v >= 0xDC00 && v <= 0xDFFF)
            return jp_fail(j, "invalid Unicode escape in a string (a lone low surrogate)");
        if (v >= 0xD800 && v <= 0xDBFF) {
            if (j->len - j->pos < 6 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u' ||
                hex4(j->s + j->pos + 2, &w) != 0 || w < 0xDC00 || w > 0xDFFF)
                return jp_fail(j, "invalid Unicode escape in a string (a lone high surrogate)");
            j->pos += 6;
        }
    }
    return jp_fail(j, "premature end of input in a string");
}

/* Scans a number at j->pos; *is_int and *v when it has no fraction and no
 * exponent. */
static int jp_number(struct jp *j, int *is_int, long long *v)
{
    const unsigned char *s = j->s;
    size_t len = j->len;
    int neg = 0;
    unsigned long long x = 0;
    unsigned long long limit;

    if (s[j->pos] == '-') {
        neg = 1;
        j->pos++;
    }
    if (j->pos >= len || !is_digit(s[j->pos]))
        return jp_fail(j, "invalid number");
    limit = neg ? (unsigned long long)1 << 63 : ((unsigned long long)1 << 63) - 1;
    int overflow = 0;
    if (s[j->pos] == '0') {
        j->pos++;
        if (j->pos < len && is_digit(s[j->pos]))
            return jp_fail(j, "invalid number (a leading zero)");
    } else {
        while (j->pos < len && is_digit(s[j->pos])) {
            unsigned d = s[j->pos] - '0';
            if (x > (limit - d) / 10)
                overflow = 1;
            else
                x = x * 10 + d;
            j->pos++;
        }
    }
    *is_int = 1;
    if (j->pos < len && s[j->pos] == '.') {
        j->pos++;
        if (j->pos >= len || !is_digit(s[j->pos]))
            return jp_fail(j, "invalid number");
        while (j->pos < len && is_digit(s[j->pos]))
            j->pos++;
        *is_int = 0;
    }
    if (j->pos < len && (s[j->pos] == 'e' || s[j->pos] == 'E')) {
        j->pos++;
        if (j->pos < len && (s[j->pos] == '+' || s[j->pos] == '-'))
            j->pos++;
        if (j->pos >= len || !is_digit(s[j->pos]))
            return jp_fail(j, "invalid number");
        while (j->pos < len && is_digit(s[j->pos]))
            j->pos++;
        *is_int = 0;
    }
    if (*is_int) {
        if (overflow)
            return jp_fail(j, "too big integer");
        *v = neg ? (long long)(0 - x) : (long long)x;
    }
    return 0;
}

/* Appends the bytes of one unescaped code point or byte; see jp_unescape. */
struct jp_out {
    char *buf;
    size_t size;    /* writes stop at size - 1 (C string) or size (raw) */
    size_t n;       /* bytes produced, written or not */
    int stop_at_nul;
    int stopped;
};

static void out_byte(struct jp_out *o, unsigned char c)
{
    if (o->stopped)
        return;
    if (c == '\0' && o->stop_at_nul) {
        o->stopped = 1;
        return;
    }
    if (o->n < o->size)
        o->buf[o->n] = (char)c;
    o->n++;
}

/* Unescapes a string that jp_string accepted. */
static void jp_unescape(const unsigned char *s, size_t n, struct jp_out *o)
{
    for (size_t i = 0; i < n && !o->stopped;) {
        if (s[i] != '\\') {
            out_byte(o, s[i++]);
            continue;
        }
        unsigned char c = s[i + 1];
        if (c != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            out_byte(o, (unsigned char)to[strchr(from, c) - from]);
            i += 2;
            continue;
        }
        unsigned cp = 0, lo = 0xDC00;
        hex4(s + i + 2, &cp);
        i += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            hex4(s + i + 2, &lo);
            i += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp < 0x80) {
            out_byte(o, (unsigned char)cp);
        } else if (cp < 0x800) {
            out_byte(o, (unsigned char)(0xC0 | cp >> 6));
            out_byte(o, (unsigned char)(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out_byte(o, (unsigned char)(0xE0 | cp >> 12));
            out_byte(o, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
            out_byte(o, (unsigned char)(0x80 | (cp & 0x3F)));
        } else {
            out_byte(o, (unsigned char)(0xF0 | cp >> 18));
            out_byte(o, (unsigned char)(0x80 | ((cp >> 12) & 0x3F)));
            out_byte(o, (unsigned char)(0x80 | ((cp >> 6) & 0x3F)));
            out_byte(o, (unsigned char)(0x80 | (cp & 0x3F)));
        }
    }
}

/* The pick whose key equals the raw key s[0..n) once unescaped, or NULL;
 * -1 in *bad when the key holds a NUL (jansson refuses those). */
static struct atc_jpick *jp_match(const unsigned char *s, size_t n, int plain,
                                  struct atc_jpick *picks, size_t npicks, int *bad)
{
    char stack[JP_KEY_STACK];
    char *key = (char *)s;
    size_t klen = n;
    struct atc_jpick *found = NULL;

    *bad = 0;
    if (!plain) {
        key = n <= sizeof(stack) ? stack : malloc(n);
        if (key == NULL) {
            *bad = -2;
            return NULL;
        }
        struct jp_out o = {.buf = key, .size = n};
        jp_unescape(s, n, &o);
        klen = o.n;
        if (memchr(key, '\0', klen) != NULL)
            *bad = -1;
    }
    for (size_t i = 0; i < npicks && *bad == 0; i++) {
        if (strlen(picks[i].key) == klen && memcmp(picks[i].key, key, klen) == 0)
            found = &picks[i];
    }
    if (key != (char *)s && key != stack)
        free(key);
    return found;
}

static int jp_value(struct jp *j, int depth, struct atc_jpick *pick);

static int jp_object(struct jp *j, int depth, struct atc_jpick *picks, size_t npicks)
{
    if (depth > JP_MAX_DEPTH)
        return jp_fail(j, "maximum parsing depth reached");
    j->pos++;
    jp_ws(j);
    if (j->pos < j->len && j->s[j->pos] == '}') {
        j->pos++;
        return 0;
    }
    for (;;) {
        size_t kstart, klen;
        int plain, bad;
        jp_ws(j);
        if (j->pos >= j->len || j->s[j->pos] != '"')
            return jp_fail(j, "string or '}' expected");
        if (jp_string(j, &kstart, &klen, &plain) != 0)
            return -1;
        struct atc_jpick *pick = NULL;
        if (npicks > 0 || !plain) {
            pick = jp_match(j->s + kstart, klen, plain, picks, npicks, &bad);
            if (bad == -1)
                return jp_fail(j, "NUL byte in object key not supported");
            if (bad == -2)
                return jp_fail(j, "out of memory");
        }
        jp_ws(j);
        if (j->pos >= j->len || j->s[j->pos] != ':')
            return jp_fail(j, "':' expected");
        j->pos++;
        if (jp_value(j, depth, pick) != 0)
            return -1;
        jp_ws(j);
        if (j->pos < j->len && j->s[j->pos] == ',') {
            j->pos++;
            continue;
        }
        if (j->pos < j->len && j->s[j->pos] == '}') {
            j->pos++;
            return 0;
        }
        return jp_fail(j, "'}' expected");
    }
}

static int jp_array(struct jp *j, int depth)
{
    if (depth > JP_MAX_DEPTH)
        return jp_fail(j, "maximum parsing depth reached");
    j->pos++;
    jp_ws(j);
    if (j->pos < j->len && j->s[j->pos] == ']') {
        j->pos++;
        return 0;
    }
    for (;;) {
        if (jp_value(j, depth, NULL) != 0)
            return -1;
        jp_ws(j);
        if (j->pos < j->len && j->s[j->pos] == ',') {
            j->pos++;
            continue;
        }
        if (j->pos < j->len && j->s[j->pos] == ']') {
            j->pos++;
            return 0;
        }
        return jp_fail(j, "']' expected");
    }
}

/* Scans one value; records it in pick when not NULL. */
static int jp_value(struct jp *j, int depth, struct atc_jpick *pick)
{
    enum atc_jpick_type type = ATC_JPICK_OTHER;
    size_t start = 0, n = 0;
    long long num = 0;
    int rc;

    jp_ws(j);
    if (j->pos >= j->len)
        return jp_fail(j, "premature end of input");
    size_t vstart = j->pos;
    unsigned char c = j->s[j->pos];
    if (c == '{') {
        rc = jp_object(j, depth + 1, NULL, 0);
    } else if (c == '[') {
        rc = jp_array(j, depth + 1);
    } else if (c == '"') {
        int plain;
        rc = jp_string(j, &start, &n, &plain);
        type = ATC_JPICK_STRING;
    } else if (c == '-' || is_digit(c)) {
        int is_int = 0;
        rc = jp_number(j, &is_int, &num);
        if (is_int)
            type = ATC_JPICK_INT;
    } else {
        static const char *const words[] = {"true", "false", "null"};
        rc = -1;
        for (size_t i = 0; i < 3; i++) {
            size_t wl = strlen(words[i]);
            if (j->len - j->pos >= wl && memcmp(j->s + j->pos, words[i], wl) == 0) {
                j->pos += wl;
                rc = 0;
                if (i == 2)
                    type = ATC_JPICK_NULL;
                break;
            }
        }
        if (rc != 0)
            return jp_fail(j, "invalid token");
    }
    if (rc != 0)
        return -1;
    if (pick != NULL) {
        pick->type = type;
        pick->str = type == ATC_JPICK_STRING ? (const char *)j->s + start : NULL;
        pick->str_len = type == ATC_JPICK_STRING ? n : 0;
        pick->num = num;
        pick->raw = (const char *)j->s + vstart;
        pick->raw_len = j->pos - vstart;
    }
    return 0;
}

int atc_jpick_object(const char *doc, size_t len, struct atc_jpick *picks, size_t n,
                     char *err, size_t errlen)
{
    struct jp j = {.s = (const unsigned char *)doc, .len = len, .err = err, .errlen = errlen};

    for (size_t i = 0; i < n; i++) {
        picks[i].type = ATC_JPICK_NONE;
        picks[i].str = NULL;
        picks[i].str_len = 0;
        picks[i].num = 0;
        picks[i].raw = NULL;
        picks[i].raw_len = 0;
    }
    jp_ws(&j);
    if (j.pos >= j.len)
        return jp_fail(&j, "premature end of input");
    if (j.s[j.pos] != '{') {
        /* Something else, well-formed or not: either way not the object. */
        if (jp_value(&j, 0, NULL) != 0)
            return -1;
        return -2;
    }
    if (jp_object(&j, 1, picks, n) != 0)
        goto fail;
    jp_ws(&j);
    if (j.pos != j.len) {
        jp_fail(&j, "end of file expected");
        goto fail;
    }
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        picks[i].type = ATC_JPICK_NONE;
    return -1;
}

size_t atc_jpick_copy(const struct atc_jpick *p, char *buf, size_t size)
{
    struct jp_out o = {.buf = buf, .size = size > 0 ? size - 1 : 0, .stop_at_nul = 1};

    if (p->type == ATC_JPICK_STRING)
        jp_unescape((const unsigned char *)p->str, p->str_len, &o);
    if (size > 0)
        buf[o.n < o.size ? o.n : o.size] = '\0';
    return o.n;
}

char *atc_jpick_dup(const struct atc_jpick *p, size_t *len)
{
    size_t raw = p->type == ATC_JPICK_STRING ? p->str_len : 0;
    char *s = malloc(raw + 1);

    *len = 0;
    if (s == NULL)
        return NULL;
    /* Unescaping never makes a string longer. */
    struct jp_out o = {.buf = s, .size = raw};
    if (raw > 0)
        jp_unescape((const unsigned char *)p->str, raw, &o);
    s[o.n] = '\0';
    *len = o.n;
    return s;
}

int atc_jpick_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;

    for (size_t i = 0; i < n;) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(u + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}
