/* sandbox.c: daytona-local's sandbox registry, directories and command runner. */
#include "sandbox.h"
#include "confine.h"
#include "interp.h"
#include "server.h"
#include "snapshots.h"
#include "util.h"

#include "atc/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct dl_sandbox {
    struct dl_sandbox *prev, *next;     /* the registry's list, while live */
    int refs;
    int live;
    int stopped;
    char id[37];
    char *name;
    char dir[PATH_MAX];
    json_t *labels;                     /* object of strings */
    json_t *env;                        /* object of strings */
    json_t *echo;                       /* other create fields echoed back */
    int64_t created_wall;
    int64_t updated_wall;
    int64_t ready_mono;                 /* "starting" until then */
    pid_t *pgids;                       /* process groups of its commands */
    long uid;                           /* its own uid when confined as root, else -1 */
    int no_net;                         /* networkBlockAll or --no-network */
    long long mem_limit;                /* bytes of RSS its uid may hold; 0: none */
    long oom_kills;
    struct dl_snapshot *snap;           /* the snapshot it was made from, or NULL */
    size_t npgids, cap_pgids;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dl_sandbox *g_head;
static int g_closing;
static long g_oom_kills;
static long g_live, g_created, g_deleted, g_execs, g_exec_timeouts, g_running, g_peak_live;

/* Exit grace: how long to keep reading output after the shell itself exited
 * while a background process still holds the pipe open. */
#define EXIT_GRACE_MS 1000

void dl_sandbox_init(void)
{
}

const char *dl_sandbox_id(const struct dl_sandbox *sb)
{
    return sb->id;
}

const char *dl_sandbox_dir(const struct dl_sandbox *sb)
{
    return sb->dir;
}

long dl_sandbox_uid(const struct dl_sandbox *sb)
{
    return sb->uid;
}

static void sandbox_free(struct dl_sandbox *sb)
{
    if (!sb)
        return;
    free(sb->name);
    json_decref(sb->labels);
    json_decref(sb->env);
    json_decref(sb->echo);
    dl_snapshot_release(sb->snap);
    free(sb->pgids);
    free(sb);
}

void dl_sandbox_put(struct dl_sandbox *sb)
{
    if (!sb)
        return;
    pthread_mutex_lock(&g_lock);
    int last = --sb->refs == 0;
    pthread_mutex_unlock(&g_lock);
    if (last)
        sandbox_free(sb);
}

/* Finds a live sandbox by id, then by name; g_lock held. */
static struct dl_sandbox *find_locked(const char *id_or_name)
{
    for (struct dl_sandbox *s = g_head; s; s = s->next)
        if (strcmp(s->id, id_or_name) == 0)
            return s;
    for (struct dl_sandbox *s = g_head; s; s = s->next)
        if (strcmp(s->name, id_or_name) == 0)
            return s;
    return NULL;
}

struct dl_sandbox *dl_sandbox_get(const char *id_or_name)
{
    pthread_mutex_lock(&g_lock);
    struct dl_sandbox *sb = find_locked(id_or_name);
    if (sb)
        sb->refs++;
    pthread_mutex_unlock(&g_lock);
    return sb;
}

static int string_map_ok(const json_t *v)
{
    const char *k;
    const json_t *x;
    if (!json_is_object(v))
        return 0;
    json_object_foreach((json_t *)v, k, x)
        if (!json_is_string(x))
            return 0;
    return 1;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == '/' || *p == '?' || *p == '#' || *p == '%')
            return 0;
    return 1;
}

/* The Python SDK's BuildInfo requires createdAt, updatedAt and snapshotRef,
 * which a create body's buildInfo (dockerfileContent, contextHashes) lacks:
 * adds them to the echoed object where missing. Returns 0 or -1. */
static int complete_build_info(json_t *bi, int64_t wall_ms)
{
    char when[40];
    if (!json_is_object(bi))
        return 0;
    dl_iso_time(wall_ms, when, sizeof(when));
    if (!json_object_get(bi, "createdAt") && json_object_set_new(bi, "createdAt", json_string(when)))
        return -1;
    if (!json_object_get(bi, "updatedAt") && json_object_set_new(bi, "updatedAt", json_string(when)))
        return -1;
    if (!json_object_get(bi, "snapshotRef") &&
        json_object_set_new(bi, "snapshotRef", json_string("daytona-local")))
        return -1;
    return 0;
}

