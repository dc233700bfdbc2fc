/* memwatch.h: daytona-local's memory limit per sandbox. cgroups are not used
 * (this machine may have v1 only, or none writable): a thread sums the
 * resident memory of each confined sandbox's uid every 100 ms and, past its
 * limit, kills the largest of its processes with SIGKILL, as the kernel's
 * OOM killer does in a Daytona sandbox. Sandboxes without a uid of their own
 * (--no-confine, or not root) are not watched. */
#ifndef DL_MEMWATCH_H
#define DL_MEMWATCH_H

/* Starts the thread (once). Returns 0, or -1 when it cannot start. */
int dl_memwatch_start(void);

/* Stops and joins it. */
void dl_memwatch_stop(void);

#endif
