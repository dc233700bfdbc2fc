/* error.h: the one table of error codes shared by every libatc module. */
#ifndef ATC_ERROR_H
#define ATC_ERROR_H

/* Functions return 0 on success and one of these (negative) on failure; the
 * sentence for a person goes into the caller's err buffer. */
#define ATC_ERRNO_MAP(X)                                                   \
    X(OK, 0, "ok")                                                         \
    X(EINVAL, -1, "invalid argument")                                      \
    X(ENOMEM, -2, "out of memory")                                         \
    X(EBADMSG, -3, "malformed message")                                    \
    X(ETOOBIG, -4, "message too large")                                    \
    X(EIO, -5, "input/output error")                                       \
    X(ECONN, -6, "connection failed")                                      \
    X(ETIMEDOUT, -7, "timed out")                                          \
    X(ENOTFOUND, -8, "not found")                                          \
    X(EAUTH, -9, "not authorized")                                         \
    X(ERATELIMIT, -10, "rate limited")                                     \
    X(ESERVER, -11, "server error")                                        \
    X(EPROTO, -12, "protocol error")                                       \
    X(ECONFLICT, -13, "conflict")                                          \
    X(EFINAL, -14, "result already final")                                 \
    X(ECANCELED, -15, "canceled")

enum atc_errno {
#define ATC_ERR_ENUM(name, val, str) ATC_##name = (val),
    ATC_ERRNO_MAP(ATC_ERR_ENUM)
#undef ATC_ERR_ENUM
};

/* A short static description of code; never NULL. */
const char *atc_strerror(int code);

/* The one definition of a transient error: 1 when the same call, made again
 * a little later, may succeed: no answer (ATC_ECONN), a timeout
 * (ATC_ETIMEDOUT), a 5xx (ATC_ESERVER) or a 429 (ATC_ERATELIMIT). 0 for
 * everything else, which a retry of the same request cannot cure. */
int atc_error_transient(int code);

#endif