int dl_sandbox_create(const json_t *body, struct dl_sandbox **out, char *err, size_t errlen)
{
    static const char *const echoed[] = {
        "snapshot", "user", "target", "public", "networkBlockAll", "networkAllowList",
        "domainAllowList", "autoStopInterval", "autoArchiveInterval", "autoDeleteInterval",
        "autoPauseInterval", "ttlMinutes", "volumes", "buildInfo", "class",
    };
    static const char *const resources[] = {"cpu", "gpu", "memory", "disk"};
    struct dl_sandbox *sb = NULL;
    int rc = -500;
    const json_t *v;

    sb = calloc(1, sizeof(*sb));
    if (!sb) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    sb->refs = 1;
    sb->uid = -1;
    dl_uuid4(sb->id);
    rc = -400;
    v = json_object_get(body, "name");
    if (v && !json_is_null(v)) {
        if (!json_is_string(v) || !name_ok(json_string_value(v))) {
            snprintf(err, errlen, "name must be 1 to 255 printable characters without '/', '?', "
                     "'#', '%%' or spaces");
            goto out;
        }
        sb->name = strdup(json_string_value(v));
    } else {
        sb->name = strdup(sb->id);
    }
    v = json_object_get(body, "labels");
    if (v && !json_is_null(v) && !string_map_ok(v)) {
        snprintf(err, errlen, "labels must be an object of strings");
        goto out;
    }
    sb->labels = v && !json_is_null(v) ? json_deep_copy(v) : json_object();
    v = json_object_get(body, "env");
    if (v && !json_is_null(v) && !string_map_ok(v)) {
        snprintf(err, errlen, "env must be an object of strings");
        goto out;
    }
    sb->env = v && !json_is_null(v) ? json_deep_copy(v) : json_object();
    if (!json_object_get(body, "buildInfo")) {
        for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++)
            if (json_object_get(body, resources[i])) {
                snprintf(err, errlen, "Cannot specify Sandbox resources when using a snapshot");
                goto out;
            }
    }
    v = json_object_get(body, "networkBlockAll");
    if (v && !json_is_null(v) && !json_is_boolean(v)) {
        snprintf(err, errlen, "networkBlockAll must be a boolean");
        goto out;
    }
    sb->no_net = json_is_true(v) || g_dl_cfg.no_network;
    /* Its memory: asked with buildInfo (checked above), else the snapshot's
     * (--sandbox-memory-gib, 1 as the JSON says). */
    v = json_object_get(body, "memory");
    sb->mem_limit = (json_is_integer(v) && json_integer_value(v) > 0
                         ? (long long)json_integer_value(v)
                         : g_dl_cfg.sandbox_memory_gib) << 30;
    v = json_object_get(body, "networkAllowList");
    if (v && !json_is_null(v) && !json_is_string(v)) {
        snprintf(err, errlen, "networkAllowList must be a string of comma-separated CIDRs");
        goto out;
    }
    /* An allow list: only what it lists. daytona-local cannot route a
     * namespace to chosen networks, so it allows less: loopback only. */
    if (json_is_string(v) && json_string_length(v) > 0)
        sb->no_net = 1;
    /* A snapshot of ours gives its packages; another name is the default image. */
    v = json_object_get(body, "snapshot");
    if (json_is_string(v)) {
        rc = dl_snapshot_acquire(json_string_value(v), &sb->snap, err, errlen);
        if (rc < 0)
            goto out;
        if (rc == 1 && g_dl_cfg.strict_snapshots) {
            snprintf(err, errlen, "Snapshot %.200s not found. Did you add it through the "
                     "Daytona Dashboard?", json_string_value(v));
            rc = -400;
            goto out;
        }
    }
    sb->echo = json_object();
    rc = -500;
    if (!sb->name || !sb->labels || !sb->env || !sb->echo) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < sizeof(echoed) / sizeof(echoed[0]); i++)
        if ((v = json_object_get(body, echoed[i])) && !json_is_null(v))
            json_object_set_new(sb->echo, echoed[i], json_deep_copy(v));
    sb->updated_wall = atc_clock_wall_ms();
    sb->created_wall = sb->updated_wall - g_dl_cfg.created_ago_ms;
    if (complete_build_info(json_object_get(sb->echo, "buildInfo"), sb->created_wall) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    sb->ready_mono = g_dl_cfg.create_starting ? atc_clock_mono_ms() + g_dl_cfg.start_delay_ms : 0;
    if ((size_t)snprintf(sb->dir, sizeof(sb->dir), "%s/%s", g_dl_cfg.root, sb->id) >=
            sizeof(sb->dir) || mkdir(sb->dir, 0755) != 0) {
        snprintf(err, errlen, "cannot make the sandbox directory %s: %s", sb->dir, strerror(errno));
        goto out;
    }
    /* Its commands run as its own uid: the directory is theirs. */
    sb->uid = dl_confine_new_uid();
    if (sb->uid >= 0 && chown(sb->dir, (uid_t)sb->uid, (gid_t)sb->uid) != 0) {
        snprintf(err, errlen, "cannot give the sandbox directory to uid %ld: %s", sb->uid,
                 strerror(errno));
        rmdir(sb->dir);
        goto out;
    }
    if (sb->snap && dl_snapshot_attach(sb->snap, sb->dir, sb->uid, err, errlen) != 0) {
        dl_rmtree(sb->dir);
        goto out;
    }

    pthread_mutex_lock(&g_lock);
    if (g_closing) {
        pthread_mutex_unlock(&g_lock);
        snprintf(err, errlen, "the server is shutting down");
        rmdir(sb->dir);
        goto out;
    }
    for (struct dl_sandbox *s = g_head; s; s = s->next)
        if (strcmp(s->name, sb->name) == 0) {
            pthread_mutex_unlock(&g_lock);
            snprintf(err, errlen, "Sandbox with name %s already exists", sb->name);
            rmdir(sb->dir);
            rc = -409;
            goto out;
        }
    sb->live = 1;
    sb->refs++;                 /* the registry's reference */
    sb->next = g_head;
    if (g_head)
        g_head->prev = sb;
    g_head = sb;
    g_live++;
    g_created++;
    if (g_live > g_peak_live)
        g_peak_live = g_live;
    pthread_mutex_unlock(&g_lock);
    *out = sb;
    sb = NULL;
    rc = 0;
out:
    sandbox_free(sb);
    return rc;
}

