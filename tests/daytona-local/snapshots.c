/* snapshots.c: daytona-local's snapshots: the /api/snapshots routes, the
 * Dockerfile subset it builds, the build threads and the registry. */
#include "snapshots.h"
#include "util.h"

#include "atc/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interp.h"
#include "sandbox.h"

extern char **environ;

/* A build installs for the sandboxes' own interpreter (--python, interp.h),
 * and a sandbox's .pth goes into that interpreter's user site. */
#define DL_BUILD_PYTHON ((char *)dl_interp_python())
#define DL_REASON_MAX 4000

struct dl_snapshot {
    struct dl_snapshot *next;       /* the registry, while listed */
    int refs;
    int listed;
    char id[37];
    char *name;
    char state[16];
    char *error_reason;
    char *dockerfile;
    char *image;                    /* FROM */
    json_t *pip_runs;               /* array of arrays: pip install's arguments */
    json_t *entrypoint;             /* or NULL */
    char dir[PATH_MAX];             /* root/.snapshots/<id> */
    char site[PATH_MAX];            /* dir/site: pip --target */
    char pyver[16];                 /* e.g. "3.11", once built */
    long cpu, mem, disk;
    int64_t created_wall, updated_wall, last_used_wall;
    pid_t build_pid;                /* a running pip, or 0 */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static struct dl_snapshot *g_head;
static long g_builds, g_builds_failed, g_building_threads;
static int g_closing;

/* ---- registry ---- */

static void snap_free(struct dl_snapshot *s)
{
    if (!s)
        return;
    if (s->dir[0])
        dl_rmtree(s->dir);
    free(s->name);
    free(s->error_reason);
    free(s->dockerfile);
    free(s->image);
    json_decref(s->pip_runs);
    json_decref(s->entrypoint);
    free(s);
}

void dl_snapshot_release(struct dl_snapshot *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&g_lock);
    int last = --s->refs == 0;
    pthread_mutex_unlock(&g_lock);
    if (last)
        snap_free(s);
}

/* g_lock held. By id, then by name. */
static struct dl_snapshot *find_locked(const char *ref)
{
    for (struct dl_snapshot *s = g_head; s; s = s->next)
        if (strcmp(s->id, ref) == 0)
            return s;
    for (struct dl_snapshot *s = g_head; s; s = s->next)
        if (strcmp(s->name, ref) == 0)
            return s;
    return NULL;
}

static void set_state_locked(struct dl_snapshot *s, const char *state)
{
    snprintf(s->state, sizeof(s->state), "%s", state);
    s->updated_wall = atc_clock_wall_ms();
}

int dl_snapshot_acquire(const char *ref, struct dl_snapshot **out, char *err, size_t errlen)
{
    *out = NULL;
    pthread_mutex_lock(&g_lock);
    struct dl_snapshot *s = find_locked(ref);
    if (!s) {
        pthread_mutex_unlock(&g_lock);
        return 1;
    }
    if (strcmp(s->state, "active") != 0) {
        snprintf(err, errlen, "Snapshot %s is %s", ref, s->state);
        pthread_mutex_unlock(&g_lock);
        return -400;
    }
    s->refs++;
    s->last_used_wall = atc_clock_wall_ms();
    *out = s;
    pthread_mutex_unlock(&g_lock);
    return 0;
}

const char *dl_snapshot_site(const struct dl_snapshot *s)
{
    return s->site;
}

