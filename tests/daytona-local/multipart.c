/* multipart.c: multipart/form-data parsing and emitting for daytona-local. */
#include "multipart.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int dl_mp_boundary(const char *ct, char *out, size_t outlen)
{
    if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0)
        return -1;
    const char *p = ct + 19;
    while (*p) {
        while (*p == ';' || *p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "boundary=", 9) == 0) {
            p += 9;
            size_t n;
            if (*p == '"') {
                p++;
                const char *q = strchr(p, '"');
                if (!q)
                    return -1;
                n = (size_t)(q - p);
            } else {
                n = strcspn(p, "; \t");
            }
            if (n == 0 || n > 70 || n + 1 > outlen)
                return -1;
            memcpy(out, p, n);
            out[n] = '\0';
            return 0;
        }
        p += strcspn(p, ";");
    }
    return -1;
}

/* Finds parameter key (e.g. "name") in a Content-Disposition value and copies
 * its value into out. Returns 1 when found, 0 when not, -1 when too long. */
static int disposition_param(const char *hdr, size_t hlen, const char *key, char *out,
                             size_t outlen)
{
    size_t klen = strlen(key);
    size_t i = 0;
    while (i < hlen) {
        /* Skip to the start of a parameter: after ';' and blanks. */
        while (i < hlen && hdr[i] != ';')
            i++;
        if (i >= hlen)
            break;
        i++;
        while (i < hlen && (hdr[i] == ' ' || hdr[i] == '\t'))
            i++;
        if (hlen - i > klen && strncasecmp(hdr + i, key, klen) == 0 && hdr[i + klen] == '=') {
            i += klen + 1;
            size_t n = 0;
            if (i < hlen && hdr[i] == '"') {
                i++;
                while (i < hlen && hdr[i] != '"') {
                    if (hdr[i] == '\\' && i + 1 < hlen)
                        i++;
                    if (n + 1 >= outlen)
                        return -1;
                    out[n++] = hdr[i++];
                }
            } else {
                while (i < hlen && hdr[i] != ';' && hdr[i] != ' ' && hdr[i] != '\t') {
                    if (n + 1 >= outlen)
                        return -1;
                    out[n++] = hdr[i++];
                }
            }
            out[n] = '\0';
            return 1;
        }
    }
    return 0;
}

int dl_mp_parse(const char *body, size_t len, const char *boundary, dl_mp_part_fn fn, void *ud,
                char *err, size_t errlen)
{
    char delim[80];
    char name[1024], filename[4096];
    size_t blen = strlen(boundary);
    if (blen == 0 || blen > 70) {
        snprintf(err, errlen, "bad multipart boundary");
        return -1;
    }
    /* delim = "\r\n--boundary"; the first one may come without the CRLF. */
    snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    size_t dlen = blen + 4;
    const char *end = body + len;
    const char *p;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        p = body + dlen - 2;
    } else {
        const char *d = memmem(body, len, delim, dlen);
        if (!d) {
            snprintf(err, errlen, "invalid multipart form: no boundary");
            return -1;
        }
        p = d + dlen;
    }
    for (;;) {
        /* p is just after a delimiter. */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            return 0;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            snprintf(err, errlen, "invalid multipart form: bad delimiter line");
            return -1;
        }
        p += 2;
        const char *hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
        const char *data;
        if (hend) {
            data = hend + 4;
        } else if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            hend = p;           /* no headers at all */
            data = p + 2;
        } else {
            snprintf(err, errlen, "invalid multipart form: unterminated part headers");
            return -1;
        }
        name[0] = '\0';
        int have_name = 0, have_filename = 0;
        const char *line = p;
        while (line < hend) {
            const char *eol = memmem(line, (size_t)(hend - line), "\r\n", 2);
            size_t llen = eol ? (size_t)(eol - line) : (size_t)(hend - line);
            if (llen > 20 && strncasecmp(line, "content-disposition:", 20) == 0) {
                int r1 = disposition_param(line, llen, "name", name, sizeof(name));
                int r2 = disposition_param(line, llen, "filename", filename, sizeof(filename));
                if (r1 < 0 || r2 < 0) {
                    snprintf(err, errlen, "invalid multipart form: part name too long");
                    return -1;
                }
                have_name = r1 == 1;
                have_filename = r2 == 1;
            }
            line += llen + 2;
        }
        const char *next = memmem(data, (size_t)(end - data), delim, dlen);
        if (!next) {
            snprintf(err, errlen, "invalid multipart form: missing closing boundary");
            return -1;
        }
        if (!have_name) {
            snprintf(err, errlen, "invalid multipart form: part without a name");
            return -1;
        }
        struct dl_mp_part part = {
            .name = name,
            .filename = have_filename ? filename : NULL,
            .data = data,
            .len = (size_t)(next - data),
        };
        int rc = fn(ud, &part);
        if (rc != 0)
            return rc;
        p = next + dlen;
    }
}

/* Appends s percent-encoded as RFC 5987 wants (attr-char kept). */
static int append_pct(struct dl_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("!#$&+-.^_`|~", *p)) {
            if (dl_buf_append(out, p, 1) != 0)
                return -1;
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            if (dl_buf_append(out, esc, 3) != 0)
                return -1;
        }
    }
    return 0;
}

/* Appends s as a quoted-string body, escaping '"' and '\\' and dropping CR/LF. */
static int append_quoted(struct dl_buf *out, const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\r' || *p == '\n')
            continue;
        if ((*p == '"' || *p == '\\') && dl_buf_append(out, "\\", 1) != 0)
            return -1;
        if (dl_buf_append(out, p, 1) != 0)
            return -1;
    }
    return 0;
}

int dl_mp_emit_part(struct dl_buf *out, const char *name, const char *filename,
                    const char *content_type, const char *data, size_t len)
{
    if (dl_buf_printf(out, "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"",
                      DL_MP_BOUNDARY, name) != 0 ||
        append_quoted(out, filename) != 0 ||
        dl_buf_printf(out, "\"; filename*=utf-8''") != 0 || append_pct(out, filename) != 0 ||
        dl_buf_printf(out, "\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", content_type,
                      len) != 0 ||
        dl_buf_append(out, data, len) != 0 || dl_buf_append(out, "\r\n", 2) != 0)
        return -1;
    return 0;
}

int dl_mp_emit_end(struct dl_buf *out)
{
    return dl_buf_printf(out, "--%s--\r\n", DL_MP_BOUNDARY);
}