/* Kills every process group of sb; g_lock held. */
static void kill_groups_locked(struct dl_sandbox *sb)
{
    for (size_t i = 0; i < sb->npgids; i++)
        kill(-sb->pgids[i], SIGKILL);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D || flag == FTW_DNR)
        return rmdir(path) == 0 || errno == ENOENT ? 0 : 0;
    unlink(path);
    return 0;
}

int dl_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
    return lstat(path, &st) == 0 ? -1 : 0;
}

static void remove_dir(const char *dir)
{
    /* A process killed a moment ago may still be finishing a write. */
    for (int i = 0; i < 5 && dl_rmtree(dir) != 0; i++) {
        atc_clock_sleep_ms(50);
    }
}

/* Confined, a command's whole namespace is gone once its runner has reaped
 * it: wait for that (at most 10 s), so a delete answers after its processes
 * are gone, not merely signalled. */
static void wait_groups_gone(struct dl_sandbox *sb)
{
    if (dl_confine_mode() != DL_CONFINE_JAIL)
        return;
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&g_lock);
        size_t n = sb->npgids;
        pthread_mutex_unlock(&g_lock);
        if (n == 0)
            return;
        dl_sleep_ms(10);
    }
}

int dl_sandbox_delete(const char *id_or_name, const char *toolbox_url, json_t **obj)
{
    pthread_mutex_lock(&g_lock);
    struct dl_sandbox *sb = find_locked(id_or_name);
    if (!sb) {
        pthread_mutex_unlock(&g_lock);
        return -404;
    }
    if (sb->prev)
        sb->prev->next = sb->next;
    else
        g_head = sb->next;
    if (sb->next)
        sb->next->prev = sb->prev;
    sb->prev = sb->next = NULL;
    sb->live = 0;
    sb->updated_wall = atc_clock_wall_ms();
    kill_groups_locked(sb);
    g_live--;
    g_deleted++;
    pthread_mutex_unlock(&g_lock);
    wait_groups_gone(sb);
    if (obj) {
        *obj = dl_sandbox_json(sb, toolbox_url, 1);
        if (*obj)
            json_object_set_new(*obj, "desiredState", json_string("destroyed"));
    }
    remove_dir(sb->dir);
    dl_sandbox_put(sb);         /* the registry's reference */
    return 0;
}

