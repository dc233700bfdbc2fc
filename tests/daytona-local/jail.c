/* jail.c: daytona-local-jail, the launcher that confines one sandbox command:
 * namespaces (pid, mount, ipc, and net when asked), a private /tmp, the other
 * sandboxes and the server's home hidden, rlimits, and its own uid; then it
 * runs the command. daytona-local posix_spawns it; see docs/daytona-local.md.
 *
 *   daytona-local-jail [options] -- PROGRAM ARG...
 *     --dir DIR      the sandbox directory: kept visible and writable
 *     --root DIR     the directory of all sandboxes: hidden (only --dir stays)
 *     --home DIR     the server's home: hidden unless others may search it;
 *                    PATH entries and PYENV_ROOT under it stay visible, read-only
 *     --keep DIR     (repeatable) a directory under /tmp, --root or the hidden
 *                    home that stays visible, read-only (the sandboxes' bin
 *                    directory and Python)
 *     --uid N        (as root) the uid and gid the command runs as
 *     --no-net       a network namespace of its own with only loopback, up
 *     --procs N      RLIMIT_NPROC (processes and threads of the uid)
 *     --probe        set everything up, run nothing, print what is active
 *
 * Process tree: this process (J, in the caller's namespaces) unshares and
 * forks C, pid 1 of the new pid namespace; C mounts, sets limits, drops its
 * privileges and forks the command B. C exits with B's status (128+N when a
 * signal N killed it), which kills whatever B left behind; J exits with C's.
 * Killing J's process group (J and C are in it) kills the whole namespace.
 * Without root the namespaces come from an unprivileged user namespace and
 * every sandbox shares the caller's uid (RLIMIT_NPROC then counts per user
 * namespace). Exit 125 with a message on stderr when a step fails. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define JAIL_FAIL 125
#define MAX_KEEP 16

struct jail {
    const char *dir;
    const char *root;
    const char *home;
    long uid;                   /* -1: keep the caller's (user namespace) */
    int no_net;
    long procs;
    int probe;
    char **argv;                /* the command */
    int userns;                 /* not root: the namespaces come with CLONE_NEWUSER */
    char keep[MAX_KEEP][PATH_MAX];  /* read-only paths under home kept visible */
    int nkeep;
    const char *asked[MAX_KEEP];    /* --keep */
    int nasked;
    int home_hidden;
};

static void die(const char *fmt, ...)
{
    va_list ap;
    int e = errno;
    fputs("daytona-local-jail: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (e)
        fprintf(stderr, ": %s", strerror(e));
    fputc('\n', stderr);
    _exit(JAIL_FAIL);
}

static long parse_num(const char *opt, const char *v, long lo, long hi)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || !end || *end || end == v || n < lo || n > hi) {
        errno = 0;
        die("%s: '%s' is not a number from %ld to %ld", opt, v, lo, hi);
    }
    return n;
}

static void parse_args(struct jail *j, int argc, char **argv)
{
    int i;
    j->uid = -1;
    j->procs = 512;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        errno = 0;
        if (strcmp(a, "--no-net") == 0) {
            j->no_net = 1;
        } else if (strcmp(a, "--probe") == 0) {
            j->probe = 1;
        } else if (!v) {
            die("unknown option or missing value: %s", a);
        } else if (strcmp(a, "--dir") == 0) {
            j->dir = v;
            i++;
        } else if (strcmp(a, "--root") == 0) {
            j->root = v;
            i++;
        } else if (strcmp(a, "--home") == 0) {
            j->home = v;
            i++;
        } else if (strcmp(a, "--keep") == 0) {
            if (j->nasked >= MAX_KEEP || v[0] != '/')
                die("--keep: at most %d absolute paths", MAX_KEEP);
            j->asked[j->nasked++] = v;
            i++;
        } else if (strcmp(a, "--uid") == 0) {
            j->uid = parse_num(a, v, 1, 0x7ffffffe);
            i++;
        } else if (strcmp(a, "--procs") == 0) {
            j->procs = parse_num(a, v, 1, 1 << 22);
            i++;
        } else {
            die("unknown option %s", a);
        }
    }
    errno = 0;
    if (!j->dir || j->dir[0] != '/')
        die("--dir must be an absolute path");
    if (j->root && j->root[0] != '/')
        die("--root must be an absolute path");
    if (j->home && (j->home[0] != '/' || strcmp(j->home, "/") == 0))
        j->home = NULL;
    if (i >= argc && !j->probe)
        die("no command after --");
    j->argv = argv + i;
    j->userns = geteuid() != 0;
    if (!j->userns && j->uid < 0)
        die("as root, --uid is required");
}

