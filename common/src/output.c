/* output.c: head-and-tail capping of command output. */
#include "atc/output.h"

#include <string.h>

size_t atc_output_cap(char *buf, size_t len, size_t max, int *truncated)
{
    size_t mark = sizeof(ATC_OUTPUT_CUT_MARK) - 1;

    *truncated = 0;
    if (len <= max)
        return len;
    *truncated = 1;
    if (max <= mark)
        return max;
    /* Keep a bit more head than tail: the head names what ran, the tail why it ended. */
    size_t keep = max - mark;
    size_t head = keep - keep / 2;
    size_t tail = keep / 2;
    memmove(buf + head + mark, buf + len - tail, tail);
    memcpy(buf + head, ATC_OUTPUT_CUT_MARK, mark);
    return max;
}
