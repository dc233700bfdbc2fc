/* multipart.h: parsing multipart/form-data request bodies (bulk-upload) and
 * building the multipart reply of bulk-download. No I/O: bytes in, bytes out. */
#ifndef DL_MULTIPART_H
#define DL_MULTIPART_H

#include <stddef.h>

#include "util.h"

/* One part of a body; every pointer borrows from the body or from the
 * parser's scratch and is valid only during the callback. name and filename
 * are NUL-terminated (filename NULL when absent). */
struct dl_mp_part {
    const char *name;
    const char *filename;
    const char *data;
    size_t len;
};

/* Called for each part in order; return 0 to go on, non-zero to stop (the
 * parser then returns that value). */
typedef int (*dl_mp_part_fn)(void *ud, const struct dl_mp_part *part);

/* Copies the boundary parameter of a Content-Type header into out. Returns 0,
 * or -1 when it is not multipart/form-data with a boundary of 1..70 bytes. */
int dl_mp_boundary(const char *content_type, char *out, size_t outlen);

/* Parses body (len bytes) with boundary, calling fn for each part. Returns 0,
 * a callback's non-zero value, or -1 with a sentence in err when the body is
 * not well formed. */
int dl_mp_parse(const char *body, size_t len, const char *boundary, dl_mp_part_fn fn, void *ud,
                char *err, size_t errlen);

/* Appends one part to out with the fixed boundary DAYTONA-FILE-BOUNDARY:
 * Content-Disposition form-data with name and filename (also as filename*),
 * the given Content-Type and Content-Length, then the data. Returns 0 or -1. */
int dl_mp_emit_part(struct dl_buf *out, const char *name, const char *filename,
                    const char *content_type, const char *data, size_t len);
/* Appends the closing delimiter. Returns 0 or -1. */
int dl_mp_emit_end(struct dl_buf *out);

#define DL_MP_BOUNDARY "DAYTONA-FILE-BOUNDARY"

#endif
