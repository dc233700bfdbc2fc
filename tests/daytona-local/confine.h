/* confine.h: how daytona-local confines sandbox commands: finds and probes
 * daytona-local-jail at start, hands out a uid per sandbox, and builds the
 * jail's command line for each command. */
#ifndef DL_CONFINE_H
#define DL_CONFINE_H

#include <stddef.h>
#include <sys/types.h>

enum dl_confine_mode {
    DL_CONFINE_OFF = 0,         /* --no-confine: commands run as the server */
    DL_CONFINE_RLIMITS,         /* the jail is unusable here: rlimits only (prlimit) */
    DL_CONFINE_JAIL,            /* every command runs through daytona-local-jail */
};

/* Decides the mode once, before any command runs: want = 0 (--no-confine) or
 * 1; no_network = every sandbox gets its own network namespace; max_procs is
 * RLIMIT_NPROC per sandbox. Finds daytona-local-jail next to this
 * executable, runs its probe, and writes one line on stderr saying what is
 * active (or why not). Returns the mode. */
enum dl_confine_mode dl_confine_init(int want, int no_network, long max_procs);

enum dl_confine_mode dl_confine_mode(void);

/* The uid (also the gid) for a new sandbox when each sandbox gets its own
 * (the server runs as root), else -1. Distinct among this server's live
 * sandboxes and, by the server's pid, from other daytona-local servers. */
long dl_confine_new_uid(void);

/* Builds the jail's argv for running prog (an absolute path) with args
 * argv[1..] in sandbox directory dir as uid (-1: none), with a network
 * namespace when no_net; ro_dir (or NULL), under the hidden root, stays
 * visible read-only (a snapshot's packages, as one more --keep). Returns a NULL-terminated array the caller frees
 * with dl_confine_argv_free, or NULL when out of memory. *path receives the
 * program to spawn (borrowed, static). */
char **dl_confine_argv(const char *dir, const char *ro_dir, long uid, int no_net, const char *prog,
                       char *const argv[], const char **path);
void dl_confine_argv_free(char **argv);

/* Whether sandboxes get a network namespace unless they ask (--no-network). */
int dl_confine_no_network(void);

#endif