/* mkdir -p under base (which exists), each new component given to uid. */
static int mkdirs_owned(const char *path, long uid)
{
    char buf[PATH_MAX];
    if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
        return -1;
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0755) == 0) {
                if (uid >= 0 && chown(buf, (uid_t)uid, (gid_t)uid) != 0)
                    return -1;
            } else if (errno != EEXIST) {
                return -1;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

int dl_snapshot_attach(const struct dl_snapshot *s, const char *dir, long uid, char *err,
                       size_t errlen)
{
    char site[PATH_MAX], pth[PATH_MAX + 32];
    if ((size_t)snprintf(site, sizeof(site), "%s/.local/lib/python%s/site-packages", dir,
                         s->pyver) >= sizeof(site) ||
        mkdirs_owned(site, uid) != 0) {
        snprintf(err, errlen, "cannot make %s: %s", site, strerror(errno));
        return -1;
    }
    snprintf(pth, sizeof(pth), "%s/daytona-local-snapshot.pth", site);
    FILE *f = fopen(pth, "w");
    if (!f || fprintf(f, "%s\n", s->site) < 0 || fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", pth, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the Dockerfile subset ---- */

/* Splits a shell command line into words: '...', "..." (with \ escapes of
 * "\$`), \x outside quotes. Operators and expansions ($ ` | ; & < > ( ))
 * outside single quotes are refused. Returns a new array, or NULL with err. */
static json_t *split_words(const char *s, char *err, size_t errlen)
{
    json_t *words = json_array();
    struct dl_buf w = {0};
    int have = 0;
    for (const char *p = s;; p++) {
        char c = *p;
        if (c == '\0' || c == ' ' || c == '\t') {
            if (have) {
                json_array_append_new(words, json_stringn(w.p ? w.p : "", w.len));
                w.len = 0;
                have = 0;
            }
            if (c == '\0')
                break;
            continue;
        }
        have = 1;
        if (c == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end)
                goto unterminated;
            dl_buf_append(&w, p + 1, (size_t)(end - p - 1));
            p = end;
        } else if (c == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
                    p++;
                else if (*p == '$' || *p == '`')
                    goto refused;
                dl_buf_append(&w, p, 1);
            }
            if (!*p)
                goto unterminated;
        } else if (c == '\\') {
            if (!p[1])
                goto unterminated;
            p++;
            dl_buf_append(&w, p, 1);
        } else if (strchr("$`|;&<>()", c)) {
            goto refused;
        } else {
            dl_buf_append(&w, p, 1);
        }
    }
    dl_buf_free(&w);
    return words;
unterminated:
    snprintf(err, errlen, "unterminated quote or escape in \"%.200s\"", s);
    goto fail;
refused:
    snprintf(err, errlen, "daytona-local builds no shell operators or expansions: \"%.200s\"", s);
fail:
    dl_buf_free(&w);
    json_decref(words);
    return NULL;
}

/* pip install options a build passes on; with_value: takes the next word. */
static int pip_option_ok(const char *o, int *with_value)
{
    static const char *const flags[] = {"--pre", "--no-cache-dir", "--upgrade", "-U",
                                        "--no-input", "--disable-pip-version-check",
                                        "--no-color", "-q", "--quiet", "--no-deps", "--no-index"};
    static const char *const valued[] = {"--index-url", "-i", "--extra-index-url",
                                         "--find-links", "-f", "--trusted-host",
                                         "--only-binary", "--no-binary", "--timeout",
                                         "--retries"};
    *with_value = 0;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strcmp(o, flags[i]) == 0)
            return 1;
    for (size_t i = 0; i < sizeof(valued) / sizeof(valued[0]); i++) {
        size_t n = strlen(valued[i]);
        if (strcmp(o, valued[i]) == 0) {
            *with_value = 1;
            return 1;
        }
        if (strncmp(o, valued[i], n) == 0 && o[n] == '=')
            return 1;
    }
    return 0;
}

/* The SDK's debianSlim() lines: the image already is what they make. */
static int sdk_noop(const char *cmd)
{
    static const char *const noops[] = {
        "apt-get update",
        "apt-get install -y gcc gfortran build-essential",
        "echo 'debconf debconf/frontend select Noninteractive' | debconf-set-selections",
    };
    for (size_t i = 0; i < sizeof(noops) / sizeof(noops[0]); i++)
        if (strcmp(cmd, noops[i]) == 0)
            return 1;
    return 0;
}