int dl_sandbox_set_network(struct dl_sandbox *sb, const json_t *body, char *err, size_t errlen)
{
    const json_t *block = json_object_get(body, "networkBlockAll");
    const json_t *allow = json_object_get(body, "networkAllowList");

    if (block && !json_is_null(block) && !json_is_boolean(block)) {
        snprintf(err, errlen, "networkBlockAll must be a boolean");
        return -400;
    }
    if (allow && !json_is_null(allow) && !json_is_string(allow)) {
        snprintf(err, errlen, "networkAllowList must be a string of comma-separated CIDRs");
        return -400;
    }
    pthread_mutex_lock(&g_lock);
    int no_net = sb->no_net;
    if (json_is_boolean(block))
        no_net = json_is_true(block);
    if (json_is_string(allow) && json_string_length(allow) > 0)
        no_net = 1; /* loopback only, as at create */
    sb->no_net = no_net || g_dl_cfg.no_network;
    if (json_is_boolean(block))
        json_object_set_new(sb->echo, "networkBlockAll", json_boolean(sb->no_net));
    if (allow)
        json_object_set(sb->echo, "networkAllowList", (json_t *)allow);
    sb->updated_wall = atc_clock_wall_ms();
    pthread_mutex_unlock(&g_lock);
    return 0;
}

size_t dl_sandbox_mem_limits(long *uids, long long *limits, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&g_lock);
    for (struct dl_sandbox *s = g_head; s && n < max; s = s->next)
        if (s->live && s->uid >= 0 && s->mem_limit > 0) {
            uids[n] = s->uid;
            limits[n++] = s->mem_limit;
        }
    pthread_mutex_unlock(&g_lock);
    return n;
}

void dl_sandbox_count_oom(long uid)
{
    pthread_mutex_lock(&g_lock);
    for (struct dl_sandbox *s = g_head; s; s = s->next)
        if (s->live && s->uid == uid)
            s->oom_kills++;
    g_oom_kills++;
    pthread_mutex_unlock(&g_lock);
}

void dl_sandbox_stop(struct dl_sandbox *sb)
{
    pthread_mutex_lock(&g_lock);
    sb->stopped = 1;
    sb->updated_wall = atc_clock_wall_ms();
    kill_groups_locked(sb);
    pthread_mutex_unlock(&g_lock);
}

void dl_sandbox_start(struct dl_sandbox *sb)
{
    pthread_mutex_lock(&g_lock);
    sb->stopped = 0;
    sb->updated_wall = atc_clock_wall_ms();
    pthread_mutex_unlock(&g_lock);
}

/* The current state name; g_lock held. */
static const char *state_locked(const struct dl_sandbox *sb)
{
    if (sb->stopped)
        return "stopped";
    if (sb->ready_mono && atc_clock_mono_ms() < sb->ready_mono)
        return "starting";
    return "started";
}

static json_t *json_locked(struct dl_sandbox *sb, const char *toolbox_url, int full)
{
    char created[40], updated[40];
    const char *state = state_locked(sb);
    const char *desired = sb->live ? (sb->stopped ? "stopped" : "started") : "destroyed";
    dl_iso_time(sb->created_wall, created, sizeof(created));
    dl_iso_time(sb->updated_wall, updated, sizeof(updated));
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:O, s:b, s:b, s:b, s:b, s:n, s:s, s:i, s:i, s:i, s:i, s:s, s:s,"
        " s:n, s:b, s:i, s:i, s:i, s:[], s:n, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
        "id", sb->id, "organizationId", "local", "name", sb->name,
        "snapshot", "daytona-local", "user", "daytona", "labels", sb->labels,
        "public", 0, "networkBlockAll", 0, "kvm", 0, "spot", 0, "networkAllowList", "target", "local",
        "cpu", 1, "gpu", 0, "memory", 1, "disk", 3, "state", state, "desiredState", desired,
        "errorReason", "recoverable", 0, "autoStopInterval", 15, "autoArchiveInterval", 10080,
        "autoDeleteInterval", -1, "volumes", "buildInfo", "createdAt", created,
        "updatedAt", updated, "lastActivityAt", updated, "sandboxClass", "container",
        "daemonVersion", "daytona-local", "runnerId", "local", "toolboxProxyUrl", toolbox_url);
    if (!o)
        return NULL;
    json_object_update(o, sb->echo);
    json_object_set_new(o, "memory", json_integer(sb->mem_limit >> 30));
    json_object_set_new(o, "oomKills", json_integer(sb->oom_kills));
    if (full)
        json_object_set(o, "env", sb->env);
    else
        json_object_del(o, "buildInfo");
    if (!full)
        json_object_del(o, "volumes");
    return o;
}

json_t *dl_sandbox_json(struct dl_sandbox *sb, const char *toolbox_url, int full)
{
    pthread_mutex_lock(&g_lock);
    json_t *o = json_locked(sb, toolbox_url, full);
    pthread_mutex_unlock(&g_lock);
    return o;
}

