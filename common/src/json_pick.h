/* json_pick.h: reads a few members of a JSON object without building a tree
 * (private to libatc). The Daytona API answers a create with a kilobyte of
 * JSON of which the client needs five strings; jansson would allocate every
 * value of it. The whole document is still checked the way json_loadb with
 * JSON_ALLOW_NUL checks it: well-formed JSON, valid UTF-8 and escapes,
 * integers that fit in a long long, nesting at most 2048 deep, nothing but
 * white space after the value. Two differences, on bytes no server sends: a
 * raw NUL byte is refused (jansson lets some through), and a real number too large for
 * a double is accepted (jansson refuses it). */
#ifndef ATC_JSON_PICK_H
#define ATC_JSON_PICK_H

#include <stddef.h>

enum atc_jpick_type {
    ATC_JPICK_NONE,     /* no such member */
    ATC_JPICK_STRING,
    ATC_JPICK_INT,      /* a number without fraction or exponent */
    ATC_JPICK_NULL,
    ATC_JPICK_OTHER,    /* true, false, a real number, an object or an array */
};

/* One member to pick out of the top-level object. key is set by the caller
 * (and borrowed); the rest is the result, for the last member of that name
 * (as jansson keeps the last of duplicate keys). str points into the
 * document: the raw text between the quotes, escapes and all. */
struct atc_jpick {
    const char *key;
    enum atc_jpick_type type;
    const char *str;
    size_t str_len;
    long long num;
    const char *raw;    /* any type: the value's whole text in the document */
    size_t raw_len;     /* (an object can be given to atc_jpick_object again) */
};

/* Checks doc[0..len) and fills picks[0..n) from its top-level members.
 * Returns 0; or -1 with err set ("line N: ...") when doc is not JSON; or -2
 * when it is not an object (err not set). */
int atc_jpick_object(const char *doc, size_t len, struct atc_jpick *picks, size_t n,
                     char *err, size_t errlen);

/* The value of a STRING pick, unescaped, as a C string: copied into
 * buf[size] up to its first NUL, truncated to fit and NUL-terminated.
 * Returns the length up to that first NUL (like snprintf, >= size when
 * truncated). A pick that is not a string reads as "". */
size_t atc_jpick_copy(const struct atc_jpick *p, char *buf, size_t size);

/* The whole value of a STRING pick, unescaped (NUL bytes kept), in a malloc'd
 * buffer NUL-terminated after *len bytes; owned by the caller. A pick that is
 * not a string gives "". Returns NULL when out of memory. */
char *atc_jpick_dup(const struct atc_jpick *p, size_t *len);

/* 1 when s[0..n) is valid UTF-8 as jansson requires of every string (no
 * overlong forms, no surrogates, nothing above U+10FFFF), else 0. */
int atc_jpick_utf8_valid(const char *s, size_t n);

#endif
