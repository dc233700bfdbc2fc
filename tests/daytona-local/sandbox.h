/* sandbox.h: the registry of daytona-local's sandboxes (one directory each
 * under the root) and the running of commands in them. Thread-safe. */
#ifndef DL_SANDBOX_H
#define DL_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct dl_sandbox;

/* Creates the root's bookkeeping; call once before any other function. */
void dl_sandbox_init(void);

/* Creates a sandbox from a create body (a JSON object, borrowed). On success
 * *out is a new reference the caller must dl_sandbox_put. Returns 0; -409
 * when the name is used by a live sandbox; -400 for a bad body; -500 when the
 * directory cannot be made. err receives a sentence. */
int dl_sandbox_create(const json_t *body, struct dl_sandbox **out, char *err, size_t errlen);

/* Looks up a live sandbox by id, then by name. Returns a new reference, or NULL. */
struct dl_sandbox *dl_sandbox_get(const char *id_or_name);

/* Drops a reference; accepts NULL. */
void dl_sandbox_put(struct dl_sandbox *sb);

/* Deletes a live sandbox: kills its processes, removes its directory. On
 * success *obj (when obj is set) receives its JSON with desiredState
 * "destroyed". Returns 0, or -404. */
int dl_sandbox_delete(const char *id_or_name, const char *toolbox_url, json_t **obj);

/* Stop kills the sandbox's processes and marks it stopped; start marks it started. */
void dl_sandbox_stop(struct dl_sandbox *sb);
void dl_sandbox_start(struct dl_sandbox *sb);

/* The sandbox as its API JSON; full = 0 gives a list item (no env). */
json_t *dl_sandbox_json(struct dl_sandbox *sb, const char *toolbox_url, int full);

/* Lists live sandboxes whose labels contain every pair of filter (may be
 * NULL) and whose state is one of states (NULL or empty: any), from index
 * offset, at most limit. *next_offset is -1 when nothing follows. */
json_t *dl_sandbox_list(const json_t *filter, const json_t *states, long offset, long limit,
                        const char *toolbox_url, long *next_offset);

/* POST /sandbox/{id}/network-settings: body's networkBlockAll (bool) and
 * networkAllowList (comma-separated CIDRs; non-empty gives loopback only
 * here) apply to the sandbox's next commands; a command running keeps the
 * network it started with. Returns 0 or -400 with err. */
int dl_sandbox_set_network(struct dl_sandbox *sb, const json_t *body, char *err, size_t errlen);

/* The uid and memory limit (bytes) of each live sandbox that has both, into
 * uids and limits (max entries). Returns the count. */
size_t dl_sandbox_mem_limits(long *uids, long long *limits, size_t max);

/* Counts a memory kill in the sandbox of uid (oom_kills in its JSON, and in
 * /_local/stats). */
void dl_sandbox_count_oom(long uid);

const char *dl_sandbox_id(const struct dl_sandbox *sb);
/* The sandbox's directory (an absolute, resolved path); lives as long as sb. */
const char *dl_sandbox_dir(const struct dl_sandbox *sb);
/* The uid (and gid) its commands run as and its files belong to, or -1 when
 * they run as the server (not confined, or the server is not root). */
long dl_sandbox_uid(const struct dl_sandbox *sb);

struct dl_run {
    int exit_code;      /* the shell's exit status; 128+N when killed by signal N */
    int timed_out;      /* 1 when timeout_s ran out and the group was killed */
    char *output;       /* owned: stdout and stderr merged, NUL-terminated */
    size_t output_len;
    int truncated;      /* output went past --max-output-bytes */
};

/* Runs argv[0] (a program name looked up in PATH, or a path) in the sandbox:
 * cwd = its directory (or cwd_rel, relative to it, which must exist), HOME =
 * its directory, its env plus envs (a JSON object of strings, may be NULL),
 * in a process group of its own, stdin fed from stdin_data. timeout_s > 0
 * kills the group with SIGKILL when it runs out. res->output is the caller's
 * to free. Returns 0, or -400 (bad cwd/env) or -500 with err. */
int dl_sandbox_run(struct dl_sandbox *sb, char *const argv[], const char *stdin_data,
                   size_t stdin_len, const char *cwd_rel, const json_t *envs,
                   long timeout_s, struct dl_run *res, char *err, size_t errlen);

/* Adds live/created/deleted/execs/... to obj for /_local/stats. */
void dl_sandbox_stats(json_t *obj);

/* Counts an execute answered without running anything (--exec-canned). */
void dl_sandbox_count_canned_exec(void);

/* Refuses new commands, kills every sandbox's processes. */
void dl_sandbox_kill_all(void);

/* Removes every sandbox directory and frees the registry (after the HTTP
 * server has stopped). */
void dl_sandbox_shutdown(void);

/* Removes a directory tree; returns 0 or -1. */
int dl_rmtree(const char *path);

#endif