static int labels_match(const json_t *labels, const json_t *filter)
{
    const char *k;
    const json_t *want;
    if (!filter)
        return 1;
    json_object_foreach((json_t *)filter, k, want) {
        const json_t *have = json_object_get(labels, k);
        if (!have || !json_equal((json_t *)have, (json_t *)want))
            return 0;
    }
    return 1;
}

static int state_match(const char *state, const json_t *states)
{
    size_t i;
    const json_t *s;
    if (!states || json_array_size(states) == 0)
        return 1;
    json_array_foreach(states, i, s)
        if (json_is_string(s) && strcmp(json_string_value(s), state) == 0)
            return 1;
    return 0;
}

json_t *dl_sandbox_list(const json_t *filter, const json_t *states, long offset, long limit,
                        const char *toolbox_url, long *next_offset)
{
    json_t *items = json_array();
    long seen = 0;
    if (!items)
        return NULL;
    *next_offset = -1;
    pthread_mutex_lock(&g_lock);
    /* The list is newest first; answer oldest first, as creation order. */
    struct dl_sandbox *s = g_head;
    while (s && s->next)
        s = s->next;
    for (; s; s = s->prev) {
        if (!labels_match(s->labels, filter) || !state_match(state_locked(s), states))
            continue;
        if (seen++ < offset)
            continue;
        if ((long)json_array_size(items) == limit) {
            *next_offset = offset + limit;
            break;
        }
        json_t *o = json_locked(s, toolbox_url, 0);
        if (o)
            json_array_append_new(items, o);
    }
    pthread_mutex_unlock(&g_lock);
    return items;
}

void dl_sandbox_stats(json_t *obj)
{
    pthread_mutex_lock(&g_lock);
    json_object_set_new(obj, "live", json_integer(g_live));
    json_object_set_new(obj, "created", json_integer(g_created));
    json_object_set_new(obj, "deleted", json_integer(g_deleted));
    json_object_set_new(obj, "peak_live", json_integer(g_peak_live));
    json_object_set_new(obj, "oom_kills", json_integer(g_oom_kills));
    json_object_set_new(obj, "execs", json_integer(g_execs));
    json_object_set_new(obj, "exec_timeouts", json_integer(g_exec_timeouts));
    json_object_set_new(obj, "running", json_integer(g_running));
    pthread_mutex_unlock(&g_lock);
}

/* Resolves the program to run: a path as is, else the first executable
 * PATH entry. Writes into out; returns 0 or -1. */
static int find_program(const char *prog, const char *path_env, char *out, size_t outlen)
{
    if (strchr(prog, '/')) {
        snprintf(out, outlen, "%s", prog);
        return 0;
    }
    const char *p = path_env && *path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
    while (*p) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if (len > 0 && (size_t)snprintf(out, outlen, "%.*s/%s", (int)len, p, prog) < outlen &&
            access(out, X_OK) == 0)
            return 0;
        p += len;
        if (*p == ':')
            p++;
    }
    return -1;
}

/* Builds the environment of a command as a NULL-terminated array (owned). */
static char **build_env(const struct dl_sandbox *sb, const char *cwd, const json_t *envs)
{
    /* Not PATH nor PYENV_*: a sandbox's Python is --python, whatever the
     * server's shell set-up (interp.h). */
    static const char *const passed[] = {"LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR"};
    char path[PATH_MAX * 2];
    json_t *merged = json_object();
    char **envp = NULL;
    size_t n = 0;
    const char *k;
    json_t *v;
    if (!merged)
        return NULL;
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
        const char *val = getenv(passed[i]);
        if (val)
            json_object_set_new(merged, passed[i], json_string(val));
    }
    if (dl_interp_sandbox_path(sb->dir, path, sizeof(path)) != 0)
        goto fail;
    json_object_set_new(merged, "PATH", json_string(path));
    if (!json_object_get(merged, "LANG"))
        json_object_set_new(merged, "LANG", json_string("C.UTF-8"));
    json_object_set_new(merged, "HOME", json_string(sb->dir));
    json_object_set_new(merged, "PWD", json_string(cwd));
    json_object_set_new(merged, "USER", json_string("daytona"));
    json_object_set_new(merged, "TERM", json_string("dumb"));
    json_object_set_new(merged, "DAYTONA_SANDBOX_ID", json_string(sb->id));
    /* pip installs into $HOME/.local, as a sandbox user's would. */
    json_object_set_new(merged, "PIP_USER", json_string("1"));
    json_object_set_new(merged, "PIP_BREAK_SYSTEM_PACKAGES", json_string("1"));
    json_object_set_new(merged, "PIP_DISABLE_PIP_VERSION_CHECK", json_string("1"));
    json_object_update(merged, sb->env);
    if (envs)
        json_object_update(merged, (json_t *)envs);
    envp = calloc(json_object_size(merged) + 1, sizeof(*envp));
    if (!envp)
        goto fail;
    json_object_foreach(merged, k, v) {
        const char *val = json_string_value(v);
        size_t len = strlen(k) + 1 + (val ? strlen(val) : 0) + 1;
        envp[n] = malloc(len);
        if (!envp[n])
            goto fail;
        snprintf(envp[n], len, "%s=%s", k, val ? val : "");
        n++;
    }
    json_decref(merged);
    return envp;