/* Writes s to a /proc file; returns 0 or -1. */
static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = strlen(s);
    ssize_t w = write(fd, s, len);
    int e = errno;
    close(fd);
    errno = e;
    return w == (ssize_t)len ? 0 : -1;
}

/* mkdir -p; components made here are 0755. Returns 0 or -1. */
static int mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

/* Whether path is dir or below it. */
static int is_under(const char *path, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;
    return n > 0 && strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* Adds path to the kept directories unless it is there already or is not a
 * directory. */
static void add_keep(struct jail *j, const char *path, size_t len)
{
    struct stat st;
    char cand[PATH_MAX];
    if (len >= sizeof(cand) || j->nkeep >= MAX_KEEP)
        return;
    memcpy(cand, path, len);
    cand[len] = '\0';
    for (int k = 0; k < j->nkeep; k++)
        if (strcmp(j->keep[k], cand) == 0)
            return;
    if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(j->keep[j->nkeep++], PATH_MAX, "%s", cand);
}

/* Collects the PATH entries and PYENV_ROOT under the hidden home: the first
 * component below home of each, so /root/.pyenv/shims keeps /root/.pyenv.
 * Then the --keep directories that would otherwise be hidden (under /tmp,
 * the root or the hidden home). */
static void collect_keeps(struct jail *j)
{
    struct stat st;
    const char *vars[] = {getenv("PATH"), getenv("PYENV_ROOT")};
    /* Not root: our own uid can read the home. Root: hidden unless others
     * may search it. */
    if (!j->userns && j->home && stat(j->home, &st) == 0 && S_ISDIR(st.st_mode) &&
        !(st.st_mode & S_IXOTH))
        j->home_hidden = 1;
    size_t hl = j->home_hidden ? strlen(j->home) : 0;
    for (size_t v = 0; hl && v < sizeof(vars) / sizeof(vars[0]); v++) {
        const char *p = vars[v];
        while (p && *p) {
            size_t len = strcspn(p, ":");
            if (len > hl + 1 && strncmp(p, j->home, hl) == 0 && p[hl] == '/') {
                size_t first = hl + 1 + strcspn(p + hl + 1, "/:");
                add_keep(j, p, first > len ? len : first);
            }
            p += len;
            if (*p == ':')
                p++;
        }
    }
    for (int a = 0; a < j->nasked; a++) {
        const char *p = j->asked[a];
        if (is_under(p, "/tmp") || is_under(p, j->root) || (j->home_hidden && is_under(p, j->home)))
            add_keep(j, p, strlen(p));
    }
}

static void mount_tmpfs(const char *where, const char *opts)
{
    if (mkdirs(where) != 0)
        die("mkdir %s", where);
    if (mount("tmpfs", where, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
        die("mount tmpfs on %s", where);
}

/* Attaches a detached copy of a tree (from open_tree) at where. */
static void attach(int fd, const char *where, int rdonly)
{
    if (mkdirs(where) != 0)
        die("mkdir %s", where);
    if (rdonly) {
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
        if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0)
            die("read-only %s", where);
    }
    if (move_mount(fd, "", AT_FDCWD, where, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        die("attach %s", where);
    close(fd);
}

static int clone_tree(const char *path)
{
    int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (fd < 0)
        die("open_tree %s", path);
    return fd;
}

/* The file system the command sees: its own /proc, a fresh /tmp, no other
 * sandbox, and the server's home reduced to what PATH needs. */
static void setup_mounts(struct jail *j)
{
    int keep_fd[MAX_KEEP];
    int dir_fd;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        die("make / private");
    collect_keeps(j);
    dir_fd = clone_tree(j->dir);
    for (int k = 0; k < j->nkeep; k++)
        keep_fd[k] = clone_tree(j->keep[k]);
    mount_tmpfs("/tmp", "mode=1777,size=1g");
    if (j->home_hidden)
        mount_tmpfs(j->home, "mode=0755,size=1m");
    if (j->root)
        mount_tmpfs(j->root, "mode=0755,size=1m");
    for (int k = 0; k < j->nkeep; k++)
        attach(keep_fd[k], j->keep[k], 1);
    attach(dir_fd, j->dir, 0);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        die("mount /proc");
}

static void loopback_up(void)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        die("socket");
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
        die("lo flags");
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
        die("lo up");
    close(s);
}

static void set_limit(int res, rlim_t v, const char *name)
{
    struct rlimit rl;
    if (getrlimit(res, &rl) != 0)
        die("getrlimit %s", name);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < v)
        v = rl.rlim_max;        /* only lower: raising needs CAP_SYS_RESOURCE */
    rl.rlim_cur = rl.rlim_max = v;
    if (setrlimit(res, &rl) != 0)
        die("setrlimit %s", name);
}

static void set_limits(const struct jail *j)
{
    set_limit(RLIMIT_NPROC, (rlim_t)j->procs, "RLIMIT_NPROC");
    set_limit(RLIMIT_FSIZE, (rlim_t)4 << 30, "RLIMIT_FSIZE");
    set_limit(RLIMIT_DATA, (rlim_t)8 << 30, "RLIMIT_DATA");
    set_limit(RLIMIT_CPU, 3600, "RLIMIT_CPU");
    set_limit(RLIMIT_CORE, 0, "RLIMIT_CORE");
    set_limit(RLIMIT_NOFILE, 8192, "RLIMIT_NOFILE");
}

static void drop_privileges(const struct jail *j)
{
    if (!j->userns) {
        uid_t u = (uid_t)j->uid;
        if (setgroups(0, NULL) != 0 || setresgid(u, u, u) != 0 || setresuid(u, u, u) != 0)
            die("cannot switch to uid %ld", j->uid);
        if (geteuid() != u || getuid() != u)
            die("still not uid %ld", j->uid);
    }
    /* No setuid binary may give the command back what it lost. */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        die("no_new_privs");
}

/* In the user namespace, map our own uid and gid onto themselves. */
static void map_ids(uid_t uid, gid_t gid)
{
    char buf[64];
    if (write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT)
        die("setgroups deny");
    snprintf(buf, sizeof(buf), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    if (write_file("/proc/self/uid_map", buf) != 0)
        die("uid_map");
    snprintf(buf, sizeof(buf), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    if (write_file("/proc/self/gid_map", buf) != 0)
        die("gid_map");
}

static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return JAIL_FAIL;
}

/* pid 1 of the namespace: set up, start the command, reap until it ends. */
static int run_init(struct jail *j)
{
    char cwd[PATH_MAX];
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (!getcwd(cwd, sizeof(cwd)))
        die("getcwd");
    setup_mounts(j);
    /* The old cwd is on the hidden tree: enter its copy, so ".." is the new one. */
    if (chdir(cwd) != 0)
        die("chdir %s", cwd);
    if (j->no_net)
        loopback_up();
    set_limits(j);
    drop_privileges(j);
    if (j->probe) {
        fprintf(stderr, "daytona-local-jail: active: pid, mount, ipc%s namespaces; %s; private "
                "/tmp and /proc; other sandboxes%s hidden; RLIMIT_NPROC %ld, FSIZE 4 GiB, "
                "DATA 8 GiB, CPU 3600 s, NOFILE 8192, CORE 0\n",
                j->no_net ? ", net (loopback only, for networkBlockAll)" : "",
                j->userns ? "user namespace with the server's uid (no uid per sandbox)"
                          : "a uid per sandbox",
                j->home_hidden ? " and the server's home" : "", j->procs);
        return 0;
    }
    pid_t cmd = fork();
    if (cmd < 0)
        die("fork");
    if (cmd == 0) {
        execve(j->argv[0], j->argv, environ);
        fprintf(stderr, "daytona-local-jail: %s: %s\n", j->argv[0], strerror(errno));
        _exit(127);
    }
    for (;;) {
        int status = 0;
        pid_t w = wait(&status);
        if (w == cmd)
            return status_code(status);
        if (w < 0 && errno != EINTR)
            return JAIL_FAIL;
    }
}

int main(int argc, char **argv)
{
    struct jail j;
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC;
    uid_t uid = getuid();
    gid_t gid = getgid();

    memset(&j, 0, sizeof(j));
    parse_args(&j, argc, argv);
    if (j.no_net)
        flags |= CLONE_NEWNET;
    if (j.userns)
        flags |= CLONE_NEWUSER;
    errno = 0;
    if (unshare(flags) != 0)
        die("unshare (%s namespaces)", j.userns ? "user, pid, mount, ipc" : "pid, mount, ipc");
    if (j.userns)
        map_ids(uid, gid);
    pid_t init = fork();
    if (init < 0)
        die("fork");
    if (init == 0)
        _exit(run_init(&j));
    for (;;) {
        int status = 0;
        pid_t w = waitpid(init, &status, 0);
        /* _exit: this process shares the new mount namespace, whose /proc
         * no longer shows it, which at-exit hooks (LeakSanitizer) trip on. */
        if (w == init)
            _exit(status_code(status));
        if (w < 0 && errno != EINTR)
            _exit(JAIL_FAIL);
    }
}