/* A RUN line: a pip install (appended to s->pip_runs), an SDK no-op, or an error. */
static int parse_run(struct dl_snapshot *s, const char *cmd, int lineno, char *err, size_t errlen)
{
    if (sdk_noop(cmd))
        return 0;
    json_t *w = split_words(cmd, err, errlen);
    if (!w)
        return -1;
    size_t n = json_array_size(w), i = 0;
    const char *w0 = n > 0 ? json_string_value(json_array_get(w, 0)) : "";
    if ((strcmp(w0, "python") == 0 || strcmp(w0, "python3") == 0) && n > 2 &&
        strcmp(json_string_value(json_array_get(w, 1)), "-m") == 0 &&
        strcmp(json_string_value(json_array_get(w, 2)), "pip") == 0)
        i = 3;
    else if (strcmp(w0, "pip") == 0 || strcmp(w0, "pip3") == 0)
        i = 1;
    if (i == 0 || i >= n || strcmp(json_string_value(json_array_get(w, i)), "install") != 0) {
        snprintf(err, errlen, "line %d: daytona-local builds only FROM, pip install RUN lines "
                 "(and the SDK's debianSlim lines), ENTRYPOINT and CMD: \"RUN %.200s\"",
                 lineno, cmd);
        json_decref(w);
        return -1;
    }
    json_t *args = json_array();
    int reqs = 0;
    for (i++; i < n; i++) {
        const char *a = json_string_value(json_array_get(w, i));
        int with_value = 0;
        if (a[0] == '-') {
            if (!pip_option_ok(a, &with_value)) {
                snprintf(err, errlen, "line %d: pip option %.100s is not one daytona-local "
                         "passes on", lineno, a);
                goto bad;
            }
            json_array_append_new(args, json_string(a));
            if (with_value) {
                if (++i >= n) {
                    snprintf(err, errlen, "line %d: pip option %.100s needs a value", lineno, a);
                    goto bad;
                }
                json_array_append(args, json_array_get(w, i));
            }
        } else {
            json_array_append_new(args, json_string(a));
            reqs++;
        }
    }
    json_decref(w);
    /* `pip install --upgrade pip`: the SDK's; the interpreter keeps its pip. */
    if (reqs == 1 && json_array_size(args) == 2 &&
        strcmp(json_string_value(json_array_get(args, 1)), "pip") == 0) {
        json_decref(args);
        return 0;
    }
    if (reqs == 0) {
        snprintf(err, errlen, "line %d: pip install names no requirement", lineno);
        json_decref(args);
        return -1;
    }
    json_array_append_new(s->pip_runs, args);
    return 0;
bad:
    json_decref(w);
    json_decref(args);
    return -1;
}

/* Reads the Dockerfile into s (image, pip_runs, entrypoint). Returns 0 or -1 with err. */
static int parse_dockerfile(struct dl_snapshot *s, const char *text, char *err, size_t errlen)
{
    struct dl_buf line = {0};
    int lineno = 0, rc = -1;
    const char *p = text;

    s->pip_runs = json_array();
    while (*p) {
        /* One logical line: physical lines joined where one ends in '\'. */
        line.len = 0;
        int start = ++lineno;
        for (;;) {
            size_t n = strcspn(p, "\n");
            size_t m = n;
            while (m > 0 && (p[m - 1] == '\r' || p[m - 1] == ' '))
                m--;
            int cont = m > 0 && p[m - 1] == '\\';
            dl_buf_append(&line, p, cont ? m - 1 : m);
            p += n + (p[n] == '\n');
            if (!cont || !*p)
                break;
            dl_buf_append(&line, " ", 1);
            lineno++;
        }
        char *l = line.p ? line.p : (char *)"";
        while (*l == ' ' || *l == '\t')
            l++;
        if (*l == '\0' || *l == '#')
            continue;
        size_t kw = strcspn(l, " \t");
        char *arg = l + kw;
        while (*arg == ' ' || *arg == '\t')
            arg++;
        if (kw == 4 && strncasecmp(l, "FROM", 4) == 0) {
            if (s->image || !*arg || strchr(arg, ' ')) {
                snprintf(err, errlen, "line %d: one FROM with one image is supported", start);
                goto out;
            }
            s->image = strdup(arg);
        } else if (kw == 3 && strncasecmp(l, "RUN", 3) == 0) {
            if (!s->image) {
                snprintf(err, errlen, "line %d: RUN before FROM", start);
                goto out;
            }
            if (parse_run(s, arg, start, err, errlen) != 0)
                goto out;
        } else if ((kw == 10 && strncasecmp(l, "ENTRYPOINT", 10) == 0) ||
                   (kw == 3 && strncasecmp(l, "CMD", 3) == 0)) {
            json_t *e = json_loads(arg, 0, NULL);
            if (!json_is_array(e)) {
                json_decref(e);
                snprintf(err, errlen, "line %d: ENTRYPOINT and CMD must be JSON arrays", start);
                goto out;
            }
            if (kw == 10) {
                json_decref(s->entrypoint);
                s->entrypoint = e;
            } else {
                json_decref(e);
            }
        } else {
            snprintf(err, errlen, "line %d: daytona-local does not build %.*s instructions "
                     "(only FROM, RUN pip install, ENTRYPOINT, CMD)", start, (int)kw, l);
            goto out;
        }
    }
    if (!s->image) {
        snprintf(err, errlen, "the Dockerfile has no FROM line");
        goto out;
    }
    rc = 0;
out:
    dl_buf_free(&line);
    return rc;
}