fail:
    for (size_t i = 0; envp && i < n; i++)
        free(envp[i]);
    free(envp);
    json_decref(merged);
    return NULL;
}

static void free_env(char **envp)
{
    for (size_t i = 0; envp && envp[i]; i++)
        free(envp[i]);
    free(envp);
}

void dl_sandbox_count_canned_exec(void)
{
    pthread_mutex_lock(&g_lock);
    g_execs++;
    pthread_mutex_unlock(&g_lock);
}

/* Registers a command's process group with sb; kills it at once when sb is
 * gone or the server closes. */
static void track_group(struct dl_sandbox *sb, pid_t pgid)
{
    pthread_mutex_lock(&g_lock);
    g_running++;
    g_execs++;
    if (!sb->live || g_closing || sb->stopped) {
        kill(-pgid, SIGKILL);
    } else {
        if (sb->npgids == sb->cap_pgids) {
            size_t cap = sb->cap_pgids ? sb->cap_pgids * 2 : 8;
            pid_t *p = realloc(sb->pgids, cap * sizeof(*p));
            if (p) {
                sb->pgids = p;
                sb->cap_pgids = cap;
            }
        }
        if (sb->npgids < sb->cap_pgids)
            sb->pgids[sb->npgids++] = pgid;
        else
            kill(-pgid, SIGKILL);   /* cannot track it: do not leak it */
    }
    pthread_mutex_unlock(&g_lock);
}

/* Forgets a command's group once no process is left in it. */
static void untrack_group(struct dl_sandbox *sb, pid_t pgid, int timed_out)
{
    pthread_mutex_lock(&g_lock);
    g_running--;
    if (timed_out)
        g_exec_timeouts++;
    if (kill(-pgid, 0) != 0 && errno == ESRCH) {
        for (size_t i = 0; i < sb->npgids; i++)
            if (sb->pgids[i] == pgid) {
                sb->pgids[i] = sb->pgids[--sb->npgids];
                break;
            }
    }
    pthread_mutex_unlock(&g_lock);
}

/* Reaps what the jail left to us (we are a child subreaper when confined):
 * killed together with it, its pid-namespace init is re-parented here and
 * finishes killing the namespace before it can be reaped. Children of other
 * commands are in other process groups. */
static void reap_orphans(pid_t pgid)
{
    siginfo_t si;
    for (;;) {
        memset(&si, 0, sizeof(si));
        if (waitid(P_PGID, (id_t)pgid, &si, WEXITED) == 0)
            continue;
        if (errno != EINTR)
            break;
    }
}

/* Starts prog in a new process group with stdin from in_fd and stdout and
 * stderr to out_fd, in cwd. posix_spawn (vfork underneath) keeps this cheap
 * even with hundreds of threads and a large address space. Returns the pid,
 * or -1 with errno. */
static pid_t spawn_child(int in_fd, int out_fd, const char *cwd, const char *prog,
                         char *const argv[], char **envp)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, dfl;
    pid_t pid = -1;
    int rc;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGINT);
    rc = posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    if (rc == 0)
        rc = posix_spawn_file_actions_addchdir_np(&fa, cwd);
    if (rc == 0)
        rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                 POSIX_SPAWN_SETSIGDEF);
    if (rc == 0)
        rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(&attr, &dfl);
    if (rc == 0)
        rc = posix_spawn(&pid, prog, &fa, &attr, argv, envp);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return pid;
}

/* Loose resource limits on a command, set right after it starts, when the
 * jail cannot run here (DL_CONFINE_RLIMITS). */
