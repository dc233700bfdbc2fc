/* error.c: names for the error codes of error.h. */
#include "atc/error.h"

const char *atc_strerror(int code)
{
    switch (code) {
#define ATC_ERR_CASE(name, val, str) \
    case (val):                      \
        return (str);
        ATC_ERRNO_MAP(ATC_ERR_CASE)
#undef ATC_ERR_CASE
    }
    return "unknown error";
}

int atc_error_transient(int code)
{
    return code == ATC_ECONN || code == ATC_ETIMEDOUT || code == ATC_ESERVER ||
           code == ATC_ERATELIMIT;
}