/* ---- the build ---- */

/* The build's environment: the server's, without what would turn pip away
 * from --target or the interpreter from its own packages, HOME the snapshot's. */
static char **build_env(const struct dl_snapshot *s)
{
    static const char *const dropped[] = {"PIP_USER=", "PIP_TARGET=", "PIP_PREFIX=",
                                          "PYTHONPATH=", "PYTHONHOME=", "HOME=",
                                          "PIP_REQUIRE_VIRTUALENV="};
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 4, sizeof(*envp));
    size_t k = 0;
    if (!envp)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int drop = 0;
        for (size_t d = 0; d < sizeof(dropped) / sizeof(dropped[0]); d++)
            drop |= strncmp(environ[i], dropped[d], strlen(dropped[d])) == 0;
        if (!drop)
            envp[k++] = strdup(environ[i]);
    }
    char home[PATH_MAX + 8];
    snprintf(home, sizeof(home), "HOME=%s", s->dir);
    envp[k++] = strdup(home);
    envp[k++] = strdup("PIP_DISABLE_PIP_VERSION_CHECK=1");
    envp[k] = NULL;
    for (size_t i = 0; i < k; i++)
        if (!envp[i]) {
            for (size_t j = 0; j < k; j++)
                free(envp[j]);
            free(envp);
            return NULL;
        }
    return envp;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* Runs argv with stdout and stderr appended to log_path; records the pid on
 * s while it runs. Returns the exit status (128+N for a signal), or -1. */
static int run_logged(struct dl_snapshot *s, char *const argv[], char *const envp[],
                      const char *log_path)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0;
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    posix_spawn_file_actions_addchdir_np(&fa, s->dir);
    pthread_mutex_lock(&g_lock);
    int rc = g_closing ? -1 : posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
    if (rc == 0)
        s->build_pid = pid;
    pthread_mutex_unlock(&g_lock);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    if (rc != 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&g_lock);
    s->build_pid = 0;
    pthread_mutex_unlock(&g_lock);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* The last DL_REASON_MAX bytes of a file, made valid UTF-8; or a fallback. */