static void confine_child(pid_t pid)
{
    struct rlimit fsize = {.rlim_cur = (rlim_t)4 << 30, .rlim_max = (rlim_t)4 << 30};
    struct rlimit as = {.rlim_cur = (rlim_t)8 << 30, .rlim_max = (rlim_t)8 << 30};
    struct rlimit cpu = {.rlim_cur = 3600, .rlim_max = 3600};
    struct rlimit core = {.rlim_cur = 0, .rlim_max = 0};
    prlimit(pid, RLIMIT_FSIZE, &fsize, NULL);
    prlimit(pid, RLIMIT_AS, &as, NULL);
    prlimit(pid, RLIMIT_CPU, &cpu, NULL);
    prlimit(pid, RLIMIT_CORE, &core, NULL);
}

/* Resolves cwd_rel inside sb's directory into out (must be an existing
 * directory that stays inside). Returns 0 or -1. */
static int resolve_cwd(const struct dl_sandbox *sb, const char *cwd_rel, char *out, size_t outlen)
{
    char joined[PATH_MAX * 2];
    char real[PATH_MAX];
    size_t dirlen = strlen(sb->dir);
    if (!cwd_rel || !*cwd_rel || strcmp(cwd_rel, ".") == 0) {
        snprintf(out, outlen, "%s", sb->dir);
        return 0;
    }
    if (cwd_rel[0] == '/') {
        if (strncmp(cwd_rel, "/home/daytona", 13) == 0 && (cwd_rel[13] == '/' || !cwd_rel[13]))
            snprintf(joined, sizeof(joined), "%s%s", sb->dir, cwd_rel + 13);
        else
            snprintf(joined, sizeof(joined), "%s", cwd_rel);
    } else {
        snprintf(joined, sizeof(joined), "%s/%s", sb->dir, cwd_rel);
    }
    if (!realpath(joined, real))
        return -1;
    if (strncmp(real, sb->dir, dirlen) != 0 || (real[dirlen] != '/' && real[dirlen] != '\0'))
        return -1;
    snprintf(out, outlen, "%s", real);
    return 0;
}

