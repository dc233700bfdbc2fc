/* mpcheck.h: a bounds check over raw msgpack bytes, run before msgpack-c unpacks them
 * (the job decoder, and readers of the result blobs such as atc). */
#ifndef ATC_MPCHECK_H
#define ATC_MPCHECK_H

#include <stddef.h>

/* Containers (arrays, maps) may nest at most this deep; msgpack-c's own stack
 * holds 32. */
#define ATC_MP_DEPTH_MAX 16

/* Walks the one msgpack object that starts at buf[0] within buf[0..len) without
 * allocating anything. Succeeds when the object is complete, uses only defined
 * type bytes, every str/bin/ext length fits in the bytes left, every array/map
 * count (together with the elements still owed by enclosing containers) could
 * be held by the bytes left at one byte per element, containers nest at most
 * ATC_MP_DEPTH_MAX deep, and there are at most max_objects objects in all
 * (which bounds what msgpack-c allocates for them). Returns 0 and sets *used to
 * the object's size in bytes (which may be less than len), or ATC_EBADMSG with
 * a sentence in err. */
int atc_mp_check(const void *buf, size_t len, size_t max_objects, size_t *used,
                 char *err, size_t errlen);

#endif