static char *tail_of(const char *path, const char *fallback)
{
    char buf[DL_REASON_MAX];
    FILE *f = fopen(path, "rb");
    size_t n = 0;
    if (f) {
        if (fseek(f, 0, SEEK_END) == 0) {
            long size = ftell(f);
            if (size > (long)sizeof(buf))
                fseek(f, size - (long)sizeof(buf), SEEK_SET);
            else
                fseek(f, 0, SEEK_SET);
        }
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    if (n == 0)
        return strdup(fallback);
    size_t out_len = 0;
    return dl_utf8_repair(buf, n, &out_len);
}

/* Runs each pip line into s->site, then asks the interpreter its version. */
static void *build_main(void *arg)
{
    struct dl_snapshot *s = arg;
    char log_path[PATH_MAX + 16], ver_path[PATH_MAX + 16];
    char **envp = NULL;
    char *reason = NULL;
    int ok = 0;

    pthread_mutex_lock(&g_lock);
    if (s->listed && strcmp(s->state, "pending") == 0)
        set_state_locked(s, "building");
    pthread_mutex_unlock(&g_lock);
    if (g_dl_cfg.snapshot_build_delay_ms > 0)
        dl_sleep_ms(g_dl_cfg.snapshot_build_delay_ms);
    snprintf(log_path, sizeof(log_path), "%s/build.log", s->dir);
    snprintf(ver_path, sizeof(ver_path), "%s/pyver", s->dir);
    envp = build_env(s);
    if (!envp || mkdir(s->site, 0755) != 0) {
        reason = strdup("daytona-local: cannot prepare the build");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(s->pip_runs); i++) {
        json_t *args = json_array_get(s->pip_runs, i);
        size_t n = json_array_size(args);
        char **argv = calloc(n + 12, sizeof(*argv));
        if (!argv) {
            reason = strdup("daytona-local: out of memory");
            goto out;
        }
        size_t k = 0;
        argv[k++] = DL_BUILD_PYTHON;
        argv[k++] = "-m";
        argv[k++] = "pip";
        argv[k++] = "install";
        argv[k++] = "--no-input";
        argv[k++] = "--no-color";
        argv[k++] = "--target";
        argv[k++] = s->site;
        for (size_t j = 0; j < n; j++)
            argv[k++] = (char *)json_string_value(json_array_get(args, j));
        argv[k] = NULL;
        int st = run_logged(s, argv, envp, log_path);
        free(argv);
        if (st != 0) {
            char *t = tail_of(log_path, "pip failed with no output");
            size_t len = (t ? strlen(t) : 0) + 64;
            reason = malloc(len);
            if (reason)
                snprintf(reason, len, "pip install failed (exit %d): %s", st, t ? t : "");
            free(t);
            goto out;
        }
    }
    char *ver_argv[] = {DL_BUILD_PYTHON, "-c",
                        "import sys; print('%d.%d' % sys.version_info[:2])", NULL};
    unlink(ver_path);
    if (run_logged(s, ver_argv, envp, ver_path) != 0) {
        reason = strdup("daytona-local: cannot ask the sandboxes' python its version");
        goto out;
    }
    FILE *f = fopen(ver_path, "r");
    if (!f || !fgets(s->pyver, sizeof(s->pyver), f)) {
        reason = strdup("daytona-local: no interpreter version");
        if (f)
            fclose(f);
        goto out;
    }
    fclose(f);
    s->pyver[strcspn(s->pyver, "\n")] = '\0';
    /* Read-only to every sandbox, whoever it runs as. */
    char *chmod_argv[] = {"/bin/chmod", "-R", "a-w,a+rX", s->site, NULL};
    run_logged(s, chmod_argv, envp, log_path);
    ok = 1;
out:
    free_strv(envp);
    pthread_mutex_lock(&g_lock);
    if (ok) {
        set_state_locked(s, "active");
        g_builds++;
    } else {
        set_state_locked(s, "build_failed");
        free(s->error_reason);
        s->error_reason = reason ? reason : strdup("daytona-local: the build failed");
        reason = NULL;
        g_builds_failed++;
    }
    g_building_threads--;
    pthread_cond_broadcast(&g_cond);
    pthread_mutex_unlock(&g_lock);
    free(reason);
    dl_snapshot_release(s);
    return NULL;
}

static int start_build(struct dl_snapshot *s)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_mutex_lock(&g_lock);
    s->refs++;                  /* the build's */
    g_building_threads++;
    set_state_locked(s, "pending");
    pthread_mutex_unlock(&g_lock);
    int rc = pthread_create(&t, &attr, build_main, s);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&g_lock);
        s->refs--;
        g_building_threads--;
        set_state_locked(s, "error");
        free(s->error_reason);
        s->error_reason = strdup("daytona-local: cannot start a build thread");
        pthread_mutex_unlock(&g_lock);
        return -1;
    }
    return 0;
}

/* ---- JSON ---- */

