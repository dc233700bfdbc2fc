/* util.h: small helpers of daytona-local: a growable byte buffer, UUIDs,
 * ISO timestamps, UTF-8 repair, sleeping, and parsing numbers. */
#ifndef DL_UTIL_H
#define DL_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer; p is owned by the buffer and freed by dl_buf_free.
 * p is always NUL-terminated when non-NULL (the NUL is not counted in len). */
struct dl_buf {
    char *p;
    size_t len;
    size_t cap;
};

/* Appends n bytes; returns 0, or -1 when memory runs out (buffer unchanged). */
int dl_buf_append(struct dl_buf *b, const void *data, size_t n);
/* Appends a formatted string; returns 0 or -1. */
int dl_buf_printf(struct dl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Frees the bytes and zeroes the buffer; accepts a zeroed buffer. */
void dl_buf_free(struct dl_buf *b);

/* Writes a fresh random UUID v4 (37 bytes with the NUL) into out. */
void dl_uuid4(char out[37]);

/* Formats wall-clock ms as 2026-06-20T10:00:00.000Z into out (>= 32 bytes). */
void dl_iso_time(int64_t wall_ms, char *out, size_t outlen);

/* Returns a malloc'd copy of s[0..len) that is valid UTF-8: each invalid byte
 * becomes U+FFFD. *outlen receives the length. NULL when memory runs out. */
char *dl_utf8_repair(const char *s, size_t len, size_t *outlen);

/* Sleeps ms milliseconds, waking early once the server is stopping. */
void dl_sleep_ms(long ms);

/* Parses a whole decimal number into [min,max]; returns 0 or -1. */
int dl_parse_long(const char *s, long min, long max, long *out);

/* Percent-decodes nothing: MHD has already decoded query values. Returns 1
 * when name is a valid environment variable name [A-Za-z_][A-Za-z0-9_]*. */
int dl_env_name_ok(const char *name);

/* Splits "<id>[/<action>]" at rest: the id into id[idlen], *action to what
 * follows the '/' ("" when none). Returns 0, or -1 for an empty or too long id. */
int dl_split_id_action(const char *rest, char *id, size_t idlen, const char **action);

/* Runs path with argv and envp (NULL: an empty environment) in cwd (NULL:
 * ours) and waits for it, capturing its stderr, and its stdout too when
 * with_stdout, into buf (buflen > 0; NUL-terminated, cut at buflen - 1,
 * trailing newlines removed). Returns its exit status (128 when a signal
 * ended it), or -1 when it could not be started. */
int dl_run_capture(const char *path, char *const argv[], char *const envp[], const char *cwd,
                   int with_stdout, char *buf, size_t buflen);

#endif
