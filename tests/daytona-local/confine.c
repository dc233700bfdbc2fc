/* confine.c: daytona-local's confinement of sandbox commands (see confine.h). */
#include "confine.h"
#include "interp.h"
#include "server.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static enum dl_confine_mode g_mode;
static int g_no_network;
static long g_max_procs = 512;
static char g_jail[PATH_MAX];
static char g_home[PATH_MAX];
static char g_procs_s[24];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static long g_next_uid;

/* First uid handed to sandboxes: above any account, one block of 1000 per
 * server pid, so concurrent servers never share a uid. */
#define UID_BASE 1000000L
#define UIDS_PER_SERVER 1000L

enum dl_confine_mode dl_confine_mode(void)
{
    return g_mode;
}

int dl_confine_no_network(void)
{
    return g_no_network;
}

/* Finds daytona-local-jail beside /proc/self/exe; returns 0 or -1. */
static int find_jail(char *out, size_t outlen)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    if ((size_t)snprintf(out, outlen, "%s/daytona-local-jail", self) >= outlen)
        return -1;
    return access(out, X_OK);
}

/* Runs the jail's probe in the root with no_net; its stderr goes into msg.
 * Returns the probe's exit status (0: works) or -1. */
static int probe(int no_net, char *msg, size_t msglen)
{
    char uid_s[24];
    const char *keeps[8];
    char *argv[16 + 2 * 8];
    int n = 0;

    snprintf(uid_s, sizeof(uid_s), "%ld", UID_BASE - 1);
    argv[n++] = g_jail;
    argv[n++] = "--probe";
    argv[n++] = "--dir";
    argv[n++] = g_dl_cfg.root;
    argv[n++] = "--root";
    argv[n++] = g_dl_cfg.root;
    argv[n++] = "--procs";
    argv[n++] = g_procs_s;
    if (g_home[0]) {
        argv[n++] = "--home";
        argv[n++] = g_home;
    }
    if (geteuid() == 0) {
        argv[n++] = "--uid";
        argv[n++] = uid_s;
    }
    if (no_net)
        argv[n++] = "--no-net";
    for (size_t k = 0, nk = dl_interp_keeps(keeps, 8); k < nk; k++) {
        argv[n++] = "--keep";
        argv[n++] = (char *)keeps[k];
    }
    argv[n] = NULL;
    return dl_run_capture(g_jail, argv, NULL, g_dl_cfg.root, 0, msg, msglen);
}

enum dl_confine_mode dl_confine_init(int want, int no_network, long max_procs)
{
    char msg[1024];
    char msg_net[1024];
    const char *home = getenv("HOME");

    g_mode = DL_CONFINE_OFF;
    g_no_network = no_network;
    g_max_procs = max_procs;
    snprintf(g_procs_s, sizeof(g_procs_s), "%ld", max_procs);
    g_next_uid = UID_BASE + (long)(getpid() % 100000) * UIDS_PER_SERVER;
    if (!want) {
        fprintf(stderr, "daytona-local: confinement off (--no-confine): commands run as the "
                "server's user, unconfined\n");
        return g_mode;
    }
    if (!home || home[0] != '/') {
        struct passwd *pw = getpwuid(geteuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (home && home[0] == '/')
        snprintf(g_home, sizeof(g_home), "%s", home);
    g_mode = DL_CONFINE_RLIMITS;
    if (find_jail(g_jail, sizeof(g_jail)) != 0) {
        fprintf(stderr, "daytona-local: warning: no daytona-local-jail next to this program: "
                "commands get resource limits only, no namespaces\n");
        return g_mode;
    }
    int net_rc = probe(1, msg_net, sizeof(msg_net));
    if (net_rc == 0 || probe(0, msg, sizeof(msg)) == 0) {
        /* A killed jail's namespace init comes to us, to be reaped once
         * its namespace is empty (sandbox.c). */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
            fprintf(stderr, "daytona-local: warning: cannot be a child subreaper (%s): "
                    "commands get resource limits only, no namespaces\n", strerror(errno));
            return g_mode;
        }
        g_mode = DL_CONFINE_JAIL;
    }
    if (net_rc == 0) {
        fprintf(stderr, "daytona-local: confinement: %s\n", msg_net);
        return g_mode;
    }
    if (g_mode == DL_CONFINE_JAIL) {
        fprintf(stderr, "daytona-local: confinement: %s; warning: no network namespace here "
                "(%s): networkBlockAll%s sandboxes cannot run commands\n", msg, msg_net,
                no_network ? " and --no-network" : "");
        return g_mode;
    }
    fprintf(stderr, "daytona-local: warning: this kernel does not allow the jail (%s): "
            "commands get resource limits only, no namespaces\n", msg);
    return g_mode;
}

long dl_confine_new_uid(void)
{
    if (g_mode != DL_CONFINE_JAIL || geteuid() != 0)
        return -1;
    pthread_mutex_lock(&g_lock);
    long base = UID_BASE + (long)(getpid() % 100000) * UIDS_PER_SERVER;
    long uid = g_next_uid++;
    if (g_next_uid >= base + UIDS_PER_SERVER)
        g_next_uid = base;     /* a reused uid's sandbox is long deleted */
    pthread_mutex_unlock(&g_lock);
    return uid;
}

char **dl_confine_argv(const char *dir, const char *ro_dir, long uid, int no_net, const char *prog,
                       char *const argv[], const char **path)
{
    const char *keeps[8];
    size_t nkeeps = dl_interp_keeps(keeps, 8);
    size_t nargs = 0;
    while (argv[nargs])
        nargs++;
    char **out = calloc(nargs + 16 + 2 * nkeeps, sizeof(*out));
    size_t n = 0;
    char uid_s[24];
    if (!out)
        return NULL;
    snprintf(uid_s, sizeof(uid_s), "%ld", uid);
#define ADD(s) do { if (!(out[n++] = strdup(s))) goto fail; } while (0)
    ADD(g_jail);
    ADD("--dir");
    ADD(dir);
    ADD("--root");
    ADD(g_dl_cfg.root);
    ADD("--procs");
    ADD(g_procs_s);
    if (g_home[0]) {
        ADD("--home");
        ADD(g_home);
    }
    if (uid >= 0) {
        ADD("--uid");
        ADD(uid_s);
    }
    if (no_net)
        ADD("--no-net");
    for (size_t k = 0; k < nkeeps; k++) {
        ADD("--keep");
        ADD(keeps[k]);
    }
    if (ro_dir) {
        ADD("--keep");
        ADD(ro_dir);
    }
    ADD("--");
    ADD(prog);
    for (size_t i = 1; i < nargs; i++)
        ADD(argv[i]);
#undef ADD
    *path = g_jail;
    return out;
fail:
    dl_confine_argv_free(out);
    return NULL;
}

void dl_confine_argv_free(char **argv)
{
    for (size_t i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}