static json_t *json_locked(const struct dl_snapshot *s)
{
    char created[40], updated[40], used[40];
    dl_iso_time(s->created_wall, created, sizeof(created));
    dl_iso_time(s->updated_wall, updated, sizeof(updated));
    dl_iso_time(s->last_used_wall, used, sizeof(used));
    json_t *o = json_pack(
        "{s:s, s:s, s:b, s:s, s:n, s:s, s:n, s:i, s:i, s:n, s:i, s:i, s:s?, s:s, s:s, s:s,"
        " s:{s:s, s:[], s:s, s:s, s:s}, s:[s], s:s, s:n, s:s}",
        "id", s->id, "organizationId", "local", "general", 0, "name", s->name,
        "imageName", "state", s->state, "size", "cpu", (int)s->cpu, "gpu", 0, "gpuType",
        "mem", (int)s->mem, "disk", (int)s->disk, "errorReason", s->error_reason,
        "createdAt", created, "updatedAt", updated, "lastUsedAt", used,
        "buildInfo", "dockerfileContent", s->dockerfile, "contextHashes", "createdAt", created,
        "updatedAt", updated, "snapshotRef", s->id, "regionIds", "local", "initialRunnerId",
        "local", "ref", "sandboxClass", "container");
    if (o && s->entrypoint)
        json_object_set(o, "entrypoint", s->entrypoint);
    else if (o)
        json_object_set_new(o, "entrypoint", json_pack("[s,s]", "sleep", "infinity"));
    if (o && !s->error_reason)
        json_object_set_new(o, "errorReason", json_null());
    return o;
}

static json_t *snap_json(const struct dl_snapshot *s)
{
    pthread_mutex_lock(&g_lock);
    json_t *o = json_locked(s);
    pthread_mutex_unlock(&g_lock);
    return o;
}

/* ---- routes ---- */

static int name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 255)
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_.-:/@", *p)))
            return 0;
    return 1;
}

static long int_field(const json_t *body, const char *k, long dflt)
{
    const json_t *v = json_object_get(body, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (long)json_integer_value(v) : dflt;
}

static enum MHD_Result snapshot_create(struct dl_req *r)
{
    char err[512];
    struct dl_snapshot *s = NULL;
    json_t *body = dl_req_json(r);
    enum MHD_Result ret;

    if (!body)
        return dl_reply_api_error(r, 400, "Invalid request body: expected a JSON object");
    const char *name = json_string_value(json_object_get(body, "name"));
    json_t *bi = json_object_get(body, "buildInfo");
    const char *df = json_string_value(json_object_get(bi, "dockerfileContent"));
    if (!name || !name_ok(name)) {
        ret = dl_reply_api_error(r, 400, "Invalid snapshot name format. May contain letters, "
                                 "digits, dots, colons, and dashes");
        goto out;
    }
    if (json_object_get(body, "imageName")) {
        ret = dl_reply_api_error(r, 400, "daytona-local builds snapshots from "
                                 "buildInfo.dockerfileContent only, not from imageName");
        goto out;
    }
    if (!df || !*df) {
        ret = dl_reply_api_error(r, 400, "buildInfo.dockerfileContent is required");
        goto out;
    }
    if (json_object_get(body, "entrypoint")) {
        ret = dl_reply_api_error(r, 400, "Cannot specify an entrypoint when using a build info entry");
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        ret = dl_reply_api_error(r, 500, "An unexpected error occurred.");
        goto out;
    }
    s->refs = 1;
    dl_uuid4(s->id);
    s->name = strdup(name);
    s->dockerfile = strdup(df);
    s->cpu = int_field(body, "cpu", 1);
    s->mem = int_field(body, "memory", 1);
    s->disk = int_field(body, "disk", 3);
    if (parse_dockerfile(s, df, err, sizeof(err)) != 0) {
        ret = dl_reply_api_error(r, 400, err);
        goto out;
    }
    if (json_array_size(s->pip_runs) == 0) {
        ret = dl_reply_api_error(r, 400, "the Dockerfile installs nothing: daytona-local "
                                 "builds snapshots that pip install packages");
        goto out;
    }
    s->created_wall = s->updated_wall = s->last_used_wall = atc_clock_wall_ms();
    snprintf(s->state, sizeof(s->state), "pending");
    pthread_mutex_lock(&g_lock);
    long count = 0;
    for (struct dl_snapshot *o = g_head; o; o = o->next) {
        if (strcmp(o->name, name) == 0) {
            pthread_mutex_unlock(&g_lock);
            snprintf(err, sizeof(err), "Snapshot with name \"%.300s\" already exists for this "
                     "organization", name);
            ret = dl_reply_api_error(r, 409, err);
            goto out;
        }
        count += strcmp(o->state, "pending") == 0 || strcmp(o->state, "building") == 0 ||
                 strcmp(o->state, "active") == 0;
    }
    if (g_dl_cfg.snapshot_quota > 0 && count >= g_dl_cfg.snapshot_quota) {
        pthread_mutex_unlock(&g_lock);
        snprintf(err, sizeof(err), "Snapshot quota exceeded. Maximum allowed: %ld",
                 g_dl_cfg.snapshot_quota);
        ret = dl_reply_api_error(r, 400, err);
        goto out;
    }
    if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s/.snapshots/%s", g_dl_cfg.root, s->id) >=
            sizeof(s->dir) ||
        (size_t)snprintf(s->site, sizeof(s->site), "%s/site", s->dir) >= sizeof(s->site) ||
        mkdirs_owned(s->dir, -1) != 0) {
        pthread_mutex_unlock(&g_lock);
        s->dir[0] = '\0';
        ret = dl_reply_api_error(r, 500, "cannot make the snapshot directory");
        goto out;
    }
    s->listed = 1;
    s->refs++;                  /* the registry's */
    s->next = g_head;
    g_head = s;
    pthread_mutex_unlock(&g_lock);
    start_build(s);
    ret = dl_reply_json(r, 200, snap_json(s));
out:
    json_decref(body);
    dl_snapshot_release(s);
    return ret;
}

