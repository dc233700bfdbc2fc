/* output.h: keeping a command's output within a byte budget. */
#ifndef ATC_OUTPUT_H
#define ATC_OUTPUT_H

#include <stddef.h>

#define ATC_OUTPUT_CUT_MARK "\n[... output truncated ...]\n"

/* Cuts buf[0..len) in place to at most max bytes: the head and the tail are kept
 * and the middle replaced by ATC_OUTPUT_CUT_MARK. Returns the new length and sets
 * *truncated to 1 where something was cut (else 0). max below the mark's size
 * keeps just the head. */
size_t atc_output_cap(char *buf, size_t len, size_t max, int *truncated);

#endif