int dl_sandbox_run(struct dl_sandbox *sb, char *const argv[], const char *stdin_data,
                   size_t stdin_len, const char *cwd_rel, const json_t *envs,
                   long timeout_s, struct dl_run *res, char *err, size_t errlen)
{
    int rc = -500;
    char **envp = NULL;
    char cwd[PATH_MAX];
    char prog[PATH_MAX];
    char **jail_argv = NULL;
    const char *spawn_path = prog;
    char *const *spawn_argv = argv;
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
    int pidfd = -1;
    pid_t pid = -1;
    struct dl_buf out = {0};
    size_t written = 0;
    int status = 0, exited = 0, out_open = 1;
    int64_t deadline = 0, grace_end = 0;

    memset(res, 0, sizeof(*res));
    if (resolve_cwd(sb, cwd_rel, cwd, sizeof(cwd)) != 0) {
        snprintf(err, errlen, "cwd %s is not a directory inside the sandbox", cwd_rel);
        rc = -400;
        goto out;
    }
    envp = build_env(sb, cwd, envs);
    if (!envp) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    const char *path_env = NULL;
    for (size_t i = 0; envp[i]; i++)
        if (strncmp(envp[i], "PATH=", 5) == 0)
            path_env = envp[i] + 5;
    if (find_program(argv[0], path_env, prog, sizeof(prog)) != 0) {
        snprintf(err, errlen, "%s: not found in PATH", argv[0]);
        goto out;
    }
    if (dl_confine_mode() == DL_CONFINE_JAIL) {
        pthread_mutex_lock(&g_lock);
        int no_net = sb->no_net;
        pthread_mutex_unlock(&g_lock);
        jail_argv = dl_confine_argv(sb->dir, sb->snap ? dl_snapshot_site(sb->snap) : NULL,
                                    sb->uid, no_net, prog, argv, &spawn_path);
        if (!jail_argv) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        spawn_argv = jail_argv;
    }
    if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto out;
    }
    pid = spawn_child(in_pipe[0], out_pipe[1], cwd, spawn_path, spawn_argv, envp);
    if (pid < 0) {
        snprintf(err, errlen, "cannot start %s: %s", spawn_path, strerror(errno));
        goto out;
    }
    if (dl_confine_mode() == DL_CONFINE_RLIMITS)
        confine_child(pid);
    track_group(sb, pid);
    close(in_pipe[0]);
    close(out_pipe[1]);
    in_pipe[0] = out_pipe[1] = -1;
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    if (stdin_len == 0) {
        close(in_pipe[1]);
        in_pipe[1] = -1;
    }
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (timeout_s > 0)
        deadline = atc_clock_mono_ms() + timeout_s * 1000;

    while (out_open || !exited) {
        int64_t now = atc_clock_mono_ms();
        if (deadline && now >= deadline && !exited) {
            res->timed_out = 1;
            break;
        }
        if (exited && now >= grace_end)
            break;
        long wait_ms = -1;
        if (deadline && !exited)
            wait_ms = (long)(deadline - now);
        if (exited && (wait_ms < 0 || grace_end - now < wait_ms))
            wait_ms = (long)(grace_end - now);
        if (pidfd < 0 && !exited && (wait_ms < 0 || wait_ms > 50))
            wait_ms = 50;
        struct pollfd pf[3];
        int npf = 0, i_out = -1, i_in = -1, i_pid = -1;
        if (out_open) {
            pf[npf] = (struct pollfd){.fd = out_pipe[0], .events = POLLIN};
            i_out = npf++;
        }
        if (in_pipe[1] >= 0) {
            pf[npf] = (struct pollfd){.fd = in_pipe[1], .events = POLLOUT};
            i_in = npf++;
        }
        if (pidfd >= 0 && !exited) {
            pf[npf] = (struct pollfd){.fd = pidfd, .events = POLLIN};
            i_pid = npf++;
        }
        int n = poll(pf, (nfds_t)npf, (int)wait_ms);
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            res->timed_out = 1;         /* kill it below */
            break;
        }
        if (n > 0 && i_out >= 0 && pf[i_out].revents) {
            char chunk[65536];
            ssize_t got = read(out_pipe[0], chunk, sizeof(chunk));
            if (got > 0) {
                size_t keep = (size_t)got;
                if (out.len + keep > g_dl_cfg.max_output_bytes) {
                    keep = g_dl_cfg.max_output_bytes > out.len ? g_dl_cfg.max_output_bytes - out.len : 0;
                    res->truncated = 1;
                }
                if (keep && dl_buf_append(&out, chunk, keep) != 0)
                    res->truncated = 1;
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                out_open = 0;
            }
        }
        if (n > 0 && i_in >= 0 && pf[i_in].revents) {
            ssize_t put = write(in_pipe[1], stdin_data + written, stdin_len - written);
            if (put > 0)
                written += (size_t)put;
            if ((put < 0 && errno != EAGAIN && errno != EINTR) || written == stdin_len) {
                close(in_pipe[1]);
                in_pipe[1] = -1;
            }
        }
        if (!exited && (pidfd < 0 || (i_pid >= 0 && pf[i_pid].revents))) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid) {
                exited = 1;
                grace_end = atc_clock_mono_ms() + EXIT_GRACE_MS;
                if (in_pipe[1] >= 0) {
                    close(in_pipe[1]);
                    in_pipe[1] = -1;
                }
            }
        }
    }
    if (!exited) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    reap_orphans(pid);
    untrack_group(sb, pid, res->timed_out);
    pid = -1;
    if (WIFEXITED(status))
        res->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        res->exit_code = 128 + WTERMSIG(status);
    else
        res->exit_code = -1;
    if (!out.p && dl_buf_append(&out, "", 0) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    res->output = out.p;
    res->output_len = out.len;
    out.p = NULL;
    rc = 0;
out:
    if (pid > 0) {              /* only on error paths after the spawn */
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (pidfd >= 0)
        close(pidfd);
    for (int i = 0; i < 2; i++) {
        if (in_pipe[i] >= 0)
            close(in_pipe[i]);
        if (out_pipe[i] >= 0)
            close(out_pipe[i]);
    }
    dl_buf_free(&out);
    free_env(envp);
    dl_confine_argv_free(jail_argv);
    return rc;
}

void dl_sandbox_kill_all(void)
{
    pthread_mutex_lock(&g_lock);
    g_closing = 1;
    for (struct dl_sandbox *s = g_head; s; s = s->next)
        kill_groups_locked(s);
    pthread_mutex_unlock(&g_lock);
}

void dl_sandbox_shutdown(void)
{
    pthread_mutex_lock(&g_lock);
    struct dl_sandbox *s = g_head;
    g_head = NULL;
    pthread_mutex_unlock(&g_lock);
    while (s) {
        struct dl_sandbox *next = s->next;
        pthread_mutex_lock(&g_lock);
        kill_groups_locked(s);
        pthread_mutex_unlock(&g_lock);
        remove_dir(s->dir);
        dl_sandbox_put(s);
        s = next;
    }
}