static enum MHD_Result snapshot_list(struct dl_req *r)
{
    const char *name = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "name");
    const char *page_s = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "page");
    const char *limit_s = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "limit");
    long page = 1, limit = 100;
    if ((page_s && dl_parse_long(page_s, 1, 1L << 30, &page) != 0) ||
        (limit_s && dl_parse_long(limit_s, 1, 200, &limit) != 0))
        return dl_reply_api_error(r, 400, "page must be >= 1 and limit 1 to 200");
    json_t *items = json_array();
    long total = 0;
    pthread_mutex_lock(&g_lock);
    /* Most recently used first, as the API's default sort. */
    size_t n = 0;
    for (struct dl_snapshot *s = g_head; s; s = s->next)
        n++;
    struct dl_snapshot **v = calloc(n + 1, sizeof(*v));
    n = 0;
    for (struct dl_snapshot *s = g_head; v && s; s = s->next)
        if (!name || !*name || strcasestr(s->name, name))
            v[n++] = s;
    for (size_t i = 1; v && i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1]->last_used_wall < v[j]->last_used_wall; j--) {
            struct dl_snapshot *t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    total = (long)n;
    for (long i = (page - 1) * limit; v && i < (long)n && i < page * limit; i++)
        json_array_append_new(items, json_locked(v[i]));
    pthread_mutex_unlock(&g_lock);
    free(v);
    return dl_reply_json(r, 200, json_pack("{s:o, s:i, s:i, s:i}", "items", items, "total",
                                           (int)total, "page", (int)page, "totalPages",
                                           (int)((total + limit - 1) / limit)));
}

/* Removes s from the registry (its directory goes with the last reference). */
static void unlist(struct dl_snapshot *s)
{
    int drop = 0;
    pthread_mutex_lock(&g_lock);
    for (struct dl_snapshot **pp = &g_head; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            s->listed = 0;
            set_state_locked(s, "removing");
            if (s->build_pid > 0)
                kill(s->build_pid, SIGKILL);
            drop = 1;
            break;
        }
    pthread_mutex_unlock(&g_lock);
    if (drop)
        dl_snapshot_release(s);
}

enum MHD_Result dl_snapshot_handle(struct dl_req *r)
{
    char id[300], msg[400];
    const char *m = r->method;
    if (strcmp(r->url, "/api/snapshots") == 0 || strcmp(r->url, "/api/snapshots/") == 0) {
        if (strcmp(m, "POST") == 0)
            return snapshot_create(r);
        if (strcmp(m, "GET") == 0)
            return snapshot_list(r);
        return dl_reply_api_error(r, 405, "Method Not Allowed");
    }
    if (strncmp(r->url, "/api/snapshots/", 15) != 0)
        return dl_reply_api_error(r, 404, "Not Found");
    const char *action = "";
    if (dl_split_id_action(r->url + 15, id, sizeof(id), &action) != 0)
        return dl_reply_api_error(r, 404, "Not Found");

    pthread_mutex_lock(&g_lock);
    struct dl_snapshot *s = find_locked(id);
    if (s)
        s->refs++;
    pthread_mutex_unlock(&g_lock);
    if (!s) {
        snprintf(msg, sizeof(msg), "Snapshot %.300s not found", id);
        return dl_reply_api_error(r, 404, msg);
    }
    enum MHD_Result ret;
    /* DELETE and activate take an id only, as the API's ParseUUIDPipe. */
    int by_id = strcmp(s->id, id) == 0;
    if (!*action && strcmp(m, "GET") == 0) {
        ret = dl_reply_json(r, 200, snap_json(s));
    } else if (!*action && strcmp(m, "DELETE") == 0) {
        if (!by_id) {
            ret = dl_reply_api_error(r, 400, "Validation failed (uuid is expected)");
        } else {
            unlist(s);
            ret = dl_reply_empty(r, 200);
        }
    } else if (strcmp(action, "activate") == 0 && strcmp(m, "POST") == 0) {
        pthread_mutex_lock(&g_lock);
        char state[16];
        snprintf(state, sizeof(state), "%s", s->state);
        pthread_mutex_unlock(&g_lock);
        if (!by_id) {
            ret = dl_reply_api_error(r, 400, "Validation failed (uuid is expected)");
        } else if (strcmp(state, "active") == 0) {
            snprintf(msg, sizeof(msg), "Snapshot %s is already active", s->id);
            ret = dl_reply_api_error(r, 400, msg);
        } else if (strcmp(state, "inactive") != 0) {
            snprintf(msg, sizeof(msg), "Snapshot %s cannot be activated - it is in %s state",
                     s->id, state);
            ret = dl_reply_api_error(r, 400, msg);
        } else {
            pthread_mutex_lock(&g_lock);
            set_state_locked(s, "active");
            pthread_mutex_unlock(&g_lock);
            ret = dl_reply_json(r, 200, snap_json(s));
        }
    } else if (strcmp(action, "deactivate") == 0 && strcmp(m, "POST") == 0 && by_id) {
        pthread_mutex_lock(&g_lock);
        if (strcmp(s->state, "active") == 0)
            set_state_locked(s, "inactive");
        pthread_mutex_unlock(&g_lock);
        ret = dl_reply_empty(r, 204);
    } else {
        ret = dl_reply_api_error(r, 404, "Not Found");
    }
    dl_snapshot_release(s);
    return ret;
}

void dl_snapshot_stats(json_t *obj)
{
    long n = 0;
    pthread_mutex_lock(&g_lock);
    for (struct dl_snapshot *s = g_head; s; s = s->next)
        n++;
    json_object_set_new(obj, "snapshots", json_integer(n));
    json_object_set_new(obj, "snapshot_builds", json_integer(g_builds));
    json_object_set_new(obj, "snapshot_builds_failed", json_integer(g_builds_failed));
    pthread_mutex_unlock(&g_lock);
}

void dl_snapshot_shutdown(void)
{
    pthread_mutex_lock(&g_lock);
    g_closing = 1;
    for (struct dl_snapshot *s = g_head; s; s = s->next)
        if (s->build_pid > 0)
            kill(s->build_pid, SIGKILL);
    for (int i = 0; i < 50 && g_building_threads > 0; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g_cond, &g_lock, &ts);
    }
    struct dl_snapshot *head = g_head;
    g_head = NULL;
    pthread_mutex_unlock(&g_lock);
    while (head) {
        struct dl_snapshot *next = head->next;
        head->listed = 0;
        dl_snapshot_release(head);
        head = next;
    }
}
